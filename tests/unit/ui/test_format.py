"""Numbers and texts as the pages show them to people: rounded, time spans in words, missing values as a dash,
names and notes from files as they are."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipeline.profile import shown
from ui.format import MISSING, literal, number, people_table, significant


def test_a_result_table_is_rounded_spans_are_words_and_missing_is_a_dash():
    table = pd.DataFrame(
        {
            "metric": ["MAE", "R²", "log loss"],
            "CPU (pandas)": [19.30075187969925, 0.8756866637108167, None],  # None: not computed for this task
            "rows": [1_234_567.891, 2.0, 3.5],
            "count": [406, 392, 8],
            "range": pd.to_timedelta([4383, 1, None], unit="D"),
            "note": ["ok", None, "x"],
        }
    )
    shown_table = people_table(table)
    assert shown_table["CPU (pandas)"].tolist() == ["19.3", "0.8757", MISSING]
    assert shown_table["rows"].tolist() == [1_234_568.0, 2.0, 3.5]  # none missing: still numbers, still sortable
    assert pd.api.types.is_float_dtype(shown_table["rows"]) and shown_table["count"].tolist() == [406, 392, 8]
    assert shown_table["range"].tolist() == ["12.0 years (4,383 days)", "1 day", MISSING]
    assert shown_table["note"].tolist() == ["ok", MISSING, "x"]
    assert table["CPU (pandas)"].iloc[0] == 19.30075187969925, "the table given is left as it was"


def test_a_data_preview_keeps_every_digit_and_dashes_what_is_missing():
    preview = pd.DataFrame({"mpg": [18.0, np.nan, 31.123456789], "name": ["a", None, "c"]})
    shown_table = people_table(preview, digits=None)
    assert shown_table["mpg"].tolist() == ["18", MISSING, "31.123456789"]
    assert shown_table["name"].tolist() == ["a", MISSING, "c"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(19.30075187969925, "19.3"), (0.000123456, "0.0001235"), (1234567.8, "1,234,568"), (7, "7"), (-2.5, "-2.5")],
)
def test_numbers_keep_four_significant_digits_but_every_whole_digit(value, text):
    assert number(value) == text
    assert significant(float(value)) == float(text.replace(",", ""))


def test_a_time_span_statistic_reads_in_words():
    assert shown(pd.Timedelta(days=4383)) == "12.0 years (4,383 days)"
    assert shown(pd.Timedelta(hours=84)) == "3.5 days"
    assert shown(np.timedelta64(45, "m")) == "45 minutes"
    assert shown(pd.NaT) == MISSING


def test_a_name_or_note_from_a_file_is_shown_literally_never_as_a_link_image_or_icon():
    hostile = "![x](http://198.51.100.7/p.png) [click](javascript:alert(1)) :material/home: **bold** <b>x</b>"
    shown = literal(hostile)
    assert re.sub(r"\\(.)", r"\1", shown) == hostile, "unescaped, it is the text itself"
    unescaped_special = re.findall(r"(?<!\\)[\[\]()!:*<>]", shown)
    assert not unescaped_special, f"a markdown character left as markup: {unescaped_special}"
