"""Signed links (bot.links): bound to a person, a purpose and claims, valid 15 minutes by the
clock passed in; anything else is refused in words."""

from __future__ import annotations

import logging
from datetime import timedelta

import jwt
import pytest

from bot.audit_download import AuditDownloads
from bot.links import LIFETIME, LinkError, LinkSigner, process_key
from bot.settings import ConfigurationError, load_settings
from handlers.audit_chat import ExportRange
from tests.conftest import START

SECRET = "a-test-link-secret-of-32-characters!"
signer = LinkSigner(SECRET)


def _token(**claims: str | None) -> str:
    return signer.sign(purpose="audit-export", subject="aud", now=START, claims=claims)


def test_a_token_grants_its_subject_the_purpose_and_claims_until_it_expires() -> None:
    grant = signer.read(_token(case="EXC-000001"), purpose="audit-export", now=START)
    assert grant.subject == "aud"
    assert grant.purpose == "audit-export"
    assert grant.claims == {"case": "EXC-000001"}
    assert grant.expires_at == START + LIFETIME
    later = START + LIFETIME - timedelta(seconds=1)
    assert signer.read(_token(), purpose="audit-export", now=later).subject == "aud"


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(LinkError, match="expired"):
        signer.read(_token(), purpose="audit-export", now=START + LIFETIME)


def test_a_token_from_the_future_is_refused() -> None:
    with pytest.raises(LinkError, match="expired"):
        signer.read(_token(), purpose="audit-export", now=START - timedelta(minutes=5))


def test_a_token_for_another_purpose_is_refused() -> None:
    token = signer.sign(purpose="dashboard", subject="aud", now=START)
    with pytest.raises(LinkError, match="not for this"):
        signer.read(token, purpose="audit-export", now=START)


@pytest.mark.parametrize(
    "token",
    [
        LinkSigner("another-secret-of-at-least-32-chars!").sign(
            purpose="audit-export", subject="aud", now=START
        ),
        jwt.encode(
            {"sub": "aud", "pur": "audit-export", "cl": {}, "iat": 1, "exp": 2**39},
            key="",
            algorithm="none",
        ),
        jwt.encode({"sub": "aud", "pur": "audit-export"}, SECRET, algorithm="HS256"),
        jwt.encode(
            {"sub": "", "pur": "audit-export", "cl": {}, "iat": 1, "exp": 2**39},
            SECRET,
            algorithm="HS256",
        ),
        _token()[:-3] + "AAA",
        "not.a.token",
        "é" * 10,
        "x" * 5000,
    ],
    ids=["other-key", "alg-none", "no-times", "no-subject", "edited", "junk", "non-ascii", "long"],
)
def test_a_forged_or_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(LinkError, match="not valid"):
        signer.read(token, purpose="audit-export", now=START)


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_refused(token: str | None) -> None:
    with pytest.raises(LinkError, match="no token"):
        signer.read(token, purpose="audit-export", now=START)


def test_without_a_secret_one_random_key_per_process_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    process_key.cache_clear()
    caplog.set_level(logging.WARNING, logger="bot.links")
    first, second = LinkSigner.from_secret(None), LinkSigner.from_secret(None)
    token = first.sign(purpose="audit-export", subject="aud", now=START)
    assert second.read(token, purpose="audit-export", now=START).subject == "aud"
    warnings = [r for r in caplog.records if "APPROVALS_LINK_SECRET" in r.getMessage()]
    assert len(warnings) == 1
    assert "only on this replica" in warnings[0].getMessage()
    with pytest.raises(LinkError):
        LinkSigner(SECRET).read(token, purpose="audit-export", now=START)


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        (
            {"APPROVALS_LINK_SECRET": "too-short"},
            "Configuration error: APPROVALS_LINK_SECRET: must be at least 32 characters "
            "(it signs links), not 9",
        ),
        (
            {"APPROVALS_PUBLIC_URL": "approvals.example.com"},
            "Configuration error: APPROVALS_PUBLIC_URL: 'approvals.example.com' is not a base "
            "URL like https://approvals.example.com",
        ),
    ],
)
def test_bad_link_settings_stop_start_up_in_one_line(environ: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(environ)
    assert str(error.value) == says


def test_the_settings_make_the_downloads(caplog: pytest.LogCaptureFixture) -> None:
    process_key.cache_clear()
    caplog.set_level(logging.WARNING, logger="bot.links")
    quiet = AuditDownloads.from_settings(load_settings({}))
    assert quiet.public_url is None
    assert not caplog.records  # no links are made, so the missing secret does not matter

    url = {"APPROVALS_PUBLIC_URL": "https://approvals.example.com/"}
    made = AuditDownloads.from_settings(load_settings({**url, "APPROVALS_LINK_SECRET": SECRET}))
    assert made.public_url == "https://approvals.example.com"
    link = made.link("aud", ExportRange(), START)
    assert link is not None
    assert link.startswith("https://approvals.example.com/audit/export?token=")
    assert not caplog.records

    AuditDownloads.from_settings(load_settings(url))
    AuditDownloads.from_settings(load_settings(url))
    assert len(caplog.records) == 1  # one random key per process, and one warning
