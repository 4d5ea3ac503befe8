"""From a stored case to the CardView a given person sees: the one place cases become words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cards import actions
from cards.view import Button, CardView, Fact, HistoryLine, Link, RuleLine, StepLine
from handlers.people import name_of, names_of
from handlers.queries import CaseDetails
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_records import Basis
from policy.lifecycle import ESCALATION_KINDS, Action, AuditKind, StepStatus
from policy.model import Policy
from storage.audit import AuditRecord
from storage.records import StepRecord


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


def _step_line(policy: Policy, step: StepRecord, case: Case) -> StepLine:
    decided = [
        f"{'approved' if v.action is Action.APPROVE else 'rejected'} by {name_of(policy, v.person)}"
        + (f" for {name_of(policy, v.on_behalf_of)}" if v.on_behalf_of else "")
        + f" at {when(v.at)}"
        for v in case.votes_on(step)
        if v.action in (Action.APPROVE, Action.REJECT)
    ]
    if step.status.is_current:
        summary = case.awaiting_text(policy, step)
        if decided:
            summary += f" ({'; '.join(decided)})"
    elif step.status is StepStatus.WAITING:
        summary = f"next: {names_of(policy, step.approvers)}"
    elif step.status in (StepStatus.CANCELLED, StepStatus.EXPIRED):
        summary = step.status.value
    else:
        summary = "; ".join(decided) or step.status.value
    return StepLine(step.tier, step.status.value, summary)


_HISTORY_VERBS = {
    AuditKind.CASE_FILED: "filed the exception",
    AuditKind.DECISION_APPROVED: "approved",
    AuditKind.DECISION_REJECTED: "rejected",
    AuditKind.INFO_REQUESTED: "asked for more information",
    AuditKind.INFO_ANSWERED: "answered",
    AuditKind.COMMENTED: "commented",
    AuditKind.CASE_WITHDRAWN: "withdrew the case",
    AuditKind.CASE_REVOKED: "revoked the decision",
}


def _people(policy: Policy, people: tuple[str, ...] | None) -> str:
    return names_of(policy, people or ()) or "nobody"


def _escalation_text(policy: Policy, kind: AuditKind, event: AuditRecord) -> str:
    data = AuditData.read(event.data)
    tier = data.tier
    because = f": {event.rationale}" if event.rationale else ""
    match kind:
        case AuditKind.STEP_REMINDED:
            note = f" ({data.note})" if data.note else ""
            return f"reminder {data.reminder} to {_people(policy, data.approvers)}{note}"
        case AuditKind.STEP_ESCALATED:
            return (
                f"{tier} overdue: escalated to {_people(policy, data.managers)}, "
                f"who may decide for {_people(policy, data.approvers)}"
            )
        case AuditKind.STEP_REROUTED:
            return f"{tier} rerouted to {_people(policy, data.to)}{because}"
        case AuditKind.STEP_REASSIGNED:
            # "Lee Park handed category-lead to Dana Reyes", and for someone else's place,
            # whose it was.
            handed = _people(policy, data.from_)
            mine = data.from_ == (event.actor,)
            whose = "" if mine else f" from {handed}"
            return (
                f"{name_of(policy, event.actor)} handed {tier}{whose} to "
                f"{_people(policy, data.to)}{because}"
            )
        case AuditKind.STEP_UNSTAFFED | AuditKind.STEP_SHORT_STAFFED:
            return event.rationale or f"{tier} is short of approvers"
        case _:
            return f"{tier} timed out{because}"


_SYSTEM_ENDINGS = (AuditKind.CASE_APPROVED, AuditKind.CASE_REJECTED, AuditKind.CASE_EXPIRED)


def _history_text(policy: Policy, event: AuditRecord) -> str | None:
    data = AuditData.read(event.data)
    kind = AuditKind.read(event.action)
    if kind is None or kind.is_refusal or kind is AuditKind.POLICY_EVALUATED:
        return None  # refusals stay in the audit log; cards show what happened to the case
    if kind in ESCALATION_KINDS:
        return _escalation_text(policy, kind, event)
    if kind is AuditKind.STEP_OPENED:
        return f"{data.tier} opened for {names_of(policy, data.approvers or ())}"
    if kind is AuditKind.STEP_APPROVED:
        return f"{data.tier} complete"
    if kind is AuditKind.CASE_AMENDED:
        stand = "; approvals given before no longer stand" if data.material else ""
        return f"{_source_name(policy, event.actor)} amended the case: {event.rationale}{stand}"
    if kind is AuditKind.CASE_REOPENED:
        return f"case reopened (was {data.previous_status}): {event.rationale}"
    if kind in _SYSTEM_ENDINGS and event.actor.startswith("system:"):
        by_policy = " by policy" if event.actor == "system:policy" else ""
        reason = f": {event.rationale}" if event.rationale else ""
        return f"case {kind.value.removeprefix('case.')}{by_policy}{reason}"
    verb = _HISTORY_VERBS.get(kind, kind.value)
    who = name_of(policy, event.actor)
    text = f"{data.author} ({who}) {verb}" if data.author else f"{who} {verb}"
    if data.tier:
        text += f" ({data.tier})"
    if data.on_behalf_of:
        text += f" on behalf of {name_of(policy, data.on_behalf_of)}"
    if event.rationale:
        text += f": {event.rationale}"
    return text


def _notice(
    policy: Policy, case: Case, viewer: str | None, history: list[AuditRecord]
) -> str | None:
    step = case.current_step
    if viewer is None or step is None:
        return None
    if step.status is StepStatus.INFO_REQUESTED:
        if viewer == case.requester:
            return (
                f"An approver asked you a question (see the history). Answer with "
                f"/exception answer {case.ref} your answer, or press Answer."
            )
        return f"Paused: waiting for {name_of(policy, case.requester)} to answer a question."
    permission = case.may_press(policy, viewer)
    if permission.allowed and permission.as_manager:
        return (
            f"Escalated to you as the manager of {name_of(policy, permission.on_behalf_of or '')}: "
            "you may decide on their behalf, with a rationale."
        )
    if permission.allowed and permission.rationale_required:
        return "Policy requires a rationale to approve."
    mine = case.vote_of(viewer, step)
    if mine is not None:
        verb = "approved" if mine.action is Action.APPROVE else "rejected"
        return f"You {verb} this step at {when(mine.at)}; {case.awaiting_text(policy, step)}."
    handed_on = any(
        event.step_id == step.id
        and event.action in (AuditKind.STEP_REROUTED, AuditKind.STEP_REASSIGNED)
        and viewer in (AuditData.read(event.data).from_ or ())
        for event in history
    )
    if handed_on and viewer not in step.approvers:
        return f"This step is now with {names_of(policy, step.approvers)}; you need not decide it."
    return None


def _buttons(policy: Policy, case: Case, viewer: str | None) -> tuple[Button, ...]:
    """Buttons for what `viewer` may do now, as the case model says; none otherwise."""
    step = case.current_step
    if viewer is None or step is None:
        return ()
    value = actions.button_value(case.id, step.id)
    if step.status is StepStatus.INFO_REQUESTED and case.may_answer(viewer).allowed:
        return (Button(actions.ANSWER, "Answer", value, "primary"),)
    if not case.may_press(policy, viewer).allowed:
        return ()
    return (
        Button(actions.APPROVE, "Approve", value, "primary"),
        Button(actions.REJECT, "Reject", value, "danger"),
        Button(actions.REQUEST_INFO, "Request info", value),
    )


_ENDINGS = {
    AuditKind.CASE_APPROVED,
    AuditKind.CASE_REJECTED,
    AuditKind.CASE_EXPIRED,
    AuditKind.CASE_WITHDRAWN,
    AuditKind.CASE_REVOKED,
}


def _decision_line(policy: Policy, details: CaseDetails) -> str | None:
    """`Rejected by Lee Park: use the framework supplier`: how a decided case ended."""
    case = details.model
    if not case.status.is_final:
        return None
    ending = next(
        (e for e in reversed(details.history) if AuditKind.read(e.action) in _ENDINGS), None
    )
    status = case.status.value.capitalize()
    vote = case.last_decision()
    if ending is not None and ending.actor.startswith("system:") and vote is not None:
        who, why = vote.person, vote.rationale
        if vote.on_behalf_of:
            status += f" by {name_of(policy, who)} for {name_of(policy, vote.on_behalf_of)}"
            return f"{status}: {why}" if why else status
    elif ending is not None:
        who, why = ending.actor, ending.rationale
    else:
        return status
    by = "policy" if who == "system:policy" else name_of(policy, who)
    text = f"{status} by {by}"
    return f"{text}: {why}" if why else text


def _source_name(policy: Policy, actor: str) -> str:
    """`erp` for the intake of source erp; a person by name."""
    return name_of(policy, actor).removeprefix("intake:")


def _amended_line(policy: Policy, details: CaseDetails) -> str | None:
    """`amount 18,250.00 -> 24,900.00 USD, amended by erp at 2026-03-02 10:00 UTC`, and
    whether the approvals given before still stand: the latest amendment, on every card."""
    event = next((e for e in reversed(details.history) if e.action == AuditKind.CASE_AMENDED), None)
    if event is None:
        return None
    data = AuditData.read(event.data)
    text = f"{event.rationale}, amended by {_source_name(policy, event.actor)} at {when(event.at)}"
    if data.material:
        return f"{text}. Approvals given before no longer stand: {'; '.join(data.reasons or ())}."
    return f"{text}. The approvals given stand."


def _related_note(details: CaseDetails) -> tuple[str, ...]:
    """The recent cases the policy's aggregates counted with this one (a possible split)."""
    if not details.related:
        return ()
    shown = "; ".join(
        f"{r.ref} {money(r.amount, r.currency) or 'no amount'} {r.status.value}"
        for r in details.related
    )
    return (f"Counted with recent cases: {shown}",)


