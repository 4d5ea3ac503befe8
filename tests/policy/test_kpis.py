"""The program's KPIs on a hand-built history whose every figure is known.

Thirteen cases are filed in the window (30 days up to NOW), two before it. Times are offsets
from T0, ten days before NOW. The expected figures are worked out next to each case.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from policy.audit_data import AuditData
from policy.case import Case
from policy.case_records import CaseRecord, DecisionRecord, StepRecord
from policy.kpi_approvals import CaseEvent, CaseSnapshot
from policy.kpi_report import KpiReport
from policy.kpi_scope import counts_for
from policy.kpi_text import duration_text, report_text, summary_text
from policy.kpis import compute, nearest_rank
from policy.lifecycle import Action, AuditKind, CaseStatus, StepStatus
from policy.loader import load_policy, parse_policy
from tests.conftest import TEST_POLICY

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
SINCE = NOW - timedelta(days=30)
H, D = timedelta(hours=1), timedelta(days=1)
S = timedelta(seconds=1)

ACTIVE_TEXT = TEST_POLICY.read_text(encoding="utf-8")
OLDER_TEXT = ACTIVE_TEXT.replace("when: amount > 25000.0", "when: amount > 50000.0")
ACTIVE = load_policy(TEST_POLICY)
OLDER = parse_policy(OLDER_TEXT, "older.yaml")
VERSIONS = {OLDER.version: OLDER_TEXT, ACTIVE.version: ACTIVE_TEXT}

_vote_ids = itertools.count(1)


def record(
    case_id: int,
    filed: datetime,
    status: CaseStatus = CaseStatus.APPROVED,
    *,
    code: str = "OFF_CONTRACT",
    amount: float | None = 1000.0,
    currency: str | None = "EUR",
    outcome: str = "route",
    version: str = ACTIVE.version,
    due: datetime | None = None,
    source: str | None = None,
    **fields: Any,
) -> CaseRecord:
    request: dict[str, Any] = {"code": code, "title": f"Case {case_id}", "requester": "rita"}
    request |= {k: v for k, v in {"amount": amount, "currency": currency}.items() if v}
    request |= fields
    return CaseRecord(
        id=case_id,
        status=status,
        code=code,
        title=f"Case {case_id}",
        requester="rita",
        amount=amount,
        currency=currency,
        request=request,
        outcome=outcome,
        rules=[],
        skipped_rules=[],
        flags=[],
        rationale_required=False,
        policy_version=version,
        source=source,
        external_id=None,
        request_hash="0" * 64,
        created_at=filed,
        updated_at=filed,
        closed_at=None if status is CaseStatus.PENDING else filed,
        version=1,
        due_at=due,
    )


def step(
    step_id: int,
    tier: str,
    approvers: Sequence[str],
    opened: datetime | None,
    closed: datetime | None = None,
    status: StepStatus = StepStatus.APPROVED,
    *,
    due: datetime | None = None,
    version: str = ACTIVE.version,
) -> StepRecord:
    return StepRecord(
        id=step_id,
        case_id=step_id // 10,
        position=step_id % 10,
        tier=tier,
        mode="any",
        required=1,
        approvers=tuple(approvers),
        status=status,
        opened_at=opened,
        due_at=due if due is not None else opened + 4 * H if opened else None,
        closed_at=closed,
        policy_version=version,
        version=1,
    )


def vote(
    step_id: int,
    person: str,
    at: datetime,
    rationale: str | None = None,
    action: Action = Action.APPROVE,
    on_behalf_of: str | None = None,
) -> DecisionRecord:
    return DecisionRecord(
        id=next(_vote_ids),
        case_id=step_id // 10,
        step_id=step_id,
        person=person,
        on_behalf_of=on_behalf_of,
        action=action,
        rationale=rationale,
        platform="system" if person.startswith("system:") else "console",
        at=at,
    )


def event(
    kind: AuditKind, at: datetime, step_id: int | None = None, actor: str = "x", **data: Any
) -> CaseEvent:
    return CaseEvent(kind.value, actor, at, AuditData(**data), step_id)


def opened(step_id: int, at: datetime, *approvers: str) -> CaseEvent:
    return event(AuditKind.STEP_OPENED, at, step_id, approvers=approvers)


def snap(
    rec: CaseRecord,
    steps: Sequence[StepRecord] = (),
    votes: Sequence[DecisionRecord] = (),
    events: Sequence[CaseEvent] = (),
) -> CaseSnapshot:
    return CaseSnapshot(Case(rec, tuple(steps), tuple(votes)), tuple(events))


def approved(at: datetime) -> CaseEvent:
    return event(AuditKind.CASE_APPROVED, at)


def history() -> list[CaseSnapshot]:
    t1, t3, t4, t5, t6 = T0 + D + H, T0 + 2 * D, T0 + 3 * D, T0 + 4 * D, T0 + 5 * D
    t7 = T0 + 6 * D
    return [
        # 1: two tiers decided by people in 3h, under the older version (its steps too: 2
        # stale votes); 30000 EUR from Acme. Under the active policy 30000 also goes to the
        # finance director: the route would change. lee answers in 1h, maria in 2h.
        snap(
            record(1, T0, amount=30000.0, version=OLDER.version, source="erp",
                   supplier={"name": "Acme", "id": "SUP-1"}, cost_center="CC-1"),
            [step(11, "category-lead", ["lee", "dana"], T0, T0 + H, version=OLDER.version),
             step(12, "finance-director", ["maria"], T0 + H, T0 + 3 * H,
                  due=T0 + H + D, version=OLDER.version)],
            [vote(11, "lee", T0 + H, "Needed for the new hires"),
             vote(12, "maria", T0 + 3 * H, "Within budget")],
            [opened(11, T0, "lee", "dana"), opened(12, T0 + H, "maria"), approved(T0 + 3 * H)],
        ),
        # 2: approved by policy at filing: auto-decided, no cycle time; 500 USD from SUP-9
        # (a supplier with an id and no name).
        snap(
            record(2, T0 + D, code="PRICE_MISMATCH", amount=500.0, currency="USD",
                   outcome="approve", supplier={"id": "SUP-9"}),
            events=[approved(T0 + D)],
        ),
        # 15: approved by the scheduler when the step timed out (a breach; not a person's
        # approval), closed exactly at its due time; no amount, so no leakage. Cycle 4h.
        snap(
            record(15, t1, amount=None, currency=None),
            [step(151, "category-lead", ["lee"], t1, t1 + 4 * H)],
            [vote(151, "system:scheduler", t1 + 4 * H, "No decision within the SLA")],
            [opened(151, t1, "lee"), event(AuditKind.STEP_TIMED_OUT, t1 + 4 * H, 151),
             approved(t1 + 4 * H)],
        ),
        # 3: handed from lee to dana after 1h, approved by dana 59 s later (a rubber stamp)
        # with lee's rationale of case 1, respaced and recased (repeated across cases);
        # decided before the case's own due time. 1000 EUR from Beta, older version (the
        # same route under both: no change). Cycle 1h 59s.
        snap(
            record(3, t3, version=OLDER.version, due=t3 + D, supplier={"name": "Beta"}),
            [step(31, "category-lead", ["dana"], t3, t3 + H + 59 * S, version=OLDER.version)],
            [vote(31, "dana", t3 + H + 59 * S, "  needed for the NEW   hires ")],
            [opened(31, t3, "lee"),
             event(AuditKind.STEP_REASSIGNED, t3 + H, 31, from_=("lee",), to=("dana",)),
             approved(t3 + H + 59 * S)],
        ),
        # 4: two approvals: dana's after 30 s without a rationale (fast, empty), and sam's
        # for lee as a delegate exactly 60 s after the opening reached lee (not fast).
        # No amount; a version nobody stored (compared with the active one). Cycle 60 s.
        snap(
            record(4, t4, amount=None, currency=None, version="f" * 64),
            [step(41, "dual-control", ["lee", "dana", "maria"], t4, t4 + 60 * S)],
            [vote(41, "dana", t4 + 30 * S), vote(41, "sam", t4 + 60 * S, "ok", on_behalf_of="lee")],
            [opened(41, t4, "lee", "dana", "maria"),
             event(AuditKind.DECISION_APPROVED, t4 + 60 * S, 41, "sam", on_behalf_of="lee"),
             approved(t4 + 60 * S)],
        ),
        # 5: the finance director decides two days after the step opened, a day late (a
        # step breach), and the case ends after its own due time (a case breach). The same
        # rationale twice, but in one case: not repeated. 700 GBP, no supplier. Cycle 2d 2h.
        snap(
            record(5, t5, code="PRICE_MISMATCH", amount=700.0, currency="GBP", due=t5 + D,
                   cost_center="CC-2"),
            [step(51, "category-lead", ["lee"], t5, t5 + 2 * H),
             step(52, "finance-director", ["maria"], t5 + 2 * H, t5 + 2 * D + 2 * H,
                  due=t5 + 2 * H + D)],
            [vote(51, "lee", t5 + 2 * H, "Same text"),
             vote(52, "maria", t5 + 2 * D + 2 * H, "same   TEXT")],
            [opened(51, t5, "lee"), opened(52, t5 + 2 * H, "maria"),
             approved(t5 + 2 * D + 2 * H)],
        ),
        # 6: timed out at 4h (a breach, though the reroute's fresh due time was kept) and
        # rerouted to maria, who asks for information, then rejects 1h after it reached her.
        # Cycle 5h.
        snap(
            record(6, t6, CaseStatus.REJECTED, amount=5000.0),
            [step(61, "category-lead", ["maria"], t6, t6 + 5 * H, StepStatus.REJECTED,
                  due=t6 + 8 * H)],
            [vote(61, "maria", t6 + 5 * H, "No budget", Action.REJECT)],
            [opened(61, t6, "lee", "dana"), event(AuditKind.STEP_TIMED_OUT, t6 + 4 * H, 61),
             event(AuditKind.STEP_REROUTED, t6 + 4 * H, 61, to=("maria",)),
             event(AuditKind.INFO_REQUESTED, t6 + 4 * H + 10 * 60 * S, 61),
             event(AuditKind.CASE_REJECTED, t6 + 5 * H)],
        ),
        # 7: escalated to maria after 3h; she approves for lee as his manager 30 s later
        # (fast); revoked a day later, so no leakage, but its decision counts. Cycle 3h 30s.
        snap(
            record(7, t7, CaseStatus.REVOKED, amount=3000.0),
            [step(71, "category-lead", ["lee"], t7, t7 + 3 * H + 30 * S)],
            [vote(71, "maria", t7 + 3 * H + 30 * S, "Urgent", on_behalf_of="lee")],
            [opened(71, t7, "lee"),
             event(AuditKind.STEP_ESCALATED, t7 + 3 * H, 71, approvers=("lee",),
                   managers=("maria",)),
             event(AuditKind.DECISION_APPROVED, t7 + 3 * H + 30 * S, 71, "maria",
                   on_behalf_of="lee", as_manager=True),
             approved(t7 + 3 * H + 30 * S), event(AuditKind.CASE_REVOKED, T0 + 7 * D)],
        ),
        # 13: withdrawn while its step was open (cancelled before its due time).
        snap(
            record(13, T0 + 8 * D, CaseStatus.WITHDRAWN),
            [step(131, "category-lead", ["lee"], T0 + 8 * D, T0 + 8 * D + H,
                  StepStatus.CANCELLED)],
            events=[event(AuditKind.CASE_WITHDRAWN, T0 + 8 * D + H)],
        ),
        # Open now. 8: 23h old (<1d), its open step past due (a breach), the next one waiting.
        snap(
            record(8, NOW - 23 * H, CaseStatus.PENDING),
            [step(81, "category-lead", ["lee"], NOW - 23 * H, None, StepStatus.OPEN),
             step(82, "finance-director", ["maria"], None, None, StepStatus.WAITING)],
        ),
        # 9: exactly 1d old (1-3d); the case is at its own due time (a breach), its step not.
        snap(
            record(9, NOW - D, CaseStatus.PENDING, due=NOW),
            [step(91, "category-lead", ["lee"], NOW - D, None, StepStatus.OPEN, due=NOW + H)],
        ),
        # 14: exactly 3d old (3-7d), its step open and due right now (a breach); lee approved
        # it, but the events that brought it to him are missing (no response time).
        snap(
            record(14, NOW - 3 * D, CaseStatus.PENDING),
            [step(141, "dual-control", ["lee", "dana"], NOW - 3 * D, None, StepStatus.OPEN,
                  due=NOW)],
            [vote(141, "lee", NOW - 2 * D, "fine")],
        ),
        # 10: exactly 7d old (>7d), paused for an answer past its due time: no breach.
        snap(
            record(10, NOW - 7 * D, CaseStatus.PENDING),
            [step(101, "category-lead", ["lee"], NOW - 7 * D, None, StepStatus.INFO_REQUESTED)],
            events=[event(AuditKind.INFO_REQUESTED, NOW - 7 * D + H, 101)],
        ),
        # Before the window. 11: open for 40 days (the oldest); nothing else of it counts.
        snap(
            record(11, NOW - 40 * D, CaseStatus.PENDING, amount=99.0),
            [step(111, "category-lead", ["lee"], NOW - 40 * D, None, StepStatus.OPEN)],
            events=[event(AuditKind.STEP_ESCALATED, NOW - 39 * D, 111, managers=("maria",))],
        ),
        # 12: approved 35 days ago: no volume, no leakage.
        snap(record(12, NOW - 35 * D, amount=99999.0)),
    ]  # fmt: skip


def report(snapshots: Sequence[CaseSnapshot] | None = None) -> KpiReport:
    given = history() if snapshots is None else snapshots
    return compute(given, since=SINCE, now=NOW, active=ACTIVE, versions=VERSIONS)


def group(volume: int, timed: int, p50: float | None, p90: float | None) -> dict[str, Any]:
    return {"volume": volume, "timed": timed, "p50_s": p50, "p90_s": p90}


def test_every_figure_of_the_seeded_history() -> None:
    figures = report().as_dict()
    assert figures["window"] == {
        "since": "2026-02-09T00:00:00+00:00",
        "until": "2026-03-11T00:00:00+00:00",
        "person": None,
        "note": "open_by_age counts every case open now, whatever its filing date; every "
        "other figure counts the cases filed in the window",
        "percentiles": "nearest-rank",
    }
    assert figures["volume"] == 13
    # Filing to decision of cases 4, 3, 1, 7, 15, 6, 5: 60 s, 3659 s, 3h, 3h 30 s, 4h, 5h,
    # 2d 2h. Nearest rank of 7: p50 is the 4th, p90 the 7th.
    assert figures["cycle_time"] == {"cases": 7, "p50_s": 10830.0, "p90_s": 180000.0}
    assert figures["by_code"] == {
        # 60, 3659, 10800, 10830, 14400, 18000: the 3rd and the 6th of 6
        "OFF_CONTRACT": group(11, 6, 10800.0, 18000.0),
        "PRICE_MISMATCH": group(2, 1, 180000.0, 180000.0),  # case 2 was decided by policy
    }
    assert figures["by_tier"] == {
        # opened -> decided: 3600 (1), 3659 (3), 7200 (5), 10830 (7), 14400 (15), 18000 (6);
        # steps 81, 91, 101 are open, 131 was cancelled, 82 never opened
        "category-lead": group(10, 6, 7200.0, 18000.0),
        "dual-control": group(2, 1, 60.0, 60.0),
        "finance-director": group(2, 2, 7200.0, 172800.0),
    }
    assert figures["by_approver"] == {
        "dana": group(2, 2, 30.0, 59.0),
        "lee": group(3, 2, 3600.0, 7200.0),  # case 14: when it reached him is unknown
        "maria": group(4, 4, 3600.0, 172800.0),  # 30, 3600, 7200, 172800
        "sam": group(1, 1, 60.0, 60.0),  # a delegate: from when it reached lee
    }  # the scheduler is nobody's approver
    assert figures["by_supplier"] == {
        "(none)": group(10, 5, 14400.0, 180000.0),  # 60, 10830, 14400, 18000, 180000
        "Acme": group(1, 1, 10800.0, 10800.0),
        "Beta": group(1, 1, 3659.0, 3659.0),
        "SUP-9": group(1, 0, None, None),
    }
    assert figures["by_cost_center"] == {
        "(none)": group(11, 5, 10830.0, 18000.0),  # 60, 3659, 10830, 14400, 18000
        "CC-1": group(1, 1, 10800.0, 10800.0),
        "CC-2": group(1, 1, 180000.0, 180000.0),
    }
    assert figures["by_source"] == {
        "(none)": group(12, 6, 10830.0, 180000.0),
        "erp": group(1, 1, 10800.0, 10800.0),
    }
    assert figures["open_by_age"] == {
        "<1d": 1,  # 8
        "1-3d": 1,  # 9, exactly a day old
        "3-7d": 1,  # 14, exactly three days
        ">7d": 2,  # 10, exactly seven days, and 11
        "total": 5,
        "oldest": {"id": "EXC-000011", "filed_at": "2026-01-30T00:00:00+00:00", "age_s": 3456000.0},
    }
    assert figures["sla_breaches"] == {
        "steps": 5,  # 151 and 61 timed out, 52 closed late, 81 and 141 open at or past due
        "cases": 2,  # 5 ended after its due time, 9 is pending at it
        "by_tier": {"category-lead": 3, "dual-control": 1, "finance-director": 1},
    }
    assert figures["escalations"] == {"escalated": 1, "rerouted": 1}  # 11's is not counted
    assert figures["auto_decided"] == 1
    assert figures["auto_decided_share"] == 0.0769  # 1 of 13
    assert figures["info_requests"] == 2  # 6 and 10
    assert figures["revocations"] == 1
    assert figures["manager_decisions"] == 1  # maria for lee on 7; sam was a delegate
    assert figures["leakage"] == {
        "EUR": {
            "total": 31000.0,  # 1 and 3; 7 was revoked, 6 rejected, 12 before the window
            "cases": 2,
            "by_code": {"OFF_CONTRACT": 31000.0},
            "by_supplier": {"Acme": 30000.0, "Beta": 1000.0},
        },
        "GBP": {"total": 700.0, "cases": 1, "by_code": {"PRICE_MISMATCH": 700.0},
                "by_supplier": {"(none)": 700.0}},
        "USD": {"total": 500.0, "cases": 1, "by_code": {"PRICE_MISMATCH": 500.0},
                "by_supplier": {"SUP-9": 500.0}},
    }  # fmt: skip
    assert figures["rubber_stamps"] == {
        "approvals": 9,  # by people: 2 on 1, 1 on 3, 2 on 4, 2 on 5, 1 on 7, 1 on 14
        "under_60s": 3,  # dana on 3 (59 s), dana on 4 (30 s), maria on 7 (30 s)
        "empty_rationale": 1,  # dana on 4
        "repeated_rationale": 2,  # lee on 1 and dana on 3; 5's pair is within one case
    }
    assert figures["drift"] == {
        "active_version": ACTIVE.version,
        "decisions": 11,  # every vote, the scheduler's too
        "stale_decisions": 3,  # on the steps of 1 and 3, of the older version
        "cases": 13,
        "would_change": ["EXC-000001"],
    }


def test_the_window_takes_its_bounds_and_nothing_outside() -> None:
    at = [SINCE - S, SINCE, NOW, NOW + S]
    cases = [snap(record(n, filed, CaseStatus.WITHDRAWN)) for n, filed in enumerate(at, 1)]
    assert report(cases).volume == 2


def test_nearest_rank_percentiles() -> None:
    tens = [float(v) for v in range(100, 0, -10)]  # unsorted on purpose
    assert (nearest_rank(tens, 50), nearest_rank(tens, 90)) == (50.0, 90.0)
    assert (nearest_rank([3.0, 1.0, 2.0], 50), nearest_rank([3.0, 1.0, 2.0], 90)) == (2.0, 3.0)
    assert nearest_rank([7.0], 50) == nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([1.0, 2.0], 50) == 1.0  # rank ceil(1.0) = 1
    assert nearest_rank([], 50) is None


@pytest.mark.parametrize(("seconds", "fast"), [(0, True), (59.999, True), (60, False), (61, False)])
def test_an_approval_under_60_seconds_is_a_rubber_stamp(seconds: float, fast: bool) -> None:
    at = T0 + timedelta(seconds=seconds)
    case = snap(
        record(1, T0),
        [step(11, "category-lead", ["lee"], T0, at)],
        [vote(11, "lee", at, "Checked the quote")],
        [opened(11, T0, "lee")],
    )
    assert report([case]).rubber_stamps.fast == int(fast)


def test_the_latest_arrival_before_the_vote_counts() -> None:
    """Rerouted to lee at 1h and reassigned back to him at 3h: 30 s after the second arrival
    is a rubber stamp; an arrival after the vote does not count."""
    case = snap(
        record(1, T0),
        [step(11, "category-lead", ["lee"], T0, T0 + 3 * H + 30 * S)],
        [vote(11, "lee", T0 + 3 * H + 30 * S)],
        [opened(11, T0, "dana"),
         event(AuditKind.STEP_REROUTED, T0 + H, 11, to=("lee",)),
         event(AuditKind.STEP_REASSIGNED, T0 + 3 * H, 11, to=("lee",)),
         event(AuditKind.STEP_REASSIGNED, T0 + 4 * H, 11, to=("lee",))],
    )  # fmt: skip
    figures = report([case])
    assert figures.by_approver["lee"].timing.p50_s == 30.0
    assert figures.rubber_stamps.fast == 1


def test_texts_show_the_figures() -> None:
    figures = report()
    text = report_text(figures)
    assert text.startswith(
        "Exception program KPIs: cases filed 2026-02-09 00:00 UTC to 2026-03-11 00:00 UTC, "
        "the whole program."
    )
    assert "Volume: 13 cases filed, 1 decided by policy (7.7%)." in text
    assert "Cycle time, filing to final decision: p50 3h, p90 2d 2h (7 cases" in text
    assert "Open now: 5, the oldest EXC-000011 (40d). By age: <1d 1, 1-3d 1, 3-7d 1, >7d 2." in text
    assert "Leakage (approved through exceptions): EUR 31,000.00 in 2 cases; GBP 700.00" in text
    assert "Drift: 3 of 11 decisions" in text
    assert (
        "SLA breaches: 5 steps, 2 cases (by tier: category-lead 3, dual-control 1, "
        "finance-director 1)." in text
    )
    assert "\n  dual-control           2       1        1m        1m\n" in text
    assert "\n  maria       4       4        1h        2d\n" in text
    summary = summary_text(figures)
    assert summary.splitlines() == [
        "Cases filed since 2026-02-09 00:00 UTC, the whole program:",
        "13 filed, 1 decided by policy (7.7%); cycle time p50 3h, p90 2d 2h.",
        "Open now: 5, the oldest EXC-000011 (40d).",
        "SLA breaches: 5 steps, 2 cases.",
        "Rubber stamps: 3 of 9 approvals under 60s, 1 with an empty rationale, 2 with a "
        "rationale repeated across cases.",
        "Leakage: EUR 31,000.00 in 2 cases; GBP 700.00 in 1 case; USD 500.00 in 1 case.",
    ]
    assert [duration_text(s) for s in (None, 0, 59, 3600, 3900, 90061)] == [
        "-", "0s", "59s", "1h", "1h 5m", "1d 1h",
    ]  # fmt: skip


def test_csv_rows_name_the_figure_and_the_group() -> None:
    rows = report().csv_rows()
    assert ("volume", "", "13") in rows
    assert ("by_tier.p90_s", "finance-director", "172800.0") in rows
    assert ("leakage.total", "EUR", "31000.0") in rows
    assert ("leakage.by_supplier", "EUR Beta", "1000.0") in rows
    assert ("sla_breaches.by_tier", "dual-control", "1") in rows
    assert ("open_by_age.oldest.id", "", "EXC-000011") in rows
    assert ("drift.would_change", "", "EXC-000001") in rows
    assert ("by_code.p50_s", "PRICE_MISMATCH", "180000.0") in rows


def test_who_sees_which_cases_in_their_stats() -> None:
    """Admins and auditors see the whole program; anyone else the cases they filed, are or
    were on the route of, or voted on (for themselves, or for someone)."""
    filed = Case(record(1, T0, CaseStatus.PENDING), (), ())
    routed = Case(
        record(2, T0),
        (step(21, "category-lead", ["lee"], T0, T0 + H),),
        (vote(21, "sam", T0 + H, on_behalf_of="vic"),),
    )
    timed_out = Case(
        record(3, T0, CaseStatus.PENDING),
        (replace(step(31, "category-lead", ["ben"], T0), former_approvers=("dana",)),),
        (),
    )
    for viewer, seen in [
        ("ada", [filed, routed, timed_out]),  # admin
        ("aud", [filed, routed, timed_out]),  # auditor
        ("rita", [filed, routed, timed_out]),  # filed them all
        ("lee", [routed]),
        ("sam", [routed]),  # voted as vic's delegate
        ("vic", [routed]),  # voted for
        ("dana", [timed_out]),  # had the step before it timed out on her
        ("carl", []),
    ]:
        assert [c for c in (filed, routed, timed_out) if counts_for(ACTIVE, viewer, c)] == seen
