"""The product's own readiness as a worked example (issue 14, part 6).

`bench/load.py --release-file` writes its run as a release of the Failure Catalog itself;
`catalog releases import` records it with its tiers, judged against the default bars
(issue 10's targets). Here the bench's own `release_record` builds the document from tier
figures, so the format the bench writes and the one the importer reads cannot drift apart;
a bad document is refused by its place with nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.api import count
from sqlalchemy import select

from catalog.releases.models import Release

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from load import Tier, release_record  # noqa: E402


def _tier(label: str, connections: int, p99: float, errors: int = 0) -> Tier:
    return Tier(label, connections, 250.0, 12.0, 80.0, p99, p99 * 1.5, 5000, errors)


def _document(tmp_path: Path, **tiers: Tier) -> Path:
    opts = argparse.Namespace(incidents=100_000, workers=4, duration=20, base=4)
    mix = [
        tiers.get("one", _tier("mix 1×", 4, 119)),
        _tier("mix 5×", 20, 231),
        _tier("mix 10×", 40, 304),
    ]
    record = release_record(
        "SQLite",
        opts,
        datetime(2026, 11, 29, 22, 0, tzinfo=UTC),
        mix,
        _tier("list", 20, 95.0),
        [_tier("hello", 4, 2.0)],
    )
    path = tmp_path / "release.json"
    document = {"format": "failure-catalog-release-evidence", "version": 1, "releases": [record]}
    path.write_text(json.dumps(document))
    return path


def test_the_benchs_run_imports_as_a_release_of_the_catalog_itself(
    runner, session, tmp_path, client
):
    result = runner.invoke(args=["releases", "import", str(_document(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "failure-catalog-sqlite" in result.output and "1× p99 119 ms" in result.output
    release = session.scalars(select(Release)).one()
    assert (release.service, release.team) == ("failure-catalog-sqlite", "failure-catalog")
    assert release.tag.startswith("0.") and "+" in release.tag
    tiers = client.get(f"/api/v1/releases/{release.id}").get_json()["load_tests"]
    assert [(t["tier"], t["source"], t["met"]) for t in tiers] == [
        ("1×", "wrk", True),
        ("5×", "wrk", True),
        ("10×", "wrk", True),
        ("list API alone at 5x", "wrk", None),
    ]
    matrix = client.get("/api/v1/exports/dossier.md").get_data(as_text=True)
    assert "failure-catalog-sqlite" in matrix and "119 ms" in matrix


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(format="other"), "Not a release-evidence file"),
        (lambda d: d.update(version=2), "Version must be 1"),
        (lambda d: d.update(releases=[]), "at least one release"),
        (lambda d: d["releases"][0].update(tag=""), "releases[0].tag"),
        (lambda d: d["releases"][0].update(deployed_at="soon"), "releases[0].deployed_at"),
        (lambda d: d["releases"][0].update(source="jmeter"), "releases[0].source"),
        (lambda d: d["releases"][0].update(colour=1), "releases[0].colour"),
        (lambda d: d["releases"][0]["load_tests"][1].update(p99_ms=-1), "load_tests[1].p99_ms"),
        (lambda d: d["releases"][0]["load_tests"][2].update(x=1), "load_tests[2].x"),
        (lambda d: d["releases"][0]["load_tests"].append([]), "load_tests[4]"),
    ],
)
def test_a_bad_evidence_file_is_refused_by_place_and_nothing_is_written(
    runner, session, tmp_path, change, words
):
    path = _document(tmp_path)
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    result = runner.invoke(args=["releases", "import", str(path)])
    assert result.exit_code == 1 and words in result.output, result.output
    assert count(session, "releases") == 0 and count(session, "load_tests") == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff", b"[" * 100_000])
def test_a_file_that_is_not_json_is_refused_as_the_file(runner, session, tmp_path, raw):
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    result = runner.invoke(args=["releases", "import", str(path)])
    assert result.exit_code == 1 and "file" in result.output, result.output
    assert count(session, "releases") == 0
