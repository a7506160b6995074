"""The published reference figures: every figure traceable to a source, hardware and date; estimates say so."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline import published
from pipeline.errors import DataError
from pipeline.published import estimates, published_figures, sources, speedup_range


def test_every_published_figure_has_a_source_hardware_and_a_date():
    figures = published_figures()
    assert len(figures) >= 10 and {s.name for s in sources()} >= {"cudf_performance_comparison.json"}
    for column in ("source", "url", "gpu", "cpu", "software", "date", "operation"):
        assert figures[column].map(lambda v: isinstance(v, str) and len(v.strip()) > 3).all(), column
    assert figures["url"].str.startswith("https://").all()
    assert (figures["speedup_low"] > 0).all() and (figures["speedup_low"] <= figures["speedup_high"]).all()
    assert set(figures["work"]) <= set(published.WORKS)


def test_every_work_a_step_or_algorithm_maps_to_has_a_published_figure():
    figures = published_figures()
    for kind, work in published.WORK_OF.items():
        assert speedup_range(figures, work) is not None, (kind, work)


def test_the_step_kinds_and_algorithms_mapped_exist():
    import pipeline.steps.library  # noqa: F401  (registers every step kind)
    from pipeline.models.algorithms import ALGORITHMS
    from pipeline.steps.spec import STEP_KINDS

    known = set(STEP_KINDS) | set(ALGORITHMS)
    assert set(published.WORK_OF) <= known


@pytest.mark.parametrize("missing", ["url", "date", "hardware"])
def test_a_figure_without_its_source_details_is_refused(missing):
    data = json.loads((published.FOLDER / "cudf_performance_comparison.json").read_text())
    del data["source"][missing]
    with pytest.raises(DataError, match=missing):
        published._checked("broken.json", json.dumps(data))


def test_estimates_divide_measured_cpu_time_by_the_published_range_and_name_the_source():
    figures = pd.DataFrame(
        [
            {
                **dict.fromkeys(published.COLUMNS, "x"),
                "work": "group-by",
                "speedup_low": 10.0,
                "speedup_high": 100.0,
                "source": "Doc A",
                "date": "2023",
            },
            {
                **dict.fromkeys(published.COLUMNS, "x"),
                "work": "join",
                "speedup_low": 4.0,
                "speedup_high": 4.0,
                "source": "Doc B",
                "date": "2024",
            },
        ]
    )
    table = estimates(
        figures,
        {"1. group_aggregate": 50.0, "2. join": 8.0, "3. sort": 1.0},
        {"1. group_aggregate": "group_aggregate", "2. join": "join", "3. sort": "sort"},
    )
    rows = table.set_index("work")
    assert rows.loc["1. group_aggregate", "estimated GPU s (fastest)"] == pytest.approx(0.5)
    assert rows.loc["1. group_aggregate", "estimated GPU s (slowest)"] == pytest.approx(5.0)
    assert rows.loc["1. group_aggregate", "published speed-up"] == "10×–100×"
    assert rows.loc["2. join", "published speed-up"] == "4×" and rows.loc["2. join", "sources"] == "Doc B (2024)"
    assert rows.loc["3. sort", "similar published work"] == "none published"
    assert pd.isna(rows.loc["3. sort", "estimated GPU s (fastest)"])
