"""The Models page's first choices: a real label or measure as target, no ids or free text among the features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.engines import get_engine
from pipeline.models.algorithms import CLASSIFICATION, REGRESSION
from pipeline.models.defaults import default_target
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import Recipe, Step
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT, column_kind
from pipeline.tables.column_roles import column_facts, left_out, likely_targets


def survey(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "comment": pd.Series([f"free text number {i}" for i in range(rows)], dtype="str"),
            "age": rng.integers(18, 90, rows),
            "income": rng.normal(50_000, 10_000, rows),
            "churned": pd.Series(rng.choice(["yes", "no"], rows), dtype="str"),
            "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune"], rows), dtype="str"),
            "city=Oslo": rng.integers(0, 2, rows).astype("int8"),  # a one-hot indicator, last
        }
    )


def targets(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """The first target the Models page offers for classification and for regression, as its `choose` asks."""
    usable = [c for c in frame.columns if column_kind(frame[c]) in (NUMERIC, BOOLEAN, TEXT)]
    facts = column_facts(frame, usable)
    numeric = [c for c in usable if facts[c].kind == NUMERIC]
    return default_target(facts, CLASSIFICATION, usable), default_target(facts, REGRESSION, numeric)


def after(frame: pd.DataFrame, *steps: Step) -> pd.DataFrame:
    engine = get_engine("cpu")
    run = run_recipe(check_recipe(Recipe(steps), frame, engine), frame, engine)
    assert run.ok, run.error
    return run.frame


def test_ids_and_free_text_are_left_out_with_their_reasons():
    frame = survey()
    reasons = left_out(column_facts(frame, list(frame.columns)))
    assert set(reasons) == {"id", "comment"}
    assert reasons["id"].endswith("likely an id") and reasons["comment"].endswith("likely an id or free text")
    frame.loc[::2, "comment"] = "same"  # no longer unique, still far too many values to learn from
    assert "free text (151 distinct" in left_out(column_facts(frame, ["comment"]))["comment"]


def test_long_text_is_free_text_however_few_its_values():
    notes = ["the delivery came late and the box was damaged on arrival", "arrived on time, well packed and intact"]
    frame = pd.DataFrame({"note": pd.Series(notes * 5, dtype="str"), "kind": pd.Series(["a", "b"] * 5, dtype="str")})
    assert left_out(column_facts(frame, ["note", "kind"])) == {"note": "free text (48 characters a value on average)"}


def test_the_default_target_is_a_label_not_the_last_column():
    frame = survey()
    facts = column_facts(frame, list(frame.columns))
    assert default_target(facts, CLASSIFICATION, list(frame.columns)) == "city"
    renamed = frame.rename(columns={"churned": "label"})
    facts = column_facts(renamed, list(renamed.columns))
    assert default_target(facts, CLASSIFICATION, list(renamed.columns)) == "label", "a label's name wins"
    numeric = [c for c in renamed.columns if facts[c].kind == "numeric"]
    assert default_target(facts, REGRESSION, numeric) == "income", "not the id, not the indicator"


def test_on_cars_the_targets_are_the_origin_and_the_miles_per_gallon(cars):
    assert targets(cars) == ("Origin", "Miles_per_Gallon"), "a label; a measure named as a rate, not the last number"


def test_on_seattle_weather_the_label_is_the_weather(weather):
    assert targets(weather)[0] == "weather"


def test_columns_made_by_pipeline_steps_are_not_offered_first(cars, weather):
    parts = Step("datetime_parts", {"column": "Year", "parts": ["year", "month", "weekday", "hour"]})
    lengths = Step("string", {"column": "Origin", "op": "length"})
    assert targets(after(cars, parts, lengths)) == ("Origin", "Miles_per_Gallon"), "not Year_weekday, Origin_length"
    encoded = after(cars, Step("one_hot", {"columns": ["Origin"]}), Step("train_test_split", {}))
    assert targets(encoded)[0] == "Cylinders", "neither an Origin=… indicator nor the train/test marker"
    days = Step("datetime_parts", {"column": "date", "parts": ["year", "month", "day"]})
    assert targets(after(weather, days, Step("train_test_split", {}))) == ("weather", "wind"), "not date_month"


def test_the_likely_targets_are_a_label_and_a_named_measure(cars, weather):
    usable = [c for c in cars.columns if column_kind(cars[c]) != "datetime"]
    assert likely_targets(column_facts(cars, usable)) == {
        "Origin": "the likely target (a label)",
        "Miles_per_Gallon": "the likely target (a measure)",
    }
    numbers = ["precipitation", "temp_max", "temp_min", "wind"]
    assert list(likely_targets(column_facts(weather, [*numbers, "weather"]))) == ["weather"], "no measure is named"
    assert likely_targets(column_facts(weather, numbers)) == {}, "numbers alone: nothing to keep back"


def test_unique_whole_numbers_spread_wide_are_measures_not_ids():
    frame = pd.DataFrame({"income": [1000 + (i * 37) % 500 for i in range(200)], "row": range(200)})
    assert set(left_out(column_facts(frame, ["income", "row"]))) == {"row"}


def test_a_small_table_has_no_id_by_uniqueness_alone():
    frame = pd.DataFrame({"n": [3, 1, 2], "y": ["a", "b", "a"]})
    assert left_out(column_facts(frame, ["n", "y"])) == {}
