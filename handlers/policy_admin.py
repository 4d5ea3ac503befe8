"""Governing the policy from chat: drafts, a diff, proposals, four-eyes approval, history,
rollback. `run_policy_command` is the one entry point.

Roles (from the active policy): admins edit, propose, approve and reject; auditors may look
(show, diff, history); anyone else is refused, and the refusal is audited. Each admin edits a
draft of their own; every edit is validated by the loader, so a bad one changes nothing and
says why. A proposal goes to the other admins; one of them approves it (never the proposer,
never someone whose roles or place as an approver it changes), and it becomes the active
version, here at once and on every replica within seconds (`handlers.policy_versions`).
Four eyes needs two admins: a change that would leave fewer is refused. Proposals and
decisions are in `handlers.policy_proposals`, backtests and history in `handlers.policy_review`.
"""

from __future__ import annotations

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
from handlers.errors import InvalidRequest, NotAllowed, NotFound
from handlers.policy_common import PolicyReply, active_stored, record, validated, write_draft
from handlers.policy_proposals import decide, propose, rollback
from handlers.policy_review import chat_backtest, history
from policy.lifecycle import AuditKind
from policy.model import Policy
from policy.names import name_of
from policy.policy_edits import EditError, admins_of, apply_edit, diff, dump, load_data
from policy.roles import Need, role_problem
from storage import policy_versions as versions
from storage.policy_versions import VersionState

__all__ = ["PolicyReply", "run_policy_command"]

_LOOKING = (PolicyShow, PolicyDiff, PolicyHistory)  # auditors may do these too


def _role_problem(policy: Policy, actor: Actor, command: PolicyCommand) -> str | None:
    need = Need.LOOK if isinstance(command, _LOOKING) else Need.CHANGE
    return role_problem(policy, actor.id, need)


async def run_policy_command(svc: Services, actor: Actor, command: PolicyCommand) -> PolicyReply:
    if (problem := _role_problem(svc.policy, actor, command)) is not None:
        await record(svc, actor, AuditKind.POLICY_REFUSED, rationale=problem)
        raise NotAllowed(problem)
    match command:
        case PolicyShow():
            return PolicyReply(await _show(svc, command))
        case PolicyEdit():
            return await _edit(svc, actor, command)
        case PolicyDiff():
            return await _diff(svc, actor)
        case PolicyPropose():
            return await propose(svc, actor, command.reason)
        case PolicyDecide():
            return await decide(svc, actor, command)
        case PolicyDiscard():
            return await _discard(svc, actor)
        case PolicyHistory():
            return await history(svc)
        case PolicyRollback():
            return await rollback(svc, actor, command)
        case PolicyBacktest():
            return await chat_backtest(svc, actor, command.days)


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
    return (await active_stored(conn, policy)).text


async def _edit(svc: Services, actor: Actor, command: PolicyEdit) -> PolicyReply:
    policy = svc.policy

    async def unit(conn: AsyncConnection) -> str:
        # Row-locked: two edits of one draft at once apply one after the other.
        draft = await versions.draft_of(conn, actor.id, for_update=True)
        base = draft.text if draft is not None else await _active_text(conn, policy)
        data = load_data(base)
        try:
            done = apply_edit(data, list(command.words), _resolver(policy))
        except EditError as error:
            raise InvalidRequest([("edit", str(error))]) from None
        text = dump(data)
        edited = validated(text, "your draft")
        await versions.save_draft(conn, actor.id, edited.version, text, svc.clock.now())
        return done

    done = await write_draft(svc, unit)
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


async def _discard(svc: Services, actor: Actor) -> PolicyReply:
    async def unit(conn: AsyncConnection) -> PolicyReply:
        draft = await versions.draft_of(conn, actor.id)
        if draft is None:
            return PolicyReply("You have no draft.")
        # Compare-and-set on its state: a draft proposed meanwhile stays proposed.
        await versions.set_state(
            conn, draft, VersionState.REJECTED, expected=VersionState.DRAFT, reason="discarded"
        )
        return PolicyReply(f"Discarded your draft {draft.ref}.")

    return await svc.db.write(unit)
