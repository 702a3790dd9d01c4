"""Load-test results as the tools teams already run write them: k6, wrk, Locust.

Each reader takes the bytes of one result file and gives one `LoadResult` (a tier's
requests per second, p50/p95/p99 latency in ms, error rate in % and request count),
or raises ValidationError naming the line (wrk, Locust) or the key (k6) that is
missing or unreadable. Nothing here touches the database: a refused file stores nothing
because it never reaches the service.

- **k6**: `k6 run --summary-export=summary.json` (or a `handleSummary` JSON, whose
  metrics hold a `values` object). p99 is only written when asked for:
  `--summary-trend-stats="avg,min,med,max,p(90),p(95),p(99)"`.
- **wrk**: the text `wrk --latency` prints. Its latency distribution has 50/75/90/99 %,
  so p95 is left empty rather than made up. Errors are socket errors plus non-2xx/3xx.
- **Locust**: the `*_stats.csv` that `locust --csv=PREFIX` writes; the `Aggregated` row.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import Any

from catalog.errors import ValidationError
from catalog.rules import finite_number
from catalog.uploads import read_json, read_text

FORMATS = ("k6", "wrk", "locust")
MAX_BYTES = 2 * 2**20
"""A result file is a summary, not a log: k6's is a few KB, Locust's stats a row per URL."""


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p95_ms: float | None
    p99_ms: float
    error_rate: float
    """Percent of requests that failed."""
    requests: int


def read_result(fmt: str, raw: bytes) -> LoadResult:
    """The tier a result file describes; ValidationError (field `file`) when it cannot be read."""
    if fmt not in FORMATS:
        raise ValidationError({"format": [f"Format must be one of: {', '.join(FORMATS)}."]})
    if len(raw) > MAX_BYTES:
        _refuse(f"The file is larger than {MAX_BYTES // 2**20} MiB; a result summary is smaller.")
    try:
        text = read_text(raw)
    except ValidationError as exc:
        _refuse(exc.fields["file"][0])
    reader = {"k6": _k6, "wrk": _wrk, "locust": _locust}[fmt]
    return reader(text)


def _refuse(message: str) -> Any:
    raise ValidationError({"file": [message]}, f"The result file is refused: {message}")


# ---- k6 ---------------------------------------------------------------------------------


def _k6(text: str) -> LoadResult:
    try:
        document = read_json(text)
    except ValidationError as exc:
        _refuse(exc.fields["file"][0])
    metrics = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(metrics, dict):
        _refuse('Not a k6 summary: no "metrics" object (run k6 with --summary-export).')
    duration = _k6_metric(metrics, "http_req_duration")
    reqs = _k6_metric(metrics, "http_reqs")
    failed = _k6_metric(metrics, "http_req_failed")
    p99 = _k6_number(duration, "http_req_duration", "p(99)")
    count = _k6_number(reqs, "http_reqs", "count")
    if count != int(count) or count < 1:
        _refuse("metrics.http_reqs.count must be a whole number of requests, at least 1.")
    rate = failed.get("value", failed.get("rate"))
    if not finite_number(rate) or not 0 <= rate <= 1:
        _refuse("metrics.http_req_failed.value must be the share of failed requests, 0 to 1.")
    return _checked(
        rps=_k6_number(reqs, "http_reqs", "rate"),
        p50_ms=_k6_number(duration, "http_req_duration", "med"),
        p95_ms=_k6_number(duration, "http_req_duration", "p(95)"),
        p99_ms=p99,
        error_rate=100 * rate,
        requests=int(count),
        where="The k6 summary",
    )


def _k6_metric(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    metric = metrics.get(name)
    if isinstance(metric, dict) and isinstance(metric.get("values"), dict):
        metric = metric["values"]  # a handleSummary() document
    if not isinstance(metric, dict):
        _refuse(f"metrics.{name} is missing: the test made no HTTP requests, or is not k6's.")
    return metric


def _k6_number(metric: dict[str, Any], name: str, key: str) -> float:
    value = metric.get(key)
    if value is None and key == "p(99)":
        _refuse(
            f"metrics.{name}.p(99) is missing: run k6 with "
            '--summary-trend-stats="avg,min,med,max,p(90),p(95),p(99)".'
        )
    if not finite_number(value) or value < 0:
        _refuse(f"metrics.{name}.{key} is missing or not a number.")
    return float(value)


# ---- wrk --------------------------------------------------------------------------------

_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_WRK_PERCENTILE = re.compile(
    r"^\s*(50|75|90|99)(?:\.0+)?%\s+([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)\s*$"
)
_WRK_REQUESTS = re.compile(r"^\s*([0-9]+) requests in ([0-9.]+)(us|ms|s|m|h)")
_WRK_RATE = re.compile(r"^Requests/sec:\s+([0-9]+(?:\.[0-9]+)?)\s*$")
_WRK_SOCKET = re.compile(
    r"^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)\s*$"
)
_WRK_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses: ([0-9]+)\s*$")


def _wrk(text: str) -> LoadResult:
    percentiles: dict[str, float] = {}
    requests = rate = None
    errors = 0
    in_distribution = False
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > 500:
            _refuse(f"Line {number} is longer than any line wrk writes.")
        if line.strip() == "Latency Distribution":
            in_distribution = True
            continue
        if in_distribution:
            match = _WRK_PERCENTILE.match(line)
            if match:
                percentiles[match[1]] = float(match[2]) * _WRK_UNITS[match[3]]
                continue
            if re.match(r"^\s*[0-9.]+%", line):
                _refuse(f"Line {number}: cannot read this latency percentile: {line.strip()[:80]}")
            in_distribution = False
        if match := _WRK_REQUESTS.match(line):
            requests = int(match[1])
        elif match := _WRK_RATE.match(line):
            rate = float(match[1])
        elif match := _WRK_SOCKET.match(line):
            errors += sum(int(n) for n in match.groups())
        elif match := _WRK_NON_2XX.match(line):
            errors += int(match[1])
    if "Latency Distribution" not in text:
        _refuse("No 'Latency Distribution' section: run wrk with --latency.")
    for needed in ("50", "99"):
        if needed not in percentiles:
            _refuse(f"The latency distribution has no {needed}% line.")
    if requests is None:
        _refuse("No 'N requests in T' line: the output of wrk is cut short.")
    if rate is None:
        _refuse("No 'Requests/sec:' line: the output of wrk is cut short.")
    assert requests is not None and rate is not None
    if requests < 1:
        _refuse("wrk made no requests.")
    return _checked(
        rps=rate,
        p50_ms=percentiles["50"],
        p95_ms=None,
        p99_ms=percentiles["99"],
        error_rate=100 * min(errors, requests) / requests,
        requests=requests,
        where="The wrk output",
    )


# ---- Locust -----------------------------------------------------------------------------

_LOCUST_COLUMNS = ("Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%")


def _locust(text: str) -> LoadResult:
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except (StopIteration, csv.Error):
        _refuse("Line 1: no header row.")
    missing = [c for c in _LOCUST_COLUMNS if c not in header]
    if missing:
        _refuse(
            f"Line 1: not Locust's stats CSV (the *_stats.csv of --csv): no column "
            f"{', '.join(repr(c) for c in missing)}."
        )
    at = {name: header.index(name) for name in _LOCUST_COLUMNS}
    try:
        for number, row in enumerate(rows, start=2):
            if len(row) != len(header):
                _refuse(f"Line {number}: {len(row)} fields where the header has {len(header)}.")
            if row[at["Name"]] == "Aggregated":
                return _locust_row(number, row, at)
    except csv.Error as exc:
        _refuse(f"Line {rows.line_num}: {exc}.")
    _refuse("No 'Aggregated' row: the file is cut short, or not the *_stats.csv.")
    raise AssertionError("unreachable")


def _locust_row(number: int, row: list[str], at: dict[str, int]) -> LoadResult:
    def value(column: str) -> float:
        text = row[at[column]].strip()
        if text in ("N/A", ""):
            _refuse(f"Line {number}: column '{column}' has no value ({text or 'empty'}).")
        try:
            number_ = float(text)
        except ValueError:
            _refuse(f"Line {number}: column '{column}' is not a number: {text[:40]!r}.")
        if not math.isfinite(number_) or number_ < 0:
            _refuse(f"Line {number}: column '{column}' is not a number of 0 or more.")
        return number_

    requests = value("Request Count")
    if requests < 1 or requests != int(requests):
        _refuse(f"Line {number}: 'Request Count' must be a whole number of requests, at least 1.")
    failures = value("Failure Count")
    return _checked(
        rps=value("Requests/s"),
        p50_ms=value("50%"),
        p95_ms=value("95%"),
        p99_ms=value("99%"),
        error_rate=100 * min(failures, requests) / requests,
        requests=int(requests),
        where=f"Line {number}",
    )


def _checked(*, where: str, **values: Any) -> LoadResult:
    """The result, when its percentiles are in order (a file that says otherwise is damaged)."""
    result = LoadResult(**values)
    ordered = [v for v in (result.p50_ms, result.p95_ms, result.p99_ms) if v is not None]
    if ordered != sorted(ordered):
        _refuse(f"{where}: the percentiles are out of order (p50 ≤ p95 ≤ p99).")
    return result
