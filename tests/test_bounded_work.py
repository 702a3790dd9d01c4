"""Bounded work per request: no input within the limits may hold a worker or its memory.

Attacks from the outside fault test: a vector-rule pattern of nested counted
repeats (30 characters that grew the process to 24 GB), many names each matched
just under the per-name timeout (15 s of a worker per 23 KB), and Markdown that
python-markdown renders in quadratic time on every view of the incident.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from sqlalchemy import func, select

from catalog.imports import statuspage
from catalog.incidents.models import Incident

IMPORTS = "/api/v1/imports"


def document(*names: str) -> dict[str, object]:
    return {
        "page": {"id": "p"},
        "incidents": [
            {
                "id": f"sp{n}",
                "name": name,
                "impact": "minor",
                "created_at": "2026-03-01T10:00:00Z",
                "resolved_at": "2026-03-01T11:00:00Z",
            }
            for n, name in enumerate(names)
        ],
    }


def incident_count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident))


def import_with_rules(client, api_headers, rules: list[str], names: tuple[str, ...] = ("GPU",)):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = client.post(
        IMPORTS,
        query_string=[("format", "statuspage"), ("vector", "data-drift")]
        + [("vector_rule", rule) for rule in rules],
        json=document(*names),
        headers=api_headers,
    )
    return response, time.perf_counter() - started


# ---- vector-rule patterns: measured before they are compiled ---------------------------


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ("((a{1,1000}){1,1000}){1,1000}", "(nested repeats)"),
        ("((a{1000}){1000}){1000}", "(nested repeats)"),
        ("(a{1000}){1000}", "expand to more than 1000 items"),
        ("(?:(?:ab){100}){100}", "expand to more than 1000 items"),
        ("[a-z]{5000}", "expand to more than 1000 items"),
        ("a{99999999999999999999}", "expand to more than 1000 items"),
        ("(((a+)+)+)+$", "(nested repeats)"),
    ],
)
def test_a_pattern_that_would_blow_up_is_refused_before_it_is_compiled(
    client, api_headers, session, pattern, reason
):
    response, took = import_with_rules(client, api_headers, [f"{pattern}=data-drift"])
    assert response.status_code == 422, response.get_json()
    [message] = response.get_json()["error"]["fields"]["vector_rule"]
    assert message.startswith("vector_rule 1: the pattern is too complex")
    assert reason in message and message.endswith("simplify it.")
    assert took < 10
    assert incident_count(session) == 0


def test_the_bad_rule_is_named_by_its_place(client, api_headers, session):
    response, _ = import_with_rules(
        client, api_headers, ["gpu=hardware-throttling", "(x{100}){100}=data-drift"]
    )
    assert response.status_code == 422
    [message] = response.get_json()["error"]["fields"]["vector_rule"]
    assert message.startswith("vector_rule 2: the pattern is too complex")
    assert incident_count(session) == 0


def test_at_most_fifty_rules(client, api_headers, session):
    response, _ = import_with_rules(client, api_headers, [f"r{n}=data-drift" for n in range(51)])
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["vector_rule"] == [
        "At most 50 vector rules per import, got 51."
    ]
    assert incident_count(session) == 0


def test_ordinary_rules_with_small_repeats_still_apply(client, api_headers, session):
    rules = [
        r"gpu\s+throttl(ed|ing)=hardware-throttling",
        r"(?:model|copilot){1,3}=model-poisoning",
    ]
    response, _ = import_with_rules(
        client, api_headers, rules, ("GPU  throttled in eu-1", "Copilot degraded", "Other")
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 3
    vectors = {i.title: i.vector_slugs for i in session.scalars(select(Incident))}
    assert vectors == {
        "GPU throttled in eu-1": ["hardware-throttling"],
        "Copilot degraded": ["model-poisoning"],
        "Other": ["data-drift"],
    }


def test_the_upload_page_names_the_refused_rule(client, session):
    response = client.post(
        "/imports/",
        data={
            "format": "statuspage",
            "vector": "data-drift",
            "rules": "gpu=hardware-throttling\n((a{1000}){1000}){1000}=data-drift\n",
            "dry_run": "",
            "file": (io.BytesIO(json.dumps(document("GPU")).encode()), "incidents.json"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "vector_rule 2: the pattern is too complex (nested repeats)" in response.get_data(
        as_text=True
    )
    assert incident_count(session) == 0


def test_the_cli_refuses_the_pattern_too(runner, session, tmp_path):
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(document("GPU")), encoding="utf-8")
    result = runner.invoke(
        args=["import", str(path), "--vector-rule", "((a{1000}){1000}){1000}=data-drift"]
    )
    assert result.exit_code == 1
    assert "vector_rule 1: the pattern is too complex (nested repeats)" in result.output
    assert incident_count(session) == 0


# ---- one time budget for all the matching of an import -------------------------------


def test_many_matches_each_under_the_timeout_run_out_the_import_budget(
    client, api_headers, session, monkeypatch
):
    """Each name takes a few ms (under the 50 ms per-name timeout); together they exceed
    the import's budget (2 s; 0.3 s here to keep the suite quick), and the import stops."""
    monkeypatch.setattr(statuspage, "MATCH_BUDGET_SECONDS", 0.3)
    names = tuple("a" * 18 for _ in range(400))  # `(a|aa)+b` backtracks ~3 ms on each
    response, took = import_with_rules(client, api_headers, ["(a|aa)+b=model-poisoning"], names)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()["error"]
    assert "nothing was imported" in body["message"]
    [message] = body["fields"]["vector_rule"]
    assert message.startswith("Matching the vector rules against this file's names took over 0.3 s")
    assert "(slowest: vector_rule 1)" in message
    assert took < 10
    assert incident_count(session) == 0


