"""The time left on progress bars: measured rates per kind of work and size, a countdown that never rises."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline.countdown import Countdown, Part, Rates


def test_rates_scale_the_nearest_measured_size():
    rates = Rates()
    rates.record("knn", 1_000, 2.0)
    rates.record("knn", 100_000, 50.0)
    assert rates.predict("knn", 2_000) == pytest.approx(4.0), "nearest is 1,000 rows"
    assert rates.predict("knn", 50_000) == pytest.approx(25.0), "nearest on a log scale is 100,000"
    assert rates.predict("svc", 1_000) is None


def test_the_time_left_comes_from_each_algorithms_measured_time_before_any_progress():
    rates = Rates()
    for kind, seconds in (("fast", 1.0), ("slow", 10.0), ("quick", 1.0)):
        rates.record(kind, 400, seconds)
    parts = [Part("fast", 400), Part("slow", 400), Part("quick", 400)]
    countdown = Countdown(0.0, parts, rates)
    countdown.report(0.0, 0.0)
    assert countdown.left(0.0) == pytest.approx(12.0), "known before the first algorithm ends"
    countdown.report(1 / 3, 1.0)
    assert countdown.left(1.0) == pytest.approx(11.0), "the slow one still ahead (the pace so far would say 2 s)"
    assert countdown.left(6.0) == pytest.approx(6.0), "counting down between reports"
    countdown.report(2 / 3, 11.0)
    assert countdown.left(11.0) == pytest.approx(1.0)


def test_the_benchmarks_time_left_comes_from_the_sizes_already_done():
    parts = [Part("groupby", 10_000), Part("groupby", 100_000), Part("groupby", 1_000_000)]
    countdown = Countdown(0.0, parts)
    countdown.report(0.0, 0.0)
    assert countdown.left(0.0) is None, "nothing measured yet: no guess"
    countdown.report(1 / 3, 0.1)
    assert countdown.left(0.1) == pytest.approx(1.0 + 10.0), "0.1 s for 10,000 rows: 1 s, then 10 s"
    assert countdown.rates.predict("groupby", 10_000) == pytest.approx(0.1), "measured into the rates as it goes"


def test_before_the_first_size_is_done_the_pace_so_far_counts_rows_not_parts():
    parts = [Part("groupby", 10_000), Part("groupby", 100_000), Part("groupby", 1_000_000)]
    countdown = Countdown(0.0, parts)
    countdown.report(1 / 6, 0.05)  # half of the 10,000 rows in 0.05 s
    assert countdown.left(0.05) == pytest.approx(0.05 + 1.0 + 10.0), "not 0.25 s: a sixth of the parts, not the rows"
    countdown.report(1 / 3, 0.1)
    assert countdown.left(0.1) == pytest.approx(11.0), "the measured size agrees: nothing slowed or pinned"


def test_a_kind_not_measured_yet_takes_the_pace_of_the_parts_done_in_this_run():
    countdown = Countdown(0.0, [Part("a", 100), Part("b", 200), Part("c", 100)])
    countdown.report(1 / 3, 2.0)
    assert countdown.left(2.0) == pytest.approx(4.0 + 2.0), "2 s per 100 rows"


def test_without_parts_the_pace_so_far_is_extrapolated():
    countdown = Countdown(0.0)
    countdown.report(0.25, 5.0)
    assert countdown.left(5.0) == pytest.approx(15.0)
    assert countdown.left(8.0) == pytest.approx(12.0)


def test_a_slower_pace_slows_the_countdown_but_never_raises_it():
    countdown = Countdown(0.0)
    countdown.report(0.5, 10.0)
    assert countdown.left(10.0) == pytest.approx(10.0)
    countdown.report(0.55, 18.0)  # the pace says 14.7 s left; 2 s are shown
    assert countdown.left(18.0) == pytest.approx(2.0)
    assert 0 < countdown.left(19.0) < 2.0, "still counting down, more slowly"
    assert countdown.left(18.0 + 18.0 / 0.55 * 0.45) == pytest.approx(0.0, abs=1e-9), "zero when the pace says"


def test_done_is_zero_left():
    countdown = Countdown(0.0, [Part("a", 1)])
    countdown.report(1.0, 3.0)
    assert countdown.left(3.0) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_the_time_left_never_rises_and_moves_between_reports(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1_000, 10_000, 100_000], 8)
    rates = Rates()
    for size in sizes[:3]:
        rates.record("known", float(size), float(size) / 5_000)
    parts = [Part("known" if i % 2 else f"new {i}", float(size)) for i, size in enumerate(sizes)]
    countdown = Countdown(0.0, parts, rates)
    now, shown = 0.0, []
    for finished in range(len(parts) + 1):
        for within in (0.0, 0.5):
            if finished == len(parts) and within:
                break
            now += float(rng.exponential(3.0))
            countdown.report((finished + within) / len(parts), now)
            for tick in np.linspace(now, now + 1.0, 5):
                left = countdown.left(float(tick))
                if left is not None:
                    shown.append(left)
            now += 1.0
    pairs = list(itertools.pairwise(shown))
    assert len(pairs) > 30
    assert all(later <= earlier + 1e-9 for earlier, later in pairs), "never rises"
    assert all(later < earlier for earlier, later in pairs if earlier > 0), "never frozen while time is left"
    assert shown[-1] == 0.0
