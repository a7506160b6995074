"""What a file is: its format and compression (by content first, then name), and its CSV dialect."""

from __future__ import annotations

import csv
import io
import json
import lzma
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePath
from typing import IO, Any

import pyarrow as pa

from pipeline.errors import DataError
from pipeline.tables.json_input import check_nesting


class FileFormat(StrEnum):
    CSV = "CSV"
    PARQUET = "Parquet"
    ARROW = "Arrow IPC / Feather"
    JSONL = "JSON lines"
    JSON = "JSON"  # an array of records
    EXCEL = "Excel"


FORMAT_BY_EXTENSION = {
    ".csv": FileFormat.CSV,
    ".tsv": FileFormat.CSV,
    ".tab": FileFormat.CSV,
    ".txt": FileFormat.CSV,
    ".parquet": FileFormat.PARQUET,
    ".pq": FileFormat.PARQUET,
    ".arrow": FileFormat.ARROW,
    ".feather": FileFormat.ARROW,
    ".ipc": FileFormat.ARROW,
    ".jsonl": FileFormat.JSONL,
    ".ndjson": FileFormat.JSONL,
    ".json": FileFormat.JSON,
    ".xlsx": FileFormat.EXCEL,
}
COMPRESSION_BY_EXTENSION = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".bz2": "bz2",
    ".zip": "zip",
    ".xz": "xz",
    ".zst": "zstd",
    ".zstd": "zstd",
}
COMPRESSION_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}
BINARY_FORMATS = (FileFormat.PARQUET, FileFormat.ARROW, FileFormat.EXCEL)
JSON_FORMATS = (FileFormat.JSON, FileFormat.JSONL)
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "shift_jis", "gb18030")
DELIMITERS = (",", "\t", ";", "|")
SNIFF_BYTES = 64 * 1024


@dataclass
class Detected:
    """The format and compression of a file, and what the detection noticed."""

    format: FileFormat
    compression: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FileRead:
    """How a table was read from its file, for a script to read that file the same way: its format and compression,
    a CSV's delimiter and encoding, the columns of a text format read as date-times, and a CSV's text columns read
    as numbers written with separators (`1.234,5`): each as (column, decimal mark, thousands mark)."""

    format: FileFormat = FileFormat.PARQUET
    compression: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    dates: tuple[str, ...] = ()
    numbers: tuple[tuple[str, str, str], ...] = ()


def split_extensions(name: str) -> tuple[FileFormat | None, str | None]:
    """The format and compression that a file's name claims, e.g. `x.csv.gz`."""
    suffixes = [suffix.lower() for suffix in PurePath(name).suffixes]
    compression = COMPRESSION_BY_EXTENSION.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    claimed = FORMAT_BY_EXTENSION.get(suffixes[-1]) if suffixes else None
    return claimed, compression


def compression_of(head: bytes) -> str | None:
    for magic, codec in COMPRESSION_MAGIC.items():
        if head.startswith(magic):
            return codec
    return None


def format_of_content(head: bytes) -> FileFormat | None:
    """The binary format recognised from magic bytes, or None for text."""
    if head.startswith(b"PAR1"):
        return FileFormat.PARQUET
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        return FileFormat.ARROW
    return None


