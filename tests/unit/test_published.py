"""The published reference figures: every figure traceable to a source, hardware and date; estimates say so."""

from __future__ import annotations

import json

import pytest

from pipeline import published
from pipeline.errors import DataError
from pipeline.published import published_figures, sources, speedup_range


def test_every_published_figure_has_a_source_hardware_and_a_date():
    figures = published_figures()
    assert len(figures) >= 10 and {s.name for s in sources()} >= {"cudf_performance_comparison.json"}
    for column in ("source", "url", "gpu", "cpu", "software", "date", "operation"):
        assert figures[column].map(lambda v: isinstance(v, str) and len(v.strip()) > 3).all(), column
    assert figures["url"].str.startswith("https://").all()
    assert (figures["speedup_low"] > 0).all() and (figures["speedup_low"] <= figures["speedup_high"]).all()
    assert set(figures["work"]) <= set(published.WORKS)


def test_every_published_figure_keeps_the_table_size_it_was_measured_at_where_its_source_states_one():
    figures = published_figures().set_index("operation")
    assert figures.loc["groupby on a 4-level text key, min/max/mean of an int64 column", "rows"] == 100_000_000
    assert figures.loc["Series.str.isalpha()", "rows"] == 300_000_000
    assert figures[figures["source"].str.startswith("cuML")]["rows"].isna().all(), "cuML's page states no size"


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
