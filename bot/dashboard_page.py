"""The dashboard as one HTML page: the KPI figures, the charts (bot.dashboard_charts), and
the cases found, each as the card the chat platforms show (bot.card_views) without buttons.

jinja2 with autoescape: every text from a case, a person or the policy is escaped; only the
charts' SVG, escaped by its own serializer, goes in as markup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2

from bot.card_views import build_card_view
from bot.dashboard_charts import (
    aging_chart,
    amounts_chart,
    approver_charts,
    cycle_chart,
    volume_chart,
)
from handlers.dashboard import MAX_LISTED, Dashboard
from handlers.people import name_of
from policy.kpi_report import FAST_SECONDS, KpiReport
from policy.kpi_text import duration_text
from policy.lifecycle import CaseStatus
from policy.model import Policy
from policy.names import at_text

DAY_CHOICES = (7, 30, 90, 365)
MAX_QUERY = 200  # characters of a search


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What the page was asked for: the search text, a status, the window in days."""

    q: str = ""
    status: CaseStatus | None = None
    days: int = 30


def _web_link(url: object) -> bool:
    """Only plain web addresses become links (a policy could carry any text as a URL)."""
    return isinstance(url, str) and url.startswith(("https://", "http://"))


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["web_link"] = _web_link
    return env


@functools.cache
def _template(name: str) -> jinja2.Template:
    text = (resources.files("bot") / "templates" / name).read_text(encoding="utf-8")
    return _environment().from_string(text)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _tiles(report: KpiReport) -> list[tuple[str, str]]:
    share = report.auto_decided_share
    stamps = report.rubber_stamps
    return [
        ("Cases filed", str(report.volume)),
        ("Decided by policy", "-" if share is None else f"{share:.0%}"),
        (
            "Cycle time p50 / p90",
            f"{duration_text(report.cycle_time.p50_s)} / {duration_text(report.cycle_time.p90_s)}",
        ),
        ("Open now", str(report.open_by_age.total)),
        ("SLA breaches (steps)", str(report.sla_breaches.steps)),
        (f"Approvals under {FAST_SECONDS}s", f"{stamps.fast} of {stamps.approvals}"),
    ]


def _oldest(report: KpiReport) -> str:
    oldest = report.open_by_age.oldest
    if oldest is None:
        return ""
    return f"The oldest: {oldest.ref}, open {duration_text(oldest.age_s)}."


def _found_text(found: int, query: PageQuery) -> str:
    searched = bool(query.q or query.status)
    what = _plural(found, "case") + (" match" if searched else "")
    if found > MAX_LISTED:
        return f"{what}; the newest {MAX_LISTED} are shown. Narrow the search to see others."
    return f"{what}." if found else ("No case matches." if searched else "No cases.")


def _per_day(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2f}"


def _remediation(policy: Policy, data: Dashboard, now: datetime) -> dict[str, Any]:
    """The open items (with their evidence) and the effect of those closed in the window."""
    open_items = [
        {
            "ref": item.ref,
            "what": item.code
            + (f", {item.per_field.replace('_', ' ')} {item.per_value}" if item.per_field else ""),
            "owner": name_of(policy, item.owner),
            "status": item.status.value,
            "opened": at_text(item.opened_at),
            "due": at_text(item.due_at),
            "overdue": item.due_at <= now,
            "cases": ", ".join(item.evidence.cases),
            "leakage": "; ".join(
                f"{total:,.2f} {currency}" for currency, total in item.evidence.leakage.items()
            ),
            "playbook": item.evidence.playbook,
        }
        for item in data.open_items
    ]
    closed = [
        {
            "ref": effect.ref,
            "what": effect.code + (f", {effect.key}" if effect.key else ""),
            "owner": name_of(policy, effect.owner),
            "closed": at_text(effect.closed_at),
            "root_cause": effect.root_cause,
            "before": _per_day(effect.before_per_day),
            "after": _per_day(effect.after_per_day),
            "window": f"{effect.window_days:g}",
        }
        for effect in data.closed
    ]
    return {"open": open_items, "closed": closed}


def render_dashboard(policy: Policy, data: Dashboard, query: PageQuery, now: datetime) -> str:
    report = data.report
    names = {person: name_of(policy, person) for person in report.by_approver}
    leakage = [
        {
            "currency": currency,
            "total": f"{leak.total:,.2f}",
            "cases": _plural(leak.cases, "case"),
            "by_code": amounts_chart(leak.by_code, currency),
            "by_supplier": amounts_chart(leak.by_supplier, currency),
        }
        for currency, leak in report.leakage.items()
    ]
    context: dict[str, Any] = {
        "viewer": name_of(policy, data.viewer),
        "scope": "the whole program" if report.person is None else "the cases you filed or decide",
        "since": at_text(report.since),
        "until": at_text(report.until),
        "q": query.q,
        "status": query.status.value if query.status else "",
        "statuses": [s.value for s in CaseStatus],
        "days": query.days,
        "day_choices": sorted({*DAY_CHOICES, query.days}),
        "max_query": MAX_QUERY,
        "tiles": _tiles(report),
        "period": data.volume.period,
        "charts": {
            "volume": volume_chart(data.volume),
            "cycle": cycle_chart(report),
            "aging": aging_chart(report),
            "approvers": approver_charts(data.approvers, names),
        },
        "oldest": _oldest(report),
        "fast": FAST_SECONDS,
        "leakage": leakage,
        "remediation": _remediation(policy, data, now),
        "found_text": _found_text(data.found, query),
        "cards": [build_card_view(policy, details, None, now) for details in data.listed],
    }
    return _template("dashboard.html").render(context)


def render_refusal(title: str, message: str, advice: str) -> str:
    """The page of a 4xx: what is wrong, and what to do."""
    return _template("refusal.html").render(title=title, message=message, advice=advice)
