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
from dataclasses import dataclass
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


def _pieces(payload: JsonText) -> Iterator[bytes]:
    """The payload in pieces of at most SCAN_BYTES (a scan carries its state from one piece to the next)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    if isinstance(payload, bytes):
        yield payload
        return
    if isinstance(payload, Path):
        with payload.open("rb") as handle:
            yield from _pieces(handle)
        return
    while block := payload.read(SCAN_BYTES):
        yield block


@dataclass(frozen=True)
class Structure:
    """What shapes the JSON in one piece of text: the brackets, commas and line ends outside strings, each with its
    position in the piece, its byte, the depth before and after it, and (for a line end) whether a string was
    left open on its line."""

    positions: np.ndarray
    events: np.ndarray
    before: np.ndarray
    after: np.ndarray
    open_string: np.ndarray


class JsonScan:
    """A scan of JSON text read in pieces, cut anywhere: what is a string, and how deep each bracket is.

    Only quotes, backslashes, brackets, commas and line ends matter, so the scan works on their positions alone.
    An escaped byte (after an odd run of backslashes) is not a quote; a line end closes a string left open (a JSON
    lines parser fails there anyway). Depth carries over lines (a parser continues a value that a line leaves
    open) and never drops below 0, so it can only overstate the parser's. A string, a run of backslashes and the
    depth carry over from one piece to the next.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self.values = 1  # at least: one per `{`, `[` and `,` outside strings, plus one
        self._in_string = False
        self._escaping = False  # the last piece ended with a backslash that escapes the next byte

    def feed(self, piece: bytes) -> Structure:
        """Scan the next piece and say what shapes it."""
        found = self._scan(piece, structure=True)
        assert found is not None
        return found

    def count(self, piece: bytes) -> None:
        """Scan the next piece for its depth and values only (faster than `feed`)."""
        self._scan(piece, structure=False)

    def _scan(self, piece: bytes, structure: bool) -> Structure | None:
        values = np.frombuffer(piece, dtype=np.uint8)
        positions = np.flatnonzero(_EVENTS[values])
        if self._escaping and len(piece):
            self._escaping = False
            if len(positions) and positions[0] == 0:
                positions = positions[1:]  # escaped by the backslash that ended the piece before
        events = values[positions]
        backslash = events == _BACKSLASH
        if backslash.any():
            order = np.arange(len(events))
            joined = np.zeros(len(events), dtype=bool)
            joined[1:] = backslash[1:] & backslash[:-1] & (positions[1:] == positions[:-1] + 1)
            run_start = np.maximum.accumulate(np.where(backslash & ~joined, order, 0))
            escaping = backslash & ((order - run_start) % 2 == 0)
            self._escaping = bool(escaping[-1] and positions[-1] == len(piece) - 1)
            after = np.flatnonzero(escaping[:-1]) + 1
            escaped = np.zeros(len(events), dtype=bool)
            escaped[after] = positions[after] == positions[after - 1] + 1
            kept = ~backslash & ~escaped
            events, positions = events[kept], positions[kept]
        if not len(events):
            empty = np.zeros(0, dtype=np.int64)
            return Structure(positions, events, empty, empty, np.zeros(0, dtype=bool))
        quote = events == _QUOTE
        newline = events == _NEWLINE
        quotes = np.cumsum(quote)
        line_start = np.maximum.accumulate(np.where(newline, quotes, 0))  # quotes before the line each event is on
        lines = np.cumsum(newline) if structure or self._in_string else None
        carried = (lines == 0).astype(np.int64) if self._in_string else 0  # a string the piece before left open
        inside = ((quotes - quote - line_start + carried) & 1).astype(bool)
        steps = _STEPS[events].astype(np.int64)
        steps[inside] = 0
        walk = np.cumsum(steps) + self.depth
        walk -= np.minimum(np.minimum.accumulate(walk), 0)
        depth_before = self.depth
        in_string_before = int(self._in_string)
        self._in_string = bool((quotes[-1] - line_start[-1] + (carried[-1] if self._in_string else 0)) & 1)
        self.depth = int(walk[-1])
        self.deepest = max(self.deepest, int(walk.max()))
        structural = ~inside
        self.values += int(np.count_nonzero(_OPENS[events] & structural))
        if not structure:
            return None
        earlier_start = np.concatenate(([0], line_start[:-1]))
        earlier_carried = np.where(lines - newline == 0, in_string_before, 0)
        open_string = newline & ((quotes - earlier_start + earlier_carried) & 1).astype(bool)
        before = np.concatenate(([depth_before], walk[:-1]))
        return Structure(
            positions[structural], events[structural], before[structural], walk[structural], open_string[structural]
        )


def nesting_depth(payload: JsonText, stop_past: int = MAX_JSON_DEPTH) -> int:
    """How deep JSON text nests objects and arrays (at least; the scan stops once past `stop_past`)."""
    return scan(payload, stop_past)[0]


def scan(payload: JsonText, stop_past: int = MAX_JSON_DEPTH) -> tuple[int, int]:
    """(how deep JSON text nests, at least how many values it holds: one per `{`, `[` and `,` outside strings,
    plus one); the scan stops once deeper than `stop_past`."""
    scanner = JsonScan()
    for piece in _pieces(payload):
        scanner.count(piece)
        if scanner.deepest > stop_past:
            break
    return scanner.deepest, scanner.values


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
