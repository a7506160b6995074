"""JSON from a visitor, checked for nesting depth before any parser sees it.

pyarrow's JSON reader recurses once per level and crashes the whole process (signal 11) on
lines nested about 12,000 deep; Python's `json` raises RecursionError past about 1,000. Tables
and the app's own files nest a few levels, so anything deeper than MAX_JSON_DEPTH is refused
after a scan that never recurses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import DataError

MAX_JSON_DEPTH = 100
SCAN_BYTES = 1 << 24  # read a file this much at a time
_EVENTS = np.zeros(256, dtype=bool)
_EVENTS[list(b'"\\{}[]\n')] = True
_STEPS = np.zeros(256, dtype=np.int8)
_STEPS[list(b"{[")] = 1
_STEPS[list(b"}]")] = -1
_BACKSLASH, _QUOTE, _NEWLINE = 0x5C, 0x22, 0x0A


def _lines(payload: bytes | str | Path) -> Iterator[bytes]:
    """The payload in pieces that each end at a line end (or the end of the input)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    if isinstance(payload, bytes):
        yield payload
        return
    rest = b""
    with payload.open("rb") as handle:
        while block := handle.read(SCAN_BYTES):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if cut:
                yield block[:cut]
            rest = block[cut:]
    if rest:
        yield rest


def _piece_depth(piece: bytes, depth: int) -> tuple[int, int]:
    """(depth at the end, deepest level reached) of brackets outside strings, starting at `depth`.

    Only quotes, backslashes, brackets and line ends matter, so the scan works on their positions
    alone. An escaped byte (after an odd run of backslashes) is not a quote; a line end closes a
    string left open (the parser fails there anyway). Depth carries over lines (a parser continues
    a value that a line leaves open) and never drops below 0, so it can only overstate the parser's.
    """
    values = np.frombuffer(piece, dtype=np.uint8)
    positions = np.flatnonzero(_EVENTS[values])
    if not len(positions):
        return depth, depth
    events = values[positions]
    backslash = events == _BACKSLASH
    if backslash.any():
        order = np.arange(len(events))
        joined = np.zeros(len(events), dtype=bool)
        joined[1:] = backslash[1:] & backslash[:-1] & (positions[1:] == positions[:-1] + 1)
        run_start = np.maximum.accumulate(np.where(backslash & ~joined, order, 0))
        escaping = backslash & ((order - run_start) % 2 == 0)
        after = np.flatnonzero(escaping[:-1]) + 1
        escaped = np.zeros(len(events), dtype=bool)
        escaped[after] = positions[after] == positions[after - 1] + 1
        kept = ~backslash & ~escaped
        events = events[kept]
    quote = events == _QUOTE
    quotes = np.cumsum(quote)
    at_line_start = np.maximum.accumulate(np.where(events == _NEWLINE, quotes, 0))
    inside = ((quotes - quote - at_line_start) & 1).astype(bool)
    steps = _STEPS[events].astype(np.int64)
    steps[inside] = 0
    walk = np.cumsum(steps) + depth
    walk -= np.minimum(np.minimum.accumulate(walk), 0)
    return int(walk[-1]), int(walk.max())


def nesting_depth(payload: bytes | str | Path, stop_past: int = MAX_JSON_DEPTH) -> int:
    """How deep JSON text nests objects and arrays (at least; the scan stops once past `stop_past`)."""
    depth = deepest = 0
    for piece in _lines(payload):
        depth, reached = _piece_depth(piece, depth)
        deepest = max(deepest, reached)
        if deepest > stop_past:
            break
    return deepest


def check_nesting(payload: bytes | str | Path, name: str) -> None:
    """A DataError when the JSON in `payload` nests deeper than MAX_JSON_DEPTH."""
    deepest = nesting_depth(payload)
    if deepest > MAX_JSON_DEPTH:
        raise DataError(
            f"{name} nests objects or arrays more than {MAX_JSON_DEPTH} levels deep ({deepest:,} or more), which "
            "no table needs and a JSON parser cannot take safely. Flatten the nested values, or check the file."
        )


def parse_json(text: bytes | str, name: str, expected: str) -> Any:
    """The JSON document in `text`; a DataError naming `name` and what was `expected` when it is none."""
    check_nesting(text, name)
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{name} is not valid JSON ({error}). Choose {expected}.") from None
