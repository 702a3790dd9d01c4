"""Hostile input, reflected: hostile query strings come back on a page, escaped.

Each case is `Reflected` (tests/helpers/hostile.py): the page answers the stated status,
shows the query's value escaped, is inert and changes nothing. The login page drops a
javascript: `next`.
"""

from __future__ import annotations

import pytest
from helpers.hostile import Reflected, assert_inert_html

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
