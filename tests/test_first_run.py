"""What a new user meets first: the `catalog` command without any setting, and `make demo`.

The commands run as a new user runs them: the installed `catalog` script in a
subprocess, with no CATALOG_ENV and no secret key in its environment.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.db import utcnow
from catalog.demo import RECURRING, TEAM_TRENDS, load_demo
from catalog.incidents.models import Incident

CATALOG = str(Path(sys.executable).with_name("catalog"))


def _catalog(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    clean.update(
        CATALOG_INSTANCE_PATH=str(tmp_path / "instance"),
        CATALOG_DATABASE_URL=f"sqlite:///{tmp_path / 'first.sqlite'}",
        **env,
    )
    return subprocess.run(
        [CATALOG, *args], env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_help_lists_every_command_without_any_setting(tmp_path):
    result = _catalog(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("db", "demo", "export", "import", "report", "run", "tokens", "users"):
        assert f"\n  {command} " in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "--help"),
        ("db", "upgrade"),
        ("report",),
        ("users", "bootstrap"),
        ("export", "--format", "md"),
    ],
)
def test_commands_that_serve_no_page_need_no_secret_key(tmp_path, args):
    if args[0] != "db":
        assert _catalog(tmp_path, "db", "upgrade").returncode == 0
    result = _catalog(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CATALOG_TIMEZONE": "Mars/Base"}, "CATALOG_TIMEZONE 'Mars/Base' is not a known IANA"),
        ({"CATALOG_RCA_HOURS": "two days"}, "CATALOG_RCA_HOURS must be a whole number"),
        ({"CATALOG_REFRESH_AHEAD": "maybe"}, "CATALOG_REFRESH_AHEAD must be 1 or 0"),
    ],
)
def test_a_bad_setting_is_one_line_not_a_traceback(tmp_path, env, message):
    for args in (("--help",), ("report",)):
        result = _catalog(tmp_path, *args, **env)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("catalog: ") and message in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [({}, "CATALOG_SECRET_KEY is not set"), ({"CATALOG_SECRET_KEY": "short"}, "5 bytes long")],
)
def test_serving_without_a_usable_key_is_refused_in_one_line(tmp_path, env, message):
    result = _catalog(tmp_path, "run", "--port", "1", **env)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def _median_ttr(incidents: list[Incident]) -> float:
    return statistics.median((i.recovered_at - i.detected_at).total_seconds() for i in incidents)


def test_demo_year_has_trends_a_manager_can_find(session):
    load_demo(session, count=400, seed=7, days=365)
    now = utcnow()
    incidents = session.scalars(select(Incident).where(Incident.recovered_at.is_not(None))).all()
    half = now - timedelta(days=182)

    def halves(team: str) -> tuple[float, float]:
        mine = [i for i in incidents if i.team == team]
        old = _median_ttr([i for i in mine if i.started_at < half])
        new = _median_ttr([i for i in mine if i.started_at >= half])
        return old, new

    improving, worsening = TEAM_TRENDS  # "search", then "assistant"
    old, new = halves(improving)
    assert new < old * 0.7, "one team recovers faster over the year"
    old, new = halves(worsening)
    assert new > old * 1.3, "one team recovers slower over the year"
    vector, service = RECURRING
    months = {
        i.started_at.strftime("%Y-%m")
        for i in incidents
        if i.service == service and vector in {v.slug for v in i.vectors}
    }
    assert len(months) >= 11, "the recurring vector shows up nearly every month"
    assert min(i.started_at for i in incidents) < now - timedelta(days=330)


def test_an_empty_catalog_shows_first_steps_until_the_first_incident(client, session):
    from factories import make_incident

    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="first-steps"' in page
    for step in ("Log an incident", "Load demo data", "Import a Statuspage history"):
        assert step in page
    assert "/api/v1/hooks/alertmanager" in page and 'href="/admin/users"' in page
    assert 'data-testid="view-form"' not in page, "no empty charts on a first run"
    make_incident(session)
    session.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="first-steps"' not in page and 'data-testid="view-form"' in page
