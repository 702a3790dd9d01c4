"""From a number to its incidents: every figure's link lists exactly the incidents it counts.

Each report and dashboard view is fetched; every link from a figure (a trend
period, a breakdown row, its open and breaching counts, a dashboard card) is
followed, and the incident list's total must equal the number on the link.
"""

from __future__ import annotations

import html
import random
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from factories import make_incident

from catalog.postmortems.service import save_postmortem

TODAY = datetime.now(UTC).date()
LINK = re.compile(
    r'<a (?:class="[^"]*" )?href="(/incidents/\?[^"]+)"[^>]*>(\d+)(?: open| breaching)?</a>'
)
TOTAL = re.compile(r'data-testid="list-total"[^>]*>(\d+)<')


@pytest.fixture
def spread(session):  # type: ignore[no-untyped-def]
    """Sixty incidents over 200 days: every vector, severity, three services, teams and
    none, some open (some past target), post-mortems with root causes in time and late."""
    rng = random.Random(13)
    slugs = ["data-drift", "token-limit-overflow", "hardware-throttling", "dependency-latency"]
    for n in range(60):
        started = datetime.combine(
            TODAY - timedelta(days=rng.randint(0, 200)), time(rng.randint(0, 23)), UTC
        )
        detected = started + timedelta(minutes=rng.randint(1, 30))
        still_open = n % 9 == 0
        now = datetime.now(UTC)
        if detected > now:
            started, detected = now - timedelta(minutes=40), now - timedelta(minutes=30)
        recovered = None if still_open else detected + timedelta(minutes=rng.randint(2, 90))
        if recovered and recovered > now:
            recovered = None
        incident = make_incident(
            session,
            started_at=started,
            detected_at=detected,
            recovered_at=recovered,
            severity=rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"]),
            service=rng.choice(["chat-api", "ranker", "embeddings"]),
            team=rng.choice(["search", "assistant", ""]),
            vectors=rng.sample(slugs, rng.choice([1, 1, 2])),
        )
        if n % 3 == 0 and detected < now - timedelta(hours=2):
            found = detected + timedelta(hours=rng.choice([1, 30, 70]))
            save_postmortem(
                session,
                incident,
                {"status": "draft", "root_cause_at": min(found, now)},
                now=now,
            )
            session.commit()


def _links(page: str) -> list[tuple[str, int]]:
    return [(html.unescape(href), int(count)) for href, count in LINK.findall(page)]


def _listed(client, href: str) -> int:  # type: ignore[no-untyped-def]
    response = client.get(href)
    assert response.status_code == 200, (href, response.get_data(as_text=True)[:300])
    return int(TOTAL.search(response.get_data(as_text=True)).group(1))


VIEWS = [
    *(
        f"/reports/?range=180d&period=week&by={by}"
        for by in ("vector", "severity", "service", "team")
    ),
    "/reports/?range=365d&period=month&by=team",
    "/reports/?range=90d&severity=SEV2&by=service",
    "/reports/?since=2020-01-01&period=month&by=vector",
    "/?range=90d",
    "/?range=365d&service=ranker",
]


@pytest.mark.parametrize("view", VIEWS)
def test_every_figure_links_to_exactly_its_incidents(client, spread, view):
    page = client.get(view)
    assert page.status_code == 200
    links = _links(page.get_data(as_text=True))
    assert len(links) >= 5, "the figures carry links"
    for href, count in links:
        assert _listed(client, href) == count, href


def test_the_periods_of_a_trend_add_up_to_the_range(client, spread):
    page = client.get("/reports/?range=180d&period=month&by=vector").get_data(as_text=True)
    table = page[page.index('data-testid="trend-table"') :]
    table = table[: table.index("</table>")]
    periods = [(h, c) for h, c in _links(table) if "status=open" not in h]
    in_range = _listed(client, f"/incidents/?since={TODAY - timedelta(days=179)}&until={TODAY}")
    assert sum(c for _, c in periods) == in_range > 0
    assert len(periods) >= 6


def test_list_filters_refuse_bad_values_by_name(client):
    for query, field in [
        ("since=2026-13-01", "since"),
        ("until=yesterday", "until"),
        ("rca=maybe", "rca"),
        ("breaching=yes", "breaching"),
    ]:
        response = client.get(f"/incidents/?{query}")
        assert response.status_code == 400
        assert field in response.get_data(as_text=True)
        assert client.get(f"/incidents/export.csv?{query}").status_code == 400
    chart = client.get("/reports/chart/ttr.svg?size=huge")
    assert chart.status_code == 400 and "wide or narrow" in chart.get_data(as_text=True)


def test_needs_attention_shows_ten_of_each_kind_and_the_rest_behind_see_all(client, session):
    now = datetime.now(UTC)
    for n in range(13):
        detected = now - timedelta(days=5, hours=n)
        incident = make_incident(
            session,
            started_at=detected - timedelta(minutes=5),
            detected_at=detected,
            recovered_at=detected + timedelta(minutes=20),
        )
        save_postmortem(
            session,
            incident,
            {
                "status": "draft",
                "action_items": [
                    {
                        "title": f"Fix {n}",
                        "owner": "sam",
                        "due_on": (now - timedelta(days=1)).date(),
                    }
                ],
            },
            now=now,
        )
        session.commit()
    page = client.get("/").get_data(as_text=True)
    flagged = page[page.index('data-testid="needs-attention"') :].split("</ul>")[0]
    actions = page[page.index('data-testid="overdue-actions"') :].split("</ul>")[0]
    assert flagged.count("<li>") == 10 and actions.count("<li>") == 10
    see_flagged = re.search(r'href="([^"]+)" data-testid="see-all-flagged">See all 13 ', page)
    see_actions = re.search(r'href="([^"]+)" data-testid="see-all-actions">See all 13 ', page)
    assert _listed(client, html.unescape(see_flagged.group(1))) == 13
    assert _listed(client, see_actions.group(1)) == 13
    listed = client.get(see_actions.group(1)).get_data(as_text=True)
    assert listed.count("<tr>") == 14  # a header row and thirteen items
    assert client.get("/incidents/action-items/overdue?page=2").status_code == 400
    assert client.get("/incidents/action-items/overdue?page=x").status_code == 400


def test_a_list_without_clock_filters_is_served_from_the_cache(app, client, spread):
    """The list's answer is kept under the data versions; only the filters that move with
    the clock (breaching, root cause) are read again on every request."""
    from catalog.reports.cache import metrics_cache

    def kept_pages() -> list[str]:
        with app.app_context():
            values = metrics_cache()._values
            return [name for _, name in values if name.startswith("incident-page:")]

    for _ in range(3):
        assert client.get("/incidents/?since=2026-01-01&team=search").status_code == 200
    assert len(kept_pages()) == 1
    for _ in range(2):
        assert client.get("/incidents/?rca=flagged").status_code == 200
    assert len(kept_pages()) == 1, "a page filtered by the clock is not kept"
