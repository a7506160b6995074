"""Host memory of a profile: refused before it starts past the session's budget, with the estimate, the limit and
what to do; dictionary-encoded text is profiled on its codes and categories, never written out row by row."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from pipeline.budget import MemoryBudget
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.profile import PRESETS, profile_column, profile_frame
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
