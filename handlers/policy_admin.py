"""Governing the policy from chat: drafts, a diff, proposals, four-eyes approval, history,
rollback.

Roles (from the active policy): admins edit, propose, approve and reject; auditors may look
(show, diff, history); anyone else is refused, and the refusal is audited. Each admin edits a
draft of their own; every edit is validated by the loader, so a bad one changes nothing and
says why. A proposal goes to the other admins; one of them approves it (never the proposer,
never someone whose roles or place as an approver it changes), and it becomes the active
version, here at once and on every replica within seconds (`handlers.policy_versions`).
Four eyes needs two admins: a change that would leave fewer is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.commands import (
    PolicyBacktest,
    PolicyCommand,
    PolicyDecide,
    PolicyDiff,
    PolicyDiscard,
    PolicyEdit,
    PolicyHistory,
    PolicyPropose,
    PolicyRollback,
    PolicyShow,
)
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from policy.audit_data import AuditData
from policy.backtest import PastCase, backtest
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind, case_ref
from policy.loader import PolicyError, parse_policy
from policy.model import Policy
from policy.names import name_of
from policy.policy_edits import (
    EditError,
    admin_floor_problem,
    admins_of,
    apply_edit,
    diff,
    dump,
    four_eyes_problem,
    load_data,
)
from policy.roles import Need, role_problem
from storage import audit, cases, outbox
from storage import policy_versions as versions
from storage.policy_versions import StoredPolicy, VersionState

_LOOKING = (PolicyShow, PolicyDiff, PolicyHistory)  # auditors may do these too


@dataclass(frozen=True, slots=True)
class PolicyReply:
    text: str


def _role_problem(policy: Policy, actor: Actor, command: PolicyCommand) -> str | None:
    need = Need.LOOK if isinstance(command, _LOOKING) else Need.CHANGE
    return role_problem(policy, actor.id, need)


async def run_policy_command(svc: Services, actor: Actor, command: PolicyCommand) -> PolicyReply:
    if (problem := _role_problem(svc.policy, actor, command)) is not None:
        await _record(svc, actor, AuditKind.POLICY_REFUSED, rationale=problem)
        raise NotAllowed(problem)
    match command:
        case PolicyShow():
            return PolicyReply(await _show(svc, command))
        case PolicyEdit():
            return await _edit(svc, actor, command)
        case PolicyDiff():
            return await _diff(svc, actor)
        case PolicyPropose():
            return await _propose(svc, actor, command.reason)
        case PolicyDecide():
            return await _decide(svc, actor, command)
        case PolicyDiscard():
            return await _discard(svc, actor)
        case PolicyHistory():
            return await _history(svc)
        case PolicyRollback():
            return await _rollback(svc, actor, command)
        case PolicyBacktest():
            return await _backtest(svc, actor, command.days)


async def _record(
    svc: Services,
    actor: Actor,
    kind: AuditKind,
    *,
    rationale: str | None = None,
    data: AuditData | None = None,
    messages: list[OutgoingMessage] | None = None,
    conn: AsyncConnection | None = None,
) -> None:
    event = AuditEvent(
        actor=actor.id,
        action=kind,
        rationale=rationale,
        policy_version=svc.policy.version,
        platform=actor.platform,
        data=(data or AuditData()).to_json() | actor.trace(),
    )
    now = svc.clock.now()
    if conn is not None:
        await audit.append(conn, [event], now)
        await outbox.enqueue(conn, messages or [], now)
        return
    async with svc.db.transaction() as own:
        await audit.append(own, [event], now)
        await outbox.enqueue(own, messages or [], now)


async def _show(svc: Services, command: PolicyShow) -> str:
    policy = svc.policy
    admins = sorted(admins_of(policy))
    head = (
        f"Active policy: {policy.name}, version {policy.version[:12]} ({len(policy.people)} "
        f"people, {len(policy.tiers)} tiers, {len(policy.rules)} rules). Admins: "
        f"{', '.join(name_of(policy, a) for a in admins) or 'none'}."
    )
    if len(admins) < 2:
        head += " With fewer than two admins, only the policy file can change it."
    if command.kind is None or command.entry is None:
        return head
    sections = {"tier": "tiers", "rule": "rules", "person": "people"}
    async with svc.db.reading() as conn:
        data = load_data(await _active_text(conn, policy))
    for entry in data.get(sections[command.kind]) or []:
        if isinstance(entry, dict) and str(entry.get("id")) == command.entry:
            return f"{head}\n{yaml.safe_dump(entry, sort_keys=False).rstrip()}"
    raise NotFound(f"There is no {command.kind} {command.entry!r} in the active policy.")


async def _active_text(conn: AsyncConnection, policy: Policy) -> str:
    stored = await versions.active(conn)
    if stored is None or stored.version != policy.version:
        raise Conflict("The active policy is changing right now; please try again.")
    return stored.text


def _validated(text: str, what: str) -> Policy:
    try:
        return parse_policy(text, what)
    except PolicyError as error:
        problems = "; ".join(
            f"{p.where}: {p.message}" if p.where else p.message for p in error.problems[:5]
        )
        raise InvalidRequest([("policy", problems)]) from None


async def _edit(svc: Services, actor: Actor, command: PolicyEdit) -> PolicyReply:
    policy = svc.policy
    async with svc.db.transaction() as conn:
        draft = await versions.draft_of(conn, actor.id)
        base = draft.text if draft is not None else await _active_text(conn, policy)
        data = load_data(base)
        try:
            done = apply_edit(data, list(command.words), _resolver(policy))
        except EditError as error:
            raise InvalidRequest([("edit", str(error))]) from None
        text = dump(data)
        edited = _validated(text, "your draft")
        await versions.save_draft(conn, actor.id, edited.version, text, svc.clock.now())
    return PolicyReply(f"Your draft: {done}. /policy diff shows it, /policy propose sends it.")


def _resolver(policy: Policy) -> Any:
    def resolve(word: str) -> str | None:
        person = policy.find_person(word.removeprefix("@"))
        return person.id if person is not None else None

    return resolve


async def _diff(svc: Services, actor: Actor) -> PolicyReply:
    async with svc.db.reading() as conn:
        draft = await versions.draft_of(conn, actor.id)
        if draft is None:
            return PolicyReply("You have no draft: /policy set ... starts one.")
        active = await _active_text(conn, svc.policy)
    changes = diff(active, draft.text)
    return PolicyReply(changes or "Your draft is the same as the active policy.")


async def _propose(svc: Services, actor: Actor, reason: str) -> PolicyReply:
    if not reason.strip():
        raise InvalidRequest([("reason", "say why the policy should change")])
    async with svc.db.transaction() as conn:
        draft = await versions.draft_of(conn, actor.id)
        if draft is None:
            raise Conflict("You have no draft to propose: /policy set ... starts one.")
        active = await _active_text(conn, svc.policy)
        changes = diff(active, draft.text)
        if not changes:
            raise Conflict("Your draft is the same as the active policy: nothing to propose.")
        after = _validated(draft.text, "your draft")
        if (floor := admin_floor_problem(after)) is not None:
            raise NotAllowed(floor)
        others = sorted(admins_of(svc.policy) - {actor.id})
        if not others:
            raise Conflict("There is no other admin to approve a proposal yet.")
        if not await versions.set_state(
            conn, draft, VersionState.PROPOSED, expected=VersionState.DRAFT, reason=reason
        ):
            raise Conflict("Your draft changed while you were proposing it; try again.")
        text = (
            f"{name_of(svc.policy, actor.id)} proposes {draft.ref}: {reason}\n{changes}\n"
            f"Approve with /policy approve {draft.ref} [note], "
            f"or /policy reject {draft.ref} reason."
        )
        messages = [OutgoingMessage(MessageKind.NOTIFY, None, a, text) for a in others]
        data = AuditData(policy_ref=draft.ref, version=draft.version, diff_hash=_hash(changes))
        await _record(
            svc,
            actor,
            AuditKind.POLICY_PROPOSED,
            rationale=reason,
            data=data,
            messages=messages,
            conn=conn,
        )
    names = ", ".join(name_of(svc.policy, a) for a in others)
    return PolicyReply(f"Proposed {draft.ref}; {names} may approve it.")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def _proposal(conn: AsyncConnection, version_id: int) -> StoredPolicy:
    stored = await versions.get(conn, version_id)
    if stored is None:
        raise NotFound(f"There is no policy version POL-{version_id:06d}.")
    if stored.state is not VersionState.PROPOSED:
        raise Conflict(f"{stored.ref} is {stored.state.value}, not a proposal.")
    return stored


async def _decide(svc: Services, actor: Actor, command: PolicyDecide) -> PolicyReply:
    before = svc.policy
    async with svc.db.transaction() as conn:
        stored = await _proposal(conn, command.version_id)
        active = await _active_text(conn, before)
        changes = diff(active, stored.text)
        if not command.approve:
            if not (command.text or "").strip():
                raise InvalidRequest([("reason", "say why the proposal is rejected")])
            if not await versions.set_state(
                conn,
                stored,
                VersionState.REJECTED,
                expected=VersionState.PROPOSED,
                reason=command.text,
            ):
                raise Conflict(f"{stored.ref} changed while you were deciding; try again.")
            note = f"{name_of(before, actor.id)} rejected {stored.ref}: {command.text}"
            await _record(
                svc,
                actor,
                AuditKind.POLICY_REJECTED,
                rationale=command.text,
                data=AuditData(policy_ref=stored.ref, version=stored.version),
                messages=[OutgoingMessage(MessageKind.NOTIFY, None, stored.created_by, note)],
                conn=conn,
            )
            return PolicyReply(f"Rejected {stored.ref}.")
        after = _validated(stored.text, stored.ref)
        refusal = four_eyes_problem(actor.id, stored.created_by, before, after)
        refusal = refusal or admin_floor_problem(after)
        if refusal is not None:
            data = AuditData(policy_ref=stored.ref, reason=refusal)
            await _record(
                svc, actor, AuditKind.POLICY_REFUSED, rationale=refusal, data=data, conn=conn
            )
        elif not await versions.activate(conn, stored, actor.id, svc.clock.now()):
            raise Conflict(f"{stored.ref} changed while you were deciding; try again.")
        else:
            data = AuditData(
                policy_ref=stored.ref,
                version=after.version,
                superseded=before.version,
                diff_hash=_hash(changes),
            )
            note = (
                f"{name_of(before, actor.id)} approved {stored.ref}; it is the active policy "
                f"now (version {after.version[:12]})."
            )
            people = sorted(admins_of(before) | {stored.created_by})
            await _record(
                svc,
                actor,
                AuditKind.POLICY_APPROVED,
                rationale=command.text,
                data=data,
                messages=[OutgoingMessage(MessageKind.NOTIFY, None, p, note) for p in people],
                conn=conn,
            )
            await _record(svc, actor, AuditKind.POLICY_ACTIVATED, data=data, conn=conn)
    if refusal is not None:
        raise NotAllowed(refusal)
    svc.policy = after  # in force here now; the other replicas follow within seconds
    return PolicyReply(f"Approved {stored.ref}: it is the active policy now.")


CHAT_LINES = 30  # a chat reply shows this much of the report; the CLI shows it all


async def _backtest(svc: Services, actor: Actor, days: int) -> PolicyReply:
    """The admin's draft replayed on the last `days` days of cases, each against the stored
    version that decided it (the one in force, for a case older than the stored versions)."""
    since = svc.clock.now() - timedelta(days=days)
    async with svc.db.reading() as conn:
        draft = await versions.draft_of(conn, actor.id)
        if draft is None:
            return PolicyReply("You have no draft to backtest: /policy set ... starts one.")
        rows = await cases.filed_since(conn, since)
        texts = await versions.texts_by_version(conn)
    decided_by: dict[str, Policy] = {}
    for version, text in texts.items():
        try:
            decided_by[version] = parse_policy(text, f"version {version[:12]}")
        except PolicyError:
            continue  # a version this code no longer loads: its cases use the current one
    current = svc.policy

    def policy_for(case: PastCase) -> Policy:
        return decided_by.get(case.policy_version or "", current)

    past = [PastCase(case_ref(r.id), r.request, r.created_at, r.policy_version) for r in rows]
    report = backtest(past, policy_for, _validated(draft.text, "your draft"))
    lines = report.to_text().splitlines()
    shown = "\n".join(lines[:CHAT_LINES])
    if len(lines) > CHAT_LINES:
        shown += f"\n... {len(lines) - CHAT_LINES} more lines: `approvals policy backtest` has all."
    return PolicyReply(f"Your draft on the last {days} days of cases:\n{shown}")


async def _discard(svc: Services, actor: Actor) -> PolicyReply:
    async with svc.db.transaction() as conn:
        draft = await versions.draft_of(conn, actor.id)
        if draft is None:
            return PolicyReply("You have no draft.")
        await versions.set_state(
            conn, draft, VersionState.REJECTED, expected=VersionState.DRAFT, reason="discarded"
        )
    return PolicyReply(f"Discarded your draft {draft.ref}.")


async def _history(svc: Services) -> PolicyReply:
    async with svc.db.reading() as conn:
        stored = await versions.history(conn, limit=20)
    lines = [
        f"{v.ref} {v.state.value:<10} {v.version[:12]} {v.created_at:%Y-%m-%d %H:%M} "
        f"by {name_of(svc.policy, v.created_by)} ({v.origin})"
        + (f", approved by {name_of(svc.policy, v.approved_by)}" if v.approved_by else "")
        + (f": {v.reason}" if v.reason else "")
        for v in stored
        if v.state is not VersionState.DRAFT
    ]
    return PolicyReply("\n".join(lines) or "No policy versions are stored yet.")


async def _rollback(svc: Services, actor: Actor, command: PolicyRollback) -> PolicyReply:
    if not command.reason.strip():
        raise InvalidRequest([("reason", "say why the policy should go back")])
    async with svc.db.transaction() as conn:
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
        version = _validated(old.text, old.ref).version
        await versions.save_draft(conn, actor.id, version, old.text, svc.clock.now())
    reply = await _propose(svc, actor, f"roll back to {old.ref}: {command.reason}")
    return PolicyReply(reply.text)
