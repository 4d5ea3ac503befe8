"""A fake Bot Framework OpenID/JWKS server over real HTTP (127.0.0.1, a random port) that mints
real RS256 tokens with locally generated RSA keys, and every kind of wrong token.

    async with FakeOpenID() as fake:
        auth = BotFrameworkAuth(session, APP_ID, metadata_url=fake.metadata_url)
        token = fake.mint(app_id=APP_ID, service_url=activity["serviceUrl"])

Served: `GET /v1/.well-known/openidconfiguration` (the shape of the real document, `jwks_uri`
pointing back here) and `GET /v1/.well-known/keys` (the JWKS: kid, kty, use, n, e and
`endorsements`). Both count their requests, so JWKS caching can be asserted.

Keys: the *active* key (published, endorsed for msteams) signs by default; an *unendorsed* key
(published, endorsements without msteams) signs `channel_id_endorsed=False` tokens; `rotate_key()`
adds a new active key (the adapter must refetch the JWKS when it meets its kid); `unknown_kid=True`
signs with a key that is not in the JWKS at all; `sign_with_unknown_key=True` names a published kid
but signs with a key that is not it (a forged signature).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.teams.fake_server import FakeServer, FaultQueue, fault_response

ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
JWKS_PATH = "/v1/.well-known/keys"
CLOCK_SKEW_SECONDS = 300  # what the Bot Framework allows; the adapter must accept within it
TEAMS_ENDORSEMENTS = ("msteams", "skype")
OTHER_ENDORSEMENTS = ("webchat", "directline")  # a real key, but not for Teams
ATTACKER_SERVICE_URL = "https://attacker.example/"

Algorithm = Literal["RS256", "HS256", "none"]


class Clock(Protocol):
    def now(self) -> datetime: ...


@functools.cache
def _pooled_rsa_key(index: int) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make; every fake draws its keys from one pool (kids differ)."""
    del index  # only the cache key
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _b64url_json(data: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(data, separators=(",", ":")).encode())


