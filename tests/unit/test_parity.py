import numpy as np
import pandas as pd

from pipeline.parity import compare_frames, compare_nested


def frame(**columns):
    return pd.DataFrame(columns)


def test_equal_values_with_different_dtypes_agree():
    left = frame(a=[1, 2, None], s=pd.Series(["x", None, "z"], dtype="str"))
    right = frame(a=pd.Series([1, 2, None], dtype="Int64"), s=pd.Series(["x", None, "z"], dtype=object))
    assert compare_frames(left, right).ok


def test_float_tolerance():
    assert compare_frames(frame(v=[1.0, 2.0]), frame(v=[1.0, 2.0 + 1e-12])).ok
    parity = compare_frames(frame(v=[1.0, 2.0]), frame(v=[1.0, 2.1]))
    assert parity.mismatches == ["'v': 1 values differ beyond rtol=1e-09"]


def test_each_kind_of_difference_is_named():
    assert compare_frames(frame(a=[1]), frame(b=[1])).mismatches == ["columns differ: ['a'] vs ['b']"]
    assert compare_frames(frame(a=[1]), frame(a=[1, 2])).mismatches == ["row counts differ: 1 vs 2"]
    assert compare_frames(frame(a=[1.0, np.nan]), frame(a=[1.0, 2.0])).mismatches == [
        "'a': missing values differ in 1 rows"
    ]
    assert compare_frames(frame(s=["x", "y"]), frame(s=["x", "q"])).mismatches == [
        "'s': 1 values differ (first: 'y' vs 'q')"
    ]
    assert not compare_frames(frame(b=[True, False]), frame(b=[True, True])).ok


def test_nested_results_compare_counts_exactly_and_floats_within_tolerance():
    left = {"count": 3, "mean": 1.0, "items": [{"value": "a", "share": 0.5}], "note": None}
    assert (
        compare_nested(left, {"count": 3, "mean": 1.0 + 1e-12, "items": [{"value": "a", "share": 0.5}], "note": None})
        == []
    )
    assert compare_nested(left, {**left, "count": 4}) == [".count: 3 vs 4"]
    assert compare_nested(left, {**left, "mean": 1.1}) == [".mean: 1.0 vs 1.1"]
    assert compare_nested(left, {**left, "mean": None}) == [".mean: 1.0 vs None"]
    assert compare_nested(left, {**left, "items": []}) == [".items: 1 vs 0 items"]
    assert compare_nested(left, {"count": 3}) != []
