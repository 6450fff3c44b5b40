"""Hand-built RunResults for the report tests: the shapes a run can end in."""

from __future__ import annotations

from dataclasses import replace

from sinkbench.run.result import ExpectationResult, RunResult, RunStatus

SECRET_TOKEN = "s3cr3t-T0ken-do-not-print"


def _settings(url: str = "mock") -> dict:
    return {
        "sink": {
            "url": url,
            "method": "POST",
            "batch_mode": "ndjson",
            "max_retries": 3,
            "retry_delay": "200ms",
            "headers": {"Authorization": "[redacted]", "X-Tenant": "acme"},
        },
        "runtime": {"batch_length": 100, "poll_interval": "5ms", "offset_commit": "after_polling"},
        "source": {"kind": "synthetic", "count": 5000, "rate": 500},
        "endpoint": {"status": 200, "latency": "2ms",
                     "faults": [{"after": "3s", "until": "13s", "action": "status", "status": 503}]},
    }


def _timeline(seconds: int = 24, outage: range = range(3, 13)) -> list[dict]:
    rows = []
    for t in range(seconds):
        down = t in outage
        rows.append({"t": t, "delivered": 0 if down else 500, "requests": 6 if down else 5,
                     "retries": 6 if down else 0, "errors": 19 if down and t % 3 == 0 else 0,
                     "in_flight": 1})
    rows[3]["marks"] = ["fault 0 starts"]
    return rows


def _exp(metric: str, expression: str, observed: float | None, observed_text: str,
         passed: bool, detail: str) -> ExpectationResult:
    return ExpectationResult(metric, expression, observed, observed_text, passed, detail)


FAILING_EXPECTATIONS = [
    _exp("delivered", "== total", 4812, "4812", False, "delivered = 4812 (expected == total = 5000)"),
    _exp("lost", "== 0", 188, "188", False, "lost = 188 (expected == 0)"),
    _exp("duplicates", "== 0", 0, "0", True, "duplicates = 0 (expected == 0)"),
    _exp("retries", "<= 200", 112, "112", True, "retries = 112 (expected <= 200)"),
    _exp("latency.delivery", "p(95) < 2s", 2410.0, "2.41s", False, "p(95) = 2.41s (expected < 2s)"),
    _exp("latency.delivery", "max < 15s", 12010.0, "12s", True, "max = 12s (expected < 15s)"),
]


def failing_run() -> RunResult:
    return RunResult(
        scenario="outage-503",
        description="Endpoint returns 503 for 10 s in the middle of the run",
        file="scenarios/outage-503.toml",
        status=RunStatus.COMPLETED,
        passed=False,
        started_at="2026-11-26T12:00:00Z",
        duration=23.412,
        drain=4.2,
        settings=_settings(),
        totals={"total": 5000, "delivered": 4812, "failed": 188, "skipped": 0, "undelivered": 0,
                "lost": 188, "duplicates": 0, "requests": 612, "retries": 112, "bytes": 1234567,
                "message_attempts": 5000},
        latency={
            "request": {"count": 612, "min": 0.812, "p50": 3.1, "p90": 8.2, "p95": 12.5, "p99": 40.1,
                        "max": 2005.0, "avg": 6.2},
            "delivery": {"count": 4812, "min": 1.2, "p50": 150.0, "p90": 1800.0, "p95": 2410.0,
                         "p99": 9000.0, "max": 12010.0, "avg": 500.0},
        },
        status_codes={"503": 112, "200": 500},
        errors={"http 503 after 4 attempts": 188},
        timeline=_timeline(),
        expectations=list(FAILING_EXPECTATIONS),
        endpoint={"requests": 612, "by_status": {"200": 500, "503": 112}, "faults": {"0": 112},
                  "messages": 4812, "unique_messages": 4812, "duplicates": 0, "bytes": 1234567},
        warnings=["retry_delay (5s) is greater than max_retry_delay (2s); the two were swapped"],
        notes=[],
    )


