"""The Pipeline page through AppTest: presets, adding and moving steps, bad steps, running, saving, recipes."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file
from pipeline.engines import available_engines, device_status
from pipeline.steps.spec import Recipe, Step
from tests.support.apptest import APP, TIMEOUT, open_page, problems
from tests.support.public_tables import load_public


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


def test_a_preset_adds_its_steps_after_the_steps_here_or_replaces_them_when_asked_and_undo_puts_them_back():
    at = with_filter_and_drop()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    assert at.radio(key="preset_how").value == "append", "nothing is replaced unless asked"
    at.button(key="preset_go").click().run()
    assert not problems(at)
    kinds = [s.kind for s in steps(at)]
    assert kinds[:2] == ["filter", "drop"] and kinds[2:] == [
        "drop_duplicates",
        "fill_missing",
        "scale",
        "train_test_split",
    ]
    assert any(
        "Added the 4 steps of 'Clean and encode for modelling' after the 2 steps here" in c.value for c in at.caption
    )
    at.button(key="steps_undo").click().run()
    assert [s.kind for s in steps(at)] == ["filter", "drop"]
    assert not any(b.key == "steps_undo" for b in at.button), "one change, undone once"
    at.radio(key="preset_how").set_value("replace").run()
    at.button(key="preset_go").click().run()
    assert steps(at)[0].kind == "drop_duplicates"
    assert any("in place of the steps here" in c.value for c in at.caption)
    at.button(key="steps_undo").click().run()
    assert [s.kind for s in steps(at)] == ["filter", "drop"]
    at.button(key="remove_1").click().run()
    at.button(key="steps_undo").click().run()
    assert [s.kind for s in steps(at)] == ["filter", "drop"], "every change to the steps can be undone"


def test_a_preset_says_which_columns_it_left_as_they_are():
    catalog = Catalog()
    load_public(catalog, "cars")
    at = open_pipeline(catalog)
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    said = next(c.value for c in at.caption if "Used 'Clean and encode for modelling'" in c.value)
    kept = "Origin — the likely target (a label); Miles_per_Gallon — the likely target (a measure); Name — free text ("
    assert f"Left as they are: {kept}" in said
    assert not [s for s in steps(at) if s.kind in ("one_hot", "label_encode")], "neither the label nor the names"
    assert len(step_table(at)) == 4, "it ran"


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


def estimates_of(at: AppTest) -> pd.DataFrame:
    expander = next(e for e in at.expander if "Published GPU speed-ups" in e.label)
    assert "an estimate, not a measurement" in expander.label
    return next(d.value for d in expander.dataframe if "measured CPU time" in d.value.columns)


def table_of_400_rows() -> Catalog:
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file

    lines = ["shop,comment,amount,units"] + [
        f"{('north', 'south', 'east')[i % 3]},note {i} about the order,{10 + (i * 37) % 500},{1 + i % 7}"
        for i in range(400)
    ]
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("orders.csv", "\n".join(lines).encode()), available_engines())
    return catalog


@pytest.mark.skipif(device_status().available, reason="on a GPU machine the page measures the GPU instead")
def test_without_a_gpu_the_cpu_times_sit_beside_a_size_aware_gpu_estimate():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("group_aggregate").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    table = estimates_of(at)
    assert table["work"].tolist() == ["1. Group and aggregate", "2. Sort rows"], "the steps as the page names them"
    assert table["rows"].tolist() == ["150", "3"], "each step's own input: iris, then its three groups"
    assert table["similar published work"].tolist() == ["group-by", "none published"]
    assert table.loc[0, "published speed-up"] == "138.5× (measured at 100,000,000 rows)"
    gpu_columns = [c for c in table.columns if "GPU" in c]
    assert gpu_columns and all("estimate" in c for c in gpu_columns), "an estimate is never called measured"


@pytest.mark.skipif(device_status().available, reason="on a GPU machine the page measures the GPU instead")
def test_a_400_row_table_gets_no_gpu_estimate_under_the_fixed_cost_and_is_told_the_gpu_will_not_help():
    from pipeline.published.size_model import fixed_cost, fixed_cost_measurements
    from ui import format as fmt

    lowest = fixed_cost(fixed_cost_measurements(), "group-by").low
    units = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}
    at = open_pipeline(table_of_400_rows())
    for preset in ("group_aggregate", "time_and_text"):
        at.selectbox(key="preset_name").set_value(preset).run()
        at.button(key="preset_run").click().run()
        assert not problems(at)
        table = estimates_of(at)
        alike = table[table["similar published work"] != "none published"]
        assert len(alike) and (alike["rows"] == "400").all()
        fastest = [
            float(text.split()[0].replace(",", "")) * units[text.split()[1]] for text in alike["estimated GPU time"]
        ]
        assert min(fastest) >= lowest * 0.999, f"never under the fixed cost ({fmt.seconds(lowest)})"
        assert alike["GPU verdict (estimate)"].str.startswith("not expected to help at this size").all()
        assert alike["sizes the sources measured"].str.contains("smaller than any table a source timed").all()


@pytest.mark.skipif(device_status().available, reason="on a GPU machine the page measures the GPU instead")
def test_preset_steps_with_no_published_figure_say_so_in_words():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    table = estimates_of(at)
    assert (table["similar published work"] == "none published").all()
    assert not table.isna().any().any(), "no None cell"
    assert (table["estimated GPU time"] == "no estimate: nothing published is like this work").all()
    assert (
        table["GPU cost per run, in the currency of the prices per hour (estimate)"]
        == "no estimate: nothing published is like this work"
    ).all()
    assert table["GPU verdict (estimate)"].str.startswith("not expected to help at this size").all(), "a small table"


@pytest.mark.skipif(device_status().available, reason="on a GPU machine the page measures the GPU instead")
def test_cars_cleaned_for_modelling_is_told_outside_the_estimates_that_406_rows_is_too_small_for_a_gpu():
    catalog = Catalog()
    load_public(catalog, "cars")
    at = open_pipeline(catalog)
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_run").click().run()
    assert not problems(at)
    line = next(i.value for i in at.info if "not expected to help at this size" in i.value)
    assert "every piece of work" in line and "406 rows" in line and "10,000 rows" in line
    table = estimates_of(at)
    assert table["GPU verdict (estimate)"].str.startswith("not expected to help at this size").all()
    assert (table["estimated GPU time"] == "no estimate: nothing published is like this work").all()


def test_saving_the_result_gives_it_its_own_recipe_and_keeps_the_steps_with_their_dataset():
    at = open_pipeline()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_run").click().run()
    made = list(steps(at))
    assert any(s.kind == "scale" for s in made)
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
    assert any("Step 4" in p and "'split' exists already" in p for p in problems(at)), "iris's steps do not apply"
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


def test_each_dataset_keeps_its_last_run_when_another_is_made_active_and_back():
    catalog = Catalog()
    iris = load_bundled(catalog, "iris", available_engines())
    at = open_pipeline(catalog)
    at.selectbox(key="preset_name").set_value("group_aggregate").run()
    at.button(key="preset_run").click().run()
    assert step_table(at)["rows × columns"].tolist()[0] == "3 × 8"
    other = load_public(catalog, "cars")
    assert catalog.active.id == other.id
    at.run()
    assert not any(s.value == "Result" for s in at.subheader), "cars has no run of its own"
    kept = at.session_state["pipeline_result"][iris.id][1]
    assert all(run.frame is None for run in kept.runs.values()), "a dataset not in view keeps no result frames"
    catalog.set_active(iris.id)
    at.run()
    assert not problems(at)
    assert any(s.value == "Result" for s in at.subheader), "back on iris, its last run is shown again"
    assert step_table(at)["rows × columns"].tolist()[0] == "3 × 8"
    assert any("its times and checks, not its rows" in c.value for c in at.caption)
