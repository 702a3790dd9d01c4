"""The import page: upload a backup, an incident CSV or a Statuspage history."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from catalog.auth import current_actor
from catalog.errors import DomainError
from catalog.imports import jobs, pending
from catalog.imports.formats import FORMATS, run_import
from catalog.imports.statuspage import parse_rules
from catalog.sessions import get_session
from catalog.vectors.service import list_vectors
from catalog.web.forms import options

bp = Blueprint("imports", __name__, url_prefix="/imports")


class ImportForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file to import.")])
    format = SelectField("Format", choices=options(FORMATS.items()), default="json")
    vector = SelectField(
        "Vector for records that name none",
        default="",
        description="CSV rows with an empty vectors cell, and Statuspage incidents no rule matches.",
    )
    rules = TextAreaField(
        "Vector rules (Statuspage)",
        validators=[Length(max=5000)],
        description="One PATTERN=vector-slug per line: incidents whose name matches the "
        "regular expression (any case) get that vector; the first match wins.",
    )
    dry_run = BooleanField(
        "Dry run: check the whole file and say what would happen, write nothing", default=True
    )


class ApplyForm(FlaskForm):
    """*Import these N incidents*: the dry run's kept file, by its token."""

    pending = HiddenField()


@bp.route("/", methods=["GET", "POST"])
def upload():  # type: ignore[no-untyped-def]
    session = get_session()
    form = ImportForm()
    form.vector.choices = options(
        [("", "None: such records are refused")] + [(v.slug, v.name) for v in list_vectors(session)]
    )
    if request.method == "POST" and "pending" in request.form:
        return _apply(form)
    outcome = None
    refusal: DomainError | None = None
    apply_form = None
    if form.validate_on_submit():
        raw = form.file.data.read()
        chosen = pending.PendingImport(
            owner_id=_owner(),
            fmt=form.format.data,
            filename=form.file.data.filename or "the file",
            vector=form.vector.data or None,
            rules=[line for line in (form.rules.data or "").splitlines() if line.strip()],
        )
        if _in_background(raw):
            return _start_job(chosen, raw, dry_run=form.dry_run.data)
        try:
            outcome = run_import(
                session,
                chosen.fmt,
                raw,
                vector=chosen.vector,
                rules=parse_rules(chosen.rules),
                dry_run=form.dry_run.data,
            )
        except DomainError as exc:  # refused, or written meanwhile by someone else: nothing kept
            refusal = exc
        else:
            if not outcome.dry_run:
                flash(outcome.describe(), "success")
                return redirect(url_for("imports.upload"))
            if outcome.created:
                apply_form = ApplyForm(formdata=None)
                apply_form.pending.data = pending.keep(current_app.instance_path, chosen, raw)
    status = 422 if refusal is not None or form.errors else 200
    return _page(form, outcome=outcome, refusal=refusal, apply_form=apply_form, status=status)


def _in_background(raw: bytes) -> bool:
    return len(raw) > current_app.config["IMPORT_BACKGROUND_BYTES"]


def _start_job(chosen: pending.PendingImport, raw: bytes, *, dry_run: bool):  # type: ignore[no-untyped-def]
    """A large file: run it as a job and answer with its status page (imports.jobs)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job = jobs.start(app, chosen, raw, dry_run=dry_run)
    return redirect(url_for("imports.job", job_id=job.id))


def _owner() -> int:
    actor = current_actor()
    assert actor is not None  # the page needs an editor (catalog/auth/access.py)
    return actor.id


def _apply(form: ImportForm):  # type: ignore[no-untyped-def]
    """Apply a dry run's kept file: the same bytes and options, now written."""
    apply_form = ApplyForm()
    if not apply_form.validate_on_submit():  # the CSRF token: nothing written
        return _page(form, refusal=None, apply_form=None, status=400, expired=True)
    token = apply_form.pending.data or ""
    try:
        kept, raw = pending.take(current_app.instance_path, token, _owner())
    except pending.PendingGone:
        flash(
            f"That dry run is no longer kept (after {pending.KEEP_MINUTES} minutes, or once "
            "applied): choose the file again.",
            "error",
        )
        return redirect(url_for("imports.upload"))
    if _in_background(raw):
        started = _start_job(kept, raw, dry_run=False)
        pending.drop(current_app.instance_path, token)
        return started
    try:
        outcome = run_import(
            get_session(),
            kept.fmt,
            raw,
            vector=kept.vector,
            rules=parse_rules(kept.rules),
            dry_run=False,
        )
    except DomainError as exc:  # e.g. a vector archived since the dry run: nothing written
        return _page(form, refusal=exc, apply_form=None, status=422)
    pending.drop(current_app.instance_path, token)
    flash(f"{kept.filename}: {outcome.describe()}", "success")
    return redirect(url_for("imports.upload"))


@bp.get("/jobs/<job_id>")
def job(job_id: str):  # type: ignore[no-untyped-def]
    """A large import's progress, refreshed by the page itself until the job ends."""
    try:
        found = jobs.load(current_app.instance_path, job_id, _owner())
    except jobs.JobGone:
        abort(
            404,
            description="No such import: it belongs to another account, or it ended "
            f"more than {jobs.KEEP_HOURS} hours ago.",
        )
    apply_form = None
    if found.pending_token:
        apply_form = ApplyForm(formdata=None)
        apply_form.pending.data = found.pending_token
    return render_template("imports/job.html", job=found, apply_form=apply_form)


def _page(form: ImportForm, *, status: int, expired: bool = False, **context):  # type: ignore[no-untyped-def]
    context.setdefault("outcome", None)
    return (
        render_template(
            "imports/upload.html",
            form=form,
            formats=FORMATS,
            keep_minutes=pending.KEEP_MINUTES,
            expired=expired,
            **context,
        ),
        status,
    )
