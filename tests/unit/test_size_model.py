"""The size-aware GPU estimate: a fixed cost per GPU call from sourced small-table timings plus the published
speed-up; never below the fixed cost, honest about the sizes its sources measured, and a break-even from it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline.cost import InstancePrices
from pipeline.errors import DataError
from pipeline.published import COLUMNS, WORK_OF, published_figures
from pipeline.published import size_model as model
from pipeline.published.size_model import (
    NO_FIGURE,
    TimedWork,
    estimate,
    estimated_break_even,
    estimated_curve,
    fixed_cost,
    fixed_cost_measurements,
)

FIGURES = published_figures()
MEASURED = fixed_cost_measurements()
PRICES = InstancePrices(cpu_per_hour=1.0, gpu_per_hour=4.0)  # the GPU must be 4× faster to pay off


def test_every_small_table_timing_has_its_source_and_every_published_work_a_fixed_cost():
    assert {m.library for m in MEASURED} == {"cuDF", "cuML"}
    for m in MEASURED:
        assert m.url.startswith("https://") and m.source and m.operation and m.rows > 0 and m.gpu_seconds > 0
    for work in set(WORK_OF.values()) | set(FIGURES["work"]):
        cost = fixed_cost(MEASURED, work)
        assert 0 < cost.low <= cost.high and cost.sources, work


def test_a_fixed_cost_file_without_its_source_is_refused(tmp_path, monkeypatch):
    data = json.loads((model.FIXED_FOLDER / "cudf.json").read_text())
    del data["measurements"][0]["url"]
    (tmp_path / "cudf.json").write_text(json.dumps(data))
    monkeypatch.setattr(model, "FIXED_FOLDER", tmp_path)
    with pytest.raises(DataError, match="lacks url"):
        fixed_cost_measurements()


@pytest.mark.parametrize("kind", sorted(WORK_OF))
@pytest.mark.parametrize("cpu_s", [1e-6, 1e-4, 2e-3, 0.02])
def test_a_400_row_table_never_gets_a_gpu_estimate_below_the_fixed_cost_and_is_not_expected_to_help(kind, cpu_s):
    found = estimate(FIGURES, MEASURED, TimedWork("step", kind, cpu_s, 400))
    cost = fixed_cost(MEASURED, found.work)
    assert found.fastest >= cost.low and found.slowest >= cost.high
    assert found.verdict.startswith("not expected to help at this size")
    assert "smaller than any table a source timed" in found.size_note


def test_the_issues_406_row_text_step_is_no_longer_a_ten_thousandth_of_a_millisecond():
    found = estimate(FIGURES, MEASURED, TimedWork("3. string", "string", 0.00012, 406))
    assert found.fastest >= 0.0006, "the published 1,312×–5,752× gave 0.00000009 s here before"
    assert found.verdict.startswith("not expected to help at this size")


def test_a_1e7_row_groupby_gets_a_sourced_estimate_with_its_range():
    cpu_s = 0.8
    found = estimate(FIGURES, MEASURED, TimedWork("1. group_aggregate", "group_aggregate", cpu_s, 10_000_000))
    cost = fixed_cost(MEASURED, "group-by")
    assert found.work == "group-by" and found.speedups == (138.5, 138.5)
    assert found.fastest == pytest.approx(cost.low + cpu_s / 138.5)
    assert found.slowest == pytest.approx(cost.high + cpu_s / 138.5)
    assert found.fastest < found.slowest < cpu_s and found.verdict.startswith("expected to be faster")
    assert found.speedup_text == "138.5× (measured at 100,000,000 rows)"
    assert found.size_note == "within the sizes the sources measured (1,000 to 100,000,000 rows)"
    assert any(s.startswith("cuDF user guide: Performance comparison") for s in found.sources)
    assert any("cudf/issues/12980" in m.url for m in MEASURED if m.source in found.sources)


def test_sizes_outside_what_the_sources_measured_are_named():
    join = estimate(FIGURES, MEASURED, TimedWork("2. join", "join", 5.0, 10_000_000))
    assert "larger than the largest table measured for this work (1,000,000 rows): extrapolated" in join.size_note
    kmeans = estimate(FIGURES, MEASURED, TimedWork("k-means (fit)", "kmeans", 2.0, 50_000))
    assert "the published speed-ups state no table size" in kmeans.size_note
    assert kmeans.speedup_text == "15×–80× (measured at a size the source does not state)"


def test_work_like_nothing_published_gets_no_estimate_and_says_so():
    found = estimate(FIGURES, MEASURED, TimedWork("1. drop_duplicates", "drop_duplicates", 0.01, 400))
    assert found.work is None and found.fastest is None and found.verdict == NO_FIGURE
    assert found.speedup_text == "none published"


def test_a_small_table_step_with_no_published_figure_is_still_told_the_gpu_will_not_help_at_its_size():
    """Below the size up to which every cuDF small-table timing had the CPU faster, the size verdict holds whether
    or not a speed-up was published; above it, or with no library named, only the missing figure is said."""
    small = estimate(FIGURES, MEASURED, TimedWork("1. impute", "impute", 0.001, 406, library="cuDF"))
    assert small.fastest is None and small.speedup_text == "none published", "still no GPU time made up"
    assert small.verdict.startswith("not expected to help at this size") and "10,000 rows" in small.verdict
    assert estimate(FIGURES, MEASURED, TimedWork("1. impute", "impute", 0.1, 50_000, library="cuDF")).verdict == (
        NO_FIGURE
    )
    assert estimate(FIGURES, MEASURED, TimedWork("1. impute", "impute", 0.001, 406)).verdict == NO_FIGURE


def test_the_estimated_curve_is_a_band_around_a_middle_line():
    cpu = pd.DataFrame({"rows": [1e5, 1e6], "cpu_s": [0.2, 2.0], "calls": [10, 10]})
    curve = estimated_curve(cpu, "group-by", FIGURES, MEASURED)
    cost = fixed_cost(MEASURED, "group-by")
    assert curve["fastest"].tolist() == pytest.approx([10 * cost.low + c / 138.5 for c in (0.2, 2.0)])
    assert (curve["fastest"] <= curve["middle"]).all() and (curve["middle"] <= curve["slowest"]).all()


def synthetic(fixed: float, cpu_faster_up_to: int) -> tuple[pd.DataFrame, list[model.Measurement]]:
    """A group-by speed-up of 100× and one small-table timing of `fixed` seconds, the CPU faster there."""
    figure = {
        "work": "group-by",
        "speedup_low": 100.0,
        "speedup_high": 100.0,
        "rows": 1e8,
        "source": "A",
        "date": "2024",
    }
    figures = pd.DataFrame([figure], columns=COLUMNS)
    timing = model.Measurement(
        "cuDF", ("group-by",), "groupby", cpu_faster_up_to, fixed, fixed / 2, "B (2024)", "https://b", "a GPU", "cuDF"
    )
    return figures, [timing]


def test_the_estimated_break_even_is_where_the_model_costs_as_much_as_the_cpu():
    figures, measured = synthetic(0.01, 100)
    # equal costs where cpu_s = 4 × 0.01 / (1 − 4/100) = 0.041667 s; the CPU takes 1e-6 s a row here
    one_size = pd.DataFrame({"rows": [10_000], "cpu_s": [0.01], "calls": [1]})
    found = estimated_break_even(one_size, "group-by", figures, measured, PRICES)
    assert found.fastest == pytest.approx(41_666.67, rel=1e-6) == found.slowest
    assert "from about 42,000 rows" in found.verdict, "an estimate in two significant digits, not 41,667"
    assert "extrapolated beyond the largest size timed here (10,000 rows)" in found.verdict
    two_sizes = pd.DataFrame({"rows": [10_000, 100_000], "cpu_s": [0.01, 0.1], "calls": [1, 1]})
    between = estimated_break_even(two_sizes, "group-by", figures, measured, PRICES)
    assert 10_000 < between.fastest < 100_000 and "between the sizes 10,000 and 100,000 timed here" in between.verdict


def test_the_estimated_break_even_is_never_below_where_the_sources_timed_the_cpu_faster():
    figures, measured = synthetic(0.0001, 50_000)
    found = estimated_break_even(
        pd.DataFrame({"rows": [10_000], "cpu_s": [0.01], "calls": [1]}), "group-by", figures, measured, PRICES
    )
    assert found.fastest == 50_000 and "up to 50,000 rows every small-table timing" in found.verdict


def test_no_break_even_where_the_published_speed_up_cannot_pay_the_price():
    figures, measured = synthetic(0.01, 100)
    expensive = InstancePrices(cpu_per_hour=1.0, gpu_per_hour=200.0)
    found = estimated_break_even(
        pd.DataFrame({"rows": [10_000], "cpu_s": [0.01], "calls": [1]}), "group-by", figures, measured, expensive
    )
    assert found.fastest is None and "would not cost less at any size" in found.verdict
