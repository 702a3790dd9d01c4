"""A large export as a streamed download, read on a database session of its own.

Flask closes the request's session before a streamed body is sent, so the
rows are read on a new one, closed when the download ends or is cut off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from flask import Response, current_app
from sqlalchemy.orm import Session


def streamed_download(
    produce: Callable[[Session], Iterator[str]], *, mimetype: str, name: str, extension: str
) -> Response:
    sessionmaker = current_app.extensions["catalog.sessionmaker"]

    def chunks() -> Iterator[str]:
        session = sessionmaker()
        try:
            yield from produce(session)
        finally:
            session.close()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        chunks(),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.{extension}"'},
    )
