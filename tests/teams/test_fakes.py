"""The Teams fakes themselves: tokens verify (or fail for the right reason) with PyJWT against the
fake JWKS, msal gets a token over TLS and caches it, the connector wants that token, records
calls, keeps state and injects faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
import msal
import pytest

from tests.teams.activities import TeamsActivities, TeamsUser
from tests.teams.conftest import APP_ID, APP_PASSWORD, TENANT_ID
from tests.teams.fake_connector import MAX_BODY_BYTES, FakeConnector
from tests.teams.fake_openid import CLOCK_SKEW_SECONDS, ISSUER, FakeOpenID
from tests.teams.fake_token import BOT_FRAMEWORK_SCOPE, FakeTokenEndpoint

FIXTURES = Path(__file__).resolve().parents[1] / "vendor" / "teams"
SERVICE_URL = "https://smba.trafficmanager.net/amer/"
DANA = TeamsUser.make("Dana Reyes", "dana@acme.example")


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        response.raise_for_status()
        return await response.json()


def verify(
    token: str, jwks: dict[str, Any], *, service_url: str, channel_id: str = "msteams"
) -> dict[str, Any]:
    """What the adapter must check, with PyJWT: raises jwt.PyJWTError, or ValueError for the
    checks PyJWT does not make (serviceurl, endorsements)."""
    header = jwt.get_unverified_header(token)
    entry = next((k for k in jwks["keys"] if k["kid"] == header.get("kid")), None)
    if entry is None:
        raise ValueError("unknown kid")
    key = jwt.PyJWK(entry, algorithm="RS256")
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=APP_ID,
        issuer=ISSUER,
        leeway=CLOCK_SKEW_SECONDS,
        options={"require": ["exp", "nbf", "iss", "aud", "serviceurl"]},
    )
    if channel_id not in entry["endorsements"]:
        raise ValueError("not endorsed")
    if claims["serviceurl"] != service_url:
        raise ValueError("serviceurl mismatch")
    return claims


# --- the OpenID / JWKS fake ------------------------------------------------------------------


async def test_metadata_and_jwks_have_the_bot_framework_shape(fake_openid: FakeOpenID) -> None:
    metadata = await _get_json(fake_openid.metadata_url)
    documented = json.loads(
        (FIXTURES / "auth" / "openid-configuration.botframework-docs.json").read_text()
    )
    assert set(metadata) == set(documented)
    assert metadata["issuer"] == "https://api.botframework.com"
    assert metadata["jwks_uri"] == fake_openid.jwks_url
    jwks = await _get_json(metadata["jwks_uri"])
    assert {k["kid"] for k in jwks["keys"]} == {fake_openid.active_kid, fake_openid.unendorsed_kid}
    for key in jwks["keys"]:
        assert {"kid", "kty", "use", "n", "e", "endorsements"} <= set(key)
        assert key["kty"] == "RSA"
        assert key["e"] == "AQAB"
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    assert "msteams" in by_kid[fake_openid.active_kid]["endorsements"]
    assert "msteams" not in by_kid[fake_openid.unendorsed_kid]["endorsements"]
    assert (fake_openid.metadata_requests, fake_openid.jwks_requests) == (1, 1)


async def test_a_minted_token_verifies_with_pyjwkclient_over_http(fake_openid: FakeOpenID) -> None:
    token = fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL)
    client = jwt.PyJWKClient(fake_openid.jwks_url)
    # PyJWKClient is blocking: on the loop that serves the fake it would deadlock.
    signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
    claims = jwt.decode(token, signing_key, algorithms=["RS256"], audience=APP_ID, issuer=ISSUER)
    assert claims["serviceurl"] == SERVICE_URL
    assert claims["aud"] == APP_ID
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": fake_openid.active_kid,
    }
    assert fake_openid.jwks_requests == 1


WRONG_TOKENS: list[tuple[str, dict[str, Any], type[Exception], str | None]] = [
    (
        "signed by a key not in the JWKS",
        {"sign_with_unknown_key": True},
        jwt.InvalidSignatureError,
        None,
    ),
    ("payload tampered", {"tamper": True}, jwt.InvalidSignatureError, None),
    ("wrong issuer", {"issuer": "https://sts.windows.net/x/"}, jwt.InvalidIssuerError, None),
    ("wrong audience", {"audience": "someone-else"}, jwt.InvalidAudienceError, None),
    (
        "expired beyond the skew",
        {"expires_in": -(CLOCK_SKEW_SECONDS + 60)},
        jwt.ExpiredSignatureError,
        None,
    ),
    (
        "not yet valid",
        {"not_before_offset": CLOCK_SKEW_SECONDS + 60},
        jwt.ImmatureSignatureError,
        None,
    ),
    (
        "serviceurl mismatch",
        {"serviceurl_claim": "https://evil.example/"},
        ValueError,
        "serviceurl",
    ),
    ("no serviceurl claim", {"omit_claims": ["serviceurl"]}, jwt.MissingRequiredClaimError, None),
    ("key not endorsed for msteams", {"channel_id_endorsed": False}, ValueError, "not endorsed"),
    ("unknown kid", {"unknown_kid": True}, ValueError, "unknown kid"),
    ("alg none", {"algorithm": "none"}, jwt.InvalidAlgorithmError, None),
    (
        "HS256 with the public key as secret",
        {"algorithm": "HS256"},
        jwt.InvalidAlgorithmError,
        None,
    ),
]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [pytest.param(o, e, m, id=name) for name, o, e, m in WRONG_TOKENS],
)
async def test_each_wrong_token_fails_for_its_reason(
    fake_openid: FakeOpenID, options: dict[str, Any], error: type[Exception], message: str | None
) -> None:
    jwks = await _get_json(fake_openid.jwks_url)
    token = fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL, **options)
    with pytest.raises(error, match=message):
        verify(token, jwks, service_url=SERVICE_URL)


async def test_expired_within_the_skew_is_accepted(fake_openid: FakeOpenID) -> None:
    jwks = await _get_json(fake_openid.jwks_url)
    token = fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL, expires_in=-60)
    assert verify(token, jwks, service_url=SERVICE_URL)["serviceurl"] == SERVICE_URL


async def test_hs256_confusion_really_is_an_hmac_over_the_public_pem(
    fake_openid: FakeOpenID,
) -> None:
    """A validator that trusted the header's alg with the key's PEM would accept it."""
    token = fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL, algorithm="HS256")
    pem = fake_openid.key(fake_openid.active_kid).public_pem()
    signing_input, _, signature = token.rpartition(".")
    algorithm = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256)
    assert algorithm.verify(signing_input.encode(), pem, jwt.utils.base64url_decode(signature))


async def test_rotated_key_appears_on_the_next_jwks_fetch(fake_openid: FakeOpenID) -> None:
    before = await _get_json(fake_openid.jwks_url)
    new_kid = fake_openid.rotate_key()
    token = fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL)
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    with pytest.raises(ValueError, match="unknown kid"):
        verify(token, before, service_url=SERVICE_URL)
    after = await _get_json(fake_openid.jwks_url)
    assert verify(token, after, service_url=SERVICE_URL)["aud"] == APP_ID
    assert fake_openid.jwks_requests == 2
    # an unpublished key can be published later; an unpublished old key disappears
    hidden = fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL, unknown_kid=True)
    hidden_kid = jwt.get_unverified_header(hidden)["kid"]
    fake_openid.publish(hidden_kid)
    fake_openid.unpublish(new_kid)
    kids = {k["kid"] for k in fake_openid.jwks()["keys"]}
    assert hidden_kid in kids
    assert new_kid not in kids


async def test_mint_uses_an_injected_clock(fake_openid: FakeOpenID) -> None:
    from handlers.clock import ManualClock
    from tests.conftest import START

    fake_openid.clock = ManualClock(START)
    claims = jwt.decode(
        fake_openid.mint(app_id=APP_ID, service_url=SERVICE_URL),
        options={"verify_signature": False},
    )
    assert claims["iat"] == int(START.timestamp())
    assert claims["exp"] == int(START.timestamp()) + 3600


async def test_openid_fault_injection(fake_openid: FakeOpenID) -> None:
    fake_openid.fail_next(503, times=2)
    async with aiohttp.ClientSession() as session:
        for url in (fake_openid.metadata_url, fake_openid.jwks_url):
            async with session.get(url) as response:
                assert response.status == 503
        async with session.get(fake_openid.jwks_url) as response:
            assert response.status == 200
    assert fake_openid.jwks_requests == 2


# --- the Entra ID token endpoint, through a real msal ----------------------------------------


@asynccontextmanager
async def msal_app(
    authority: str, *, secret: str = APP_PASSWORD, **options: Any
) -> AsyncIterator[Any]:
    """The adapter's msal app. The constructor already does blocking HTTP (tenant discovery),
    so it is built off the loop that serves the fake; closing its requests.Session is hygiene."""
    app = await asyncio.to_thread(
        msal.ConfidentialClientApplication,
        APP_ID,
        client_credential=secret,
        authority=authority,
        **options,
    )
    try:
        yield app
    finally:
        app.http_client.close()


async def _acquire(app: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(
        app.acquire_token_for_client, scopes=[BOT_FRAMEWORK_SCOPE]
    )
    return result


@pytest.mark.parametrize(
    "offline", [{"instance_discovery": False}, {"validate_authority": False}], ids=str
)
async def test_msal_gets_a_token_over_tls_and_caches_it(
    fake_token: FakeTokenEndpoint, offline: dict[str, Any]
) -> None:
    assert fake_token.authority.startswith("https://127.0.0.1:")
    async with msal_app(fake_token.authority, **offline) as app:
        first = await _acquire(app)
        second = await _acquire(app)
    assert first["access_token"] in fake_token.issued_tokens
    assert first["token_type"] == "Bearer"
    assert second["access_token"] == first["access_token"]
    assert fake_token.token_requests == 1
    assert fake_token.discovery_requests == 1
    assert fake_token.instance_discovery_requests == 0
    form = fake_token.requests[0].form
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == APP_ID
    assert form["client_secret"] == APP_PASSWORD
    assert form["scope"] == BOT_FRAMEWORK_SCOPE


async def test_msal_calls_instance_discovery_unless_told_not_to(
    fake_token: FakeTokenEndpoint,
) -> None:
    """By default (instance_discovery=None) msal would ask login.microsoftonline.com about a
    host it does not know; pointed at the fake's endpoint, the call shows up here."""
    options = {"instance_discovery": fake_token.instance_discovery_url}
    async with msal_app(fake_token.authority, **options) as app:
        assert "access_token" in await _acquire(app)
    assert fake_token.instance_discovery_requests == 1


