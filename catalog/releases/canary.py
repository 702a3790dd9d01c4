"""Canary analysis: the canary's latencies against the baseline's, judged by the guardrails.

The two-sample Kolmogorov–Smirnov test is SciPy's (`scipy.stats.ks_2samp`, two-sided,
its exact or asymptotic method as SciPy chooses); the p99s come from the metrics
module's one percentile definition. The verdict is *roll back* when the canary's p99
is over the release's p99 guardrail, when its error rate is over the error-rate
guardrail, or when KS says the two differ (p < ALPHA) and the canary is the slower;
otherwise *promote*. Every reason is kept with the verdict, in words.

Samples are a CSV of one latency in milliseconds per line, or a header naming a
latency column (`latency_ms`, `latency`, `duration_ms`, `duration`, `elapsed`,
`response_time`) and optionally an error column (`error`/`failed`: 1/0 or
true/false; `success`: the opposite; `status`/`status_code`: 5xx is an error).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass

from scipy.stats import ks_2samp

from catalog.errors import ValidationError
from catalog.releases.models import CanaryAnalysis, Release
from catalog.releases.spec import CANARY_MAX_SAMPLES, CANARY_MIN_SAMPLES
from catalog.reports.metrics import percentiles_of

ALPHA = 0.05
MIN_SAMPLES, MAX_SAMPLES = CANARY_MIN_SAMPLES, CANARY_MAX_SAMPLES
MAX_BYTES = 32 * 2**20
LATENCY_COLUMNS = ("latency_ms", "latency", "duration_ms", "duration", "elapsed", "response_time")
ERROR_COLUMNS = ("error", "failed", "success", "status", "status_code")
_TRUE, _FALSE = {"1", "true", "yes", "t", "y"}, {"0", "false", "no", "f", "n", ""}
_STATUS = re.compile(r"[0-9]{3}")  # ASCII digits: "²⁰⁰".isdigit() is true too


@dataclass(frozen=True)
class Samples:
    latencies: list[float]
    """Sorted, in milliseconds."""
    errors: int | None
    """How many requests failed, when the file says; None when it has no error column."""

    @property
    def error_rate(self) -> float | None:
        return None if self.errors is None else 100 * self.errors / len(self.latencies)


def read_samples(raw: bytes, field: str) -> Samples:
    """One side's samples; ValidationError under `field` naming the line that is wrong."""

    def refuse(message: str) -> ValidationError:
        return ValidationError({field: [message]}, f"The {field} samples are refused: {message}")

    if len(raw) > MAX_BYTES:
        raise refuse(f"The file is larger than {MAX_BYTES // 2**20} MiB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(f"Not UTF-8 text (byte {exc.start + 1}).") from exc
    rows = csv.reader(io.StringIO(text, newline=""))
    latencies: list[float] = []
    errors = 0
    latency_at, error_at, error_name = 0, None, ""
    try:
        for number, row in enumerate(rows, start=1):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if number == 1 and not _is_number(row[0]) or (number == 1 and len(row) > 1):
                latency_at, error_at, error_name = _header(row, refuse)
                continue
            if len(latencies) >= MAX_SAMPLES:
                raise refuse(f"More than {MAX_SAMPLES:,} samples; send a sample of them.")
            if latency_at >= len(row):
                raise refuse(f"Line {number}: no latency column in this row.")
            value = row[latency_at].strip()
            if not _is_number(value):
                raise refuse(f"Line {number}: the latency {value[:40]!r} is not a number.")
            latency = float(value)
            if not math.isfinite(latency) or latency < 0:
                raise refuse(f"Line {number}: the latency must be 0 ms or more.")
            latencies.append(latency)
            if error_at is not None:
                cell = row[error_at].strip() if error_at < len(row) else ""
                failed = _failed(cell, error_name)
                if failed is None:
                    raise refuse(f"Line {number}: cannot read {error_name} {cell[:40]!r}.")
                errors += failed
    except csv.Error as exc:
        raise refuse(f"Line {rows.line_num}: {exc}.") from exc
    if len(latencies) < MIN_SAMPLES:
        raise refuse(
            f"{len(latencies)} latencies; a KS test needs at least {MIN_SAMPLES} on each side."
        )
    latencies.sort()
    return Samples(latencies, errors if error_at is not None else None)


def _header(row: list[str], refuse) -> tuple[int, int | None, str]:  # type: ignore[no-untyped-def]
    names = [c.strip().lower() for c in row]
    latency = next((names.index(c) for c in LATENCY_COLUMNS if c in names), None)
    if latency is None:
        raise refuse(
            "Line 1: no latency column; name one of "
            f"{', '.join(LATENCY_COLUMNS)}, or send one number per line."
        )
    error = next((c for c in ERROR_COLUMNS if c in names), None)
    return latency, (names.index(error) if error else None), error or ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity", "+inf")


def _failed(value: str, column: str) -> int | None:
    """1 when this request failed, 0 when not, None when the value cannot be read."""
    lowered = value.lower()
    if column in ("status", "status_code"):
        return int(int(value) >= 500) if _STATUS.fullmatch(value) else None
    if column == "success" and not lowered:
        return None  # an empty cell says nothing: not a failure, not a success
    if lowered in _TRUE:
        return 0 if column == "success" else 1
    if lowered in _FALSE:
        return 1 if column == "success" else 0
    return None


def analyse(release: Release, baseline: Samples, canary: Samples) -> CanaryAnalysis:
    """The analysis of one canary (not yet added to a session)."""
    result = ks_2samp(baseline.latencies, canary.latencies)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    base_quantiles = percentiles_of(baseline.latencies)
    canary_quantiles = percentiles_of(canary.latencies)
    base_p99, canary_p99 = base_quantiles[99], canary_quantiles[99]
    reasons = []
    if release.guard_p99_ms is not None and canary_p99 > release.guard_p99_ms:
        reasons.append(
            f"The canary's p99 is {canary_p99:.1f} ms, over the guardrail of "
            f"{release.guard_p99_ms} ms."
        )
    if (
        release.guard_error_rate is not None
        and canary.error_rate is not None
        and canary.error_rate > release.guard_error_rate
    ):
        reasons.append(
            f"The canary's error rate is {canary.error_rate:.2f} %, over the guardrail of "
            f"{release.guard_error_rate:g} %."
        )
    differ = p_value < ALPHA
    if differ and canary_p99 > base_p99:
        reasons.append(
            f"Its latencies differ from the baseline's (KS D = {statistic:.3f}, "
            f"p = {p_value:.3g} < {ALPHA}) and its p99 is {canary_p99 - base_p99:.1f} ms higher."
        )
    verdict = "roll_back" if reasons else "promote"
    if not reasons:
        reasons.append(
            "Within its guardrails; "
            + (
                f"the latencies differ (p = {p_value:.3g}) but the canary is not slower at p99."
                if differ
                else f"no difference from the baseline (KS p = {p_value:.3g} ≥ {ALPHA})."
            )
        )
    return CanaryAnalysis(
        baseline_count=len(baseline.latencies),
        canary_count=len(canary.latencies),
        ks_statistic=statistic,
        p_value=p_value,
        baseline_p99_ms=base_p99,
        canary_p99_ms=canary_p99,
        baseline_error_rate=baseline.error_rate,
        canary_error_rate=canary.error_rate,
        verdict=verdict,
        reasons="\n".join(reasons),
        # 101 points draw the empirical CDF of any sample size.
        baseline_quantiles=json.dumps([round(q, 3) for q in base_quantiles]),
        canary_quantiles=json.dumps([round(q, 3) for q in canary_quantiles]),
    )
