"""The progress bar's time left: a countdown that moves between reports, from measured rates, never rising."""

from __future__ import annotations

import itertools
import re
import time

import pytest

import ui.state
from pipeline.countdown import Part, Rates
from ui.format import time_left
from ui.state import eta_bar


class Shown:
    """A container whose progress bar records every text it is given."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.emptied = False

    def progress(self, _done: float, text: str) -> Shown:
        self.texts.append(text)
        return self

    def empty(self) -> None:
        self.emptied = True


def seconds_left(text: str) -> int | None:
    found = re.search(r"about (?:(\d+) min )?(\d+) s left", text)
    return None if found is None else int(found.group(1) or 0) * 60 + int(found.group(2))


def test_the_bar_counts_down_between_reports_from_the_measured_rates(monkeypatch):
    monkeypatch.setattr(ui.state, "TICK_S", 0.1)
    rates = Rates()
    rates.record("svc", 1_000, 2.0)
    rates.record("knn", 1_000, 1.0)
    bar = Shown()
    with eta_bar(bar, "Comparing…", [Part("svc", 1_000), Part("knn", 1_000)], rates) as report:
        report(0.0, "SVC (1 of 2)")
        time.sleep(1.3)  # no report: the bar moves on its own
        said = [seconds_left(text) for text in bar.texts if text.startswith("SVC")]
    assert said[0] == 3, "2 s for SVC and 1 s for k-NN, known before either runs"
    assert said[-1] == 2 and all(b <= a for a, b in itertools.pairwise(said)), "down, between reports"
    assert bar.emptied


def test_a_stopped_block_stops_the_countdown(monkeypatch):
    monkeypatch.setattr(ui.state, "TICK_S", 0.05)
    bar = Shown()
    with pytest.raises(KeyboardInterrupt), eta_bar(bar, "Profiling…") as report:
        report(0.5, "half")
        raise KeyboardInterrupt  # as Streamlit stops a script when Stop is clicked
    count = len(bar.texts)
    time.sleep(0.2)
    assert len(bar.texts) == count, "nothing is drawn after the block ends"


def test_the_time_left_reads_in_whole_seconds_and_minutes():
    assert time_left(None) == ""
    assert time_left(0.2) == " · about 1 s left"
    assert time_left(125.0) == " · about 2 min 05 s left"
    assert time_left(0.0) == " · taking longer than estimated"
