"""How far an import has got, for whoever is watching (a background job's status page).

Each importer calls `step(done, total)` as it goes; outside a watched import that is
a no-op costing one ContextVar read. A watcher installs a callback with `watching`,
which is called at most every INTERVAL seconds and once more at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

INTERVAL = 0.5

Report = Callable[[int, int, str], None]
_watcher: ContextVar[tuple[Report, list[float]] | None] = ContextVar(
    "import_progress", default=None
)


def step(done: int, total: int, unit: str = "records") -> None:
    watched = _watcher.get()
    if watched is None:
        return
    report, last = watched
    now = time.monotonic()
    if done >= total or now - last[0] >= INTERVAL:
        last[0] = now
        report(done, total, unit)


@contextmanager
def watching(report: Report) -> Iterator[None]:
    token = _watcher.set((report, [0.0]))
    try:
        yield
    finally:
        _watcher.reset(token)
