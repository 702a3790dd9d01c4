"""Hostile input, accepted: values at the limits round-trip, and fields a form must ignore.

Values exactly at a field's limit are `Stored` (tests/helpers/hostile.py): they read back
exactly and are shown escaped. Fields a form does not have (a role, an id, a version,
server-owned columns) are ignored when posted anyway: a viewer cannot promote themselves,
and a new incident or vector takes none of them.
"""

from __future__ import annotations

import pytest
from helpers.accounts import signed_in_client
from helpers.hostile import (
    ADMIN,
    Stored,
    _id_in,
    _ok,
    _user_id,
    _user_value,
    incident_field,
    vector_form,
)
from sqlalchemy import select

from catalog.auth.models import User
from tests.factories import form_payload

LIMITS = [
    pytest.param(incident_field("service", "api-post"), "🔥" * 100, id="service-100-emoji-api"),
    pytest.param(incident_field("title", "form-new"), "ü" * 200, id="title-200-umlauts-form"),
    # A bidi override in a title is refused since issue 10: tests/test_integrity_attacks.py.
]


@pytest.mark.parametrize(("target", "value"), LIMITS)
def test_values_at_the_limits_round_trip(world, target, value):
    Stored(target, value)(world)


def test_a_viewer_cannot_promote_themselves_through_extra_form_fields(world):
    viewer = signed_in_client(world.app, "viewer", "viewer@example.com")
    extra = {"role": "admin", "email": ADMIN, "active": "0", "must_change_password": "y"}
    response = viewer.post("/account", data={"name": "Vic", "timezone": "", **extra})
    assert response.status_code == 302
    world.session.rollback()
    row = world.session.scalars(select(User).where(User.email == "viewer@example.com")).one()
    assert (row.name, row.role, row.active) == ("Vic", "viewer", True)
    assert viewer.get("/admin/users").status_code == 403
    assert _user_value(world, _user_id(world, ADMIN), User.role) == "admin"


def test_incident_and_vector_forms_ignore_server_owned_fields(world):
    extra = {"id": str(world.incident), "created_at": "2001-01-01T00:00", "external_id": "x"}
    data = form_payload(title="Mass assignment", status="recovered", ttd_seconds="0", **extra)
    new_id = _id_in(_ok(world.client.post("/incidents/new", data=data), 302))
    assert new_id != world.incident
    body = world.client.get(f"/api/v1/incidents/{new_id}").get_json()
    assert body["version"] == 1 and body["created_at"] > "2020"
    assert world.client.get(f"/api/v1/incidents/{world.incident}").get_json()["title"] == (
        "Vector DB latency spike"
    )
    data = vector_form(name="Mass vector", archived="y", rpn="1000", id="1", version="7")
    _ok(world.client.post("/vectors/new", data=data), 302)
    vector = world.client.get("/api/v1/vectors/mass-vector").get_json()
    assert (vector["archived"], vector["rpn"], vector["version"]) == (False, None, 1)
    assert world.client.get("/api/v1/vectors/data-drift").get_json()["name"] == "Data drift"
