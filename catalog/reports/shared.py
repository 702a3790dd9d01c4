"""Reports (and other kept values) shared by every worker process of one host, computed by
one of them at a time.

Each gunicorn worker has its own in-memory cache (catalog.reports.cache). After a
write moves the data version, every worker would otherwise recompute every report
on its own: with four workers, four times the same second of CPU, all at once, in
the middle of a load spike. Here the first worker to miss takes a lock on the
report's key, computes, and leaves the result in a file in the instance folder;
the others wait for that lock and read the file instead of computing.

A file holds one report per key (the database, grouping, filters and settings)
and the data version it was computed at, written atomically (a temporary file,
then a rename), so a reader never sees half a report; it is served only to a
request that read the same data version. The folder is emptied when a process
starts, so a database restored to an older state (whose version numbers come
round again) never meets a report of the state it replaced. Files are plain
JSON, never pickles, so nothing in the folder can run code.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from catalog.reports.metrics import DurationStats, GroupMetrics, MetricsReport

T = TypeVar("T")

# How long a worker waits for another that is computing the same report before it
# computes it itself: well above any report's cost, well below a request's limit.
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.005
KEEP_FILES = 512


class SharedReports:
    """A folder of report files and their locks; a broken folder only loses the sharing."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writes = 0
        for old in self.folder.glob("*.json"):
            old.unlink(missing_ok=True)

    def get(self, name: str, version: int | str) -> dict[str, Any] | None:
        """The stored report for `name` if it was computed at this data version."""
        try:
            with open(self._path(name, ".json"), encoding="utf-8") as handle:
                stored = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("version") != version:
            return None
        return stored.get("report")

    def put(self, name: str, version: int | str, report: dict[str, Any]) -> None:
        path = self._path(name, ".json")
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                # dumps, not dump: json.dump streams through the pure-Python encoder,
                # five times slower than the C one dumps uses (the whole text is small).
                handle.write(json.dumps({"version": version, "report": report}))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.writes += 1
        if self.writes % 64 == 0:
            self._prune()

    @contextmanager
    def computing(self, name: str) -> Iterator[bool]:
        """Hold the key's lock while computing; yields False if it could not be had in time."""
        with open(self._path(name, ".lock"), "a+b") as handle:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        yield False
                        return
                    time.sleep(POLL_SECONDS)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _path(self, name: str, suffix: str) -> Path:
        return self.folder / (hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + suffix)

    def _prune(self) -> None:
        """Keep the newest KEEP_FILES reports; one file per key means this rarely removes any."""
        files = sorted(self.folder.glob("*.json"), key=_mtime, reverse=True)
        for stale in files[KEEP_FILES:]:
            stale.unlink(missing_ok=True)
            stale.with_suffix(".lock").unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def shared_or_compute(
    store: SharedReports,
    name: str,
    version: int | str,
    now: datetime,
    compute: Callable[[], MetricsReport],
) -> MetricsReport | None:
    """A report from another worker, or computed here once for all of them.

    None when the shared folder cannot be used; the caller then computes on its
    own. The report read back lacks filters and settings: the caller's key holds them.
    """
    found = shared_or_compute_many(store, [name], version, now, lambda missing: [compute()])
    return None if found is None else found[0]


