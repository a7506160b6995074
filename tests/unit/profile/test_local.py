"""Every profile statistic against an independent computation (numpy, scipy, plain Python), and bad tables."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats as scipy_stats

from pipeline.errors import DataError
from pipeline.profile import PRESETS, ProfileSettings, compare_profiles, profile_frame
from pipeline.profile.correlations import (
    average_ranks,
    cramers_v,
    pairs_missing_apart,
    ranks_within,
    shared_rank_correlation,
)
from pipeline.profile.model import ColumnProfile, TableStats
from pipeline.tables.column_kinds import column_kind
from pipeline.tables.synthetic import SyntheticSpec, generate


@pytest.fixture
def numbers() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=500)
    values[[3, 50, 77]] = np.nan
    values[10] = np.inf
    values[11] = -np.inf
    values[[20, 21]] = 0.0
    values[30] = -2.5
    return pd.DataFrame({"x": values, "k": rng.integers(0, 6, 500), "y": rng.normal(size=500)})


def test_numeric_statistics_match_numpy_and_scipy(cpu, numbers):
    profile = profile_frame(cpu, numbers)
    column = profile.column("x")
    raw = numbers["x"].to_numpy()
    finite = raw[np.isfinite(raw)]
    stats = column.stats
    assert column.kind == "numeric"
    assert (column.count, column.missing) == (497, 3)
    assert stats["infinite"] == 2
    assert stats["mean"] == pytest.approx(finite.mean(), rel=1e-12)
    assert stats["std"] == pytest.approx(finite.std(ddof=1), rel=1e-12)
    assert stats["skew"] == pytest.approx(scipy_stats.skew(finite, bias=False), rel=1e-10)
    assert stats["kurtosis"] == pytest.approx(scipy_stats.kurtosis(finite, bias=False), rel=1e-10)
    assert (stats["min"], stats["max"]) == (finite.min(), finite.max())
    for q, key in zip((0.05, 0.25, 0.5, 0.75, 0.95), ("p5", "p25", "p50", "p75", "p95"), strict=True):
        assert stats[key] == pytest.approx(np.quantile(finite, q), rel=1e-12)
    assert stats["zeros"] == 2
    assert stats["negatives"] == 1
    assert column.distinct == len(set(raw[~np.isnan(raw)].tolist()))
    expected, edges = np.histogram(finite, bins=30)
    np.testing.assert_allclose(column.histogram["start"], edges[:-1], rtol=1e-12)
    assert column.histogram["count"].tolist() == expected.tolist()
    assert "infinite" in column.flags and "skewed" in column.flags


@pytest.mark.parametrize("bins", [30, 6], ids=["fewer-values-than-bins", "as-many-values-as-bins"])
def test_small_integer_ranges_get_one_bin_per_value(cpu, numbers, bins):
    """Whole numbers 0 to 5 get a bin each, from v - 0.5 to v + 0.5, also when there are exactly as many bins."""
    column = profile_frame(cpu, numbers, ProfileSettings(bins=bins)).column("k")
    counts = Counter(numbers["k"].tolist())
    assert column.histogram["start"].tolist() == [v - 0.5 for v in range(6)]
    assert column.histogram["end"].tolist() == [v + 0.5 for v in range(6)]
    assert column.histogram["count"].tolist() == [counts[v] for v in range(6)]


def test_the_last_bin_of_a_float_column_ends_at_its_largest_value(cpu):
    """Equal-width bins of floats run from the smallest value to the largest exactly, each ending where the next
    starts."""
    values = np.array([0.1, 0.7, 0.2, 1.7, 0.3])  # 0.1 + 6 × (1.6 / 6) is 1.7000000000000002 in floats
    histogram = profile_frame(cpu, pd.DataFrame({"x": values}), ProfileSettings(bins=6)).column("x").histogram
    expected, edges = np.histogram(values, bins=6)
    assert histogram["end"].iloc[-1] == 1.7 and histogram["start"].iloc[0] == 0.1
    assert histogram["start"].iloc[1:].tolist() == histogram["end"].iloc[:-1].tolist()
    np.testing.assert_allclose(histogram["end"], edges[1:], rtol=1e-15)
    assert histogram["count"].tolist() == expected.tolist()


def test_the_last_bin_of_whole_numbers_spanning_more_values_than_bins_ends_at_their_largest_value(cpu):
    """0 to 31 in 30 bins: 31 / 30 × 30 is 31.000000000000004 in floats, yet the last bin ends at 31 as numpy's does."""
    values = np.r_[np.arange(32), 5, 31]
    histogram = profile_frame(cpu, pd.DataFrame({"k": values}), ProfileSettings(bins=30)).column("k").histogram
    expected, edges = np.histogram(values, bins=30)
    assert histogram["end"].iloc[-1] == 31.0
    assert histogram["start"].tolist() == edges[:-1].tolist()
    assert histogram["end"].tolist() == edges[1:].tolist()
    assert histogram["count"].tolist() == expected.tolist()


def test_whole_numbers_from_3_to_8_in_6_bins_get_a_bin_each_counted_as_whole_numbers_in_the_json(cpu):
    """One bin per value also where the values do not start at 0; the profile's JSON counts rows as whole numbers."""
    values = [3, 4, 4, 5, 6, 7, 8, 8, 8]
    profile = profile_frame(cpu, pd.DataFrame({"k": values}), ProfileSettings(bins=6, chunk_rows=4))
    (column,) = profile.to_dict()["columns"]
    counts = Counter(values)
    expected = [{"start": v - 0.5, "end": v + 0.5, "count": counts[v]} for v in range(3, 9)]
    assert json.dumps(column["histogram"]) == json.dumps(expected)
    assert profile.column("k").dtype == "int64"


def test_text_statistics_match_counter(cpu):
    values = ["b", "a", "c", "a", None, "b", "long text here", "d", "a", "b"] * 3 + ["z"]
    frame = pd.DataFrame({"t": pd.Series(values, dtype="str")})
    column = profile_frame(cpu, frame, ProfileSettings(top_k=3, rare_share=0.05)).column("t")
    present = [v for v in values if v is not None]
    counts = Counter(present)
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]
    assert list(zip(column.top_values["value"], column.top_values["count"], strict=True)) == expected
    assert column.distinct == len(counts)
    assert column.stats["top"] == "a"
    assert column.stats["rare_share"] == pytest.approx(1 / len(present))
    lengths = [len(v) for v in present]
    assert (column.stats["min_length"], column.stats["max_length"]) == (min(lengths), max(lengths))
    assert column.stats["mean_length"] == pytest.approx(np.mean(lengths))
    assert column.histogram["count"].sum() == len(present)


def test_boolean_shares(cpu):
    frame = pd.DataFrame({"b": pd.array([True, False, True, None, True], dtype="boolean")})
    column = profile_frame(cpu, frame).column("b")
    assert column.kind == "boolean"
    assert (column.stats["true"], column.stats["false"], column.missing) == (3, 1, 1)
    assert column.stats["true_share"] == pytest.approx(0.75)
    assert column.top_values["value"].tolist() == ["True", "False"]


def test_datetime_with_time_zone_keeps_its_zone(cpu):
    stamps = pd.to_datetime(["2024-03-01 10:00", None, "2024-01-01 00:30", "2024-12-31 23:00"]).tz_localize(
        "America/New_York"
    )
    column = profile_frame(cpu, pd.DataFrame({"when": stamps})).column("when")
    assert column.kind == "datetime"
    assert column.stats["min"] == stamps.min() and column.stats["max"] == stamps.max()
    assert column.stats["timezone"] == "America/New_York"
    assert column.histogram["count"].sum() == 3
    assert column.histogram["start"].iloc[0] == stamps.min()


