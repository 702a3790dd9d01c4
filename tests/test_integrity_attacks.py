"""Issue 10, items 10 and 11: holes an outside attack test found, each replayed as an attack.

Names that only look unique, invisible characters in names, root-cause times
before detection, a dossier that passes HTML and forged headings through,
downloads a cache may keep, a backup with a key nobody knows, and integers
written with digits other than 0-9. Every refusal names its field, and the
database is checked to be as it was.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from html.parser import HTMLParser

import markdown
import pytest
from alembic import command
from factories import T0, api_payload, form_payload, iso, make_incident
from helpers.accounts import make_user
from markdown_it import MarkdownIt
from sqlalchemy import create_engine, func, select, text, update

from catalog.incidents.models import Incident
from catalog.migrate import alembic_config
from catalog.postmortems.models import Postmortem
from catalog.postmortems.service import flagged_incidents, root_cause_flag, save_postmortem
from catalog.rules import name_key
from catalog.vectors.models import Vector


def fresh(app):  # type: ignore[no-untyped-def]
    """A new session: what the database holds now, not what a test's session remembers."""
    return app.extensions["catalog.sessionmaker"]()


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with fresh(app) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def vector_payload(**overrides: object) -> dict[str, object]:
    return {"name": "Cache Miss", "slug": "cache-miss", "category": "other", **overrides}


# ---- 1. vector names that only look unique ------------------------------------------------


def test_name_key_folds_what_a_reader_cannot_tell_apart():
    assert name_key("Cache Miss") == name_key("cache  miss") == name_key("ＣＡＣＨＥ MISS")
    assert name_key(" Straße\tDrift ") == name_key("STRASSE DRIFT") == "strasse drift"
    assert name_key("Cache Miss") != name_key("Cache Misses")


def test_three_concurrent_case_variants_create_one_vector(app):
    """Three requests race past the friendly check; the unique index lets one through."""
    clients = [app.test_client() for _ in range(3)]
    token = make_user(app, "editor", "racer@example.com")[2]
    names = ["Cache Miss", "cache  miss", "ＣＡＣＨＥ MISS"]
    barrier = threading.Barrier(3)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def create(client, i: int) -> None:  # type: ignore[no-untyped-def]
        barrier.wait(timeout=10)
        response = client.post(
            "/api/v1/vectors",
            json=vector_payload(name=names[i], slug=f"cache-miss-{i}"),
            headers={"Authorization": f"Bearer {token}"},
        )
        with lock:
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=create, args=(c, i)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 3, "a request hung"
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, results
    for status, body in results:
        if status != 201:
            assert status in (409, 422), body
            assert body["error"]["fields"]["name"] == ["A vector with this name already exists."]
    with fresh(app) as s:
        rows = s.scalars(select(Vector).where(Vector.name_key == "cache miss")).all()
        assert len(rows) == 1
        assert s.scalar(select(func.count()).where(Vector.slug.like("cache-miss-%"))) == 1


@pytest.mark.parametrize(
    "variant", ["cache  miss", "ＣＡＣＨＥ MISS", " CACHE MISS ", "Cache\tMiss"]
)
def test_a_name_variant_is_refused_by_the_api_and_the_form(app, client, variant):
    assert client.post("/api/v1/vectors", json=vector_payload()).status_code == 201
    before = count(app, Vector)

    response = client.post("/api/v1/vectors", json=vector_payload(name=variant, slug="other"))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"name": ["A vector with this name already exists."]}

    form = client.post(
        "/vectors/new",
        data={
            "name": variant,
            "slug": "other",
            "category": "other",
            "mttd_target_minutes": "5",
            "mttr_target_minutes": "15",
        },
    )
    assert form.status_code == 422
    assert "A vector with this name already exists." in form.get_data(as_text=True)
    assert count(app, Vector) == before


def test_renaming_onto_a_variant_is_refused_and_the_key_follows_a_rename(app, client):
    client.post("/api/v1/vectors", json=vector_payload())
    other = client.post("/api/v1/vectors", json=vector_payload(name="Cold Start", slug="cold"))
    refused = client.patch(
        "/api/v1/vectors/cold", json={"version": other.json["version"], "name": "CACHE miss"}
    )
    assert refused.status_code == 422
    assert "name" in refused.json["error"]["fields"]
    renamed = client.patch(
        "/api/v1/vectors/cold", json={"version": other.json["version"], "name": "Cold  START v2"}
    )
    assert renamed.status_code == 200
    with fresh(app) as s:
        assert s.scalar(select(Vector.name_key).where(Vector.slug == "cold")) == "cold start v2"


