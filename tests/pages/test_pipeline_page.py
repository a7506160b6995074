"""The Pipeline page through AppTest: presets, adding and moving steps, bad steps, running, saving, recipes."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file
from pipeline.engines import available_engines, device_status
from pipeline.steps.spec import Recipe, Step
from tests.support.apptest import APP, TIMEOUT, open_page, problems


def open_pipeline(catalog: Catalog | None = None) -> AppTest:
    return open_page("pages/pipeline.py", catalog)


def step_table(at: AppTest):
    return next(d.value for d in at.dataframe if "engines agree" in d.value.columns)


def steps(at: AppTest) -> list[Step]:
    return at.session_state["pipeline_steps"]


def test_preset_runs_and_the_result_saves_as_a_dataset():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_go").click().run()
    assert not problems(at)
    assert [s.kind for s in steps(at)][:2] == ["drop_duplicates", "fill_missing"]
    at.button(key="run_go").click().run()
    assert not problems(at)
    assert next(m.label for m in at.metric) == "CPU (pandas)"
    assert len(at.get("vega_lite_chart")) >= 2
    assert any("split" in str(row) for row in step_table(at)["step"])
    at.button(key="save_go").click().run()
    catalog = at.session_state["catalog"]
    assert catalog.active.name == "iris (pipeline)"
    assert "split" in catalog.active.primary.frame.columns


def test_a_preset_runs_in_one_click():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("group_aggregate").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    assert [s.kind for s in steps(at)] == ["group_aggregate", "sort"]
    assert step_table(at)["rows × columns"].tolist()[0] == "3 × 8", "3 species, key + 7 aggregates"


def with_filter_and_drop() -> AppTest:
    """The page with two steps added through the form: keep sepal length > 5, then drop `target`."""
    at = open_pipeline()
    at.selectbox(key="new_kind").set_value("filter").run()
    at.selectbox(key="form_filter_c0").set_value("sepal length (cm)").run()
    at.selectbox(key="form_filter_op0").set_value(">").run()
    at.number_input(key="form_filter_v0").set_value(5.0).run()
    at.button(key="add_step").click().run()
    at.selectbox(key="new_kind").set_value("drop").run()
    at.multiselect(key="form_drop_columns").set_value(["target"]).run()
    at.button(key="add_step").click().run()
    return at


def test_add_move_and_remove_steps():
    at = with_filter_and_drop()
    assert not problems(at)
    assert [s.kind for s in steps(at)] == ["filter", "drop"]
    at.selectbox(key="preview_step").set_value(1).run()
    assert any("5 columns" in c.value for c in at.caption), "the preview after step 1 still has every column"
    at.button(key="down_0").click().run()
    assert [s.kind for s in steps(at)] == ["drop", "filter"]
    at.button(key="remove_0").click().run()
    assert [s.kind for s in steps(at)] == ["filter"]
    at.button(key="run_go").click().run()
    assert not problems(at)
    frame = at.session_state["catalog"].active.primary.frame
    kept = int((frame["sepal length (cm)"] > 5).sum())
    assert step_table(at)["rows × columns"].tolist() == [f"{kept:,} × 5"]


def test_edit_a_step_in_place_and_insert_one_before_another():
    at = with_filter_and_drop()
    at.button(key="edit_0").click().run()
    assert at.selectbox(key="new_place").value == ("replace", 0)
    assert at.selectbox(key="new_kind").value == "filter"
    at.selectbox(key="form_filter_c0").set_value("sepal length (cm)").run()
    at.selectbox(key="form_filter_op0").set_value(">").run()
    at.number_input(key="form_filter_v0").set_value(6.0).run()
    at.button(key="add_step").click().run()
    assert not problems(at)
    assert [s.kind for s in steps(at)] == ["filter", "drop"]
    assert steps(at)[0].params["conditions"][0]["value"] == 6.0
    assert at.selectbox(key="new_place").value == ("end", 2), "after a change the form adds at the end again"
    at.selectbox(key="new_place").set_value(("before", 1)).run()
    at.selectbox(key="new_kind").set_value("log1p").run()
    at.multiselect(key="form_log1p_columns").set_value(["petal width (cm)"]).run()
    at.button(key="add_step").click().run()
    assert not problems(at)
    assert [s.kind for s in steps(at)] == ["filter", "log1p", "drop"]


def test_a_broken_step_is_offered_for_replacement_with_the_columns_it_sees():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["pipeline_steps"] = [
        Step("drop", {"columns": ["target"]}),
        Step("one_hot", {"column": "target"}),
        Step("sort", {"columns": ["sepal width (cm)"]}),
    ]
    at.run()
    at.switch_page("pages/pipeline.py").run()
    place = at.selectbox(key="new_place")
    assert place.value == ("replace", 1), "the form points at the step that cannot apply"
    assert ("end", 3) not in place.options, "nothing can be added after a step that fails"
    at.selectbox(key="new_kind").set_value("label_encode").run()
    assert "target" not in at.selectbox(key="form_label_encode_column").options
    at.selectbox(key="new_kind").set_value("log1p").run()
    at.multiselect(key="form_log1p_columns").set_value(["petal width (cm)"]).run()
    at.button(key="add_step").click().run()
    assert not problems(at)
    assert [s.kind for s in steps(at)] == ["drop", "log1p", "sort"]


def test_a_step_that_cannot_apply_is_refused_and_the_pipeline_kept():
    at = open_pipeline()
    at.selectbox(key="new_kind").set_value("drop").run()
    at.multiselect(key="form_drop_columns").set_value(["target"]).run()
    at.button(key="add_step").click().run()
    at.selectbox(key="new_kind").set_value("one_hot").run()
    assert "target" not in at.multiselect(key="form_one_hot_columns").options, (
        "forms offer the columns the step will see"
    )
    at.selectbox(key="new_kind").set_value("log1p").run()
    at.button(key="add_step").click().run()
    assert any("at least 1 column" in e for e in problems(at))
    assert [s.kind for s in steps(at)] == ["drop"]


def test_a_recipe_made_invalid_by_moving_a_step_names_it():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["pipeline_steps"] = [
        Step("drop", {"columns": ["target"]}),
        Step("one_hot", {"column": "target"}),
    ]
    at.run()
    at.switch_page("pages/pipeline.py").run()
    assert any("Step 2" in e and "'target'" in e for e in problems(at))
    assert not any(b.key == "run_go" for b in at.button)
    at.button(key="remove_1").click().run()
    assert not problems(at)


def test_recipe_file_round_trip_and_bad_file():
    at = open_pipeline()
    recipe = Recipe((Step("scale", {"columns": ["sepal width (cm)"], "method": "minmax"}),))
    at.file_uploader(key="recipe_file").set_value(("recipe.json", recipe.to_json().encode(), "application/json")).run()
    at.button(key="recipe_go").click().run()
    assert not problems(at) and [s.kind for s in steps(at)] == ["scale"]
    at.file_uploader(key="recipe_file").set_value(("recipe.json", b"{broken", "application/json")).run()
    at.button(key="recipe_go").click().run()
    assert any("not valid JSON" in e for e in problems(at))
    assert [s.kind for s in steps(at)] == ["scale"], "a bad file changes nothing"
    assert {b.key for b in at.get("download_button")} >= {"export_json", "export_pandas", "export_cudf"}


def test_join_offers_the_other_loaded_datasets():
    catalog = Catalog()
    load_bundled(catalog, "wine", available_engines())
    load_bundled(catalog, "iris", available_engines())
    at = open_pipeline(catalog)
    at.selectbox(key="new_kind").set_value("join").run()
    assert at.selectbox(key="form_join_dataset").options == ["wine"]


def test_no_dataset_points_to_the_data_page():
    at = open_pipeline(Catalog())
    assert not problems(at)
    assert any("No dataset loaded" in i.value for i in at.info)


def test_the_recipe_is_checked_once_per_change_not_on_every_rerun(monkeypatch):
    import ui.views.pipeline as views

    calls = []
    check_steps = views.check_steps
    monkeypatch.setattr(views, "check_steps", lambda *args: calls.append(args[0]) or check_steps(*args))
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_go").click().run()
    checks = len(calls)
    at.run()
    at.run()
    at.selectbox(key="new_kind").set_value("sort").run()
    assert not problems(at)
    assert len(calls) == checks, "reruns with the same recipe check nothing again"
    at.button(key="remove_0").click().run()
    assert len(calls) == checks + 1, "a changed recipe is checked once"
    assert len({recipe.to_json() for recipe in calls}) == len(calls), "never the same recipe twice"


@pytest.mark.skipif(device_status().available, reason="on a GPU machine the page measures the GPU instead")
def test_without_a_gpu_the_published_speedups_sit_beside_the_cpu_times_as_an_estimate():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("group_aggregate").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    expander = next(e for e in at.expander if "Published GPU speed-ups" in e.label)
    assert "an estimate, not a measurement" in expander.label
    table = next(d.value for d in expander.dataframe if "measured CPU s" in d.value.columns)
    assert table["work"].tolist() == ["1. group_aggregate", "2. sort"]
    assert table["similar published work"].tolist() == ["group-by", "none published"]
    assert table.loc[0, "estimated GPU s (fastest)"] == table.loc[0, "measured CPU s"] / 138.5
    gpu_columns = [c for c in table.columns if "GPU" in c]
    assert gpu_columns and all("estimate" in c for c in gpu_columns), "an estimate is never called measured"


def test_saving_the_result_gives_it_its_own_recipe_and_keeps_the_steps_with_their_dataset():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_run").click().run()
    made = list(steps(at))
    assert any(s.kind == "one_hot" for s in made)
    at.button(key="save_go").click().run()
    assert not problems(at), "no step re-checked against the saved table"
    assert at.session_state["catalog"].active.name == "iris (pipeline)"
    assert steps(at) == [] and "Replace step" not in str([s.value for s in at.selectbox])
    assert any("stay with it" in c.value and "iris" in c.value for c in at.caption)
    catalog = at.session_state["catalog"]
    catalog.set_active(next(d.id for d in catalog if d.name == "iris"))
    at.run()
    assert steps(at) == made, "back on iris, its steps are there"
    catalog.set_active(next(d.id for d in catalog if d.name == "iris (pipeline)"))
    at.run()
    at.button(key="steps_copy").click().run()
    assert any("Step 1" in p and "No column 'target'" in p for p in problems(at)), "iris's steps do not apply here"
    assert steps(at) == [] and not at.exception, "nothing half-copied, the page still works"


def test_the_steps_of_the_dataset_before_can_be_copied_where_they_apply():
    catalog = Catalog()
    first = load_bundled(catalog, "iris", available_engines())
    at = open_pipeline(catalog)
    at.selectbox(key="preset_name").set_value("group_aggregate").run()
    at.button(key="preset_go").click().run()
    made = list(steps(at))
    second = load_bundled(catalog, "iris", available_engines())
    assert catalog.active.id == second.id != first.id
    at.run()
    assert steps(at) == []
    at.button(key="steps_copy").click().run()
    assert not problems(at) and steps(at) == made


def test_the_form_starts_afresh_after_a_step_is_added():
    at = open_pipeline()
    at.selectbox(key="new_kind").set_value("filter").run()
    fresh = at.number_input(key="form_filter_v0").value
    at.selectbox(key="form_filter_c0").set_value("sepal length (cm)").run()
    at.selectbox(key="form_filter_op0").set_value(">").run()
    at.number_input(key="form_filter_v0").set_value(5.5).run()
    at.button(key="add_step").click().run()
    assert not problems(at) and steps(at)[0].params["conditions"][0]["value"] == 5.5
    at.selectbox(key="new_kind").set_value("filter").run()
    assert at.number_input(key="form_filter_v0").value == fresh != 5.5


def test_the_exported_script_reads_a_csv_upload_as_csv(downloads):
    catalog = Catalog()
    table = b"city;price;day\nOslo;9.5;2024-01-02\nLima;3.25;2024-02-03\n"
    load_file(catalog, Source.from_bytes("prices.csv", table), available_engines())
    at = open_pipeline(catalog)
    at.session_state["pipeline_steps"] = [Step("drop", {"columns": ["price"]})]
    at.run()
    assert not problems(at)
    script = downloads.data(at, "export_pandas").decode()
    assert "table = pd.read_csv(sys.argv[1], sep=';', parse_dates=['day'])" in script
    assert "read_parquet" not in script and "INPUT.csv OUTPUT.parquet" in script
