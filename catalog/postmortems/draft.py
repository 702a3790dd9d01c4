"""A post-mortem drafted from the record, and what keeps an unfinished one from publishing.

The app knows every time of an incident: its milestones, its timeline, its
durations against its vectors' targets. A new post-mortem starts from them and
holds only facts: the summary logged with the incident, the impact's duration,
the timeline, the vectors. Nothing in it is a placeholder, so a team that has
nothing to add may publish it once the root cause is written; sections to add
(contributing factors, what went well or wrong) are suggested beside the editor.
The template of earlier versions was guidance text: while a line of it is left
in a body, or the root cause is empty, the post-mortem cannot be published,
because the dossier counts published post-mortems as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from catalog.timefmt import format_local, human_duration

if TYPE_CHECKING:
    from catalog.incidents.models import Incident, IncidentUpdate
    from catalog.reports.metrics import IncidentDurations

# Each section's guidance, as the template of earlier versions wrote it: a body that
# still holds one of these lines has a section nobody wrote.
GUIDANCE = {
    "Summary": "What happened, in two or three sentences a newcomer would understand.",
    "Impact": "Who was affected, how badly, for how long (requests failed, users, revenue, "
    "SLO budget burned).",
    "Contributing factors": "What made it more likely, larger or slower to fix.",
    "What went well": "What to keep doing.",
    "What went wrong": "Where we got lucky or lost time.",
    "Root cause": "The underlying fault, not the trigger.",
}
_HH_MM = re.compile(r"^\s*-\s*HH:MM\b")  # the old template's timeline placeholders
_SECTION = re.compile(r"^##\s+(.+?)\s*$")

MILESTONES = (
    ("started_at", "impact began"),
    ("detected_at", "detected"),
    ("acknowledged_at", "acknowledged"),
    ("mitigated_at", "mitigated"),
    ("recovered_at", "recovered"),
)
SUMMARY_CHARS = 4_000
"""Of the incident's summary, what a draft quotes (a draft must fit a post-mortem's body)."""
TIMELINE_ENTRIES = 40
"""Entries a draft lists; a longer timeline is on the incident page, which the draft links."""
ENTRY_TEXT = 160


def placeholder_sections(body: str) -> list[str]:
    """The sections whose template text is still there, in the order they appear."""
    found: list[str] = []
    section = "(before the first heading)"
    for line in body.splitlines():
        if heading := _SECTION.match(line):
            section = heading[1]
            continue
        text = line.strip().removeprefix("- ").strip()
        if (text in GUIDANCE.values() or _HH_MM.match(line)) and section not in found:
            found.append(section)
    return found


@dataclass(frozen=True)
class VectorLine:
    name: str
    url: str
    mttd_target_minutes: int
    mttr_target_minutes: int


def draft_body(
    incident: Incident,
    updates: Sequence[IncidentUpdate],
    durations: IncidentDurations,
    vectors: Iterable[VectorLine],
    *,
    zone: ZoneInfo,
    incident_url: str,
) -> str:
    """The Markdown a new post-mortem starts from: the record, written out."""
    tz = zone.key
    summary = (incident.summary or "").strip()
    if len(summary) > SUMMARY_CHARS:  # the body has a limit; the incident keeps the whole
        summary = summary[: SUMMARY_CHARS - 1].rstrip() + "…"
    lines = ["## Summary", summary or incident.title, "", "## Impact"]
    lines += _impact(incident, durations, zone)
    lines += ["", "## Timeline", f"All times in {tz}.", ""]
    lines += _timeline(incident, updates, zone, incident_url)
    lines += ["", "## Failure vectors"]
    for v in vectors:
        lines.append(
            f"- [{v.name}]({v.url}): detection signals and mitigation playbook in the catalog; "
            f"targets MTTD {v.mttd_target_minutes} min, MTTR {v.mttr_target_minutes} min."
        )
    lines += [
        "",
        "## Action items",
        "Tracked in the action items below, each with an owner and a due date.",
        "",
    ]
    return "\n".join(lines)


def _impact(incident: Incident, d: IncidentDurations, zone: ZoneInfo) -> list[str]:
    started = format_local(incident.started_at, zone)
    if incident.recovered_at is None:
        lasted = f"Impact began {started} and is **not over yet** (the incident is open)."
    else:
        lasted = (
            f"Impact lasted **{human_duration(d.impact)}** "
            f"({started} → {format_local(incident.recovered_at, zone)})."
        )
    detect = (
        f"Time to detect **{human_duration(d.ttd)}** against a target of "
        f"{human_duration(d.ttd_target)} ({'met' if d.ttd_met else 'missed'})"
    )
    if d.ttr is None:
        recover = "time to recover: still open"
    else:
        recover = (
            f"time to recover **{human_duration(d.ttr)}** against "
            f"{human_duration(d.ttr_target)} ({'met' if d.ttr_met else 'missed'})"
        )
    return [lasted, f"{detect}; {recover}."]


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    text: str
    """A milestone's name, or an entry's Markdown on one line, shortened."""
    milestone: bool


def timeline_rows(
    incident: Incident, updates: Sequence[IncidentUpdate], *, authors: bool = True
) -> list[TimelineRow]:
    """An incident's milestones and timeline entries in time order (a milestone first at
    a tie). A milestone click's entry is the milestone itself, listed once."""
    rows: list[tuple[datetime, int, TimelineRow]] = []
    for order, (field, what) in enumerate(MILESTONES):
        value = getattr(incident, field)
        if value is not None:
            rows.append((value, order, TimelineRow(value, what, True)))
    for entry in updates:
        if entry.kind == "milestone" or (entry.kind == "roles" and not authors):
            continue  # a milestone is listed once; who held a role is a name too
        text = " ".join(entry.body.split())
        if len(text) > ENTRY_TEXT:
            text = text[: ENTRY_TEXT - 1].rstrip() + "…"
        if authors:
            text += f" ({entry.author_label})"
        rows.append((entry.at, 10, TimelineRow(entry.at, text, False)))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row for _at, _order, row in rows]


def _timeline(
    incident: Incident, updates: Sequence[IncidentUpdate], zone: ZoneInfo, url: str
) -> list[str]:
    rows = timeline_rows(incident, updates[:TIMELINE_ENTRIES])
    lines = [
        f"- {format_local(row.at, zone)} — " + (f"**{row.text}**" if row.milestone else row.text)
        for row in rows
    ]
    if len(updates) > TIMELINE_ENTRIES:
        lines.append(f"- … the whole timeline is on [the incident page]({url}).")
    return lines
