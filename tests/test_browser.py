"""A real Chromium, driven by Playwright, logs an incident through the form and reads its page."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from helpers.accounts import PASSWORD, make_user
from helpers.environment import skip_or_fail
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CATALOG_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    # The browser moves to the next page while the test server still sends the last
    # one's icon or stylesheet; Werkzeug's development server then leaves that static
    # file to the garbage collector. Only our static files, only in this module.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name='.*/static/"),
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <_io.FileIO name='.*/static/"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]


@pytest.fixture
def live_url(app_config, app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served on a free loopback port in a thread, for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    app_config["TIMEZONE"] = "Europe/Berlin"  # prove times are typed in the local zone
    app_config.pop("SERVER_NAME")
    app_config["WTF_CSRF_ENABLED"] = True  # the real form, CSRF token and all
    return app_config


VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


class BrowserProblems:
    """Console errors, uncaught exceptions and failed requests seen by a tab.

    Any of them fails the test at teardown: a CSP violation, a missing stylesheet
    or a chart that answers 500 shows up only here, never in an assertion about text.
    A page answering 4xx is a form refusing input (422) or a user's 404, which the
    tests check on the page itself; Chromium's own console line about that status
    is the one message let through.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.refused_pages: set[str] = set()
        self.console: list[tuple[str, str]] = []

    def watch(self, tab) -> None:  # type: ignore[no-untyped-def]
        tab.on("console", self._console)
        tab.on("pageerror", lambda exc: self.seen.append(f"page error: {exc}"))
        tab.on("requestfailed", self._failed)
        tab.on("response", self._response)

    def problems(self) -> list[str]:
        found = list(self.seen)
        for text, url in self.console:
            if text.startswith("Failed to load resource") and url in self.refused_pages:
                continue
            found.append(f"console error: {text} ({url})")
        return found

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error":
            self.console.append((message.text, message.location.get("url", "")))

    def _failed(self, request) -> None:  # type: ignore[no-untyped-def]
        failure = request.failure or ""
        # The browser itself gave up on it: a download ends its navigation so, and moving
        # on to the next page cancels what the last one was still fetching (an icon).
        if "ERR_ABORTED" in failure:
            return
        self.seen.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response) -> None:  # type: ignore[no-untyped-def]
        request = response.request
        if 400 <= response.status < 500 and request.resource_type == "document":
            self.refused_pages.add(request.url)
        elif response.status >= 400:
            self.seen.append(f"HTTP {response.status}: {request.method} {request.url}")


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return VIEWPORTS[request.param]


@pytest.fixture
def page(live_url, app, viewport):  # type: ignore[no-untyped-def]
    """A Chromium tab signed in, through the real sign-in form, as an editor.

    Runs at a desktop and a phone size; fails on any console error or failed request.
    """
    if not os.path.exists(CHROMIUM):
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[dev]')")
    problems = BrowserProblems()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        width, height = viewport
        context = browser.new_context(
            viewport={"width": width, "height": height},
            is_mobile=width < 600,
            has_touch=width < 600,
        )
        tab = context.new_page()
        problems.watch(tab)
        _, email, _ = make_user(app, "editor", "erin@example.com")
        tab.goto(f"{live_url}/incidents/")
        assert "/login" in tab.url  # nobody gets in without signing in
        tab.fill("#email", email)
        tab.fill("#password", PASSWORD)
        tab.click("main form.form button[type=submit]")
        tab.wait_for_url(f"{live_url}/incidents/")  # back where we were going
        yield tab
        context.close()
        browser.close()
    seen = problems.problems()
    assert seen == [], "the browser saw problems:\n" + "\n".join(seen)


