from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.parity import compare_frames, compare_nested, compare_results


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


def test_a_flag_is_not_a_number_in_nested_results():
    """`True == 1` in Python, but a result that says True where the other engine says 1 differs."""
    assert compare_nested({"converged": True}, {"converged": 1}) == [".converged: True vs 1"]
    assert compare_nested([0, False], [0, 0]) == ["[1]: False vs 0"]
    assert compare_nested({"converged": True, "count": 1}, {"converged": True, "count": 1}) == []


def test_float_tolerance_is_relative_to_the_column_scale_far_from_one():
    """rtol scales with the values: tiny values (1e-9) half again as large differ, large ones (1e6) differ by a unit,
    while a difference of one part in 1e10 passes at either scale."""
    assert compare_frames(frame(v=[1e-9, 3e-9]), frame(v=[1e-9, 3e-9 * (1 + 1e-10)])).ok
    assert not compare_frames(frame(v=[1e-9, 3e-9]), frame(v=[1.5e-9, 3e-9])).ok
    assert compare_frames(frame(v=[1e6, 3e6]), frame(v=[1e6, 3e6 * (1 + 1e-10)])).ok
    assert compare_frames(frame(v=[1e6, 3e6]), frame(v=[1e6 + 1, 3e6])).mismatches == [
        "'v': 1 values differ beyond rtol=1e-09"
    ]


def test_nested_float_tolerance_far_from_one():
    """Nested results: within rtol 1e-7 of the value, or within atol 1e-9 near zero."""
    assert compare_nested(5e-9, 5.5e-9) == []  # 5e-10 apart: within atol
    assert compare_nested(1e-9, 5e-9) == ["result: 1e-09 vs 5e-09"]  # 4e-9 apart: beyond atol, rtol is no help
    assert compare_nested(1e6, 1e6 + 0.05) == []  # 5e-8 of the value: within rtol
    assert compare_nested(1e6, 1e6 + 0.5) == ["result: 1000000.0 vs 1000000.5"]


def test_flags_and_whole_numbers_differ_whichever_engine_is_the_reference():
    """One engine's True/False against another's 1/0 is a difference, found the same with either on the left."""
    flags, numbers = frame(a=[True, False]), frame(a=[1, 0])
    for left, right in ((flags, numbers), (numbers, flags)):
        (mismatch,) = compare_frames(left, right).mismatches
        assert mismatch.startswith("'a': 2 values differ (first: ")


def test_counts_in_mismatches_are_of_the_rows_that_differ():
    assert compare_frames(frame(a=[1.0, np.nan, 3.0]), frame(a=[1.0, 2.0, 3.0])).mismatches == [
        "'a': missing values differ in 1 rows"
    ]
    assert compare_frames(frame(v=[1.0, 2.0, 3.0]), frame(v=[1.0, 2.5, 3.0])).mismatches == [
        "'v': 1 values differ beyond rtol=1e-09"
    ]


def test_rounding_noise_next_to_zero_is_within_the_column_s_scale_and_infinities_compare_as_equal():
    """A running sum leaves 1e-16 where another order of additions gives exactly 0: noise at the scale of a column
    whose values reach 1; a column of infinities alone has no scale and still agrees with itself."""
    assert compare_frames(frame(v=[1.0, 1e-16]), frame(v=[1.0, 0.0])).ok
    assert compare_frames(frame(v=[np.inf, -np.inf]), frame(v=[np.inf, -np.inf])).ok
    assert not compare_frames(frame(v=[np.inf, 1.0]), frame(v=[-np.inf, 1.0])).ok


def test_a_nested_result_of_another_shape_is_a_difference_not_an_error():
    assert compare_nested({"a": 1}, None) == ["result: {'a': 1} vs None"]
    assert compare_nested([1], None) == ["result: [1] vs None"]
    assert compare_nested({"items": [1]}, {"items": {"0": 1}}) == [".items: [1] vs {'0': 1}"]


def test_nested_tolerances_reach_every_level():
    left = {"mean": 1.0, "items": [{"share": 0.0}]}
    assert compare_nested(left, {"mean": 1.001, "items": [{"share": 0.0}]}, rtol=0.01) == []
    assert compare_nested(left, {"mean": 1.0, "items": [{"share": 1e-6}]}, atol=1e-5) == []
    assert compare_nested([[1.0]], [[1.001]], rtol=0.01) == []
    assert compare_nested([[0.0]], [[1e-6]], atol=1e-5) == []
    assert compare_nested(left, {"mean": 1.0, "items": [{"share": 1e-6}]}) == [".items[0].share: 0.0 vs 1e-06"]


def test_a_whole_number_and_the_same_float_agree_in_nested_results():
    """One engine's mean of whole numbers may come back as 2 where the other's says 2.0; a flag still differs."""
    assert compare_nested({"mean": 2.0}, {"mean": 2}) == [] and compare_nested(2, 2.0) == []
    assert compare_nested(1.0, True) == ["result: 1.0 vs True"]


def test_results_of_undefined_row_order_are_matched_after_sorting_both():
    left = frame(k=["b", 1, None, "a"], v=[2.0, 1.0, np.nan, 4.0])  # text and numbers mixed; a missing key
    right = frame(k=["a", None, "b", 1], v=[4.0, np.nan, 2.0, 1.0 + 1e-12])
    assert compare_results(left, right, ordered=False).ok
    assert compare_results(left[["v"]], right[["v"]], ordered=False).ok, "one column"
    assert compare_results(left[["k"]], right[["k"]], ordered=False).ok, "one column of text and numbers"
    assert compare_results(left, right, ordered=True).mismatches == [
        "'k': missing values differ in 2 rows",
        "'v': missing values differ in 2 rows",
    ]
    assert compare_results(left, right.iloc[:3], ordered=False).mismatches == ["row counts differ: 4 vs 3"]
    assert compare_results(left, right[["v", "k"]], ordered=False).mismatches == [
        "columns differ: ['k', 'v'] vs ['v', 'k']"
    ]


def test_results_compare_within_the_tolerance_asked_for():
    assert not compare_results(frame(v=[1.0]), frame(v=[1.0001]), ordered=True).ok, "1e-9 by default"
    assert compare_results(frame(v=[1.0]), frame(v=[1.0001]), ordered=True, rtol=1e-3).ok


def test_decimals_compare_as_numbers_with_either_engine_on_the_left():
    """A Parquet decimal column (Arrow-backed) on one engine agrees with the same values as floats on the other."""
    decimals = frame(d=pd.Series([Decimal("1.5"), Decimal("2.25")], dtype=pd.ArrowDtype(pa.decimal128(5, 2))))
    floats = frame(d=[1.5, 2.25])
    assert compare_frames(decimals, floats).ok and compare_frames(floats, decimals).ok
    assert compare_frames(decimals, frame(d=[1.5, 2.5])).mismatches == ["'d': 1 values differ beyond rtol=1e-09"]
