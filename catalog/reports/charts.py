"""Trend charts as SVG, drawn by pygal on the server.

pygal is a maintained charting library that renders complete SVG in Python:
nothing to fetch from a CDN, no JavaScript to serve, and the result works
offline and prints. Charts are served as `image/svg+xml` from our own route
and shown with <img>, so pygal's embedded <style> never meets the page's CSP;
each has its figures in a table beside it on the page.

Durations are plotted in minutes (pygal needs plain numbers) and labelled in
the same human form as the tables.
"""

from __future__ import annotations

from datetime import date

import pygal
from pygal.style import Style

from catalog.reports.metrics import MetricsReport
from catalog.timefmt import human_duration

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#e3e6eb",
    opacity=".9",
    opacity_hover="1",
    colors=("#3b4bd8", "#b54708", "#8e97a8", "#b42318"),
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=11,
    tooltip_font_size=12,
    no_data_font_size=18,
    guide_stroke_color="#eceef2",
    major_guide_stroke_color="#d5d9e0",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
)

MAX_LABELLED_POINTS = 26
PARTS = {"ttd": "MTTD — time to detect", "ttr": "MTTR — time to recover"}


def _config(title: str, labels: list[str]) -> dict[str, object]:
    return {
        "title": title,
        "style": STYLE,
        "width": 900,
        "height": 300,
        "js": [],  # no script: shown as an image, and never from a CDN
        "disable_xml_declaration": False,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "show_x_guides": False,
        "show_minor_x_labels": False,
        "x_labels_major_every": max(1, -(-len(labels) // 13)),
        "truncate_label": -1,
        "margin": 12,
        "margin_right": 36,  # room for the last point's n= label
        "spacing": 10,
        "include_x_axis": True,
        "allow_interruptions": True,
        "print_values": False,
        "dots_size": 2.5,
        "no_data_text": "No incidents in this range",
    }


def period_labels(keys: list[str], period: str) -> list[str]:
    """'Aug 2026' for months; '24 Aug' for weeks, with the year when the range spans two."""
    days = [date.fromisoformat(k) for k in keys]
    if period == "month":
        return [d.strftime("%b %Y") for d in days]
    with_year = len({d.year for d in days}) > 1
    return [f"{d.day} {d:%b}" + (f" {d:%y}" if with_year else "") for d in days]


# Round durations for axis ticks, in minutes: steps for a linear axis, and
# roughly three-fold ones for a logarithmic axis.
LINEAR_TICKS = [1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440, 2880, 10080, 40320]
LOG_TICKS = [0.25, 1, 5, 15, 60, 240, 720, 1440, 4320, 10080, 40320]


def _axis(values: list[float]) -> tuple[bool, list[float]]:
    """(logarithmic?, tick values in minutes) for the plotted values.

    Linear while the values are of one order; logarithmic when a few outlier
    periods (a multi-hour p90) would squash the medians and the target line
    flat at the bottom. Ticks are round durations either way.
    """
    top = max(values)
    positive = sorted(v for v in values if v > 0)
    typical = positive[len(positive) * 3 // 4] if positive else top
    logarithmic = bool(positive) and min(values) > 0 and top > 5 * typical
    if logarithmic:
        low, high = positive[0], top
        below = [t for t in LOG_TICKS if t <= low] or [LOG_TICKS[0]]
        above = [t for t in LOG_TICKS if t >= high] or [LOG_TICKS[-1]]
        return True, [t for t in LOG_TICKS if below[-1] <= t <= above[0]]
    step = next((t for t in LINEAR_TICKS if top / t <= 6), LINEAR_TICKS[-1])
    return False, [step * i for i in range(int(top // step) + 2)]


def trend_chart(report: MetricsReport, part: str) -> bytes:
    """Median, p90 and mean per period against the target line, for ttd or ttr."""
    groups = report.groups
    labels = period_labels([g.key for g in groups], report.group_by)

    def minutes(stat: str) -> list[float | None]:
        values = [getattr(getattr(g, part), stat) for g in groups]
        return [None if v is None else round(v / 60, 2) for v in values]

    targets = [getattr(g, part).target / 60 for g in groups]
    plotted = [v for stat in ("median", "p90", "mean") for v in minutes(stat) if v is not None]
    logarithmic, ticks = _axis(plotted + targets) if plotted else (False, [])
    title = f"{PARTS[part]}, per {report.group_by}" + (" (log scale)" if logarithmic else "")
    chart = pygal.Line(**_config(title, labels), logarithmic=logarithmic)
    chart.x_labels = labels
    chart.value_formatter = lambda minutes: human_duration(minutes * 60)
    if ticks:
        chart.y_labels = ticks
        chart.range = (ticks[0], ticks[-1])
    if plotted:
        # Each median point is labelled with its sample size (n = incidents with a
        # value), while the points are few enough for the labels to be read.
        samples = [getattr(g, part).samples for g in groups]
        medians: list[object] = minutes("median")
        if len(groups) <= MAX_LABELLED_POINTS:
            medians = [
                None if v is None else {"value": v, "label": f"n={n}"}
                for v, n in zip(medians, samples, strict=True)
            ]
            chart.print_labels = True
        chart.add("median", medians, stroke_style={"width": 3})
        chart.add("p90", minutes("p90"))
        chart.add("mean", minutes("mean"), stroke_style={"dasharray": "2, 4"})
        chart.add(
            "target", targets, show_dots=False, stroke_style={"width": 2, "dasharray": "8, 5"}
        )
    return chart.render()


def count_chart(report: MetricsReport) -> bytes:
    """Incidents started per period."""
    labels = period_labels([g.key for g in report.groups], report.group_by)
    chart = pygal.Bar(**_config(f"Incidents per {report.group_by}", labels))
    chart.x_labels = labels
    chart.show_legend = False
    if any(g.count for g in report.groups):
        chart.add("incidents", [g.count for g in report.groups])
    return chart.render()