def test_log_an_incident_and_see_ttd_ttr_and_flags(page, live_url, client):  # type: ignore[no-untyped-def]
    page.goto(f"{live_url}/incidents/new")
    page.fill("#title", "Chat answers truncated on long conversations")
    page.select_option("#severity", "SEV2")
    page.fill("#service", "chat-api")
    page.fill("#team", "assistant")
    page.check("input[name=vectors][value=token-limit-overflow]")
    # Berlin is UTC+1 on 2 March 2026: 13:00 local is 12:00Z.
    page.fill("#started_at", "2026-03-02T13:00")
    page.fill("#detected_at", "2026-03-02T13:04")
    page.fill("#acknowledged_at", "2026-03-02T13:06")
    page.fill("#mitigated_at", "2026-03-02T13:10")
    page.fill("#recovered_at", "2026-03-02T13:22")
    page.click("main form.form button[type=submit]")

    page.wait_for_selector("text=Incident #1 logged.")
    assert page.inner_text("#ttd .big") == "4m"
    assert page.inner_text("#ttr .big") == "18m"  # detected 13:04 → recovered 13:22
    assert "target 15m · missed" in page.inner_text("#ttr")
    flags = page.inner_text(".flags")
    assert "SEV2" in flags and "Recovered" in flags and "Root cause overdue" in flags
    assert "2026-03-02 13:00 CET" in page.inner_text(".timeline")

    stored = client.get("/api/v1/incidents/1").get_json()
    assert stored["started_at"] == "2026-03-02T12:00:00Z"
    assert (stored["ttd_seconds"], stored["ttr_seconds"]) == (240, 1080)

    # Re-open it: clear the recovery time, and it is open and breaching its target.
    page.click("text=Edit")
    page.fill("#title", "Chat answers truncated (long threads)")
    page.fill("#mitigated_at", "")
    page.fill("#recovered_at", "")
    page.click("main form.form button[type=submit]")
    page.wait_for_selector("text=Incident updated.")
    flags = page.inner_text(".flags")
    assert "Investigating" in flags and "Breaching MTTR" in flags
    # The audit history names who changed what, before and after.
    history = page.inner_text("#history")
    assert "erin@example.com" in history and "update" in history and "create" in history
    assert "Chat answers truncated on long conversations" in history
    assert "Chat answers truncated (long threads)" in history
    assert "2026-03-02 13:22:00 CET" in history  # the recovered_at cleared, in her zone

    # A broken rule is shown on the form, and nothing is saved.
    page.click("text=Edit")
    page.fill("#detected_at", "2026-03-02T12:00")
    page.click("main form.form button[type=submit]")
    assert "Detected cannot be before Started." in page.inner_text(".has-error")
    assert (
        client.get("/api/v1/incidents/1", base_url=live_url).get_json()["detected_at"]
        == "2026-03-02T12:04:00Z"
    )


def test_the_incident_form_names_every_problem_at_once_and_focuses_the_summary(  # type: ignore[no-untyped-def]
    page, live_url, client
):
    """An empty title, recovered before detected and a time in the future: one submit
    shows all three, next to their inputs and in a summary that takes the focus."""
    page.goto(f"{live_url}/incidents/new")
    page.fill("#title", "")
    page.fill("#service", "chat-api")
    page.check("input[name=vectors][value=data-drift]")
    page.fill("#started_at", "2026-03-02T13:00")
    page.fill("#detected_at", "2026-03-02T13:04")
    page.fill("#acknowledged_at", "2099-01-01T10:00")
    page.fill("#recovered_at", "2026-03-02T13:01")
    page.click("main form.form button[type=submit]")

    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    text = summary.inner_text()
    for message in (
        "Title is required.",
        "Acknowledged cannot be more than 5 minutes in the future.",
        "Recovered cannot be before Detected.",
    ):
        assert message in text
    assert "Title is required." in page.inner_text("#title-error")
    assert "Recovered cannot be before Detected." in page.inner_text("#recovered_at-error")
    # Each line of the summary leads to its input.
    summary.get_by_role("link", name="Recovered").click()
    assert page.evaluate("document.activeElement.id") == "recovered_at"
    assert client.get("/api/v1/incidents").get_json()["total"] == 0