def test_a_restore_cannot_bring_in_a_name_variant(app, client):
    client.post("/api/v1/vectors", json=vector_payload())
    before = count(app, Vector)
    document = {
        "format": "failure-catalog-backup",
        "version": 1,
        "vectors": [vector_payload(name="cache MISS", slug="restored-cache")],
        "incidents": [],
    }
    response = client.post(
        "/api/v1/imports",
        query_string={"format": "json"},
        data=json.dumps(document).encode(),
        content_type="application/octet-stream",
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"]["vectors[0].name"] == [
        "A vector with this name already exists."
    ]
    assert count(app, Vector) == before


def test_every_stored_vector_has_its_key(app, client):
    """The seeded vectors got theirs from the migration, new ones from the app."""
    client.post("/api/v1/vectors", json=vector_payload())
    with fresh(app) as s:
        for vector in s.scalars(select(Vector)):
            assert vector.name_key == name_key(vector.name)


def test_the_migration_renames_existing_look_alikes_instead_of_failing(app, database_url):
    """Rows that collide once folded (written before 0007) get a " (2)" suffix, nothing else."""
    cfg = alembic_config(database_url)
    app.extensions["catalog.engine"].dispose()
    command.downgrade(cfg, "0006")  # back to before 0007: names unique only as typed
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for slug, name in (("a", "Look Alike"), ("b", "look  alike"), ("c", "LOOK ALIKE (2)")):
                conn.execute(
                    text(
                        "INSERT INTO vectors (slug, name, category, description, detection,"
                        " mitigation, mttd_target_minutes, mttr_target_minutes, created_at,"
                        " updated_at, version) VALUES (:slug, :name, 'other', '', '', '', 5, 15,"
                        " :at, :at, 1)"
                    ),
                    {"slug": slug, "name": name, "at": T0},
                )
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            query = text("SELECT slug, name FROM vectors WHERE slug IN ('a','b','c')")
            rows = {slug: name for slug, name in conn.execute(query)}
            keys = [k for (k,) in conn.execute(text("SELECT name_key FROM vectors"))]
    finally:
        engine.dispose()
    assert rows == {"a": "Look Alike", "b": "look  alike (3)", "c": "LOOK ALIKE (2)"}
    assert None not in keys and len(keys) == len(set(keys))


# ---- 2. invisible format characters in one-line fields ------------------------------------

RLO, ZWSP = "\u202e", "\u200b"


@pytest.mark.parametrize(
    "path, payload, field, code",
    [
        ("/api/v1/incidents", api_payload(title=f"Outage {RLO}txt.exe"), "title", "U+202E"),
        ("/api/v1/incidents", api_payload(service=f"rag{ZWSP}search"), "service", "U+200B"),
        ("/api/v1/incidents", api_payload(team="\ufeffsearch"), "team", "U+FEFF"),
        ("/api/v1/vectors", vector_payload(name=f"Cache{ZWSP} Miss"), "name", "U+200B"),
        ("/api/v1/vectors", vector_payload(name="Soft\u00adhyphen"), "name", "U+00AD"),
        ("/api/v1/vectors", vector_payload(slug=f"cache{ZWSP}-miss"), "slug", "U+200B"),
    ],
)
def test_the_api_refuses_invisible_characters_in_names_and_titles(
    app, client, path, payload, field, code
):
    before = (count(app, Incident), count(app, Vector))
    response = client.post(path, json=payload)
    assert response.status_code == 422
    message = response.json["error"]["fields"][field][0]
    assert f"contains invisible formatting characters ({code}); type the text plainly." in message
    assert (count(app, Incident), count(app, Vector)) == before


