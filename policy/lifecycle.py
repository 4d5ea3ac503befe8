"""The lifecycle vocabulary of a case: its statuses, its steps', the actions people take, and
the closed set of audit event kinds that every writer uses and every reader understands."""

from __future__ import annotations

import enum
import re

CASE_PREFIX = "EXC-"
# ASCII digits only: `\d` would also read "EXC-00007６" as case 76.
_CASE_REF = re.compile(r"(?:EXC-?)?0*([0-9]{1,9})", re.IGNORECASE | re.ASCII)


class CaseStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def is_final(self) -> bool:
        return self is not CaseStatus.PENDING


class StepStatus(enum.StrEnum):
    WAITING = "waiting"  # a later tier, not open yet
    OPEN = "open"
    INFO_REQUESTED = "info_requested"  # paused: an approver asked the requester a question
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the case was withdrawn, rejected or revoked before this step
    EXPIRED = "expired"  # the case expired while this step was open
    SUPERSEDED = "superseded"  # a material amendment started the route again: votes void

    @property
    def is_current(self) -> bool:
        """The step the case waits on: open, or paused for the requester's answer."""
        return self in (StepStatus.OPEN, StepStatus.INFO_REQUESTED)


class Action(enum.StrEnum):
    """What a person does on a step (the rows of `decisions` hold approve and reject)."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_INFO = "request_info"
    COMMENT = "comment"


class AuditKind(enum.StrEnum):
    """Every kind of audit event. Writers name one of these; the card's history reads them."""

    CASE_FILED = "case.filed"
    POLICY_EVALUATED = "policy.evaluated"
    STEP_OPENED = "step.opened"
    STEP_APPROVED = "step.approved"
    STEP_UNSTAFFED = "step.unstaffed"  # nobody may decide a step that opened
    STEP_SHORT_STAFFED = "step.short_staffed"  # fewer people than the tier requires
    DECISION_APPROVED = "decision.approved"
    DECISION_REJECTED = "decision.rejected"
    DECISION_REFUSED = "decision.refused"
    INFO_REQUESTED = "case.info_requested"
    INFO_ANSWERED = "case.info_answered"
    ANSWER_REFUSED = "case.answer.refused"
    COMMENTED = "case.commented"
    COMMENT_REFUSED = "case.comment.refused"
    CASE_APPROVED = "case.approved"
    CASE_REJECTED = "case.rejected"
    CASE_EXPIRED = "case.expired"
    CASE_WITHDRAWN = "case.withdrawn"
    WITHDRAW_REFUSED = "case.withdraw.refused"
    CASE_REVOKED = "case.revoked"
    CASE_AMENDED = "case.amended"  # the source changed the request (fields before and after)
    CASE_REOPENED = "case.reopened"  # a material amendment took a decided case back to pending
    REVOKE_REFUSED = "case.revoke.refused"
    STEP_REMINDED = "step.reminded"
    STEP_ESCALATED = "step.escalated"
    STEP_REROUTED = "step.rerouted"
    STEP_TIMED_OUT = "step.timed_out"
    STEP_REASSIGNED = "step.reassigned"
    REASSIGN_REFUSED = "step.reassign.refused"  # moving someone else's place, not an admin
    PERSON_AWAY = "person.away"
    PERSON_BACK = "person.back"
    AUDIT_CHECKPOINT = "audit.checkpoint"  # the chain's head, sent to the auditors
    AUDIT_EXPORTED = "audit.exported"  # the log handed out through a download link or file
    AUDIT_REFUSED = "audit.refused"  # /audit ... by someone who is not an admin or auditor
    POLICY_IMPORTED = "policy.imported"  # the policy file became the active version
    POLICY_PROPOSED = "policy.proposed"
    POLICY_APPROVED = "policy.approved"
    POLICY_ACTIVATED = "policy.activated"
    POLICY_REJECTED = "policy.rejected"
    POLICY_REFUSED = "policy.refused"  # an admin command by someone without the role
    # A remediation item (REM-000001, its ref in `case_ref`): a code that keeps coming back.
    REMEDIATION_OPENED = "remediation.opened"
    REMEDIATION_ACKNOWLEDGED = "remediation.acknowledged"
    REMEDIATION_REMINDED = "remediation.reminded"
    REMEDIATION_ESCALATED = "remediation.escalated"
    REMEDIATION_CLOSED = "remediation.closed"
    REMEDIATION_REFUSED = "remediation.refused"  # by someone not the owner, manager or admin

    @property
    def is_refusal(self) -> bool:
        return self.value.endswith(".refused")

    @staticmethod
    def read(action: str) -> AuditKind | None:
        """The kind of a stored event, or None for one this version does not know."""
        try:
            return AuditKind(action)
        except ValueError:
            return None


# The escalation history of a card: reminders, escalations, reroutes, timeouts, hand-overs.
ESCALATION_KINDS = frozenset(
    {
        AuditKind.STEP_REMINDED,
        AuditKind.STEP_ESCALATED,
        AuditKind.STEP_REROUTED,
        AuditKind.STEP_TIMED_OUT,
        AuditKind.STEP_REASSIGNED,
        AuditKind.STEP_UNSTAFFED,
        AuditKind.STEP_SHORT_STAFFED,
    }
)

CASE_ENDING = {
    CaseStatus.APPROVED: AuditKind.CASE_APPROVED,
    CaseStatus.REJECTED: AuditKind.CASE_REJECTED,
    CaseStatus.EXPIRED: AuditKind.CASE_EXPIRED,
    CaseStatus.WITHDRAWN: AuditKind.CASE_WITHDRAWN,
    CaseStatus.REVOKED: AuditKind.CASE_REVOKED,
}

VOTE_KIND = {
    Action.APPROVE: AuditKind.DECISION_APPROVED,
    Action.REJECT: AuditKind.DECISION_REJECTED,
}


def case_ref(case_id: int) -> str:
    return f"{CASE_PREFIX}{case_id:06d}"


def parse_case_ref(text: str) -> int | None:
    """`EXC-000123`, `exc-123` or `123` -> 123; anything else -> None."""
    match = _CASE_REF.fullmatch(text.strip(" "))
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None
