"""The policy as the rest of the system sees it: plain, frozen, validated data.

The loader (`policy.loader`) turns a YAML file into a `Policy`; nothing else builds one from
text. Everything here is immutable so one loaded policy can be shared by every request.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from policy.aggregates import Aggregate
from policy.calendar import Calendar
from policy.sources import Source


class Role(enum.StrEnum):
    ADMIN = "admin"
    AUDITOR = "auditor"


class OnTimeout(enum.StrEnum):
    ESCALATE = "escalate"
    APPROVE = "approve"
    REJECT = "reject"
    EXPIRE = "expire"


class Outcome(enum.StrEnum):
    """What policy decided about a request before any human saw it."""

    ROUTE = "route"  # needs approvers
    APPROVE = "approve"  # approved by policy, no approver
    REJECT = "reject"  # rejected by policy, no approver


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str
    slack: str | None = None
    teams: str | None = None
    aad: str | None = None
    manager: str | None = None
    delegate: str | None = None
    roles: frozenset[Role] = frozenset()

    def has_role(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class Remediation:
    """When a code keeps coming back, its owner fixes the cause (`policy.remediation`)."""

    after: int  # the case that opens an item: the `after`th inside `within`
    within: timedelta
    sla: timedelta  # an item is due this long after it opened
    per: str | None = None  # supplier | cost_center: counted per value of that field
    remind_every: timedelta | None = None
    escalate_after: int | None = None  # reminders before the owner's manager is asked


@dataclass(frozen=True, slots=True)
class Digest:
    """Each day's summary of what waits for each person (`policy.digest`)."""

    at: time  # local time in the calendar's time zone (UTC without one)


@dataclass(frozen=True, slots=True)
class ExceptionType:
    """One code of the exception taxonomy."""

    code: str
    title: str
    owner: str | None = None
    playbook: str | None = None
    sla: timedelta | None = None
    remediation: Remediation | None = None  # the code's own; else the policy's


@dataclass(frozen=True, slots=True)
class ApprovalMode:
    """How many distinct approvals close a tier: any one, all of them, or a number."""

    kind: str  # "any" | "all" | "count"
    count: int = 1

    @staticmethod
    def any() -> ApprovalMode:
        return ApprovalMode("any", 1)

    @staticmethod
    def all() -> ApprovalMode:
        return ApprovalMode("all", 0)

    @staticmethod
    def of(count: int) -> ApprovalMode:
        return ApprovalMode("count", count)

    def required(self, approver_count: int) -> int:
        """Approvals needed to close a tier that has `approver_count` eligible approvers."""
        if self.kind == "all":
            return approver_count
        return self.count

    def __str__(self) -> str:
        return str(self.count) if self.kind == "count" else self.kind


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    approvers: tuple[str, ...]  # as written: person ids and "group:NAME"
    mode: ApprovalMode
    sla: timedelta
    remind_every: timedelta | None = None
    escalate_after: int | None = None
    on_timeout: OnTimeout = OnTimeout.ESCALATE
    backup: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: str  # the CEL source
    route: tuple[str, ...] = ()  # tier ids
    outcome: Outcome | None = None  # approve | reject, or None for a routing rule
    ref: str | None = None
    url: str | None = None
    flags: tuple[str, ...] = ()
    rationale_required: bool = False


@dataclass(frozen=True, slots=True)
class Amendments:
    """How amendments from the source are judged (`policy.amendments`)."""

    # An amount may rise by this much (percent) and the approvals given still stand.
    amount_tolerance_pct: float = 0.0


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str  # SHA-256 hex of the normalized content
    source: str  # the file it came from, for messages
    people: Mapping[str, Person]
    groups: Mapping[str, tuple[str, ...]]
    taxonomy: Mapping[str, ExceptionType]
    tiers: tuple[Tier, ...]  # the ladder, lowest first
    rules: tuple[Rule, ...]
    default_route: tuple[str, ...]
    # Business hours for SLA and reminder clocks; None counts wall time.
    calendar: Calendar | None = None
    amendments: Amendments = Amendments()
    aggregates: tuple[Aggregate, ...] = ()  # over recent cases, for conditions
    # Source systems with a webhook endpoint of their own, by source name.
    sources: Mapping[str, Source] = field(default_factory=dict)
    remediation: Remediation | None = None  # for every code without its own
    digest: Digest | None = None
    # Compiled CEL programs by rule id; built once per load by the loader.
    compiled: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def tier(self, tier_id: str) -> Tier:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise KeyError(tier_id)

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def find_person(self, key: str) -> Person | None:
        """A person by id or email (case-insensitive email), or None."""
        if key in self.people:
            return self.people[key]
        wanted = key.strip().lower()
        for person in self.people.values():
            if person.email.lower() == wanted:
                return person
        return None

    def by_slack_id(self, slack_id: str) -> Person | None:
        return next((p for p in self.people.values() if p.slack == slack_id), None)

    def by_teams_id(self, teams_id: str) -> Person | None:
        return next(
            (p for p in self.people.values() if teams_id in (p.teams, p.aad)),
            None,
        )

    def expand(self, members: tuple[str, ...]) -> tuple[str, ...]:
        """Person ids and group:NAME references, expanded to person ids, first seen first."""
        seen: dict[str, None] = {}
        for member in members:
            if member.startswith("group:"):
                for pid in self.groups.get(member.removeprefix("group:"), ()):
                    seen.setdefault(pid, None)
            else:
                seen.setdefault(member, None)
        return tuple(seen)


# --- requests and what policy says about them -------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose condition held (or could not be evaluated, see `error`)."""

    rule_id: str
    ref: str | None
    url: str | None
    flags: tuple[str, ...]
    outcome: Outcome | None
    route: tuple[str, ...]
    explanation: str  # why: the condition with the values it saw


@dataclass(frozen=True, slots=True)
class RuleSkip:
    """A rule whose condition could not be evaluated on this request (usually an absent field)."""

    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RouteStep:
    """One tier of the route a request takes, with the people who would approve it."""

    tier: str
    approvers: tuple[str, ...]  # person ids, groups expanded, requester and delegates resolved
    mode: ApprovalMode
    required: int  # approvals needed to close the tier
    sla: timedelta
    wanted: int = 1  # approvals the tier asks for; more than `required` when short-staffed

    @property
    def short(self) -> bool:
        return len(self.approvers) < self.wanted


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcome: Outcome
    exception_title: str
    route: tuple[RouteStep, ...]  # empty unless outcome is ROUTE
    fired: tuple[RuleHit, ...]
    skipped: tuple[RuleSkip, ...]
    flags: tuple[str, ...]
    rationale_required: bool
    policy_version: str

    @property
    def basis(self) -> str:
        """How the outcome was reached: "rules", "default" (no rule fired) or "withheld"
        (an auto-approval held back because a skipped rule could have objected)."""
        if self.outcome is Outcome.ROUTE and not any(hit.route for hit in self.fired):
            approving = any(hit.outcome is Outcome.APPROVE for hit in self.fired)
            return "withheld" if approving else "default"
        return "rules"

    @property
    def deciding_rules(self) -> tuple[RuleHit, ...]:
        """The fired rules that produced the outcome (for an automatic decision)."""
        if self.outcome is Outcome.ROUTE:
            return tuple(hit for hit in self.fired if hit.route)
        return tuple(hit for hit in self.fired if hit.outcome is self.outcome)
