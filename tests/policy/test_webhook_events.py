"""Which webhooks a change sends (pure), and the policy's `sources` section."""

from __future__ import annotations

import pytest

from policy.effects import AuditEvent
from policy.lifecycle import AuditKind
from policy.loader import PolicyError, parse_policy
from policy.sources import DEFAULT_ENDPOINT, Source, endpoint_for, webhook_url_problem
from policy.webhook_events import SENDS, WEBHOOK_TYPES, webhooks_of
from tests.policy.helpers import VALID


def event(kind: AuditKind, case: str | None = "EXC-000001") -> AuditEvent:
    return AuditEvent(actor="lee", action=kind, case_ref=case)


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        (AuditKind.CASE_FILED, "exception.filed"),
        (AuditKind.CASE_APPROVED, "exception.approved"),
        (AuditKind.CASE_REJECTED, "exception.rejected"),
        (AuditKind.CASE_EXPIRED, "exception.expired"),
        (AuditKind.CASE_WITHDRAWN, "exception.withdrawn"),
        (AuditKind.CASE_REVOKED, "exception.revoked"),
        (AuditKind.CASE_AMENDED, "exception.amended"),
        (AuditKind.CASE_REOPENED, "exception.reopened"),
        (AuditKind.INFO_REQUESTED, "exception.info_requested"),
    ],
)
def test_each_change_of_status_sends_its_type(kind: AuditKind, sent: str) -> None:
    assert webhooks_of([event(kind)]) == [("EXC-000001", sent)]


def test_every_type_is_sent_by_some_event_and_nothing_else_sends() -> None:
    assert sorted(SENDS.values()) == sorted(WEBHOOK_TYPES)
    quiet = [kind for kind in AuditKind if kind not in SENDS]
    assert webhooks_of([event(kind) for kind in quiet]) == []
    assert AuditKind.DECISION_APPROVED in quiet  # a vote is not a change of status
    assert AuditKind.STEP_REMINDED in quiet


def test_a_filing_decided_by_policy_sends_filed_then_approved() -> None:
    events = [
        event(AuditKind.CASE_FILED),
        event(AuditKind.POLICY_EVALUATED),
        event(AuditKind.CASE_APPROVED),
    ]
    assert webhooks_of(events) == [
        ("EXC-000001", "exception.filed"),
        ("EXC-000001", "exception.approved"),
    ]


def test_once_per_case_and_type_in_event_order_and_never_without_a_case() -> None:
    events = [
        event(AuditKind.CASE_AMENDED, "EXC-000002"),
        event(AuditKind.CASE_REOPENED, "EXC-000002"),
        event(AuditKind.CASE_AMENDED, "EXC-000002"),
        event(AuditKind.CASE_WITHDRAWN, "EXC-000001"),
        event(AuditKind.CASE_FILED, None),
    ]
    assert webhooks_of(events) == [
        ("EXC-000002", "exception.amended"),
        ("EXC-000002", "exception.reopened"),
        ("EXC-000001", "exception.withdrawn"),
    ]


ERP = Source("erp", "https://erp.example/hooks", "ERP_WEBHOOK_SECRET")


def test_a_case_goes_to_its_sources_endpoint_else_the_default_else_nowhere() -> None:
    sources = {"erp": ERP}
    assert endpoint_for(sources, "https://d.example/h", "erp") == ("erp", ERP.webhook_url)
    assert endpoint_for(sources, "https://d.example/h", "sap") == (
        DEFAULT_ENDPOINT,
        "https://d.example/h",
    )
    assert endpoint_for(sources, "https://d.example/h", None) == (
        DEFAULT_ENDPOINT,
        "https://d.example/h",
    )
    assert endpoint_for(sources, None, None) is None
    assert endpoint_for({}, None, "erp") is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://erp.example/h",
        "erp.example/h",
        "https://",
        "https://erp.example/a b",
        "https://user:pw@erp.example/h",
        "https://erp.example:99999/h",
        "https://erp.example/" + "x" * 2000,
    ],
)
def test_bad_webhook_urls_are_named(url: str) -> None:
    assert webhook_url_problem(url) is not None


SOURCES = """
sources:
  erp: {webhook_url: "https://erp.example/hooks", secret_env: ERP_WEBHOOK_SECRET}
"""


def test_a_policy_loads_its_sources_and_they_count_in_its_version() -> None:
    policy = parse_policy(VALID + SOURCES, "p.yaml")
    assert policy.sources == {"erp": ERP}
    assert policy.version != parse_policy(VALID, "p.yaml").version


def test_bad_sources_are_precise_problems() -> None:
    text = VALID + (
        "sources:\n"
        '  erp: {webhook_url: "ftp://x", secret_env: "whsec_abc"}\n'
        '  sap: {webhok_url: "https://a.example/h", secret_env: SAP_SECRET}\n'
        '  default: {webhook_url: "https://a.example/h", secret_env: X}\n'
    )
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "p.yaml")
    found = {(p.where, p.message) for p in raised.value.problems}
    assert len(found) == 5, found
    assert (
        "sources.erp.webhook_url",
        "'ftp://x' is not an http(s) URL like https://erp.example.com/hooks/approvals",
    ) in found
    assert any(w == "sources.erp.secret_env" and "is a secret" in m for w, m in found)
    assert ("sources.sap", "unknown key 'webhok_url' (did you mean 'webhook_url'?)") in found
    assert ("sources.sap", "missing required key 'webhook_url'") in found
    assert any(w == "sources.default" and "environment's endpoint" in m for w, m in found)
    assert all(p.line is not None for p in raised.value.problems)
