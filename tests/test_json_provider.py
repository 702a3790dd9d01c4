"""JSON answers through orjson say what Flask's default encoder said."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from catalog import create_app
from catalog.json_provider import FastJSONProvider


@dataclass
class Point:
    x: int


def test_the_same_values_as_the_default_encoder(app_config):
    app = create_app(app_config)
    fast, default = FastJSONProvider(app), DefaultJSONProvider(app)
    value = {
        "b": [1, 2.5, None, True],
        "a": "café ✓ <script>",
        "when": datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        "point": Point(3),
        "html": Markup("<b>x</b>"),
        "amount": Decimal("1.5"),
    }
    assert json.loads(fast.dumps(value)) == json.loads(default.dumps(value))
    assert list(json.loads(fast.dumps(value))) == sorted(str(k) for k in value)


def test_what_utf8_cannot_hold_falls_back_to_escapes(app_config):
    fast = FastJSONProvider(create_app(app_config))
    assert json.loads(fast.dumps({"field": "\ud800"})) == {"field": "\ud800"}
    assert json.loads(fast.dumps({"n": 2**70})) == {"n": 2**70}
