"""Hostile input: the machinery of the catalogue of attacks on every form and every API write.

The attacks themselves are in tests/test_hostile_*.py, one file a category: `xss`, `sql`,
`refused`, `limits` and `reflected`.

Every case starts from a world (the `world` fixture of conftest.py) of the seeded
catalog plus one incident with its post-mortem and one action item, on SQLite and on
PostgreSQL, and is one of three kinds:

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

from factories import T0, api_payload, form_payload, iso
from markupsafe import escape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalog.auth.models import ApiToken, User

ADMIN = "admin@example.com"
DUE = (T0 + timedelta(days=7)).date()  # long past: the item is overdue on the dashboard


# SQL injection strings: stored literally (test_hostile_sql.py), and refused wherever a
# value must follow a rule (test_hostile_refused.py).
DROP_INCIDENTS = "'; DROP TABLE incidents; --"
OR_TRUE = "' OR '1'='1"
BOBBY = "Robert'); DROP TABLE vectors;--"
PROMOTE = "1; UPDATE users SET role='admin' WHERE 1=1; --"


# ---- the world every case starts from --------------------------------------------------


@dataclass
class World:
    app: Any
    client: Any  # an admin, signed in on the web and carrying a bearer token
    session: Session
    incident: int  # the incident, its post-mortem and the data-drift vector are at version 2
    item: int  # the post-mortem's one action item


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


# The one script a page may load: our own, from /static, with no inline code.
OWN_SCRIPT = re.compile(r'<script src="/static/[a-z]+\.js" defer></script>')


# The one embedded document a page may hold: a chart from our own route (reports.chart).
OWN_CHART = re.compile(
    r'<object class="chart-(?:wide|narrow)" type="image/svg\+xml" data="/reports/chart/'
)


def assert_inert_html(page: str, where: str = "") -> None:
    page = OWN_SCRIPT.sub("", page)
    page = OWN_CHART.sub("<chart ", page)
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
