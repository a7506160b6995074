"""The pages with the sample dataset on the CPU and the GPU engine: every view and action that reads the GPU copy
works (on a GPU machine, or on `make preflight`'s stand-ins, which refuse implicit host copies)."""

from __future__ import annotations

import pytest

from pipeline.engines import GPU
from tests.support.apptest import open_page, problems

pytestmark = pytest.mark.gpu

EXPLORE_TABS = ("Overview", "Columns", "Correlations", "Missing values", "Interactions", "Filter")


def test_explore_profiles_on_the_gpu_every_tab_and_the_comparison():
    at = open_page("pages/explore.py")
    assert GPU in at.session_state["catalog"].active.copies
    assert at.session_state["explore_engine"] == GPU, "the last engine, the GPU, is the default"
    for tab in EXPLORE_TABS:
        at.session_state["explore_tab"] = tab
        at.run()
        assert not problems(at), (tab, problems(at))
    at.toggle(key="explore_compare").set_value(True).run()
    assert not problems(at)
    assert any("speed-up" in metric.label for metric in at.metric)


def test_a_pipeline_preset_runs_on_both_engines_and_they_agree():
    at = open_page("pages/pipeline.py")
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    assert "GPU (cuDF) speed-up" in [metric.label for metric in at.metric]
    table = next(d.value for d in at.dataframe if "engines agree" in d.value.columns)
    assert set(table["engines agree"]) == {"yes"}, table["engines agree"].tolist()


def test_a_model_trains_on_both_engines():
    at = open_page("pages/models.py")
    at.button(key="model_go").click().run()
    assert not problems(at)
    assert "GPU (cuDF) speed-up (fit)" in [metric.label for metric in at.metric]


@pytest.mark.parametrize("page", ["pages/data.py", "pages/system.py", "pages/benchmark.py"])
def test_the_other_pages_open_with_a_gpu_copy(page):
    assert not problems(open_page(page))
