"""Four eyes: a draft proposed to the other admins (as a card with its diff and a backtest
summary), approved by one of them or rejected, and an earlier version proposed again.

Nobody approves their own proposal, a change of their own roles or of their own place as an
approver; a change that would leave fewer than two admins is refused. Each decision updates
every card of the proposal in the same transaction (through the outbox), and so does an
activation superseding a version that was proposed from chat.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.commands import PolicyDecide, PolicyRollback
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from handlers.policy_common import (
    PolicyReply,
    active_stored,
    card_update,
    digest,
    record,
    superseded_update,
    validated,
    write_draft,
)
from handlers.policy_review import PROPOSAL_DAYS, draft_report, summary_lines
from policy.audit_data import AuditData
from policy.effects import MessageKind, OutgoingMessage, Proposal
from policy.lifecycle import AuditKind
from policy.model import Policy
from policy.names import name_of
from policy.policy_edits import admin_floor_problem, admins_of, diff, four_eyes_problem
from storage import policy_versions as versions
from storage.policy_versions import StoredPolicy, VersionState

DIFF_KEPT = 20_000  # characters of the diff kept with a proposal's cards (they show less)


async def propose(svc: Services, actor: Actor, reason: str) -> PolicyReply:
    if not reason.strip():
        raise InvalidRequest([("reason", "say why the policy should change")])
    async with svc.db.reading() as conn:
        draft = await versions.draft_of(conn, actor.id)
        if draft is None:
            raise Conflict("You have no draft to propose: /policy set ... starts one.")
        if not diff((await active_stored(conn, svc.policy)).text, draft.text):
            raise Conflict("Your draft is the same as the active policy: nothing to propose.")
    after = validated(draft.text, "your draft")
    if (floor := admin_floor_problem(after)) is not None:
        raise NotAllowed(floor)
    others = sorted(admins_of(svc.policy) - {actor.id})
    if not others:
        raise Conflict("There is no other admin to approve a proposal yet.")
    # Replayed outside the transaction (it may take seconds); the draft must not change meanwhile.
    summary = summary_lines(await draft_report(svc, after, PROPOSAL_DAYS), PROPOSAL_DAYS)

    async def unit(conn: AsyncConnection) -> None:
        changes = diff((await active_stored(conn, svc.policy)).text, draft.text)
        current = await versions.draft_of(conn, actor.id)
        same = current is not None and (current.id, current.version) == (draft.id, draft.version)
        # Compare-and-set on the draft's state: of two proposals of one draft, one goes.
        if not same or not await versions.set_state(
            conn, draft, VersionState.PROPOSED, expected=VersionState.DRAFT, reason=reason
        ):
            raise Conflict("Your draft changed while you were proposing it; try again.")
        proposal = Proposal(reason, changes[:DIFF_KEPT], summary)
        messages = [
            OutgoingMessage(
                MessageKind.POLICY_CARD, recipient=a, policy_version_id=draft.id, proposal=proposal
            )
            for a in others
        ]
        data = AuditData(policy_ref=draft.ref, version=draft.version, diff_hash=digest(changes))
        await record(
            svc,
            actor,
            AuditKind.POLICY_PROPOSED,
            rationale=reason,
            data=data,
            messages=messages,
            conn=conn,
        )

    await svc.db.write(unit)
    names = ", ".join(name_of(svc.policy, a) for a in others)
    return PolicyReply(f"Proposed {draft.ref}; {names} may approve it.")


async def _proposal(conn: AsyncConnection, version_id: int) -> StoredPolicy:
    stored = await versions.get(conn, version_id)
    if stored is None:
        raise NotFound(f"There is no policy version POL-{version_id:06d}.")
    if stored.state is not VersionState.PROPOSED:
        raise Conflict(f"{stored.ref} is {stored.state.value}, not a proposal.")
    return stored


def _decided(svc: Services, actor: Actor, verb: str, text: str | None) -> str:
    """A card's decision line: "Rejected by Maria Finance at 2026-03-02 09:14 UTC: why"."""
    at = svc.clock.now().strftime("%Y-%m-%d %H:%M UTC")
    line = f"{verb} by {name_of(svc.policy, actor.id)} at {at}"
    return f"{line}: {text.strip()}" if text and text.strip() else f"{line}."


