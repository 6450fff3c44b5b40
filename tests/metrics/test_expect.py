from dataclasses import dataclass, field

import pytest

from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.metrics import (
    Expectation,
    Histogram,
    Outcome,
    check_known,
    evaluate,
    format_count,
    format_ms,
    format_seconds,
    metric_kind,
    parse_expectations,
)


def where(metric, index):
    return Where("scenario.toml", 30, f"expect.{metric}" if index is None else f"expect.{metric}[{index}]")


def parse(table):
    return parse_expectations(table, where=where)


def errors_of(table) -> list[InputError]:
    with pytest.raises(InputErrors) as info:
        parse(table)
    return info.value.errors


def one_error(metric, spec) -> str:
    errs = errors_of({metric: spec})
    assert len(errs) == 1
    return errs[0].message


@dataclass
class FakeMetrics:
    counts: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)
    distributions: dict = field(default_factory=dict)

    def count(self, name):
        return self.counts.get(name)

    def duration(self, name):
        return self.durations.get(name)

    def distribution(self, name):
        return self.distributions.get(name)


def histogram(*values) -> Histogram:
    h = Histogram()
    h.extend(values)
    return h


def judge(metric, expression, metrics, **kw) -> Outcome:
    (outcome,) = evaluate(parse({metric: expression}), metrics, **kw)
    return outcome


# -- parsing: the accepted grammar --------------------------------------------------

def test_the_design_example_parses():
    table = {
        "delivered": "== total",
        "lost": "== 0",
        "retries": "<= 200",
        "status.503": "> 0",
        "latency.delivery": ["p(95) < 2s", "max < 15s"],
        "duration": "< 60s",
    }
    assert parse(table) == [
        Expectation("delivered", "== total", None, "==", "total"),
        Expectation("lost", "== 0", None, "==", 0.0),
        Expectation("retries", "<= 200", None, "<=", 200.0),
        Expectation("status.503", "> 0", None, ">", 0.0),
        Expectation("latency.delivery", "p(95) < 2s", "p(95)", "<", 2000.0),
        Expectation("latency.delivery", "max < 15s", "max", "<", 15000.0),
        Expectation("duration", "< 60s", None, "<", 60.0),
    ]


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_every_operator(op):
    (e,) = parse({"retries": f"{op} 3"})
    assert (e.op, e.value) == (op, 3.0)


@pytest.mark.parametrize("expression, aggregation, percentile", [
    ("min < 1s", "min", None),
    ("max < 1s", "max", None),
    ("avg < 1s", "avg", None),
    ("med < 1s", "med", 50.0),
    ("p(50) < 1s", "p(50)", 50.0),
    ("p(99.9) < 1s", "p(99.9)", 99.9),
    ("p(100) < 1s", "p(100)", 100.0),
    ("p( 90 ) < 1s", "p(90)", 90.0),
])
def test_every_aggregation(expression, aggregation, percentile):
    (e,) = parse({"latency.request": expression})
    assert (e.aggregation, e.percentile, e.value) == (aggregation, percentile, 1000.0)


@pytest.mark.parametrize("metric, expression, value", [
    ("latency.delivery", "p(95) < 2s", 2000.0),
    ("latency.delivery", "p(95) < 150ms", 150.0),
    ("latency.delivery", "p(95) < 1.5s", 1500.0),
    ("latency.delivery", "p(95) < 250", 250.0),          # bare number: milliseconds
    ("latency.delivery", "p(95) < 0.5", 0.5),
    ("latency.delivery", "p(95) < 500us", 0.5),
    ("duration", "< 60s", 60.0),
    ("duration", "< 2m", 120.0),
    ("duration", "< 1m 30s", 90.0),
    ("duration", "< 90", 90.0),                           # bare number: seconds
    ("drain", "<= 1500ms", 1.5),
    ("drain", "<= .5s", 0.5),
    ("bytes", "> 1e3", 1000.0),
    ("retries", "<= 2.5", 2.5),
    ("status.429", ">= 1", 1.0),
    ("total", "== 5000", 5000.0),
])
def test_values_convert_to_the_metric_unit(metric, expression, value):
    (e,) = parse({metric: expression})
    assert e.value == pytest.approx(value)


def test_whitespace_is_optional_and_expression_kept_as_written():
    (e,) = parse({"latency.request": "  p(95)<2s "})
    assert (e.expression, e.aggregation, e.op, e.value) == ("  p(95)<2s ", "p(95)", "<", 2000.0)


@pytest.mark.parametrize("metric", ["total", "delivered", "failed", "skipped", "lost", "duplicates",
                                    "requests", "retries", "bytes", "status.100", "status.599"])
def test_every_count_metric_takes_total(metric):
    (e,) = parse({metric: "<= total"})
    assert e.value == "total" and e.kind == "count"


