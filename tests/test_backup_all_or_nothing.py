"""The JSON backup, all or nothing: one bad record anywhere refuses the whole backup.

One bad record anywhere, even after many good ones were flushed, leaves the database
exactly as it was, with the record's place named (by index and uid); a document that is
not a backup, or a file that cannot be read at all, is refused as the file. A byte order
mark is fine, and the format is told from the extension or the content.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from factories import make_incident
from helpers.backup import build_catalog, delete_all_incidents, export, restore, state

from catalog.errors import ValidationError
from catalog.exports.backup import FORMAT
from catalog.imports.formats import detect_format, run_import

DELETE = object()  # _set's value for "take the key out"


def _set(path: str, value: Any):  # type: ignore[no-untyped-def]
    """A change to a backup document at a dotted path such as `incidents.2.started_at`."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


BAD_RECORDS = {  # the kinds of mistake a hand-edited or damaged backup holds
    "bad timestamp": (_set("incidents.2.started_at", "yesterday"), "incidents[2].started_at"),
    "naive timestamp": (
        _set("incidents.2.started_at", "2026-03-02T12:00:00"),
        "incidents[2].started_at",
    ),
    "detected before started": (
        _set("incidents.2.detected_at", "2026-03-02T11:00:00Z"),
        "incidents[2].detected_at",
    ),
    "unknown vector slug": (
        _set("incidents.2.vectors", ["no-such-vector"]),
        "incidents[2].vectors",
    ),
    "missing uid": (_set("incidents.2.uid", DELETE), "incidents[2].uid"),
    "unknown key": (_set("incidents.2.colour", "red"), "incidents[2].colour"),
    "bad action item title": (
        _set("incidents.2.postmortem.action_items.0.title", ""),
        "incidents[2].postmortem.action_items[0].title",
    ),
    "bad vector name": (_set("vectors.1.name", ""), "vectors[1].name"),
    "wrong format": (_set("format", "something-else"), "format"),
    "wrong version": (_set("version", 4), "version"),
    "incidents not a list": (_set("incidents", {"0": {}}), "incidents"),
}
MORE_BAD_RECORDS = [
    (_set("incidents.2.vectors", []), "incidents[2].vectors"),
    (_set("incidents.2.uid", "has spaces"), "incidents[2].uid"),
    (_set("incidents.2.uid", "x" * 41), "incidents[2].uid"),
    (_set("incidents.2.severity", "SEV9"), "incidents[2].severity"),
    (_set("incidents.2.title", "bell\x07"), "incidents[2].title"),
    (_set("incidents.2.recovered_at", 1772452800), "incidents[2].recovered_at"),
    (_set("incidents.2.external_source", "statuspage"), "incidents[2].external_id"),
    (
        _set("incidents.2.postmortem.action_items.0.due_on", "soon"),
        "incidents[2].postmortem.action_items[0].due_on",
    ),
    (
        _set("incidents.2.postmortem.action_items.0.link", "ftp://x"),
        "incidents[2].postmortem.action_items[0].link",
    ),
    (
        _set("incidents.2.postmortem.action_items.0.priority", 1),
        "incidents[2].postmortem.action_items[0].priority",
    ),
    (_set("incidents.2.postmortem.status", "done"), "incidents[2].postmortem.status"),
    (_set("incidents.2.postmortem.owner", "x"), "incidents[2].postmortem.owner"),
    (_set("incidents.2.postmortem", "none"), "incidents[2].postmortem"),
    (_set("incidents.2", "not an object"), "incidents[2]"),
    (_set("vectors.1.slug", "Not A Slug"), "vectors[1].slug"),
    (_set("vectors.1.mttr_target_minutes", 0), "vectors[1].mttr_target_minutes"),
    (_set("vectors.1.archived", True), "vectors[1].archived"),
    (_set("vectors.1.created_at", "long ago"), "vectors[1].created_at"),
    (_set("vectors.1", ["not", "an", "object"]), "vectors[1]"),
    (_set("format", DELETE), "format"),
    (_set("version", "1"), "version"),
    (_set("vectors", None), "vectors"),
    # found in review: each was a 500 or slipped through
    (_set("incidents.2.external_id", []), "incidents[2].external_id"),
    (_set("incidents.2.external_source", {}), "incidents[2].external_source"),
    (_set("incidents.2.uid", "zz\n"), "incidents[2].uid"),
    (_set("version", True), "version"),
    (_set("version", 1.0), "version"),
]


