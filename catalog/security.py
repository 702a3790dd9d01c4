"""Security in one place: response headers, cookie flags, request bodies and safe Markdown.

`render_markdown` is the only way Markdown becomes HTML: markdown-it-py renders
(CommonMark, linear time), nh3 (the Rust `ammonia` sanitiser) strips
everything outside a tight allowlist, and only then is the result marked safe
for Jinja.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

import nh3
from flask import Flask, Request, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

# object-src 'self': the report charts are SVG documents in <object> (so their points
# link to incidents); nothing else of ours is embeddable (X-Frame-Options DENY).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'self'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


# CommonMark with GitHub's tables and ~~strikethrough~~; fenced code is CommonMark's own.
# markdown-it-py rather than python-markdown: its parser is built to run in linear time, where
# python-markdown took 29 s on 16 KB of `![` (quadratic inline parsing) for every viewer.
# Raw HTML in the source passes to nh3 as before (`html=True`), which keeps the allowlist's
# tags that Markdown cannot write (`<abbr>`, `<dl>`, `<sub>`) and removes everything else.
# Inline only: a CommonMark HTML block would swallow the Markdown on the rest of its line
# (`<script>x</script>**bold**` left `**bold**` as source text once nh3 removed the script).
_MARKDOWN = (
    MarkdownIt("commonmark", {"html": True})
    .enable(["table", "strikethrough"])
    .disable("html_block")
)
# Every link becomes a link and nh3 drops a href outside URL_SCHEMES: markdown-it's own check
# would leave `[click](javascript:...)` on the page as source text instead of the word.
_MARKDOWN.validateLink = lambda url: True  # type: ignore[method-assign]


def _table_align(state: Any) -> None:
    """Column alignment as the `align` attribute the allowlist keeps, not a `style`."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            if isinstance(style, str) and style.startswith("text-align:"):
                token.attrSet("align", style.removeprefix("text-align:"))


_MARKDOWN.core.ruler.push("table_align", _table_align)


def render_markdown(text: str | None) -> Markup:
    """Markdown to sanitised HTML; raw HTML in the source is escaped or removed.

    The sanitised HTML is cached by a hash of the text, so a page viewed again (or the
    same text shown on several pages) is not rendered again until the text changes.
    """
    if not text:
        return Markup("")
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    clean = _rendered.get(key)
    if clean is None:
        clean = nh3.clean(
            _MARKDOWN.render(text),
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
        _rendered.put(key, clean)
    return Markup(clean)  # noqa: S704 - sanitised just above


class _RenderCache:
    """A least-recently-used map of text hash to sanitised HTML, bounded in bytes.

    Bounded by size rather than by count: one summary may be 100 KB of Markdown.
    Shared by the threads of one process, hence the lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.items: OrderedDict[bytes, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: bytes) -> str | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: bytes, value: str) -> None:
        cost = len(value) + 100
        if cost > self.max_bytes:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = value
            self.size += cost
            while self.size > self.max_bytes:
                _, dropped = self.items.popitem(last=False)
                self.size -= len(dropped) + 100


_rendered = _RenderCache(max_bytes=16 * 2**20)


# Responses a cache may keep: the stylesheet and scripts, and the health probe.
CACHEABLE_ENDPOINTS = frozenset({"static", "health.healthz"})


def _headers(response: Response) -> Response:
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        # Everything else shows catalog data, a one-time password or a new token, or is a
        # download (backup, CSV, dossier): no browser or proxy cache may keep a copy.
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure or current_app.config["SECURE_COOKIES"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


class _Utf8FormDataParser(FormDataParser):
    """Refuse a form body that is not UTF-8 (400) instead of keeping bad bytes as "%FF" text.

    Overrides Werkzeug's private `_parse_*` hooks; tests/test_hostile_refused.py fails
    if a Werkzeug upgrade stops calling them.
    """

    def _parse_urlencoded(
        self, stream: Any, mimetype: Any, content_length: Any, options: Any
    ) -> Any:
        try:
            items = parse_qsl(stream.read().decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as exc:
            raise BadRequest("The form data is not valid UTF-8.") from exc
        return stream, self.cls(items), self.cls()

    def _parse_multipart(
        self, stream: Any, mimetype: Any, content_length: Any, options: Any
    ) -> Any:
        # Only the pages that take a file (imports, load-test results, canary samples)
        # parse multipart; a file's bytes are decoded (strictly) by its reader. Elsewhere Werkzeug's multipart parser would turn invalid UTF-8 into
        # U+FFFD silently; refusing is simpler than checking.
        if has_request_context() and request.endpoint in MULTIPART_ENDPOINTS:
            return super()._parse_multipart(stream, mimetype, content_length, options)
        raise BadRequest("Send forms url-encoded; this app accepts no multipart bodies.")


class _CappedStream(LimitedStream):
    """A body with no Content-Length (sent chunked), read up to `limit` bytes and no further.

    Werkzeug's own wrapper for such a body stops quietly at the limit, so an import
    sent chunked was cut at `max_content_length` and its tail silently dropped. This
    one lets one byte more through and answers 413 when it comes: over the limit is
    refused, never truncated, and at most limit + 1 bytes are ever read.
    """

    def __init__(self, stream: Any, limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.max_bytes = limit

    def readinto(self, b: Any) -> int | None:
        size = super().readinto(b)
        if self.tell() > self.max_bytes:
            raise RequestEntityTooLarge()
        return size


class _Request(Request):
    form_data_parser_class = _Utf8FormDataParser

    @cached_property
    def stream(self) -> Any:
        """The body, held to `max_content_length` whether or not it came with a length.

        Servers that de-chunk a body (Werkzeug's, gunicorn) mark it with
        `wsgi.input_terminated`; with a Content-Length Werkzeug's check already refuses
        an oversized body before reading it.
        """
        limit = self.max_content_length
        if (
            self.content_length is None
            and limit is not None
            and self.environ.get("wsgi.input_terminated")
        ):
            return _CappedStream(self.environ["wsgi.input"], limit)
        return super().stream


class _SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """A request without the cookie (an API client, a probe) starts an empty session
        at once: Flask's own method builds the signing serializer before it looks."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure
        )


MULTIPART_ENDPOINTS = frozenset(
    {"imports.upload", "releases.import_load_test", "releases.canary", "api.analyse_canary"}
)
UPLOAD_ENDPOINTS = frozenset(
    {"imports.upload", "api.import_file", "releases.canary", "api.analyse_canary"}
)


def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Imports take files larger than the 2 MiB every other request is held to.

    A URL value preprocessor runs before every before_request hook, CSRF's
    included, so the larger limit is in place before anything reads the body.
    Only for a caller allowed to import: nobody else gets to make the server
    read 64 MiB (CSRF parses the form before the authorization check runs).
    """
    if endpoint not in UPLOAD_ENDPOINTS:
        return
    from catalog.auth import current_actor
    from catalog.auth.access import required_role

    user, role = current_actor(), required_role(endpoint, request.method)
    if user is not None and role is not None and user.has_role(role):
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


def trust_proxies(app: Flask) -> None:
    """Behind CATALOG_PROXY_HOPS reverse proxies, take the client's address, scheme,
    host and path prefix from their X-Forwarded-* headers (Werkzeug's ProxyFix).

    With no proxy configured the headers are ignored: any client can send them,
    and the sign-in throttle counts failures by address.
    """
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )


def init_app(app: Flask) -> None:
    trust_proxies(app)
    app.url_value_preprocessor(_upload_limit)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = _SessionInterface()
    app.request_class = _Request
    app.after_request(_headers)