def test_the_forms_refuse_invisible_characters_too(app, client):
    before = (count(app, Incident), count(app, Vector))
    incident = client.post("/incidents/new", data=form_payload(title=f"Outage {RLO}gnp.exe"))
    assert incident.status_code == 422
    assert "Title contains invisible formatting characters (U+202E)" in incident.get_data(
        as_text=True
    )
    vector = client.post(
        "/vectors/new",
        data={
            "name": f"Cache{ZWSP} Miss",
            "category": "other",
            "mttd_target_minutes": "5",
            "mttr_target_minutes": "15",
        },
    )
    assert vector.status_code == 422
    assert "Name contains invisible formatting characters (U+200B)" in vector.get_data(as_text=True)
    assert (count(app, Incident), count(app, Vector)) == before


def test_action_items_user_names_and_token_names_refuse_them(app, client, session):
    incident = make_incident(session)
    response = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={"action_items": [{"title": "Fix", "owner": f"ali{RLO}ce"}]},
    )
    assert response.status_code == 422
    assert "U+202E" in response.json["error"]["fields"]["action_items.0.owner"][0]
    token = client.post("/account/tokens", data={"token-name": f"ci{ZWSP}"})
    assert token.status_code == 422
    assert "invisible formatting characters (U+200B)" in token.get_data(as_text=True)
    invite = client.post(
        "/admin/users", data={"email": "new@example.com", "name": f"Eve{RLO}", "role": "viewer"}
    )
    assert invite.status_code == 422
    with fresh(app) as s:
        assert s.get(Incident, incident.id).postmortem is None
        assert s.scalar(text("SELECT count(*) FROM users WHERE email = 'new@example.com'")) == 0


def test_markdown_prose_keeps_them(app, client):
    """A ZWJ emoji sequence or a right-to-left quote is prose, rendered through the sanitiser."""
    prose = f"Family 👨\u200d👩\u200d👧 and {RLO}quoted\u202c text"
    response = client.post("/api/v1/vectors", json=vector_payload(description=prose))
    assert response.status_code == 201
    assert response.json["description"] == prose


# ---- 3. a root cause before detection -----------------------------------------------------


def test_a_root_cause_between_start_and_detection_is_refused(app, client, session):
    incident = make_incident(session)  # started T0, detected T0 + 4 min
    response = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={"root_cause_at": iso(T0 + timedelta(minutes=2))},
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "root_cause_at": ["Root cause identified cannot be before the incident was detected."]
    }
    assert count(app, Postmortem) == 0


def test_moving_detection_past_the_root_cause_is_refused(app, client, session):
    incident = make_incident(session, recovered_at=None)
    save_postmortem(session, incident, {"root_cause_at": T0 + timedelta(minutes=30)})
    session.commit()
    response = client.patch(
        f"/api/v1/incidents/{incident.id}",
        json={"version": incident.version, "detected_at": iso(T0 + timedelta(hours=1))},
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"]["detected_at"] == [
        "Detected cannot be after the root cause was identified "
        "(2026-03-02T12:30:00Z, in the post-mortem); change that first."
    ]
    with fresh(app) as s:
        assert s.get(Incident, incident.id).detected_at == T0 + timedelta(minutes=4)


def test_a_legacy_negative_root_cause_is_late_never_on_time(app, session, settings):
    """Written by an older version: the record is wrong, not fast, and gets flagged."""
    incident = make_incident(session)
    save_postmortem(session, incident, {"root_cause_at": T0 + timedelta(minutes=10)})
    session.commit()
    session.execute(  # what an older version could store; no current path can
        update(Postmortem)
        .where(Postmortem.incident_id == incident.id)
        .values(root_cause_at=T0 + timedelta(minutes=1))
    )
    session.commit()
    session.expire_all()
    now = T0 + timedelta(days=30)
    assert root_cause_flag(incident.detected_at, T0, now=now, rca_hours=48) == "late"
    flagged, total = flagged_incidents(session, now=now, rca_hours=settings.rca_hours)
    assert [(i.id, flag) for i, flag in flagged] == [(incident.id, "late")] and total == 1


def test_a_restore_refuses_a_root_cause_before_detection_with_its_place(app, client):
    before = (count(app, Incident), count(app, Postmortem))
    record = {
        "uid": "legacy-1",
        **{k: v for k, v in api_payload().items() if k != "vectors"},
        "vectors": ["dependency-latency"],
        "postmortem": {"status": "draft", "root_cause_at": iso(T0 + timedelta(minutes=1))},
    }
    document = {
        "format": "failure-catalog-backup",
        "version": 1,
        "vectors": [],
        "incidents": [record],
    }
    response = client.post(
        "/api/v1/imports",
        query_string={"format": "json"},
        data=json.dumps(document).encode(),
        content_type="application/octet-stream",
    )
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert fields == {
        "incidents[0].postmortem.root_cause_at": [
            "Root cause identified cannot be before the incident was detected."
        ]
    }
    assert (count(app, Incident), count(app, Postmortem)) == before


