"""/api/v1/vectors"""

from __future__ import annotations

from flask import abort, request

from catalog.api import bp
from catalog.api.common import list_envelope, paging
from catalog.api.parsing import json_body, refuse_unknown
from catalog.api.serializers import vector_to_dict
from catalog.auth import current_actor
from catalog.auth.access import ADMIN
from catalog.sessions import get_session
from catalog.vectors import service

WRITABLE = (*service.EDITABLE, "archived")


def _archiving_needs_admin(data: dict) -> None:
    """`archived` (true or false) is the web's admin-only archive button: the same rule here."""
    user = current_actor()
    if "archived" in data and (user is None or not user.has_role(ADMIN)):
        role = user.role if user is not None else "anonymous"
        abort(
            403,
            description=f"Archiving or restoring a vector needs the admin role; you are {role}. "
            "Leave out `archived` to change the other fields.",
        )


@bp.get("/vectors")
def list_vectors():  # type: ignore[no-untyped-def]
    page, per_page = paging()
    include_archived = request.args.get("archived") in ("1", "true", "yes", "all")
    vectors = service.list_vectors(get_session(), include_archived=include_archived)
    chunk = vectors[(page - 1) * per_page : page * per_page]
    return list_envelope(
        [vector_to_dict(v) for v in chunk],
        page=page,
        per_page=per_page,
        total=len(vectors),
        endpoint="api.list_vectors",
    )


@bp.post("/vectors")
def create_vector():  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, WRITABLE)
    _archiving_needs_admin(data)
    session = get_session()
    vector = service.create_vector(session, data)
    session.commit()
    return vector_to_dict(vector), 201


@bp.get("/vectors/<slug>")
def get_vector(slug: str):  # type: ignore[no-untyped-def]
    return vector_to_dict(service.get_vector(get_session(), slug))


@bp.patch("/vectors/<slug>")
def update_vector(slug: str):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, (*WRITABLE, "version"))
    _archiving_needs_admin(data)
    session = get_session()
    vector = service.get_vector(session, slug)
    service.update_vector(session, vector, data)
    session.commit()
    return vector_to_dict(vector)


@bp.delete("/vectors/<slug>")
def delete_vector(slug: str):  # type: ignore[no-untyped-def]
    session = get_session()
    service.delete_vector(session, service.get_vector(session, slug))
    session.commit()
    return "", 204
