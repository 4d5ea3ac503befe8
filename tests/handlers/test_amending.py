"""Amendments from the source (policy tests/data/policy.yaml): material ones void the approvals
given and start the route again, reopening a decided case; the rest are recorded and the
approvals stand. Every amendment is audited with each field before and after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.card_views import build_card_view
from handlers.amending import AmendResult, amend_exception
from handlers.commands import Decide, Withdraw
from handlers.context import Actor, Services
from handlers.deciding import decide
from handlers.errors import Conflict, InvalidRequest
from handlers.lifecycle import withdraw
from handlers.queries import case_details
from policy.loader import parse_policy
from policy.request import ExceptionRequest
from storage.records import Action, CaseStatus, StepStatus
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import counts, file, outbox_rows, person, request

ERP = Actor.system("intake:erp", "api")


async def amend(svc: Services, case_id: int, **fields: Any) -> AmendResult:
    """Amend the case to the handler tests' default request with `fields` over it."""
    fields.setdefault("source", "erp")
    fields.setdefault("external_id", "PO-1")
    new = request(**fields)

    def revise(_stored: Mapping[str, Any]) -> ExceptionRequest:
        return new

    return await amend_exception(svc, ERP, case_id, revise)


async def file_po(svc: Services, **fields: Any) -> int:
    return (await file(svc, source="erp", external_id="PO-1", **fields)).case.id


async def history(svc: Services, case_id: int) -> list[tuple[str, Any]]:
    return [(e.action, e.data) for e in (await case_details(svc, case_id)).history]


async def test_an_immaterial_amendment_is_recorded_and_the_approvals_stand(
    services: Services,
) -> None:
    case_id = await file_po(services, details={"route": "dual"})  # dual-control wants 2
    await decide(services, person("lee"), Decide(case_id, Action.APPROVE, "fine"))

    result = await amend(
        services, case_id, details={"route": "dual"}, amount=1100.0, title="Laptops, 9 not 10"
    )

    assert (result.amended, result.material) == (True, False)
    details = await case_details(services, case_id)
    assert details.case.title == "Laptops, 9 not 10"
    assert details.case.amount == 1100.0
    step = details.steps[0]
    assert (step.status, details.case.status) == (StepStatus.OPEN, CaseStatus.PENDING)
    assert [v.person for v in details.decisions] == ["lee"]  # lee's approval stands
    amended = next(e for e in details.history if e.action == "case.amended")
    assert amended.actor == "system:intake:erp"
    assert (
        amended.rationale
        == "title Laptops from a new reseller -> Laptops, 9 not 10; amount 1,200.00 -> 1,100.00 EUR"
    )
    assert amended.data["material"] is False
    assert amended.data["changes"] == [
        {"field": "title", "before": "Laptops from a new reseller", "after": "Laptops, 9 not 10"},
        {"field": "amount", "before": 1200.0, "after": 1100.0},
    ]
    assert details.case.request_hash == amended.data["request_hash"]
    # dana's approval now completes the step as before.
    await decide(services, person("dana"), Decide(case_id, Action.APPROVE, "ok"))
    assert (await case_details(services, case_id)).steps[0].status is StepStatus.APPROVED


async def test_a_material_amendment_voids_the_approvals_and_starts_the_route_again(
    services: Services,
) -> None:
    case_id = await file_po(services, details={"route": "dual"})
    await decide(services, person("lee"), Decide(case_id, Action.APPROVE, "fine"))
    seen = len(await outbox_rows(services.db))

    result = await amend(services, case_id, details={"route": "dual"}, amount=1300.0)

    assert (result.amended, result.material) == (True, True)
    details = await case_details(services, case_id)
    assert [(s.tier, s.status) for s in details.steps] == [
        ("dual-control", StepStatus.SUPERSEDED),
        ("finance-director", StepStatus.SUPERSEDED),
        ("dual-control", StepStatus.OPEN),
        ("finance-director", StepStatus.WAITING),
    ]
    kinds = [e.action for e in details.history]
    assert kinds[-3:] == ["case.amended", "policy.evaluated", "step.opened"]
    amended = details.history[-3]
    assert amended.data["material"] is True
    assert amended.data["reasons"] == ["the amount rises (amount 1,200.00 -> 1,300.00)"]
    told = [(kind, who, text) for kind, who, text in (await outbox_rows(services.db))[seen:]]
    assert ("notify", "lee") in [(k, w) for k, w, _ in told]
    note = next(t for k, w, t in told if (k, w) == ("notify", "lee"))
    assert note is not None
    assert "was amended by erp: amount 1,200.00 -> 1,300.00 EUR." in note
    assert "Approvals given before no longer stand" in note
    assert [k for k, _, _ in told].index("update_cards") < [k for k, _, _ in told].index(
        "post_card"
    )

    # lee's earlier approval no longer counts, and lee may approve again.
    await decide(services, person("lee"), Decide(case_id, Action.APPROVE, "still fine"))
    assert (await case_details(services, case_id)).steps[2].status is StepStatus.OPEN
    await decide(services, person("dana"), Decide(case_id, Action.APPROVE, "ok"))
    after = await case_details(services, case_id)
    assert after.steps[2].status is StepStatus.APPROVED
    # Each decision binds the content it was made on.
    decided = [e for e in after.history if e.action == "decision.approved"]
    assert decided[0].data["case_hash"] != decided[-1].data["case_hash"]
    assert decided[-1].data["case_hash"] == after.case.request_hash


