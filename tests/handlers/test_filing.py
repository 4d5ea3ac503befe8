from __future__ import annotations

import pytest

from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed
from handlers.filing import file_exception
from handlers.queries import case_details
from storage import audit, outbox
from storage.outbox import MessageKind
from storage.records import CaseStatus, StepStatus
from tests.handlers.conftest import counts, file, request


async def test_filing_stores_case_steps_audit_and_messages_together(services: Services) -> None:
    result = await file(services, amount=30000.0)

    assert result.created
    assert result.case.ref == "EXC-000001"
    assert result.case.status is CaseStatus.PENDING
    assert result.case.policy_version == services.policy.version
    details = await case_details(services, result.case.id)
    assert [(s.tier, s.status) for s in details.steps] == [
        ("category-lead", StepStatus.OPEN),
        ("finance-director", StepStatus.WAITING),
    ]
    first = details.steps[0]
    assert first.approvers == ("lee", "dana")
    assert first.due_at == services.clock.now() + services.policy.tier("category-lead").sla
    assert all(s.policy_version == services.policy.version for s in details.steps)
    assert [r["id"] for r in result.case.rules] == ["high-value"]
    assert result.case.flags == ["high-value"]
    assert result.case.rationale_required
    assert [e.action for e in details.history] == ["case.filed", "policy.evaluated", "step.opened"]
    async with services.db.reading() as conn:
        pending = await outbox.due(conn, services.clock.now())
    assert [(m.kind, m.recipient) for m in pending] == [
        (MessageKind.POST_CARD, "lee"),
        (MessageKind.POST_CARD, "dana"),
    ]


async def test_policy_can_approve_without_any_approver(services: Services) -> None:
    result = await file(services, code="PRICE_MISMATCH", details={"variance_pct": 1.5})

    assert result.case.status is CaseStatus.APPROVED
    assert result.case.closed_at == services.clock.now()
    details = await case_details(services, result.case.id)
    assert details.steps == []
    decided = details.history[-1]
    assert (decided.actor, decided.action) == ("system:policy", "case.approved")
    assert decided.rationale == "AP tolerance, 2 percent"


async def test_policy_rejection_beats_every_route(services: Services) -> None:
    result = await file(services, amount=90000.0, supplier={"risk_score": 97})

    assert result.case.status is CaseStatus.REJECTED
    assert (await case_details(services, result.case.id)).steps == []


async def test_api_filing_tells_the_requester(services: Services) -> None:
    actor = Actor.system("intake:erp", "api")
    result = await file_exception(services, actor, FileException(request()))

    async with services.db.reading() as conn:
        pending = await outbox.due(conn, services.clock.now())
    notes = [m for m in pending if m.kind is MessageKind.NOTIFY]
    assert [n.recipient for n in notes] == ["rita"]
    assert notes[0].text is not None
    assert result.case.ref in notes[0].text


async def test_same_idempotency_key_returns_the_first_case(services: Services) -> None:
    first = await file(services, key="evt-1")
    again = await file(services, key="evt-1")

    assert not again.created
    assert again.case.id == first.case.id
    assert (await counts(services.db))["cases"] == 1


async def test_idempotency_key_reused_for_another_request_is_refused(services: Services) -> None:
    await file(services, key="evt-1")
    before = await counts(services.db)

    with pytest.raises(InvalidRequest) as refused:
        await file(services, key="evt-1", amount=5.0)

    assert refused.value.problems[0][0] == "Idempotency-Key"
    assert await counts(services.db) == before


async def test_same_source_and_external_id_is_one_case(services: Services) -> None:
    first = await file(services, source="erp", external_id="evt-9")
    again = await file(services, source="erp", external_id="evt-9")
    other = await file(services, source="supplier-feed", external_id="evt-9")

    assert again.case.id == first.case.id
    assert not again.created
    assert other.created
    assert other.case.id != first.case.id


async def test_a_different_repost_without_a_newer_revision_is_a_conflict(
    services: Services,
) -> None:
    await file(services, source="erp", external_id="evt-9", revision=3)
    before = await counts(services.db)
    for revision in (None, 3, 2):
        with pytest.raises(Conflict) as refused:
            await file(
                services, source="erp", external_id="evt-9", title="a retry", revision=revision
            )
        assert refused.value.message == (
            "EXC-000001 already holds erp evt-9 with different content. To amend it, post it "
            "again with a revision above 3, or send the changes with "
            "PATCH /api/v1/exceptions/EXC-000001."
        )
    assert await counts(services.db) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"code": "NO_SUCH_CODE"}, "code"), ({"requester": "nobody@else.example"}, "requester")],
)
async def test_unknown_code_or_requester_stores_nothing(
    services: Services, fields: dict[str, str], field: str
) -> None:
    actor = Actor.system("intake:erp", "api")
    with pytest.raises(InvalidRequest) as refused:
        await file_exception(services, actor, FileException(request(**fields)))

    assert [p[0] for p in refused.value.problems] == [field]
    assert await counts(services.db) == {"cases": 0, "decisions": 0, "audit": 0, "outbox": 0}


async def test_a_person_files_for_themselves_only(services: Services) -> None:
    with pytest.raises(NotAllowed):
        await file_exception(
            services, Actor("lee", "console"), FileException(request(requester="rita"))
        )
    assert (await counts(services.db))["cases"] == 0


async def test_audit_chain_verifies_after_filing(services: Services) -> None:
    await file(services)
    await file(services, amount=30000.0)
    async with services.db.reading() as conn:
        result = await audit.verify(conn)
    assert result.ok
    assert result.count == 6
