"""The remediation loop's pure rules: the policy keys, when an item opens, its evidence, who
may act on it, what closing needs, and its clock (reminders, escalation to the manager)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policy.actor import Actor
from policy.lifecycle import AuditKind
from policy.loader import PolicyError, load_policy, parse_policy
from policy.model import Policy
from policy.remediation import (
    CountedCase,
    Evidence,
    ItemStatus,
    close_problem,
    counting_since,
    evidence_of,
    frequency,
    item_ref,
    may_handle,
    parse_item_ref,
    per_value,
    remediation_for,
    should_open,
)
from policy.remediation_plan import RemediationItem, acknowledge, close, due, opened, schedule

DATA = Path(__file__).parent.parent / "data"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DATA / "remediation.yaml")


def _text(extra: str) -> str:
    return (DATA / "remediation.yaml").read_text(encoding="utf-8") + extra


def test_a_code_s_own_remediation_wins_over_the_policy_s(policy: Policy) -> None:
    own = remediation_for(policy, "PRICE_MISMATCH")
    assert own is not None
    assert own.after == 3
    assert own.per is None
    assert own.sla == timedelta(hours=30)
    assert own.remind_every == timedelta(hours=10)
    everywhere = remediation_for(policy, "OFF_CONTRACT")
    assert everywhere is not None
    assert everywhere.per == "supplier"
    assert everywhere.after == 2


def test_remediation_and_digest_change_the_version(policy: Policy) -> None:
    text = (DATA / "remediation.yaml").read_text(encoding="utf-8")
    without = parse_policy(text.replace('digest: {at: "09:00"}', ""), "p.yaml")
    later = parse_policy(text.replace('at: "09:00"', 'at: "10:00"'), "p.yaml")
    assert len({policy.version, without.version, later.version}) == 3


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("remediation: {after: 0, within: 30d, sla: 14d}\n", "greater than or equal to 1"),
        ("remediation: {after: 2, within: 30x, sla: 14d}\n", "bad duration"),
        ("remediation: {after: 2, within: 30d, sla: 14d, per: vendor}\n", "'supplier'"),
        ("remediation: {after: 2, within: 30d, sla: 1d, escalate_after: 1}\n", "remind_every"),
        ("remediation: {after: 2, within: 30d, sla: 1d, afterr: 3}\n", "unknown key"),
        ("digest: {at: 10:00}\n", "in quotes"),
        ('digest: {at: "25:00"}\n', "not a time of day"),
    ],
)
def test_bad_remediation_or_digest_keys_are_named(extra: str, says: str) -> None:
    text = _text("").replace("remediation: {after: 2, within: 7d, sla: 10h, per: supplier}\n", "")
    text = text.replace('digest: {at: "09:00"}\n', "")
    with pytest.raises(PolicyError) as raised:
        parse_policy(text + extra, "p.yaml")
    assert says in str(raised.value)


def test_a_remediated_code_needs_an_owner() -> None:
    text = _text("").replace("owner: sam}", "}")
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "p.yaml")
    assert "taxonomy[OFF_CONTRACT]: remediation items go to the code's owner" in str(raised.value)


def test_the_key_is_the_supplier_name_else_id_or_the_cost_center(policy: Policy) -> None:
    rule = remediation_for(policy, "OFF_CONTRACT")
    assert rule is not None
    assert per_value(rule, {"supplier": {"name": "Acme", "id": "S1"}}) == "Acme"
    assert per_value(rule, {"supplier": {"id": "S1"}}) == "S1"
    assert per_value(rule, {}) is None
    by_center = dataclasses.replace(rule, per="cost_center")
    assert per_value(by_center, {"cost_center": "CC-7"}) == "CC-7"


def test_an_item_opens_at_the_nth_case_unless_one_is_open(policy: Policy) -> None:
    rule = remediation_for(policy, "PRICE_MISMATCH")
    assert rule is not None
    assert not should_open(rule, 2, open_exists=False)
    assert should_open(rule, 3, open_exists=False)
    assert not should_open(rule, 4, open_exists=True)
    closed = MONDAY - timedelta(days=2)
    assert counting_since(rule, MONDAY, closed) == closed  # after the key's last close
    assert counting_since(rule, MONDAY, MONDAY - timedelta(days=90)) == MONDAY - rule.within


def test_the_evidence_lists_cases_suppliers_centers_and_what_is_at_stake() -> None:
    counted = [
        CountedCase(
            "EXC-000001",
            {"supplier": {"name": "Acme"}, "cost_center": "CC-1"},
            100.0,
            "EUR",
            "approved",
        ),
        CountedCase("EXC-000002", {"supplier": {"name": "Beta"}}, 50.0, "USD", "pending"),
        CountedCase(
            "EXC-000003",
            {"supplier": {"name": "Acme"}, "cost_center": "CC-1"},
            70.0,
            "EUR",
            "rejected",
        ),
    ]
    evidence = evidence_of(counted, "https://wiki.example/pb")
    assert evidence.cases == ("EXC-000001", "EXC-000002", "EXC-000003")
    assert evidence.suppliers == ("Acme", "Beta")
    assert evidence.cost_centers == ("CC-1",)
    assert evidence.leakage == {"EUR": 100.0, "USD": 50.0}  # the rejected case bought nothing
    assert Evidence.read(evidence.to_json()) == evidence
    assert Evidence.read("garbage") == Evidence((), (), ())


def test_the_owner_their_manager_and_admins_may_act(policy: Policy) -> None:
    assert may_handle(policy, "lee", "lee") is None
    assert may_handle(policy, "lee", "maria") is None  # lee's manager
    assert may_handle(policy, "lee", "ada") is None  # an admin
    assert may_handle(policy, "lee", "dana") is not None
    assert may_handle(policy, "lee", "aud") is not None  # auditors read, they do not act


def test_closing_needs_the_root_cause_and_fix() -> None:
    assert close_problem(None) is not None
    assert close_problem("   ") is not None
    assert close_problem("x" * 3001) is not None
    assert close_problem("stale price list; synced nightly now") is None


def test_refs_and_frequency() -> None:
    assert item_ref(7) == "REM-000007"
    assert parse_item_ref("REM-000007") == parse_item_ref("rem-7") == parse_item_ref("7") == 7
    assert parse_item_ref("REM-0") is None
    assert parse_item_ref("EXC-7") is None
    times = [MONDAY + timedelta(days=d) for d in (0, 1, 2, 10)]
    assert frequency(times, MONDAY, MONDAY + timedelta(days=4)) == 0.75
    assert frequency(times, MONDAY, MONDAY) is None


def _item(policy: Policy, opened_at: datetime = MONDAY) -> RemediationItem:
    rule = remediation_for(policy, "PRICE_MISMATCH")
    assert rule is not None
    plan = schedule(rule, policy.calendar, opened_at)
    return RemediationItem(
        id=1,
        code="PRICE_MISMATCH",
        per_field=None,
        per_value=None,
        owner="lee",
        status=ItemStatus.OPEN,
        opened_at=opened_at,
        due_at=plan.due_at,
        evidence=Evidence(("EXC-000001",), (), ()),
        next_action_at=plan.next_action_at,
    )


def test_its_clock_runs_in_business_hours(policy: Policy) -> None:
    item = _item(policy)
    # 30 business hours of 10 a day, Wednesday a holiday: Friday 09:00.
    assert item.due_at == datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    assert item.next_action_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 10h later


def test_reminded_then_escalated_to_the_manager_then_reminded(policy: Policy) -> None:
    rule = remediation_for(policy, "PRICE_MISMATCH")
    assert rule is not None
    item = _item(policy)
    first = due(policy, rule, item, datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert [e.action for e in first.events] == [AuditKind.REMEDIATION_REMINDED]
    assert first.item.reminders_sent == 1
    assert first.item.next_action_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # past the holiday
    second = due(policy, rule, first.item, datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    assert [e.action for e in second.events] == [AuditKind.REMEDIATION_ESCALATED]
    assert any(m.recipient == "maria" and m.remediation_id == 1 for m in second.messages)
    third = due(policy, rule, second.item, datetime(2026, 3, 6, 9, 0, tzinfo=UTC))  # at the SLA
    assert [e.action for e in third.events] == [AuditKind.REMEDIATION_REMINDED]
    assert "was due" in next(m.text or "" for m in third.messages if m.text)


def test_past_its_sla_unescalated_it_goes_to_the_manager(policy: Policy) -> None:
    own = remediation_for(policy, "PRICE_MISMATCH")
    assert own is not None
    rule = dataclasses.replace(own, remind_every=None, escalate_after=None)
    item = _item(policy)
    late = due(policy, rule, item, item.due_at)
    assert [e.action for e in late.events] == [AuditKind.REMEDIATION_ESCALATED]
    assert late.item.next_action_at is None  # nothing more to remind


def test_a_tick_outside_business_hours_waits(policy: Policy) -> None:
    rule = remediation_for(policy, "PRICE_MISMATCH")
    assert rule is not None
    night = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)
    waited = due(policy, rule, _item(policy), night)
    assert waited.events == ()
    assert waited.item.next_action_at == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def test_opened_acknowledged_closed_are_audited_under_its_ref(policy: Policy) -> None:
    item = _item(policy)
    made = opened(policy, item)
    assert made.events[0].case_ref == "REM-000001"
    assert made.events[0].data["evidence"]["cases"] == ["EXC-000001"]
    assert made.messages[0].recipient == "lee"
    acked = acknowledge(policy, item, Actor("maria", "console"), MONDAY)
    assert acked.item.status is ItemStatus.ACKNOWLEDGED
    assert acked.item.acknowledged_by == "maria"
    assert any(m.recipient == "lee" for m in acked.messages)  # the owner hears of it
    done = close(policy, acked.item, Actor("lee", "console"), "stale price list", MONDAY)
    assert done.item.status is ItemStatus.CLOSED
    assert done.item.next_action_at is None
    assert done.events[0].action is AuditKind.REMEDIATION_CLOSED
    assert done.events[0].rationale == "stale price list"
