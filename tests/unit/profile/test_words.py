"""Word frequencies of a text column, against a plain Python count."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from pipeline.profile.words import WORD, word_counts

REVIEWS = pd.Series(
    ["Great coffee, great staff!", None, "Coffee was cold.", "great_value: coffee", "Café au lait; café!", ""],
    dtype="str",
)


def expected(series: pd.Series, top: int) -> list[tuple[str, int]]:
    import re

    counts = Counter(w for text in series.dropna() for w in re.findall(WORD, text.lower()))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def test_words_are_counted_lower_cased_split_at_punctuation_ties_alphabetical(cpu):
    table = word_counts(cpu, REVIEWS, top=4)
    assert list(zip(table["word"], table["count"], strict=True)) == expected(REVIEWS, 4)
    assert table.iloc[0].tolist() == ["coffee", 3] and "café" in set(table["word"])


@pytest.mark.gpu
def test_the_gpu_counts_the_same_words(cpu, gpu):
    import cudf

    on_gpu = word_counts(gpu, cudf.Series(REVIEWS), top=10)
    pd.testing.assert_frame_equal(on_gpu, word_counts(cpu, REVIEWS, top=10), check_dtype=False)