def test_correlations_match_pandas_and_scipy(cpu, numbers):
    frame = numbers.replace([np.inf, -np.inf], np.nan)
    frame["z"] = frame["y"] * 2 + np.random.default_rng(1).normal(size=500) * 0.1
    profile = profile_frame(cpu, frame)
    pearson = profile.correlations["pearson"]
    np.testing.assert_allclose(pearson.to_numpy(), frame.corr().to_numpy(), rtol=1e-10, atol=1e-12)
    complete = frame[["k", "y", "z"]]
    rho = scipy_stats.spearmanr(complete.to_numpy()).statistic
    np.testing.assert_allclose(
        profile.correlations["spearman"].loc[complete.columns, complete.columns], rho, rtol=1e-10
    )
    assert any(a.code == "high_correlation" and a.column == "y" for a in profile.alerts)


def test_a_strong_negative_correlation_is_an_alert_as_a_positive_one_is(cpu):
    """Price falling as distance grows (Pearson about -0.99) is as worth a look as two columns rising together."""
    rng = np.random.default_rng(4)
    distance = rng.uniform(1, 50, 60)
    frame = pd.DataFrame(
        {"distance": distance, "fare": 100 - 1.5 * distance + rng.normal(size=60), "z": rng.normal(size=60)}
    )
    profile = profile_frame(cpu, frame)
    r = frame["distance"].corr(frame["fare"])
    assert r < -0.9
    alerts = [(a.column, a.message) for a in profile.alerts if a.code == "high_correlation"]
    assert alerts == [("distance", f"'distance' and 'fare' are highly correlated (Pearson {r:.3f}).")]


def test_spearman_ranks_within_the_rows_each_pair_shares(cpu):
    rng = np.random.default_rng(7)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "y": x**3 + rng.normal(size=300), "z": rng.normal(size=300), "w": x * -2})
    frame.loc[rng.choice(300, 40, replace=False), "x"] = np.nan
    frame.loc[rng.choice(300, 60, replace=False), "y"] = np.nan
    frame.loc[frame["x"].isna(), "w"] = np.nan  # missing in the same rows as x
    profile = profile_frame(cpu, frame)
    expected = frame.corr(method="spearman")
    np.testing.assert_allclose(profile.correlations["spearman"].to_numpy(), expected.to_numpy(), rtol=1e-10, atol=1e-12)
    shared = frame[["x", "y"]].dropna()
    assert profile.correlations["spearman"].loc["x", "y"] == pytest.approx(
        scipy_stats.spearmanr(shared["x"], shared["y"]).statistic, rel=1e-12
    )


def test_ranks_match_scipy_over_every_present_row_and_within_any_subset_by_counting():
    values = np.array([3.0, 1.0, np.nan, 1.0, np.inf, -np.inf, 2.0, 2.0, 2.0, np.nan, -0.0, 0.0])
    ranks = average_ranks(np, values)
    np.testing.assert_array_equal(ranks, scipy_stats.rankdata(values, nan_policy="omit"))
    for step in (2, 3, 5):
        subset = ~np.isnan(values) & (np.arange(values.size) % step != 0)
        np.testing.assert_array_equal(ranks_within(np, ranks, subset), scipy_stats.rankdata(values[subset]))
    assert np.isnan(average_ranks(np, np.array([np.nan, np.nan]))).all()
    np.testing.assert_array_equal(average_ranks(np, np.array([5.0])), [1.0])


@pytest.mark.parametrize("seed", range(6))
def test_spearman_of_pairs_missing_apart_equals_pandas_and_scipy_to_1e_12(cpu, seed):
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(50, 3_000))
    x = rng.integers(0, int(rng.integers(2, 40)), rows).astype("float64")  # many ties
    frame = pd.DataFrame({"x": x, "y": x + rng.integers(0, 5, rows), "z": rng.normal(size=rows), "w": -3 * x})
    for name, share in (("x", 0.1), ("y", 0.3), ("z", 0.05)):
        frame.loc[rng.random(rows) < share, name] = np.nan
    frame.loc[rng.random(rows) < 0.01, "z"] = np.inf
    settings = ProfileSettings(chunk_rows=int(rng.integers(7, 500)))  # several chunks of rows
    spearman = profile_frame(cpu, frame, settings).correlations["spearman"]
    expected = frame.corr(method="spearman")  # ±inf counts as missing, there as in the profile
    np.testing.assert_allclose(spearman.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-12)
    for left, right in (("x", "y"), ("y", "z"), ("x", "z")):
        shared = frame[[left, right]].replace(np.inf, np.nan).dropna()
        rho = scipy_stats.spearmanr(shared[left], shared[right]).statistic
        assert spearman.loc[left, right] == pytest.approx(rho, rel=1e-12, abs=1e-12)


def test_shared_rank_correlation_needs_two_shared_rows():
    left = average_ranks(np, np.array([1.0, np.nan, 3.0]))
    right = average_ranks(np, np.array([np.nan, 2.0, 1.0]))
    assert np.isnan(shared_rank_correlation(np, left, right))


def test_two_shared_rows_rank_perfectly_and_a_column_constant_on_them_has_no_correlation():
    x = average_ranks(np, np.array([1.0, 2.0, 3.0, np.nan]))
    falling = average_ranks(np, np.array([5.0, 4.0, np.nan, 1.0]))
    assert shared_rank_correlation(np, x, falling) == -1.0  # rows 0 and 1: x rises, the other falls
    flat = average_ranks(np, np.array([7.0, 7.0, np.nan, 1.0]))
    with np.errstate(all="raise"):
        assert np.isnan(shared_rank_correlation(np, x, flat))  # 7 and 7 on the rows x shares: no spread


def test_columns_are_re_ranked_pairwise_only_where_their_missing_values_differ():
    """Columns missing in the same rows (or in none) share one ranking; every pair (i < j) of columns missing in
    different rows is listed once."""
    gaps, other, none = np.array([True, False, False]), np.array([False, True, False]), np.zeros(3, dtype=bool)
    missing = [gaps, gaps.copy(), none, other, gaps.copy(), none.copy()]
    assert pairs_missing_apart(np, missing) == [
        (0, 2),
        (0, 3),
        (0, 5),
        (1, 2),
        (1, 3),
        (1, 5),
        (2, 3),
        (2, 4),
        (3, 4),
        (3, 5),
        (4, 5),
    ]  # all but (0, 1), (0, 4), (1, 4) and (2, 5)


def test_missing_values_together_match_counts(cpu):
    frame = pd.DataFrame({"a": [1.0, None, None, 4.0], "b": ["x", None, "y", None], "c": [1, 2, 3, 4]})
    profile = profile_frame(cpu, frame)
    flags = frame[["a", "b"]].isna().to_numpy().astype(int)
    np.testing.assert_array_equal(profile.missing_together.to_numpy(), flags.T @ flags)
    np.testing.assert_allclose(profile.missing_correlation.to_numpy(), np.corrcoef(flags.T), atol=1e-12)
    assert profile.table.missing_cells == 4
    for matrix in (profile.missing_together, profile.missing_correlation):
        assert list(matrix.index) == list(matrix.columns) == ["a", "b"]
    assert profile.missing_together.dtypes.tolist() == [np.dtype("int64")] * 2, "counts of rows, whole numbers"


