"""Hostile input, SQL injection: stored literally, found by an exact filter, never executed.

Injection strings written into text fields are `Stored` (tests/helpers/hostile.py) like
any other value, and a filter on them finds exactly that incident, not the decoy beside
it; filters built from injection strings match nothing and change nothing. Injections
into values that must follow a rule (sort keys, enums, slugs, the login) are refused:
tests/test_hostile_refused.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from helpers.hostile import (
    BOBBY,
    DROP_INCIDENTS,
    OR_TRUE,
    PROMOTE,
    Stored,
    Target,
    World,
    _ok,
    incident_field,
    page_of,
    snapshot,
)

from tests.factories import api_payload


@dataclass(frozen=True)
class FoundExactly:
    """Stored literally; the filter finds exactly that incident, not the decoy beside it."""

    target: Target
    value: str
    query: dict[str, str]

    def __call__(self, w: World) -> None:
        decoy = api_payload(title="Decoy", service="decoy", team="decoy")
        decoy_id = _ok(w.client.post("/api/v1/incidents", json=decoy), 201).get_json()["id"]
        key = Stored(self.target, self.value)(w)
        listed = _ok(w.client.get("/api/v1/incidents", query_string=self.query), 200).get_json()
        assert [i["id"] for i in listed["items"]] == [key], listed
        page = page_of(w, "/incidents/?" + urlencode(self.query))
        assert f">#{key} " in page and f">#{decoy_id} " not in page
        # nothing ran: every table and the seeded catalog are still there
        assert _ok(w.client.get("/api/v1/vectors"), 200).get_json()["total"] == 5
        assert w.client.get(f"/api/v1/incidents/{w.incident}").status_code == 200


SQL_STORED = [
    pytest.param(
        FoundExactly(
            incident_field("service", "api-post"), DROP_INCIDENTS, {"service": DROP_INCIDENTS}
        ),
        id="service-drop-table-api",
    ),
    pytest.param(
        FoundExactly(incident_field("team", "form-new"), OR_TRUE, {"team": OR_TRUE}),
        id="team-or-true-form",
    ),
    pytest.param(
        FoundExactly(incident_field("title", "api-patch"), BOBBY, {"q": "'); DROP TABLE"}),
        id="title-bobby-tables-search",
    ),
    pytest.param(
        FoundExactly(incident_field("service", "form-edit"), PROMOTE, {"service": PROMOTE}),
        id="service-stacked-update-form",
    ),
    pytest.param(
        FoundExactly(incident_field("team", "api-patch"), '" OR ""="', {"team": '" OR ""="'}),
        id="team-double-quote-or-api",
    ),
    pytest.param(
        FoundExactly(incident_field("title", "api-post"), "100% of requests failed", {"q": "%"}),
        id="search-percent-is-literal",
    ),
    pytest.param(
        FoundExactly(incident_field("title", "form-new"), "snake_case flag flipped", {"q": "_"}),
        id="search-underscore-is-literal",
    ),
    pytest.param(
        FoundExactly(incident_field("title", "form-edit"), r"C:\Windows\ path leaked", {"q": "\\"}),
        id="search-backslash-is-literal",
    ),
]


@pytest.mark.parametrize("case", SQL_STORED)
def test_sql_in_text_is_stored_literally_and_found_exactly(world, case):
    case(world)


def test_sql_in_filters_matches_nothing_and_runs_nothing(world):
    """Filters built from injection strings are values: they match no row and break nothing."""
    before = snapshot(world.session)
    for query in ({"vector": "' OR 1=1 --"}, {"service": OR_TRUE}, {"q": "' OR ''='"}):
        assert (
            _ok(world.client.get("/api/v1/incidents", query_string=query), 200).get_json()["items"]
            == []
        )
        assert "No incidents match" in page_of(world, "/incidents/?" + urlencode(query))
    metrics = world.client.get("/api/v1/metrics", query_string={"team": DROP_INCIDENTS})
    assert [g["count"] for g in _ok(metrics, 200).get_json()["groups"]] in ([], [0])
    assert snapshot(world.session) == before
