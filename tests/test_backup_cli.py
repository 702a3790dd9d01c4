"""The JSON backup through the CLI: `catalog export --format json` and `catalog import`.

An export imports as a dry run, for real and again (creating nothing the second time); a
bad backup fails with the record's place named and writes nothing; CSV filters are
refused with other formats.
"""

from __future__ import annotations

import json

from helpers.backup import DEMO_COUNT, audited, build_catalog, delete_all_incidents, export, state


def test_cli_export_then_import_dry_run_real_and_again(app, runner, session, tmp_path):
    build_catalog(session)
    path = tmp_path / "catalog-backup.json"
    assert runner.invoke(args=["export", "--format", "json", "-o", str(path)]).exit_code == 0
    original = path.read_bytes()
    delete_all_incidents(app)
    n = DEMO_COUNT + 2

    dry = runner.invoke(args=["import", str(path), "--dry-run"])  # json told from its content
    assert dry.exit_code == 0, dry.output
    assert f"Would create {n} incidents from {n} records" in dry.output
    assert state(app)["counts"]["Incident"] == 0

    real = runner.invoke(args=["import", str(path)])
    assert real.exit_code == 0, real.output
    assert f"Created {n} incidents from {n} records; 0 already imported" in real.output
    assert export(app).encode() == original
    assert audited(app, "incident").get("cli") == n

    again = runner.invoke(args=["import", str(path), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert f"Created 0 incidents from {n} records; {n} already imported" in again.output


def test_cli_import_of_a_bad_backup_fails_with_the_place_and_writes_nothing(
    app, runner, small_backup, tmp_path
):
    before = state(app)
    small_backup["incidents"][2]["postmortem"]["action_items"][0]["title"] = " "
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(small_backup), encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "Record incidents[2] (uid new-2) is refused; nothing was imported." in result.output
    assert "incidents[2].postmortem.action_items[0].title" in result.output
    assert state(app) == before


def test_cli_export_refuses_csv_filters_with_other_formats(runner):
    result = runner.invoke(args=["export", "--format", "json", "--severity", "SEV1"])
    assert result.exit_code == 2
    assert "Filters apply to --format csv only." in result.output