# ---- 4. the Markdown dossier ---------------------------------------------------------------

DOSSIER_HEADINGS = [
    "Failure-mode catalog and incident record",
    "Readiness",
    "Headline",
    "Catalog: targets and results per vector",
    "Post-mortem record",
    "Incident trend",
]
EVIL_PROSE = """Looks harmless. <script>alert(1)</script> <img src=x onerror=alert(2)>
[click](javascript:alert(3)) [tab](java\tscript:alert(4)) [escaped](javascript\\:alert(5))
[ref]: vbscript:msgbox(6)
<a href="javascript:alert(7)">raw</a> <javascript:alert(8)> ![pic](data:text/html,<b>9</b>)

# Failure-mode catalog and incident record
## Readiness
- ## Headline
> ### Post-mortem record

Incident trend
==============

Catalog: targets and results per vector
---
<!-- everything after this would be hidden
"""


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.headings: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._in, self.headings = tag, [*self.headings, ""]

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == self._in:
            self._in = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in:
            self.headings[-1] += data


def test_the_markdown_dossier_passes_no_html_no_dangerous_link_and_no_forged_heading(app, client):
    created = client.post(
        "/api/v1/vectors",
        json=vector_payload(
            name="<script>alert(0)</script> # Cache",
            description=EVIL_PROSE,
            detection=EVIL_PROSE,
            mitigation="Restart it:\n\n```sh\n# drain first\necho '<ok>'\n" + EVIL_PROSE,
        ),
    )
    assert created.status_code == 201
    body = client.get("/api/v1/exports/dossier.md").get_data(as_text=True)
    assert body == client.get("/exports/dossier", query_string={"format": "md"}).get_data(
        as_text=True
    )
    # Read by two common renderers: python-markdown, and CommonMark with raw HTML on (as
    # GitHub and most Markdown viewers are), through markdown-it-py.
    commonmark = MarkdownIt("commonmark", {"html": True}).enable("table")
    for html in (
        markdown.markdown(body, extensions=["fenced_code", "tables"]),
        commonmark.render(body),
    ):
        parsed = _Tags()
        parsed.feed(html)
        tags = {tag for tag, _ in parsed.tags}
        assert not tags & {"script", "img", "iframe", "object", "embed", "svg"}, tags
        for tag, attrs in parsed.tags:
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            for name in ("href", "src"):
                url = "".join(attrs.get(name, "").split("\t")).replace("\n", "").strip().lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), (tag, attrs)
        for heading in DOSSIER_HEADINGS:
            assert parsed.headings.count(heading) == 1, (heading, parsed.headings)
    html = markdown.markdown(body, extensions=["fenced_code", "tables"])
    parsed = _Tags()
    parsed.feed(html)
    assert "<script>alert(0)</script> # Cache" in parsed.headings  # the name, read literally
    # The prose still reads: the script tag shows as text, the runbook's code stays code.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code class=\"language-sh\"># drain first\necho '&lt;ok&gt;'" in html


