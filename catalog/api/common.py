"""Small helpers every API route shares: the list envelope, settings, the clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, request, url_for

from catalog.api.parsing import query_int
from catalog.errors import FieldErrors, ValidationError
from catalog.incidents.service import MAX_PAGE, MAX_PER_PAGE


def paging() -> tuple[int, int]:
    """`page` and `per_page` from the query string, refused with field names when wrong."""
    errors = FieldErrors()
    page = query_int(errors, "page", 1)
    per_page = query_int(errors, "per_page", 50)
    if not errors.has("page") and page < 1:
        errors.add("page", "Page must be 1 or more.")
    elif not errors.has("page") and page > MAX_PAGE:
        errors.add("page", f"Page must be at most {MAX_PAGE:,}.")
    if not errors.has("per_page") and not 1 <= per_page <= MAX_PER_PAGE:
        errors.add("per_page", f"Per page must be between 1 and {MAX_PER_PAGE}.")
    if errors:
        raise ValidationError(errors.fields, "Invalid pagination.")
    return page, per_page


def host_is_trusted() -> bool:
    """Whether an absolute URL may name the request's host.

    Only when the app checks the Host header (CATALOG_TRUSTED_HOSTS) or names
    itself (SERVER_NAME); otherwise a forged Host would turn up in the links a
    client follows, so they stay relative to wherever the request went.
    """
    return bool(current_app.config.get("TRUSTED_HOSTS") or current_app.config.get("SERVER_NAME"))


def list_envelope(
    items: Sequence[dict[str, Any]], *, page: int, per_page: int, total: int, endpoint: str
) -> dict[str, Any]:
    has_next = page * per_page < total
    next_url = None
    if has_next:
        args = request.args.to_dict()
        args.update(page=str(page + 1), per_page=str(per_page))
        # the path's own values (/incidents/7/updates: the 7) win over a query key of the
        # same name, and url_for's options (`_external`...) are never taken from a query
        values = {k: v for k, v in args.items() if not k.startswith("_")}
        values.update(request.view_args or {})
        next_url = url_for(endpoint, _external=host_is_trusted(), **values)
    return {
        "items": list(items),
        "page": page,
        "per_page": per_page,
        "total": total,
        "next": next_url,
    }
