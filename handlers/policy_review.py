"""Looking at the policy: a draft backtested on past cases (in chat, and as the summary a
proposal's card carries), the history of versions, and what a proposal's card shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.context import Actor, Services
from handlers.policy_common import PolicyReply, validated
from policy.backtest import BacktestReport, PastCase, backtest
from policy.effects import Proposal
from policy.lifecycle import case_ref
from policy.loader import PolicyError, parse_policy
from policy.model import Policy
from policy.names import name_of
from storage import cases, policy_cards
from storage import policy_versions as versions
from storage.policy_versions import StoredPolicy, VersionState

CHAT_LINES = 30  # a chat reply shows this much of the report; the CLI shows it all
PROPOSAL_DAYS = 30  # the past a proposal is backtested on
LOAD_TIERS = 8  # tiers named in a proposal's summary; the rest are counted


async def draft_report(svc: Services, draft: Policy, days: int) -> BacktestReport:
    """`draft` replayed on the last `days` days of cases, each against the stored version
    that decided it (the one in force, for a case older than the stored versions)."""
    since = svc.clock.now() - timedelta(days=days)
    async with svc.db.reading() as conn:
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
    return backtest(past, policy_for, draft)


def summary_lines(report: BacktestReport, days: int) -> tuple[str, ...]:
    """Two lines for a proposal's card: how many cases were replayed and changed, and the
    load of each tier before -> after (changed tiers first)."""
    head = (
        f"Backtest on the last {days} days: {report.cases} cases replayed, "
        f"{report.changed} would change."
    )
    loads = sorted(report.load.items(), key=lambda item: item[1].delta == 0)
    shown = [f"{tier} {load.before}→{load.after}" for tier, load in loads[:LOAD_TIERS]]
    if len(loads) > LOAD_TIERS:
        shown.append(f"{len(loads) - LOAD_TIERS} more tiers")
    return (head, f"Load per tier: {', '.join(shown)}.") if shown else (head,)


async def chat_backtest(svc: Services, actor: Actor, days: int) -> PolicyReply:
    async with svc.db.reading() as conn:
        draft = await versions.draft_of(conn, actor.id)
    if draft is None:
        return PolicyReply("You have no draft to backtest: /policy set ... starts one.")
    report = await draft_report(svc, validated(draft.text, "your draft"), days)
    lines = report.to_text().splitlines()
    shown = "\n".join(lines[:CHAT_LINES])
    if len(lines) > CHAT_LINES:
        shown += f"\n... {len(lines) - CHAT_LINES} more lines: `approvals policy backtest` has all."
    return PolicyReply(f"Your draft on the last {days} days of cases:\n{shown}")


async def history(svc: Services) -> PolicyReply:
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


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    """What a proposal's card is rendered from: the version as it stands, what was proposed
    (None for a version that was never proposed with a card) and the decision line."""

    stored: StoredPolicy
    proposal: Proposal | None
    decision: str | None


async def proposal_record(svc: Services, version_id: int) -> ProposalRecord | None:
    async with svc.db.reading() as conn:
        stored = await versions.get(conn, version_id)
        if stored is None:
            return None
        proposal = await policy_cards.proposal_of(conn, version_id)
        decision = await policy_cards.decision_of(conn, version_id)
    return ProposalRecord(stored, proposal, decision)