# ---- 5. no-store on everything that holds data ---------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/exports/backup.json",
        "/api/v1/exports/backup.json",
        "/incidents/export.csv",
        "/api/v1/exports/incidents.csv",
        "/reports/trend.csv",
        "/reports/breakdown.csv",
        "/reports/change.csv",
        "/exports/dossier",
        "/exports/dossier?format=md&download=1",
        "/exports/dossier?download=1",
        "/api/v1/exports/dossier.md",
        "/admin/users",
        "/admin/audit",
        "/account",
        "/incidents/",
        "/api/v1/incidents",
    ],
)
def test_downloads_and_pages_with_data_are_not_stored_by_any_cache(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["Cache-Control"] == "no-store"
    response.close()


def test_pages_showing_a_one_time_password_or_a_new_token_are_not_stored(app, client):
    invite = client.post("/admin/users", data={"email": "new@example.com", "role": "viewer"})
    assert invite.status_code == 201
    assert invite.headers["Cache-Control"] == "no-store"
    with fresh(app) as s:
        user_id = s.scalar(text("SELECT id FROM users WHERE email = 'new@example.com'"))
    assert client.get(f"/admin/users/{user_id}").headers["Cache-Control"] == "no-store"
    reset = client.post(f"/admin/users/{user_id}", data={"action": "reset"})
    assert reset.status_code == 200 and "one-time" in reset.get_data(as_text=True).lower()
    assert reset.headers["Cache-Control"] == "no-store"
    token = client.post("/account/tokens", data={"token-name": "grafana"})
    assert token.status_code == 201
    assert token.headers["Cache-Control"] == "no-store"


def test_static_files_and_the_health_check_keep_their_caching(anon_client):
    static = anon_client.get("/static/app.css")
    assert static.status_code == 200
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()
    assert anon_client.get("/healthz").headers.get("Cache-Control") != "no-store"


# ---- 6. a backup with a key the version does not know ------------------------------------


def test_a_backup_with_an_unknown_top_level_key_is_refused(app, client):
    before = (count(app, Vector), count(app, Incident))
    document = {
        "format": "failure-catalog-backup",
        "version": 1,
        "vectors": [vector_payload(name="Smuggled", slug="smuggled")],
        "incidents": [],
        "extra": 1,
    }
    response = client.post(
        "/api/v1/imports",
        query_string={"format": "json"},
        data=json.dumps(document).encode(),
        content_type="application/octet-stream",
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"extra": ["Unknown field in a version 1 backup."]}
    assert response.json["error"]["message"] == "The backup is refused; nothing was imported."
    assert (count(app, Vector), count(app, Incident)) == before


# ---- 7. integers written with digits other than 0-9 ----------------------------------------

SUPERSCRIPT_TWO, ARABIC_12, ARABIC_50 = "²", "١٢", "٥٠"


@pytest.mark.parametrize(
    "url, args, status, says",
    [
        ("/admin/audit", {"page": SUPERSCRIPT_TWO}, 200, None),
        ("/admin/audit", {"page": ARABIC_12}, 200, None),
        ("/admin/audit", {"incident": SUPERSCRIPT_TWO}, 200, None),
        ("/admin/audit", {"incident": ARABIC_12, "page": "１"}, 200, None),
        ("/incidents/", {"page": SUPERSCRIPT_TWO}, 400, "Page must be 1 or more."),
        ("/incidents/", {"page": ARABIC_12}, 400, "Page must be 1 or more."),
        ("/incidents/", {"per_page": ARABIC_50}, 400, "Per page must be between"),
        ("/incidents/", {"page": "1_0"}, 400, "Page must be 1 or more."),
        ("/api/v1/incidents", {"page": SUPERSCRIPT_TWO}, 422, "page"),
        ("/api/v1/incidents", {"page": ARABIC_12}, 422, "page"),
        ("/api/v1/incidents", {"per_page": ARABIC_50}, 422, "per_page"),
        ("/api/v1/incidents", {"page": " 2 "}, 422, "page"),
        ("/api/v1/vectors", {"page": "２"}, 422, "page"),  # fullwidth
    ],
)
def test_query_integers_take_ascii_digits_only(client, url, args, status, says):
    response = client.get(url, query_string=args)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 422:
        assert response.json["error"]["fields"][says] == [
            "Must be a whole number written with the digits 0-9."
        ]
    elif says:
        assert says in response.get_data(as_text=True)


def test_the_audit_page_still_reads_ascii_numbers(app, client, session):
    incident = make_incident(session)
    page = client.get("/admin/audit", query_string={"incident": str(incident.id), "page": "1"})
    assert page.status_code == 200
    assert f"#{incident.id}" in page.get_data(as_text=True)


def test_form_integers_take_ascii_digits_only(app, client):
    before = count(app, Vector)
    response = client.post(
        "/vectors/new",
        data={
            "name": "Arabic digits",
            "category": "other",
            "mttd_target_minutes": "٥",
            "mttr_target_minutes": "15",
        },
    )
    assert response.status_code == 422
    assert "Not a valid integer value. Write it with the digits 0-9." in response.get_data(
        as_text=True
    )
    assert count(app, Vector) == before