def test_postmortem_root_cause_flag(page, live_url, session):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from factories import T0, make_incident

    incident = make_incident(session)
    page.goto(f"{live_url}/incidents/{incident.id}/postmortem")
    drafted = page.input_value("#body")  # drafted from the record, in the user's zone
    assert "All times in Europe/Berlin." in drafted
    assert "2026-03-02 13:04 CET — **detected**" in drafted and "## Root cause" not in drafted
    # Detected at T0+4 min (13:04 Berlin); root cause 3 days later is late.
    local = (T0 + timedelta(days=3, hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#root_cause_at", local)
    page.fill("#root_cause", "Retriever returned **40 chunks**<script>alert(1)</script>")
    page.fill("input[name='action_items-0-title']", "Cap retrieved chunks at 8")
    page.fill("input[name='action_items-0-owner']", "amira")
    page.click("#preview")
    assert page.inner_text(".preview strong") == "40 chunks"
    assert page.locator(".preview script").count() == 0
    page.click("#save")
    page.wait_for_selector("text=Post-mortem saved.")
    assert "Root cause late" in page.inner_text(".flags")
    assert "Cap retrieved chunks at 8" in page.inner_text("#postmortem")


def test_reports_range_and_filter_update_chart_and_table(page, live_url, session):  # type: ignore[no-untyped-def]
    """A manager narrows the report: the URL, the chart and the tables all follow."""
    from datetime import UTC, datetime, timedelta

    from factories import make_incident

    now = datetime.now(UTC).replace(microsecond=0)
    for days_ago, team, ttr in ((3, "search", 10), (10, "ranking", 40), (60, "search", 25)):
        start = now - timedelta(days=days_ago)
        make_incident(
            session,
            team=team,
            started_at=start,
            detected_at=start + timedelta(minutes=3),
            recovered_at=start + timedelta(minutes=3 + ttr),
        )

    page.goto(f"{live_url}/reports/")
    count = page.get_by_test_id("incident-count")
    assert count.inner_text() == "3"
    weeks_90 = page.locator("#trend-figures tbody tr").count()
    chart_loaded(page, "ttr")

    page.select_option("#range", "30d")
    page.select_option("#team", "search")
    page.click("form[data-testid=view-form] button[type=submit]")
    page.wait_for_url("**/reports/?range=30d*team=search*")
    assert page.get_by_test_id("incident-count").inner_text() == "1"
    assert page.locator("#trend-figures tbody tr").count() < weeks_90
    assert "team=search" in chart_loaded(page, "ttr")
    breakdown = page.get_by_test_id("breakdown-table").inner_text()
    assert "Dependency latency" in breakdown

    # The same view on the dashboard keeps the filter and shows the one incident.
    page.goto(f"{live_url}/?range=30d&team=search")
    assert page.get_by_test_id("headline-incidents").locator(".big").inner_text() == "1"
    page.select_option("#range", "90d")
    page.click("form[data-testid=view-form] button[type=submit]")
    page.wait_for_url("**/?range=90d*team=search*")
    assert page.get_by_test_id("headline-incidents").locator(".big").inner_text() == "2"


def chart_loaded(page, kind: str) -> str:  # type: ignore[no-untyped-def]
    """Wait until the chart shown at this width has drawn its SVG; its URL."""
    test_id = f"chart-{kind}" + ("-narrow" if page.viewport_size["width"] < 800 else "")
    chart = page.get_by_test_id(test_id)
    chart.scroll_into_view_if_needed()
    page.wait_for_function(
        f"() => {{ const o = document.querySelector('[data-testid={test_id}]');"
        " return o.contentDocument && o.contentDocument.querySelector('svg'); }"
    )
    smallest = page.evaluate(
        f"() => {{ const o = document.querySelector('[data-testid={test_id}]');"
        " const doc = o.contentDocument, svg = doc.querySelector('svg');"
        " const scale = o.clientWidth / svg.viewBox.baseVal.width;"
        " const sizes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())"
        "   .map(t => parseFloat(doc.defaultView.getComputedStyle(t).fontSize));"
        " return Math.min(...sizes) * scale; }"
    )
    assert smallest >= 11, f"chart text shows at {smallest:.1f} px"
    return chart.get_attribute("data")


def test_a_chart_bar_opens_the_incidents_behind_it(page, live_url, session):  # type: ignore[no-untyped-def]
    """A manager clicks a week's bar: the incident list of that week, as many as the bar."""
    from datetime import UTC, datetime, timedelta

    from factories import make_incident

    now = datetime.now(UTC).replace(microsecond=0)
    for days_ago in (1, 2, 2, 9, 30, 31, 32, 33, 34, 35):
        start = now - timedelta(days=days_ago, hours=1)
        make_incident(
            session,
            started_at=start,
            detected_at=start + timedelta(minutes=2),
            recovered_at=start + timedelta(minutes=20),
        )
    page.goto(f"{live_url}/reports/?range=90d&period=week")
    url = chart_loaded(page, "count")
    # The chart shown at this width: the other size may be loaded too, hidden.
    frame = next(f for f in page.frames if f.url.endswith(url))
    bars = frame.locator("a")
    counts = [
        int(row.locator("td.num").first.locator("a").inner_text())
        for row in page.locator("#trend-figures tbody tr").all()
    ]
    busiest = counts.index(max(counts))
    bars.nth(busiest).click()
    page.wait_for_url("**/incidents/?since=*")
    assert int(page.get_by_test_id("list-total").inner_text()) == max(counts) >= 3


def test_backup_download_upload_and_the_dossier_in_print(page, live_url, session, tmp_path):  # type: ignore[no-untyped-def]
    """An editor backs up, restores (dry run, then a bad CSV), reads the dossier and prints it."""
    from factories import make_incident
    from sqlalchemy import func, select

    from catalog.incidents.models import Incident

    make_incident(session, title="Retriever returned 40 chunks")
    make_incident(session, title="Embedding API latency spike", service="embedder")

    page.goto(f"{live_url}/exports/")
    with page.expect_download() as info:
        page.click("text=Download backup")
    backup = tmp_path / "backup.json"
    info.value.save_as(backup)
    assert backup.read_text(encoding="utf-8").startswith('{"format":"failure-catalog-backup"')

    page.click("text=Import a file…")
    page.wait_for_url(f"{live_url}/imports/")
    page.set_input_files("#file", str(backup))
    page.select_option("#format", "json")
    assert page.is_checked("#dry_run")  # a first try never writes
    page.click("form[enctype] button[type=submit]")
    status = page.get_by_role("status").inner_text()
    assert "Dry run, nothing written." in status and "2 already imported" in status

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "title,severity,service,started_at,detected_at,vectors\n"
        "Fine,SEV2,api,2026-03-01T10:00:00Z,2026-03-01T10:05:00Z,data-drift\n"
        "Broken,SEV9,api,2026-03-01T10:00:00Z,2026-03-01T10:05:00Z,data-drift\n",
        encoding="utf-8",
    )
    page.set_input_files("#file", str(bad))
    page.select_option("#format", "csv")
    page.uncheck("#dry_run")
    page.click("form[enctype] button[type=submit]")
    alert = page.get_by_role("alert").first.inner_text()
    assert "Line 3 is refused; nothing was imported." in alert and "severity" in alert
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Incident)) == 2

    page.goto(f"{live_url}/exports/dossier")
    assert page.locator("h1").inner_text() == "Failure-mode catalog and incident record"
    assert "Readiness" in page.inner_text("#readiness")
    assert "Dependency latency" in page.inner_text("section[aria-labelledby=catalog] table")
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper)
        assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf


def test_every_page_loads_cleanly_and_fits_the_screen(page, live_url, session, app):  # type: ignore[no-untyped-def]
    """Each page an editor reaches, at both sizes: no console error, no failed request (the
    fixture checks), and nothing wider than the screen: tables scroll inside their frame."""
    from factories import make_incident, make_release

    from catalog.postmortems.service import save_postmortem
    from catalog.releases.service import record_load_test, save_canary

    incident = make_incident(session, title="Retriever returned 40 chunks on long threads")
    save_postmortem(session, incident, {"status": "draft", "body": "## Summary\nText."})
    release = make_release(session, notes="Tokenizer **1.5**.")
    record_load_test(
        session,
        release,
        {
            "tier": "5x",
            "rps": 812.5,
            "p50_ms": 21,
            "p95_ms": 96,
            "p99_ms": 340,
            "error_rate": 0.05,
            "requests": 16250,
        },
        source="k6",
    )
    save_canary(
        session,
        release,
        "\n".join(str(100 + i % 37) for i in range(200)).encode(),
        "\n".join(str(120 + i % 41) for i in range(150)).encode(),
    )
    session.commit()
    paths = [
        "/",
        "/?range=730d&team=search",
        "/reports/?range=730d&by=service",
        "/vectors/",
        "/vectors/dependency-latency",
        "/vectors/new",
        "/incidents/",
        f"/incidents/{incident.id}",
        f"/incidents/{incident.id}/edit",
        f"/incidents/{incident.id}/postmortem",
        "/incidents/new",
        "/reports/",
        "/exports/",
        "/imports/",
        "/account",
        "/exports/dossier",
        "/releases/",
        f"/releases/{release.id}",
        f"/releases/{release.id}/edit",
        "/releases/new",
        "/releases/bars?service=chat-api",
    ]
    width = page.viewport_size["width"]
    accessibility = Accessibility()
    page.goto(live_url + "/")
    page.keyboard.press("Tab")  # the first stop skips the navigation
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for path in paths:
        response = page.goto(live_url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{path} is {wide}px wide on a {width}px screen"
        accessibility.check(page, path)
    accessibility.check_as_admin_and_signed_out(page, live_url, app)
    accessibility.report(width)


class Accessibility:
    """axe-core (from the axe-playwright-python wheel, never a CDN) over each page.

    Any serious or critical violation fails; every finding is printed as a table of
    pages by impact (`pytest -s` shows it), the figures quoted when an issue closes.
    """

    FAILING = ("serious", "critical")

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.pages = 0
        self.by_impact: dict[str, int] = {}
        self.failures: list[str] = []

    def check(self, page, path: str) -> None:  # type: ignore[no-untyped-def]
        self.pages += 1
        for violation in self.axe.run(page).response["violations"]:
            impact = violation["impact"] or "unknown"
            self.by_impact[impact] = self.by_impact.get(impact, 0) + len(violation["nodes"])
            if impact in self.FAILING:
                targets = [node["target"] for node in violation["nodes"][:3]]
                self.failures.append(f"{path}: {violation['id']} ({impact}) at {targets}")

    def check_as_admin_and_signed_out(self, page, live_url: str, app) -> None:  # type: ignore[no-untyped-def]
        """The pages an editor never sees: the admin's, and the sign-in page."""
        admin_id, email, _ = make_user(app, "admin", "ada@example.com")
        context = page.context.browser.new_context(viewport=page.viewport_size)
        tab = context.new_page()
        tab.goto(f"{live_url}/login")
        self.check(tab, "/login")
        tab.fill("#email", email)
        tab.fill("#password", PASSWORD)
        tab.click("main form.form button[type=submit]")
        tab.wait_for_url(f"{live_url}/")
        for path in (
            "/admin/users",
            f"/admin/users/{admin_id}",
            "/admin/audit",
            "/incidents/action-items/overdue",
            "/account/password",
        ):
            assert tab.goto(live_url + path).status == 200, path
            self.check(tab, path)
        context.close()

    def report(self, width: int) -> None:
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_impact.items())) or "none"
        print(f"\naxe at {width}px: {self.pages} pages, violations by impact: {summary}")
        assert self.failures == [], "axe found:\n" + "\n".join(self.failures)