def test_a_column_missing_everywhere_has_no_missingness_correlation_and_warns_nothing(cpu):
    """Its flags never vary: NaN against every column, without numpy's 0/0 warnings in the server's log."""
    frame = pd.DataFrame({"never": [None, None, None, None], "some": [1.0, None, 3.0, None], "x": [1.0, 2, 3, 4]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        profile = profile_frame(cpu, frame)
    assert np.isnan(profile.missing_correlation.loc["never", "some"])
    assert profile.missing_together.loc["never", "some"] == 2


def test_table_facts_and_duplicates(cpu):
    frame = pd.DataFrame({"a": [1, 2, 1, 1], "b": ["x", "y", "x", "z"]})
    profile = profile_frame(cpu, frame)
    unique_rows = len(set(zip(frame["a"], frame["b"], strict=True)))
    assert (profile.table.rows, profile.table.columns) == (4, 2)
    assert profile.table.duplicate_rows == 4 - unique_rows
    assert profile.table.kinds == {"numeric": 1, "text": 1}
    assert profile.table.memory_bytes > 0
    assert any(a.code == "duplicates" for a in profile.alerts)


def test_flags_for_constant_all_missing_id_and_high_cardinality(cpu):
    rows = 200
    frame = pd.DataFrame(
        {
            "constant": ["same"] * rows,
            "empty": [None] * rows,
            "row_id": np.arange(rows),
            "names": pd.Series([f"n{i % 150}" for i in range(rows)], dtype="str"),
            "gappy": [None if i % 3 else 1.0 for i in range(rows)],
        }
    )
    profile = profile_frame(cpu, frame)
    assert "constant" in profile.column("constant").flags
    assert list(profile.column("empty").flags) == ["all_missing"]
    assert "likely_id" in profile.column("row_id").flags
    assert "high_cardinality" in profile.column("names").flags
    assert "high_missing" in profile.column("gappy").flags


def test_a_column_missing_in_exactly_the_alert_share_of_rows_is_flagged(cpu):
    """The alert fires from 20% missing on (the default share): 2 rows of 10 are flagged, 1 of 10 is not."""
    frame = pd.DataFrame({"at": [1.0, None, 3.0, None, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], "below": [None] + [1.0] * 9})
    profile = profile_frame(cpu, frame)
    assert ProfileSettings().high_missing_share == 0.2
    assert profile.column("at").flags["high_missing"] == "'at' is missing in 20.0% of rows."
    assert "high_missing" not in profile.column("below").flags


def test_mixed_type_object_column_is_named(cpu):
    frame = pd.DataFrame({"mixed": pd.Series([1, "two", 3.0, None, "five"], dtype=object)})
    column = profile_frame(cpu, frame).column("mixed")
    assert column.stats["types"] == {"str": 2, "int": 1, "float": 1}
    assert "mixed_types" in column.flags


def test_only_text_columns_explain_why_there_are_no_correlations(cpu):
    profile = profile_frame(cpu, pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}))
    assert profile.correlations == {}
    assert "no numeric columns" in profile.correlation_note


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": [1.5], "b": ["x"]}),
        pd.DataFrame({"only": [1.0, 2.0, np.nan]}),
        pd.DataFrame({"a": pd.Series([], dtype="float64"), "b": pd.Series([], dtype="str")}),
        pd.DataFrame({"nan": [np.nan, np.nan], "inf": [np.inf, -np.inf]}),
        pd.DataFrame({"long": ["x" * 20_000, "y"]}),
        pd.DataFrame({"delta": pd.to_timedelta([1, 2], unit="s"), "cat": pd.Categorical(["a", None])}),
    ],
    ids=["single-row", "single-column", "no-rows", "nan-and-inf", "very-long-strings", "timedelta-and-category"],
)
def test_awkward_tables_are_profiled(cpu, frame):
    """Each column's counts, missing and distinct values (and range of finite numbers or of text lengths) are what
    pandas finds, and the whole profile is plain JSON."""
    profile = profile_frame(cpu, frame)
    assert [c.name for c in profile.columns] == list(frame.columns)
    assert (profile.table.rows, profile.table.missing_cells) == (len(frame), int(frame.isna().sum().sum()))
    for name, series in frame.items():
        column, present = profile.column(name), series.dropna()
        assert column.kind == column_kind(series.dtype)
        assert (column.count, column.missing, column.distinct) == (len(present), series.isna().sum(), present.nunique())
        if column.kind == "numeric":
            finite = present[np.isfinite(present)]
            assert column.stats["infinite"] == len(present) - len(finite)
            expected = (finite.min(), finite.max()) if len(finite) else (None, None)
            assert (column.stats.get("min"), column.stats.get("max")) == expected
        if column.kind == "text":
            lengths = present.astype(str).str.len()
            expected = (lengths.min(), lengths.max()) if len(lengths) else (None, None)
            assert (column.stats.get("min_length"), column.stats.get("max_length")) == expected
    json.dumps(profile.to_dict(), allow_nan=False)  # everything is plain JSON


def test_very_long_strings_are_shortened_for_display(cpu):
    column = profile_frame(cpu, pd.DataFrame({"long": ["x" * 20_000, "y"]})).column("long")
    assert max(len(v) for v in column.top_values["value"]) <= 200
    assert column.stats["max_length"] == 20_000


def test_a_million_level_categorical(cpu):
    frame = pd.DataFrame({"key": pd.Series([f"k{i}" for i in range(1_000_000)], dtype="str")})
    column = profile_frame(cpu, frame, PRESETS["minimal"]).column("key")
    assert column.distinct == 1_000_000
    assert len(column.top_values) == 10
    assert column.top_values["value"].tolist() == sorted(frame["key"])[:10]  # ties resolved by value
    assert "likely_id" in column.flags