def test_the_cli_holds_no_worker_and_has_no_import_budget(runner, session, tmp_path, monkeypatch):
    """The same file on the server's command line: each name still has its 50 ms, but the
    whole history is not refused for its size."""
    # ~0.8 ms a name, 60 times under its 50 ms (a scheduling hiccup must not refuse one),
    # and 400 of them well over a 0.1 s budget the web would apply
    monkeypatch.setattr(statuspage, "MATCH_BUDGET_SECONDS", 0.1)
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(document(*("a" * 15 for _ in range(400)))), encoding="utf-8")
    result = runner.invoke(
        args=[
            "import",
            str(path),
            "--vector",
            "data-drift",
            "--vector-rule",
            "(a|aa)+b=model-poisoning",
        ]
    )
    assert result.exit_code == 0, result.output
    assert incident_count(session) == 400


def test_a_single_name_over_the_per_name_timeout_names_its_rule(client, api_headers, session):
    response, _ = import_with_rules(
        client, api_headers, ["gpu=hardware-throttling", "(a|aa)+$=data-drift"], ("a" * 60 + "!",)
    )
    assert response.status_code == 422
    [message] = response.get_json()["error"]["fields"]["vector_rule"]
    assert message.startswith("vector_rule 2: pattern '(a|aa)+$' takes too long to match")
    assert incident_count(session) == 0


# ---- Markdown: linear-time rendering, cached per text ----------------------------------

# Inputs python-markdown took quadratic time on (seconds for 16 KB, before → after):
# `![`: 29 → 0.25; `[a`: 28 → 0.14; `[` then `]`: 21 → 0.09; `[x][`: 7.8 → 0.15;
# `[](`: 4.4 → 0.12; `<a `: 3.4 → 0.02.
QUADRATIC_FOR_PYTHON_MARKDOWN = {
    "images": "![" * 8000,
    "brackets": "[a" * 8000,
    "nested brackets": "[" * 8000 + "]" * 8000,
    "reference links": "[x][" * 4000,
    "empty links": "[](" * 5000,
    "tags": "<a " * 5333,
}


def create_incident(client, api_headers, summary: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = client.post(
        "/api/v1/incidents",
        json={
            "title": "Markdown drill",
            "severity": "SEV3",
            "service": "rag-search",
            "vectors": ["dependency-latency"],
            "summary": summary,
            "detection_source": "alert",
            "started_at": "2026-03-02T12:00:00Z",
            "detected_at": "2026-03-02T12:05:00Z",
        },
        headers=api_headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("kind", QUADRATIC_FOR_PYTHON_MARKDOWN)
def test_a_summary_built_to_be_slow_to_render_is_not(client, api_headers, kind):
    summary = "**kept**\n\n" + QUADRATIC_FOR_PYTHON_MARKDOWN[kind]
    incident = create_incident(client, api_headers, summary)
    started = time.perf_counter()
    response = client.get(f"/incidents/{incident['id']}")
    took = time.perf_counter() - started
    assert response.status_code == 200
    assert "<strong>kept</strong>" in response.get_data(as_text=True)
    assert took < 2, f"{kind}: {took:.1f} s"


def test_the_longest_summary_allowed_still_renders_in_bounded_time(client, api_headers):
    """100,000 characters (the limit) of the worst input found: 17 minutes by extrapolation
    with python-markdown, about 2 s now, and once per text thanks to the cache."""
    incident = create_incident(client, api_headers, "![" * 50_000)
    started = time.perf_counter()
    first = client.get(f"/incidents/{incident['id']}")
    assert first.status_code == 200
    assert time.perf_counter() - started < 10
    started = time.perf_counter()
    again = client.get(f"/incidents/{incident['id']}")
    assert again.status_code == 200
    assert time.perf_counter() - started < 10


def test_an_edited_summary_shows_at_once_though_renders_are_cached(client, api_headers):
    from catalog.security import render_markdown

    incident = create_incident(client, api_headers, "Cause: **first** guess")
    page = client.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "<strong>first</strong>" in page
    assert (
        render_markdown("Cause: **first** guess") == "<p>Cause: <strong>first</strong> guess</p>\n"
    )
    edited = client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"summary": "Cause: **second** guess", "version": incident["version"]},
        headers=api_headers,
    )
    assert edited.status_code == 200, edited.get_json()
    page = client.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "<strong>second</strong>" in page and "<strong>first</strong>" not in page
