"""Statistics streamed over chunks of rows and read from one sort of each column: equal to pandas' and numpy's on
awkward values (ties, NaN, infinities, -0.0, whole numbers past 2**53 and 2**63) whatever the chunk size; duplicate
rows counted exactly without a hash table of every row; and the profile of a large column peaking at a small multiple
of the table's own bytes, and estimated close above that before it starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.engines import CpuEngine
from pipeline.engines import cpu as cpu_engine
from pipeline.profile import PRESETS, ProfileSettings, compare_profiles, profile_frame
from pipeline.profile.kernels import sorted_quantiles
from pipeline.profile.memory import profile_need
from tests.support.peaks import measure_peaks

QUANTILES = ProfileSettings().quantiles
CHUNKS = (3, 7, 1 << 20)  # several chunks with an uneven last one, and one chunk for the whole column
ROWS = 101


def awkward() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    x = rng.normal(size=ROWS).round(1)  # ties
    x[[2, 40]] = np.nan
    x[[5, 6]] = np.inf, -np.inf
    x[[7, 8, 9]] = 0.0, 0.0, -0.0
    big = 2**53 + rng.integers(0, 4, ROWS)  # distinct whole numbers that share a float
    big[::10] = -(2**62)
    huge = np.uint64(2**64 - 1) - rng.integers(0, 3, ROWS).astype(np.uint64)  # past int64, where they turn negative
    huge[::4] = 5
    seconds = rng.integers(0, 4, ROWS) * 86_400 + 1_700_000_000
    return pd.DataFrame(
        {
            "x": x,
            "big": big,
            "huge": huge,
            "k": rng.integers(-3, 3, ROWS),
            "when": pd.Series(pd.to_datetime(seconds, unit="s")).where(rng.random(ROWS) > 0.1),
            "flag": pd.array(rng.random(ROWS) < 0.3, dtype="boolean"),
        }
    )


@pytest.mark.parametrize("chunk_rows", CHUNKS)
def test_numbers_match_pandas_and_numpy_whatever_the_chunks(cpu, chunk_rows):
    frame = awkward()
    profile = profile_frame(cpu, frame, ProfileSettings(chunk_rows=chunk_rows))
    for name in ("x", "big", "huge", "k"):
        column, values = profile.column(name), frame[name]
        finite = values[np.isfinite(values.astype("float64"))]
        floats = finite.astype("float64")
        stats = column.stats
        assert column.distinct == values.nunique(), name
        assert (stats["min"], stats["max"]) == (float(finite.min()), float(finite.max())), name
        assert stats["mean"] == pytest.approx(floats.mean(), rel=1e-12), name
        assert stats["std"] == pytest.approx(floats.std(), rel=1e-12), name
        assert stats["skew"] == pytest.approx(floats.skew(), rel=1e-9, abs=1e-12), name
        assert stats["kurtosis"] == pytest.approx(floats.kurt(), rel=1e-9, abs=1e-12), name
        expected = np.quantile(floats.to_numpy(), QUANTILES)
        assert [stats[f"p{round(q * 100):g}"] for q in QUANTILES] == expected.tolist(), name  # to the bit
        assert (stats["zeros"], stats["negatives"]) == (int((finite == 0).sum()), int((finite < 0).sum())), name
        assert stats["infinite"] == len(values.dropna()) - len(finite), name
        assert column.histogram["count"].sum() == len(finite), name
    assert profile.column("x").stats["infinite"] == 2
    assert profile.column("big").distinct == 5, "2**53 + 0..3 and -(2**62), told apart although floats merge them"
    assert profile.column("huge").stats["max"] == float(2**64 - 1)


@pytest.mark.parametrize("chunk_rows", CHUNKS)
def test_times_and_flags_match_pandas_whatever_the_chunks(cpu, chunk_rows):
    frame = awkward()
    profile = profile_frame(cpu, frame, ProfileSettings(chunk_rows=chunk_rows))
    when, stamps = profile.column("when"), frame["when"]
    assert (when.stats["min"], when.stats["max"]) == (stamps.min(), stamps.max())
    ticks = stamps.dropna().astype("int64")
    assert when.stats["mean"] == pd.Timestamp(round(ticks.mean()), unit="s"), "the mean tick, rounded"
    assert when.distinct == stamps.nunique()
    assert when.histogram["count"].sum() == stamps.count()
    flag = profile.column("flag")
    assert (flag.stats["true"], flag.stats["false"]) == (int(frame["flag"].sum()), int((~frame["flag"]).sum()))


def test_chunks_change_no_statistic(cpu):
    frame = awkward()
    whole = profile_frame(cpu, frame, ProfileSettings(chunk_rows=1 << 20))
    for chunk_rows in (1, 2, 5, 64):
        parity = compare_profiles(whole, profile_frame(cpu, frame, ProfileSettings(chunk_rows=chunk_rows)), rtol=1e-12)
        assert parity.ok, (chunk_rows, parity.mismatches)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 10, 99, 1_000])
def test_quantiles_from_the_sorted_values_are_numpys_to_the_bit(cpu, size):
    rng = np.random.default_rng(size)
    values = rng.lognormal(size=size) * 10.0 ** rng.integers(-5, 5, size) * rng.choice([-1, 1], size)
    quantiles = (0.0, 0.05, 0.25, 1 / 3, 0.5, 0.75, 0.95, 0.999, 1.0)
    expected = np.quantile(values, quantiles)
    assert sorted_quantiles(cpu, np.sort(values), quantiles).tolist() == expected.tolist()


def duplicates_table() -> pd.DataFrame:
    """Values that are equal to pandas although their bits differ, and values of every kind of column."""
    negative_nan = np.copysign(np.nan, -1.0)
    rows = 60
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "zero": np.resize([0.0, -0.0, 1.5], rows),
            "nan": np.resize([np.nan, negative_nan, 2.0, 2.0], rows),
            "text": pd.Series(np.resize(["a", None, "b"], rows), dtype="str"),
            "object": pd.Series(np.resize(np.array([1, "1", None], dtype=object), rows), dtype=object),
            "category": pd.Categorical(np.resize(["x", "y", None], rows)),
            "zoned": pd.Series(pd.to_datetime(np.resize([0, 1, None], rows), unit="D")).dt.tz_localize("Asia/Tokyo"),
            "nullable": pd.array(np.resize([1, None, 2], rows), dtype="Int64"),
            "flag": np.resize([True, False, True, True, False], rows),
            "spread": rng.integers(0, 4, rows),
        }
    )


@pytest.mark.parametrize(
    "columns",
    [["zero"], ["nan"], ["zero", "nan"], ["text", "object"], ["category", "zoned"], ["nullable", "flag"], None],
)
def test_duplicate_rows_are_counted_as_pandas_counts_them(cpu, columns):
    frame = duplicates_table()[columns] if columns else duplicates_table()
    expected = frame.duplicated()
    assert cpu.duplicate_rows(frame, 7) == int(expected.sum())
    assert cpu.duplicated(frame).tolist() == expected.tolist()
    assert profile_frame(cpu, frame, PRESETS["full"]).table.duplicate_rows == int(expected.sum())


@pytest.mark.parametrize("name", ["zero", "nan", "text", "category", "zoned", "nullable", "flag", "spread"])
def test_the_duplicate_rows_of_one_column_are_its_rows_less_its_distinct_values(cpu, name):
    frame = duplicates_table()[[name]]
    if frame[name].dtype.kind not in "biu":  # numpy flags and whole numbers hold no missing value
        frame.iloc[::7, 0] = None
    assert profile_frame(cpu, frame).table.duplicate_rows == int(frame.duplicated().sum())


MASK = 2**64 - 1
MIX = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def unmixed(value: int) -> int:
    """The uint64 that pandas' hash_array mixes into `value` (its xor-shifts and odd products undone)."""

    def unshift(x: int, shift: int) -> int:
        result = x
        for _ in range(64 // shift):
            result = x ^ (result >> shift)
        return result & MASK

    value = unshift(value, 31)
    value = (value * pow(MIX[1], -1, 2**64)) & MASK
    value = unshift(value, 27)
    value = (value * pow(MIX[0], -1, 2**64)) & MASK
    return unshift(value, 30)


def test_rows_whose_hashes_collide_are_still_told_apart(cpu):
    salt, multiplier = int(cpu_engine.HASH_SALT), int(cpu_engine.ROW_HASH_MULTIPLIER)

    def hashed(value: int) -> int:
        return int(pd.util.hash_array(np.array([(value & MASK) ^ salt], dtype=np.uint64))[0])

    a1, b1, a2 = 1, 2, 3
    wanted = (hashed(a1) * multiplier ^ hashed(b1) ^ hashed(a2) * multiplier) & MASK
    b2 = unmixed(wanted) ^ salt
    b2 = b2 - 2**64 if b2 >= 2**63 else b2
    frame = pd.DataFrame({"a": [a1, a2, a1, a2], "b": [b1, b2, b1, 7]})
    assert len(set(cpu_engine.row_hashes(frame, ["a", "b"], 2)[:3].tolist())) == 1, "the first three rows collide"
    assert cpu.duplicate_rows(frame, 7) == int(frame.duplicated().sum()) == 1


PEAK_ROWS = 5_000_000


def zeros(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.zeros(rows, dtype=np.int64)})