def test_bad_tables_are_refused_with_a_reason(cpu):
    with pytest.raises(DataError, match="no columns"):
        profile_frame(cpu, pd.DataFrame())
    with pytest.raises(DataError, match="repeated: a"):
        profile_frame(cpu, pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(DataError, match="bins"):
        ProfileSettings(bins=0)


def test_minimal_preset_skips_pairwise_work(cpu, numbers):
    profile = profile_frame(cpu, numbers, PRESETS["minimal"])
    assert profile.correlations == {} and profile.missing_together is None
    assert profile.table.duplicate_rows is None
    assert set(profile.phases) == {"table", "columns"}


def test_progress_reaches_every_column(cpu, numbers):
    heard = []
    profile_frame(cpu, numbers, progress=lambda fraction, message: heard.append((fraction, message)))
    assert heard[-1][0] == 1.0
    assert [m for _, m in heard if m.startswith("Column")] == [f"Column {i} of 3: {n}" for i, n in enumerate("xky", 1)]
    assert [f for f, _ in heard] == sorted(f for f, _ in heard)


def test_column_kinds_from_dtypes():
    assert column_kind(np.dtype("int8")) == "numeric"
    assert column_kind(pd.BooleanDtype()) == "boolean"
    assert column_kind(pd.DatetimeTZDtype(tz="UTC")) == "datetime"
    assert column_kind(pd.StringDtype()) == "text"
    assert column_kind(pd.CategoricalDtype(["a"])) == "text"
    assert column_kind(np.dtype("m8[s]")) == "other"


def test_profile_of_the_same_data_agrees_with_itself_and_notices_a_change(cpu, numbers):
    first = profile_frame(cpu, numbers)
    assert compare_profiles(first, profile_frame(cpu, numbers.copy())).ok
    changed = numbers.copy()
    changed.loc[0, "y"] += 1.0
    mismatches = compare_profiles(first, profile_frame(cpu, changed)).mismatches
    assert any(".stats.mean" in m for m in mismatches)


@pytest.mark.gpu
def test_gpu_profile_matches_cpu_on_the_mixed_table(cpu, gpu):
    spec = SyntheticSpec("mixed", rows=20_000, seed=3)
    on_cpu = profile_frame(cpu, generate(spec, cpu)[""])
    on_gpu = profile_frame(gpu, generate(spec, gpu)[""])
    parity = compare_profiles(on_cpu, on_gpu)
    assert parity.ok, parity.mismatches[:10]


@pytest.mark.gpu
def test_gpu_profile_matches_cpu_on_awkward_values(cpu, gpu):
    table = pa.table(
        {
            "x": pa.array([1.5, None, float("inf"), -2.0, 0.0, 7.25, 1.5]),
            "y": pa.array([None, 2.0, 3.0, 1.0, 5.0, None, 0.5]),  # missing in other rows than x: Spearman re-ranks
            "t": pa.array(["a", "b", None, "a", "ccc", "a", "b"]),
            "when": pa.array([0, 86_400, None, 172_800, 3, 4, 5], type=pa.timestamp("s", tz="Europe/Paris")),
            "flag": pa.array([True, None, False, True, True, False, True]),
        }
    )
    parity = compare_profiles(profile_frame(cpu, cpu.from_arrow(table)), profile_frame(gpu, gpu.from_arrow(table)))
    assert parity.ok, parity.mismatches


def test_duplicate_rows_match_counting_distinct_rows(cpu):
    def duplicate_rows(engine, frame):
        return int(engine.duplicated(frame).sum())

    rng = np.random.default_rng(3)
    base = pd.DataFrame(
        {
            "x": rng.integers(0, 3, 300).astype("float64"),
            "t": pd.Series(rng.choice(["a", "b", None], 300), dtype="str"),
            "o": pd.Series(rng.choice([1, "1", None], 300), dtype=object),
            "when": pd.to_datetime(rng.integers(0, 2, 300), unit="D"),
        }
    )
    base.loc[::5, "x"] = np.nan
    distinct_rows = {tuple(repr(v) if not pd.isna(v) else "<NA>" for v in row) for row in base.itertuples(index=False)}
    assert duplicate_rows(cpu, base) == len(base) - len(distinct_rows)
    assert duplicate_rows(cpu, base.head(1)) == 0
    unique = pd.DataFrame({"a": np.arange(1000), "b": np.arange(1000) % 7})
    assert duplicate_rows(cpu, unique) == 0
    last = cpu.duplicated(base, subset=["x"], keep="last")
    assert last.tolist() == base.duplicated(subset=["x"], keep="last").tolist()


def test_values_outside_what_a_column_means_are_flagged(cpu):
    frame = pd.DataFrame(
        {
            "age": [34.0, -2.0, 51.0],
            "temperature": [-5.0, 3.0, 1.0],  # may be negative: no alert
            "signed_up": pd.to_datetime(["2020-01-01", "2099-06-01", None]),
            "born": pd.to_datetime(["1980-01-01", "1990-01-01", "2000-01-01"]),
        }
    )
    profile = profile_frame(cpu, frame)
    codes = {(a.code, a.column) for a in profile.alerts}
    assert ("negative_values", "age") in codes and ("future_dates", "signed_up") in codes
    assert not {code for code, column in codes if column in ("temperature", "born")} & {
        "negative_values",
        "future_dates",
    }


def bergsma_v(x: pd.Series, y: pd.Series) -> float:
    """Bias-corrected Cramér's V written out from Bergsma (2013), on SciPy's chi-squared (no continuity
    correction): an implementation apart from the profile's."""
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import crosstab

    counts = crosstab(x, y).count
    n, (r, k) = counts.sum(), counts.shape
    phi2 = max(0.0, chi2_contingency(counts, correction=False)[0] / n - (r - 1) * (k - 1) / (n - 1))
    return float(np.sqrt(phi2 / min(k - (k - 1) ** 2 / (n - 1) - 1, r - (r - 1) ** 2 / (n - 1) - 1)))


def test_cramers_v_of_category_columns_is_bias_corrected_on_the_shared_rows(cpu):
    rng = np.random.default_rng(5)
    colour = rng.choice(["red", "green", "blue"], 400)
    size = np.where(colour == "red", "S", rng.choice(["S", "M", "L"], 400))  # tied to colour
    frame = pd.DataFrame(
        {
            "colour": pd.Series(colour, dtype="str"),
            "size": pd.Series(size, dtype="str"),
            "flag": rng.random(400) > 0.5,
            "x": rng.normal(size=400),
        }
    )
    frame.loc[:30, "size"] = None
    profile = profile_frame(cpu, frame)
    matrix = profile.correlations["cramers_v"]
    assert list(matrix.columns) == ["colour", "size", "flag"]
    shared = frame[["colour", "size"]].dropna()
    assert matrix.loc["colour", "size"] == pytest.approx(bergsma_v(shared["colour"], shared["size"]), rel=1e-12)
    assert matrix.loc["colour", "size"] > 0.3 > matrix.loc["colour", "flag"] >= 0
    assert "cramers_v" not in profile.method_notes, "400 rows fill every pair of values"
    assert cramers_v(cpu, frame, ["colour", "size", "flag"])[1] is None, "no note at all"


def test_cramers_v_matches_values_worked_by_hand():
    from pipeline.profile.correlations import corrected_cramers_v

    # [[6, 4], [3, 7]]: chi-squared 20/11, so phi² = 1/11; corrected 1/11 - 1/19 = 8/209, over 2 - 1/19 - 1 = 18/19:
    # V = sqrt(4/99) = 0.201, where the plain V is sqrt(1/11) = 0.302
    assert corrected_cramers_v(np.array([[6, 4], [3, 7]])) == pytest.approx(2 / np.sqrt(99), rel=1e-12)
    assert corrected_cramers_v(np.array([[10, 0], [0, 10]])) == pytest.approx(1.0)  # one decides the other
    assert corrected_cramers_v(np.array([[5, 5], [5, 5]])) == 0.0  # unrelated
    assert np.isnan(corrected_cramers_v(np.array([[3, 4]])))  # one value on a side: nothing to measure


def test_cramers_v_says_when_a_table_is_too_sparse_for_it(cpu):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "a": pd.Series(rng.choice(list("abcdef"), 30), dtype="str"),
            "b": pd.Series(rng.choice(list("uvwxyz"), 30), dtype="str"),
        }
    )
    profile = profile_frame(cpu, frame)
    assert 0 <= profile.correlations["cramers_v"].loc["a", "b"] <= 1
    assert "a × b" in profile.method_notes["cramers_v"] and "V is rough" in profile.method_notes["cramers_v"]


def test_overview_of_cars_shows_the_mean_date_to_the_day_numbers_as_they_are_and_alerts_in_words(cpu, cars):
    """The Year column (dates 1970–1982) headlines its mean date, not its first date, without a time of day; a
    number stays a number for the page to round; the alerts read as words, not codes."""
    summary = profile_frame(cpu, cars).summary().set_index("column")
    years = pd.to_datetime(cars["Year"])
    assert summary.loc["Year", "mean / top value"] == str(years.mean().round("D").date())
    assert summary.loc["Miles_per_Gallon", "mean / top value"] == pytest.approx(cars["Miles_per_Gallon"].mean())
    assert summary.loc["Name", "alerts"] == "many distinct values"


def test_profile_of_a_datetime_column_has_its_mean_on_every_engine(cpu, dask_cpu):
    frame = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2020-01-03", None, "2020-01-08"])})
    expected = pd.Timestamp("2020-01-04")
    assert profile_frame(cpu, frame).column("t").stats["mean"] == expected
    lazy = dask_cpu.frames.from_pandas(frame, npartitions=2)
    assert profile_frame(dask_cpu, lazy).column("t").stats["mean"] == expected


