"""A JSON array of records (`[{…}, {…}]`, what `df.to_json(orient="records")` writes) read as JSON lines.

The array streams to pyarrow's JSON lines reader with a few bytes rewritten, never moved: its own brackets become
spaces, the commas between its records line ends, and line ends elsewhere spaces (JSON allows them only between
values), so each record is one line and the reader, its limits and its messages are those of JSON lines. The
brackets are found by `json_input.JsonScan`, a piece at a time, whatever the file's layout (one record per line,
pretty-printed, or the whole array on one line).
"""

from __future__ import annotations

import io
from typing import IO, Any

import numpy as np

from pipeline.errors import DataError
from pipeline.tables.json_input import JsonScan

PIECE_BYTES = 1 << 20
_OPEN, _CLOSE, _COMMA, _NEWLINE, _RETURN, _SPACE = b"[", b"]", b",", 0x0A, 0x0D, 0x20


class ArrayAsLines(io.RawIOBase):
    """The records of the JSON array in `stream`, one per line; a DataError where the text is not one array."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream, self._scan = stream, JsonScan()
        self._opened = self._closed = False
        self._pending, self._at = b"", 0  # a rewritten piece, and how much of it was handed on

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._at == len(self._pending):
            piece = self._stream.read(PIECE_BYTES)
            if not piece:
                self._finish()
                return 0
            self._pending, self._at = self._rewritten(piece), 0
        size = min(len(buffer), len(self._pending) - self._at)
        buffer[:size] = self._pending[self._at : self._at + size]
        self._at += size
        return size

    def _rewritten(self, piece: bytes) -> bytes:
        found = self._scan.feed(piece)
        if found.open_string.any():
            raise DataError(
                "A text value holds a line break, which JSON does not allow (it is written \\n). Check that the "
                "file is whole and was written by a JSON writer."
            )
        top = found.before == 0
        opening = top & np.isin(found.events, np.frombuffer(b"[{", dtype=np.uint8))
        if opening.any():
            if self._opened or found.events[opening][0] != _OPEN[0] or np.count_nonzero(opening) > 1:
                raise self._not_one_array()
            self._opened = True
        rewritten = np.frombuffer(piece, dtype=np.uint8).copy()
        rewritten[(rewritten == _NEWLINE) | (rewritten == _RETURN)] = _SPACE
        closing = (found.events == _CLOSE[0]) & (found.before == 1) & (found.after == 0)
        self._closed |= bool(closing.any())
        rewritten[found.positions[opening | closing]] = _SPACE
        separator = (found.events == _COMMA[0]) & (found.before == 1)
        rewritten[found.positions[separator]] = _NEWLINE
        return rewritten.tobytes()

    def _finish(self) -> None:
        if self._opened and (self._scan.depth or not self._closed):
            raise DataError("It ends inside its JSON array (no closing ']'): the file is cut short. Upload it whole.")

    def _not_one_array(self) -> DataError:
        return DataError(
            'It holds more than one JSON value at its top level; a table is one array of records (`[{"a": 1}, …]`) '
            "or JSON lines. Save it again as one of them."
        )

    def close(self) -> None:
        self._stream.close()
        super().close()
