"""Pages as a user meets them: headers, sanitised Markdown, error pages, conflicts, lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import T0, form_payload, make_incident
from sqlalchemy import func, select

from catalog import create_app
from catalog.config import ConfigError
from catalog.incidents.models import Incident
from catalog.vectors.models import Vector


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "payload, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "data:text/html"),
        ("<iframe src='https://evil.example'></iframe>", "<iframe"),
        ('<p style="background:url(x)">styled</p>', "style="),
    ],
)
def test_markdown_is_sanitised(client, session, payload, forbidden):
    vector = session.scalar(select(Vector).where(Vector.slug == "data-drift"))
    vector.description = f"**Bold** then {payload}"
    session.commit()
    page = client.get("/vectors/data-drift").get_data(as_text=True)
    assert "<strong>Bold</strong>" in page
    assert forbidden not in page


def test_404_and_500_pages_look_like_the_app(app, client, monkeypatch):
    from catalog.auth.access import RULES

    monkeypatch.setitem(RULES, "boom", {"GET": "viewer"})

    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")

    response = client.get("/incidents/424242")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "There is no incident #424242." in page and "Failure Catalog" in page

    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Internal Server Error" in page and "Failure Catalog" in page and "kaboom" not in page


def test_health_reports_an_unreachable_database(tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1",
        }
    )
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert (body["status"], body["database"]) == ("degraded", "unreachable")
        assert body["message"].startswith("Database unavailable")
        assert "127.0.0.1" not in body["message"]  # the driver's reason goes to the log only
        assert response.headers["Retry-After"] == "30"
    finally:
        app.extensions["catalog.engine"].dispose()


def test_production_refuses_to_start_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="CATALOG_SECRET_KEY"):
        create_app()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("CATALOG_TIMEZONE", "Mars/Olympus", "not a known IANA time zone"),
        ("CATALOG_RCA_HOURS", "two days", "whole number"),
        ("CATALOG_RCA_HOURS", "0", "at least 1"),
        ("CATALOG_MTTR_FROM", "acknowledged", "'detected' or 'started'"),
    ],
)
def test_bad_configuration_is_explained(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CATALOG_SECRET_KEY", "x")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


@pytest.fixture
def csrf_app_config(app_config):  # type: ignore[no-untyped-def]
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_forms_need_a_csrf_token(csrf_app_config, client, session):
    response = client.post("/incidents/new", data=form_payload())
    assert response.status_code in (400, 422)
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_stale_edit_keeps_input_and_changes_nothing(client, session):
    incident = make_incident(session)
    stale = incident.version
    ok = client.post(
        f"/incidents/{incident.id}/edit", data=form_payload(title="First edit", version=stale)
    )
    assert ok.status_code == 302
    response = client.post(
        f"/incidents/{incident.id}/edit",
        data=form_payload(title="Second, stale edit", version=stale),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Someone else saved a change" in page
    assert 'value="Second, stale edit"' in page
    session.expire_all()
    assert session.get(Incident, incident.id).title == "First edit"


def test_incident_list_filters_sorts_and_pages(client, session):
    for n in range(30):
        make_incident(
            session,
            title=f"Incident {n:02d}",
            severity="SEV1" if n % 3 == 0 else "SEV3",
            started_at=T0 + timedelta(hours=n),
            detected_at=T0 + timedelta(hours=n, minutes=n),
            recovered_at=None if n == 29 else T0 + timedelta(hours=n, minutes=60),
        )
    page = client.get("/incidents/?severity=SEV1&sort=started").get_data(as_text=True)
    assert '<span data-testid="list-total">10</span> incidents' in page
    assert page.index("Incident 00") < page.index("Incident 03")
    page = client.get("/incidents/?per_page=25&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page and "Incident 00" in page and "Incident 29" not in page
    page = client.get("/incidents/?status=open").get_data(as_text=True)
    assert "Incident 29" in page and "Incident 28" not in page
    assert client.get("/incidents/?severity=SEV9").status_code == 400
    assert client.get("/incidents/?page=-1").status_code == 400
    empty = client.get("/incidents/?q=nothing-like-this").get_data(as_text=True)
    assert "No incidents match these filters" in empty


def test_archived_vector_is_kept_on_incidents_but_not_offered(client, session):
    incident = make_incident(session, vectors=["model-poisoning"])
    response = client.post("/vectors/model-poisoning/archive", data={"archived": "1"})
    assert response.status_code == 302
    assert "model-poisoning" not in client.get("/incidents/new").get_data(as_text=True)
    assert "model-poisoning" in client.get(f"/incidents/{incident.id}/edit").get_data(as_text=True)
    refused = client.post("/incidents/new", data=form_payload(vectors=["model-poisoning"]))
    assert refused.status_code == 422
    response = client.post("/vectors/model-poisoning/delete", follow_redirects=True)
    assert "cannot be deleted; archive it instead" in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Vector).where(Vector.slug == "model-poisoning")) is not None


@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01", "since=2026-13-01"])
def test_reports_page_refuses_dates_out_of_range(client, query):
    response = client.get(f"/reports/?group_by=week&{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Pick a date between" in page or "Use a date like" in page


def test_reports_page_shows_the_metrics(client, session):
    make_incident(session)  # ttd 4m, ttr 12m on dependency-latency
    page = client.get("/reports/?since=2026-03-01&until=2026-03-31").get_data(as_text=True)
    assert "Dependency latency" in page and "4m" in page and "12m" in page


@pytest.mark.parametrize(
    "row, message",
    [
        ({"link": "javascript:alert(1)"}, "Link must be an http:// or https:// URL."),
        ({"owner": "o" * 101}, "Owner must be at most 100 characters (got 101)."),
        ({"title": "", "owner": "kim"}, "Title is required."),
    ],
)
def test_postmortem_row_errors_are_shown_on_their_row(client, session, row, message):
    incident = make_incident(session)
    data = {
        "status": "draft",
        "body": "x",
        "save": "Save post-mortem",
        "action_items-0-title": "A good item",
        "action_items-1-title": "",  # a spare row, skipped
        "action_items-2-title": "The bad one",
    }
    data.update({f"action_items-2-{k}": v for k, v in row.items()})
    response = client.post(f"/incidents/{incident.id}/postmortem", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    marked = page[page.index('name="action_items-2-title"') :]
    assert message in marked[: marked.index("</tr>")]  # on the bad row itself
    assert "action_items." not in page  # no raw field paths shown to people
    session.expire_all()
    assert session.get(Incident, incident.id).postmortem is None


def test_edit_form_without_version_says_so(client, session):
    incident = make_incident(session)
    response = client.post(f"/incidents/{incident.id}/edit", data=form_payload(title="No version"))
    assert response.status_code == 422
    assert "Version is required" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Incident, incident.id).title != "No version"


def test_api_reports_archived_and_field_errors_together(client):
    response = client.post("/api/v1/vectors", json={"name": "", "archived": "yes"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) >= {"name", "archived"}


def test_editing_one_field_keeps_every_timestamp_exact(client, session):
    """The form shows minutes; saving it unchanged must not trim what the API stored."""
    from factories import api_payload

    created = client.post(
        "/api/v1/incidents",
        json=api_payload(
            started_at="2026-03-02T12:00:05.431000Z", detected_at="2026-03-02T12:04:09.5Z"
        ),
    ).get_json()
    form = client.get(f"/incidents/{created['id']}/edit").get_data(as_text=True)
    assert 'value="2026-03-02 12:00"' in form and 'value="2026-03-02 12:04"' in form
    response = client.post(
        f"/incidents/{created['id']}/edit",
        data=form_payload(
            title="Only the title changes",
            started_at="2026-03-02 12:00",
            detected_at="2026-03-02 12:04",
            version=created["version"],
        ),
    )
    assert response.status_code == 302
    after = client.get(f"/api/v1/incidents/{created['id']}").get_json()
    assert after["title"] == "Only the title changes"
    assert after["started_at"] == "2026-03-02T12:00:05.431000Z"
    assert after["detected_at"] == "2026-03-02T12:04:09.500000Z"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/incidents/424242", "There is no incident #424242."),
        ("/incidents/424242/edit", "There is no incident #424242."),
        ("/incidents/424242/postmortem", "There is no incident #424242."),
        ("/vectors/no-such-vector", "There is no failure vector called “no-such-vector”."),
        ("/admin/users/424242", "There is no user #424242."),
        ("/api/v1/incidents/424242", "There is no incident #424242."),
        ("/api/v1/vectors/no-such-vector", "There is no failure vector called “no-such-vector”."),
    ],
)
def test_a_missing_record_is_a_404_in_the_domains_words_on_pages_and_the_api(client, path, message):
    """No view catches the domain's "not found" itself: one handler answers every one."""
    response = client.get(path)
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.get_json()["error"] == {"code": "not_found", "message": message}
    else:
        assert message in response.get_data(as_text=True)


def test_an_incident_gets_one_verdict_on_its_page_and_on_each_vectors_page(client, session):
    """Linked to a strict and a lax vector, an incident is judged against its own target
    (the strictest) everywhere: the verdict comes from the metrics module, not a template."""
    from catalog.vectors.service import get_vector

    lax = get_vector(session, "data-drift")
    lax.mttr_target_minutes = 60
    session.commit()
    # detected 12:04, recovered 12:34: ttr 30 min, over the strict 15, under the lax 60
    incident = make_incident(
        session,
        vectors=["data-drift", "dependency-latency"],
        recovered_at=T0 + timedelta(minutes=34),
    )
    page = client.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "target 15m · missed" in page
    for slug in ("data-drift", "dependency-latency"):
        row = client.get(f"/vectors/{slug}").get_data(as_text=True)
        row = row[row.index(f'href="/incidents/{incident.id}"') :]
        row = row[: row.index("</tr>")]
        assert "30m" in row and "&gt; 15m ✗" in row, slug
