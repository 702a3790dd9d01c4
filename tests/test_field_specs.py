"""Each field is declared once (catalog/*/spec.py): what derives from a declaration follows it,
and the formats that must not change by accident (backup version 1, the CSV export's columns)
are held against it, so a new field is a deliberate format change."""

from __future__ import annotations

import pytest

from catalog.auth.spec import TOKEN, USER
from catalog.exports.backup import (
    ACTION_ITEM_FIELDS,
    INCIDENT_FIELDS,
    POSTMORTEM_FIELDS,
    RELEASE_FIELDS,
    ROLE_FIELDS,
    VECTOR_FIELDS,
)
from catalog.exports.incidents_csv import HEADER
from catalog.fields import Markdown, Spec, Text
from catalog.incidents.forms import IncidentForm
from catalog.incidents.spec import INCIDENT
from catalog.models import ActionItem, ApiToken, Incident, Postmortem, User, Vector
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.releases.models import Release
from catalog.releases.spec import RELEASE
from catalog.vectors.forms import VectorForm
from catalog.vectors.spec import VECTOR

# An incident's vectors are links, in their own records; its roles name accounts, written
# as their e-mails (backup version 2's ROLE_FIELDS); its release is a link too, written as
# the release's uid (version 3), and left out of the frozen CSV export (README).
STORED_ELSEWHERE = {"vectors", *ROLE_FIELDS, "release"}


@pytest.mark.parametrize(
    ("spec", "backup_fields"),
    [
        (INCIDENT, INCIDENT_FIELDS),
        (VECTOR, VECTOR_FIELDS),
        (RELEASE, RELEASE_FIELDS),
        (POSTMORTEM, POSTMORTEM_FIELDS),
        (ACTION_ITEM, ACTION_ITEM_FIELDS),
    ],
    ids=["incident", "vector", "release", "post-mortem", "action item"],
)
def test_the_backup_carries_every_declared_field(spec: Spec, backup_fields):
    """A field added to a declaration fails here until the backup format takes it on purpose
    (a new format version that still restores version 1)."""
    assert set(spec.names) - STORED_ELSEWHERE <= set(backup_fields)


def test_the_csv_export_has_a_column_for_every_one_line_incident_field():
    one_line = [f.name for f in INCIDENT if not isinstance(f, Markdown) and f.name != "release"]
    assert set(one_line) <= set(HEADER)


@pytest.mark.parametrize(
    ("spec", "model"),
    [
        (INCIDENT, Incident),
        (VECTOR, Vector),
        (ACTION_ITEM, ActionItem),
        (POSTMORTEM, Postmortem),
        (USER, User),
        (TOKEN, ApiToken),
        (RELEASE, Release),
    ],
)
def test_text_columns_are_as_long_as_their_declaration(spec: Spec, model):
    for field in spec:
        if isinstance(field, Text):
            column = model.__table__.columns[field.name]
            assert column.type.length == field.max_length, field.name


@pytest.mark.parametrize(("spec", "form_class"), [(INCIDENT, IncidentForm), (VECTOR, VectorForm)])
def test_forms_show_the_declared_labels_and_help(app, spec: Spec, form_class):
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
    for field in spec:
        bound = getattr(form, field.name)
        assert bound.label.text.startswith(field.label)
        assert bound.description == field.help
        if isinstance(field, Text):
            assert bound.render_kw["maxlength"] == field.max_length


def test_the_api_document_takes_its_incident_schema_from_the_declaration(client):
    document = client.get("/api/v1/openapi.json").get_json()
    create = document["components"]["schemas"]["IncidentCreate"]
    assert create["properties"] == INCIDENT.json_schema()["properties"]
    assert create["required"] == list(INCIDENT.required)
    assert create["properties"]["title"]["maxLength"] == INCIDENT.max_length("title")
