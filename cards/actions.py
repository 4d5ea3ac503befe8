"""Button action ids: the one vocabulary the renderers emit and the adapters parse back.

An adapter that receives an id not listed here logs it and drops the press.
"""

from __future__ import annotations

import re

from policy.lifecycle import Action

APPROVE = "exc_approve"
REJECT = "exc_reject"
REQUEST_INFO = "exc_request_info"
ANSWER = "exc_answer"  # the requester answers a request for information

DECISIONS = (APPROVE, REJECT, REQUEST_INFO)  # an approver's buttons
ALL = (*DECISIONS, ANSWER)

# The one map from button ids to what they do; every adapter reads it.
_DECISIONS = {
    APPROVE: Action.APPROVE,
    REJECT: Action.REJECT,
    REQUEST_INFO: Action.REQUEST_INFO,
}


def decision_of(action_id: str) -> Action | None:
    """The decision a button id stands for; None for ANSWER and for ids not ours."""
    return _DECISIONS.get(action_id)


def action_id_of(action: Action) -> str:
    return next(aid for aid, act in _DECISIONS.items() if act is action)


# ASCII digits, the whole value: `\d` also matches "٣" (which int() reads as 3), and `$` also
# matches before a trailing newline.
_VALUE = re.compile(r"case:([0-9]{1,9}):step:([0-9]{1,12})")


def button_value(case_id: int, step_id: int) -> str:
    return f"case:{case_id}:step:{step_id}"


def parse_button_value(value: str) -> tuple[int, int] | None:
    """(case id, step id) from a button value, or None if it is not one of ours."""
    match = _VALUE.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


# --- a policy proposal's card (cards.proposal_view) -------------------------------------------

POLICY_APPROVE = "pol_approve"
POLICY_REJECT = "pol_reject"
POLICY_DECISIONS = (POLICY_APPROVE, POLICY_REJECT)

_POLICY_VALUE = re.compile(r"policy:([0-9]{1,9})")


def policy_button_value(version_id: int) -> str:
    return f"policy:{version_id}"


def parse_policy_button_value(value: str) -> int | None:
    """The policy version id of a proposal's button value, or None if it is not one of ours."""
    match = _POLICY_VALUE.fullmatch(value)
    return int(match.group(1)) if match is not None and int(match.group(1)) > 0 else None


def policy_approves(action_id: str) -> bool | None:
    """True for Approve, False for Reject, None for an id that is not a proposal's button."""
    return {POLICY_APPROVE: True, POLICY_REJECT: False}.get(action_id)


# --- a remediation item's card (cards.remediation_view), and the digest's buttons --------------

REMEDIATION_ACK = "rem_ack"
REMEDIATION_CLOSE = "rem_close"
REMEDIATION_ACTIONS = (REMEDIATION_ACK, REMEDIATION_CLOSE)
DIGEST_OPEN = "digest_open"  # show the person the card of one line of their digest

_REMEDIATION_VALUE = re.compile(r"rem:([0-9]{1,9})")
_OPEN_VALUE = re.compile(r"open:(case|rem):([0-9]{1,9})")


def remediation_button_value(item_id: int) -> str:
    return f"rem:{item_id}"


def parse_remediation_button_value(value: str) -> int | None:
    """The item id of a remediation card's button value, or None if it is not one of ours."""
    match = _REMEDIATION_VALUE.fullmatch(value)
    return int(match.group(1)) if match is not None and int(match.group(1)) > 0 else None


def open_button_value(kind: str, target: int) -> str:
    """A digest line's button: `open:case:12` or `open:rem:3`."""
    return f"open:{'rem' if kind == 'remediation' else 'case'}:{target}"


def parse_open_button_value(value: str) -> tuple[str, int] | None:
    """("case" | "remediation", id) of a digest button's value, or None if not ours."""
    match = _OPEN_VALUE.fullmatch(value)
    if match is None or int(match.group(2)) <= 0:
        return None
    return ("remediation" if match.group(1) == "rem" else "case"), int(match.group(2))