async def test_a_material_amendment_reopens_a_decided_case(services: Services) -> None:
    case_id = await file_po(services)
    await decide(services, person("lee"), Decide(case_id, Action.APPROVE, "fine"))
    assert (await case_details(services, case_id)).case.status is CaseStatus.APPROVED

    result = await amend(services, case_id, amount=30_000.0)

    assert result.material
    details = await case_details(services, case_id)
    assert details.case.status is CaseStatus.PENDING
    assert details.case.closed_at is None
    assert [s.tier for s in details.steps if s.status is not StepStatus.SUPERSEDED] == [
        "category-lead",
        "finance-director",
    ]
    reopened = next(e for e in details.history if e.action == "case.reopened")
    assert reopened.data["previous_status"] == "approved"
    assert "the route changes (category-lead -> category-lead, finance-director)" in (
        reopened.rationale or ""
    )
    assert details.case.flags == ["high-value"]
    # The approver of the superseded step is not barred from the new one.
    await decide(services, person("lee"), Decide(case_id, Action.APPROVE, "needed"))
    assert (await case_details(services, case_id)).steps[1].status is StepStatus.APPROVED


async def test_an_amendment_that_policy_now_approves_ends_the_case_by_policy(
    services: Services,
) -> None:
    case_id = await file_po(services, code="PRICE_MISMATCH", details={"variance_pct": 5.0})
    result = await amend(services, case_id, code="PRICE_MISMATCH", details={"variance_pct": 1.0})
    assert result.material
    details = await case_details(services, case_id)
    assert details.case.status is CaseStatus.APPROVED
    assert all(s.status is StepStatus.SUPERSEDED for s in details.steps)
    assert details.history[-1].action == "case.approved"
    assert details.history[-1].actor == "system:policy"


async def test_the_policy_tolerance_lets_a_small_rise_stand(
    services: Services,
) -> None:
    text = TEST_POLICY.read_text(encoding="utf-8") + "amendments: {amount_tolerance_pct: 10}\n"
    services.policy = parse_policy(text, "tolerant.yaml")
    case_id = await file_po(services)
    assert not (await amend(services, case_id, amount=1300.0)).material  # +8.3%
    # Each amendment's rise is measured from the amount it amends.
    assert (await amend(services, case_id, amount=1500.0)).material  # +15.4%


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "USD"),
        ("cost_center", "CC-9"),
        ("category", "IT hardware"),
        ("supplier", {"name": "Other Ltd"}),
    ],
)
async def test_a_change_of_who_or_what_is_material(
    services: Services, field: str, value: Any
) -> None:
    case_id = await file_po(services)
    result = await amend(services, case_id, **{field: value})
    assert result.material
    reasons = (await case_details(services, case_id)).history[-3].data["reasons"]
    assert f"the {field.replace('_', ' ')} changes" in reasons


async def test_the_same_content_again_changes_nothing(services: Services) -> None:
    case_id = await file_po(services)
    before = await counts(services.db)
    result = await amend(services, case_id, revision=4)  # only the revision differs
    assert not result.amended
    assert await counts(services.db) == before


async def test_what_cannot_be_amended_is_refused_and_stores_nothing(services: Services) -> None:
    case_id = await file_po(services, revision=5)
    before = await counts(services.db)
    with pytest.raises(Conflict, match="EXC-000001 is at revision 5; revision 4 is older"):
        await amend(services, case_id, amount=2.0, revision=4)
    with pytest.raises(InvalidRequest, match="source and external_id of a case cannot change"):
        await amend(services, case_id, amount=2.0, external_id="PO-2")
    with pytest.raises(InvalidRequest, match="unknown exception code"):
        await amend(services, case_id, code="NOPE")
    assert await counts(services.db) == before

    await withdraw(services, person("rita"), Withdraw(case_id, "PO cancelled"))
    after_withdrawal = await counts(services.db)
    with pytest.raises(Conflict, match="EXC-000001 is withdrawn; it cannot be amended"):
        await amend(services, case_id, amount=2.0, revision=6)
    assert await counts(services.db) == after_withdrawal


async def test_a_repost_with_a_newer_revision_amends_the_case(services: Services) -> None:
    first = await file(services, source="erp", external_id="PO-1", revision=1)
    again = await file(services, source="erp", external_id="PO-1", revision=2, amount=30_000.0)
    assert (again.created, again.amended) == (False, True)
    assert again.case.id == first.case.id
    assert again.case.amount == 30_000.0
    amended = next(
        e
        for e in (await case_details(services, first.case.id)).history
        if e.action == "case.amended"
    )
    assert amended.data["revision"] == 2


async def test_every_card_shows_the_amendment_and_offers_its_buttons_again(
    services: Services,
) -> None:
    case_id = await file_po(services)
    await decide(services, person("lee"), Decide(case_id, Action.APPROVE, "fine"))
    await amend(services, case_id, amount=30_000.0)

    details = await case_details(services, case_id)
    for viewer in ("lee", "dana", "rita"):
        view = build_card_view(services.policy, details, viewer)
        assert view.amended is not None
        assert view.amended.startswith(
            "amount 1,200.00 -> 30,000.00 EUR, amended by erp at 2026-03-02 09:00 UTC. "
            "Approvals given before no longer stand: "
        )
        assert [line.tier for line in view.route] == ["category-lead", "finance-director"]
        assert "erp amended the case: amount 1,200.00 -> 30,000.00 EUR; approvals given " in (
            "\n".join(h.text for h in view.history)
        )
    assert [b.label for b in build_card_view(services.policy, details, "lee").buttons][:2] == [
        "Approve",
        "Reject",
    ]
    assert build_card_view(services.policy, details, "rita").buttons == ()