class Effort:
    """What a responder spends, outside the prose only they can write: pointer clicks
    (taps) and keystrokes (typed characters, Tab, Enter, a Ctrl+A chord)."""

    def __init__(self, tab) -> None:  # type: ignore[no-untyped-def]
        self.tab = tab
        self.clicks = 0
        self.keys = 0

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.tab.click(selector)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.keys += 1
            self.tab.keyboard.press(key)

    def type(self, text: str, *, prose: bool = False) -> None:
        if not prose:
            self.keys += len(text)
        self.tab.keyboard.type(text)


def test_a_responder_logs_responds_and_publishes_with_little_effort(page, live_url, session):  # type: ignore[no-untyped-def]
    """Issue 12's journey: an incident that started 12 minutes ago and was detected 4
    minutes ago, acknowledged, a note, mitigated and recovered in a click each, the
    drafted post-mortem with a root cause and two action items, published."""
    from sqlalchemy import select

    from catalog.incidents.models import Incident

    me = Effort(page)
    page.goto(f"{live_url}/")
    me.click("header >> text=Log incident")
    page.wait_for_url("**/incidents/new")
    me.type("Chat answers cut off on long threads", prose=True)  # the title has the focus
    me.press("Tab", 2)  # past severity (SEV3 stays) to the service
    me.type("chat-api")
    me.click("input[name=vectors][value=token-limit-overflow]")
    me.click("#started_at")
    me.press("Control+a")
    me.type("-12m")
    me.press("Tab")  # to Detected, its text selected
    me.type("-4m")
    assert page.inner_text("[data-when-preview]").startswith("TTD 8m")
    me.press("Enter")
    page.wait_for_selector("text=logged.")
    assert page.inner_text("#ttd .big") == "8m"

    me.click("button[value=acknowledged]")
    page.wait_for_selector("text=marked acknowledged")
    me.click("#body")
    me.type("Rolled back the tokenizer to 1.4.2; truncations stopped.", prose=True)
    me.click("text=Add note")
    page.wait_for_selector("text=Note added to the timeline.")
    me.click("button[value=mitigated]")
    page.wait_for_selector("text=marked mitigated")
    me.click("button[value=recovered]")
    page.wait_for_selector("text=marked recovered")
    assert "Recovered" in page.inner_text(".flags")

    me.click("main >> text=Write post-mortem")
    page.wait_for_url("**/postmortem")
    drafted = page.input_value("#body")
    assert "**acknowledged**" in drafted and "Rolled back the tokenizer" in drafted
    me.click("#root_cause_at")
    me.type("now")
    me.press("Tab")
    me.type("The prompt builder ignored the model's 4k context limit.", prose=True)
    me.press("Tab", 2)  # past the drafted body to the first action item
    me.type("Count tokens before sending", prose=True)
    me.press("Tab")
    me.type("sam")
    me.click("input[name='action_items-1-title']")  # Tab would walk the date's parts
    me.type("Alert on truncation rate", prose=True)
    me.press("Tab")
    me.type("lee")
    me.click("#publish")
    page.wait_for_selector("text=Post-mortem saved.")
    assert "Published" in page.inner_text("#postmortem")

    incident = session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    session.refresh(incident)
    pm = incident.postmortem
    assert pm.status == "published" and [i.owner for i in pm.action_items] == ["sam", "lee"]
    print(f"\nresponder journey at {page.viewport_size}: {me.clicks} clicks, {me.keys} keystrokes")
    assert me.clicks <= 12 and me.keys <= 60, (me.clicks, me.keys)


def test_the_account_page_offers_the_browsers_zone(page, live_url):  # type: ignore[no-untyped-def]
    """Times show in Europe/Berlin here (the team's zone); a browser elsewhere is offered its own."""
    browser_zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    page.goto(f"{live_url}/account")
    suggestion = page.locator("[data-suggest-zone]")
    if browser_zone == "Europe/Berlin":  # nothing to offer on a machine in Berlin
        assert suggestion.is_hidden()
        return
    assert suggestion.is_visible() and browser_zone in suggestion.inner_text()
    suggestion.locator("button").click()
    assert page.input_value("#timezone") == browser_zone
    page.click("main form.form button[type=submit]")
    page.wait_for_selector(f"footer >> text={browser_zone}")
    assert page.locator("[data-suggest-zone]").is_hidden()
