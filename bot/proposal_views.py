"""The view of a policy proposal's card, built from the stored version when it is rendered: its
state now, what was proposed, and the decision line once there is one."""

from __future__ import annotations

from cards import actions
from cards.proposal_view import PROPOSED, ProposalView, diff_excerpt
from cards.view import Button
from handlers.context import Services
from handlers.policy_review import proposal_record
from policy.effects import Proposal
from policy.model import Policy
from policy.names import name_of
from storage.policy_versions import StoredPolicy


def build_proposal_view(
    policy: Policy, stored: StoredPolicy, proposal: Proposal, decision: str | None
) -> ProposalView:
    diff, omitted = diff_excerpt(proposal.diff)
    state = stored.state.value
    value = actions.policy_button_value(stored.id)
    buttons = (
        (
            Button(actions.POLICY_APPROVE, "Approve", value, "primary"),
            Button(actions.POLICY_REJECT, "Reject", value, "danger"),
        )
        if state == PROPOSED
        else ()
    )
    return ProposalView(
        ref=stored.ref,
        proposer=name_of(policy, stored.created_by),
        reason=proposal.reason,
        state=state,
        diff=diff,
        diff_omitted=omitted,
        backtest=proposal.backtest,
        decision=decision,
        buttons=buttons,
    )


async def load_proposal_view(svc: Services, version_id: int) -> ProposalView | None:
    """The card of version `version_id` as it should look now; None if there is no such
    version, or it was never proposed with a card (a draft, a version from the file)."""
    record = await proposal_record(svc, version_id)
    if record is None or record.proposal is None:
        return None
    return build_proposal_view(svc.policy, record.stored, record.proposal, record.decision)
