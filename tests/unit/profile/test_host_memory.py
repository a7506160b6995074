"""Host memory of a profile: refused before it starts past the session's budget, with the estimate, the limit and
what to do; dictionary-encoded text is profiled on its codes and categories, never written out row by row."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipeline.budget import WORK_OVERHEAD, MemoryBudget
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.profile import PRESETS, ProfileSettings, profile_column, profile_frame
from pipeline.profile.memory import AT_ONCE, profile_need
from tests.support.peaks import measure_peaks

LABELS = [chr(ord("a") + i) * (1_000 + 200 * i) for i in range(10)]  # 1,000 to 2,800 characters
ROWS = 100_000


def numbers() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({f"x{i}": rng.normal(size=1_000_000) for i in range(4)})  # 31 MiB


def test_a_profile_past_the_budget_is_refused_before_it_starts_with_what_to_do(cpu):
    frame = numbers()
    budget = MemoryBudget(80 * 2**20, "the test allows")
    start = time.perf_counter()
    with pytest.raises(DataError) as refused:
        profile_frame(cpu, frame, PRESETS["full"], budget=budget)
    assert time.perf_counter() - start < 1.0, "refused from the estimate, not after profiling"
    message = str(refused.value)
    assert message.startswith("The profile of this table (1,000,000 rows, 4 columns) needs about 0.")
    assert "GiB of memory at its peak, more than the 0.08 GiB the test allows. " in message
    assert "Use the minimal profile (about 0.04 GiB), profile a sample" in message
    assert "profile a sample (Pipeline: a “Sample rows” step, its result saved as a dataset)" in message
    assert "or load it on a Dask cluster and profile it there." in message
    assert profile_frame(cpu, frame, PRESETS["minimal"], budget=budget).table.rows == 1_000_000, "the minimal fits"
    with pytest.raises(DataError, match=r"^The minimal profile of this table .* more than the 0.01 GiB"):
        profile_frame(cpu, frame, PRESETS["minimal"], budget=MemoryBudget(8 * 2**20, "the test allows"))


def dictionary_text(rows: int) -> pd.Series:
    codes = np.random.default_rng(2).integers(0, len(LABELS), rows)
    return pd.Series(pd.Categorical.from_codes(codes, categories=LABELS), name="text")


def profile_of_dictionary_text(rows: int):
    frame = dictionary_text(rows).to_frame()
    return (lambda: profile_frame(CpuEngine(), frame, PRESETS["full"])), 0


PEAK_CASES = {"dictionary text": profile_of_dictionary_text}


def test_dictionary_text_is_profiled_on_its_codes_without_writing_it_out(cpu):
    written_out = sum(len(LABELS[code]) for code in dictionary_text(ROWS).cat.codes)  # about 190 MB
    (peak,) = measure_peaks(__name__, ["dictionary text"], (ROWS,))
    assert peak.peak < 24 * 2**20, f"{peak} for text of {written_out / 2**20:,.0f} MiB written out"


def test_dictionary_text_has_the_statistics_of_its_text(cpu):
    series = dictionary_text(5_000)
    series.iloc[::7] = None
    coded = profile_column(cpu, series, int(series.isna().sum()), PRESETS["full"])
    text = series.astype("str")
    plain = profile_column(cpu, text, int(text.isna().sum()), PRESETS["full"])
    assert coded.kind == plain.kind == "text" and coded.distinct == plain.distinct == len(LABELS)
    assert coded.stats == plain.stats
    pd.testing.assert_frame_equal(coded.top_values, plain.top_values)
    pd.testing.assert_frame_equal(coded.histogram, plain.histogram)


def top(sizes: list[float]) -> float:
    """The AT_ONCE largest of the per-column figures: the columns the host engine works on at a time."""
    return sum(sorted(sizes)[-AT_ONCE:])


def mixed(rows: int) -> pd.DataFrame:
    """Numbers (one with gaps), text, flags and narrow whole numbers."""
    return pd.DataFrame(
        {
            "x": np.random.default_rng(0).normal(size=rows),
            "y": np.where(np.arange(rows) % 4 == 0, np.nan, 1.0),
            "t": pd.Series([f"word{i % 37}" for i in range(rows)], dtype="str"),
            "b": np.arange(rows) % 2 == 0,
            "s": np.arange(rows, dtype=np.int16),
        }
    )


@pytest.mark.parametrize(
    ("settings", "largest"),
    [
        (ProfileSettings(chunk_rows=100), "correlations"),
        (ProfileSettings(chunk_rows=100, correlations=False), "duplicates"),
        (ProfileSettings(chunk_rows=100, correlations=False, duplicates=False), "columns"),
    ],
)
def test_the_estimate_is_its_largest_phase_from_the_factors_of_each_column(settings, largest):
    """A profile's estimate is the work overhead and its largest phase, each phase from the documented multiples of
    a column's bytes (numbers, flags and times at 8 bytes a value; text at its own bytes), of its rows and of a
    chunk's rows, AT_ONCE columns worked on at a time."""
    rows, chunk = 1_000, 100
    frame = mixed(rows)
    number, text = 8 * rows, int(frame["t"].memory_usage(deep=True, index=False))
    assert text > 8 * rows
    phases = {
        "missing flags": 0.125 * (4 * number + text),
        "columns": top([number] * 4 + [4 * text]) + AT_ONCE * 5 * 8 * chunk,
        "duplicates": top([number] * 4 + [3 * text]) + 3 * 8 * rows + AT_ONCE * 4 * 8 * chunk,
        # x, y and s are numbers (b is flags); t is the one text column
        "correlations": 3.5 * 3 * number + 3 * text + 6 * 8 * rows,
        "missing matrices": 3.5 * number,  # y alone has gaps
    }
    skipped = {"correlations": settings.correlations, "duplicates": settings.duplicates}
    assert max((figure for name, figure in phases.items() if skipped.get(name, True)), default=0) == phases[largest]
    assert profile_need(frame, settings) == int(WORK_OVERHEAD + phases[largest])