def test_a_count_may_have_a_list():
    assert [e.value for e in parse({"retries": ["> 0", "< 10"]})] == [0.0, 10.0]


def test_unquoted_dotted_keys_are_flattened():
    # latency.delivery = "..." without quotes parses as a nested TOML table.
    table = {"latency": {"delivery": "p(95) < 2s"}, "status": {"503": "> 0"}}
    assert [(e.metric, e.kind) for e in parse(table)] == [
        ("latency.delivery", "distribution"), ("status.503", "count")]


def test_where_is_kept_but_not_compared():
    first, second = parse({"latency.delivery": ["p(95) < 2s", "max < 15s"]})
    assert first.where == where("latency.delivery", 0)
    assert second.where.key == "expect.latency.delivery[1]"
    assert first == Expectation("latency.delivery", "p(95) < 2s", "p(95)", "<", 2000.0)


def test_metric_kinds():
    assert metric_kind("lost") == "count"
    assert metric_kind("status.204") == "count"
    assert metric_kind("drain") == "duration"
    assert metric_kind("latency.request") == "distribution"
    for name in ("status.99", "status.600", "status.0503", "latency", "errors"):
        assert metric_kind(name) is None


def test_an_empty_table_is_no_expectations():
    assert parse({}) == []


# -- parsing: every bad expression ---------------------------------------------------

@pytest.mark.parametrize("metric, spec, fragments", [
    # unknown metrics, with suggestions
    ("deliverd", "== total", ['unknown metric "deliverd"', "did you mean delivered"]),
    ("latency.deliver", "max < 1s", ["did you mean latency.delivery"]),
    ("latency", "p(95) < 1s", ["latency.delivery", "latency.request"]),
    ("errors", "== 0", ['unknown metric "errors"', "did you mean failed"]),
    ("status_503", "> 0", ["did you mean status.503"]),
    ("status.999", "> 0", ["status.<code>", "100..599"]),
    ("status.5xx", "> 0", ["status.<code>", "100..599"]),
    ("status.0503", "> 0", ["three-digit"]),
    # operators
    ("failed", "= 0", ['bad operator "="', 'did you mean "=="']),
    ("failed", "=< 0", ['bad operator "=<"', 'did you mean "<="']),
    ("failed", "=> 0", ['did you mean ">="']),
    ("failed", "<> 0", ['did you mean "!="']),
    ("failed", "<<= 0", ['bad operator "<<="', "< <= > >= == !="]),
    ("failed", "0", ["missing operator"]),
    ("latency.request", "p(95) 2s", ["missing operator"]),
    # values
    ("requests", "==", ['missing value after "=="']),
    ("latency.request", "p(95) <", ["missing value"]),
    ("requests", "== lots", ['cannot read the value "lots"', 'a number or "total"']),
    ("duration", "< soon", ['cannot read the value "soon"', "number of seconds"]),
    ("latency.request", "max < fast", ['cannot read the value "fast"', "milliseconds"]),
    ("duration", "< 60x", ['unknown unit "x"']),
    ("latency.request", "max < 2s extra", ['cannot read the value "2s extra"']),
    ("bytes", "> 2s", ['bytes is a count, but "2s" is a duration']),
    ("duration", "< total", ['"total" only compares with counts', "duration"]),
    ("latency.delivery", "max < total", ['"total" only compares with counts', "latency.delivery"]),
    # aggregations
    ("retries", "p(95) <= 200", ["retries is a count: it takes no aggregation", "p(95)"]),
    ("duration", "max < 60s", ["duration is a duration: it takes no aggregation"]),
    ("skipped", "skipped == 0", ["leave out the metric name"]),
    ("skipped", "foo == 0", ['unexpected "foo" before the operator']),
    ("latency.delivery", "< 15s", ["missing aggregation", "min, max, avg, med, p(N)"]),
    ("latency.delivery", "p95 < 2s", ['unknown aggregation "p95"', 'did you mean "p(95)"']),
    ("latency.delivery", "P(99) < 2s", ['did you mean "p(99)"']),
    ("latency.delivery", "p(95 < 2s", ['did you mean "p(95)"']),
    ("latency.delivery", "mean < 2s", ['did you mean "avg"']),
    ("latency.delivery", "median < 2s", ['did you mean "med"']),
    ("latency.delivery", "MAX < 2s", ['did you mean "max"']),
    ("latency.delivery", "stddev < 2s", ['unknown aggregation "stddev"']),
    ("latency.delivery", "p(0) < 2s", ['bad percentile "p(0)"', "0 < N <= 100"]),
    ("latency.delivery", "p(100.5) < 2s", ['bad percentile "p(100.5)"']),
    ("latency.delivery", "p(-5) < 2s", ['bad percentile']),
    ("latency.delivery", "p() < 2s", ['bad percentile "p()"']),
    ("latency.delivery", "p(abc) < 2s", ['bad percentile "p(abc)"']),
    # shapes
    ("drain", "", ["empty expression"]),
    ("drain", "   ", ["empty expression"]),
    ("lost", 0, ['expected a string such as "== 0"', "got the number 0"]),
    ("retries", 5, ['"== 5"']),
    ("duration", 60, ['expected a string such as "< 60s"', "got the number 60"]),
    ("latency.request", 2.5, ['"p(95) < 2s"', "a list of strings"]),
    ("lost", True, ["got the boolean true"]),
    ("latency.request", [], ["empty list"]),
])
def test_bad_expressions_name_the_metric_and_the_problem(metric, spec, fragments):
    message = one_error(metric, spec)
    assert metric.split(".")[0] in message
    for fragment in fragments:
        assert fragment in message, message


