"""The import page: upload a backup, an incident CSV or a Statuspage history."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import Length

from catalog.errors import DomainError
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


@bp.route("/", methods=["GET", "POST"])
def upload():  # type: ignore[no-untyped-def]
    session = get_session()
    form = ImportForm()
    form.vector.choices = options(
        [("", "None: such records are refused")] + [(v.slug, v.name) for v in list_vectors(session)]
    )
    outcome = None
    refusal: DomainError | None = None
    if form.validate_on_submit():
        try:
            rules = parse_rules(
                [line for line in (form.rules.data or "").splitlines() if line.strip()]
            )
            outcome = run_import(
                session,
                form.format.data,
                form.file.data.read(),
                vector=form.vector.data or None,
                rules=rules,
                dry_run=form.dry_run.data,
            )
        except DomainError as exc:  # refused, or written meanwhile by someone else: nothing kept
            refusal = exc
        else:
            if not outcome.dry_run:
                flash(outcome.describe(), "success")
                return redirect(url_for("imports.upload"))
    status = 422 if refusal is not None or form.errors else 200
    return (
        render_template(
            "imports/upload.html", form=form, outcome=outcome, refusal=refusal, formats=FORMATS
        ),
        status,
    )