def shared_or_compute_many(
    store: SharedReports,
    names: Sequence[str],
    version: int | str,
    now: datetime,
    compute: Callable[[list[int]], list[MetricsReport]],
) -> list[MetricsReport] | None:
    """Several reports of one view (a headline and its trend), computed together once.

    `compute(indexes)` computes the reports at those places of `names`, in that
    order. Every missing report's lock is taken, in one order (by name, so two workers
    never wait for each other): a worker asking for one report of a view that another
    is computing (a reader, and the writer refreshing ahead) waits for it instead of
    computing the same report at the same time, which on two cores halves both.
    """
    try:
        reports = [_read(store, name, version) for name in names]
        usable = [r is not None and served_at(r.generated_at, r.valid_until, now) for r in reports]
        if all(usable):
            return reports  # type: ignore[return-value]
        wanted = sorted({name for name, ok in zip(names, usable, strict=True) if not ok})
        with ExitStack() as held:
            locked = all([held.enter_context(store.computing(name)) for name in wanted])
            # Whoever held the locks may have just filed them: computed after this
            # request began, so at least as new as it needs.
            if locked:
                reports = [_read(store, name, version) for name in names]
            else:
                reports = [None] * len(names)
            reports = [r if r is not None and _exact_at(r, now) else None for r in reports]
            missing = [i for i, r in enumerate(reports) if r is None]
            if missing:
                for i, report in zip(missing, compute(missing), strict=True):
                    store.put(names[i], version, report_to_dict(report))
                    reports[i] = report
            return reports  # type: ignore[return-value]
    except OSError:
        return None


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a kept value other than a report goes to JSON and back (`shared_value`). `load`
    may raise ValueError, TypeError or KeyError on what it cannot read: then it is
    computed again."""

    dump: Callable[[T], Any]
    load: Callable[[Any], T]


def _dump_page(value: tuple[str, datetime | None, bool]) -> dict[str, Any]:
    text, until, _ = value  # filed only when it may be kept (shared_value)
    return {"text": text, "until": until.isoformat() if until else None}


def _load_page(data: dict[str, Any]) -> tuple[str, datetime | None, bool]:
    if not isinstance(data["text"], str):
        raise TypeError("not a page")
    until = datetime.fromisoformat(data["until"]) if data["until"] is not None else None
    return data["text"], until, True


KEPT_PAGE: Codec[tuple[str, datetime | None, bool]] = Codec(dump=_dump_page, load=_load_page)
"""A kept answer (text, when the clock changes it, whether it may be kept) as JSON: the
incident list's table, the list API's body."""


def shared_value(
    store: SharedReports,
    name: str,
    version: str,
    now: datetime,
    compute: Callable[[], T],
    codec: Codec[T],
    valid_until: Callable[[T], datetime | None] | None = None,
    keep: Callable[[T], bool] | None = None,
) -> tuple[T] | None:
    """A kept value (a list page, the flagged root causes, the services in use) another
    worker filed at this version, or computed here once for all of them, as reports are.

    It is served while the clock allows: made no later than `now`, and `now` before its
    `valid_until`. A value `keep` refuses (a page too large) is computed by each
    worker that asks, as in a process. In a 1-tuple, so that a value may itself be
    None; None when the folder cannot be used (the caller computes on its own).
    """

    def filed() -> tuple[T] | None:
        stored = store.get(name, version)
        if not isinstance(stored, dict):
            return None
        try:
            made_at = datetime.fromisoformat(stored["made_at"])
            until = stored["valid_until"]
            if not served_at(
                made_at, None if until is None else datetime.fromisoformat(until), now
            ):
                return None
            return (codec.load(stored["value"]),)
        except (ValueError, TypeError, KeyError):
            return None

    try:
        found = filed()
        if found is not None:
            return found
        with store.computing(name) as locked:
            found = filed() if locked else None
            if found is None:
                value = compute()
                if keep is not None and not keep(value):
                    return (value,)
                until = valid_until(value) if valid_until is not None else None
                stored = {
                    "value": codec.dump(value),
                    "made_at": now.isoformat(),
                    "valid_until": until.isoformat() if until is not None else None,
                }
                try:
                    store.put(name, version, stored)
                except OSError:  # a full or read-only folder: computed, only not shared
                    pass
                found = (value,)
            return found
    except OSError:
        return None


def _read(store: SharedReports, name: str, version: int | str) -> MetricsReport | None:
    """The filed report, or None when there is none or it cannot be read back (then it is
    computed again and the file replaced)."""
    found = store.get(name, version)
    if found is None:
        return None
    try:
        return report_from_dict(found)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _exact_at(report: MetricsReport, now: datetime) -> bool:
    return report.valid_until is None or now < report.valid_until


def served_at(made_at: datetime, valid_until: datetime | None, now: datetime) -> bool:
    """Whether something kept may answer a request at `now`: not made in its future, and
    `now` before the first moment the clock alone changes it (None: never). Reports and
    values, in a process and in the shared folder, all go by this."""
    return made_at <= now and (valid_until is None or now < valid_until)


def report_to_dict(report: MetricsReport) -> dict[str, Any]:
    return {
        "group_by": report.group_by,
        "groups": [g.as_dict() for g in report.groups],
        "generated_at": report.generated_at.isoformat(),
        "valid_until": report.valid_until.isoformat() if report.valid_until else None,
    }


def report_from_dict(data: dict[str, Any]) -> MetricsReport:
    """The inverse of report_to_dict; settings and filters are put back by the caller."""
    groups = []
    for g in data["groups"]:
        groups.append(
            GroupMetrics(
                **{
                    **g,
                    "ttd": DurationStats(**g["ttd"]),
                    "ttr": DurationStats(**g["ttr"]),
                }
            )
        )
    return MetricsReport(
        group_by=data["group_by"],
        settings=None,  # type: ignore[arg-type]
        filters=None,  # type: ignore[arg-type]
        groups=groups,
        generated_at=datetime.fromisoformat(data["generated_at"]),
        valid_until=datetime.fromisoformat(data["valid_until"]) if data["valid_until"] else None,
    )
