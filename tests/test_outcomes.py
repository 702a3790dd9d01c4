"""catalog.outcomes: one place commits a domain action and says how each refusal is answered.

The database's own refusals (a unique clash two writers raced past the friendly
check, a row changed under an edit) arrive as the same DomainErrors the domain
raises, so every surface answers them alike: 422/409/404 in the API, a field
error or a flash on a page, one line from the CLI or an import.
"""

from __future__ import annotations

import pytest
from factories import incident_data, make_incident
from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
    VersionConflict,
)
from catalog.incidents.models import Incident
from catalog.incidents.service import create_incident
from catalog.outcomes import Clash, commit, one_line, status_of
from catalog.vectors.models import Vector
from catalog.vectors.service import get_vector


def _twin_of(session: Session, slug: str) -> Vector:
    """A vector that repeats an existing slug, added past the service's friendly check."""
    original = get_vector(session, slug)
    return Vector(name="A different name", slug=original.slug, category=original.category)


def test_a_unique_clash_the_database_finds_is_a_clash_naming_the_field(session: Session) -> None:
    with pytest.raises(Clash) as caught:
        commit(session, lambda: session.add(_twin_of(session, "data-drift")) or session.flush())
    assert caught.value.fields == {"slug": ["A vector with this slug already exists."]}
    assert status_of(caught.value) == 409
    assert session.query(Vector).filter_by(name="A different name").count() == 0  # rolled back


def test_a_row_changed_under_an_edit_is_a_version_conflict(session: Session) -> None:
    incident = make_incident(session)
    session.commit()
    # another writer moves the row on; this session's copy still holds version 1
    with session.bind.connect() as other:  # type: ignore[union-attr]
        other.execute(update(Incident).where(Incident.id == incident.id).values(version=2))
        other.commit()

    def edit() -> None:
        incident.title = "Changed under someone else"
        session.flush()

    with pytest.raises(VersionConflict):
        commit(session, edit)
    session.expire_all()
    assert session.get(Incident, incident.id).title != "Changed under someone else"


def test_a_domain_refusal_passes_through_and_nothing_is_kept(session: Session) -> None:
    def refuse() -> None:
        create_incident(session, incident_data(title="Kept?"))
        raise ValidationError({"title": ["Title is required."]})

    with pytest.raises(ValidationError):
        commit(session, refuse)
    assert session.query(Incident).filter_by(title="Kept?").count() == 0


@pytest.mark.parametrize(
    ("refusal", "status", "line"),
    [
        (ValidationError({"title": ["Title is required."]}), 422, "title: Title is required."),
        (
            ValidationError({"line 7: severity": ["Bad."]}, "The import is refused."),
            422,
            "The import is refused. line 7: severity: Bad.",
        ),
        (ConflictError("A deactivated user cannot get a token."), 409, None),
        (NotFoundError("There is no incident #5."), 404, "There is no incident #5."),
        (Clash({"slug": ["Taken."]}), 409, None),
    ],
)
def test_each_refusal_has_one_status_and_one_line(refusal, status: int, line: str | None) -> None:  # type: ignore[no-untyped-def]
    assert status_of(refusal) == status
    expected = line or refusal.message + (" slug: Taken." if refusal.fields else "")
    assert one_line(refusal) == expected


def test_the_cli_answers_a_refusal_in_one_line_with_exit_1(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["users", "create", "not-an-email", "--role", "editor"])
    assert result.exit_code == 1
    assert "Error: email:" in result.output
    assert "Traceback" not in result.output