@pytest.mark.parametrize(
    ("constant", "rows"),
    [(7.7, 3), (0.1, 7), (0.3, 9)],
    ids=["spread-rounds-up", "spread-rounds-below-zero", "longer"],
)
def test_a_pair_constant_on_the_rows_it_shares_has_no_correlation_as_in_pandas(cpu, constant, rows):
    """x varies, but not on the rows where y is present: the sums leave a spread of rounding (1e-16 of the sum of
    squares, above or below zero), which must read as no spread, not as a correlation of 1e-9."""
    frame = pd.DataFrame(
        {
            "x": [50.3, -20.1, *[constant] * rows],
            "y": [np.nan, np.nan, *(1.7 * np.arange(rows))],
            "z": [1.0, 2.0, *(np.arange(rows) % 3)],
            "gap": [3.0, 4.0, *[np.nan] * rows],  # shares no row with y: nothing to correlate
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing divides by a zero spread or takes a root of a negative one
        profile = profile_frame(cpu, frame)
    pearson, spearman = profile.correlations["pearson"], profile.correlations["spearman"]
    assert np.isnan(frame.corr().loc["x", "y"])
    assert np.isnan(pearson.loc["x", "y"]) and np.isnan(pearson.loc["y", "x"])
    assert np.isnan(spearman.loc["x", "y"]) and np.isnan(spearman.loc["y", "x"])
    assert np.isnan(pearson.loc["gap", "y"]) and np.isnan(pearson.loc["y", "gap"])
    assert pearson.loc["x", "z"] == pytest.approx(frame.corr().loc["x", "z"], abs=1e-12)
    assert pearson.loc["y", "z"] == pytest.approx(frame.corr().loc["y", "z"], abs=1e-12)


def test_spearman_leaves_infinite_values_out_as_pandas_and_the_pearson_matrix_do(cpu):
    frame = pd.DataFrame({"x": [1.0, 2.0, np.inf, 4.0, 5.0, -np.inf, 7.0], "y": [5.0, 3.0, 4.0, 1.0, 2.0, 6.0, np.nan]})
    spearman = profile_frame(cpu, frame).correlations["spearman"]
    assert spearman.loc["x", "y"] == pytest.approx(frame.corr(method="spearman").loc["x", "y"], abs=1e-12)
    finite = frame.replace([np.inf, -np.inf], np.nan).dropna()
    assert spearman.loc["x", "y"] == pytest.approx(scipy_stats.spearmanr(finite["x"], finite["y"]).statistic, abs=1e-12)


def test_moments_too_large_for_floats_are_none_in_the_json_not_a_failed_profile(cpu):
    frame = pd.DataFrame({"huge": [1e160, 2e160, 3e160, 5e160], "y": [1.0, 2.0, 4.0, 3.0]})
    statistics = profile_frame(cpu, frame).to_dict()
    json.dumps(statistics, allow_nan=False)  # the command line writes it so: inf has no JSON
    huge = next(c for c in statistics["columns"] if c["name"] == "huge")
    assert huge["stats"]["mean"] == pytest.approx(2.75e160) and huge["stats"]["std"] is None


@pytest.mark.parametrize("values", [[2.5], [1.0, 4.0], [1.0, 2.0, 7.0], [1.0, 2.0, 7.0, 3.0], [3.0] * 5])
def test_moments_need_enough_values_and_a_spread_and_then_are_pandas(cpu, values):
    """Standard deviation from two values on, skew from three, excess kurtosis from four (pandas' and scipy's
    unbiased estimates); none where the values do not vary or are too few (pandas says NaN, or 0 for a constant)."""
    series = pd.Series(values)
    stats = profile_frame(cpu, pd.DataFrame({"x": series})).column("x").stats
    varies = series.nunique() > 1
    assert stats["mean"] == series.mean()
    assert stats["std"] == (pytest.approx(series.std(), rel=1e-15) if len(values) > 1 else None)
    assert stats["skew"] == (pytest.approx(series.skew(), rel=1e-14) if varies and len(values) > 2 else None)
    assert stats["kurtosis"] == (pytest.approx(series.kurt(), rel=1e-14) if varies and len(values) > 3 else None)


def test_a_flag_column_shows_its_values_most_frequent_first_with_their_shares(cpu):
    """Ties keep True first; a value that never occurs is not listed; a column of no values has no share."""
    frame = pd.DataFrame(
        {
            "tie": pd.array([False, True, None, True, False], dtype="boolean"),
            "mostly_false": pd.array([False, True, False, False, None], dtype="boolean"),
            "all_true": pd.array([True, None, True, True, None], dtype="boolean"),
            "empty": pd.array([None] * 5, dtype="boolean"),
        }
    )
    profile = profile_frame(cpu, frame)
    expected = {
        "tie": (["True", "False"], [2, 2], [0.5, 0.5], 0.5),
        "mostly_false": (["False", "True"], [3, 1], [0.75, 0.25], 0.25),
        "all_true": (["True"], [3], [1.0], 1.0),
        "empty": ([], [], [], None),
    }
    for name, (values, counts, shares, true_share) in expected.items():
        column = profile.column(name)
        assert list(column.top_values.columns) == ["value", "count", "share"], name
        assert column.top_values.index.tolist() == list(range(len(values))), name
        assert column.top_values["value"].tolist() == values, name
        assert column.top_values["count"].tolist() == counts, name
        assert column.top_values["share"].tolist() == shares, name
        assert column.stats["true_share"] == true_share, name
        assert column.distinct == len(values), name


def test_python_types_of_an_object_column_are_counted_on_a_sample_of_its_values(cpu):
    frame = pd.DataFrame({"mixed": pd.Series([None, 1, "two", 3.0, "four", "five"], dtype=object)})
    column = profile_frame(cpu, frame, ProfileSettings(mixed_type_sample=2)).column("mixed")
    assert column.stats["types"] == {"int": 1, "str": 1}, "the first two values present"
    assert column.flags["mixed_types"] == "'mixed' mixes Python types: int (1), str (1). Clean it before modelling."


def test_cramers_v_of_a_table_wider_than_long_corrects_each_side_by_its_own_values():
    """A 2 x 3 table and its transpose: Bergsma's correction takes each side's number of values, whichever is
    smaller, and gives the same V both ways, as the formula written out with SciPy does."""
    from pipeline.profile.correlations import corrected_cramers_v

    counts = np.array([[5, 1, 2], [1, 4, 6]])
    left = pd.Series(np.repeat(["a", "a", "a", "b", "b", "b"], counts.ravel()))
    right = pd.Series(np.repeat(["u", "v", "w", "u", "v", "w"], counts.ravel()))
    expected = bergsma_v(left, right)
    assert corrected_cramers_v(counts) == pytest.approx(expected, rel=1e-12)
    assert corrected_cramers_v(counts.T) == pytest.approx(expected, rel=1e-12)


def test_cramers_v_is_undefined_where_every_shared_row_holds_a_value_of_its_own():
    """Three rows, three values on one side: the correction leaves no values to measure (NaN), although rounding
    leaves a chi-squared of 2e-16 past it, which over zero would read as infinity."""
    from pipeline.profile.correlations import corrected_cramers_v

    assert np.isnan(corrected_cramers_v(np.array([[1, 0], [0, 1], [0, 1]])))


@pytest.mark.parametrize(
    ("counts", "sparse"),
    [
        (np.full((10, 10), 2), True),  # every pair of values expects 2 rows, although each value has 20
        (np.full((10, 2), 10), False),  # 10 rows expected in every cell of a 10 x 2 table
        (np.full((2, 2), 5), False),  # exactly 5 expected is enough (fewer than 5 is rough)
        (np.array([[2, 5, 5, 5, 5], [2, 5, 5, 5, 5]]), False),  # exactly a fifth of the cells expect fewer than 5
    ],
)
def test_a_table_is_too_sparse_for_v_where_more_than_a_fifth_of_its_cells_expect_fewer_than_5_rows(counts, sparse):
    from pipeline.profile.correlations import is_sparse

    assert is_sparse(counts) is sparse


def sparse_categories(names: str) -> pd.DataFrame:
    """30 rows of category columns: a, b and c of 6 values, d and e of 2 (only d x e fills its pairs of values)."""
    rows = np.arange(30)
    values = {"a": rows % 6, "b": (rows // 5) % 6, "c": (rows * 5 + rows // 6) % 6, "d": rows % 2, "e": (rows // 2) % 2}
    return pd.DataFrame({name: pd.Series([f"{name}{v}" for v in values[name]], dtype="str") for name in names})


@pytest.mark.parametrize(
    ("names", "listed"),
    [
        ("abde", "a × b, a × d, a × e, b × d, b × e"),
        ("abcd", "a × b, a × c, a × d, b × c, b × d and 1 more"),
    ],
)
def test_the_sparse_note_names_five_pairs_and_counts_the_rest(cpu, names, listed):
    profile = profile_frame(cpu, sparse_categories(names))
    assert list(profile.phases) == ["table", "columns", "correlations", "missing values"], "V is timed as correlations"
    assert profile.method_notes["cramers_v"] == (
        f"Few rows for the values they combine ({listed}: more than a fifth of the pairs of values expect fewer than "
        "5 rows): V is rough there, bias correction or not."
    )


def alert_table() -> pd.DataFrame:
    rows = 10
    return pd.DataFrame(
        {
            "empty": pd.Series([None] * rows, dtype=object),
            "gappy": [1.0, None, 3.0, None, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            "constant": pd.Series(["same"] * rows, dtype="str"),
            "skewed": [1.0] * 9 + [100.0],
            "infinite": [np.inf, -np.inf] + [float(i) for i in range(8)],
            "Age": [-2.5] + [30.0 + i for i in range(9)],
            "row_id": pd.array(range(rows), dtype="Int64"),
            "code": pd.Series([f"c{i % 6}" for i in range(rows)], dtype="str"),
            "code5": pd.Series([f"c{i % 5}" for i in range(rows)], dtype="str"),
            "words": pd.Series(["a", "b"] * 5, dtype=object),
            "unique_floats": [0.5 + i for i in range(rows)],
        }
    )


def test_each_column_alert_is_a_sentence_naming_the_column_and_what_to_look_at(cpu):
    """Negative skew is as skewed as positive; a capitalised name is still an age; a nullable whole-number column
    unique in every row is an id, a float one is not; one Python type is not mixed; text of more distinct values
    than half its rows (and than the minimum) has many."""
    profile = profile_frame(cpu, alert_table(), ProfileSettings(high_cardinality_min=3))
    assert {c.name: c.flags for c in profile.columns} == {
        "empty": {"all_missing": "'empty' has no values: every row is missing."},
        "gappy": {"high_missing": "'gappy' is missing in 20.0% of rows."},
        "constant": {"constant": "'constant' holds one value only; it carries no information."},
        "skewed": {"skewed": "'skewed' is highly skewed (skew 3.16); consider a log or rank transform."},
        "infinite": {"infinite": "'infinite' has 2 infinite values (left out of its statistics)."},
        "Age": {
            "skewed": "'Age' is highly skewed (skew -2.88); consider a log or rank transform.",
            "negative_values": "'Age' has negative values (as low as -2.5): check them.",
        },
        "row_id": {"likely_id": "'row_id' is unique in every row: likely an id column, not a feature."},
        "code": {"high_cardinality": "'code' has 6 distinct values (high cardinality)."},
        "code5": {},  # 5 distinct values of 10 rows: not more than half
        "words": {},
        "unique_floats": {},
    }
    alerts = [(a.column, a.code, a.message) for a in profile.alerts]
    column_alerts = [(c.name, code, message) for c in profile.columns for code, message in c.flags.items()]
    assert alerts[: len(column_alerts)] == column_alerts, "the columns' alerts in column order, then correlations"
    assert {code for _, code, _ in alerts[len(column_alerts) :]} == {"high_correlation"}


def test_alert_thresholds_are_reached_at_equality(cpu):
    """A skew exactly at the threshold and distinct values exactly at the minimum: the skew alerts, the count does
    not (it must be more)."""
    frame = alert_table()[["skewed", "code"]]
    skew = profile_frame(cpu, frame).column("skewed").stats["skew"]
    at = profile_frame(cpu, frame, ProfileSettings(skew_threshold=skew, high_cardinality_min=6))
    assert "skewed" in at.column("skewed").flags
    assert "high_cardinality" not in at.column("code").flags
    above = ProfileSettings(skew_threshold=float(np.nextafter(skew, np.inf)), high_cardinality_min=5)
    past = profile_frame(cpu, frame, above)
    assert "skewed" not in past.column("skewed").flags
    assert "high_cardinality" in past.column("code").flags


def test_a_table_of_no_rows_raises_no_column_alerts_and_a_single_row_says_what_it_lacks(cpu):
    """No rows is not all missing; one whole number is constant, not an id; a name that only contains 'age' is no
    age; a count of 0 is not negative."""
    empty = profile_frame(cpu, pd.DataFrame({"a": pd.Series([], dtype="float64"), "b": pd.Series([], dtype="str")}))
    assert [c.flags for c in empty.columns] == [{}, {}]
    one = profile_frame(cpu, pd.DataFrame({"n": [3], "page": [-1.0], "count": [0.0]}))
    assert {c.name: list(c.flags) for c in one.columns} == {
        "n": ["constant"],
        "page": ["constant"],
        "count": ["constant"],
    }
    assert [(a.code, a.message) for a in one.alerts if a.column is None] == [
        ("single_row", "The table has one row: spreads, skew and correlations need more.")
    ]


@pytest.mark.parametrize(
    ("name", "flagged"),
    [
        ("age", True),
        ("Total_Count", True),
        ("price eur", True),
        ("ages2", True),
        ("page", False),
        ("stage", False),
        ("agent", False),
    ],
)
def test_negative_values_alert_for_names_that_mean_a_quantity(cpu, name, flagged):
    column = profile_frame(cpu, pd.DataFrame({name: [-1.0, 2.0, 3.0]})).column(name)
    expected = {"negative_values": f"{name!r} has negative values (as low as -1): check them."} if flagged else {}
    assert column.flags == expected


def test_dates_more_than_a_day_ahead_are_in_the_future_in_any_zone(cpu):
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame(
        {
            "soon": [now.tz_localize(None) - pd.Timedelta(days=3), now.tz_localize(None) + pd.Timedelta(hours=12)],
            "later": [now.tz_localize(None), now.tz_localize(None) + pd.Timedelta(hours=36)],
            "zoned": [now.tz_convert("Asia/Tokyo"), now.tz_convert("Asia/Tokyo") + pd.Timedelta(hours=30)],
            "zoned_soon": [
                now.tz_convert("Pacific/Honolulu"),
                now.tz_convert("Pacific/Honolulu") + pd.Timedelta(hours=20),
            ],
        }
    )
    profile = profile_frame(cpu, frame)
    assert profile.column("soon").flags == {}
    assert profile.column("zoned_soon").flags == {}
    for name in ("later", "zoned"):
        latest = profile.column(name).stats["max"]
        assert profile.column(name).flags == {
            "future_dates": f"{name!r} has dates in the future (the latest is {latest}): check them."
        }


def test_repeated_rows_are_counted_in_words_with_their_share(cpu):
    one = profile_frame(cpu, pd.DataFrame({"a": [1, 2, 1, 3], "b": ["x", "y", "x", "z"]}))
    two = profile_frame(cpu, pd.DataFrame({"a": [1, 1, 1, 3], "b": ["x", "x", "x", "z"]}))
    assert [(a.column, a.code, a.message) for a in one.alerts if a.code == "duplicates"] == [
        (None, "duplicates", "1 row repeats an earlier row (25.0%).")
    ]
    assert [a.message for a in two.alerts if a.code == "duplicates"] == ["2 rows repeat an earlier row (50.0%)."]


def test_a_correlation_exactly_at_the_threshold_is_an_alert(cpu):
    rng = np.random.default_rng(8)
    x = rng.normal(size=50)
    frame = pd.DataFrame({"x": x, "y": x + rng.normal(size=50)})
    r = profile_frame(cpu, frame).correlations["pearson"].loc["x", "y"]
    at = profile_frame(cpu, frame, ProfileSettings(high_correlation=r))
    assert [(a.column, a.message) for a in at.alerts] == [
        ("x", f"'x' and 'y' are highly correlated (Pearson {r:.3f}).")
    ]
    assert profile_frame(cpu, frame, ProfileSettings(high_correlation=float(np.nextafter(r, 1)))).alerts == []


def test_a_full_profile_reports_each_phase_in_order_and_times_it(cpu):
    frame = pd.DataFrame({"x": [1.0, None, 3.0], "k": [1, 2, 2], "t": pd.Series(["a", "b", None], dtype="str")})
    heard = []
    profile = profile_frame(cpu, frame, progress=lambda fraction, message: heard.append((fraction, message)))
    assert heard == [
        (0.0, "Counting missing values…"),
        (0 / 5, "Column 1 of 3: x"),
        (1 / 5, "Column 2 of 3: k"),
        (2 / 5, "Column 3 of 3: t"),
        (3 / 5, "Duplicate rows…"),
        (3 / 5, "Correlations…"),
        (4 / 5, "Missing values together…"),
        (1.0, "Done"),
    ]
    assert list(profile.phases) == ["table", "columns", "correlations", "missing values"]
    assert profile.table == TableStats(
        rows=3,
        columns=3,
        memory_bytes=cpu.frame_nbytes(frame),
        duplicate_rows=0,
        missing_cells=2,
        kinds={"numeric": 2, "text": 1},
    )
    assert (profile.engine, profile.engine_label, profile.approximate) == (cpu.name, cpu.label, ())
    minimal = profile_frame(cpu, frame, PRESETS["minimal"])
    assert minimal.correlation_note == "Correlations were not computed (minimal profile)."
    assert (minimal.missing_together, minimal.missing_correlation, minimal.method_notes) == (None, None, {})


def test_one_column_of_python_objects_tells_the_number_1_from_the_text_1_in_its_duplicate_rows(cpu):
    """Its top values show both as "1"; its rows are still different rows."""
    profile = profile_frame(cpu, pd.DataFrame({"o": pd.Series([1, "1", None, 1], dtype=object)}))
    assert profile.column("o").top_values["value"].tolist() == ["1"]
    assert profile.table.duplicate_rows == 1
    assert [a.message for a in profile.alerts if a.code == "duplicates"] == ["1 row repeats an earlier row (25.0%)."]


def test_each_kind_of_column_says_what_its_histogram_bins(cpu):
    """Numbers bin their values, times their time, text its lengths; other columns (durations) only count their
    distinct values. A column of one number gets one bin a unit wide around it; a column of no times has no
    histogram, only its zone."""
    frame = pd.DataFrame(
        {
            "same": [2.5, 2.5, 2.5],
            "when": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
            "never": pd.Series([pd.NaT] * 3, dtype="datetime64[ns]"),
            "never_utc": pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]"),
            "text": pd.Series(["a", "bb", "a"], dtype="str"),
            "delta": pd.to_timedelta([1, 2, 2], unit="s"),
        }
    )
    columns = {c.name: c for c in profile_frame(cpu, frame).columns}
    assert {name: c.histogram_of for name, c in columns.items()} == {
        "same": "value",
        "when": "time",
        "never": "time",
        "never_utc": "time",
        "text": "length",
        "delta": None,
    }
    assert columns["same"].histogram.to_dict("list") == {"start": [2.0], "end": [3.0], "count": [3]}
    for name, zone in (("never", None), ("never_utc", "UTC")):
        assert (columns[name].stats, columns[name].histogram, columns[name].distinct) == ({"timezone": zone}, None, 0)
    assert (columns["delta"].stats, columns["delta"].distinct) == ({}, 2)


def test_categories_are_counted_by_their_text_and_unused_ones_left_out(cpu):
    """Categories 1 and "1" both read "1": one value of 3 rows; a category no row holds is not a value."""
    frame = pd.DataFrame(
        {
            "merged": pd.Categorical([1, "1", 1], categories=[1, "1"]),
            "unused": pd.Categorical(["x", "y", "x"], categories=["x", "y", "never"]),
        }
    )
    profile = profile_frame(cpu, frame)
    assert profile.column("merged").top_values.to_dict("list") == {"value": ["1"], "count": [3], "share": [1.0]}
    assert profile.column("merged").distinct == 1
    unused = profile.column("unused")
    assert unused.top_values.to_dict("list") == {"value": ["x", "y"], "count": [2, 1], "share": [2 / 3, 1 / 3]}
    assert (unused.distinct, unused.stats["top"], unused.stats["top_share"]) == (2, "x", 2 / 3)


def test_values_of_up_to_200_characters_are_shown_whole_and_longer_ones_cut_to_200_with_an_ellipsis(cpu):
    frame = pd.DataFrame({"long": pd.Series(["a" * 200, "b" * 201], dtype="str")})
    shown = profile_frame(cpu, frame).column("long").top_values["value"].tolist()
    assert shown == ["a" * 200, "b" * 199 + "…"]


def test_top_values_break_ties_at_the_cut_by_value_and_rare_values_are_those_under_the_share(cpu):
    """Top 2 of a (3 rows), b and c (2 each), d (1): a and b. Rare is under a quarter of the 8 rows: d, not b and c
    at exactly 2 rows. Lengths count each row."""
    values = ["c", "a", "d", "b", "a", "c", "b", "a"]
    column = profile_frame(
        cpu, pd.DataFrame({"t": pd.Series(values, dtype="str")}), ProfileSettings(top_k=2, rare_share=0.25)
    ).column("t")
    assert column.top_values.to_dict("list") == {"value": ["a", "b"], "count": [3, 2], "share": [3 / 8, 2 / 8]}
    assert column.distinct == 4
    assert column.stats["rare_share"] == 1 / 8
    assert list(column.stats) == ["top", "top_share", "rare_share", "min_length", "mean_length", "max_length"]
    lengths = profile_frame(cpu, pd.DataFrame({"t": pd.Series(["aaa", "b", "b", None], dtype="str")})).column("t")
    assert (lengths.stats["min_length"], lengths.stats["mean_length"], lengths.stats["max_length"]) == (1, 5 / 3, 3)
    assert lengths.histogram.to_dict("list") == {"start": [0.5, 1.5, 2.5], "end": [1.5, 2.5, 3.5], "count": [2, 0, 1]}


@pytest.mark.parametrize(
    ("frame", "note", "correlated"),
    [
        (
            pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 1, 2], "c": [5.0, 5, 5], "d": [None, 1.0, None]}),
            "2 numeric column(s) left out: constant or (almost) empty.",
            ["a", "b"],
        ),
        (
            pd.DataFrame({"a": [1.0, 2, 3], "t": ["x", "y", "z"]}),
            "No correlations: they need at least two numeric columns that vary, and this table has 1 varying numeric "
            "column(s).",
            [],
        ),
        (
            pd.DataFrame({f"x{i}": np.random.default_rng(i).normal(size=4) for i in range(62)}),
            "Only the first 60 of 62 numeric columns are correlated.",
            [f"x{i}" for i in range(60)],
        ),
        (
            pd.DataFrame({"a": [1.0, 2], "b": [2.0, 1]}),
            None,
            ["a", "b"],
        ),
        (
            pd.DataFrame({f"x{i}": np.random.default_rng(i).normal(size=4) for i in range(60)}),
            None,
            [f"x{i}" for i in range(60)],
        ),
        (
            pd.DataFrame({"same": [1.0] * 4} | {f"x{i}": np.random.default_rng(i).normal(size=4) for i in range(61)}),
            "1 numeric column(s) left out: constant or (almost) empty. Only the first 60 of 61 numeric columns are "
            "correlated.",
            [f"x{i}" for i in range(60)],
        ),
        (
            pd.DataFrame({"t": ["x", "y"], "u": ["a", "b"]}),
            "No correlations: they need at least two numeric columns that vary, and this table has no numeric columns.",
            [],
        ),
    ],
    ids=["constant-and-one-value", "one-varying", "past-sixty", "two-rows", "sixty", "both-notes", "no-numbers"],
)
def test_the_correlation_note_says_which_numeric_columns_are_left_out_and_why(cpu, frame, note, correlated):
    settings = ProfileSettings(duplicates=False, missing_matrices=False)
    profile = profile_frame(cpu, frame, settings)
    assert profile.correlation_note == note
    assert list(profile.correlations.get("pearson", pd.DataFrame()).columns) == correlated
    assert list(profile.correlations.get("spearman", pd.DataFrame()).columns) == correlated


def category(name: str, distinct: int, kind: str = "text", flags: dict[str, str] | None = None) -> ColumnProfile:
    return ColumnProfile(name, kind, "str", 100, 0, distinct, flags=flags or {})


def test_cramers_v_takes_text_and_flag_columns_of_two_to_fifty_values_twenty_at_most():
    from pipeline.profile.correlations import category_columns

    columns = [
        category("one", 1),
        category("two", 2),
        category("fifty", 50),
        category("fifty_one", 51),
        category("flag", 2, "boolean"),
        category("number", 3, "numeric"),
        category("id", 40, flags={"likely_id": "…"}),
    ]
    assert category_columns(columns) == ["two", "fifty", "flag"]
    many = [category(f"c{i}", 3) for i in range(21)]
    assert category_columns(many) == [f"c{i}" for i in range(20)]


def test_the_missing_value_matrices_cover_the_first_sixty_columns_with_gaps(cpu):
    from pipeline.profile.correlations import missing_columns

    columns = [ColumnProfile(f"c{i}", "numeric", "float64", 9, i % 2, 9) for i in range(130)]
    assert missing_columns(columns) == [f"c{i}" for i in range(1, 121, 2)]
    assert profile_frame(cpu, pd.DataFrame({"full": [1.0, 2.0]})).missing_together is None


def test_pairs_of_two_shared_rows_correlate_and_a_column_constant_on_its_shared_rows_does_not(cpu):
    """x and y share two rows (correlation 1); x and z share two rows where z is 5 and 5 (no correlation: NaN), as
    pandas has it, in chunks of 4 rows."""
    nan = np.nan
    frame = pd.DataFrame(
        {
            "x": [1.0, 2, 3, 4, nan, nan],
            "y": [nan, nan, 1.0, 2, 3, 4],
            "z": [5.0, 5, nan, nan, 1, 2],
            "w": [3.0, 1, 2, nan, 5, 1],
        }
    )
    correlations = profile_frame(cpu, frame, ProfileSettings(chunk_rows=4)).correlations
    for method in ("pearson", "spearman"):
        expected = frame.corr(method=method)
        np.testing.assert_allclose(correlations[method].to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-12)
        assert correlations[method].loc["x", "y"] == 1.0 and np.isnan(correlations[method].loc["x", "z"]), method


def test_pearson_of_values_far_from_zero_is_pandas_to_1e_8(cpu):
    """Values of 1e8 plus noise of 1: each column's sums are taken around its mean, so the spread is not lost to
    rounding (around zero it would be off by 0.1)."""
    rng = np.random.default_rng(2)
    x = 1e8 + rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "y": x + rng.normal(size=300) * 0.5})
    frame.loc[::7, "y"] = np.nan
    pearson = profile_frame(cpu, frame, ProfileSettings(chunk_rows=50)).correlations["pearson"]
    assert pearson.loc["x", "y"] == pytest.approx(frame.corr().loc["x", "y"], rel=1e-8)


