import pytest

from sinkbench.report.sparkline import resample, sparkline, timeline_picture


def test_levels():
    assert sparkline([0, 1, 4, 8]) == " ▁▄█"
    assert sparkline([0.001, 100]) == "▁█"
    assert sparkline([0, 0]) == "  "
    assert sparkline([]) == ""
    assert sparkline([5, 10], top=20) == "▂▄"


def test_resample_to_width():
    values, step = resample(list(range(120)), 60)
    assert step == 2 and len(values) == 60 and values[0] == 0.5
    assert len(sparkline(list(range(1000)), width=40)) == 40
    with pytest.raises(ValueError):
        resample([1], 0)


def test_picture_shows_retries_and_errors_only_when_there_are_some():
    rows = [{"t": t, "delivered": 10, "requests": 1, "retries": 0, "errors": 0, "in_flight": 1} for t in range(8)]
    lines = timeline_picture(rows)
    assert lines == ["delivered ████████  peak 10 message-attempts/s", "          0s    8s"]
    rows[2]["retries"] = 4
    assert timeline_picture(rows)[1] == "retries     █       peak 4 requests/s"
    rows[3]["errors"] = 1
    assert timeline_picture(rows)[2:] == ["failed/skipped    █      peak 1 message-attempts/s",
                                          "               0s    8s"]
    assert timeline_picture([]) == []


def test_picture_of_a_long_run_says_how_many_seconds_a_column_is():
    rows = [{"t": t, "delivered": t % 7} for t in range(600)]
    lines = timeline_picture(rows, width=60)
    assert len(lines[0].split()[1]) <= 60
    assert lines[-1].endswith("600s  (1 column = 10 s)")
