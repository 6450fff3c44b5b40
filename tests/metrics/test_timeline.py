import pytest

from sinkbench.metrics import Timeline

START = 1000.0


def row(t, delivered=0, requests=0, retries=0, errors=0, in_flight=0, **extra):
    return {"t": t, "delivered": delivered, "requests": requests, "retries": retries,
            "errors": errors, "in_flight": in_flight, **extra}


def test_nothing_seen_means_no_rows():
    tl = Timeline(START)
    assert tl.rows() == []
    assert tl.seconds == 0


def test_counts_land_in_their_second():
    tl = Timeline(START)
    tl.add(START + 0.1, delivered=10, requests=1)
    tl.add(START + 0.9, delivered=5, requests=1, retries=1)
    tl.add(START + 1.0, errors=2, requests=1)
    assert tl.rows() == [row(0, delivered=15, requests=2, retries=1), row(1, requests=1, errors=2)]


def test_empty_seconds_are_zero_rows_and_carry_in_flight():
    tl = Timeline(START)
    tl.add(START + 0.5, delivered=1, in_flight=4)
    tl.add(START + 3.2, delivered=2)
    assert tl.rows() == [
        row(0, delivered=1, in_flight=4),
        row(1, in_flight=4),
        row(2, in_flight=4),
        row(3, delivered=2, in_flight=4),
    ]


def test_last_in_flight_sample_of_a_second_wins():
    tl = Timeline(START)
    tl.sample_in_flight(START + 0.1, 8)
    tl.sample_in_flight(START + 0.7, 3)
    tl.add(START + 1.5, in_flight=0)
    tl.add(START + 2.5, requests=1)
    assert [r["in_flight"] for r in tl.rows()] == [3, 0, 0]


def test_time_before_start_counts_in_second_zero():
    tl = Timeline(START)
    tl.add(START - 5, delivered=1)
    assert tl.rows() == [row(0, delivered=1)]


def test_marks_only_where_there_are_some():
    tl = Timeline(START)
    tl.add(START + 0.2, delivered=1)
    tl.mark(START + 2.5, "fault window start")
    tl.mark(START + 2.9, "settings changed")
    rows = tl.rows()
    assert [r.get("marks") for r in rows] == [None, None, ["fault window start", "settings changed"]]
    assert "marks" not in rows[0]
    rows[2]["marks"].append("mutated")  # rows are copies
    assert tl.rows()[2]["marks"] == ["fault window start", "settings changed"]


def test_last_window_carries_in_flight_from_before_it():
    tl = Timeline(START)
    tl.add(START, in_flight=7)
    for s in range(1, 10):
        tl.add(START + s, delivered=s)
    window = tl.rows(last=3)
    assert [r["t"] for r in window] == [7, 8, 9]
    assert all(r["in_flight"] == 7 for r in window)
    assert tl.rows(last=100) == tl.rows()
    assert tl.rows(last=0) == []


def test_a_long_run_is_one_small_row_per_second():
    tl = Timeline(0.0)
    for s in range(3 * 3600):
        tl.add(s + 0.5, delivered=100, requests=1)
    assert tl.seconds == 3 * 3600
    assert tl.totals() == {"delivered": 3 * 3600 * 100, "requests": 3 * 3600, "retries": 0, "errors": 0}


def test_a_wall_clock_time_on_a_monotonic_timeline_is_an_error():
    tl = Timeline(12.0)
    with pytest.raises(ValueError, match="max_seconds"):
        tl.add(1_710_064_800.0, delivered=1)
    assert tl.seconds == 0


def test_max_seconds_can_be_raised():
    tl = Timeline(0.0, max_seconds=10)
    tl.add(10.5, delivered=1)
    with pytest.raises(ValueError):
        tl.add(11.0, delivered=1)
