"""Trend charts as SVG, drawn by pygal on the server.

pygal is a maintained charting library that renders complete SVG in Python:
nothing to fetch from a CDN, no JavaScript to serve, and the result works
offline and prints. Charts are served as `image/svg+xml` from our own route
(with its own CSP for pygal's embedded <style>) and shown with <object>, so
each period's point or bar links to the incidents behind it; each chart has
its figures in a table beside it on the page.

Two sizes, so text reads at 11 px or more as displayed: `wide` (900 units,
14-unit text) for a page 800 px wide or more, where it is shown at 740 px or wider,
and `narrow` (480 units, 16-unit text) for a phone, shown at 340-560 px.

Durations are plotted in minutes (pygal needs plain numbers) and labelled in
the same human form as the tables.
"""

from __future__ import annotations

import re
from datetime import date

import pygal
from flask import Response
from pygal.style import Style

from catalog.reports.metrics import MetricsReport
from catalog.timefmt import human_duration

SIZES = {
    "wide": {"width": 900, "height": 300, "font": 14, "columns": 5, "labels": 13},
    "narrow": {"width": 480, "height": 400, "font": 16, "columns": 0, "labels": 5},
}


def _style(font: int) -> Style:
    return Style(
        **_STYLE_BASE,
        label_font_size=font,
        major_label_font_size=font,
        legend_font_size=font,
        title_font_size=font + 2,
        value_font_size=font,
        value_label_font_size=font,
        tooltip_font_size=font,
        no_data_font_size=font + 4,
    )


_STYLE_BASE: dict[str, str | tuple[str, ...]] = dict(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#e3e6eb",
    opacity=".9",
    opacity_hover="1",
    colors=("#3b4bd8", "#0e7c86", "#b54708", "#8e97a8", "#b42318"),
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    guide_stroke_color="#eceef2",
    major_guide_stroke_color="#d5d9e0",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
)

MAX_LABELLED_POINTS = 26
PARTS = {"ttd": "MTTD — time to detect", "ttr": "MTTR — time to recover"}


def _config(title: str, labels: list[str], size: str) -> dict[str, object]:
    shape = SIZES[size]
    return {
        "title": title,
        "style": _style(shape["font"]),
        "width": shape["width"],
        "height": shape["height"],
        "js": [],  # no script: the page's own CSP forbids it, and never from a CDN
        "disable_xml_declaration": False,
        # A narrow chart's legend is the page's (templates/_macros/reports.html): pygal
        # does not leave room for larger legend text under the plot.
        "show_legend": bool(shape["columns"]),
        "legend_at_bottom": True,
        "legend_at_bottom_columns": shape["columns"] or 1,
        "show_x_guides": False,
        "show_minor_x_labels": False,
        "x_labels_major_every": max(1, -(-len(labels) // shape["labels"])),
        "truncate_label": -1,
        "truncate_legend": -1,
        "margin": 12,
        "margin_right": 36,  # room for the last point's n= label
        "spacing": 10,
        "include_x_axis": True,
        "allow_interruptions": True,
        "print_values": False,
        "dots_size": 2.5,
        "no_data_text": "No incidents in this range",
    }


_SCRIPT = re.compile(rb"<script\b[^>]*>.*?</script>", re.DOTALL)


def _without_script(svg: bytes) -> bytes:
    """pygal writes an inline <script> with its config even with `js=[]`; the chart's own
    CSP forbids scripts (it is a document in an <object>), so it is not sent at all."""
    return _SCRIPT.sub(b"", svg)


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


def _linked(values: list[object], links: list[str] | None, what: str) -> list[object]:
    """Each period's value as a link to its incidents (opened in the page, not the object)."""
    if not links:
        return values
    out: list[object] = []
    for value, href in zip(values, links, strict=True):
        if value is None:
            out.append(None)
            continue
        point = dict(value) if isinstance(value, dict) else {"value": value}
        point["xlink"] = {"href": href, "target": "_top", "title": what}
        out.append(point)
    return out


def trend_chart(
    report: MetricsReport, part: str, *, size: str = "wide", links: list[str] | None = None
) -> bytes:
    """Median, rolling median, p90 and mean per period against the target line."""
    groups = report.groups
    labels = period_labels([g.key for g in groups], report.group_by)

    def in_minutes(values: list[float | None]) -> list[float | None]:
        return [None if v is None else round(v / 60, 2) for v in values]

    def minutes(stat: str) -> list[float | None]:
        return in_minutes([getattr(getattr(g, part), stat) for g in groups])

    targets = [getattr(g, part).target / 60 for g in groups]
    rolling_minutes = in_minutes([getattr(g, f"{part}_rolling_median") for g in groups])
    plotted = [v for stat in ("median", "p90", "mean") for v in minutes(stat) if v is not None]
    logarithmic, ticks = _axis(plotted + targets) if plotted else (False, [])
    title = f"{PARTS[part]}, per {report.group_by}" + (" (log scale)" if logarithmic else "")
    chart = pygal.Line(**_config(title, labels, size), logarithmic=logarithmic)
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
        if len(groups) <= MAX_LABELLED_POINTS // (2 if size == "narrow" else 1):
            medians = [
                None if v is None else {"value": v, "label": f"n={n}"}
                for v, n in zip(medians, samples, strict=True)
            ]
            chart.print_labels = True
        chart.add(
            "median",
            _linked(medians, links, "The incidents of this period"),
            stroke_style={"width": 3},
        )
        chart.add(
            "rolling median",  # of this period and the ROLLING_PERIODS - 1 before
            rolling_minutes,
            show_dots=False,
            stroke_style={"width": 2},
        )
        chart.add("p90", minutes("p90"))
        chart.add("mean", minutes("mean"), stroke_style={"dasharray": "2, 4"})
        chart.add(
            "target", targets, show_dots=False, stroke_style={"width": 2, "dasharray": "8, 5"}
        )
    return _without_script(chart.render())


def count_chart(
    report: MetricsReport, *, size: str = "wide", links: list[str] | None = None
) -> bytes:
    """Incidents started per period; each bar links to its incidents."""
    labels = period_labels([g.key for g in report.groups], report.group_by)
    chart = pygal.Bar(**_config(f"Incidents per {report.group_by}", labels, size))
    chart.x_labels = labels
    chart.show_legend = False
    if any(g.count for g in report.groups):
        counts: list[object] = [g.count for g in report.groups]
        chart.add("incidents", _linked(counts, links, "The incidents of this period"))
    return _without_script(chart.render())


def ecdf_chart(baseline: list[float], canary: list[float], *, size: str = "wide") -> bytes:
    """Both samples' empirical CDFs, each drawn through its 0th to 100th percentiles: the
    share of requests (y) answered within a latency (x, ms). The KS statistic is the
    largest vertical gap between the two lines."""
    config = _config("Latency CDF: baseline and canary", [], size)
    chart = pygal.XY(**{**config, "show_legend": True, "legend_at_bottom_columns": 2})
    chart.x_title = "latency (ms)"
    chart.value_formatter = lambda share: f"{share:.0%}"
    chart.x_value_formatter = lambda ms: f"{ms:g} ms"
    for name, quantiles in (("baseline", baseline), ("canary", canary)):
        chart.add(
            name,
            [(ms, q / 100) for q, ms in enumerate(quantiles)],
            show_dots=False,
            stroke_style={"width": 3 if name == "canary" else 2},
        )
    return _without_script(chart.render())


def svg_response(svg: bytes) -> Response:
    """A chart for an <object> on our pages: pygal's SVG carries its own <style>."""
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # shown in our pages' <object>
    return response
