"""The Models page's first choices: a real label as target, no ids or free text among the features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.models.algorithms import CLASSIFICATION, REGRESSION
from pipeline.models.defaults import column_facts, default_target, left_out


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


def test_ids_and_free_text_are_left_out_with_their_reasons():
    frame = survey()
    reasons = left_out(column_facts(frame, list(frame.columns)))
    assert set(reasons) == {"id", "comment"}
    assert reasons["id"].endswith("likely an id") and reasons["comment"].endswith("likely an id or free text")
    frame.loc[::2, "comment"] = "same"  # no longer unique, still far too many values to learn from
    assert "free text (151 distinct" in left_out(column_facts(frame, ["comment"]))["comment"]


def test_the_default_target_is_a_label_not_the_last_column():
    frame = survey()
    facts = column_facts(frame, list(frame.columns))
    assert default_target(facts, CLASSIFICATION, list(frame.columns)) == "city"
    renamed = frame.rename(columns={"churned": "label"})
    facts = column_facts(renamed, list(renamed.columns))
    assert default_target(facts, CLASSIFICATION, list(renamed.columns)) == "label", "a label's name wins"
    numeric = [c for c in renamed.columns if facts[c].kind == "numeric"]
    assert default_target(facts, REGRESSION, numeric) == "income", "not the id, not the indicator"


def test_unique_whole_numbers_spread_wide_are_measures_not_ids():
    frame = pd.DataFrame({"income": [1000 + (i * 37) % 500 for i in range(200)], "row": range(200)})
    assert set(left_out(column_facts(frame, ["income", "row"]))) == {"row"}


def test_a_small_table_has_no_id_by_uniqueness_alone():
    frame = pd.DataFrame({"n": [3, 1, 2], "y": ["a", "b", "a"]})
    assert left_out(column_facts(frame, ["n", "y"])) == {}