async def test_msal_asks_again_when_the_token_has_under_five_minutes_left(
    fake_token: FakeTokenEndpoint,
) -> None:
    fake_token.expires_in = 300
    async with msal_app(fake_token.authority, instance_discovery=False) as app:
        first = await _acquire(app)
        second = await _acquire(app)
    assert first["access_token"] != second["access_token"]
    assert fake_token.token_requests == 2


async def test_msal_with_a_wrong_secret_gets_invalid_client(fake_token: FakeTokenEndpoint) -> None:
    async with msal_app(
        fake_token.authority, secret="wrong-secret", instance_discovery=False
    ) as app:
        result = await _acquire(app)
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]
    assert fake_token.issued_tokens == set()


async def test_msal_raises_on_a_5xx_and_remembers_it(fake_token: FakeTokenEndpoint) -> None:
    """On a 5xx msal raises MsalServiceError rather than returning an error dict (a 429 or a
    4xx is a dict with "error"), and its HTTP throttle answers a repeat from memory (5 s, or
    Retry-After; a 400 for 60 s): retrying at once never reaches the endpoint."""
    fake_token.fail_next(503)
    async with msal_app(fake_token.authority, instance_discovery=False) as app:
        for _ in range(2):
            with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
                await _acquire(app)
    assert fake_token.token_requests == 1


