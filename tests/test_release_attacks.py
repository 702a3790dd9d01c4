"""Attacks on the release features, found by reviewing them: each was a 500 or a hole.

Numbers too large for a float, integers of thousands of digits, cells missing from a row,
superscript digits, a backup's canary that overflows its column, and a release deleted
while an incident is being linked to it. Each is refused by name, or cannot happen, and
nothing is left half-written. Both databases.
"""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from factories import incident_data, make_release
from helpers.api import assert_fields, count
from helpers.backup import build_catalog, export, fresh_database, restore, second_app, state
from sqlalchemy import select

import catalog.incidents.service as incidents
from catalog.errors import ConflictError, ValidationError
from catalog.incidents.models import Incident
from catalog.releases.models import Release
from catalog.releases.service import delete_release

HUGE = int("1" + "0" * 320)  # a JSON integer no float can hold


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/releases", {"guard_error_rate": HUGE}, "guard_error_rate"),
        ("/api/v1/releases", {"canary_percent": HUGE}, "canary_percent"),
        ("/api/v1/readiness-bars?service=chat-api", {"error_rate_10x": HUGE}, "error_rate_10x"),
    ],
)
def test_numbers_too_large_for_a_float_are_refused_by_name(client, url, body, field):
    base = {"service": "chat-api", "tag": "v1", "deployed_at": "2026-03-02T12:00:00Z"}
    send = client.put if "bars" in url else client.post
    response = send(url, json=body if "bars" in url else {**base, **body})
    assert_fields(response, field)


def test_a_tier_with_a_huge_number_is_refused(client, session):
    release = make_release(session)
    typed = {"tier": "1x", "rps": HUGE, "p50_ms": 1, "p99_ms": 2, "error_rate": 0, "requests": 1}
    assert_fields(client.post(f"/api/v1/releases/{release.id}/load-tests", json=typed), "rps")
    for value in (HUGE, "9" * 5000):
        k6 = (
            '{"metrics": {"http_req_duration": {"med": 1, "p(95)": 2, "p(99)": 3}, '
            '"http_reqs": {"count": 10, "rate": 1}, "http_req_failed": {"value": '
            + str(value)
            + "}}}"
        ).encode()
        response = client.post(
            f"/api/v1/releases/{release.id}/load-tests/import?tier=1x&format=k6", data=k6
        )
        assert_fields(response, "file")
    assert count(session, "load_tests") == 0


@pytest.mark.parametrize(
    ("canary", "words"),
    [
        (b"latency_ms,status\n" + b"12,200\n" * 25 + b"13\n", "Line 27: cannot read status ''"),
        (b"latency_ms,status\n" + b"12,\xc2\xb2\xe2\x81\xb0\xe2\x81\xb0\n" * 25, "Line 2"),
        (b"latency_ms,success\n" + b"12,true\n" * 25 + b"13,\n", "Line 27: cannot read success"),
    ],
)
def test_canary_rows_that_cannot_be_read_are_refused_by_line(client, session, canary, words):
    release = make_release(session)
    baseline = b"\n".join(b"%d" % (10 + i % 7) for i in range(30))
    response = client.post(
        f"/api/v1/releases/{release.id}/canary",
        data={
            "baseline": (io.BytesIO(baseline), "b.csv"),
            "canary": (io.BytesIO(canary), "c.csv"),
        },
        content_type="multipart/form-data",
    )
    fields = assert_fields(response, "canary")
    assert words in fields["canary"][0], fields["canary"][0]
    assert count(session, "canary_analyses") == 0


@pytest.mark.parametrize(
    ("value", "words"),
    [(3_000_000_000, "whole number of samples"), (20.5, "whole number"), (HUGE, "whole")],
)
def test_a_backups_canary_cannot_overflow_its_columns(
    app, session, app_config, tmp_path, value, words
):
    build_catalog(session)
    document = json.loads(export(app))
    document["releases"][0]["canary"]["canary_count"] = value
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        before = state(other)
        with pytest.raises(ValidationError) as caught:
            restore(other, document)
        [(field, messages)] = caught.value.fields.items()
        assert field.endswith("canary.canary_count") and words in messages[0]
        assert state(other) == before


def test_a_backups_canary_without_its_reasons_still_restores(app, session, app_config, tmp_path):
    build_catalog(session)
    document = json.loads(export(app))
    del document["releases"][0]["canary"]["reasons"]
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        assert restore(other, document).releases_created == 2


def test_the_team_none_row_lists_the_releases_without_a_team(client, session):
    make_release(session, team="", tag="solo")
    make_release(session, team="assistant", tag="teamed")
    page = client.get("/releases/?team=(none)").get_data(as_text=True)
    assert "solo" in page and "teamed" not in page


def test_a_release_deleted_while_an_incident_links_it_leaves_no_dangling_cause(app, session):
    """The incident's write resolves the release, then pauses; meanwhile another request
    deletes the release. SQLite: the delete commits and the incident is refused when it
    writes. PostgreSQL: the delete waits for the incident (FOR SHARE), then is refused."""
    release = make_release(session)
    make = app.extensions["catalog.sessionmaker"]
    resolved, outcome = threading.Event(), {}
    original = incidents._resolve_release

    def resolve_then_pause(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = original(*args, **kwargs)
        resolved.set()
        time.sleep(0.5)  # the other request's chance to delete it
        return found

    def delete_meanwhile() -> None:
        resolved.wait(10)
        other = make()
        try:
            delete_release(other, other.get(Release, release.id))
            other.commit()
            outcome["delete"] = "deleted"
        except ConflictError:
            other.rollback()
            outcome["delete"] = "refused"
        finally:
            other.close()

    deleter = threading.Thread(target=delete_meanwhile)
    deleter.start()
    writer = make()
    incidents._resolve_release = resolve_then_pause
    try:
        incidents.create_incident(writer, incident_data(release=release.id))
        writer.commit()
        outcome["incident"] = "created"
    except ValidationError as exc:
        writer.rollback()
        outcome["incident"] = "refused: " + exc.fields["release"][0]
    finally:
        incidents._resolve_release = original
        writer.close()
    deleter.join(20)
    assert outcome in (
        {"incident": "created", "delete": "refused"},
        {
            "incident": f"refused: Caused by release: release #{release.id} was just deleted.",
            "delete": "deleted",
        },
    ), outcome
    session.expire_all()
    releases = set(session.scalars(select(Release.id)))
    causes = set(
        session.scalars(select(Incident.release_id).where(Incident.release_id.is_not(None)))
    )
    assert causes <= releases