def assert_refused(app, document: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    before = state(app)
    with pytest.raises(ValidationError) as caught:
        restore(app, document)
    assert field in caught.value.fields, caught.value.fields
    if field.startswith("incidents[2]."):
        assert caught.value.message.startswith("Record incidents[2] ")
        assert caught.value.message.endswith("is refused; nothing was imported.")
    assert state(app) == before  # the vector change and incidents[0..1] were rolled back


@pytest.mark.parametrize("change, field", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_one_bad_record_refuses_the_whole_backup_and_names_its_place(
    app, small_backup, change, field
):
    change(small_backup)
    assert_refused(app, small_backup, field)


def test_every_other_kind_of_bad_record_is_refused_the_same_way(app, small_backup):
    """One database for all of them: each refusal must leave it exactly as it was."""
    for change, field in MORE_BAD_RECORDS:
        document = copy.deepcopy(small_backup)
        change(document)
        assert_refused(app, document, field)


def test_the_refusal_names_the_record_by_index_and_uid(app, small_backup):
    small_backup["incidents"][1]["recovered_at"] = "2000-01-01T00:00:00Z"
    with pytest.raises(ValidationError) as caught:
        restore(app, small_backup)
    assert (
        caught.value.message == "Record incidents[1] (uid new-1) is refused; nothing was imported."
    )
    assert "incidents[1].recovered_at" in caught.value.fields


@pytest.mark.parametrize("document", [[], None, "backup", 1, {"format": FORMAT}])
def test_documents_that_are_not_backups_are_refused(app, document):
    before = state(app)
    with pytest.raises(ValidationError):
        restore(app, document)
    assert state(app) == before


def test_refused_import_leaves_no_partial_rows_even_after_many_good_ones(app, session):
    """The bad record comes after a flush of the good ones: still nothing is kept."""
    build_catalog(session)
    document = json.loads(export(app))
    delete_all_incidents(app)
    before = state(app)
    document["incidents"][-1]["detected_at"] = "1999-12-31T23:59:59Z"
    with pytest.raises(ValidationError) as caught:
        restore(app, document)
    last = len(document["incidents"]) - 1
    assert f"incidents[{last}].detected_at" in caught.value.fields
    assert state(app) == before


# ---- raw files: formats.run_import ------------------------------------------------


def test_invalid_json_is_refused_with_its_line_and_column(session):
    with pytest.raises(ValidationError) as caught:
        run_import(session, "json", b'{"format": "failure-catalog-backup",\n  "version": 1,,\n}')
    [message] = caught.value.fields["file"]
    assert "line 2, column 16" in message, message


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'{"format": "caf\xe9"}', "Not UTF-8"),
        (b"\xff\xfe{\x00}\x00", "Not UTF-8"),
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_files_are_refused_as_the_file(session, raw, words):
    with pytest.raises(ValidationError) as caught:
        run_import(session, "json", raw)
    assert list(caught.value.fields) == ["file"]
    assert words in caught.value.fields["file"][0]


def test_unknown_format_is_refused(session):
    with pytest.raises(ValidationError) as caught:
        run_import(session, "xml", b"<incidents/>")
    assert "format" in caught.value.fields


def test_a_backup_saved_with_a_byte_order_mark_still_imports(app, session):
    """Windows editors add a BOM when they save UTF-8."""
    make_incident(session)
    raw = export(app).encode("utf-8")
    delete_all_incidents(app)
    summary = run_import(session, "json", b"\xef\xbb\xbf" + raw)
    session.commit()
    assert summary.created == 1


def test_the_format_is_told_from_the_extension_or_the_content(app, session):
    backup = export(app).encode()
    assert detect_format("incidents.CSV", b"id,uid,title") == "csv"
    assert detect_format("catalog.json", backup) == "json"
    assert detect_format("incidents.json", b'{"incidents": []}') == "statuspage"
