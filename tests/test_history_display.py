"""History that reads (issue 12): before and after side by side, times in the reader's zone,
a long Markdown change as the lines that changed with *show all*, a paginated incident History."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from factories import make_incident

from catalog.audit.display import DIFF_LINES, change_rows
from catalog.incidents.service import update_incident

BERLIN = ZoneInfo("Europe/Berlin")


def test_short_values_and_times_read_as_they_are() -> None:
    rows = change_rows(
        {
            "severity": ["SEV3", "SEV1"],
            "recovered_at": [None, "2026-03-02T12:16:00+00:00"],
            "vectors": [["data-drift"], ["data-drift", "dependency-latency"]],
        },
        BERLIN,
    )
    assert [(r.field, r.before, r.after, r.before_full) for r in rows] == [
        ("recovered at", "—", "2026-03-02 13:16:00 CET", None),
        ("severity", "SEV3", "SEV1", None),
        ("vectors", "data-drift", "data-drift, dependency-latency", None),
    ]


def test_a_long_text_shows_the_changed_lines_and_keeps_the_whole() -> None:
    before = "\n".join(f"line {n}" for n in range(40))
    after = before.replace("line 7", "line seven").replace("line 30", "line thirty")
    (row,) = change_rows({"body": [before, after]}, BERLIN)
    assert (row.before, row.after) == ("line 7\nline 30", "line seven\nline thirty")
    assert (row.before_full, row.after_full) == (before, after)
    many = "\n".join(f"new {n}" for n in range(DIFF_LINES + 3))
    (row,) = change_rows({"body": [None, many]}, BERLIN)
    assert row.after.endswith("… 3 more changed lines") and row.before == "—"


def test_the_incident_page_shows_history_as_a_table_page_by_page(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    for n in range(25):
        update_incident(session, incident, {"title": f"Renamed {n}", "version": incident.version})
        session.commit()
    page = client.get(f"/incidents/{incident.id}").text
    assert 'class="table audit-changes"' in page
    assert "Renamed 24" in page and "Renamed 3</td>" not in page
    assert "Older changes" in page
    older = client.get(f"/incidents/{incident.id}?history=2").text
    assert "Renamed 3" in older and "Newer changes" in older
    assert client.get(f"/incidents/{incident.id}?history=x").status_code == 200  # read as 1