async def test_msal_refuses_the_fake_without_its_ca(
    fake_token: FakeTokenEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        async with msal_app(fake_token.authority, instance_discovery=False):
            pass


async def test_token_endpoint_fault_injection(fake_token: FakeTokenEndpoint) -> None:
    fake_token.fail_next(503, retry_after=1)
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_PASSWORD,
        "scope": BOT_FRAMEWORK_SCOPE,
    }
    connector = aiohttp.TCPConnector(ssl=fake_token.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(fake_token.token_url, data=form) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "1"
        async with session.post(fake_token.token_url, data=form) as response:
            assert response.status == 200
            token = (await response.json())["access_token"]
    assert token in fake_token.issued_tokens
    assert [r.status for r in fake_token.requests] == [503, 200]


# --- the Bot Connector -----------------------------------------------------------------------


async def _connector_token(fake_token: FakeTokenEndpoint) -> str:
    async with msal_app(fake_token.authority, instance_discovery=False) as app:
        return str((await _acquire(app))["access_token"])


def _conversation_url(connector: FakeConnector, conversation_id: str) -> str:
    return f"{connector.url}v3/conversations/{quote(conversation_id, safe='')}"


async def test_connector_requires_the_issued_token(
    fake_connector: FakeConnector, fake_token: FakeTokenEndpoint
) -> None:
    token = await _connector_token(fake_token)
    url = _conversation_url(fake_connector, "a:1chat") + "/activities"
    body = {"type": "message", "text": "hi"}
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer not-issued"}, {"Authorization": token}):
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 401
                assert (await response.json())["message"].startswith("Authorization has been")
        async with session.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 201
            activity_id = (await response.json())["id"]
    assert [(c.status, c.token) for c in fake_connector.calls] == [
        (401, None),
        (401, "not-issued"),
        (401, None),
        (201, token),
    ]
    assert [a.id for a in fake_connector.activities_in("a:1chat")] == [activity_id]


async def test_connector_conversations_send_update_reply_delete(
    fake_connector: FakeConnector, fake_token: FakeTokenEndpoint
) -> None:
    headers = {"Authorization": f"Bearer {await _connector_token(fake_token)}"}
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    async with aiohttp.ClientSession(headers=headers) as session:
        create = {
            "bot": {"id": f"28:{APP_ID}"},
            "members": [{"id": DANA.id}],
            "isGroup": False,
            "tenantId": TENANT_ID,
            "channelData": {"tenant": {"id": TENANT_ID}},
        }
        async with session.post(f"{fake_connector.url}v3/conversations", json=create) as r:
            assert r.status == 201
            conversation_id = (await r.json())["id"]
        async with session.post(f"{fake_connector.url}v3/conversations", json=create) as r:
            assert (await r.json())["id"] == conversation_id  # the same 1:1 chat
        no_tenant = {k: v for k, v in create.items() if k not in ("tenantId", "channelData")}
        async with session.post(f"{fake_connector.url}v3/conversations", json=no_tenant) as r:
            assert r.status == 400

        base = _conversation_url(fake_connector, conversation_id) + "/activities"
        sent = {"type": "message", "attachments": [attachment]}
        async with session.post(base, json=sent) as r:
            activity_id = (await r.json())["id"]
        updated_card = dict(card, body=[{"type": "TextBlock", "text": "Approved"}])
        update = {"type": "message", "attachments": [dict(attachment, content=updated_card)]}
        async with session.put(f"{base}/{activity_id}", json=update) as r:
            assert r.status == 200
            assert (await r.json())["id"] == activity_id
        async with session.put(f"{base}/999", json=update) as r:
            assert r.status == 404
        async with session.post(
            f"{base}/{activity_id}", json={"type": "message", "text": "ok"}
        ) as r:
            reply_id = (await r.json())["id"]
        async with session.delete(f"{base}/{reply_id}") as r:
            assert r.status == 200

    (activity,) = fake_connector.activities_in(conversation_id)
    assert activity.id == activity_id
    assert activity.updates == 1
    assert activity.cards == [updated_card]
    conversation = fake_connector.conversation(conversation_id)
    assert conversation is not None
    assert (conversation.tenant_id, conversation.members) == (TENANT_ID, [DANA.id])
    assert [(c.method, c.status) for c in fake_connector.calls] == [
        ("POST", 201),
        ("POST", 200),
        ("POST", 400),
        ("POST", 201),
        ("PUT", 200),
        ("PUT", 404),
        ("POST", 201),
        ("DELETE", 200),
    ]
    assert fake_connector.calls[3].json == sent
    assert fake_connector.calls[6].activity_id == activity_id


async def test_connector_decodes_real_teams_conversation_ids(
    fake_connector: FakeConnector, fake_token: FakeTokenEndpoint
) -> None:
    ids = [
        "a:17vxw6pGQOb3Zfh8acXT8m_PqHycYpaFgzu2mFMUfkT-h0UskMctq5ZPPc7FIQxn2bx7rBSm5yE",
        "19:6848757105754c8981c67612732d9aa7@thread.tacv2;messageid=1759881511856",
        "odd/id with space",
    ]
    headers = {"Authorization": f"Bearer {await _connector_token(fake_token)}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for conversation_id in ids:
            url = _conversation_url(fake_connector, conversation_id) + "/activities"
            async with session.post(url, json={"type": "message", "text": "x"}) as r:
                assert r.status == 201
    assert [c.conversation_id for c in fake_connector.calls] == ids
    assert all(len(fake_connector.activities_in(i)) == 1 for i in ids)


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, 2), (412, None), (502, None), (503, None), (504, None)]
)
async def test_connector_fault_injection(
    fake_connector: FakeConnector,
    fake_token: FakeTokenEndpoint,
    status: int,
    retry_after: int | None,
) -> None:
    headers = {"Authorization": f"Bearer {await _connector_token(fake_token)}"}
    fake_connector.fail_next(status, times=2, retry_after=retry_after)
    url = _conversation_url(fake_connector, "a:1chat") + "/activities"
    statuses = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(3):
            async with session.post(url, json={"type": "message", "text": "x"}) as r:
                statuses.append(r.status)
                assert r.headers.get("Retry-After") == (
                    None if retry_after is None or r.status == 201 else str(retry_after)
                )
    assert statuses == [status, status, 201]
    assert len(fake_connector.activities_in("a:1chat")) == 1