def zip_names(payload: bytes | Path) -> list[str] | None:
    """The names in a zip archive, or None where its directory cannot be read."""
    try:
        with zipfile.ZipFile(payload if isinstance(payload, Path) else io.BytesIO(payload)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def is_workbook(payload: bytes | Path | None, claimed: FileFormat | None) -> bool:
    """Whether a zip archive is an Excel workbook rather than a zip holding a table (an xlsx file zipped, or a
    CSV): it holds the workbook's part, or it cannot be listed and its name says xlsx (its reader says how it is
    damaged)."""
    names = zip_names(payload) if payload is not None else None
    return "xl/workbook.xml" in names if names is not None else claimed is FileFormat.EXCEL


def text_format(name: str, head: bytes, claimed: FileFormat | None) -> Detected:
    """CSV, JSON lines or a JSON array, judged from the first non-blank character."""
    first = head.lstrip()[:1]
    if first == b"[" and claimed in (None, *JSON_FORMATS):
        detected = Detected(FileFormat.JSON)
        if claimed is FileFormat.JSONL:
            detected.notes.append(f"{name} is named as JSON lines but holds a JSON array: read as a JSON array.")
        return detected
    if first == b"{":
        _check_first_json_line(name, head)
        detected = Detected(FileFormat.JSONL)
        if claimed not in (None, *JSON_FORMATS):
            detected.notes.append(f"{name} is named as {claimed} but holds JSON lines: read as JSON lines.")
        return detected
    if claimed in JSON_FORMATS:
        raise DataError(
            f"{name} is named as JSON but starts with neither '[' (an array of records) nor '{{' (JSON lines). "
            "Check the file, or rename it to its real type (e.g. .csv)."
        )
    return Detected(FileFormat.CSV)


def json_format(name: str, head: bytes) -> FileFormat:
    """A JSON table's layout from its (decompressed) first bytes: an array of records, or JSON lines."""
    return text_format(name, head, FileFormat.JSON).format


def _check_first_json_line(name: str, head: bytes) -> None:
    """JSON lines has one whole object per line: a first line that is not one means a document over several lines."""
    stripped = head.lstrip()
    end = stripped.find(b"\n")
    if end < 0:
        return  # the first line goes on past the sample: the reader judges it
    check_nesting(stripped[:end], name)
    try:
        json.loads(stripped[:end])
    except ValueError as error:
        raise DataError(
            f"{name} holds JSON spread over several lines (its first line is not a whole object), not JSON lines "
            "with one object per line. Save it as JSON lines (`df.to_json(path, orient='records', lines=True)`) or as "
            "an array of records (`orient='records'`)."
        ) from error


def detect(name: str, head: bytes, payload: bytes | Path | None = None) -> Detected:
    """Format and compression of a file from its content, checked against its name.

    `head` is the file's first bytes; `payload` the whole content where at hand
    (needed only to tell an Excel workbook from a zipped CSV).
    """
    claimed, claimed_compression = split_extensions(name)
    compression = compression_of(head)
    if compression == "zip" and is_workbook(payload, claimed):
        detected = Detected(FileFormat.EXCEL)
        if claimed not in (None, FileFormat.EXCEL):
            detected.notes.append(f"{name} is named as {claimed} but is an Excel workbook: read as Excel.")
        return detected
    if compression:
        detected = Detected(claimed or FileFormat.CSV, compression)
        if claimed_compression not in (None, compression):
            detected.notes.append(
                f"{name} is named as {claimed_compression} but is {compression}-compressed: read as {compression}."
            )
        return detected
    if claimed_compression:
        raise DataError(
            f"{name} is named as {claimed_compression}-compressed but is not compressed. "
            "Rename it without the compression suffix, or check that the file is complete."
        )
    content = format_of_content(head)
    if content is not None:
        detected = Detected(content)
        if claimed not in (None, content):
            detected.notes.append(f"{name} is named as {claimed} but its content is {content}: read as {content}.")
        return detected
    if claimed in BINARY_FORMATS:
        kind = "text" if b"\x00" not in head else "binary data of another kind"
        raise DataError(
            f"{name} is named as {claimed} but is not a {claimed} file (it looks like {kind}). "
            "Rename it to its real type, or export it again."
        )
    return text_format(name, head, claimed)


# What decompressors raise on a damaged, encrypted or unsupported archive (zipfile: RuntimeError for a password,
# NotImplementedError for strong encryption or an unknown method; zlib.error for bad deflate data).
UNREADABLE_ARCHIVE = (
    OSError,
    EOFError,
    lzma.LZMAError,
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,
    NotImplementedError,
    pa.ArrowException,
)


class _Counted(io.RawIOBase):
    """A decompressing stream that stops with a DataError once more than `limit` bytes came out of it."""

    def __init__(self, stream: IO[bytes], name: str, compression: str, limit: int) -> None:
        self._stream, self._name, self._compression, self._limit, self._read = stream, name, compression, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(len(buffer))
        except UNREADABLE_ARCHIVE as error:
            raise damaged_archive(self._name, self._compression, error) from error
        self._read += len(data)
        if self._read > self._limit:
            raise DataError(
                f"{self._name} expands to more than {self._limit / 2**20:,.0f} MB when decompressed. "
                "Decompress it and put it in the data folder, or load a smaller file."
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def damaged_archive(name: str, compression: str, error: Exception) -> DataError:
    return DataError(
        f"{name} could not be decompressed as {compression}: it is truncated or damaged ({error}). "
        "Compress or upload it again."
    )


def open_decompressed(path: Path, compression: str, name: str, limit: int) -> io.BufferedReader:
    """The decompressed content of the file at `path` as a stream, decompressed as it is read (never held whole),
    stopping with a DataError past `limit` bytes; a damaged archive is a DataError."""
    try:
        if compression == "zip":
            archive = zipfile.ZipFile(path)
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                listed = ", ".join(info.filename for info in members[:5]) or "none"
                raise DataError(
                    f"{name} holds {len(members)} files ({listed}); a zip must hold exactly one table. "
                    "Unzip it and load the file you want."
                )
            stream: IO[bytes] = archive.open(members[0])
        elif compression == "xz":
            stream = lzma.open(path)  # noqa: SIM115  (closed by whoever reads the stream returned)
        else:
            stream = pa.CompressedInputStream(pa.OSFile(str(path)), compression)
    except DataError:
        raise
    except UNREADABLE_ARCHIVE as error:
        raise damaged_archive(name, compression, error) from error
    return io.BufferedReader(_Counted(stream, name, compression, limit), buffer_size=1 << 20)


def read_decompressed(path: Path, compression: str, name: str, limit: int) -> bytes:
    """The whole decompressed content, at most `limit` bytes (for formats read from anywhere in the file)."""
    with open_decompressed(path, compression, name, limit) as stream:
        return stream.read()


@dataclass(frozen=True)
class Content:
    """A file's content as its readers see it: the bytes at `path`, decompressed as they are read where the file is
    compressed (`compression`), never past `limit` decompressed bytes."""

    path: Path
    name: str
    compression: str | None = None
    limit: int = 1 << 62

    def open(self) -> IO[bytes]:
        """A fresh stream of the (decompressed) content from its start."""
        if self.compression is None:
            return self.path.open("rb")
        return open_decompressed(self.path, self.compression, self.name, self.limit)

    def head(self, size: int) -> bytes:
        with self.open() as stream:
            return stream.read(size)

    def arrow_input(self) -> Any:
        """What pyarrow's readers read: the file mapped (no copy), or the decompressing stream."""
        return pa.memory_map(str(self.path)) if self.compression is None else self.open()

    def whole(self) -> Path | bytes:
        """For formats read from anywhere in the file (Parquet, Arrow IPC, xlsx): the file itself, or its
        decompressed bytes."""
        if self.compression is None:
            return self.path
        return read_decompressed(self.path, self.compression, self.name, self.limit)


def guess_encoding(head: bytes, chosen: str) -> tuple[str, str | None]:
    """The encoding to use, switching to UTF-16 or UTF-8-sig where a byte-order mark says so."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) and not chosen.startswith("utf-16"):
        return "utf-16", "The file starts with a UTF-16 byte-order mark: read as UTF-16."
    if head.startswith(b"\xef\xbb\xbf") and chosen == "utf-8":
        return "utf-8-sig", None
    return chosen, None


def sniff_delimiter(sample: str) -> tuple[str, int]:
    """The delimiter that splits the sample's lines into the most, consistent, columns.

    Returns the delimiter and its column count (1 where no candidate splits the lines).
    """
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        score = (hits / len(counts), width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best, best_score[1]


def decode_sample(head: bytes, encoding: str, name: str) -> str:
    """The first bytes as text, or a DataError that offers other encodings."""
    sample = head[:SNIFF_BYTES]
    try:
        return sample.decode(encoding)
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 4:  # a multi-byte character cut by the sample's end
            return sample[: error.start].decode(encoding)
        raise undecodable(name, encoding, error.start) from error
    except LookupError as error:
        raise DataError(f"Unknown encoding {encoding!r}: choose one of {', '.join(ENCODINGS)}.") from error


def undecodable(name: str, encoding: str, position: int | None = None) -> DataError:
    where = f" at byte {position:,}" if position is not None else ""
    others = ", ".join(e for e in ENCODINGS if e != encoding)
    return DataError(
        f"{name} is not valid {encoding} text{where}. Choose the file's encoding (e.g. {others}) and load it again."
    )