def test_times_a_few_ticks_apart_get_the_bins_asked_for_in_their_zone_and_their_range(cpu):
    """Times 0, 1, 2 and 2 seconds past midnight in Paris: 4 equal bins of the 2 seconds (not a bin per second, as
    whole numbers get), starting and ending in Paris; their range is 2 seconds."""
    stamps = pd.Series(pd.to_datetime([0, 1, 2, 2], unit="s")).dt.tz_localize("Europe/Paris")
    column = profile_frame(cpu, pd.DataFrame({"t": stamps}), ProfileSettings(time_bins=4)).column("t")
    assert column.histogram["count"].tolist() == [1, 0, 1, 2]
    assert (column.histogram["start"].iloc[0], column.histogram["end"].iloc[-1]) == (stamps.min(), stamps.max())
    assert {str(column.histogram[edge].dt.tz) for edge in ("start", "end")} == {"Europe/Paris"}
    assert column.stats["range"] == pd.Timedelta(seconds=2)


@pytest.mark.parametrize("values", [[0.1] * 3, [0.3] * 10], ids=["three-tenths", "ten-three-tenths"])
def test_a_constant_column_whose_mean_rounds_off_its_value_has_no_spread_skew_or_correlation(cpu, values):
    """The float mean of 0.1, 0.1, 0.1 is 0.10000000000000002: the sums around it are of that rounding, not of a
    spread. The column has a standard deviation of 0, no skew (no 'highly skewed' alert), no kurtosis, and is left
    out of the correlations, which need two that vary."""
    frame = pd.DataFrame({"c": values, "y": np.arange(len(values), dtype=np.float64)})
    profile = profile_frame(cpu, frame)
    stats = profile.column("c").stats
    assert (stats["std"], stats["skew"], stats["kurtosis"]) == (0.0, None, None)
    assert list(profile.column("c").flags) == ["constant"]
    assert profile.correlations == {}
    assert profile.correlation_note == (
        "No correlations: they need at least two numeric columns that vary, and this table has 1 varying numeric "
        "column(s)."
    )


def test_columns_on_a_line_correlate_at_exactly_plus_or_minus_one(cpu):
    """y = 3x + 0.726… and y = -7x - 0.257: rounding puts their sums' Pearson at ±1.0000000000000002; a correlation
    is at most 1 in size."""
    rising = pd.Series([0.20211439504395987, 0.6941719367070082, -0.7583697508984092])
    falling = pd.Series([-0.482, 0.599, 0.04, -0.292, -0.782])
    up = profile_frame(cpu, pd.DataFrame({"x": rising, "y": rising * 3.0 + 0.726093788947765}))
    down = profile_frame(cpu, pd.DataFrame({"x": falling, "y": falling * -7.0 - 0.257}))
    assert up.correlations["pearson"].loc["x", "y"] == 1.0
    assert down.correlations["pearson"].loc["x", "y"] == -1.0