async def test_connector_faults_can_target_one_method(
    fake_connector: FakeConnector, fake_token: FakeTokenEndpoint
) -> None:
    headers = {"Authorization": f"Bearer {await _connector_token(fake_token)}"}
    fake_connector.fail_next(502, method="PUT")
    base = _conversation_url(fake_connector, "a:1chat") + "/activities"
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(base, json={"type": "message", "text": "x"}) as r:
            activity_id = (await r.json())["id"]
        for expected in (502, 200):
            async with session.put(
                f"{base}/{activity_id}", json={"type": "message", "text": "y"}
            ) as r:
                assert r.status == expected
    assert fake_connector.activities_in("a:1chat")[0].text == "y"


async def test_connector_refuses_bodies_over_28_kb(
    fake_connector: FakeConnector, fake_token: FakeTokenEndpoint
) -> None:
    headers = {"Authorization": f"Bearer {await _connector_token(fake_token)}"}
    url = _conversation_url(fake_connector, "a:1chat") + "/activities"
    async with aiohttp.ClientSession(headers=headers) as session:
        big = {"type": "message", "text": "x" * MAX_BODY_BYTES}
        async with session.post(url, json=big) as r:
            assert r.status == 413
        fits = {"type": "message", "text": "x" * (MAX_BODY_BYTES - 100)}
        async with session.post(url, json=fits) as r:
            assert r.status == 201
    assert [c.status for c in fake_connector.calls] == [413, 201]
    assert len(fake_connector.activities_in("a:1chat")) == 1