def test_bad_list_items_are_located_by_index():
    errs = errors_of({"latency.delivery": ["p(95) < 2s", 3, "p95 < 1s", ["max < 1s"]]})
    assert [e.where.key for e in errs] == [
        "expect.latency.delivery[1]", "expect.latency.delivery[2]", "expect.latency.delivery[3]"]
    assert errs[0].message.startswith("latency.delivery[1]: expected a string")
    assert errs[1].message.startswith('latency.delivery[2] "p95 < 1s": unknown aggregation')
    assert "nested list" in errs[2].message


def test_every_bad_entry_is_reported_at_once():
    errs = errors_of({"lost": "= 0", "delivered": "== total", "deliverd": "> 0", "drain": 5})
    assert [e.where.key for e in errs] == ["expect.lost", "expect.deliverd", "expect.drain"]
    assert all(e.where.file == "scenario.toml" and e.where.line == 30 for e in errs)
    assert str(errs[0]).startswith("scenario.toml:30: key 'expect.lost': lost \"= 0\": bad operator")


# -- check_known ------------------------------------------------------------------------

def test_check_known_flags_unmeasurable_metrics_with_the_reason():
    exps = parse({"lost": "== 0", "duplicates": "== 0", "retries": "< 5"})
    errs = check_known(exps, {"lost": "the sink's url is not the embedded mock",
                              "duplicates": "the sink's url is not the embedded mock"})
    assert [e.where.key for e in errs] == ["expect.lost", "expect.duplicates"]
    assert errs[0].message == ('lost "== 0": lost cannot be measured in this run: '
                               "the sink's url is not the embedded mock")
    assert all(isinstance(e, InputError) for e in errs)


def test_check_known_accepts_a_plain_set_and_checks_total():
    exps = parse({"delivered": "== total", "failed": "== 0"})
    assert check_known(exps, set()) == []
    (err,) = check_known(exps, {"total"})
    assert err.message == 'delivered "== total": total cannot be measured in this run'


# -- evaluate -----------------------------------------------------------------------

