"""A fake Microsoft Entra ID token endpoint for msal, over HTTPS (127.0.0.1, a random port), with a
locally generated CA and server certificate.

    async with FakeTokenEndpoint(client_id=APP_ID, client_secret=APP_PASSWORD,
                                 tenant_id=TENANT_ID) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))  # msal uses requests
        app = msal.ConfidentialClientApplication(
            APP_ID, client_credential=APP_PASSWORD, authority=fake.authority,
            instance_discovery=False)

msal only takes an https authority, `https://127.0.0.1:PORT/<tenant>`. It GETs
`{authority}/v2.0/.well-known/openid-configuration` (tenant discovery) and POSTs the client
credentials (form: grant_type=client_credentials, client_id, client_secret, scope) to the
`token_endpoint` it names, `{authority}/oauth2/v2.0/token`. For a host that is not Microsoft's,
msal first calls instance discovery at https://login.microsoftonline.com/common/discovery/instance
unless given `instance_discovery=False` (or `validate_authority=False`); this fake also serves
`/common/discovery/instance` (`instance_discovery_url`) to show it.

Answers like Entra: a wrong secret is 401 invalid_client (AADSTS7000215), an unknown client 400
unauthorized_client, a wrong scope 400 invalid_scope, an unknown tenant 400. Issued tokens are
collected in `issued_tokens` (a live set: give it to the fake connector).
"""

from __future__ import annotations

import ipaddress
import itertools
import secrets
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.teams.fake_server import FakeServer, FaultQueue, fault_response

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
DISCOVERY_SUFFIX = "/v2.0/.well-known/openid-configuration"
INSTANCE_DISCOVERY_PATH = "/common/discovery/instance"


@dataclass(frozen=True, slots=True)
class LocalTLS:
    """A CA and a server certificate it signed, for 127.0.0.1 and localhost (PEM bytes)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def generate(cls) -> LocalTLS:
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "approvals test CA")])
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ca_ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cls(
            ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One POST to the token endpoint (the form as sent, secret included) and its status."""

    tenant: str
    form: dict[str, str]
    status: int
    access_token: str | None
    at: float  # time.monotonic()


class FakeTokenEndpoint(FakeServer):
    scheme = "https"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        scopes: Iterable[str] = (BOT_FRAMEWORK_SCOPE,),
        expires_in: int = 3599,
    ) -> None:
        """`expires_in` is what tokens are issued with; msal reuses a cached token only while
        it has more than 5 minutes left, so 300 or less makes msal ask again on every call."""
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant_id = tenant_id
        self.scopes = frozenset(scopes)
        self.expires_in = expires_in
        self.tls = LocalTLS.generate()
        self.issued_tokens: set[str] = set()
        self.requests: list[TokenRequest] = []
        self.discovery_requests = 0
        self.instance_discovery_requests = 0
        self._faults = FaultQueue()
        self._serial = itertools.count(1)
        self._dir: Path | None = None

    # --- running ------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        assert self._dir is not None
        cert, key = self._dir / "server.pem", self._dir / "server.key"
        cert.write_bytes(self.tls.cert_pem)
        key.write_bytes(self.tls.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    async def start(self) -> None:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="fake-entra-"))
            (self._dir / "ca.pem").write_bytes(self.tls.ca_pem)
        try:
            await super().start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    # --- addresses and state ------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM) to trust: REQUESTS_CA_BUNDLE, or ssl.create_default_context
        (cafile=...). It exists while the fake runs."""
        if self._dir is None:
            raise RuntimeError("FakeTokenEndpoint is not running")
        return self._dir / "ca.pem"

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting the fake's CA (for aiohttp clients)."""
        return ssl.create_default_context(cadata=self.tls.ca_pem.decode("ascii"))

    @property
    def authority(self) -> str:
        """For TEAMS_AUTHORITY: https://127.0.0.1:PORT/<tenant id>."""
        return f"{self.origin}/{self.tenant_id}"

    @property
    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def instance_discovery_url(self) -> str:
        return self.origin + INSTANCE_DISCOVERY_PATH

    @property
    def token_requests(self) -> int:
        """POSTs to the token endpoint, successful or not."""
        return len(self.requests)

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` token requests with `status`. Beware: msal raises
        MsalServiceError on a 5xx (a dict with "error" otherwise), and remembers a 429,
        a 5xx or a Retry-After for the same request (5 s by default, or Retry-After), and an
        HTTP 400 for 60 s, answering from that memory without calling again."""
        self._faults.add(status, times, retry_after, "POST")

    # --- HTTP ---------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_get(INSTANCE_DISCOVERY_PATH, self._instance_discovery)
        app.router.add_get("/{tenant}" + DISCOVERY_SUFFIX, self._discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)

    def _configuration(self, tenant: str) -> dict[str, object]:
        base = f"{self.origin}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
        }

    async def _instance_discovery(self, request: web.Request) -> web.Response:
        self.instance_discovery_requests += 1
        return web.json_response(
            {
                "tenant_discovery_endpoint": self.authority + DISCOVERY_SUFFIX,
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": "127.0.0.1",
                        "preferred_cache": "127.0.0.1",
                        "aliases": ["127.0.0.1", "localhost"],
                    }
                ],
            }
        )

    async def _discovery(self, request: web.Request) -> web.Response:
        self.discovery_requests += 1
        tenant = request.match_info["tenant"]
        if tenant != self.tenant_id:
            return _entra_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        return web.json_response(self._configuration(tenant))

    async def _token(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        tenant = request.match_info["tenant"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        token: str | None = None
        if fault := self._faults.take(request.method):
            response = fault_response(
                fault, {"error": "temporarily_unavailable", "error_description": "injected"}
            )
        elif tenant != self.tenant_id:
            response = _entra_error(
                400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found."
            )
        elif form.get("grant_type") != "client_credentials":
            response = _entra_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            )
        elif form.get("client_id") != self.client_id:
            response = _entra_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not "
                f"found in the directory '{tenant}'.",
            )
        elif not secrets.compare_digest(
            form.get("client_secret", "").encode(), self.client_secret.encode()
        ):
            response = _entra_error(
                401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
            )
        elif set(form.get("scope", "").split()) - self.scopes or not form.get("scope"):
            response = _entra_error(
                400,
                "invalid_scope",
                f"AADSTS1002012: The provided value for scope {form.get('scope')} is not valid.",
            )
        else:
            token = f"fake-entra-token-{next(self._serial)}-{secrets.token_urlsafe(16)}"
            self.issued_tokens.add(token)
            response = web.json_response(
                {
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "ext_expires_in": self.expires_in,
                    "access_token": token,
                }
            )
        self.requests.append(TokenRequest(tenant, form, response.status, token, arrived))
        return response


def _entra_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description[6 : description.index(":")])],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": secrets.token_hex(16),
            "correlation_id": secrets.token_hex(16),
        },
        status=status,
    )
