"""The clock of an open step: when it is reminded, escalated and timed out (pure).

A step follows its tier's plan from the moment it opens (and again from each reroute):

- every `remind_every` of business time, a tick: a reminder to the approvers who have not
  acted, except that the tick after `escalate_after` reminders escalates to their managers
  instead (once per opening; later ticks are reminders again);
- at `sla` after it opened (its `due_at`), `on_timeout` applies.

Ticks are counted from the opening (`tick_after`), so a sweep that runs late does not push
the next reminder later. A tick never happens outside business hours: one that falls due
there waits for the next opening. Without `remind_every` there are no ticks, only the
timeout. The sweep wakes a step at its `next_action_at`, the earlier of the next tick and
`due_at`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from policy.calendar import Calendar, add_business_time, is_business_time, next_business_moment
from policy.model import Tier

_MAX_TICKS = 100_000  # a step down for years with a one-minute plan still ends the search


class Due(enum.StrEnum):
    TIMEOUT = "timeout"  # the SLA has passed: on_timeout applies
    REMIND = "remind"  # a reminder to the approvers who have not acted
    ESCALATE = "escalate"  # a DM to their managers, who may then decide for them
    WAIT = "wait"  # a tick fell outside business hours: wait for the next opening
    NOTHING = "nothing"  # no plan (no reminders and no SLA left)


@dataclass(frozen=True, slots=True)
class Schedule:
    due_at: datetime
    next_action_at: datetime


def opening_schedule(tier: Tier, calendar: Calendar | None, opened: datetime) -> Schedule:
    """The due time and first wake-up of a step of `tier` opened (or rerouted) at `opened`."""
    due_at = add_business_time(calendar, opened, tier.sla)
    tick = next_tick(tier, calendar, opened)
    return Schedule(due_at, due_at if tick is None else min(due_at, tick))


def next_tick(tier: Tier, calendar: Calendar | None, after: datetime) -> datetime | None:
    """The tick `remind_every` of business time after `after`, or None without reminders."""
    if tier.remind_every is None:
        return None
    return add_business_time(calendar, after, tier.remind_every)


def tick_after(
    tier: Tier, calendar: Calendar | None, start: datetime, now: datetime
) -> datetime | None:
    """The first tick of the step's plan after `now`: ticks fall every `remind_every` of
    business time counted from `start` (its opening, or its last reroute), never from when
    the sweep happened to run, so reminders do not drift later. None without reminders."""
    if tier.remind_every is None:
        return None
    tick = add_business_time(calendar, start, tier.remind_every)
    for _ in range(_MAX_TICKS):
        if tick > now:
            return tick
        tick = add_business_time(calendar, tick, tier.remind_every)
    return add_business_time(calendar, now, tier.remind_every)


def next_action(due_at: datetime | None, tick: datetime | None) -> datetime | None:
    """The earlier of the two, ignoring the absent one."""
    times = [t for t in (due_at, tick) if t is not None]
    return min(times) if times else None


def what_is_due(
    tier: Tier,
    calendar: Calendar | None,
    now: datetime,
    *,
    due_at: datetime | None,
    reminders_sent: int,
    escalated: bool,
) -> Due:
    """What a step woken at `now` (its `next_action_at` has passed) should do."""
    if due_at is not None and now >= due_at:
        return Due.TIMEOUT
    if tier.remind_every is None:
        return Due.NOTHING
    if not is_business_time(calendar, now):
        return Due.WAIT
    if not escalated and tier.escalate_after is not None and reminders_sent >= tier.escalate_after:
        return Due.ESCALATE
    return Due.REMIND


def after_waiting(calendar: Calendar | None, now: datetime, due_at: datetime | None) -> datetime:
    """When a tick that fell outside business hours happens: the next opening (or the SLA)."""
    opening = next_business_moment(calendar, now)
    return opening if due_at is None else min(opening, due_at)
