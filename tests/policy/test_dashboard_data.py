"""The dashboard's own figures: volume by code per day or week, approvers' load and
rubber-stamp rate, and the case search."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from policy.case_records import CaseRecord
from policy.dashboard_data import ApproverLoad, Search, approver_loads, volume_over_time
from policy.kpi_approvals import Approval
from policy.kpi_report import Group, Timing
from policy.lifecycle import CaseStatus

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # a Wednesday
D = timedelta(days=1)


def case(
    case_id: int, filed: datetime, code: str = "OFF_CONTRACT", **request: object
) -> CaseRecord:
    return CaseRecord(
        id=case_id,
        status=CaseStatus.PENDING,
        code=code,
        title=f"Laptops batch {case_id}",
        requester="rita",
        amount=100.0,
        currency="EUR",
        request={"code": code, **request},
        outcome="route",
        rules=[],
        skipped_rules=[],
        flags=[],
        rationale_required=False,
        policy_version="v1",
        source=None,
        external_id=None,
        request_hash="",
        created_at=filed,
        updated_at=filed,
        closed_at=None,
        version=1,
    )


def test_volume_per_day_counts_each_code_in_its_day() -> None:
    cases = [case(1, NOW - 2 * D), case(2, NOW - 2 * D, "PRICE_MISMATCH"), case(3, NOW)]
    cases.append(case(4, NOW - 40 * D))  # before the window
    volume = volume_over_time(cases, NOW - 3 * D, NOW)
    assert volume.period == "day"
    assert volume.starts == tuple(date(2026, 3, d) for d in (8, 9, 10, 11))
    assert volume.counts == {"OFF_CONTRACT": (0, 1, 0, 1), "PRICE_MISMATCH": (0, 1, 0, 0)}


def test_a_long_window_counts_per_week_from_monday() -> None:
    volume = volume_over_time([case(1, NOW), case(2, NOW - 9 * D)], NOW - 90 * D, NOW)
    assert volume.period == "week"
    assert volume.starts[0] == date(2025, 12, 8)  # the Monday of the window's first day
    assert volume.starts[-1] == date(2026, 3, 9)
    assert sum(volume.counts["OFF_CONTRACT"]) == 2
    assert volume.counts["OFF_CONTRACT"][-1] == 1
    assert volume.counts["OFF_CONTRACT"][-2] == 1


def test_approvers_ranked_by_load_with_their_stamp_rate() -> None:
    timing = Timing(0, None, None)
    by_approver = {"lee": Group(3, timing), "dana": Group(5, timing), "maria": Group(3, timing)}
    approvals = [
        Approval("lee", 1, fast=True, empty_rationale=False, repeated_rationale=False),
        Approval("lee", 2, fast=False, empty_rationale=False, repeated_rationale=False),
        Approval("dana", 3, fast=False, empty_rationale=True, repeated_rationale=True),
    ]
    loads = approver_loads(by_approver, approvals, top=2)
    assert loads == [ApproverLoad("dana", 5, 1, 1), ApproverLoad("lee", 3, 2, 1)]
    assert [load.stamp_rate for load in loads] == [1.0, 0.5]
    assert ApproverLoad("maria", 3, 0, 0).stamp_rate is None


def test_the_search_matches_every_word_in_the_case_fields() -> None:
    acme = case(12, NOW, supplier={"name": "Acme GmbH", "id": "SUP-9"})
    assert Search.of("laptops ACME").matches(acme)
    assert Search.of("exc-000012").matches(acme)
    assert Search.of("sup-9").matches(acme)
    assert Search.of("rita off_contract").matches(acme)
    assert Search.of("Requester").matches(acme, requester_name="Rita Requester")
    assert not Search.of("laptops globex").matches(acme)
    assert Search.of("", CaseStatus.PENDING).matches(acme)
    assert not Search.of("laptops", CaseStatus.APPROVED).matches(acme)
    assert Search.of("batch").matches(replace(acme, request={}))  # no supplier at all
