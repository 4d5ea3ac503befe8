"""The report's remediation section as text: per closed item, the code's cases per day in the
window before the close and after it, so a fix that worked shows as a drop."""

from __future__ import annotations

from collections.abc import Sequence

from policy.names import at_text
from policy.remediation_effect import RemediationEffect


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}/day"


def remediation_lines(closed: Sequence[RemediationEffect]) -> list[str]:
    lines = ["Remediation (closed items; cases per day in the window before and after):"]
    if not closed:
        return [*lines, "  none"]
    for e in closed:
        key = f" ({e.key})" if e.key else ""
        lines.append(
            f"  {e.ref} {e.code}{key}, closed {at_text(e.closed_at)}: before "
            f"{_rate(e.before_per_day)} ({e.window_days:g}d), after {_rate(e.after_per_day)} "
            f"({e.after_days:g}d so far). {e.root_cause}"
        )
    return lines