async def decide(svc: Services, actor: Actor, command: PolicyDecide) -> PolicyReply:
    """Approve or reject a proposal. Two admins deciding one proposal at once: each decision
    is compare-and-set on its state (`storage.policy_versions`), so one lands and the other
    is told it changed; two proposals approved at once: superseding the active version is
    compare-and-set too, and a unique index allows one active version."""
    before = svc.policy

    async def unit(conn: AsyncConnection) -> PolicyReply | tuple[str | None, Policy, StoredPolicy]:
        stored = await _proposal(conn, command.version_id)
        active = await active_stored(conn, before)
        if not command.approve:
            return await _reject(svc, actor, conn, stored, command.text)
        after = validated(stored.text, stored.ref)
        refusal = four_eyes_problem(actor.id, stored.created_by, before, after)
        refusal = refusal or admin_floor_problem(after)
        if refusal is not None:
            data = AuditData(policy_ref=stored.ref, reason=refusal)
            await record(
                svc, actor, AuditKind.POLICY_REFUSED, rationale=refusal, data=data, conn=conn
            )
        else:
            await _approve(svc, actor, conn, (active, stored, after), command.text)
        return refusal, after, stored

    outcome = await svc.db.write(unit)
    if isinstance(outcome, PolicyReply):
        return outcome
    refusal, after, stored = outcome
    if refusal is not None:
        raise NotAllowed(refusal)  # after the transaction, so the refusal stays in the log
    svc.policy = after  # in force here now; the other replicas follow within seconds
    return PolicyReply(f"Approved {stored.ref}: it is the active policy now.")


async def _reject(
    svc: Services,
    actor: Actor,
    conn: AsyncConnection,
    stored: StoredPolicy,
    reason: str | None,
) -> PolicyReply:
    if not (reason or "").strip():
        raise InvalidRequest([("reason", "say why the proposal is rejected")])
    if not await versions.set_state(
        conn, stored, VersionState.REJECTED, expected=VersionState.PROPOSED, reason=reason
    ):
        raise Conflict(f"{stored.ref} changed while you were deciding; try again.")
    note = f"{name_of(svc.policy, actor.id)} rejected {stored.ref}: {reason}"
    await record(
        svc,
        actor,
        AuditKind.POLICY_REJECTED,
        rationale=reason,
        data=AuditData(policy_ref=stored.ref, version=stored.version),
        messages=[
            OutgoingMessage(MessageKind.NOTIFY, None, stored.created_by, note),
            card_update(stored, _decided(svc, actor, "Rejected", reason)),
        ],
        conn=conn,
    )
    return PolicyReply(f"Rejected {stored.ref}.")


async def _approve(
    svc: Services,
    actor: Actor,
    conn: AsyncConnection,
    change: tuple[StoredPolicy, StoredPolicy, Policy],
    note: str | None,
) -> None:
    """Activate the proposal (`change`: the active version, the proposal, its policy)."""
    active, stored, after = change
    if not await versions.activate(conn, stored, actor.id, svc.clock.now()):
        # Decided by someone else, or another version was activated meanwhile.
        raise Conflict(
            f"{stored.ref} or the active policy changed while you were deciding; try again."
        )
    before = svc.policy
    data = AuditData(
        policy_ref=stored.ref,
        version=after.version,
        superseded=before.version,
        diff_hash=digest(diff(active.text, stored.text)),
    )
    text = (
        f"{name_of(before, actor.id)} approved {stored.ref}; it is the active policy "
        f"now (version {after.version[:12]})."
    )
    people = sorted(admins_of(before) | {stored.created_by})
    messages = [OutgoingMessage(MessageKind.NOTIFY, None, p, text) for p in people]
    messages.append(card_update(stored, _decided(svc, actor, "Approved", note)))
    messages += superseded_update(before, active, stored.ref)
    await record(
        svc,
        actor,
        AuditKind.POLICY_APPROVED,
        rationale=note,
        data=data,
        messages=messages,
        conn=conn,
    )
    await record(svc, actor, AuditKind.POLICY_ACTIVATED, data=data, conn=conn)


async def rollback(svc: Services, actor: Actor, command: PolicyRollback) -> PolicyReply:
    if not command.reason.strip():
        raise InvalidRequest([("reason", "say why the policy should go back")])

    async def unit(conn: AsyncConnection) -> StoredPolicy:
        wanted = command.version.upper().removeprefix("POL-").lstrip("0")
        found = [
            v
            for v in await versions.history(conn, limit=500)
            if v.state is not VersionState.DRAFT
            and (str(v.id) == wanted or v.version.startswith(command.version.lower()))
        ]
        if len(command.version) < 6 and not command.version.upper().startswith("POL-"):
            found = []
        if not found:
            raise NotFound(f"There is no earlier policy version {command.version!r}.")
        old = found[0]
        version = validated(old.text, old.ref).version
        await versions.save_draft(conn, actor.id, version, old.text, svc.clock.now())
        return old

    old = await write_draft(svc, unit)
    return await propose(svc, actor, f"roll back to {old.ref}: {command.reason}")
