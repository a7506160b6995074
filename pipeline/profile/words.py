"""The most frequent words of a text column, counted on the engine (only the top words come to the host)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.engines import Engine

WORD = r"[^\W_]+"  # letters and digits, in any script; punctuation and underscores split words
TOP_WORDS = 20
CANDIDATES = 200  # taken from the engine before ties are broken by the word itself, on the host


def word_counts(engine: Engine, series: Any, top: int = TOP_WORDS) -> pd.DataFrame:
    """The `top` most frequent words (lower-cased) of a text column and how often each occurs (columns: word,
    count), most frequent first, ties in alphabetical order."""
    words = series.dropna().str.lower().str.findall(WORD).explode().dropna()
    counts = engine.compute(words.value_counts().nlargest(CANDIDATES))
    host = engine.local.to_pandas(counts.to_frame("count"))
    table = host.rename_axis("word").reset_index()
    table["word"] = table["word"].astype(str)
    table = table.sort_values(["count", "word"], ascending=[False, True], kind="stable")
    return table.head(top).reset_index(drop=True)
