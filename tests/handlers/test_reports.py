"""The program's KPIs from cases filed and decided through the handlers, with the clock
moved, on SQLite and PostgreSQL; and whose cases someone who asks in chat sees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers.absence import reassign
from handlers.clock import ManualClock
from handlers.commands import Answer, Decide, Reassign, Revoke
from handlers.context import Services
from handlers.deciding import answer_question, decide
from handlers.lifecycle import revoke
from handlers.policy_versions import bootstrap
from handlers.reports import program_report
from policy.loader import parse_policy
from storage.records import Action
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import file, person

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
S = timedelta(seconds=1)
NOW = START + D + 3 * H
SINCE = START - D


async def seed(svc: Services, clock: ManualClock) -> None:
    """Six cases, all from rita, through the handlers (the policy is tests/data/policy.yaml)."""
    # 1: 30000 EUR from Acme: category-lead then finance-director. lee approves 30 s after
    # the card reached him, maria 2h after the filing. Cycle 2h.
    await file(svc, amount=30_000.0, supplier={"name": "Acme"}, cost_center="CC-410")
    clock.set(START + 30 * S)
    await decide(svc, person("lee"), Decide(1, Action.APPROVE, "Needed for the new hires"))
    clock.set(START + 2 * H)
    await decide(svc, person("maria"), Decide(1, Action.APPROVE, "Within budget"))
    # 2: approved by policy (within tolerance), 500 USD. 3: 1000 EUR. 4: 2000 EUR.
    clock.set(START + H)
    fields: dict[str, Any] = {"amount": 500.0, "currency": "USD", "details": {"variance_pct": 1}}
    await file(svc, code="PRICE_MISMATCH", **fields)
    await file(svc, amount=1000.0)
    await file(svc, amount=2000.0)
    # 4: lee asks a question 10 minutes in, rita answers at 2h, lee rejects 5 minutes later.
    clock.set(START + H + 10 * M)
    await decide(svc, person("lee"), Decide(4, Action.REQUEST_INFO, "Which quote?"))
    clock.set(START + 2 * H)
    await answer_question(svc, person("rita"), Answer(4, "The cheaper one"))
    # 5: a price mismatch without its variance goes to people, due in a day; it stays open.
    await file(svc, code="PRICE_MISMATCH", amount=700.0, currency="GBP")
    clock.set(START + 2 * H + 5 * M)
    await decide(svc, person("lee"), Decide(4, Action.REJECT, "Use the framework supplier"))
    # 3: lee hands his place to maria, who approves 30 s later with case 1's rationale
    # (respaced and recased); ada revokes it an hour later. Cycle 3h.
    clock.set(START + 4 * H - 30 * S)
    await reassign(svc, person("lee"), Reassign(3, "maria", "On leave"))
    clock.set(START + 4 * H)
    await decide(svc, person("maria"), Decide(3, Action.APPROVE, "needed for the  NEW hires"))
    clock.set(START + 5 * H)
    await revoke(svc, person("ada"), Revoke(3, "Duplicate order"))
    # 6: 100 EUR, approved by dana two minutes in, without a rationale. Cycle 2 minutes.
    await file(svc, amount=100.0)
    clock.set(START + 5 * H + 2 * M)
    await decide(svc, person("dana"), Decide(6, Action.APPROVE))
    clock.set(NOW)


def group(volume: int, timed: int, p50: float | None, p90: float | None) -> dict[str, Any]:
    return {"volume": volume, "timed": timed, "p50_s": p50, "p90_s": p90}


async def test_the_kpis_of_a_seeded_history(services: Services, clock: ManualClock) -> None:
    # The policy behind the cases is stored; the one in force now sends less to the
    # finance director, so case 1 would be routed differently and every vote is stale.
    text = TEST_POLICY.read_text(encoding="utf-8")
    services.policy = await bootstrap(services.db, services.policy, text, clock)
    await seed(services, clock)
    higher = text.replace("when: amount > 25000.0", "when: amount > 50000.0")
    now_in_force = Services(services.db, parse_policy(higher, "higher.yaml"), clock)

    figures = (await program_report(now_in_force, SINCE)).as_dict()

    assert figures["volume"] == 6
    # 6: 2 minutes, 4: 1h 5m, 1: 2h, 3: 3h (revoked, but it was decided)
    assert figures["cycle_time"] == {"cases": 4, "p50_s": 3900.0, "p90_s": 10800.0}
    assert figures["by_code"] == {
        "OFF_CONTRACT": group(4, 4, 3900.0, 10800.0),
        "PRICE_MISMATCH": group(2, 0, None, None),
    }
    assert figures["by_tier"] == {
        # 1: 30 s, 6: 2 minutes, 4: 1h 5m (the question does not restart it), 3: 3h; 5 open
        "category-lead": group(5, 4, 120.0, 10800.0),
        "finance-director": group(1, 1, 7170.0, 7170.0),
    }
    assert figures["by_approver"] == {
        "dana": group(1, 1, 120.0, 120.0),
        "lee": group(2, 2, 30.0, 3900.0),
        "maria": group(2, 2, 30.0, 7170.0),  # on 3, from when lee handed it to her
    }
    assert figures["by_supplier"] == {
        "(none)": group(5, 3, 3900.0, 10800.0),
        "Acme": group(1, 1, 7200.0, 7200.0),
    }
    assert figures["by_cost_center"]["CC-410"] == group(1, 1, 7200.0, 7200.0)
    assert figures["by_source"] == {"(none)": group(6, 4, 3900.0, 10800.0)}
    assert figures["open_by_age"] == {
        "<1d": 0,
        "1-3d": 1,
        "3-7d": 0,
        ">7d": 0,
        "total": 1,
        "oldest": {
            "id": "EXC-000005",
            "filed_at": (START + 2 * H).isoformat(),
            "age_s": (NOW - START - 2 * H).total_seconds(),
        },
    }
    # 5's step is past its 4h SLA, and 5 past its code's 1d SLA
    assert figures["sla_breaches"] == {"steps": 1, "cases": 1, "by_tier": {"category-lead": 1}}
    assert figures["escalations"] == {"escalated": 0, "rerouted": 0}
    assert (figures["auto_decided"], figures["auto_decided_share"]) == (1, 0.1667)
    assert (figures["info_requests"], figures["revocations"]) == (1, 1)
    assert figures["manager_decisions"] == 0
    assert figures["leakage"] == {
        "EUR": {
            "total": 30100.0,
            "cases": 2,
            "by_code": {"OFF_CONTRACT": 30100.0},
            "by_supplier": {"(none)": 100.0, "Acme": 30000.0},
        },
        "USD": {
            "total": 500.0,
            "cases": 1,
            "by_code": {"PRICE_MISMATCH": 500.0},
            "by_supplier": {"(none)": 500.0},
        },
    }
    assert figures["rubber_stamps"] == {
        "approvals": 4,
        "under_60s": 2,  # lee on 1, maria on 3
        "empty_rationale": 1,  # dana on 6
        "repeated_rationale": 2,  # lee on 1, maria on 3
    }
    assert figures["drift"] == {
        "active_version": now_in_force.policy.version,
        "decisions": 5,
        "stale_decisions": 5,
        "cases": 6,
        "would_change": ["EXC-000001"],
    }

    # Under the policy that decided them, nothing has drifted.
    same = (await program_report(services, SINCE)).drift
    assert (same.stale_decisions, same.would_change) == (0, ())
    # A later window leaves out the cases filed before it, but not the open one.
    later = await program_report(services, START + 5 * H)
    assert (later.volume, later.open_by_age.total) == (1, 1)


async def test_each_person_sees_their_own_cases_and_auditors_all(
    services: Services, clock: ManualClock
) -> None:
    await seed(services, clock)

    everything = await program_report(services, SINCE, viewer="aud")
    assert (everything.person, everything.volume) == (None, 6)
    theirs = await program_report(services, SINCE, viewer="maria")
    assert (theirs.person, theirs.volume) == ("maria", 2)  # 1 (finance director) and 3
    assert theirs.open_by_age.total == 0
    assert theirs.leakage["EUR"].total == 30000.0
    nobody = await program_report(services, SINCE, viewer="carl")
    assert (nobody.volume, nobody.open_by_age.oldest) == (0, None)
