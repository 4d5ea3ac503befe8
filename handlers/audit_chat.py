"""Auditors in chat: verify the audit log, and export it.

Both need the `auditor` role, or `admin` (policy.roles, Need.LOOK). Anyone else is refused
with the role named, and the refusal is audited as `audit.refused`: a kind of its own rather
than `policy.refused`, since it is about reading the audit log, not governing the policy, and
an auditor reviewing who tried to read the log should find exactly that.

Verifying writes nothing: it changes nothing and discloses only counts and a hash prefix, and
an event written after it would move the very head the reply has just reported. An export
hands the log itself out, so each one is recorded (`audit.exported`: who, which case, since
when, through which event), in the transaction that fixes what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.audit_commands import AuditExport
from handlers.context import Actor, Services
from handlers.errors import NotAllowed, NotFound
from policy.audit_data import AuditData
from policy.effects import AuditEvent
from policy.lifecycle import AuditKind, case_ref
from policy.roles import Need, role_problem
from storage import audit
from storage.audit_checkpoint import current
from storage.audit_report import LogReport, check_log, recorded_checkpoint

SHOWN_PROBLEMS = 5  # case differences listed in a chat reply; the CLI lists them all


@dataclass(frozen=True, slots=True)
class ExportRange:
    """What an export holds: every event, or one case's, optionally from a moment on."""

    case: str | None = None  # EXC-000001
    since: datetime | None = None

    def describe(self) -> str:
        what = f"the audit events of {self.case}" if self.case else "the audit log"
        return f"{what} since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else what


async def require_look(svc: Services, actor: Actor, attempted: str) -> None:
    """Return if `actor` may look at the audit log; else record the refusal and raise."""
    problem = role_problem(svc.policy, actor.id, Need.LOOK)
    if problem is None:
        return
    event = AuditEvent(
        actor=actor.id,
        action=AuditKind.AUDIT_REFUSED,
        rationale=problem,
        policy_version=svc.policy.version,
        platform=actor.platform,
        data=AuditData(attempted=attempted, reason=problem).to_json() | actor.trace(),
    )
    now = svc.clock.now()
    await svc.db.write(lambda conn: audit.append(conn, [event], now))
    raise NotAllowed(problem)


async def verify_audit_log(svc: Services, actor: Actor) -> str:
    """The CLI's verification (storage.audit_report), against the newest checkpoint the
    chain records, told in a few lines."""
    await require_look(svc, actor, "audit verify")
    async with svc.db.reading() as conn:
        report = await check_log(conn, await recorded_checkpoint(conn))
    return verification_text(report)


def verification_text(report: LogReport) -> str:
    chain, contents, head = report.chain, report.contents, report.head
    heading = f"head {head.hash[:12]} (event {head.seq})"
    if not chain.ok:
        where = f"event {chain.broken_seq}" if chain.broken_seq else "the chain head"
        return (
            f"The audit log is BROKEN at {where}: {chain.problem}.\n"
            f"{chain.count} events verified before it; {heading}."
        )
    if contents is None or not contents.ok:
        problems = contents.problems if contents is not None else ()
        lines = [f"  {problem}" for problem in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            more = len(problems) - SHOWN_PROBLEMS
            lines.append(f"  ... and {more} more: `approvals audit verify` lists them all")
        return (
            f"The audit chain is intact ({chain.count} events, {heading}), but cases DIFFER "
            "from their audit record:\n" + "\n".join(lines)
        )
    if report.checkpoint_problem is not None:
        return (
            "The audit log is BROKEN against the latest checkpoint sent to the auditors: "
            f"{report.checkpoint_problem}.\n{chain.count} events; {heading}."
        )
    unbound = f" ({contents.unbound} filed before content binding)" if contents.unbound else ""
    witness = (
        f"It holds the latest checkpoint sent to the auditors (event {report.checkpoint.seq})."
        if report.checkpoint is not None
        else "No checkpoint has been sent to the auditors yet."
    )
    return (
        f"The audit log is intact: {chain.count} events, {heading}.\n"
        f"{contents.checked} cases match their audit record{unbound}.\n{witness}"
    )


async def export_range(svc: Services, actor: Actor, command: AuditExport) -> ExportRange:
    """What `command` asks to export, once the actor may; a case without events is NotFound."""
    await require_look(svc, actor, "audit export")
    since = None
    if command.days is not None:
        since = svc.clock.now() - timedelta(days=command.days)
    elif command.since is not None:
        since = datetime.combine(command.since, time.min, tzinfo=UTC)
    if command.case_id is None:
        return ExportRange(None, since)
    case = case_ref(command.case_id)
    async with svc.db.reading() as conn:
        if not await audit.events_for_case(conn, case):
            raise NotFound(f"{case} has no audit events: is it the right case?")
    return ExportRange(case, since)


async def record_export(svc: Services, actor: Actor, wanted: ExportRange) -> int:
    """Check the role again (a link outlives a change of roles), record the export and
    return the seq of that record: the export holds the events up to and including it."""
    await require_look(svc, actor, "audit export download")
    since = audit.format_time(wanted.since) if wanted.since is not None else None
    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> int:
        head = await current(conn)
        data = AuditData(seq=head.seq, since=since, of_case=wanted.case)
        event = AuditEvent(
            actor=actor.id,
            action=AuditKind.AUDIT_EXPORTED,
            policy_version=svc.policy.version,
            platform=actor.platform,
            data=data.to_json() | actor.trace(),
        )
        await audit.append(conn, [event], now)
        return head.seq + 1

    return await svc.db.write(unit)
