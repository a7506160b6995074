"""The Pipeline's presets on real tables: they leave the likely targets, ids and free text as they are."""

from __future__ import annotations

import pandas as pd

from pipeline.engines import get_engine
from pipeline.steps.presets import fit_preset
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
