"""Durations as policy owners write them: 90s, 30m, 4h, 2d, 1h30m, 1d12h.

Units are d, h, m and s, each at most once and in that order, with a positive total. Nothing
else is accepted (no weeks, no fractions, no spaces) so a typo is an error, not a surprise.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_HINT = "use a number and a unit (s, m, h, d), like 90s, 30m, 4h, 2d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as "4h" or "1h30m"; raise ValueError with a readable message."""
    match = _PATTERN.fullmatch(text) if text else None
    if match is None or not any(match.groups()):
        raise ValueError(f"bad duration {text!r}: {_HINT}")
    seconds = sum(
        int(count) * size for count, (_, size) in zip(match.groups(), _UNITS, strict=True) if count
    )
    if seconds <= 0:
        raise ValueError(f"bad duration {text!r}: it must be longer than zero")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"bad duration {text!r}: it is too long") from None


def format_duration(value: timedelta) -> str:
    """The shortest text `parse_duration` reads back as `value` (whole seconds)."""
    remaining = int(value.total_seconds())
    if remaining <= 0:
        raise ValueError(f"cannot format {value!r}: durations are positive")
    parts = []
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
