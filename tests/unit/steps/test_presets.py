"""The Pipeline's presets on real tables: they leave the likely targets, ids and free text as they are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.engines import get_engine
from pipeline.errors import DataError
from pipeline.steps.presets import PRESETS, fit_preset, preset_recipe
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import Recipe, Step


def touched(steps: tuple[Step, ...], kinds: tuple[str, ...]) -> set[str]:
    """The columns the steps of these kinds change."""
    names: set[str] = set()
    for step in steps:
        if step.kind in kinds:
            names |= set(step.params.get("columns", [])) | {step.params.get("column")} - {None}
    return names


def ran(frame: pd.DataFrame, steps: tuple[Step, ...]) -> pd.DataFrame:
    engine = get_engine("cpu")
    run = run_recipe(check_recipe(Recipe(steps), frame, engine), frame, engine)
    assert run.ok, run.error
    return run.frame


def test_clean_and_encode_leaves_the_targets_and_the_free_text_of_cars_alone(cars):
    fitted = fit_preset("clean_and_encode", cars)
    assert fitted.left_alone == {
        "Origin": "the likely target (a label)",
        "Miles_per_Gallon": "the likely target (a measure)",
        "Name": "free text (311 distinct values in the first rows)",
    }
    steps = fitted.recipe.steps
    assert not touched(steps, ("one_hot", "label_encode")) & {"Origin", "Name"}, "no label or free text encoded"
    assert "Miles_per_Gallon" not in touched(steps, ("scale", "fill_missing")), "the measure keeps its values"
    assert touched(steps, ("scale",)) == {"Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"}
    result = ran(cars, steps)
    assert result["Origin"].tolist() == cars["Origin"].tolist() and "Name" in result.columns
    assert result["Miles_per_Gallon"].isna().sum() == cars["Miles_per_Gallon"].isna().sum()


def test_clean_and_encode_keeps_the_weather_as_a_label_and_scales_the_measurements(weather):
    fitted = fit_preset("clean_and_encode", weather)
    assert fitted.left_alone == {"weather": "the likely target (a label)"}
    assert not touched(fitted.recipe.steps, ("one_hot", "label_encode"))
    assert touched(fitted.recipe.steps, ("scale",)) == {"precipitation", "temp_max", "temp_min", "wind"}


def test_long_free_text_is_never_encoded_however_few_its_rows():
    notes = ["the delivery came late and the box was damaged on arrival", "arrived on time, well packed and intact"]
    frame = pd.DataFrame(
        {
            "note": pd.Series(notes * 5, dtype="str"),
            "shop": pd.Series(["north", "south"] * 5, dtype="str"),
            "amount": range(10),
            "returned": pd.Series(["yes", "no", "no", "no", "yes"] * 2, dtype="str"),
        }
    )
    fitted = fit_preset("clean_and_encode", frame)
    assert touched(fitted.recipe.steps, ("one_hot", "label_encode")) == {"shop"}
    assert fitted.left_alone == {
        "returned": "the likely target (a label)",
        "note": "free text (48 characters a value on average)",
    }


def test_date_and_text_features_measure_free_text_not_labels(cars):
    fitted = fit_preset("time_and_text", cars)
    lengths = {s.params["column"] for s in fitted.recipe.steps if s.kind == "string" and s.params["op"] == "length"}
    assert lengths == {"Name"}, "the length of a category says nothing"
    assert "Origin" not in touched(fitted.recipe.steps, ("string",)), "the label keeps its values"
    assert fitted.left_alone == {"Origin": "the likely target (a label)"}


def table_of_every_role(rows: int = 200) -> pd.DataFrame:
    """An id, a measurement with a gap, a category with a gap, a flag, categories of 49 and 50 levels, a named
    label and a train/test marker."""
    return pd.DataFrame(
        {
            "id": range(rows),
            "size": [np.nan] + [i * 0.5 for i in range(1, rows)],
            "shop": pd.Series([None] + ["north", "south"] * (rows // 2 - 1) + ["north"], dtype="str"),
            "flag": [i % 2 == 0 for i in range(rows)],
            "c49": pd.Series([f"k{i % 49}" for i in range(rows)], dtype="str"),
            "c50": pd.Series([f"k{i % 50}" for i in range(rows)], dtype="str"),
            "label": pd.Series(["a", "b", "c", "a"] * (rows // 4), dtype="str"),
            "split": pd.Series(["train", "test"] * (rows // 2), dtype="str"),
        }
    )


def test_clean_and_encode_gives_its_documented_steps_in_order():
    """Duplicates dropped; numbers filled with the median; each category filled with "(missing)" and one-hot
    encoded while it has at most 50 levels with that one (label-encoded past it), a flag one-hot encoded as it is;
    numbers scaled; a train/test split in a column of a name not taken."""
    fitted = fit_preset("clean_and_encode", table_of_every_role())
    filled = {"method": "constant", "value": "(missing)"}
    assert fitted.recipe.steps == (
        Step("drop_duplicates", {}),
        Step("fill_missing", {"columns": ["size"], "method": "median"}),
        Step("fill_missing", {"columns": ["shop"], **filled}),
        Step("one_hot", {"columns": ["shop"], "max_levels": 50}),
        Step("one_hot", {"columns": ["flag"], "max_levels": 50}),
        Step("fill_missing", {"columns": ["c49"], **filled}),
        Step("one_hot", {"columns": ["c49"], "max_levels": 50}),
        Step("fill_missing", {"columns": ["c50"], **filled}),
        Step("label_encode", {"column": "c50"}),
        Step("scale", {"columns": ["size"], "method": "standard"}),
        Step("train_test_split", {"test_fraction": 0.2, "seed": 0, "column": "split_2"}),
    )
    assert fitted.left_alone == {
        "label": "the likely target (a label)",
        "id": "a different value in every row: likely an id",
        "split": "a train/test marker",
    }
    result = ran(table_of_every_role(), fitted.recipe.steps)
    assert "shop=(missing)" in result.columns and result["c50"].nunique() == 50
    assert result["split_2"].value_counts().to_dict().keys() == {"train", "test"}


def test_clean_and_encode_of_a_table_with_nothing_to_change_only_drops_duplicates_and_splits():
    frame = pd.DataFrame({"split": ["train", "test"] * 15, "split_2": range(30)})  # a marker and an id
    fitted = fit_preset("clean_and_encode", frame)
    assert fitted.recipe.steps == (
        Step("drop_duplicates", {}),
        Step("train_test_split", {"test_fraction": 0.2, "seed": 0, "column": "split_3"}),
    )
    assert set(fitted.left_alone) == {"split", "split_2"}


GROUPED = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],  # a row id: never aggregated while other numbers are
        "k1": pd.Series(list("aabbcc"), dtype="str"),
        "k2": pd.Series(list("xyxyxy"), dtype="str"),
        "k3": pd.Series(list("pqpqpq"), dtype="str"),
        "v1": [1, 1, 2, 2, 3, 3],
        "v2": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
        "v3": [5, 5, 5, 6, 6, 6],
        "v4": [0.5, 0.5, 1.0, 1.0, 1.0, 1.0],
    }
)


def test_group_aggregate_groups_by_the_first_key_of_fewest_levels_and_sums_the_last_three_measures():
    fitted = fit_preset("group_aggregate", GROUPED)
    sums_and_means = [{"column": c, "function": f} for c in ("v2", "v3", "v4") for f in ("sum", "mean")]
    assert fitted.recipe.steps == (
        Step(
            "group_aggregate", {"by": ["k2"], "aggregations": [{"column": "v2", "function": "count"}, *sums_and_means]}
        ),
        Step("sort", {"columns": ["v2_sum"], "ascending": False}),
    )
    assert fitted.left_alone == {}
    result = ran(GROUPED, fitted.recipe.steps)
    assert result[["k2", "v2_count", "v2_sum", "v3_sum"]].values.tolist() == [["y", 3, 6.0, 17], ["x", 3, 3.0, 16]]


def test_group_aggregate_takes_the_row_ids_only_when_every_number_is_one():
    frame = pd.DataFrame({"k": pd.Series(list("abab"), dtype="str"), "n": [1, 2, 3, 4], "m": [4.0, 3.0, 2.0, 1.0]})
    fitted = fit_preset("group_aggregate", frame)
    assert [a["column"] for a in fitted.recipe.steps[0].params["aggregations"]] == ["n", "n", "n", "m", "m"]
    with_ids = frame.assign(m=[1.0, 1.0, 2.0, 2.0])  # n is now the only number with a value a row: left out
    assert [a["column"] for a in fit_preset("group_aggregate", with_ids).recipe.steps[0].params["aggregations"]] == [
        "m",
        "m",
        "m",
    ]


@pytest.mark.parametrize(
    "frame",
    [pd.DataFrame({"n": [1, 2]}), pd.DataFrame({"t": pd.Series(["a", "b"], dtype="str")})],
    ids=["no key", "no number"],
)
def test_group_aggregate_needs_a_key_and_a_number(frame):
    with pytest.raises(DataError) as raised:
        fit_preset("group_aggregate", frame)
    assert str(raised.value) == "This preset needs a text column to group by and a numeric column to aggregate."


def test_date_and_text_features_give_calendar_parts_clean_text_and_the_length_of_free_text():
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", "2024-02-01"] * 30),
            "city": pd.Series(["Oslo", "Rome", "Lima"] * 20, dtype="str"),
            "note": pd.Series([f"a rather long note about delivery number {i} and more" for i in range(60)]),
            "species": pd.Series(["a", "b"] * 30, dtype="str"),
            "n": range(60),
        }
    )
    fitted = fit_preset("time_and_text", frame)
    assert fitted.recipe.steps == (
        Step("datetime_parts", {"column": "when", "parts": ["year", "month", "weekday", "hour"]}),
        Step("string", {"column": "city", "op": "strip"}),
        Step("string", {"column": "city", "op": "lower"}),
        Step("string", {"column": "note", "op": "strip"}),
        Step("string", {"column": "note", "op": "lower"}),
        Step("string", {"column": "note", "op": "length"}),
    )
    assert fitted.left_alone == {"species": "the likely target (a label)"}


def test_date_and_text_features_of_times_alone_and_their_refusal_without_either():
    times = pd.DataFrame({"when": pd.to_datetime(["2024-01-01"]), "n": [1]})
    assert preset_recipe("time_and_text", times).steps == (
        Step("datetime_parts", {"column": "when", "parts": ["year", "month", "weekday", "hour"]}),
    )
    with pytest.raises(DataError) as raised:
        fit_preset("time_and_text", pd.DataFrame({"n": [1]}))
    assert str(raised.value) == "This preset needs a date/time or text column; this table has neither."


def test_the_presets_are_offered_by_name_with_their_labels_and_an_unknown_one_is_refused():
    assert {name: label for name, (label, _fit) in PRESETS.items()} == {
        "clean_and_encode": "Clean and encode for modelling",
        "group_aggregate": "db-benchmark style aggregation",
        "time_and_text": "Date and text features",
    }
    assert preset_recipe("group_aggregate", GROUPED) == fit_preset("group_aggregate", GROUPED).recipe
    with pytest.raises(DataError) as raised:
        fit_preset("nothing", GROUPED)
    assert (
        str(raised.value)
        == "No preset called 'nothing': choose one of clean_and_encode, group_aggregate, time_and_text."
    )