def passing_run() -> RunResult:
    r = failing_run()
    return replace(
        r, scenario="steady", description="No faults", file="scenarios/steady.toml", passed=True,
        drain=None,
        totals={**r.totals, "delivered": 5000, "failed": 0, "lost": 0},
        errors={}, status_codes={"200": 1000},
        timeline=_timeline(10, outage=range(0)),
        expectations=[
            _exp("delivered", "== total", 5000, "5000", True, "delivered = 5000 (expected == total = 5000)"),
            _exp("lost", "== 0", 0, "0", True, "lost = 0 (expected == 0)"),
        ],
        warnings=[],
    )


def timeout_run() -> RunResult:
    r = failing_run()
    return replace(
        r, scenario="slow-drain", status=RunStatus.TIMEOUT, duration=30.0, passed=False,
        totals={**r.totals, "undelivered": 120},
        notes=["timeout after 30s: 120 messages still pending count as undelivered"],
        expectations=[_exp("lost", "== 0", 0, "0", True, "lost = 0 (expected == 0)")],
    )


def interrupted_run() -> RunResult:
    return replace(passing_run(), scenario="interrupted", status=RunStatus.INTERRUPTED, passed=False,
                   notes=["interrupted by SIGINT after 4.1s"])


def sink_not_opened_run() -> RunResult:
    r = failing_run()
    return replace(
        r, scenario="health-down", status=RunStatus.SINK_NOT_OPENED, passed=True, duration=0.05, drain=None,
        totals={**r.totals, "delivered": 0, "failed": 0, "undelivered": 5000, "lost": 5000, "requests": 4,
                "retries": 3, "bytes": 0},
        latency={"request": {"count": 4, "min": 1.0, "p50": 1.0, "p90": 1.1, "p95": 1.1, "p99": 1.1,
                             "max": 1.1, "avg": 1.0},
                 "delivery": {"count": 0, "min": None, "p50": None, "p90": None, "p95": None, "p99": None,
                              "max": None, "avg": None}},
        status_codes={"503": 4}, errors={}, timeline=[],
        expectations=[_exp("delivered", "== 0", 0, "0", True, "delivered = 0 (expected == 0)")],
        notes=["health check failed: HEAD http://127.0.0.1:43210/ answered 503 after 4 attempts"],
    )


def real_url_run() -> RunResult:
    """A sink pointed at a real URL: lost and duplicates cannot be known."""
    r = failing_run()
    return replace(
        r, scenario="real-endpoint", description="", file=None, passed=False,
        settings=_settings("https://api.example.com/ingest?token=[redacted]"),
        totals={**r.totals, "lost": None, "duplicates": None},
        endpoint=None,
        expectations=[
            _exp("lost", "== 0", None, "unknown", False,
                 "lost is unknown: the sink's url is not the embedded mock"),
            _exp("delivered", "== total", 4812, "4812", False, "delivered = 4812 (expected == total = 5000)"),
        ],
    )


def skipping_run() -> RunResult:
    """after_consuming, individual mode: 10 oversize messages, each polled again 343 times."""
    r = passing_run()
    return replace(
        r, scenario="oversize-repolled",
        totals={**r.totals, "delivered": 4990, "skipped": 10, "message_attempts": 8420},
        errors={"status 503": 804}, status_codes={"200": 4990, "503": 39},
        skipped={"oversize": 10}, skipped_attempts={"oversize": 3430},
    )


def no_expectations_run() -> RunResult:
    return replace(passing_run(), scenario="smoke", expectations=[], passed=True)


ALL_RUNS = {
    "failing": failing_run,
    "passing": passing_run,
    "timeout": timeout_run,
    "interrupted": interrupted_run,
    "sink_not_opened": sink_not_opened_run,
    "real_url": real_url_run,
    "skipping": skipping_run,
    "no_expectations": no_expectations_run,
}
