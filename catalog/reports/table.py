"""The metrics table as plain text, for `catalog report`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog.reports.metrics import DurationStats, compute_metrics
from catalog.settings import Settings
from catalog.timefmt import human_duration


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _cells(stats: DurationStats) -> list[str]:
    return [
        human_duration(stats.median),
        human_duration(stats.p90),
        human_duration(stats.mean),
        human_duration(stats.target),
        _pct(stats.attainment),
    ]


def render_table(session: Session, settings: Settings, group_by: str) -> str:
    report = compute_metrics(session, settings, group_by=group_by)
    header = [
        group_by,
        "count",
        "open",
        "MTTD med",
        "p90",
        "mean",
        "target",
        "met",
        "MTTR med",
        "p90",
        "mean",
        "target",
        "met",
    ]
    rows = [header]
    for g in report.groups:
        rows.append([g.key, str(g.count), str(g.open), *_cells(g.ttd), *_cells(g.ttr)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    origin = "started_at" if settings.mttr_from == "started" else "detected_at"
    lines.append("")
    lines.append(
        f"MTTD = detected_at - started_at; MTTR = recovered_at - {origin}. "
        f"'met' = share at or under target. Periods in {settings.timezone}."
    )
    return "\n".join(lines)
