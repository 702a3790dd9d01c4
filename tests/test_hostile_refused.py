"""Hostile input, refused: every case answers 4xx and changes no row.

Each category (SQL injection into parameters, wrong JSON types, huge strings, control
characters, invalid UTF-8, timestamps out of range, unknown fields, duplicate slugs and
names, pagination, stale versions) is a list of `Refused` cases (tests/helpers/hostile.py):
the request answers the stated 4xx, never a 5xx, names the offending field where there
is one, and not one row of incidents, incident_vectors, vectors, postmortems,
action_items, users or api_tokens changed. Since they change nothing, the cases of one
category share a world, one subtest each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from helpers.hostile import (
    ADMIN,
    OR_TRUE,
    Refused,
    World,
    _ok,
    anon_post,
    data_drift_form,
    edit_incident_form,
    encoded,
    form_post,
    get,
    item_form,
    later,
    local_later,
    new_incident_form,
    patch_incident,
    patch_vector,
    pm_form,
    post_incident,
    post_vector,
    put_item,
    put_postmortem,
    raw_form,
    raw_json,
    vector_form,
)

from tests.factories import form_payload

CONFLICT = "Someone else saved a change to this while you were editing."
CONTROL = "contains control characters; only newline and tab are allowed."


SQL_REFUSED = [
    ("sort", Refused(get("/api/v1/incidents", sort="title; DROP TABLE incidents"), 422, ("sort",))),
    ("severity", Refused(get("/api/v1/incidents", severity="SEV1' OR '1'='1"), 422, ("severity",))),
    ("status", Refused(get("/api/v1/incidents", status="open' --"), 422, ("status",))),
    ("since", Refused(get("/api/v1/incidents", since="2026-01-01' OR '1'='1"), 422, ("since",))),
    ("page", Refused(get("/api/v1/incidents", page="1 OR 1=1"), 422, ("page",))),
    (
        "group-by",
        Refused(get("/api/v1/metrics", group_by="vector; DROP TABLE vectors"), 422, ("group_by",)),
    ),
    (
        "slug-in-body",
        Refused(
            post_vector({"slug": "x'; DROP TABLE vectors; --"}),
            422,
            ("slug",),
            "Slug may hold only",
        ),
    ),
    ("slug-in-path", Refused(get("/api/v1/vectors/%27%20OR%20%271%27%3D%271"), 404)),
    (
        "web-sort",
        Refused(get("/incidents/", sort="started; DROP TABLE incidents"), 400, says="Sort must be"),
    ),
    (
        "login-or-true",
        Refused(
            anon_post("/login", {"email": ADMIN + "' OR '1'='1", "password": OR_TRUE}),
            401,
            says="Wrong e-mail or password",
        ),
    ),
    (
        "login-comment",
        Refused(anon_post("/login", {"email": ADMIN + "'--", "password": "x"}), 401),
    ),
]

WRONG_TYPES = [
    (
        "several-at-once",
        Refused(
            post_incident(title=123, severity=["SEV1"], vectors="data-drift"),
            422,
            ("title", "severity", "vectors"),
        ),
    ),
    (
        "operator-object",
        Refused(post_incident(summary={"$ne": None}), 422, ("summary",), "Summary must be text."),
    ),
    ("epoch-millis", Refused(post_incident(started_at=1772452800000), 422, ("started_at",))),
    (
        "version-string",
        Refused(patch_incident({"version": "2", "title": "x"}), 422, ("version",), "whole number"),
    ),
    ("version-true", Refused(patch_incident({"version": True, "title": "x"}), 422, ("version",))),
    ("version-float", Refused(patch_incident({"version": 2.0, "title": "x"}), 422, ("version",))),
    ("team-list", Refused(patch_incident({"version": 2, "team": ["a", "b"]}), 422, ("team",))),
    ("vectors-null", Refused(patch_incident({"version": 2, "vectors": [None]}), 422, ("vectors",))),
    (
        "target-sql",
        Refused(
            post_vector({"mttd_target_minutes": "5; DROP TABLE vectors"}),
            422,
            ("mttd_target_minutes",),
        ),
    ),
    (
        "archived-string",
        Refused(patch_vector({"version": 2, "archived": "false"}), 422, ("archived",)),
    ),
    (
        "postmortem-float-and-list",
        Refused(
            put_postmortem({"version": 2, "root_cause": 3.14, "status": ["draft"]}),
            422,
            ("root_cause", "status"),
        ),
    ),
    (
        "action-item-non-text",
        Refused(
            put_item(title=["x"], owner=5, link=7),
            422,
            ("action_items.0.title", "action_items.0.owner", "action_items.0.link"),
        ),
    ),
]

HUGE = [
    (
        "title-10k",
        Refused(
            post_incident(title="A" * 10_000),
            422,
            ("title",),
            "at most 200 characters (got 10,000)",
        ),
    ),
    (
        "service-101-emoji",
        Refused(
            post_incident(service="🔥" * 101), 422, ("service",), "at most 100 characters (got 101)"
        ),
    ),
    (
        "team-101-cyrillic",
        Refused(patch_incident({"version": 2, "team": "ж" * 101}), 422, ("team",)),
    ),
    (
        "description-100001",
        Refused(
            patch_vector({"version": 2, "description": "ж" * 100_001}),
            422,
            ("description",),
            "at most 100,000 characters",
        ),
    ),
    (
        "body-100001-emoji",
        Refused(put_postmortem({"version": 2, "body": "💥" * 100_001}), 422, ("body",)),
    ),
    ("item-owner-101", Refused(put_item(owner="🙂" * 101), 422, ("action_items.0.owner",))),
    (
        "form-title-201",
        Refused(new_incident_form(title="ü" * 201), 422, ("title",), "at most 200 characters"),
    ),
    (
        "form-mitigation-100001",
        Refused(
            form_post(
                "/vectors/data-drift/edit", lambda w: data_drift_form(mitigation="m" * 100_001)
            ),
            422,
            ("mitigation",),
            "at most 100,000 characters",
        ),
    ),
    (
        "form-user-name-101",
        Refused(
            form_post("/account", lambda w: {"name": "n" * 101, "timezone": ""}),
            422,
            ("name",),
            "must be at most 100 characters",
        ),
    ),
    (
        "form-token-name-101",
        Refused(
            form_post("/account/tokens", lambda w: {"token-name": "t" * 101}),
            422,
            ("token-name",),
            "must be at most 100 characters",
        ),
    ),
    (
        "form-invite-email-262",
        Refused(
            form_post(
                "/admin/users", lambda w: {"email": "a" * 250 + "@example.com", "role": "viewer"}
            ),
            422,
            ("email",),
        ),
    ),
]

CONTROL_CHARACTERS = [
    (
        "form-title-nul",
        Refused(new_incident_form(title="a\x00b"), 422, ("title",), "Title " + CONTROL),
    ),
    (
        "form-team-ansi",
        Refused(edit_incident_form(team="\x1b[31mred"), 422, ("team",), "Team " + CONTROL),
    ),
    (
        "form-vector-name-backspace",
        Refused(
            form_post("/vectors/new", lambda w: vector_form(name="back\x08space")),
            422,
            ("name",),
            "Name " + CONTROL,
        ),
    ),
    (
        "form-root-cause-form-feed",
        Refused(
            form_post(
                "/incidents/{incident}/postmortem", lambda w: pm_form(w, root_cause="a\x0cb")
            ),
            422,
            ("root_cause",),
            "Root cause " + CONTROL,
        ),
    ),
    (
        "form-item-owner-del",
        Refused(
            form_post("/incidents/{incident}/postmortem", lambda w: item_form(w, owner="sam\x7f")),
            422,
            says="Owner " + CONTROL,
        ),
    ),
    (
        "form-user-name-nul",
        Refused(
            form_post("/account", lambda w: {"name": "a\x00b", "timezone": ""}),
            422,
            ("name",),
            "Name " + CONTROL,
        ),
    ),
    (
        "form-invite-name-bell",
        Refused(
            form_post(
                "/admin/users",
                lambda w: {"email": "bell@example.com", "name": "\x07bell", "role": "viewer"},
            ),
            422,
            ("name",),
            "Name " + CONTROL,
        ),
    ),
    (
        "form-token-name-nul",
        Refused(
            form_post("/account/tokens", lambda w: {"token-name": "ci\x00"}),
            422,
            ("token-name",),
            CONTROL,
        ),
    ),
    (
        "login-email-nul",
        Refused(
            anon_post(
                "/login", {"email": ADMIN + "\x00", "password": "correct horse battery staple"}
            ),
            401,
            says="Wrong e-mail or password",
        ),
    ),
    (
        "api-team-nul",
        Refused(
            patch_incident({"version": 2, "team": "\u0000"}), 422, ("team",), "Team " + CONTROL
        ),
    ),
    (
        "api-mitigation-c1-csi",
        Refused(patch_vector({"version": 2, "mitigation": "roll back\x9b"}), 422, ("mitigation",)),
    ),
    (
        "api-root-cause-nul",
        Refused(put_postmortem({"version": 2, "root_cause": "\x00"}), 422, ("root_cause",)),
    ),
]

NOT_UTF8 = "not valid UTF-8"
INVALID_UTF8 = [
    (
        "api-latin-1",
        Refused(
            raw_json(
                "patch", "/api/v1/vectors/data-drift", b'{"version": 2, "description": "caf\xe9"}'
            ),
            400,
            says=NOT_UTF8,
        ),
    ),
    (
        "api-overlong-slash",
        Refused(raw_json("post", "/api/v1/incidents", b'{"summary": "\xc0\xaf etc/passwd"}'), 400),
    ),
    (
        "api-encoded-surrogate",
        Refused(
            raw_json(
                "put",
                "/api/v1/incidents/{incident}/postmortem",
                b'{"version": 2, "body": "\xed\xa0\x80"}',
            ),
            400,
        ),
    ),
    (
        "api-truncated-sequence",
        Refused(
            raw_json(
                "patch", "/api/v1/incidents/{incident}", b'{"version": 2, "title": "euro \xe2\x82"}'
            ),
            400,
        ),
    ),
    (
        "api-utf-16",
        Refused(
            raw_json("post", "/api/v1/vectors", '{"name": "UTF-16 vector"}'.encode("utf-16")), 400
        ),
    ),
    (
        "api-utf-32-without-bom",
        Refused(
            raw_json("post", "/api/v1/vectors", '{"name": "UTF-32 vector"}'.encode("utf-32-le")),
            400,
        ),
    ),
    ("api-key", Refused(raw_json("post", "/api/v1/vectors", b'{"\xff": 1, "name": "x"}'), 400)),
    (
        "form-percent-encoded",
        Refused(
            raw_form("/incidents/new", encoded(form_payload(), title="ab%FF%FEcd")),
            400,
            says=NOT_UTF8,
        ),
    ),
    (
        "form-raw-bytes",
        Refused(
            raw_form("/incidents/new", urlencode(form_payload()).encode() + b"&team=\xff\xfe"), 400
        ),
    ),
    (
        "form-encoded-surrogate",
        Refused(raw_form("/vectors/new", encoded(vector_form(), name="%ED%A0%80")), 400),
    ),
    (
        "form-truncated",
        Refused(raw_form("/account", encoded({"timezone": ""}, name="caf%C3")), 400),
    ),
    (
        "form-overlong",
        Refused(
            lambda w: raw_form(
                "/incidents/{incident}/postmortem", encoded(pm_form(w), body="%C0%AF")
            )(w),
            400,
        ),
    ),
    (
        "login",
        Refused(
            lambda w: w.app.test_client().post(
                "/login",
                data=encoded({"password": "x"}, email="admin%FF@example.com"),
                content_type="application/x-www-form-urlencoded",
            ),
            400,
        ),
    ),
]

BEFORE_2000 = "cannot be before 2000-01-01."
FUTURE = "cannot be more than 5 minutes in the future."
TIMESTAMPS = [
    (
        "api-year-1",
        Refused(
            post_incident(started_at="0001-01-01T00:00:00Z"), 422, ("started_at",), "out of range"
        ),
    ),
    (
        "api-year-9999",
        Refused(
            post_incident(recovered_at="9999-12-31T23:59:59Z"),
            422,
            ("recovered_at",),
            "out of range",
        ),
    ),
    (
        "api-year-1999",
        Refused(
            patch_incident({"version": 2, "acknowledged_at": "1999-12-31T23:59:59Z"}),
            422,
            ("acknowledged_at",),
            BEFORE_2000,
        ),
    ),
    (
        "api-10-minutes-ahead",
        Refused(lambda w: post_incident(recovered_at=later(10))(w), 422, ("recovered_at",), FUTURE),
    ),
    (
        "api-naive",
        Refused(
            patch_incident({"version": 2, "mitigated_at": "2026-03-02T12:10:00"}),
            422,
            ("mitigated_at",),
            "naive times are ambiguous",
        ),
    ),
    (
        "api-leap-second",
        Refused(
            post_incident(detected_at="2026-03-02T12:04:60Z"),
            422,
            ("detected_at",),
            "Not a valid ISO 8601",
        ),
    ),
    (
        "api-root-cause-year-9999",
        Refused(
            put_postmortem({"version": 2, "root_cause_at": "9999-12-31T23:59:59+14:00"}),
            422,
            ("root_cause_at",),
        ),
    ),
    (
        "api-item-done-year-1",
        Refused(put_item(done_at="0001-01-01T00:00:00+10:00"), 422, ("action_items.0.done_at",)),
    ),
    (
        "api-item-due-year-1",
        Refused(
            put_item(due_on="0001-01-01"),
            422,
            ("action_items.0.due_on",),
            "between 2000-01-01 and 2100-12-31",
        ),
    ),
    (
        "list-since-year-1",
        Refused(get("/api/v1/incidents", since="0001-01-01T00:00:00Z"), 422, ("since",)),
    ),
    (
        "metrics-until-year-9999",
        Refused(
            get("/api/v1/metrics", group_by="week", until="9999-12-31T23:59:59Z"), 422, ("until",)
        ),
    ),
    (
        "list-since-naive",
        Refused(get("/api/v1/incidents", since="2026-03-02T12:00:00"), 422, ("since",), "naive"),
    ),
    (
        "form-year-1",
        Refused(
            new_incident_form(
                started_at="0001-01-01T00:00", detected_at="0001-01-01T00:05", recovered_at=""
            ),
            422,
            ("started_at", "detected_at"),
            BEFORE_2000,
        ),
    ),
    (
        "form-year-9999",
        Refused(
            edit_incident_form(recovered_at="9999-12-31T23:59"), 422, ("recovered_at",), FUTURE
        ),
    ),
    (
        "form-year-1999",
        Refused(
            edit_incident_form(acknowledged_at="1999-12-31T23:59"),
            422,
            ("acknowledged_at",),
            BEFORE_2000,
        ),
    ),
    (
        "form-10-minutes-ahead",
        Refused(
            lambda w: new_incident_form(detected_at=local_later(10), recovered_at="")(w),
            422,
            ("detected_at",),
            FUTURE,
        ),
    ),
    (
        "form-root-cause-year-1",
        Refused(
            form_post(
                "/incidents/{incident}/postmortem",
                lambda w: pm_form(w, root_cause_at="0001-01-01T00:00"),
            ),
            422,
            ("root_cause_at",),
            BEFORE_2000,
        ),
    ),
    (
        "form-item-due-year-9999",
        Refused(
            form_post(
                "/incidents/{incident}/postmortem", lambda w: item_form(w, due_on="9999-12-31")
            ),
            422,
            says="between 2000-01-01 and 2100-12-31",
        ),
    ),
]

UNKNOWN_FIELDS = [
    (
        "proto",
        Refused(post_incident(__proto__={"admin": True}), 422, ("__proto__",), "Unknown field."),
    ),
    (
        "internal-columns",
        Refused(
            post_incident(external_id="x", external_source="statuspage"),
            422,
            ("external_id", "external_source"),
        ),
    ),
    (
        "case-variant",
        Refused(patch_incident({"version": 2, "Title": "case matters"}), 422, ("Title",)),
    ),
    (
        "vector-id-and-created",
        Refused(
            patch_vector({"version": 2, "id": 99, "created_at": "2001-01-01T00:00:00Z"}),
            422,
            ("id", "created_at"),
        ),
    ),
    (
        "vector-archived-at",
        Refused(post_vector({"archived_at": "2026-01-01T00:00:00Z"}), 422, ("archived_at",)),
    ),
    (
        "postmortem-derived",
        Refused(
            put_postmortem({"version": 2, "root_cause_seconds": 5}), 422, ("root_cause_seconds",)
        ),
    ),
    (
        "item-foreign-key",
        Refused(put_item(postmortem_id=99), 422, ("action_items.0.postmortem_id",)),
    ),
]


def _create_echec(w: World) -> None:
    _ok(w.client.post("/api/v1/vectors", json={"name": "Échec de données"}), 201)


TAKEN = "already exists."
DUPLICATES = [
    (
        "slug",
        Refused(
            post_vector({"slug": "data-drift"}), 422, ("slug",), "A vector with this slug " + TAKEN
        ),
    ),
    ("slug-padded", Refused(post_vector({"slug": " data-drift\t"}), 422, ("slug",), TAKEN)),
    (
        "slug-upper-case",
        Refused(post_vector({"slug": "Data-Drift"}), 422, ("slug",), "Slug may hold only"),
    ),
    (
        "name-any-case-padded",
        Refused(post_vector({"name": "  DATA DRIFT  "}), 422, ("name",), TAKEN),
    ),
    (
        "name-non-ascii-case",
        Refused(
            post_vector({"name": "ÉCHEC DE DONNÉES", "slug": "echec-2"}),
            422,
            ("name",),
            TAKEN,
            setup=_create_echec,
        ),
    ),
    (
        "rename-onto-another",
        Refused(
            patch_vector(
                {"version": 1, "slug": "data-drift", "name": "Data Drift"}, slug="model-poisoning"
            ),
            422,
            ("slug", "name"),
        ),
    ),
    (
        "form-new-name",
        Refused(
            form_post("/vectors/new", lambda w: vector_form(name="Model Poisoning")),
            422,
            ("name",),
            TAKEN,
        ),
    ),
    (
        "form-edit-onto-another",
        Refused(
            form_post(
                "/vectors/data-drift/edit",
                lambda w: data_drift_form(name="model POISONING", slug="model-poisoning"),
            ),
            422,
            ("name", "slug"),
            TAKEN,
        ),
    ),
    (
        "invite-email-any-case",
        Refused(
            form_post("/admin/users", lambda w: {"email": "ADMIN@Example.COM", "role": "viewer"}),
            422,
            ("email",),
            "An account with this e-mail " + TAKEN,
        ),
    ),
    (
        "invite-unknown-role",
        Refused(
            form_post("/admin/users", lambda w: {"email": "eve@example.com", "role": "superuser"}),
            422,
            ("role",),
            "Role must be one of: viewer, editor, admin.",
        ),
    ),
]

PAGE_MIN = "Page must be 1 or more."
PAGINATION = [
    ("web-negative", Refused(get("/incidents/", page="-1"), 400, says=PAGE_MIN)),
    ("web-zero", Refused(get("/incidents/", page="0"), 400, says=PAGE_MIN)),
    ("web-text", Refused(get("/incidents/", page="abc"), 400, says=PAGE_MIN)),
    (
        "web-huge",
        Refused(get("/incidents/", page="1" + "0" * 30), 400, says="Page must be at most"),
    ),
    ("web-5000-digits", Refused(get("/incidents/", page="9" * 5000), 400, says=PAGE_MIN)),
    (
        "web-per-page-zero",
        Refused(get("/incidents/", per_page="0"), 400, says="Per page must be between 1 and 500."),
    ),
    (
        "web-per-page-huge",
        Refused(get("/incidents/", per_page="1000000"), 400, says="Per page must be"),
    ),
    ("api-hex", Refused(get("/api/v1/incidents", page="0x10"), 422, ("page",))),
    ("api-5000-digits", Refused(get("/api/v1/incidents", page="9" * 5000), 422, ("page",))),
    ("api-minus-zero", Refused(get("/api/v1/incidents", per_page="-0"), 422, ("per_page",))),
    (
        "api-nan-infinity",
        Refused(
            get("/api/v1/incidents", page="NaN", per_page="Infinity"), 422, ("page", "per_page")
        ),
    ),
    ("api-vectors-negative", Refused(get("/api/v1/vectors", page="-5"), 422, ("page",))),
    (
        "api-vectors-per-page-huge",
        Refused(get("/api/v1/vectors", per_page="1000000"), 422, ("per_page",)),
    ),
]

STALE_VERSIONS = [
    (
        "api-incident-stale",
        Refused(patch_incident({"version": 1, "title": "Stale"}), 409, says="you edited version 1"),
    ),
    (
        "api-incident-from-the-future",
        Refused(patch_incident({"version": 3, "title": "Ahead"}), 409),
    ),
    ("api-incident-int64-min", Refused(patch_incident({"version": -(2**63), "title": "x"}), 409)),
    ("api-vector-stale", Refused(patch_vector({"version": 1, "detection": "Stale"}), 409)),
    ("api-postmortem-stale", Refused(put_postmortem({"version": 1, "body": "Stale"}), 409)),
    ("api-postmortem-no-version", Refused(put_postmortem({"body": "Blind"}), 422, ("version",))),
    (
        "form-incident-stale",
        Refused(edit_incident_form(version="1", title="Stale"), 422, says=CONFLICT),
    ),
    (
        "form-vector-stale",
        Refused(
            form_post(
                "/vectors/data-drift/edit",
                lambda w: data_drift_form(version="1", description="Stale"),
            ),
            422,
            says=CONFLICT,
        ),
    ),
    (
        "form-postmortem-stale",
        Refused(
            form_post(
                "/incidents/{incident}/postmortem", lambda w: pm_form(w, version="1", body="Stale")
            ),
            422,
            says=CONFLICT,
        ),
    ),
    ("form-version-not-a-number", Refused(edit_incident_form(version="2e0", title="x"), 422)),
]

REFUSED = {
    "sql-injection": SQL_REFUSED,
    "wrong-json-types": WRONG_TYPES,
    "huge-strings": HUGE,
    "control-characters": CONTROL_CHARACTERS,
    "invalid-utf-8": INVALID_UTF8,
    "timestamps-out-of-range": TIMESTAMPS,
    "unknown-fields": UNKNOWN_FIELDS,
    "duplicate-slugs-and-names": DUPLICATES,
    "pagination": PAGINATION,
    "stale-versions": STALE_VERSIONS,
}


@pytest.mark.parametrize("category", list(REFUSED))
def test_hostile_input_is_refused_and_changes_nothing(world, subtests, category):
    """Refused cases change nothing, so one world serves a whole category."""
    for name, case in REFUSED[category]:
        with subtests.test(case=name):
            case(world)


def multipart(url: str, data: dict[str, Any], **raw: bytes) -> Callable[[World], Any]:
    """A multipart/form-data body with some values given as raw bytes."""
    parts = []
    for key, values in {**data, **raw}.items():
        for value in values if isinstance(values, list) else [values]:
            payload = value if isinstance(value, bytes) else str(value).encode()
            head = f'--B\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            parts.append(head + payload + b"\r\n")
    body = b"".join(parts) + b"--B--\r\n"
    return lambda w: w.client.post(url, data=body, content_type="multipart/form-data; boundary=B")


def test_a_multipart_form_with_invalid_utf8_is_refused(world):
    """Werkzeug would decode it with U+FFFD; the app refuses multipart bodies outright."""
    data = {k: v for k, v in form_payload().items() if k != "title"}
    Refused(multipart("/incidents/new", data, title=b"ab\xff\xfecd"), 400)(world)
