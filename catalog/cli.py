"""The `catalog` command: Flask's CLI with the app's own commands added.

`catalog run` is Flask's development server; `catalog db upgrade` applies the
Alembic migrations; `catalog demo` loads a realistic month; `catalog report`
prints the metrics table. All of them call the same domain functions as the web.
"""

from __future__ import annotations

import math
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from catalog.auth.models import ROLES
from catalog.incidents.models import SEVERITIES
from catalog.reports.metrics import GROUP_BYS
from catalog.settings import current_settings


def _create_app() -> Flask:
    """The app for a command: a key is needed to sign sessions, which only serving does.

    So without a usable CATALOG_SECRET_KEY the commands that never serve a page (demo,
    import, users…) run with a throwaway key; `run` refuses on its own (`_run_if_keyed`).
    """
    from catalog import create_app

    return create_app({"SECRET_KEY_OPTIONAL": True})


def main() -> None:
    """`catalog …`: a bad setting is one line on standard error and exit status 2."""
    from flask.cli import routes_command, shell_command

    from catalog.config import ConfigError, load_config

    try:
        load_config("")  # every setting checked once, before Flask lists the commands
    except ConfigError as exc:
        click.echo(f"catalog: {exc}", err=True)
        sys.exit(2)
    cli = FlaskGroup(
        create_app=_create_app,
        add_default_commands=False,
        help="Failure Catalog: incidents, vectors, MTTD/MTTR. Settings come from CATALOG_* "
        "environment variables (see the README); `catalog COMMAND --help` tells more.",
    )
    cli.add_command(_guarded_run)
    cli.add_command(shell_command)
    cli.add_command(routes_command)
    try:
        cli.main(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"catalog: {exc}", err=True)
        sys.exit(2)


def _run_if_keyed(**kwargs: object) -> None:
    from flask.cli import ScriptInfo, run_command

    ctx = click.get_current_context()
    app = ctx.ensure_object(ScriptInfo).load_app()
    problem = app.config.get("SECRET_KEY_PROBLEM")
    if problem:  # serving signs sessions: the key must be real (config.ensure_secret_key)
        raise click.ClickException(str(problem))
    assert run_command.callback is not None
    ctx.invoke(run_command.callback, **kwargs)


def _make_guarded_run() -> click.Command:
    """Flask's `run` (the development server) with its own options, refusing without a key."""
    from flask.cli import run_command

    return click.Command(
        "run",
        params=list(run_command.params),
        callback=_run_if_keyed,
        help="Serve on the development server (as `make run` does). In production use "
        "gunicorn: `make serve` and docs/deploy.md.",
    )


_guarded_run = _make_guarded_run()


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


@click.command(
    "demo",
    help=(
        "Load demo incidents. Up to 2,000 incidents (default 400 over the last 365 days: one "
        "team improving, one getting worse, a vector that keeps coming back) go through "
        "the domain rules with post-mortems in every flag state and are audited. Safe while "
        "the server runs; it adds to what is there. Above "
        "2,000, or with --bulk, a bulk path generates years of history (default 730 days: "
        "weekly seasonality, improving ttd/ttr, multi-day outliers) with Core bulk inserts "
        "in seconds; those rows obey the same timestamp rules but are NOT in the audit "
        "trail and have no post-mortems."
    ),
)
@click.option(
    "--incidents", "count", default=400, show_default=True, type=click.IntRange(1, 10_000_000)
)
@click.option(
    "--seed", default=7, show_default=True, type=int, help="Random seed, for repeatable data."
)
@click.option(
    "--days",
    default=None,
    type=click.IntRange(1, 3650),
    help="Span of history in days [default: 365, or 730 on the bulk path].",
)
@click.option("--bulk", is_flag=True, help="Use the bulk path even for 2,000 incidents or fewer.")
@with_appcontext
def demo(count: int, seed: int, days: int | None, bulk: bool) -> None:
    from catalog.demo import BULK_DAYS, BULK_THRESHOLD, load_demo, load_demo_bulk

    session = _cli_session()
    if bulk or count > BULK_THRESHOLD:
        days = days or BULK_DAYS
        summary = load_demo_bulk(session, count=count, seed=seed, days=days)
        click.echo(
            f"Added {summary.incidents} incidents over the last {days} days "
            "(bulk path: not in the audit trail, no post-mortems)."
        )
        return
    days = days or 365
    summary = load_demo(session, count=count, seed=seed, days=days)
    click.echo(
        f"Added {summary.incidents} incidents, {summary.postmortems} post-mortems and "
        f"{summary.releases} releases over the last {days} days"
        + (
            f" ({summary.caused} incidents caused by canaries rolled back)."
            if summary.caused
            else "."
        )
    )


@click.command("report", help="Print the MTTD/MTTR table.")
@click.option("--group-by", type=click.Choice(GROUP_BYS), default="vector", show_default=True)
@with_appcontext
def report(group_by: str) -> None:
    from catalog.reports.table import render_table
    from catalog.sessions import get_session

    click.echo(render_table(get_session(), current_settings(), group_by))


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _cli_session():  # type: ignore[no-untyped-def]
    """The app's session, with changes recorded in the audit trail as made by the CLI."""
    from catalog.sessions import get_session

    session = get_session()
    session.info["actor_label"] = "cli"
    return session