def one_number_column(rows: int):
    frame = zeros(rows)
    return (lambda: profile_frame(CpuEngine(), frame, PRESETS["full"])), profile_need(frame, PRESETS["full"])


PEAK_CASES = {"one number column": one_number_column}


def test_a_large_column_profiles_within_two_and_a_half_times_its_bytes_and_its_estimate():
    table_bytes = int(zeros(PEAK_ROWS).memory_usage(deep=True).sum())
    (peak,) = measure_peaks(__name__, ["one number column"], (PEAK_ROWS,))
    assert peak.peak < 2.5 * table_bytes, f"{peak} for a table of {table_bytes / 2**20:,.0f} MiB"
    assert peak.peak <= peak.model < 2.5 * table_bytes, f"{peak}: estimated far above what it takes, it is refused"


def test_lengths_of_text_and_times_bin_as_numpy_does_in_chunks_smaller_than_the_column(cpu):
    """Text lengths (counted on the distinct values, each weighing its rows) and times (their ticks) in as many
    equal-width bins as asked, streamed 3 values at a time: numpy's histogram of every row's length or tick."""
    rng = np.random.default_rng(3)
    words = pd.Series(["x" * int(n) for n in rng.integers(1, 80, 200)], dtype="str")
    stamps = pd.Series(pd.to_datetime(rng.integers(0, 10**6, 100), unit="s"))
    stamps[::9] = pd.NaT
    frame = pd.DataFrame({"w": words, "t": stamps.reindex(range(200))})
    profile = profile_frame(cpu, frame, ProfileSettings(chunk_rows=3, bins=7, time_bins=9))
    lengths, length_edges = np.histogram(words.str.len().to_numpy(), bins=7)
    words_bins = profile.column("w").histogram
    assert words_bins["count"].tolist() == lengths.tolist()
    assert words_bins["start"].tolist() == length_edges[:-1].tolist()
    assert words_bins["end"].tolist() == length_edges[1:].tolist()
    ticks, _ = np.histogram(stamps.dropna().astype("int64").to_numpy(), bins=9)
    times = profile.column("t").histogram
    assert times["count"].tolist() == ticks.tolist()
    assert (times["start"].iloc[0], times["end"].iloc[-1]) == (stamps.min(), stamps.max())
