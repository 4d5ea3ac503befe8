"""The exception program's KPIs as text: the whole report (`approvals report`), and the few
lines `/approvals stats` shows in chat."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from policy.kpi_report import FAST_SECONDS, Group, KpiReport, Timing
from policy.names import at_text
from policy.remediation_text import remediation_lines

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_TITLES = {
    "by_code": "By code (cases filed; filing to final decision)",
    "by_tier": "By tier (steps opened; opened to decided)",
    "by_approver": "By approver (decisions; card received to decision)",
    "by_supplier": "By supplier (cases filed; filing to final decision)",
    "by_cost_center": "By cost center (cases filed; filing to final decision)",
    "by_source": "By source (cases filed; filing to final decision)",
}
SHOWN_CURRENCIES = 3  # the chat summary's leakage line


def duration_text(seconds: float | None) -> str:
    """`2d 3h`, `1h 5m`, `45s`: the two largest units, whole seconds; `-` for no figure."""
    if seconds is None:
        return "-"
    left = int(seconds)
    for (unit, size), (next_unit, next_size) in itertools.pairwise(_UNITS):
        if left >= size:
            first, rest = divmod(left, size)
            second = rest // next_size
            return f"{first}{unit} {second}{next_unit}" if second else f"{first}{unit}"
    return f"{left}s"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _scope(report: KpiReport, *, to_them: bool = False) -> str:
    """Whose cases: told to the person they are about (the chat), or to anyone."""
    if report.person is None:
        return "the whole program"
    if to_them:
        return "the cases you filed or decide"
    return f"the cases {report.person} filed or decides"


def _share(report: KpiReport) -> str:
    share = report.auto_decided_share
    return "-" if share is None else f"{share:.1%}"


def _timing(timing: Timing) -> str:
    return f"p50 {duration_text(timing.p50_s)}, p90 {duration_text(timing.p90_s)}"


def _oldest(report: KpiReport) -> str:
    ages = report.open_by_age
    if ages.oldest is None:
        return "Open now: none."
    return (
        f"Open now: {ages.total}, the oldest {ages.oldest.ref} "
        f"({duration_text(ages.oldest.age_s)})."
    )


def _leak_parts(report: KpiReport) -> list[str]:
    ranked = sorted(report.leakage.items(), key=lambda item: -item[1].total)
    return [f"{cur} {leak.total:,.2f} in {_plural(leak.cases, 'case')}" for cur, leak in ranked]


def _stamps(report: KpiReport) -> str:
    s = report.rubber_stamps
    return (
        f"{s.fast} of {_plural(s.approvals, 'approval')} under {FAST_SECONDS}s, "
        f"{s.empty_rationale} with an empty rationale, {s.repeated_rationale} with a "
        "rationale repeated across cases"
    )


def report_text(report: KpiReport) -> str:
    r, breaches, drift = report, report.sla_breaches, report.drift
    buckets = ", ".join(f"{label} {n}" for label, n in r.open_by_age.buckets.items())
    tiers = ", ".join(f"{tier} {n}" for tier, n in breaches.by_tier.items())
    lines = [
        f"Exception program KPIs: cases filed {at_text(r.since)} to {at_text(r.until)}, "
        f"{_scope(r)}. Open cases: every case open now, whatever its filing date. "
        "Percentiles are nearest-rank.",
        "",
        f"Volume: {_plural(r.volume, 'case')} filed, {r.auto_decided} decided by policy "
        f"({_share(r)}).",
        f"Cycle time, filing to final decision: {_timing(r.cycle_time)} "
        f"({_plural(r.cycle_time.count, 'case')} decided by people).",
        f"{_oldest(r)} By age: {buckets}.",
        f"SLA breaches: {_plural(breaches.steps, 'step')}, {_plural(breaches.cases, 'case')}"
        + (f" (by tier: {tiers})." if tiers else "."),
        f"Escalations: {r.escalated}; reroutes: {r.rerouted}; info requests: "
        f"{r.info_requests}; revocations: {r.revocations}; manager decisions on behalf: "
        f"{r.manager_decisions}.",
        "Leakage (approved through exceptions): "
        + ("; ".join(_leak_parts(r)) if r.leakage else "none")
        + ".",
    ]
    for currency, leak in r.leakage.items():
        lines.append(f"  {currency} by code: {_amount_list(leak.by_code)}")
        lines.append(f"  {currency} by supplier: {_amount_list(leak.by_supplier)}")
    lines += [
        f"Rubber stamps: {_stamps(r)}.",
        f"Drift: {drift.stale_decisions} of {_plural(drift.decisions, 'decision')} taken under "
        f"a policy version no longer active; {len(drift.would_change)} of "
        f"{_plural(drift.cases, 'case')} the active version ({drift.active_version[:12]}) "
        "would now decide or route differently"
        + (f": {', '.join(drift.would_change)}." if drift.would_change else "."),
    ]
    for name, groups in r.breakdowns().items():
        lines += ["", f"{_TITLES[name]}:", *_table(groups)]
    return "\n".join([*lines, "", *remediation_lines(r.remediation)])


def _amount_list(amounts: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {amount:,.2f}" for name, amount in amounts.items())


def _table(groups: Mapping[str, Group]) -> list[str]:
    if not groups:
        return ["  none"]
    width = max(len("name"), *(len(name) for name in groups))
    rows = [f"  {'name':<{width}}  {'volume':>6}  {'timed':>6}  {'p50':>8}  {'p90':>8}"]
    for name, group in groups.items():
        t = group.timing
        rows.append(
            f"  {name:<{width}}  {group.volume:>6}  {t.count:>6}  "
            f"{duration_text(t.p50_s):>8}  {duration_text(t.p90_s):>8}"
        )
    return rows


def summary_text(report: KpiReport) -> str:
    """The few lines `/approvals stats` shows."""
    r, breaches = report, report.sla_breaches
    leaks = _leak_parts(r)
    more = len(leaks) - SHOWN_CURRENCIES
    leakage = "; ".join(leaks[:SHOWN_CURRENCIES]) + (f"; {more} more" if more > 0 else "")
    lines = [
        f"Cases filed since {at_text(r.since)}, {_scope(r, to_them=True)}:",
        f"{r.volume} filed, {r.auto_decided} decided by policy ({_share(r)}); cycle time "
        f"{_timing(r.cycle_time)}.",
        _oldest(r),
        f"SLA breaches: {_plural(breaches.steps, 'step')}, {_plural(breaches.cases, 'case')}.",
        f"Rubber stamps: {_stamps(r)}.",
        f"Leakage: {leakage or 'none'}.",
    ]
    return "\n".join(lines)