def gappy_numbers(columns: int, rows: int = 1_000) -> pd.DataFrame:
    values = np.where(np.arange(rows) % 3 == 0, np.nan, np.arange(rows, dtype=np.float64))
    return pd.DataFrame({f"x{i}": values for i in range(columns)})


def test_many_columns_make_the_missing_value_phases_the_largest_up_to_sixty_matrix_columns():
    """40 columns of numbers with gaps: their flags (an eighth of their bytes) outweigh two columns' statistics in a
    minimal profile; their missing-value matrices take 3.5 times the bytes of at most 60 of them."""
    rows, chunk = 1_000, 10
    number = 8 * rows
    minimal = ProfileSettings(chunk_rows=chunk, duplicates=False, correlations=False, missing_matrices=False)
    assert 0.125 * 40 * number > top([number] * 40) + AT_ONCE * 5 * 8 * chunk, "the flags outweigh the statistics"
    assert profile_need(gappy_numbers(40), minimal) == int(WORK_OVERHEAD + 0.125 * 40 * number)
    matrices = replace(minimal, missing_matrices=True)
    assert profile_need(gappy_numbers(40), matrices) == int(WORK_OVERHEAD + 3.5 * 40 * number)
    assert profile_need(gappy_numbers(70), matrices) == int(WORK_OVERHEAD + 3.5 * 60 * number)
    correlated = replace(minimal, correlations=True)
    assert profile_need(gappy_numbers(70), correlated) == int(WORK_OVERHEAD + 3.5 * 60 * number + 6 * 8 * rows)


def test_a_short_column_of_short_text_counts_eight_bytes_a_row_and_its_rows_as_its_chunk():
    """Categorical text holds less than 8 bytes a row (a byte code); the profile's lengths and counts take 8. A table of
    fewer rows than a chunk streams them all at once; one column is one column at a time."""
    rows = 50
    frame = pd.DataFrame({"t": pd.Categorical(["a", "b"] * (rows // 2))})
    assert frame["t"].memory_usage(deep=True, index=False) < 8 * rows
    settings = ProfileSettings(chunk_rows=100, duplicates=False)
    assert profile_need(frame, settings) == int(WORK_OVERHEAD + 4 * 8 * rows + 1 * 5 * 8 * rows)
    one_number = pd.DataFrame({"x": np.arange(rows, dtype=np.float64)})
    assert profile_need(one_number, ProfileSettings(chunk_rows=10)) == int(WORK_OVERHEAD + 8 * rows + 5 * 8 * 10)


def test_two_numeric_columns_or_two_of_text_and_flags_are_enough_for_the_correlation_phase():
    """Two numbers make Pearson and Spearman; text and a flag make Cramér's V: each pair's phase is counted, the
    largest here (1,000 rows, chunks of 10)."""
    rows, settings = 1_000, ProfileSettings(chunk_rows=10)
    numbers = pd.DataFrame({"x": np.arange(rows, dtype=np.float64), "y": np.ones(rows)})
    assert profile_need(numbers, settings) == int(WORK_OVERHEAD + 3.5 * 2 * 8 * rows + 6 * 8 * rows)
    categories = mixed(rows)[["t", "b"]]
    text = int(categories["t"].memory_usage(deep=True, index=False))
    assert profile_need(categories, settings) == int(WORK_OVERHEAD + 3 * text + 6 * 8 * rows)
