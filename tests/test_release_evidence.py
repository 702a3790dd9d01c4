"""A release's evidence (issue 14, parts 2 and 3): load-test tiers and the canary analysis.

Each importer reads a real result file: wrk (Debian's) and Locust (from PyPI) run here
against a live server and the files they write are imported; k6, which this machine
cannot install, is read from a sample recorded in its documented format. Malformed and
partial files are refused naming the line (wrk, Locust) or key (k6), with nothing stored.
Tiers are judged against the service's bars (defaults 150 ms / 300 ms / 0.2 %). The
canary's KS statistic and p-value equal SciPy's on fixed samples, its p99 the metrics
module's percentile, and its verdict follows the release's guardrails. Both databases.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_release
from helpers.api import assert_error, assert_fields, count
from helpers.environment import skip_or_fail
from scipy.stats import ks_2samp
from werkzeug.serving import make_server

from catalog.releases.loadtests import read_result

SAMPLES = Path(__file__).parent / "samples"
K6 = (SAMPLES / "k6_summary_export.json").read_bytes()


@pytest.fixture
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a real socket, for the load tools to hit (its public /healthz)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _import(client, release_id: int, fmt: str, raw: bytes, tier: str = "1x"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/releases/{release_id}/load-tests/import?tier={tier}&format={fmt}", data=raw
    )


# ---- the tools' real output ---------------------------------------------------------------


def test_wrk_output_written_here_imports_with_its_own_figures(client, session, live_url, tmp_path):
    if shutil.which("wrk") is None:
        skip_or_fail("wrk is not installed (apt-get install wrk; .ci/run does)")
    release = make_release(session)
    ran = subprocess.run(
        ["wrk", "-t1", "-c2", "-d1s", "--latency", f"{live_url}/healthz"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    text = ran.stdout.decode()
    requests = int(text.split(" requests in ")[0].split()[-1])
    response = _import(client, release.id, "wrk", ran.stdout, tier="5x")
    assert response.status_code == 201, response.get_json()
    tier = response.get_json()
    assert (tier["tier"], tier["multiplier"], tier["source"]) == ("5×", 5, "wrk")
    assert tier["requests"] == requests and tier["p95_ms"] is None
    assert tier["rps"] == float(text.split("Requests/sec:")[1].split()[0])
    assert 0 < tier["p50_ms"] <= tier["p99_ms"] and tier["error_rate"] == 0
    assert tier["bar"] == "p99 ≤ 300 ms"

    missing = subprocess.run(
        ["wrk", "-t1", "-c1", "-d1s", "--latency", f"{live_url}/no-such-page"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"Non-2xx or 3xx responses" in missing.stdout
    errors = _import(client, release.id, "wrk", missing.stdout, tier="10x").get_json()
    assert errors["error_rate"] == 100 and errors["met"] is False


def test_locust_stats_written_here_import_from_the_aggregated_row(
    client, session, live_url, tmp_path
):
    locust = Path(sys.executable).parent / "locust"
    if not locust.exists():
        skip_or_fail("Locust is not installed (make install adds the dev extras)")
    (tmp_path / "locustfile.py").write_text(
        "from locust import HttpUser, constant, task\n\n"
        "class Reader(HttpUser):\n"
        "    wait_time = constant(0)\n\n"
        "    @task\n"
        "    def health_then_missing(self):\n"
        '        self.client.get("/healthz")\n'
        '        self.client.get("/no-such-page")\n'
    )
    subprocess.run(
        [
            str(locust),
            "-f",
            str(tmp_path / "locustfile.py"),
            "--headless",
            "--users=2",
            "--spawn-rate=2",
            "--run-time=2s",
            f"--host={live_url}",
            f"--csv={tmp_path / 'run'}",
            "--only-summary",
            "--loglevel=ERROR",
        ],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        check=False,  # Locust exits 1 when any request failed, as half of these do
    )
    stats = (tmp_path / "run_stats.csv").read_bytes()
    aggregated = next(r for r in stats.decode().splitlines() if ",Aggregated," in r).split(",")
    release = make_release(session)
    response = _import(client, release.id, "locust", stats, tier="peak")
    assert response.status_code == 201, response.get_json()
    tier = response.get_json()
    assert (tier["tier"], tier["multiplier"], tier["met"], tier["bar"]) == (
        "peak",
        None,
        None,
        None,
    )
    assert tier["requests"] == int(aggregated[2])
    assert tier["error_rate"] == pytest.approx(100 * int(aggregated[3]) / int(aggregated[2]))
    # The failures are the 404s, however many requests a slow machine made in the run.
    missing = next(r for r in stats.decode().splitlines() if ",/no-such-page," in r).split(",")
    assert int(aggregated[3]) == int(missing[2]) > 0 and tier["error_rate"] > 0
    assert tier["p50_ms"] <= tier["p95_ms"] <= tier["p99_ms"]


def test_a_k6_summary_export_imports(client, session):
    release = make_release(session)
    tier = _import(client, release.id, "k6", K6).get_json()
    assert (tier["rps"], tier["requests"]) == (498.59, 14962)
    assert (tier["p50_ms"], tier["p95_ms"], tier["p99_ms"]) == (14.62, 55.4, 131.9)
    assert tier["error_rate"] == pytest.approx(0.0802031814)
    assert (tier["bar"], tier["met"]) == ("p99 ≤ 150 ms", True)


def test_a_k6_handle_summary_document_imports_too():
    document = json.loads(K6)
    wrapped = {"metrics": {k: {"type": "x", "values": v} for k, v in document["metrics"].items()}}
    assert read_result("k6", json.dumps(wrapped).encode()) == read_result("k6", K6)


# ---- malformed and partial files ----------------------------------------------------------

WRK = b"""Running 2s test @ http://127.0.0.1:5055/login
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    11.55ms    4.37ms  30.41ms   67.82%
    Req/Sec   345.10     52.58   440.00     65.00%
  Latency Distribution
     50%   11.69ms
     75%   14.24ms
     90%   16.84ms
     99%   24.22ms
  688 requests in 2.00s, 1.73MB read