async def test_connector_serves_under_its_service_url_path_only(
    fake_connector: FakeConnector, fake_token: FakeTokenEndpoint
) -> None:
    assert fake_connector.url.startswith("http://127.0.0.1:")
    assert fake_connector.url.endswith("/amer/")
    headers = {"Authorization": f"Bearer {await _connector_token(fake_token)}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        url = f"{fake_connector.origin}/v3/conversations/a%3A1chat/activities"  # urljoin's mistake
        async with session.post(url, json={"type": "message", "text": "x"}) as r:
            assert r.status == 404


# --- activities ------------------------------------------------------------------------------


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def test_message_has_the_shape_of_a_personal_teams_message(
    teams_activities: TeamsActivities, fake_connector: FakeConnector
) -> None:
    activity = teams_activities.message(DANA, "status EXC-000123")
    real = _fixture("teams-message-personal.msteams-docs-conversation-messages.json")
    assert set(real) <= set(activity)
    assert activity["serviceUrl"] == fake_connector.url
    assert activity["channelId"] == "msteams"
    assert activity["from"] == {"id": DANA.id, "name": DANA.name, "aadObjectId": DANA.aad_object_id}
    assert activity["from"]["id"].startswith("29:")
    assert activity["recipient"]["id"] == f"28:{APP_ID}"
    assert activity["conversation"]["conversationType"] == "personal"
    assert activity["conversation"]["tenantId"] == TENANT_ID
    assert activity["channelData"]["tenant"]["id"] == TENANT_ID
    assert activity["text"] == "status EXC-000123"


def test_invoke_has_the_shape_of_an_adaptive_card_action(teams_activities: TeamsActivities) -> None:
    activity = teams_activities.invoke(
        DANA, verb="approve", data={"case": "EXC-000001", "rationale": "ok"}, reply_to_id="17"
    )
    real = _fixture("teams-invoke-adaptiveCard-action.teams.net-TeamsActivityTests.json")
    assert set(real) <= set(activity)
    assert set(real["channelData"]) <= set(activity["channelData"])
    assert activity["name"] == "adaptiveCard/action"
    assert activity["value"]["action"] == {
        "type": "Action.Execute",
        "title": "Approve",
        "verb": "approve",
        "data": {"case": "EXC-000001", "rationale": "ok"},
    }
    assert activity["replyToId"] == "17"
    assert activity["conversation"]["id"] == teams_activities.conversation_id(DANA)


def test_installation_and_bot_added(teams_activities: TeamsActivities) -> None:
    installed = teams_activities.installation(DANA)
    assert (installed["type"], installed["action"]) == ("installationUpdate", "add")
    added = teams_activities.bot_added(DANA)
    assert added["type"] == "conversationUpdate"
    assert added["membersAdded"] == [{"id": f"28:{APP_ID}"}]
    for activity in (installed, added):
        assert activity["conversation"]["id"] == teams_activities.conversation_id(DANA)
        assert activity["channelData"]["tenant"]["id"] == TENANT_ID
        assert activity["recipient"]["id"] == f"28:{APP_ID}"
