"""/api/v1/vectors"""

from __future__ import annotations

from flask import abort, request

from catalog.api import bp
from catalog.api.common import list_envelope, paging
from catalog.api.docs import WRITE_ERRORS, body, errors, ok, operation, params, query, ref
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
@operation(
    "vectors",
    "List failure vectors by name",
    {**ok(200, "One page of vectors.", ref("VectorList")), **errors(422)},
    parameters=[
        *params("Page", "PerPage"),
        query(
            "archived",
            {"type": "string", "enum": ["1", "true", "yes", "all", "0", "false", "no"]},
            "`1`, `true`, `yes` or `all` include archived vectors.",
        ),
    ],
)
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
@operation(
    "vectors",
    "Create a failure vector",
    {**ok(201, "Created.", ref("Vector")), **errors(*WRITE_ERRORS, 409)},
    requestBody=body("VectorCreate"),
)
def create_vector():  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, WRITABLE)
    _archiving_needs_admin(data)
    session = get_session()
    vector = service.create_vector(session, data)
    session.commit()
    return vector_to_dict(vector), 201


@bp.get("/vectors/<slug>")
@operation(
    "vectors",
    "Read a failure vector",
    {**ok(200, "The vector.", ref("Vector")), **errors(404)},
)
def get_vector(slug: str):  # type: ignore[no-untyped-def]
    return vector_to_dict(service.get_vector(get_session(), slug))


@bp.patch("/vectors/<slug>")
@operation(
    "vectors",
    "Change a failure vector (archive with `archived: true`, admins only)",
    {**ok(200, "The updated vector.", ref("Vector")), **errors(*WRITE_ERRORS, 404, 409)},
    requestBody=body("VectorPatch"),
)
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
@operation(
    "vectors",
    "Delete a failure vector no incident refers to (409 otherwise: archive it)",
    {"204": {"description": "Deleted."}, **errors(404, 409)},
)
def delete_vector(slug: str):  # type: ignore[no-untyped-def]
    session = get_session()
    service.delete_vector(session, service.get_vector(session, slug))
    session.commit()
    return "", 204
