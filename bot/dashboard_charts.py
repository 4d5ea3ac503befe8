"""The dashboard's charts: SVG drawn on the server by pygal, to inline in the page.

pygal's SVG carries a script (its configuration, and a tooltip library it would fetch from a
CDN); both are taken out, with its comments, so the page loads nothing and runs no script:
values are printed on the bars instead of shown on hover. Every text in an SVG (codes,
suppliers, names) is escaped by the XML serializer.
"""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

import pygal
from markupsafe import Markup
from pygal.graph.graph import Graph
from pygal.style import Style

from policy.dashboard_data import ApproverLoad, Volume
from policy.kpi_report import AGE_BUCKETS, KpiReport

# pygal puts a finder for its map plugins on sys.meta_path with only the legacy find_module
# API, which Python then warns about on every import that reaches it; no map is drawn here.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

TOP_GROUPS = 10  # bars in a breakdown (suppliers, codes); the rest are summed as "others"
_STYLE_OPTIONS = {
    "background": "#ffffff",
    "plot_background": "#ffffff",
    "foreground": "#333333",
    "foreground_strong": "#111111",
    "foreground_subtle": "#777777",
    "font_family": "system-ui, sans-serif",
    "value_font_size": 11,
    "label_font_size": 11,
    "legend_font_size": 12,
}
_STYLE = Style(
    colors=("#2f6fb0", "#e07b39", "#3a9d5d", "#b0413e", "#7a5cb0", "#c9a227", "#4aa3a8"),
    **_STYLE_OPTIONS,
)
_WARNING = Style(colors=("#e07b39",), **_STYLE_OPTIONS)  # a rate to worry about
_COMMON = {
    "style": _STYLE,
    "js": [],  # no tooltip script from a CDN
    "disable_xml_declaration": True,
    "width": 720,
    "height": 320,
    "print_values": True,
    "legend_at_bottom": True,
    "margin": 12,
    "truncate_label": -1,  # names and codes whole: they are what a bar is read by
}


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round ticks from 0 past `top` (about `count` of them): steps of 1, 2 or 5 x 10^n."""
    if top <= 0:
        return [0, 1]
    rough = top / count
    step = float(10 ** math.floor(math.log10(rough)))
    step = next(s * step for s in (1, 2, 5, 10) if s * step >= rough)
    step = max(step, 1.0)  # counts and amounts: whole ticks
    return [i * step for i in range(math.ceil(top / step) + 1)]


def svg(chart: Graph) -> Markup:
    """The chart as inline SVG, without scripts or comments."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if child.tag == "script" or child.tag is ET.Comment:
                parent.remove(child)
    return Markup(ET.tostring(tree, encoding="unicode"))  # noqa: S704 (escaped by the serializer)


def volume_chart(volume: Volume) -> Markup | None:
    if not volume.counts:
        return None
    chart = pygal.StackedBar(
        **_COMMON
        | {
            "print_values": False,
            "x_label_rotation": 45,
            "show_minor_x_labels": False,
            "y_labels": _ticks(max(map(sum, zip(*volume.counts.values(), strict=True)))),
        }
    )
    chart.x_labels = [f"{start:%m-%d}" for start in volume.starts]
    chart.x_labels_major_every = max(len(volume.starts) // 10, 1)
    for code, counts in volume.counts.items():
        chart.add(code, list(counts))
    return svg(chart)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def cycle_chart(report: KpiReport) -> Markup | None:
    tiers = {tier: g.timing for tier, g in report.by_tier.items() if g.timing.count}
    if not tiers:
        return None
    top = max(_hours(t.p90_s) or 0.0 for t in tiers.values())
    chart = pygal.Bar(**_COMMON | {"y_title": "hours, opened to decided", "y_labels": _ticks(top)})
    chart.x_labels = list(tiers)
    chart.add("p50", [_hours(t.p50_s) for t in tiers.values()])
    chart.add("p90", [_hours(t.p90_s) for t in tiers.values()])
    return svg(chart)


def aging_chart(report: KpiReport) -> Markup | None:
    buckets = report.open_by_age.buckets
    if not report.open_by_age.total:
        return None
    chart = pygal.Bar(
        **_COMMON
        | {"show_legend": False, "y_title": "open cases", "y_labels": _ticks(max(buckets.values()))}
    )
    chart.x_labels = list(AGE_BUCKETS)
    chart.add("open", [buckets[b] for b in AGE_BUCKETS])
    return svg(chart)


def _top(amounts: Mapping[str, float]) -> list[tuple[str, float]]:
    ranked = sorted(amounts.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked[:TOP_GROUPS]
    rest = sum(amount for _, amount in ranked[TOP_GROUPS:])
    return [*shown, ("others", rest)] if rest else shown


def amounts_chart(amounts: Mapping[str, float], currency: str) -> Markup:
    rows = _top(amounts)
    chart = pygal.HorizontalBar(
        **_COMMON
        | {
            "height": 80 + 28 * len(rows),
            "show_legend": False,
            "x_title": f"{currency} approved",
            "value_formatter": lambda v: f"{v:,.0f}",
            "y_labels": _ticks(max(amount for _, amount in rows)),
        }
    )
    chart.x_labels = [name for name, _ in reversed(rows)]
    chart.add(currency, [round(amount, 2) for _, amount in reversed(rows)])
    return svg(chart)


def approver_charts(
    loads: Sequence[ApproverLoad], names: Mapping[str, str]
) -> tuple[Markup, Markup] | None:
    """Two charts of the same approvers, busiest first: decisions cast, and the share of
    their approvals that were rubber stamps (none: no bar)."""
    if not loads:
        return None
    rows = list(reversed(loads))
    labels = [names.get(load.person, load.person) for load in rows]
    height = {"height": 90 + 30 * len(rows), "show_legend": False}
    most = max(load_.decisions for load_ in rows)
    load = pygal.HorizontalBar(
        **_COMMON | height | {"x_title": "decisions cast", "y_labels": _ticks(most)}
    )
    load.x_labels = labels
    load.add("decisions", [load_.decisions for load_ in rows])
    rate = pygal.HorizontalBar(
        **_COMMON
        | height
        | {
            "x_title": "rubber stamps, % of approvals",
            "y_labels": [0, 25, 50, 75, 100],
            "style": _WARNING,
        }
    )
    rate.x_labels = labels
    rate.add("rubber stamps", [_percent(load_.stamp_rate) for load_ in rows])
    return svg(load), svg(rate)


def _percent(share: float | None) -> int | None:
    return None if share is None else round(100 * share)
