"""The raw shape of a policy file, as pydantic models. Unknown keys are errors.

Top level: `name`, `people`, `taxonomy`, `tiers`, `rules` and `defaults` are required (`rules`
may be an empty list; the others need at least one entry); `groups`, `calendar` and
`amendments` (`amount_tolerance_pct`, 0 to 100, default 0) and `aggregates` (`id`, `window`,
`match`; see `policy.aggregates`) and `sources` (per source system: `webhook_url` and
`secret_env`, see `policy.sources`), `remediation` (`after`, `within`, `sla`, optional `per`,
`remind_every`, `escalate_after`; also per taxonomy entry, see `policy.remediation`) and
`digest` (`at: "HH:MM"`, see `policy.digest`) are optional.

Required per entry: a person's `id`, `name`, `email`; a taxonomy entry's `code`, `title`; a
tier's `id`, `approvers`, `sla`; a rule's `id`, `when` (plus exactly one of `route` or
`outcome`, checked by the loader); `defaults.route` (a non-empty list of tier ids); a
calendar's `timezone` (IANA), `days` (mon..sun) and `hours` ("08:00-18:00"), with optional
`holidays` (dates).
Everything else is optional, with these defaults: tier `mode: any`, `on_timeout: escalate`,
no reminders, no backup; rule `rationale: optional`, no flags.

These models check each value on its own (types, durations, ids, enumerations). Whether
references point anywhere (tier ids, person ids, groups) is checked in `policy.checks`.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)

from policy.aggregates import IDENTIFIER, MATCHABLE
from policy.calendar import DAY_NAMES, parse_hours
from policy.durations import parse_duration
from policy.sources import check_env_name, check_source_name, check_webhook_url

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid id: use letters, digits, '-', '_' and '.'")
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _check_duration(value: object) -> object:
    # Durations stay text here (the version hashes what was meant, see policy.version);
    # a number such as `sla: 90` is rejected with the same hint as any other bad duration.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        parse_duration(str(value))
    return value


def _check_mode(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"mode {value} asks for fewer than 1 approval; use 1 or more")
        return value
    if value in ("any", "all"):
        return value
    raise ValueError(f"must be any, all or a number of approvals, not {value!r}")


def _condition_text(value: object) -> object:
    # `when: true` is a fine catch-all; YAML reads it as a boolean, CEL wants the text.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown time zone {value!r}{hint}: use an IANA name like Europe/Berlin"
        ) from None
    return value


def _check_hours(value: str) -> str:
    parse_hours(value)
    return value


def _check_days(value: list[str]) -> list[str]:
    repeated = sorted({day for day in value if value.count(day) > 1}, key=DAY_NAMES.index)
    if repeated:
        raise ValueError(f"day {repeated[0]!r} is listed twice")
    return value


def _check_holidays(value: list[date]) -> list[date]:
    repeated = sorted({day for day in value if value.count(day) > 1})
    if repeated:
        raise ValueError(f"holiday {repeated[0].isoformat()} is listed twice")
    return value


Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_email)]
Duration = Annotated[str, BeforeValidator(_check_duration)]
Mode = Annotated[str | StrictInt, BeforeValidator(_check_mode)]
Condition = Annotated[
    str, BeforeValidator(_condition_text), StringConstraints(strip_whitespace=True, min_length=1)
]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RawPerson(_Raw):
    id: Id
    name: Text
    email: Email
    slack: Text | None = None
    teams: Text | None = None
    aad: Text | None = None
    manager: str | None = None
    delegate: str | None = None
    roles: list[Literal["admin", "auditor"]] = []


def _check_clock(value: str) -> str:
    hours, sep, minutes = value.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and (hours + minutes).isdigit()):
        raise ValueError(f'bad time {value!r}: write a time of day as "HH:MM", like "09:00"')
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"bad time {value!r}: it is not a time of day")
    return value


class RawRemediation(_Raw):
    after: Annotated[StrictInt, Field(ge=1)]
    within: Duration
    sla: Duration
    per: Literal["supplier", "cost_center"] | None = None
    remind_every: Duration | None = None
    escalate_after: Annotated[StrictInt, Field(ge=0)] | None = None


def _clock_text(value: object) -> object:
    # YAML 1.1 reads an unquoted 10:00 as the number 600 (base 60).
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError('write the time of day in quotes, like at: "10:00"')
    return value


class RawDigest(_Raw):
    at: Annotated[str, BeforeValidator(_clock_text), AfterValidator(_check_clock)]


class RawExceptionType(_Raw):
    code: Id
    title: Text
    owner: str | None = None
    playbook: Text | None = None
    sla: Duration | None = None
    remediation: RawRemediation | None = None


class RawTier(_Raw):
    id: Id
    approvers: list[str]
    mode: Mode = "any"
    sla: Duration
    remind_every: Duration | None = None
    escalate_after: Annotated[StrictInt, Field(ge=0)] | None = None
    on_timeout: Literal["escalate", "approve", "reject", "expire"] = "escalate"
    backup: list[str] = []


class RawRule(_Raw):
    id: Id
    when: Condition
    route: list[str] | None = None
    outcome: Literal["approve", "reject"] | None = None
    ref: Text | None = None
    url: Text | None = None
    flags: list[Text] = []
    rationale: Literal["required", "optional"] = "optional"


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class RawCalendar(_Raw):
    timezone: Annotated[str, AfterValidator(_check_timezone)]
    days: Annotated[list[Day], Field(min_length=1), AfterValidator(_check_days)]
    hours: Annotated[str, AfterValidator(_check_hours)]
    holidays: Annotated[list[date], AfterValidator(_check_holidays)] = []


class RawDefaults(_Raw):
    route: Annotated[list[str], Field(min_length=1)]


class RawAmendments(_Raw):
    amount_tolerance_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 0.0


def _check_aggregate_id(value: str) -> str:
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid aggregate id: conditions read it as aggregates.ID, so "
            "use letters, digits and '_', starting with a letter"
        )
    return value


def _check_match(value: str) -> str:
    if value not in MATCHABLE:
        raise ValueError(f"cannot match on {value!r}; fields to match: {', '.join(MATCHABLE)}")
    return value


class RawAggregate(_Raw):
    id: Annotated[str, AfterValidator(_check_aggregate_id)]
    window: Duration
    match: Annotated[list[Annotated[str, AfterValidator(_check_match)]], Field(min_length=1)]


SourceName = Annotated[Id, StringConstraints(max_length=64), AfterValidator(check_source_name)]


class RawSource(_Raw):
    webhook_url: Annotated[str, AfterValidator(check_webhook_url)]
    secret_env: Annotated[str, AfterValidator(check_env_name)]


class RawPolicy(_Raw):
    name: Text
    people: Annotated[list[RawPerson], Field(min_length=1)]
    groups: dict[Id, list[str]] = {}
    taxonomy: Annotated[list[RawExceptionType], Field(min_length=1)]
    tiers: Annotated[list[RawTier], Field(min_length=1)]
    rules: list[RawRule]
    defaults: RawDefaults
    calendar: RawCalendar | None = None
    amendments: RawAmendments | None = None
    aggregates: list[RawAggregate] = []
    sources: dict[SourceName, RawSource] = {}
    remediation: RawRemediation | None = None
    digest: RawDigest | None = None


# The keys each part of the file accepts, for "did you mean" hints.
KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(RawPolicy.model_fields),
    "people": tuple(RawPerson.model_fields),
    "taxonomy": tuple(RawExceptionType.model_fields),
    "tiers": tuple(RawTier.model_fields),
    "rules": tuple(RawRule.model_fields),
    "defaults": tuple(RawDefaults.model_fields),
    "calendar": tuple(RawCalendar.model_fields),
    "amendments": tuple(RawAmendments.model_fields),
    "aggregates": tuple(RawAggregate.model_fields),
    "sources": tuple(RawSource.model_fields),
    "remediation": tuple(RawRemediation.model_fields),
    "digest": tuple(RawDigest.model_fields),
}
