"""Validation of a failure vector (SPEC §2), through the HTML forms and the JSON API.

Slug format and uniqueness, a name unique in any case, text limits and control
characters, the category, the MTTD and MTTR targets and the optional FMEA ratings, number
fields on the form and wrong JSON types on the API. The form and the API give the same
message for the same input; a refused request changes nothing in the database and nothing
answers 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.validation import CONTROL, EDITED_SLUG, assert_refused, db_state, vector_fields
from sqlalchemy.orm import Session

from catalog.vectors.service import get_vector

VECTOR_SURFACES = ("form-new", "form-edit", "api-post", "api-patch")


def send_vector(client: Any, session: Session, surface: str, fields: dict[str, Any]) -> Any:
    version = None
    if surface in ("form-edit", "api-patch"):
        version = get_vector(session, EDITED_SLUG).version
        session.rollback()
    if surface.startswith("form"):
        data = {k: "" if v is None else str(v) for k, v in vector_fields(**fields).items()}
        if version is None:
            return client.post("/vectors/new", data=data)
        if "slug" not in fields:
            data["slug"] = EDITED_SLUG
        if "name" not in fields:
            data["name"] = "Data drift"
        data["version"] = str(version)
        return client.post(f"/vectors/{EDITED_SLUG}/edit", data=data)
    if version is None:
        return client.post("/api/v1/vectors", json=vector_fields(**fields))
    return client.patch(f"/api/v1/vectors/{EDITED_SLUG}", json={**fields, "version": version})


def check_vector_refused(
    client: Any, session: Session, surface: str, fields: dict[str, Any], expected: dict[str, str]
) -> None:
    before = db_state(session)
    response = send_vector(client, session, surface, fields)
    assert_refused(response, surface, expected)
    assert db_state(session) == before


SLUG_FORMAT = "Slug may hold only lowercase letters, digits and single hyphens."

VECTOR_FIELD_CASES = [
    # (fields, the message the form and the API both give)
    *[
        pytest.param({"slug": bad}, {"slug": SLUG_FORMAT}, id=f"slug-{i}")
        for i, bad in enumerate(
            ["Has Spaces", "UPPER", "double--hyphen", "-leading", "trailing-", "snake_case", "ünï"]
        )
    ],
    pytest.param(
        {"slug": "s" * 101},
        {"slug": "Slug must be at most 100 characters (got 101)."},
        id="slug-101",
    ),
    pytest.param(
        {"slug": "token-limit-overflow"},
        {"slug": "A vector with this slug already exists."},
        id="slug-taken",
    ),
    pytest.param(
        {"name": "TOKEN-LIMIT overflow"},
        {"name": "A vector with this name already exists."},
        id="name-taken-any-case",
    ),
    pytest.param(
        {"name": "n" * 201},
        {"name": "Name must be at most 200 characters (got 201)."},
        id="name-201",
    ),
    pytest.param(
        {"name": ""},
        {"name": "Name is required."},
        id="name-empty",
    ),
    pytest.param(
        {"name": "tab\tok but \x00 not"},
        {"name": "Name " + CONTROL},
        id="name-nul",
    ),
    pytest.param(
        {"description": "d" * 100_001},
        {"description": "Description must be at most 100,000 characters (got 100,001)."},
        id="description-100001",
    ),
    pytest.param(
        {"detection": "alert\x1bfired"},
        {"detection": "Detection " + CONTROL},
        id="detection-escape",
    ),
    pytest.param(
        {"mitigation": "m" * 100_001},
        {"mitigation": "Mitigation must be at most 100,000 characters"},
        id="mitigation-100001",
    ),
    pytest.param(
        {"category": "bogus"},
        {"category": "Category must be one of: drift, token_overflow, throttling,"},
        id="category",
    ),
    pytest.param(
        {"mttd_target_minutes": 0},
        {"mttd_target_minutes": "MTTD target must be between 1 and 525,600."},
        id="mttd-zero",
    ),
    pytest.param(
        {"mttr_target_minutes": -5},
        {"mttr_target_minutes": "MTTR target must be between 1 and 525,600."},
        id="mttr-negative",
    ),
    pytest.param(
        {"mttr_target_minutes": 525_601},
        {"mttr_target_minutes": "MTTR target must be between 1 and 525,600."},
        id="mttr-over-a-year",
    ),
    *[
        pytest.param(
            {field: value},
            {field: f"FMEA {field} must be between 1 and 10."},
            id=f"fmea-{field}-{value}",
        )
        for field, value in (("severity", 0), ("occurrence", 11), ("detectability", 0))
    ],
]


@pytest.mark.parametrize(("fields", "expected"), VECTOR_FIELD_CASES)
def test_vector_field_rules(client, session, subtests, fields, expected):
    """The form and the API give the same message for the same input."""
    for surface in VECTOR_SURFACES:
        with subtests.test(surface=surface):
            check_vector_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"mttd_target_minutes": "five"}, {"mttd_target_minutes": "Not a valid integer value."}),
        ({"mttr_target_minutes": ""}, {"mttr_target_minutes": "MTTR target is required."}),
        ({"severity": "1.5"}, {"severity": "Not a valid integer value."}),
    ],
    ids=["mttd-text", "mttr-empty", "fmea-decimal"],
)
def test_vector_form_number_fields(client, session, subtests, fields, expected):
    for surface in ["form-new", "form-edit"]:
        with subtests.test(surface=surface):
            check_vector_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"mttd_target_minutes": "5"},
            {"mttd_target_minutes": "MTTD target must be a whole number."},
        ),
        ({"mttd_target_minutes": 5.5}, {"mttd_target_minutes": "must be a whole number."}),
        ({"mttr_target_minutes": True}, {"mttr_target_minutes": "must be a whole number."}),
        ({"mttr_target_minutes": None}, {"mttr_target_minutes": "MTTR target is required."}),
        ({"severity": "7"}, {"severity": "FMEA severity must be a whole number."}),
        ({"occurrence": False}, {"occurrence": "must be a whole number."}),
        ({"detectability": [5]}, {"detectability": "must be a whole number."}),
        ({"mttd_target_minutes": 10**30}, {"mttd_target_minutes": "must be between 1 and"}),
        ({"name": 5}, {"name": "Name must be text."}),
        ({"slug": ["a"]}, {"slug": "Slug must be text."}),
        ({"category": 3}, {"category": "Category must be one of"}),
        ({"category": False}, {"category": "Category must be one of"}),
        ({"description": {"md": "x"}}, {"description": "Description must be text."}),
        ({"archived": "yes"}, {"archived": "Archived must be true or false."}),
    ],
    ids=[
        "mttd-string",
        "mttd-float",
        "mttr-bool",
        "mttr-null",
        "fmea-string",
        "fmea-bool",
        "fmea-list",
        "mttd-huge",
        "name-number",
        "slug-list",
        "category-number",
        "category-false",
        "description-object",
        "archived-string",
    ],
)
def test_api_vector_wrong_types(client, session, subtests, fields, expected):
    for surface in ["api-post", "api-patch"]:
        with subtests.test(surface=surface):
            check_vector_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize("surface", ["form-new", "api-post"])
def test_vector_limits_are_inclusive_and_fmea_optional(client, session, surface):
    fields = vector_fields(
        slug="a" * 100,
        name="N" * 200,
        description="d" * 100_000,
        mttd_target_minutes=1,
        mttr_target_minutes=525_600,
        severity=10,
        occurrence=1,
        detectability=None,
    )
    if surface == "form-new":
        data = {k: "" if v is None else str(v) for k, v in fields.items()}
        assert client.post("/vectors/new", data=data).status_code == 302
    else:
        response = client.post("/api/v1/vectors", json=fields)
        assert response.status_code == 201
        assert response.get_json()["rpn"] is None
    assert client.get("/api/v1/vectors/" + "a" * 100).get_json()["name"] == "N" * 200


def test_a_blank_form_slug_is_made_from_the_name(client, session):
    data = {k: str(v) for k, v in vector_fields(slug="", name="GPU memory: OOM kills").items()}
    response = client.post("/vectors/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/vectors/gpu-memory-oom-kills")


def test_an_empty_name_with_a_blank_slug_is_one_thing_to_fix(client, session):
    """The slug would be made from the name: only the name is named, on the form and in the API."""
    form = {k: str(v) for k, v in vector_fields(slug="", name="").items()}
    page = client.post("/vectors/new", data=form)
    assert page.status_code == 422
    assert "Name is required." in page.text and "Slug is required." not in page.text
    api = client.post("/api/v1/vectors", json=vector_fields(slug="", name=""))
    assert api.status_code == 422
    assert api.get_json()["error"]["fields"] == {"name": ["Name is required."]}


def test_a_vector_may_keep_its_own_slug_and_name(client, session, subtests):
    for surface in ["form-edit", "api-patch"]:
        with subtests.test(surface=surface):
            response = send_vector(
                client, session, surface, {"slug": EDITED_SLUG, "name": "DATA DRIFT", "severity": 4}
            )
            assert response.status_code in (200, 302)
            assert client.get(f"/api/v1/vectors/{EDITED_SLUG}").get_json()["name"] == "DATA DRIFT"
