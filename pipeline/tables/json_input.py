"""JSON from a visitor, scanned before any parser sees it: how deep it nests and how many values it holds.

pyarrow's JSON reader recurses once per level and crashes the whole process (signal 11) on lines nested about
12,000 deep; Python's `json` raises RecursionError past about 1,000. Tables and the app's own files nest a few
levels, so anything deeper than MAX_JSON_DEPTH is refused after a scan that never recurses. Python's `json` takes
up to about 48 bytes of memory per byte of input (`[{}, {}, …]`), so documents are also bounded in bytes and in
values before they are parsed (`pipeline.tables.visitor_json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipeline.errors import DataError

MAX_JSON_DEPTH = 100
SCAN_BYTES = 1 << 24  # read a file this much at a time
_EVENTS = np.zeros(256, dtype=bool)
_EVENTS[list(b'"\\{}[],\n')] = True
_STEPS = np.zeros(256, dtype=np.int8)
_STEPS[list(b"{[")] = 1
_STEPS[list(b"}]")] = -1
_OPENS = np.zeros(256, dtype=bool)
_OPENS[list(b"{[,")] = True  # each starts at least one more value
_BACKSLASH, _QUOTE, _NEWLINE = 0x5C, 0x22, 0x0A


JsonText = bytes | str | Path | IO[bytes]


def _lines(payload: JsonText) -> Iterator[bytes]:
    """The payload in pieces that each end at a line end (or the end of the input)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    if isinstance(payload, bytes):
        yield payload
        return
    if isinstance(payload, Path):
        with payload.open("rb") as handle:
            yield from _lines(handle)
        return
    rest = b""
    while block := payload.read(SCAN_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut:
            yield block[:cut]
        rest = block[cut:]
    if rest:
        yield rest


def _piece_depth(piece: bytes, depth: int) -> tuple[int, int, int]:
    """(depth at the end, deepest level reached, values begun) of brackets outside strings, starting at `depth`.

    Only quotes, backslashes, brackets and line ends matter, so the scan works on their positions
    alone. An escaped byte (after an odd run of backslashes) is not a quote; a line end closes a
    string left open (the parser fails there anyway). Depth carries over lines (a parser continues
    a value that a line leaves open) and never drops below 0, so it can only overstate the parser's.
    """
    values = np.frombuffer(piece, dtype=np.uint8)
    positions = np.flatnonzero(_EVENTS[values])
    if not len(positions):
        return depth, depth, 0
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
    begun = int(np.count_nonzero(_OPENS[events] & ~inside))
    walk = np.cumsum(steps) + depth
    walk -= np.minimum(np.minimum.accumulate(walk), 0)
    return int(walk[-1]), int(walk.max()), begun


def nesting_depth(payload: JsonText, stop_past: int = MAX_JSON_DEPTH) -> int:
    """How deep JSON text nests objects and arrays (at least; the scan stops once past `stop_past`)."""
    return scan(payload, stop_past)[0]


def scan(payload: JsonText, stop_past: int = MAX_JSON_DEPTH) -> tuple[int, int]:
    """(how deep JSON text nests, at least how many values it holds: one per `{`, `[` and `,` outside strings,
    plus one); the scan stops once deeper than `stop_past`."""
    depth = deepest = 0
    values = 1
    for piece in _lines(payload):
        depth, reached, begun = _piece_depth(piece, depth)
        deepest, values = max(deepest, reached), values + begun
        if deepest > stop_past:
            break
    return deepest, values


def check_nesting(payload: JsonText, name: str) -> None:
    """A DataError when the JSON in `payload` nests deeper than MAX_JSON_DEPTH."""
    deepest = nesting_depth(payload)
    if deepest > MAX_JSON_DEPTH:
        raise too_deep(name, deepest)


def too_deep(name: str, deepest: int) -> DataError:
    return DataError(
        f"{name} nests objects or arrays more than {MAX_JSON_DEPTH} levels deep ({deepest:,} or more), which "
        "no table needs and a JSON parser cannot take safely. Flatten the nested values, or check the file."
    )


def json_job(arguments: dict[str, Any], path: Path) -> tuple[dict[str, Any], None]:
    """The reader process's job for a JSON document: parsed within the process's limits (the server parses it only
    once this has), and its values counted."""
    try:
        document = json.loads(path.read_bytes())
    except ValueError:
        return {"valid": False}, None  # the server's own parse says where, for the file it names
    return {"valid": True, "values": _count(document)}, None


def _count(document: Any) -> int:
    """The values in a parsed document, counted without recursion."""
    count, pending = 0, [document]
    while pending:
        value = pending.pop()
        count += 1
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return count