def _commit_or_fail(session, action):  # type: ignore[no-untyped-def]
    """Run a domain action and commit; a refusal becomes a clean CLI error (exit 1)."""
    from catalog.errors import DomainError
    from catalog.outcomes import commit

    try:
        return commit(session, action)
    except DomainError as exc:
        raise _refused(exc) from exc


def _refused(exc):  # type: ignore[no-untyped-def]
    """A refusal as the CLI's one error line (catalog.outcomes.one_line)."""
    from catalog.outcomes import one_line

    return click.ClickException(one_line(exc))


@click.group("users", help="Accounts: create, change role, deactivate, first admin.")
def users_group() -> None:
    pass


@users_group.command(
    "create", help="Create an account. Prints a one-time password unless --password-stdin."
)
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    from catalog.auth.service import create_user

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    session = _cli_session()
    user, one_time = _commit_or_fail(
        session,
        lambda: create_user(session, email=email, role=role, name=name, password=password),
    )
    click.echo(f"Created {user.email} ({user.role}).")
    if one_time:
        click.echo(f"One-time password (they choose their own at first sign-in): {one_time}")


@users_group.command("set-role", help="Change an account's role.")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def users_set_role(email: str, role: str) -> None:
    from catalog.auth.service import require_user_by_email, set_role

    session = _cli_session()
    user = _commit_or_fail(
        session, lambda: set_role(session, require_user_by_email(session, email), role)
    )
    click.echo(f"{user.email} is now {user.role}.")


@users_group.command(
    "deactivate", help="Deactivate an account: its sessions and tokens stop at once."
)
@click.argument("email")
@with_appcontext
def users_deactivate(email: str) -> None:
    from catalog.auth.service import require_user_by_email, set_active

    session = _cli_session()
    user = _commit_or_fail(
        session, lambda: set_active(session, require_user_by_email(session, email), False)
    )
    click.echo(f"{user.email} is deactivated.")


@users_group.command(
    "bootstrap", help="On an empty database, create the first admin and print how to sign in."
)
@with_appcontext
def users_bootstrap() -> None:
    import os

    from catalog.auth.service import count_users, create_user

    session = _cli_session()
    if count_users(session):
        click.echo(
            "  First login: use your account (an admin can invite more people on the Users page)."
        )
        return
    email = os.environ.get("CATALOG_ADMIN_EMAIL") or "admin@example.com"
    password = os.environ.get("CATALOG_ADMIN_PASSWORD") or None
    user, one_time = _commit_or_fail(
        session,
        lambda: create_user(session, email=email, role="admin", name="Admin", password=password),
    )
    click.echo("")
    click.echo("  ================= FIRST LOGIN =================")
    click.echo(f"  e-mail:   {user.email}")
    if one_time:
        click.echo(f"  password: {one_time}   (one-time: you choose your own at first sign-in)")
    else:
        click.echo("  password: the one in CATALOG_ADMIN_PASSWORD")
    click.echo("  ===============================================")


@click.group("tokens", help="API tokens.")
def tokens_group() -> None:
    pass


@tokens_group.command(
    "create", help="Create an API token for a user; the token is the last line printed."
)
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
@with_appcontext
def tokens_create(email: str, name: str) -> None:
    from catalog.auth.service import create_token, require_user_by_email

    session = _cli_session()
    new = _commit_or_fail(
        session, lambda: create_token(session, require_user_by_email(session, email), name)
    )
    click.echo(f"Token for {email} ({new.row.user.role}); shown once, store it now:")
    click.echo(new.secret)


