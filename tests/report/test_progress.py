import io
import os

import pytest

from sinkbench.report import ProgressLine, final_progress, progress_statement, progress_text

from .results import failing_run, real_url_run


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def snap(elapsed, delivered, total=5000, **extra):
    return {"elapsed": elapsed, "delivered": delivered, "total": total, "rate": 500.0, "retries": 3,
            "errors": 1, "in_flight": 2, "requests": 40, **extra}


def test_text_without_and_with_bar():
    assert progress_text(snap(12.34, 2500)) == ("12.3s  delivered 2,500/5,000  50%  500/s  "
                                                "failed/skipped 1 message-attempt  requests 40  retries 3  in flight 2")
    assert "failed/skipped 804 message-attempts" in progress_text(snap(1, 1, errors=804))
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


def test_tty_finish_draws_the_final_figures_and_ends_the_line_once():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=True, now=clock, width=300)
    p.update(snap(4.8, 3810, total=5000))     # the last snapshot, taken before the run ended
    p.finish(failing_run())
    p.finish(failing_run())
    p.update(snap(5.0, 4000))                 # too late: the line is finished
    text = out.getvalue()
    assert text.endswith("\x1b[K\n") and text.count("\n") == 1
    last = text.splitlines()[-1].split("\r")[-1]
    assert last.startswith("23.4s  delivered 4,812/5,000  96% ")
    assert last.endswith("lost 188  duplicates 0  failed/skipped 188 message-attempts  requests 612  retries 112\x1b[K")
    assert "3,810" not in last


def test_tty_finish_without_a_result_erases_the_line():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=True, now=clock, width=200)
    p.update(snap(4.8, 3810))
    p.finish()
    assert out.getvalue().endswith("\x1b[K\r\x1b[K")      # drawn, then erased: nothing stale stays
    assert "\n" not in out.getvalue()


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


def test_a_narrow_terminal_drops_the_bar_then_whole_figures_never_cuts_one():
    out = io.StringIO()
    p = ProgressLine(out, tty=True, now=Clock(), width=60)
    p.update(snap(1.0, 100))
    assert out.getvalue() == "\r 1.0s  delivered 100/5,000   2%  500/s\x1b[K"


def test_tty_width_of_a_stream_without_a_terminal_defaults_to_80():
    out = io.StringIO()
    p = ProgressLine(out, tty=True, now=Clock())
    p.update(snap(1.0, 100, total=10**3, rate=123456789.0, requests=10**12, retries=10**12))
    text = out.getvalue()[1:-3]
    assert text == " 1.0s  delivered 100/1,000  10%  123,456,789/s"     # 80 columns: no room for the bar
    assert len(text) <= 79 and len(text + "  failed/skipped 1 message-attempt") > 79


def test_tty_of_zero_columns_is_taken_as_80(monkeypatch):
    # `script` and some CI runners give a pseudo-terminal that reports 0 columns: the line must not be cut to nothing.
    monkeypatch.setattr("os.get_terminal_size", lambda fd: os.terminal_size((0, 0)))
    out = io.StringIO()
    out.fileno = lambda: 2
    p = ProgressLine(out, tty=True, now=Clock())
    p.update(snap(1.0, 100))
    assert out.getvalue().startswith("\r 1.0s  delivered 100/5,000")


def test_plain_lines_every_interval():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=False, interval_s=5.0, now=clock)
    for second in range(13):
        p.update(snap(float(second), second * 500))
        clock.t += 1.0
    p.finish()
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["progress at 5.0s", "progress at 10.0s"]
    assert lines[0] == ("progress at 5.0s: 2,500 of 5,000 messages delivered (50%), 500/s; 40 requests, "
                        "3 of them retries; 1 message-attempt failed or skipped; 2 messages in flight")
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_plain_lines_end_with_the_final_figures_never_a_stale_one():
    # The issue: stderr to a file, a ~5 s run; the only line said "delivered 3,810/4,000" and the summary 4,000.
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=False, interval_s=5.0, now=clock)
    clock.t += 5.0
    p.update(snap(4.8, 3810, total=4000))
    p.finish(failing_run())
    p.finish(failing_run())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("progress at 4.8s: 3,810 of 4,000 messages delivered (95%)")
    assert lines[1:] == ["finished after 23.4s: 4,812 of 5,000 messages delivered (96%); 188 lost, 0 duplicates; "
                         "612 requests, 112 of them retries; 188 message-attempts failed or skipped"]


def test_plain_lines_without_a_result_end_with_nothing_more():
    out, clock = io.StringIO(), Clock()
    p = ProgressLine(out, tty=False, interval_s=5.0, now=clock)
    clock.t += 5.0
    p.update(snap(4.8, 3810, total=4000))
    p.finish()
    assert out.getvalue().count("\n") == 1 and out.getvalue().startswith("progress at 4.8s")


def test_final_figures_come_from_the_result_and_leave_unknowns_out():
    final = final_progress(real_url_run())
    assert final == {"elapsed": 23.412, "delivered": 4812, "total": 5000, "requests": 612, "retries": 112,
                     "errors": 188}
    assert progress_statement(final, final=True) == (
        "finished after 23.4s: 4,812 of 5,000 messages delivered (96%); 612 requests, 112 of them retries; "
        "188 message-attempts failed or skipped")


def test_live_lost_and_duplicates_are_shown_when_the_snapshot_has_them():
    assert "lost 3  duplicates 0  failed/skipped" in progress_text(snap(1.0, 10, lost=3, duplicates=0))
    assert "; 3 lost, 1 duplicate; " in progress_statement(snap(1.0, 10, lost=3, duplicates=1))


def test_short_run_prints_no_plain_lines():
    out, clock = io.StringIO(), Clock()
    with ProgressLine(out, tty=False, now=clock) as p:
        p.update(snap(0.5, 10))
        clock.t += 2
        p.update(snap(2.5, 5000))
        p.finish(failing_run())        # no periodic line: no closing line either
    assert out.getvalue() == ""


def test_bad_interval():
    with pytest.raises(ValueError):
        ProgressLine(io.StringIO(), tty=False, interval_s=0)