class ExactSample:
    """A DistributionView that is not a Histogram: exact nearest-rank values."""

    def __init__(self, *values):
        self.values = sorted(values)

    @property
    def count(self):
        return len(self.values)

    @property
    def min(self):
        return self.values[0] if self.values else None

    @property
    def max(self):
        return self.values[-1] if self.values else None

    @property
    def mean(self):
        return sum(self.values) / len(self.values) if self.values else None

    def percentile(self, p):
        if not self.values:
            return None
        rank = max(1, -(-p * len(self.values) // 100))
        return self.values[int(rank) - 1]


LATENCY = ExactSample(0.4, 3.0, 812.0, 1900.0, 20_000.0)
METRICS = FakeMetrics(
    counts={"total": 5000, "delivered": 5000, "failed": 0, "retries": 12, "status.503": 7, "bytes": 2.5},
    durations={"duration": 12.44, "drain": 0.85},
    distributions={"latency.delivery": LATENCY, "latency.request": ExactSample()},
)


@pytest.mark.parametrize("op, passing, failing", [
    ("<", "13", "12"),
    ("<=", "12", "11"),
    (">", "11", "12"),
    (">=", "12", "13"),
    ("==", "12", "11"),
    ("!=", "11", "12"),
])
def test_every_operator_passes_and_fails(op, passing, failing):
    assert judge("retries", f"{op} {passing}", METRICS).passed
    assert not judge("retries", f"{op} {failing}", METRICS).passed


@pytest.mark.parametrize("expression, observed, passed, detail", [
    ("p(95) < 2s", 20_000.0, False, "p(95) = 20s (expected < 2s)"),
    ("p(60) < 2s", 812.0, True, "p(60) = 812ms (expected < 2s)"),
    ("med < 10ms", 812.0, False, "med = 812ms (expected < 10ms)"),
    ("max <= 20s", 20_000.0, True, "max = 20s (expected <= 20s)"),
    ("min < 1", 0.4, True, "min = 400µs (expected < 1ms)"),
    ("avg > 1.5s", 4543.08, True, "avg = 4.54s (expected > 1.5s)"),
    ("p(100) == 20s", 20_000.0, True, "p(100) = 20s (expected == 20s)"),
])
def test_every_aggregation_evaluates(expression, observed, passed, detail):
    outcome = judge("latency.delivery", expression, METRICS)
    assert outcome.observed == pytest.approx(observed, rel=0.005)
    assert (outcome.passed, outcome.detail) == (passed, detail)


def test_counts_and_total():
    ok = judge("delivered", "== total", METRICS)
    assert (ok.passed, ok.observed, ok.detail) == (True, 5000, "delivered = 5000 (expected == total = 5000)")
    short = judge("delivered", "== total", FakeMetrics(counts={"total": 5000, "delivered": 4990}))
    assert not short.passed
    assert short.detail == "delivered = 4990 (expected == total = 5000)"
    assert judge("status.503", "> 0", METRICS).detail == "status.503 = 7 (expected > 0)"
    assert judge("bytes", "> 2", METRICS).detail == "bytes = 2.5 (expected > 2)"


def test_durations_in_seconds():
    outcome = judge("duration", "< 60s", METRICS)
    assert (outcome.passed, outcome.observed, outcome.detail) == (True, 12.44, "duration = 12.4s (expected < 60s)")
    drain = judge("drain", "< 500ms", METRICS)
    assert (drain.passed, drain.detail) == (False, "drain = 850ms (expected < 500ms)")
    assert judge("drain", "< 1", METRICS).detail == "drain = 850ms (expected < 1s)"


def test_a_histogram_is_a_distribution_view():
    metrics = FakeMetrics(distributions={"latency.request": histogram(1.0, 2.0, 3.0, 400.0)})
    outcome = judge("latency.request", "p(75) < 5ms", metrics)
    assert outcome.passed and outcome.observed == pytest.approx(3.0, rel=0.005)
    assert outcome.detail.startswith("p(75) = ") and outcome.detail.endswith("ms (expected < 5ms)")
    assert judge("latency.request", "max < 400", metrics).detail == "max = 400ms (expected < 400ms)"
    assert not judge("latency.request", "max < 400", metrics).passed
    assert judge("latency.request", "avg == 101.5", metrics).passed


def test_no_data_fails():
    outcome = judge("latency.request", "p(99) < 1s", METRICS)
    assert (outcome.passed, outcome.observed) == (False, None)
    assert outcome.detail.startswith("p(99): no data")
    # Even an expectation that any value would meet: nothing was measured.
    assert not judge("latency.request", "min >= 0", METRICS).passed


@pytest.mark.parametrize("metric, expression, kw, detail", [
    ("lost", "== 0", {"unknown_reasons": {"lost": "the endpoint is not the mock"}},
     "lost is unknown: the endpoint is not the mock"),
    ("duplicates", "== 0", {}, "duplicates is unknown: not measured in this run"),
    ("duration", "< 1s", {}, None),
    ("latency.request", "max < 1s", {}, None),
])
def test_unknown_metrics_fail(metric, expression, kw, detail):
    outcome = judge(metric, expression, FakeMetrics(), **kw)
    assert (outcome.passed, outcome.observed) == (False, None)
    assert outcome.detail == (detail or f"{metric} is unknown: not measured in this run")


def test_unknown_total_fails():
    outcome = judge("delivered", "== total", FakeMetrics(counts={"delivered": 3}))
    assert (outcome.passed, outcome.detail) == (False, "total is unknown: not measured in this run")


def test_evaluate_keeps_order_and_expectations():
    exps = parse({"retries": ["< 5", "> 5"], "lost": "== 0"})
    outcomes = evaluate(exps, METRICS)
    assert [o.expectation for o in outcomes] == exps
    assert [o.passed for o in outcomes] == [False, True, False]


# -- formatting -------------------------------------------------------------------------

@pytest.mark.parametrize("ms, text", [
    (0, "0ms"), (0.0004, "0.4µs"), (0.4123, "412µs"), (0.9996, "1ms"), (4.123, "4.12ms"),
    (4.0, "4ms"), (41.23, "41.2ms"), (812.4, "812ms"), (999.7, "1s"), (1500, "1.5s"),
    (75_300, "75.3s"), (3_600_000, "3600s"), (-2.5, "-2.5ms"),
])
def test_format_ms(ms, text):
    assert format_ms(ms) == text


def test_format_seconds_and_counts():
    assert format_seconds(0) == "0s"
    assert format_seconds(0.85) == "850ms"
    assert format_seconds(12.44) == "12.4s"
    assert format_count(5000.0) == "5000"
    assert format_count(7) == "7"
    assert format_count(2.5) == "2.5"
