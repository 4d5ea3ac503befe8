"""Business hours: when the SLA and reminder clocks run.

A policy may declare a calendar (`calendar: {timezone, days, hours, holidays}`). With one,
durations count business time only: the real time that passes inside business hours, in the
calendar's time zone, on business days that are not holidays. So `sla: 4h` opened on a Friday
at 16:00 with hours 08:00-18:00 falls due on Monday at 10:00, and `1d` means 24 business
hours (for "two working days" of 10 hours write `20h`). Without a calendar (None), every
function here is plain wall time.

Times in and out are aware datetimes (UTC in practice). Business hours are local wall-clock
times, so they stay 08:00-18:00 across a daylight-saving change; a day whose hours include the
change is as long as the clock says (a 00:00-24:00 day on the spring change has 23 hours).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()

# A calendar has at least one business day a week and finitely many holidays, so a business
# day always comes; this bound only stops a runaway loop on a calendar built by hand.
_MAX_DAYS = 366 * 20


@dataclass(frozen=True, slots=True)
class Calendar:
    timezone: str  # an IANA name, checked by the loader
    days: frozenset[int]  # business weekdays, 0 = Monday
    opens: time  # local time business hours start
    closes: time | None  # local time they end; None is midnight at the end of the day (24:00)
    holidays: frozenset[date] = frozenset()  # local dates

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hours(self) -> str:
        closes = "24:00" if self.closes is None else self.closes.strftime("%H:%M")
        return f"{self.opens.strftime('%H:%M')}-{closes}"

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The business hours of local date `day` as UTC instants, or None if it is closed."""
        if not self.is_business_day(day):
            return None
        zone = self.zone
        start = datetime.combine(day, self.opens, tzinfo=zone).astimezone(UTC)
        if self.closes is None:
            end_local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        else:
            end_local = datetime.combine(day, self.closes, tzinfo=zone)
        return start, end_local.astimezone(UTC)


def parse_hours(text: str) -> tuple[time, time | None]:
    """ "08:00-18:00" -> (08:00, 18:00); "00:00-24:00" -> (00:00, None). Raises ValueError."""
    hint = 'write business hours as "HH:MM-HH:MM", like "08:00-18:00"'
    start_text, sep, end_text = text.strip().partition("-")
    if not sep:
        raise ValueError(f"bad hours {text!r}: {hint}")
    opens = _clock_time(start_text, hint, text)
    if opens is None:
        raise ValueError(f"bad hours {text!r}: business hours cannot start at 24:00")
    closes = _clock_time(end_text, hint, text)
    if closes is not None and closes <= opens:
        raise ValueError(f"bad hours {text!r}: the end must come after the start on the same day")
    return opens, closes


def _clock_time(text: str, hint: str, whole: str) -> time | None:
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and (hours + minutes).isdigit()):
        raise ValueError(f"bad hours {whole!r}: {hint}")
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return None
    if h > 23 or m > 59:
        raise ValueError(f"bad hours {whole!r}: {text.strip()} is not a time of day")
    return time(h, m)


def _intervals(calendar: Calendar, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Business intervals that end after `moment`, in order, the first clipped to `moment`."""
    day = moment.astimezone(calendar.zone).date()
    for _ in range(_MAX_DAYS):
        found = calendar.interval(day)
        if found is not None and found[1] > moment:
            yield max(found[0], moment), found[1]
        day += timedelta(days=1)
    raise ValueError(f"the calendar has no business hours within {_MAX_DAYS} days")


def is_business_time(calendar: Calendar | None, moment: datetime) -> bool:
    """Is `moment` inside business hours? Always, without a calendar."""
    if calendar is None:
        return True
    found = calendar.interval(moment.astimezone(calendar.zone).date())
    return found is not None and found[0] <= moment < found[1]


def next_business_moment(calendar: Calendar | None, moment: datetime) -> datetime:
    """`moment` if it is business time, else the moment business hours next begin."""
    if calendar is None:
        return moment
    return next(_intervals(calendar, moment))[0]


def add_business_time(calendar: Calendar | None, start: datetime, duration: timedelta) -> datetime:
    """When `duration` of business time has passed after `start`.

    Counting starts at `start`, or at the next opening if `start` is outside business hours;
    an end that falls exactly at closing time is closing time (not the next opening).
    """
    if calendar is None:
        return start + duration
    if duration < timedelta(0):
        raise ValueError("durations are positive")
    remaining = duration
    for begin, end in _intervals(calendar, start):
        if begin + remaining <= end:
            return begin + remaining
        remaining -= end - begin
    raise AssertionError("unreachable: _intervals never ends without raising")
