import time
import weakref

import numpy as np
import pandas as pd
import pytest

from pipeline.timing import PhaseClock, Timing, measure, speedups


def test_single_call_is_first_and_only_run():
    calls = []
    measured = measure(lambda: calls.append(1) or len(calls))
    assert calls == [1]
    assert measured.result == 1
    assert measured.timing.runs_s == (measured.timing.first_s,)


def test_warmup_calls_are_not_timed_and_repeats_are():
    calls = []
    measured = measure(lambda: calls.append(1) or len(calls), warmup=2, repeats=3)
    assert len(calls) == 5  # first (warm-up 1), warm-up 2, three timed runs
    assert measured.result == 5
    assert len(measured.timing.runs_s) == 3


def test_without_warmup_the_first_call_counts_as_a_run():
    calls = []
    measured = measure(lambda: calls.append(1), repeats=3)
    assert len(calls) == 3
    assert measured.timing.runs_s[0] == measured.timing.first_s


def test_statistics_of_runs():
    """One slow run among three moves the mean but not the median: the median is the middle run."""
    delays = iter([0.03, 0.0, 0.06, 0.001])
    measured = measure(lambda: time.sleep(next(delays)), warmup=1, repeats=3)
    timing = measured.timing
    assert timing.first_s >= 0.03
    assert timing.median_s == sorted(timing.runs_s)[1]
    assert (timing.min_s, timing.max_s) == (min(timing.runs_s), max(timing.runs_s))
    assert timing.min_s < timing.median_s < 0.015 < timing.max_s  # the mean is above 0.02
    assert Timing(first_s=5.0, runs_s=(1.0, 9.0, 2.0)).median_s == 2.0
    assert Timing(first_s=5.0, runs_s=(4.0, 1.0, 9.0, 2.0)).median_s == 3.0


def test_sync_runs_before_the_clock_stops():
    events = []
    measure(lambda: events.append("work"), sync=lambda: events.append("sync"))
    assert events == ["sync", "work", "sync"]


def test_device_work_is_waited_for():
    pending = []

    def enqueue():
        pending.append(0.05)  # queued work that only sync waits for

    def sync():
        while pending:
            time.sleep(pending.pop())

    assert measure(enqueue, sync=sync).timing.first_s >= 0.05


@pytest.mark.parametrize(("warmup", "repeats"), [(-1, 1), (0, 0)])
def test_bad_arguments(warmup, repeats):
    with pytest.raises(ValueError) as refused:
        measure(lambda: None, warmup=warmup, repeats=repeats)
    assert str(refused.value) == f"warmup must be >= 0 and repeats >= 1, got {warmup} and {repeats}"


def test_speedups_are_the_reference_over_each_other_and_none_where_a_time_is_missing():
    assert speedups({"cpu": 4.0, "gpu": 0.5, "dask": None, "zero": 0.0}, "cpu") == {
        "gpu": 8.0,
        "dask": None,
        "zero": None,
    }
    assert speedups({"gpu": 1.0}, "cpu") == {"gpu": None}, "no reference, no ratio"
    assert speedups({"cpu": 0.0, "gpu": 1.0}, "cpu") == {"gpu": None}, "a reference too fast to time, no ratio"
    assert speedups({"cpu": 0.0, "gpu": 0.0}, "cpu") == {"gpu": None}
    wide = pd.DataFrame({"cpu": [2.0, 0.0], "gpu": [1.0, 1.0]})
    ratios = speedups(wide, "cpu")["gpu"]
    assert ratios.iloc[0] == 2.0 and pd.isna(ratios.iloc[1])


def test_each_run_starts_after_the_last_result_is_let_go():
    """An engine that holds results (Dask's persisted partitions) would hand back the one still held: every call
    must start with the last result gone, also one kept alive only by a reference cycle until collected."""

    class Result:
        pass

    results: list[weakref.ref] = []
    alive_at_start = []

    def make() -> Result:
        alive_at_start.append(sum(ref() is not None for ref in results))
        result = Result()
        result.cycle = result
        results.append(weakref.ref(result))
        return result

    measured = measure(make, warmup=2, repeats=3)
    assert alive_at_start == [0, 0, 0, 0, 0]
    assert measured.result is results[-1](), "the last result is the one returned"


def test_a_phase_clock_sums_the_seconds_of_each_phase_and_waits_for_the_device():
    events = []
    phases = PhaseClock(sync=lambda: events.append("sync"))
    assert phases.run("fit", lambda: time.sleep(0.01) or "model") == "model"
    phases.run("fit", lambda: time.sleep(0.01))
    phases.run("predict", lambda: events.append("predict"))
    assert list(phases.phases) == ["fit", "predict"]
    assert 0.02 <= phases.phases["fit"] < 0.5 and 0 <= phases.phases["predict"] < phases.phases["fit"]
    assert events[-3:] == ["sync", "predict", "sync"]


def test_speedups_below_a_second_of_a_number_and_of_a_series():
    """A reference of half a second still has a ratio; a Series of times against one number, and a zero time in a
    Series has none."""
    assert speedups({"cpu": 0.5, "gpu": 0.25}, "cpu") == {"gpu": 2.0}
    wide = pd.DataFrame({"cpu": [0.5, 3.0, 3.0], "gpu": [0.25, 1.5, 0.0]})
    assert speedups(wide, "cpu")["gpu"].tolist() == pytest.approx([2.0, 2.0, np.nan], nan_ok=True)
    against_one = speedups({"cpu": 3.0, "gpu": pd.Series([1.5, 0.0])}, "cpu")["gpu"]
    assert against_one.tolist() == pytest.approx([2.0, np.nan], nan_ok=True)
