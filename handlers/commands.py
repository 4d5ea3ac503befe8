"""The commands the edges send: frozen, platform-free, one per use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from policy.request import ExceptionRequest
from storage.records import Action


@dataclass(frozen=True, slots=True)
class FileException:
    request: ExceptionRequest
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Decide:
    """Approve, reject or ask for information on the case's open step.

    `step_id` is the step the card showed; if that step is no longer open, the press was made
    on a stale card and is refused instead of landing on a later step.
    """

    case_id: int
    action: Action
    rationale: str | None = None
    step_id: int | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    case_id: int
    text: str
    author: str | None = None  # a source system's note: who wrote it there


@dataclass(frozen=True, slots=True)
class Withdraw:
    case_id: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Revoke:
    case_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class GoAway:
    """Away through the end of `until` (in the policy calendar's time zone, else UTC)."""

    until: date
    delegate: str | None = None  # a person id or email; None: the policy's `delegate:`


@dataclass(frozen=True, slots=True)
class ComeBack:
    pass


@dataclass(frozen=True, slots=True)
class Reassign:
    """Hand a place on the open step of a case to someone else: the actor's own, or (for an
    admin) `place`, a person id or email."""

    case_id: int
    to: str  # a person id or email
    reason: str
    place: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The requester's answer to a request for information on the case's current step."""

    case_id: int
    text: str


# --- governing the policy from chat (handlers.policy_admin) --------------------------------


@dataclass(frozen=True, slots=True)
class PolicyShow:
    kind: str | None = None  # tier | rule | person, or None for the whole version
    entry: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyEdit:
    """`set tier|rule|person ID FIELD VALUE...` or `group NAME add|remove PERSON...`, with
    mentions already turned into person ids."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    pass


@dataclass(frozen=True, slots=True)
class PolicyPropose:
    reason: str


@dataclass(frozen=True, slots=True)
class PolicyDecide:
    """Approve or reject a proposed version (POL-000003)."""

    version_id: int
    approve: bool
    text: str | None = None  # a note to an approval; the reason of a rejection


@dataclass(frozen=True, slots=True)
class PolicyBacktest:
    """The admin's draft replayed on the cases of the last `days` days."""

    days: int = 30


@dataclass(frozen=True, slots=True)
class PolicyDiscard:
    pass


@dataclass(frozen=True, slots=True)
class PolicyHistory:
    pass


@dataclass(frozen=True, slots=True)
class PolicyRollback:
    version: str  # POL-000003, or a prefix of a version hash
    reason: str


# Every policy command, as one type (for the chat vocabulary) and as classes (to match on).
PolicyCommand = (
    PolicyBacktest
    | PolicyShow
    | PolicyEdit
    | PolicyDiff
    | PolicyPropose
    | PolicyDecide
    | PolicyDiscard
    | PolicyHistory
    | PolicyRollback
)
POLICY_COMMANDS = (
    PolicyBacktest,
    PolicyShow,
    PolicyEdit,
    PolicyDiff,
    PolicyPropose,
    PolicyDecide,
    PolicyDiscard,
    PolicyHistory,
    PolicyRollback,
)
