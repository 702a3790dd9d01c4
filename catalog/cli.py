"""The `catalog` command: Flask's CLI with the app's own commands added.

`catalog run` is Flask's development server; `catalog db upgrade` applies the
Alembic migrations; `catalog demo` loads a realistic month; `catalog report`
prints the metrics table. All of them call the same domain functions as the web.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from catalog.reports.metrics import GROUP_BYS


def _create_app() -> Flask:
    from catalog import create_app

    return create_app()


def main() -> None:
    cli = FlaskGroup(create_app=_create_app, help="Failure Catalog: incidents, vectors, MTTD/MTTR.")
    cli.main()


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply all migrations up to the newest (creates the schema).")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    from catalog.migrate import upgrade

    url = str(current_app.config["DATABASE_URL"])
    upgrade(url, revision=revision)
    click.echo(f"Database at {_redact(url)} is at revision {revision}.")


@click.command("demo", help="Load a realistic month of demo incidents and post-mortems.")
@click.option(
    "--incidents", "count", default=60, show_default=True, type=click.IntRange(1, 100_000)
)
@click.option(
    "--seed", default=7, show_default=True, type=int, help="Random seed, for repeatable data."
)
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650))
@with_appcontext
def demo(count: int, seed: int, days: int) -> None:
    from catalog.db import get_session
    from catalog.demo import load_demo

    summary = load_demo(get_session(), count=count, seed=seed, days=days)
    click.echo(
        f"Added {summary.incidents} incidents and {summary.postmortems} post-mortems "
        f"over the last {days} days."
    )


@click.command("report", help="Print the MTTD/MTTR table.")
@click.option("--group-by", type=click.Choice(GROUP_BYS), default="vector", show_default=True)
@with_appcontext
def report(group_by: str) -> None:
    from catalog.db import get_session
    from catalog.reports.table import render_table

    click.echo(render_table(get_session(), current_app.extensions["catalog.settings"], group_by))


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(demo)
    app.cli.add_command(report)
