"""JSON documents a visitor sends (recipes, workspace manifests, benchmark runs, training histories) parsed within
bounds: their size and number of values first, then, for anything large, a parse in the reader process under the
operating system's memory limit before the server parses it."""

from __future__ import annotations

import json
from typing import Any

from pipeline.budget import MemoryBudget
from pipeline.errors import DataError
from pipeline.settings import positive_int_setting
from pipeline.tables.json_input import MAX_JSON_DEPTH, scan, too_deep
from pipeline.tables.sandbox import Limits, run_job

MAX_BYTES_ENV = "GPL_MAX_JSON_MB"
DEFAULT_MAX_MB = 64
MAX_VALUES = 1_000_000  # far more than any file this app writes; at most a few hundred MB parsed
IN_PROCESS_BYTES = 1 << 20  # a document this small takes at most ~50 MB parsed: no child needed to prove it


def max_json_bytes() -> int:
    """The largest JSON document a visitor may send: $GPL_MAX_JSON_MB (64 MB)."""
    return positive_int_setting(MAX_BYTES_ENV, DEFAULT_MAX_MB) * 2**20


def parse_json(text: bytes | str, name: str, expected: str) -> Any:
    """The JSON document in `text`; a DataError naming `name` and what was `expected` when it is none, or when it
    is too large, too deep or holds too many values to parse safely."""
    size = len(text)
    if size > max_json_bytes():
        raise DataError(
            f"{name} is {size / 2**20:,.1f} MB, over the {max_json_bytes() / 2**20:,.0f} MB a JSON file may take "
            f"here. Choose {expected}."
        )
    deepest, values = scan(text)
    if deepest > MAX_JSON_DEPTH:
        raise too_deep(name, deepest)
    if values > MAX_VALUES:
        raise DataError(
            f"{name} holds about {values:,} JSON values, more than the {MAX_VALUES:,} a file may hold here. "
            f"Choose {expected}."
        )
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if size > IN_PROCESS_BYTES:
        budget = MemoryBudget.for_session()
        run_job("json", {}, raw, Limits.for_memory(budget.nbytes), name)  # a DataError if it does not fit
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{name} is not valid JSON ({error}). Choose {expected}.") from None