@click.command(
    "export",
    help="Export to standard output or --output. csv: every incident, one row each, durations "
    "in seconds (filters as on the incident list). json: the whole catalog as the versioned "
    "backup. md, html or pdf: the dossier (with --name, --role, --context, --redact). Large "
    "exports stream; memory stays flat.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "md", "html", "pdf"]),
    default="csv",
    show_default=True,
)
@click.option("--name", "by_name", default="", help="Dossier: who hands it over.")
@click.option("--role", "by_role", default="", help="Dossier: their role.")
@click.option("--context", "by_context", default="", help="Dossier: a short paragraph.")
@click.option(
    "--redact",
    is_flag=True,
    help="Dossier: replace service, team and incident names with neutral labels.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None)
@click.option("--vector", default=None, help="csv: vector slug.")
@click.option("--severity", type=click.Choice(SEVERITIES), default=None, help="csv only.")
@click.option("--service", default=None, help="csv only.")
@click.option("--team", default=None, help="csv only.")
@click.option(
    "--status",
    type=click.Choice(["investigating", "mitigated", "recovered", "open"]),
    default=None,
    help="csv only.",
)
@with_appcontext
def export_command(
    fmt: str,
    output: str | None,
    by_name: str,
    by_role: str,
    by_context: str,
    redact: bool,
    **filters: str | None,
) -> None:
    from catalog.errors import ValidationError
    from catalog.exports.backup import backup_chunks
    from catalog.exports.dossier import (
        DossierOptions,
        build_dossier,
        dossier_html,
        dossier_markdown,
    )
    from catalog.exports.incidents_csv import incident_csv_chunks
    from catalog.exports.pdf import PdfUnavailable, html_to_pdf
    from catalog.incidents.service import IncidentFilters
    from catalog.sessions import get_session

    settings = current_settings()
    if fmt != "csv" and any(filters.values()):
        raise click.UsageError("Filters apply to --format csv only.")
    if fmt in ("csv", "json") and (by_name or by_role or by_context or redact):
        raise click.UsageError("--name, --role, --context and --redact apply to the dossier.")
    if fmt == "csv":
        chunks = incident_csv_chunks(get_session(), settings, IncidentFilters(**filters))
    elif fmt == "json":
        chunks = backup_chunks(get_session())
    else:
        try:
            options = DossierOptions.read(
                {"name": by_name, "role": by_role, "context": by_context, "redact": "1" * redact}
            )
        except ValidationError as exc:
            raise _refused(exc) from exc
        dossier = build_dossier(get_session(), settings, options=options)
        if fmt == "pdf":
            try:
                pdf = html_to_pdf(dossier_html(dossier))
            except PdfUnavailable as exc:
                raise click.ClickException(str(exc)) from exc
            with click.open_file(output or "-", "wb") as out:
                out.write(pdf)
            return
        chunks = iter([dossier_markdown(dossier) if fmt == "md" else dossier_html(dossier)])
    try:
        first = next(chunks)  # the filters are checked before anything is written
    except ValidationError as exc:
        raise _refused(exc) from exc
    with click.open_file(output or "-", "wb") as out:  # bytes: the CRLF of CSV as written
        out.write(first.encode("utf-8"))
        for chunk in chunks:
            out.write(chunk.encode("utf-8"))


@click.command(
    "import",
    help="Import FILE, all or nothing: the first bad record stops the import with its line "
    "(CSV) or index (JSON) and the reason, and nothing is written. Records already here are "
    "skipped, so importing a file twice is safe. Formats: json (this app's backup), csv (the "
    "incident CSV export's columns), statuspage (Atlassian Statuspage v2 incidents.json); "
    "without --format, a .csv file is csv and a JSON file is told apart by its content.",
)
@click.argument("file", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "statuspage"]), default=None)
@click.option(
    "--dry-run", is_flag=True, help="Check everything and say what would be created; write nothing."
)
@click.option(
    "--vector",
    "--default-vector",
    "vector",
    default=None,
    help="Vector slug for records that name none (CSV) or that no rule matches (Statuspage).",
)
@click.option(
    "--vector-rule",
    "rules",
    multiple=True,
    metavar="PATTERN=SLUG",
    help="Statuspage: records whose name matches the regex PATTERN (any case) get vector SLUG; "
    "the first matching rule wins. `release:PATTERN` links each record to its service's "
    "release whose version is PATTERN's first group, found in the name or the updates. "
    "Repeatable.",
)
@with_appcontext
def import_command(
    file, fmt: str | None, dry_run: bool, vector: str | None, rules: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    from catalog.errors import DomainError
    from catalog.imports.formats import detect_format, run_import
    from catalog.imports.statuspage import parse_rules

    raw = file.read()
    session = _cli_session()
    try:
        summary = run_import(
            session,
            fmt or detect_format(file.name, raw),
            raw,
            vector=vector,
            rules=parse_rules(rules),
            dry_run=dry_run,
            # On the server's command line no worker is held: each name keeps its own
            # timeout, but a large history is not refused for its size.
            match_budget=math.inf,
        )
    except DomainError as exc:
        raise _refused(exc) from exc
    click.echo(summary.describe())


@click.group("releases", help="Releases and their load-test evidence.")
def releases_group() -> None:
    pass


@releases_group.command(
    "import",
    help="Record the releases of a release-evidence file (the JSON bench/load.py writes with "
    "--release-file): each release with its load-test tiers, all or nothing.",
)
@click.argument("file", type=click.File("rb"))
@with_appcontext
def releases_import(file) -> None:  # type: ignore[no-untyped-def]
    from catalog.releases.evidence import import_evidence, read_evidence

    raw = file.read()
    session = _cli_session()
    releases = _commit_or_fail(session, lambda: import_evidence(session, read_evidence(raw)))
    for release in releases:
        tiers = ", ".join(f"{t.tier} p99 {t.p99_ms:g} ms" for t in release.load_tests)
        click.echo(f"Recorded release #{release.id} {release.label}: {tiers or 'no load tests'}.")


def register(app: Flask) -> None:
    app.cli.add_command(users_group)
    app.cli.add_command(tokens_group)
    app.cli.add_command(db_group)
    app.cli.add_command(demo)
    app.cli.add_command(report)
    app.cli.add_command(export_command)
    app.cli.add_command(import_command)
    app.cli.add_command(releases_group)
