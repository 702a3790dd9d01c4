"""The migrations are the schema: after `upgrade head`, autogenerate finds nothing to add."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select

from catalog.models import Base, Vector

SEEDED = {
    "data-drift": "drift",
    "token-limit-overflow": "token_overflow",
    "hardware-throttling": "throttling",
    "dependency-latency": "dependency_latency",
    "model-poisoning": "poisoning",
}


def test_models_and_migrations_agree(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"}
            )
            diff = compare_metadata(context, Base.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            assert context.get_current_revision() is not None
    finally:
        engine.dispose()


def test_constraints_are_named(database_url):
    """Naming conventions make later batch migrations on SQLite possible."""
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        for table in inspector.get_table_names():
            if table == "alembic_version":
                continue
            for check in inspector.get_check_constraints(table):
                assert check["name"] and check["name"].startswith(f"ck_{table}_")
            for fk in inspector.get_foreign_keys(table):
                assert fk["name"] and fk["name"].startswith(f"fk_{table}_")
    finally:
        engine.dispose()


def test_seeded_catalog(session):
    vectors = {v.slug: v for v in session.scalars(select(Vector))}
    assert {slug: v.category for slug, v in vectors.items()} == SEEDED
    for vector in vectors.values():
        assert (vector.mttd_target_minutes, vector.mttr_target_minutes) == (5, 15)
        assert len(vector.description) > 200
        assert len(vector.detection) > 150 and "\n- " in vector.detection
        assert len(vector.mitigation) > 150 and "1. " in vector.mitigation
        assert vector.created_at.tzinfo is not None
        assert vector.version == 1


def test_timestamps_read_back_aware_utc(app, session):
    """A time given with any offset is stored as UTC and reads back aware, on both backends."""
    from datetime import UTC, datetime, timedelta, timezone

    from factories import make_incident

    from catalog.incidents.models import Incident

    started = datetime(
        2026, 3, 29, 0, 30, tzinfo=timezone(timedelta(hours=2))
    )  # 22:30Z the day before
    incident_id = make_incident(
        session, started_at=started, detected_at=started + timedelta(minutes=3), recovered_at=None
    ).id
    other = app.extensions["catalog.sessionmaker"]()
    try:
        stored = other.get(Incident, incident_id)
        assert stored.started_at == started
        assert stored.started_at.tzinfo is UTC
        assert (stored.started_at.day, stored.started_at.hour) == (28, 22)
    finally:
        other.close()


def test_downgrading_0005_keeps_the_data_version_triggers(tmp_path):
    """0005 must not rebuild `incidents` on SQLite: a batch rebuild drops 0004's triggers."""
    from alembic import command

    from catalog.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'down.sqlite'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0004")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='incidents'"
            ).scalars()
            assert len(list(triggers)) == 3
            assert "uid" not in {c["name"] for c in inspect(conn).get_columns("incidents")}
    finally:
        engine.dispose()
    upgrade(url)