Requests/sec:    343.51
Transfer/sec:      0.87MB
"""
LOCUST = (
    b"Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    b"Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,"
    b"75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    b"GET,/healthz,100,0,3,3.5,1,20,15,50.0,0.0,3,4,4,5,6,8,10,12,20,20,20\n"
    b",Aggregated,100,2,3,3.5,1,20,15,50.0,1.0,3,4,4,5,6,8,10,12,20,20,20\n"
)


def _k6(change) -> bytes:  # type: ignore[no-untyped-def]
    document = json.loads(K6)
    change(document["metrics"])
    return json.dumps(document).encode()


BAD_FILES = [
    ("wrk", WRK.replace(b"  Latency Distribution\n", b""), "--latency"),
    ("wrk", WRK.replace(b"     99%   24.22ms\n", b""), "no 99% line"),
    ("wrk", WRK.replace(b"     90%   16.84ms", b"     90%   16.84 furlongs"), "Line 9"),
    ("wrk", WRK.split(b"  688 requests")[0], "requests in"),
    ("wrk", WRK.replace(b"Requests/sec:    343.51\n", b""), "Requests/sec"),
    ("wrk", WRK.replace(b"11.69ms", b"99.00ms"), "out of order"),
    ("wrk", b"x" * 600 + b"\n" + WRK, "Line 1"),
    ("locust", LOCUST.splitlines()[0] + b"\n", "Aggregated"),
    ("locust", LOCUST.replace(b"Requests/s,", b"Rate,"), "Line 1"),
    ("locust", LOCUST.replace(b",Aggregated,100,2,", b",Aggregated,many,2,"), "Line 3"),
    ("locust", LOCUST.replace(b",Aggregated,100,2,3,", b",Aggregated,100,2,3"), "Line 3"),
    ("locust", LOCUST[: -len(b"12,20,20,20\n")] + b"N/A,20,20,20\n", "Line 3"),
    ("locust", LOCUST.replace(b"50.0,1.0,3,", b"50.0,1.0,N/A,"), "Line 3"),
    ("locust", LOCUST.replace(b",Aggregated,100,", b",Aggregated,0,"), "Line 3"),
    ("k6", b'{"metrics": ', "line 1"),
    ("k6", b"[1, 2]", '"metrics"'),
    ("k6", _k6(lambda m: m.pop("http_req_duration")), "metrics.http_req_duration"),
    ("k6", _k6(lambda m: m["http_req_duration"].pop("p(99)")), "summary-trend-stats"),
    ("k6", _k6(lambda m: m["http_reqs"].update(count="many")), "metrics.http_reqs.count"),
    ("k6", _k6(lambda m: m["http_req_failed"].update(value=2)), "metrics.http_req_failed"),
    ("k6", _k6(lambda m: m["http_req_duration"].update(med=-1)), "metrics.http_req_duration.med"),
    ("k6", _k6(lambda m: m.pop("http_reqs")), "metrics.http_reqs"),
    ("k6", b"", "empty"),
    ("k6", b"\xff\xfe{}", "UTF-8"),
    ("wrk", b"[" * 100_000, "Line 1 is longer"),
    ("k6", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("fmt", "raw", "words"), BAD_FILES)
def test_a_malformed_result_file_is_refused_by_line_or_key_and_nothing_is_stored(
    client, session, fmt, raw, words
):
    release = make_release(session)
    response = _import(client, release.id, fmt, raw)
    fields = assert_fields(response, "file")
    assert words in fields["file"][0], fields["file"][0]
    assert count(session, "load_tests") == 0


def test_import_parameters_are_checked_before_the_file(client, session):
    release = make_release(session)
    assert_fields(_import(client, release.id, "jmeter", WRK), "format")
    assert_fields(_import(client, release.id, "wrk", WRK, tier=""), "tier")
    assert_fields(_import(client, release.id, "wrk", WRK, tier="0x"), "tier")
    assert_fields(_import(client, release.id, "wrk", WRK, tier="x" * 41), "tier")
    assert_error(_import(client, 4242, "wrk", WRK), 404, "not_found")
    assert count(session, "load_tests") == 0


def test_the_same_tier_again_replaces_it_and_named_tiers_are_shown_unjudged(client, session):
    release = make_release(session)
    for tier in ("1", "1x", "1×"):
        assert _import(client, release.id, "wrk", WRK, tier=tier).status_code == 201
    _import(client, release.id, "k6", K6, tier="soak")
    _import(client, release.id, "k6", K6, tier="10X")
    tiers = client.get(f"/api/v1/releases/{release.id}").get_json()["load_tests"]
    assert [(t["tier"], t["source"]) for t in tiers] == [
        ("1×", "wrk"),
        ("10×", "k6"),
        ("soak", "k6"),
    ]
    assert [t["met"] for t in tiers] == [True, True, None]
    one = tiers[0]["id"]
    assert client.delete(f"/api/v1/releases/{release.id}/load-tests/{one}").status_code == 204
    assert_error(client.delete(f"/api/v1/releases/{release.id}/load-tests/{one}"), 404, "not_found")
    assert count(session, "load_tests") == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"tier": "5x", "rps": 10, "p50_ms": 5, "p99_ms": 4, "error_rate": 0, "requests": 9},
            ("p99_ms",),
        ),
        (
            {"tier": "5x", "rps": -1, "p50_ms": 5, "p99_ms": 9, "error_rate": 0, "requests": 9},
            ("rps",),
        ),
        (
            {"tier": "5x", "rps": 1, "p50_ms": 5, "p99_ms": 9, "error_rate": 101, "requests": 9},
            ("error_rate",),
        ),
        (
            {"tier": "5x", "rps": 1, "p50_ms": 5, "p99_ms": 9, "error_rate": 0, "requests": 0},
            ("requests",),
        ),
        (
            {"tier": "5x", "rps": 1, "p50_ms": "5", "p99_ms": 9, "error_rate": 0, "requests": 1},
            ("p50_ms",),
        ),
        ({"rps": 1, "p50_ms": 5, "p99_ms": 9, "error_rate": 0, "requests": 1}, ("tier",)),
        ({"tier": "5x", "p99": 9}, ("p99",)),
    ],
)
def test_a_typed_tier_is_checked_like_any_input(client, session, body, fields):
    release = make_release(session)
    assert_fields(client.post(f"/api/v1/releases/{release.id}/load-tests", json=body), *fields)
    assert count(session, "load_tests") == 0


# ---- the bars -------------------------------------------------------------------------------


def test_a_services_bars_decide_its_verdicts(client, session):
    release = make_release(session)
    _import(client, release.id, "wrk", WRK, tier="1x")  # p99 24.22 ms
    bars = client.get("/api/v1/readiness-bars?service=chat-api").get_json()
    assert (bars["p99_1x_ms"], bars["custom"], bars["version"]) == (150, False, 0)
    put = client.put("/api/v1/readiness-bars?service=chat-api", json={"p99_1x_ms": 20})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["error_rate_10x"] == 0.2  # left out: its default
    tier = client.get(f"/api/v1/releases/{release.id}").get_json()["load_tests"][0]
    assert (tier["bar"], tier["met"]) == ("p99 ≤ 20 ms", False)
    assert (
        client.put("/api/v1/readiness-bars?service=chat-api", json={"p99_1x_ms": 30}).status_code
        == 422
    )  # a second change names the version it read
    stale = client.put(
        "/api/v1/readiness-bars?service=chat-api", json={"p99_1x_ms": 30, "version": 7}
    )
    assert stale.status_code == 409
    assert_fields(
        client.put("/api/v1/readiness-bars?service=x", json={"p99_5x_ms": 0}), "p99_5x_ms"
    )
    assert_fields(client.put("/api/v1/readiness-bars", json={}), "service")
    assert_fields(client.put("/api/v1/readiness-bars?service=a%E2%80%AEb", json={}), "service")


# ---- canary analysis ---------------------------------------------------------------------------


def _samples(mean: float, n: int = 400, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [round(max(0.5, rng.gauss(mean, mean / 8)), 3) for _ in range(n)]


def _canary(client, release_id: int, baseline: bytes, canary: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/releases/{release_id}/canary",
        data={
            "baseline": (io.BytesIO(baseline), "baseline.csv"),
            "canary": (io.BytesIO(canary), "canary.csv"),
        },
        content_type="multipart/form-data",
    )


def _csv(values: list[float]) -> bytes:
    return "\n".join(str(v) for v in values).encode()


def test_the_ks_statistic_and_p_value_are_scipys_and_a_slower_canary_is_rolled_back(
    client, session
):
    import numpy

    release = make_release(session, guard_p99_ms=1000)
    baseline, canary = _samples(100, seed=1), _samples(112, n=300, seed=2)
    response = _canary(client, release.id, _csv(baseline), _csv(canary))
    assert response.status_code == 201, response.get_json()
    analysis = response.get_json()
    expected = ks_2samp(baseline, canary)
    assert analysis["ks_statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert analysis["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert analysis["baseline_p99_ms"] == pytest.approx(numpy.percentile(baseline, 99))
    assert analysis["canary_p99_ms"] == pytest.approx(numpy.percentile(canary, 99))
    assert (analysis["baseline_count"], analysis["canary_count"]) == (400, 300)
    assert analysis["verdict"] == "roll_back"
    assert "differ from the baseline" in analysis["reasons"][0]
    stored = client.get(f"/api/v1/releases/{release.id}").get_json()["canary"]
    assert stored == analysis
    chart = client.get(f"/releases/{release.id}/canary.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert b"<script" not in chart.data and b"canary" in chart.data


def test_a_canary_like_its_baseline_is_promoted_and_one_over_its_guardrail_is_not(client, session):
    release = make_release(session, guard_p99_ms=300, guard_error_rate=1)
    alike = _canary(client, release.id, _csv(_samples(100, seed=3)), _csv(_samples(100, seed=4)))
    assert alike.get_json()["verdict"] == "promote", alike.get_json()
    slow = _samples(100, seed=5)
    slow[-10:] = [900.0] * 10  # the tail over the 300 ms guardrail
    over = _canary(client, release.id, _csv(_samples(100, seed=3)), _csv(slow)).get_json()
    assert over["verdict"] == "roll_back"
    assert any("over the guardrail of 300 ms" in r for r in over["reasons"])
    assert count(session, "canary_analyses") == 1  # the second replaced the first


def test_an_error_column_gives_each_sides_error_rate_against_the_guardrail(client, session):
    release = make_release(session, guard_p99_ms=None, guard_error_rate=0.5)
    base = "latency_ms,status\n" + "\n".join(f"{v},200" for v in _samples(80, seed=6))
    values = _samples(80, seed=7)
    canary = "Latency_ms,Status\n" + "\n".join(
        f"{v},{503 if i % 50 == 0 else 200}" for i, v in enumerate(values)
    )
    analysis = _canary(client, release.id, base.encode(), canary.encode()).get_json()
    assert analysis["baseline_error_rate"] == 0 and analysis["canary_error_rate"] == 2.0
    assert analysis["verdict"] == "roll_back"
    assert any("error rate is 2.00 %" in r for r in analysis["reasons"])


@pytest.mark.parametrize(
    ("baseline", "canary", "field", "words"),
    [
        (b"1\n2\n3\n", _csv(_samples(50)), "baseline", "at least 20"),
        (_csv(_samples(50)), b"", "canary", "at least 20"),
        (_csv(_samples(50)), _csv(_samples(50)) + b"\nfast\n", "canary", "Line 401"),
        (_csv(_samples(50)), _csv(_samples(50)) + b"\n-3\n", "canary", "0 ms or more"),
        (_csv(_samples(50)), _csv(_samples(50)) + b"\nnan\n", "canary", "not a number"),
        (b"when,where\n1,2\n", _csv(_samples(50)), "baseline", "Line 1: no latency column"),
        (b"latency_ms,error\n" + b"5,maybe\n" * 30, _csv(_samples(50)), "baseline", "Line 2"),
        (b"\xff" + _csv(_samples(50)), _csv(_samples(50)), "baseline", "UTF-8"),
    ],
)
def test_bad_samples_are_refused_by_side_and_line_and_nothing_is_stored(
    client, session, baseline, canary, field, words
):
    release = make_release(session)
    response = _canary(client, release.id, baseline, canary)
    fields = assert_fields(response, field)
    assert words in fields[field][0], fields[field][0]
    assert count(session, "canary_analyses") == 0


def test_a_canary_needs_both_files_sent_as_files(client, session):
    release = make_release(session)
    missing = client.post(
        f"/api/v1/releases/{release.id}/canary",
        data={"baseline": (io.BytesIO(_csv(_samples(50))), "b.csv")},
        content_type="multipart/form-data",
    )
    assert_fields(missing, "canary")
    assert client.get(f"/releases/{release.id}/canary.svg").status_code == 404
    assert client.get(f"/releases/{release.id}/canary.svg?size=huge").status_code == 404


# ---- the page --------------------------------------------------------------------------------


def test_the_release_page_imports_a_tier_types_one_and_analyses_a_canary(client, session):
    release = make_release(session)
    url = f"/releases/{release.id}"
    imported = client.post(
        f"{url}/load-tests/import",
        data={"tier": "1x", "format": "wrk", "file": (io.BytesIO(WRK), "wrk.txt")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302, imported.get_data(as_text=True)[:500]
    refused = client.post(
        f"{url}/load-tests/import",
        data={"tier": "5x", "format": "wrk", "file": (io.BytesIO(b"nonsense"), "wrk.txt")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "run wrk with --latency" in refused.get_data(as_text=True)
    no_file = client.post(
        f"{url}/load-tests/import",
        data={"tier": "5x", "format": "wrk"},
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422 and "Choose the result file." in no_file.get_data(
        as_text=True
    )
    typed = client.post(
        f"{url}/load-tests/new",
        data={
            "tier": "10x",
            "rps": "900",
            "p50_ms": "20",
            "p95_ms": "",
            "p99_ms": "90,5",
            "error_rate": "0.1",
            "requests": "18000",
        },
    )
    assert typed.status_code == 302, typed.get_data(as_text=True)[:800]
    bad = client.post(f"{url}/load-tests/new", data={"tier": "", "rps": "fast"})
    assert bad.status_code == 422
    assert "Tier is required." in bad.get_data(as_text=True)
    analysed = client.post(
        f"{url}/canary",
        data={
            "baseline": (io.BytesIO(_csv(_samples(100, seed=8))), "b.csv"),
            "canary": (io.BytesIO(_csv(_samples(100, seed=9))), "c.csv"),
        },
        content_type="multipart/form-data",
    )
    assert analysed.status_code == 302, analysed.get_data(as_text=True)[:800]
    page = client.get(url).get_data(as_text=True)
    for words in (
        "1×",
        "10×",
        "90.5 ms",
        "p99 ≤ 150 ms",
        "errors ≤ 0.2 %",
        "Promote",
        "KS statistic",
    ):
        assert words in page, words
    assert count(session, "load_tests") == 2


def test_the_bars_page_saves_and_refuses(client, session):
    page = client.get("/releases/bars?service=chat-api")
    assert page.status_code == 200 and "the defaults" in page.get_data(as_text=True)
    saved = client.post(
        "/releases/bars?service=chat-api",
        data={"p99_1x_ms": "120", "p99_5x_ms": "250", "error_rate_10x": "0,1", "version": ""},
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:800]
    refused = client.post(
        "/releases/bars?service=chat-api",
        data={"p99_1x_ms": "0", "p99_5x_ms": "250", "error_rate_10x": "x", "version": "1"},
    )
    assert refused.status_code == 422
    assert client.get("/releases/bars").status_code == 400
    assert client.get("/api/v1/readiness-bars?service=chat-api").get_json()["p99_1x_ms"] == 120