def _policy_notes(policy: Policy, case: Case) -> tuple[str, ...]:
    record = case.record
    notes = []
    if record.basis == Basis.DEFAULT:
        notes.append("No rule fired: routed by the policy's default route.")
    elif record.basis == Basis.WITHHELD:
        notes.append(
            "Auto-approval withheld: a rule could not be evaluated on this request, so it "
            "goes to the default route instead."
        )
    for skip in record.skipped_rules:
        rule = next((r for r in policy.rules if r.id == skip.get("id")), None)
        ref = skip.get("ref") or (rule.ref if rule is not None else None) or skip.get("id")
        notes.append(f"Skipped: {ref}, {skip.get('reason')}")
    return tuple(notes)


def build_card_view(
    policy: Policy, details: CaseDetails, viewer: str | None, now: datetime | None = None
) -> CardView:
    """The card `viewer` (a person id) sees; buttons only for what they may do now. `now`
    marks a case past its due time as overdue."""
    model = details.model
    case = model.record
    taxonomy = policy.taxonomy.get(case.code)
    step = model.current_step
    history = tuple(
        HistoryLine(when(event.at), text)
        for event in details.history
        if (text := _history_text(policy, event)) is not None
    )
    escalations = tuple(
        HistoryLine(when(event.at), _escalation_text(policy, kind, event))
        for event in details.history
        if (kind := AuditKind.read(event.action)) is not None and kind in ESCALATION_KINDS
    )
    status = case.status.value
    headline = f"{case.ref} {case.title}: {status}"
    if step is not None:
        headline = f"{case.ref} {case.title}: waiting for {step.tier}"
    owner = policy.person(taxonomy.owner) if taxonomy and taxonomy.owner else None
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
        route=tuple(
            _step_line(policy, s, model)
            for s in model.steps
            if s.status is not StepStatus.SUPERSEDED  # an amendment started it again
        ),
        due=when(step.due_at) if step is not None and step.due_at is not None else None,
        history=history,
        escalations=escalations,
        buttons=_buttons(policy, model, viewer),
        playbook=taxonomy.playbook if taxonomy else None,
        notice=_notice(policy, model, viewer, details.history),
        amended=_amended_line(policy, details),
        owner=owner.name if owner else (taxonomy.owner if taxonomy else None),
        decision=_decision_line(policy, details),
        policy_notes=_policy_notes(policy, model) + _related_note(details),
        case_due=when(case.due_at)
        if case.due_at is not None and not case.status.is_final
        else None,
        overdue=now is not None and model.is_overdue(now),
        attachments=tuple(Link(a["name"], a["url"]) for a in case.request.get("attachments") or ()),
    )
