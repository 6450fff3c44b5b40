import io

import pytest

from sinkbench.report import ProgressLine, progress_text


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def snap(elapsed, delivered, total=5000, **extra):
    return {"elapsed": elapsed, "delivered": delivered, "total": total, "rate": 500.0, "retries": 3,
            "errors": 1, "in_flight": 2, "requests": 40, **extra}


def test_text_without_and_with_bar():
    assert progress_text(snap(12.34, 2500)) == \
        "12.3s  delivered 2,500/5,000  50%  500/s  requests 40  retries 3  errors 1  in flight 2"
    with_bar = progress_text(snap(12.34, 2500), bar=True)
    assert "delivered 2,500/5,000  50% ▕██████████          ▏  500/s" in with_bar
    assert "▌" in progress_text(snap(1, 2625), bar=True)      # 10.5 of 20 cells


def test_text_unknown_total_and_long_runs():
    assert progress_text(snap(75.0, 10, total=None)).startswith("1m15s  delivered 10  500/s")
    assert progress_text(snap(3723.0, 10)).startswith("1h02m03s")
    assert progress_text({}) == ""


def test_tty_rewrites_one_line_and_throttles():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=True, now=clock, width=200)
    p.update(snap(0.0, 0))
    assert out.getvalue().startswith("\r 0.0s  delivered 0/5,000")
    assert out.getvalue().endswith("\x1b[K")
    clock.t += 0.05
    p.update(snap(0.05, 10))           # too soon: held back
    assert out.getvalue().count("\r") == 1
    clock.t += 0.06
    p.update(snap(0.11, 20))
    assert out.getvalue().count("\r") == 2
    assert "delivered 20/5,000" in out.getvalue()
    assert "\n" not in out.getvalue()


def test_tty_at_most_ten_redraws_a_second():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=True, now=clock, width=200)
    for i in range(1000):              # an update every millisecond for one second
        p.update(snap(i / 1000, i))
        clock.t += 0.001
    assert out.getvalue().count("\r") <= 10


def test_tty_finish_draws_the_latest_and_ends_the_line_once():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=True, now=clock, width=200)
    p.update(snap(0.0, 0))
    clock.t += 0.01
    p.update(snap(0.01, 5000))         # throttled, but finish shows it
    p.finish()
    p.finish()
    text = out.getvalue()
    assert text.endswith("\x1b[K\n")
    assert text.count("\n") == 1
    assert "delivered 5,000/5,000 100%" in text.splitlines()[-1].split("\r")[-1]


def test_tty_finish_without_updates_writes_nothing():
    out = io.StringIO()
    ProgressLine(out, tty=True, now=Clock()).finish()
    assert out.getvalue() == ""


def test_tty_line_is_cut_to_the_terminal_width():
    out = io.StringIO()
    p = ProgressLine(out, tty=True, now=Clock(), width=30)
    p.update(snap(1.0, 100))
    line = out.getvalue()
    assert line.startswith("\r") and line.endswith("\x1b[K")
    assert len(line[1:-3]) == 29


def test_tty_width_of_a_stream_without_a_terminal_defaults_to_80():
    out = io.StringIO()
    p = ProgressLine(out, tty=True, now=Clock())
    p.update(snap(1.0, 100, total=10**12, rate=123456789.0, requests=10**12, retries=10**12))
    assert len(out.getvalue()) == 1 + 79 + 3


def test_plain_lines_every_interval():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=False, interval_s=5.0, now=clock)
    for second in range(13):
        p.update(snap(float(second), second * 500))
        clock.t += 1.0
    p.finish()
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["5.0s", "10.0s"]
    assert lines[0] == " 5.0s  delivered 2,500/5,000  50%  500/s  requests 40  retries 3  errors 1  in flight 2"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_short_run_prints_no_plain_lines():
    out, clock = io.StringIO(), Clock()
    with ProgressLine(out, tty=False, now=clock) as p:
        p.update(snap(0.5, 10))
        clock.t += 2
        p.update(snap(2.5, 5000))
    assert out.getvalue() == ""


def test_bad_interval():
    with pytest.raises(ValueError):
        ProgressLine(io.StringIO(), tty=False, interval_s=0)
