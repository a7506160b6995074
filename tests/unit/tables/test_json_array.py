"""JSON read in pieces cut anywhere: the scan's depths and strings, and a JSON array rewritten as JSON lines."""

from __future__ import annotations

import io
import json

import pytest

from pipeline.errors import DataError
from pipeline.tables import json_array
from pipeline.tables.json_array import ArrayAsLines
from pipeline.tables.json_input import JsonScan

TRICKY = (
    b'[\r\n  {"a": "x, ] [ }", "b": [1, {"c": "\\\\"}], "d": "\\"[,"},\n  {"a": "\\\\\\"]]", "b": [], "d": null}\n]\n'
)


def structure_of(pieces: list[bytes]) -> tuple[list[tuple[int, int, int, int]], int, int]:
    """(position in the whole text, byte, depth before, depth after) of every bracket, comma and line end found
    outside strings, the deepest level and the values counted, scanning `pieces` one after another."""
    scan, found, offset = JsonScan(), [], 0
    for piece in pieces:
        structure = scan.feed(piece)
        found += zip(
            (structure.positions + offset).tolist(),
            structure.events.tolist(),
            structure.before.tolist(),
            structure.after.tolist(),
            strict=True,
        )
        offset += len(piece)
    return found, scan.deepest, scan.values


def test_a_scan_finds_the_same_structure_wherever_the_text_is_cut():
    whole = structure_of([TRICKY])
    assert whole[1] == 4  # array, record, list, object
    assert [event for _, event, _, _ in whole[0]].count(ord(",")) == 6  # none of the commas inside strings
    for cut in range(1, len(TRICKY)):
        assert structure_of([TRICKY[:cut], TRICKY[cut:]]) == whole, cut
    assert structure_of([TRICKY[i : i + 1] for i in range(len(TRICKY))]) == whole


def rewritten(text: bytes, piece_bytes: int, monkeypatch) -> bytes:
    monkeypatch.setattr(json_array, "PIECE_BYTES", piece_bytes)
    with io.BufferedReader(ArrayAsLines(io.BytesIO(text)), 7) as stream:
        return stream.read()


@pytest.mark.parametrize("piece_bytes", [1, 2, 3, 5, 64, 1 << 20])
def test_an_array_becomes_one_record_a_line_byte_for_byte(piece_bytes, monkeypatch):
    lines = rewritten(TRICKY, piece_bytes, monkeypatch)
    assert len(lines) == len(TRICKY)
    records = [json.loads(line) for line in lines.split(b"\n") if line.strip()]
    assert records == json.loads(TRICKY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'[{"a": 1}, {"a": 2}', "ends inside its JSON array"),
        (b'[{"a": 1}] [{"a": 2}]', "more than one JSON value at its top level"),
        (b'[{"a": 1}] {"a": 2}', "more than one JSON value at its top level"),
        (b'[{"a": "two\nlines"}]', "A text value holds a line break"),
    ],
)
def test_text_that_is_not_one_array_is_refused_as_it_streams(text, message, monkeypatch):
    for piece_bytes in (3, 1 << 20):
        with pytest.raises(DataError, match=message):
            rewritten(text, piece_bytes, monkeypatch)


def test_a_whole_array_on_one_line_is_scanned_in_pieces_not_held(monkeypatch):
    """`df.to_json(orient="records")` writes no line break at all: the scan must not wait for one."""
    text = json.dumps([{"i": i, "s": "]," * (i % 3)} for i in range(5000)]).encode()
    assert b"\n" not in text
    monkeypatch.setattr(json_array, "PIECE_BYTES", 4096)
    seen = []

    class Pieces(io.BytesIO):
        def read(self, size=-1):
            seen.append(size)
            return super().read(size)

    with io.BufferedReader(ArrayAsLines(Pieces(text)), 4096) as stream:
        lines = stream.read().split(b"\n")
    assert max(seen) == 4096
    assert [json.loads(line)["i"] for line in lines] == list(range(5000))
    assert all(line.count(b"{") == 1 for line in lines)