@dataclass(slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    endorsements: tuple[str, ...]
    published: bool

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "endorsements": list(self.endorsements),
        }

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class FakeOpenID(FakeServer):
    def __init__(
        self, *, clock: Clock | None = None, endorsements: Iterable[str] = TEAMS_ENDORSEMENTS
    ) -> None:
        super().__init__()
        self.clock = clock
        self._keys: list[SigningKey] = []
        self._faults = FaultQueue()
        self.jwks_requests = 0
        self.metadata_requests = 0
        self._active = self._new_key(tuple(endorsements), published=True)
        self._unendorsed = self._new_key(OTHER_ENDORSEMENTS, published=True)
        self._stranger = self._new_key(tuple(endorsements), published=False)  # forges

    # --- addresses ----------------------------------------------------------------------

    @property
    def metadata_url(self) -> str:
        """For TEAMS_OPENID_METADATA_URL."""
        return self.origin + METADATA_PATH

    @property
    def jwks_url(self) -> str:
        return self.origin + JWKS_PATH

    # --- keys ---------------------------------------------------------------------------

    def _new_key(self, endorsements: tuple[str, ...], *, published: bool) -> SigningKey:
        key = SigningKey(
            kid=_b64url(uuid.uuid4().bytes),
            private_key=_pooled_rsa_key(len(self._keys)),
            endorsements=endorsements,
            published=published,
        )
        self._keys.append(key)
        return key

    @property
    def active_kid(self) -> str:
        return self._active.kid

    @property
    def unendorsed_kid(self) -> str:
        return self._unendorsed.kid

    @property
    def keys(self) -> list[SigningKey]:
        return list(self._keys)

    def key(self, kid: str) -> SigningKey:
        for key in self._keys:
            if key.kid == kid:
                return key
        raise KeyError(kid)

    def jwks(self) -> dict[str, Any]:
        """The JWKS as served now (published keys only)."""
        return {"keys": [key.jwk() for key in self._keys if key.published]}

    def rotate_key(
        self,
        *,
        endorsements: Iterable[str] = TEAMS_ENDORSEMENTS,
        publish: bool = True,
        activate: bool = True,
    ) -> str:
        """A new key (published unless told otherwise); it signs from now on if `activate`.
        The old keys stay published until `unpublish`ed. Returns the new kid."""
        key = self._new_key(tuple(endorsements), published=publish)
        if activate:
            self._active = key
        return key.kid

    def publish(self, kid: str) -> None:
        self.key(kid).published = True

    def unpublish(self, kid: str) -> None:
        self.key(kid).published = False

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` requests (metadata or JWKS) with `status`."""
        self._faults.add(status, times, retry_after)

    # --- tokens -------------------------------------------------------------------------

    def mint(
        self,
        *,
        app_id: str,
        service_url: str,
        channel_id_endorsed: bool = True,
        issuer: str = ISSUER,
        audience: str | None = None,
        expires_in: int = 3600,
        not_before_offset: int = 0,
        kid: str | None = None,
        unknown_kid: bool = False,
        sign_with_unknown_key: bool = False,
        tamper: bool = False,
        serviceurl_claim: str | None = None,
        algorithm: Algorithm = "RS256",
        now: datetime | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        omit_claims: Iterable[str] = (),
        extra_headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A Bot Framework token, right by default; each option makes it wrong in one way.

        - `audience` (default `app_id`), `issuer`, `serviceurl_claim` (default `service_url`):
          wrong values for the `aud`, `iss` and `serviceurl` claims.
        - `expires_in` seconds from now (negative: expired; -60 is within the 5-minute skew and
          must be accepted, -(CLOCK_SKEW_SECONDS + 60) must not); `not_before_offset` moves `nbf`.
          An expired token is dated as issued an hour before it expired.
        - `channel_id_endorsed=False`: signed by a published key whose endorsements lack msteams.
        - `kid`: sign with that key (any key of this fake, published or not).
        - `unknown_kid=True`: signed by a new key that is not in the JWKS (`publish(kid)` later if
          wanted; the kid is in the token's header).
        - `sign_with_unknown_key=True`: the header names the signing key's kid, but a key that is
          not in the JWKS signs it (a forged signature).
        - `tamper=True`: signed for another serviceurl, then the payload swapped for the right one.
        - `algorithm="none"` (no signature) or `"HS256"` (HMAC with the public key's PEM as the
          secret: the algorithm confusion attack).
        - `omit_claims`, `extra_claims`, `extra_headers`: anything else.
        - `now`: the time the token is minted at (default: the fake's clock, else the system's).
        """
        if unknown_kid and kid is not None:
            raise ValueError("give either kid or unknown_kid")
        if unknown_kid:
            key = self._new_key(self._active.endorsements, published=False)
        elif kid is not None:
            key = self.key(kid)
        elif not channel_id_endorsed:
            key = self._unendorsed
        else:
            key = self._active
        moment = now or (self.clock.now() if self.clock else datetime.now(UTC))
        exp = int(moment.timestamp()) + expires_in
        issued = exp - 3600 if expires_in <= 0 else int(moment.timestamp())
        claims: dict[str, Any] = {
            "serviceurl": service_url if serviceurl_claim is None else serviceurl_claim,
            "nbf": issued + not_before_offset,
            "iat": issued,
            "exp": exp,
            "iss": issuer,
            "aud": app_id if audience is None else audience,
        }
        claims.update(extra_claims or {})
        for name in omit_claims:
            claims.pop(name, None)
        header: dict[str, Any] = {"alg": algorithm, "typ": "JWT", "kid": key.kid}
        header.update(extra_headers or {})

        if algorithm == "none":
            return f"{_b64url_json(header)}.{_b64url_json(claims)}."
        if algorithm == "HS256":
            signing_input = f"{_b64url_json(header)}.{_b64url_json(claims)}"
            mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{_b64url(mac)}"

        signer = self._stranger.private_key if sign_with_unknown_key else key.private_key
        signed_claims = dict(claims, serviceurl=ATTACKER_SERVICE_URL) if tamper else claims
        extra = {k: v for k, v in header.items() if k not in ("alg", "typ")}
        token = jwt.encode(signed_claims, signer, algorithm="RS256", headers=extra)
        if tamper:
            head, _, signature = token.split(".")
            token = f"{head}.{_b64url_json(claims)}.{signature}"
        return token

    def mint_for(self, activity: Mapping[str, Any], *, app_id: str, **options: Any) -> str:
        """`mint` for this activity's serviceUrl."""
        return self.mint(app_id=app_id, service_url=str(activity["serviceUrl"]), **options)

    # --- HTTP ---------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_get(METADATA_PATH, self._metadata)
        app.router.add_get(JWKS_PATH, self._jwks)

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_requests += 1
        if fault := self._faults.take(request.method):
            return fault_response(fault, {"error": f"injected {fault.status}"})
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_requests += 1
        if fault := self._faults.take(request.method):
            return fault_response(fault, {"error": f"injected {fault.status}"})
        return web.json_response(self.jwks())
