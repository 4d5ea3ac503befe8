"""From a stored case to the CardView a given person sees: the one place cases become words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cards import actions
from cards.view import Button, CardView, Fact, HistoryLine, RuleLine, StepLine
from handlers.people import name_of, names_of
from handlers.queries import CaseDetails, manager_permission
from policy.model import Policy
from storage.audit import AuditRecord
from storage.records import Action, StepRecord, StepStatus


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def money(amount: float | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    return f"{amount:,.2f} {currency or ''}".strip()


def _supplier(data: dict[str, Any]) -> str | None:
    supplier = data.get("supplier") or {}
    if not supplier:
        return None
    parts = [supplier.get("name") or supplier.get("id") or "unnamed supplier"]
    if supplier.get("name") and supplier.get("id"):
        parts[0] += f" ({supplier['id']})"
    if supplier.get("risk_score") is not None:
        parts.append(f"risk {supplier['risk_score']}/100")
    if supplier.get("on_contract") is not None:
        parts.append("on contract" if supplier["on_contract"] else "OFF CONTRACT")
    return ", ".join(parts)


def _facts(policy: Policy, details: CaseDetails) -> tuple[Fact, ...]:
    case = details.case
    data = case.request
    budget = (data.get("budget") or {}).get("remaining")
    candidates = [
        ("Requester", name_of(policy, case.requester)),
        ("Amount", money(case.amount, case.currency)),
        ("Supplier", _supplier(data)),
        ("Category", data.get("category")),
        ("Cost center", data.get("cost_center")),
        ("Project", data.get("project_code")),
        ("Legal entity", data.get("legal_entity")),
        ("Urgency", data.get("urgency")),
        ("Budget remaining", money(budget, case.currency)),
        ("Details", ", ".join(f"{k}={v}" for k, v in (data.get("details") or {}).items())),
        ("Filed", when(case.created_at)),
    ]
    return tuple(Fact(label, str(value)) for label, value in candidates if value)


def _step_line(policy: Policy, step: StepRecord, details: CaseDetails) -> StepLine:
    votes = [d for d in details.decisions if d.step_id == step.id]
    decided = [
        f"{'approved' if v.action is Action.APPROVE else 'rejected'} by {name_of(policy, v.person)}"
        + (f" for {name_of(policy, v.on_behalf_of)}" if v.on_behalf_of else "")
        + f" at {when(v.at)}"
        for v in votes
        if v.action in (Action.APPROVE, Action.REJECT)
    ]
    if step.status is StepStatus.OPEN:
        approvals = sum(1 for v in votes if v.action is Action.APPROVE)
        summary = f"waiting for {names_of(policy, step.approvers) or 'an approver'}"
        if step.required > 1:
            summary += f" ({approvals} of {step.required} approvals)"
    elif step.status is StepStatus.WAITING:
        summary = f"next: {names_of(policy, step.approvers)}"
    elif step.status is StepStatus.CANCELLED:
        summary = "cancelled"
    else:
        summary = "; ".join(decided) or step.status.value
    return StepLine(step.tier, step.status.value, summary)


_HISTORY_VERBS = {
    "case.filed": "filed the exception",
    "decision.approved": "approved",
    "decision.rejected": "rejected",
    "case.info_requested": "asked for more information",
    "case.commented": "commented",
    "case.withdrawn": "withdrew the case",
    "case.revoked": "revoked the decision",
}


# Reminders, escalations, reroutes, timeouts and hand-overs: the card's escalation history.
ESCALATION_ACTIONS = frozenset(
    {"step.reminded", "step.escalated", "step.rerouted", "step.timed_out", "step.reassigned"}
)


def _people(policy: Policy, value: object) -> str:
    people = [str(p) for p in value] if isinstance(value, list) else []
    return names_of(policy, people) or "nobody"


def _escalation_text(policy: Policy, event: AuditRecord) -> str:
    data = event.data
    tier = data.get("tier")
    because = f": {event.rationale}" if event.rationale else ""
    if event.action == "step.reminded":
        note = f" ({data['note']})" if data.get("note") else ""
        number = data.get("reminder")
        return f"reminder {number} to {_people(policy, data.get('approvers'))}{note}"
    if event.action == "step.escalated":
        return (
            f"{tier} overdue: escalated to {_people(policy, data.get('managers'))}, "
            f"who may decide for {_people(policy, data.get('approvers'))}"
        )
    if event.action == "step.rerouted":
        return f"{tier} rerouted to {_people(policy, data.get('to'))}{because}"
    if event.action == "step.reassigned":
        return (
            f"{name_of(policy, event.actor)} handed {tier} from "
            f"{_people(policy, data.get('from'))} to {_people(policy, data.get('to'))}{because}"
        )
    return f"{tier} timed out{because}"


_SYSTEM_ENDINGS = ("case.approved", "case.rejected", "case.expired")


def _history_text(policy: Policy, event: AuditRecord) -> str | None:
    data = event.data
    if event.action.endswith(".refused") or event.action == "policy.evaluated":
        return None  # refusals stay in the audit log; cards show what happened to the case
    if event.action in ESCALATION_ACTIONS:
        return _escalation_text(policy, event)
    if event.action == "step.opened":
        return f"{data.get('tier')} opened for {names_of(policy, data.get('approvers', []))}"
    if event.action == "step.approved":
        return f"{data.get('tier')} complete"
    if event.action in _SYSTEM_ENDINGS and event.actor.startswith("system:"):
        by_policy = " by policy" if event.actor == "system:policy" else ""
        reason = f": {event.rationale}" if event.rationale else ""
        return f"case {event.action.removeprefix('case.')}{by_policy}{reason}"
    verb = _HISTORY_VERBS.get(event.action, event.action)
    text = f"{name_of(policy, event.actor)} {verb}"
    if data.get("tier"):
        text += f" ({data['tier']})"
    if data.get("on_behalf_of"):
        text += f" on behalf of {name_of(policy, data['on_behalf_of'])}"
    if event.rationale:
        text += f": {event.rationale}"
    return text


def _may_press(policy: Policy, viewer: str, step: StepRecord, details: CaseDetails) -> bool:
    if viewer in step.approvers:
        return True
    if any(
        (person := policy.person(approver)) is not None and person.delegate == viewer
        for approver in step.approvers
    ):
        return True
    return manager_permission(policy, details, viewer) is not None


def _notice(
    policy: Policy, details: CaseDetails, viewer: str | None, pressable: bool
) -> str | None:
    step = details.open_step
    if viewer is None or step is None:
        return None
    manager = manager_permission(policy, details, viewer) if pressable else None
    if manager is not None:
        return (
            f"Escalated to you as the manager of {name_of(policy, manager.on_behalf_of or '')}: "
            "you may decide on their behalf, with a rationale."
        )
    if pressable and details.case.rationale_required:
        return "Policy requires a rationale to approve."
    handed_on = any(
        event.step_id == step.id
        and event.action in ("step.rerouted", "step.reassigned")
        and viewer in event.data.get("from", [])
        for event in details.history
    )
    if handed_on and viewer not in step.approvers:
        return f"This step is now with {names_of(policy, step.approvers)}; you need not decide it."
    return None


def _buttons(policy: Policy, details: CaseDetails, viewer: str | None) -> tuple[Button, ...]:
    step = details.open_step
    if viewer is None or step is None or not _may_press(policy, viewer, step, details):
        return ()
    value = actions.button_value(details.case.id, step.id)
    return (
        Button(actions.APPROVE, "Approve", value, "primary"),
        Button(actions.REJECT, "Reject", value, "danger"),
        Button(actions.REQUEST_INFO, "Request info", value),
    )


def build_card_view(policy: Policy, details: CaseDetails, viewer: str | None) -> CardView:
    """The card `viewer` (a person id) sees; buttons only if they may act on the open step."""
    case = details.case
    taxonomy = policy.taxonomy.get(case.code)
    step = details.open_step
    history = tuple(
        HistoryLine(when(event.at), text)
        for event in details.history
        if (text := _history_text(policy, event)) is not None
    )
    escalations = tuple(
        HistoryLine(when(event.at), _escalation_text(policy, event))
        for event in details.history
        if event.action in ESCALATION_ACTIONS
    )
    buttons = _buttons(policy, details, viewer)
    status = case.status.value
    headline = f"{case.ref} {case.title}: {status}"
    if step is not None:
        headline = f"{case.ref} {case.title}: waiting for {step.tier}"
    return CardView(
        case_ref=case.ref,
        title=case.title,
        status=status,
        headline=headline,
        exception_title=f"{case.code}: {taxonomy.title}" if taxonomy else case.code,
        facts=_facts(policy, details),
        references=tuple(
            Fact(k, str(v)) for k, v in (case.request.get("references") or {}).items()
        ),
        rules=tuple(RuleLine(r.get("ref") or r["id"], r.get("url"), r["why"]) for r in case.rules),
        flags=tuple(case.flags),
        route=tuple(_step_line(policy, s, details) for s in details.steps),
        due=when(step.due_at) if step is not None and step.due_at is not None else None,
        history=history,
        escalations=escalations,
        buttons=buttons,
        playbook=taxonomy.playbook if taxonomy else None,
        notice=_notice(policy, details, viewer, bool(buttons)),
    )
