"""What a file is, told from its name and its first bytes, its content decompressed as it is read, and the
messages a visitor reads when a file is refused. These run inside the reader process in the app; here they are
called directly, on small files made by the real writers and compressors."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.errors import DataError
from pipeline.tables.formats import (
    Content,
    FileFormat,
    compression_of,
    damaged_archive,
    decode_sample,
    detect,
    format_of_content,
    guess_encoding,
    is_workbook,
    json_format,
    open_decompressed,
    read_decompressed,
    sniff_delimiter,
    split_extensions,
    text_format,
    undecodable,
    zip_names,
)
from tests.support.bombs import XLSX_PARTS
from tests.support.files import zip_bytes

MIB = 2**20
CSV, PARQUET, ARROW, JSONL, JSON, EXCEL = (
    FileFormat.CSV,
    FileFormat.PARQUET,
    FileFormat.ARROW,
    FileFormat.JSONL,
    FileFormat.JSON,
    FileFormat.EXCEL,
)


def zipped(members: dict[str, bytes]) -> bytes:
    return zip_bytes(members, zipfile.ZIP_DEFLATED)


WORKBOOK = zipped({name: text.encode() for name, text in XLSX_PARTS.items()})
ZIPPED_CSV = zipped({"t.csv": b"a,b\n1,2\n"})
DAMAGED_ZIP = b"PK\x03\x04" + b"\x00" * 60


# Names.


@pytest.mark.parametrize(
    ("name", "fmt", "compression"),
    [
        ("t.csv", CSV, None),
        ("T.TSV", CSV, None),
        ("t.tab", CSV, None),
        ("t.txt", CSV, None),
        ("t.parquet", PARQUET, None),
        ("t.pq", PARQUET, None),
        ("t.arrow", ARROW, None),
        ("t.feather", ARROW, None),
        ("t.ipc", ARROW, None),
        ("t.jsonl", JSONL, None),
        ("t.ndjson", JSONL, None),
        ("t.json", JSON, None),
        ("t.xlsx", EXCEL, None),
        ("my.data.parquet", PARQUET, None),
        ("my.data.csv.gz", CSV, "gzip"),
        ("t.csv.gz", CSV, "gzip"),
        ("t.csv.GZIP", CSV, "gzip"),
        ("t.json.bz2", JSON, "bz2"),
        ("t.csv.zip", CSV, "zip"),
        ("t.csv.xz", CSV, "xz"),
        ("t.csv.zst", CSV, "zstd"),
        ("t.csv.zstd", CSV, "zstd"),
        ("t.gz", None, "gzip"),
        ("archive.tar.gz", None, "gzip"),
        ("t.gz.csv", CSV, None),
        ("t", None, None),
        ("t.xls", None, None),
    ],
)
def test_a_name_claims_a_format_and_a_compression(name, fmt, compression):
    assert split_extensions(name) == (fmt, compression)


# Content.


@pytest.mark.parametrize(
    ("head", "codec"),
    [
        (gzip.compress(b"a"), "gzip"),
        (bz2.compress(b"a"), "bz2"),
        (lzma.compress(b"a"), "xz"),
        (b"\x28\xb5\x2f\xfd" + b"\x00" * 8, "zstd"),
        (ZIPPED_CSV, "zip"),
        (b"a,b\n1,2\n", None),
        (b"\x1f", None),
        (b"", None),
    ],
    ids=["gzip", "bz2", "xz", "zstd", "zip", "text", "short", "empty"],
)
def test_a_compression_is_told_by_its_magic_bytes(head, codec):
    assert compression_of(head) == codec


@pytest.mark.parametrize(
    ("head", "fmt"),
    [(b"PAR1\x15\x00", PARQUET), (b"ARROW1\x00\x00", ARROW), (b"\xff\xff\xff\xff\x10", ARROW), (b"PAR", None)],
    ids=["parquet", "arrow file", "arrow stream", "short"],
)
def test_a_binary_format_is_told_by_its_magic_bytes(head, fmt):
    assert format_of_content(head) is fmt


def test_the_names_in_a_zip_are_read_from_bytes_or_a_file(tmp_path):
    path = tmp_path / "t.zip"
    path.write_bytes(ZIPPED_CSV)
    assert zip_names(ZIPPED_CSV) == zip_names(path) == ["t.csv"]
    path.write_bytes(DAMAGED_ZIP)
    assert zip_names(DAMAGED_ZIP) is None and zip_names(path) is None


@pytest.mark.parametrize(
    ("payload", "claimed", "workbook"),
    [
        (WORKBOOK, None, True),
        (WORKBOOK, CSV, True),
        (ZIPPED_CSV, EXCEL, False),  # an xlsx name on a zip of a CSV: the listing wins
        (DAMAGED_ZIP, EXCEL, True),  # unlisted: the name decides, and the xlsx reader says what is damaged
        (DAMAGED_ZIP, CSV, False),
        (DAMAGED_ZIP, None, False),
        (None, EXCEL, True),
        (None, None, False),
    ],
)
def test_a_zip_is_a_workbook_when_it_holds_one_or_cannot_be_listed_and_is_named_xlsx(payload, claimed, workbook):
    assert is_workbook(payload, claimed) is workbook


@pytest.mark.parametrize(
    ("head", "claimed", "fmt"),
    [
        (b'[{"a": 1}]', None, JSON),
        (b' \n\t[{"a": 1}]', JSON, JSON),
        (b'[{"a": 1}]', CSV, CSV),  # a CSV may start with a bracket
        (b'{"a": 1}\n{"a": 2}\n', None, JSONL),
        (b'{"a": 1}\n', JSON, JSONL),
        (b'{"a": 1}\n', JSONL, JSONL),
        (b'{"a": ', None, JSONL),  # a first line longer than the sample: the reader judges it
        (b"a,b\n1,2\n", None, CSV),
        (b"", None, CSV),
    ],
)
def test_text_is_told_by_its_first_character_and_its_name(head, claimed, fmt):
    detected = text_format("t.x", head, claimed)
    assert (detected.format, detected.compression, detected.notes) == (fmt, None, [])


def test_a_json_array_named_json_lines_is_read_as_an_array_with_a_note():
    assert text_format("t.jsonl", b"[{}]", JSONL).notes == [
        "t.jsonl is named as JSON lines but holds a JSON array: read as a JSON array."
    ]


def test_json_lines_named_otherwise_are_read_as_json_lines_with_a_note():
    detected = text_format("t.csv", b'{"a": 1}\n', CSV)
    assert detected.format is JSONL
    assert detected.notes == ["t.csv is named as CSV but holds JSON lines: read as JSON lines."]


@pytest.mark.parametrize("claimed", [JSON, JSONL])
def test_json_that_starts_with_neither_bracket_is_refused(claimed):
    with pytest.raises(DataError) as raised:
        text_format("t.json", b"a,b\n", claimed)
    assert str(raised.value) == (
        "t.json is named as JSON but starts with neither '[' (an array of records) nor '{' (JSON lines). "
        "Check the file, or rename it to its real type (e.g. .csv)."
    )


def test_json_over_several_lines_is_not_json_lines():
    with pytest.raises(DataError) as raised:
        text_format("t.jsonl", b'{\n  "a": 1\n}\n', None)
    assert str(raised.value) == (
        "t.jsonl holds JSON spread over several lines (its first line is not a whole object), not JSON lines "
        "with one object per line. Save it as JSON lines (`df.to_json(path, orient='records', lines=True)`) or as "
        "an array of records (`orient='records'`)."
    )


def test_a_first_json_line_nested_too_deep_is_refused_before_it_is_parsed():
    line = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    with pytest.raises(DataError) as raised:
        text_format("deep.jsonl", line, None)
    assert str(raised.value) == (
        "deep.jsonl nests objects or arrays more than 100 levels deep (5,001 or more), which no table needs and "
        "a JSON parser cannot take safely. Flatten the nested values, or check the file."
    )


@pytest.mark.parametrize(("head", "fmt"), [(b"[1]", JSON), (b'\n{"a": 1}\n', JSONL)])
def test_a_json_tables_layout_is_told_from_its_first_bytes(head, fmt):
    assert json_format("t.json.gz", head) is fmt


def test_a_json_table_that_is_neither_layout_is_refused():
    with pytest.raises(DataError, match=r"^t.json.gz is named as JSON but starts with neither"):
        json_format("t.json.gz", b"x")


# Detection: the content first, then the name.


@pytest.mark.parametrize(
    ("name", "head", "fmt", "compression", "notes"),
    [
        ("t.xlsx", WORKBOOK, EXCEL, None, []),
        ("t", WORKBOOK, EXCEL, None, []),
        ("t.csv", WORKBOOK, EXCEL, None, ["t.csv is named as CSV but is an Excel workbook: read as Excel."]),
        ("t.csv.zip", ZIPPED_CSV, CSV, "zip", []),
        ("t.zip", ZIPPED_CSV, CSV, "zip", []),
        ("t.xlsx", ZIPPED_CSV, EXCEL, "zip", []),  # the reader of the zip's table says what it holds
        ("t.json.gz", gzip.compress(b"[]"), JSON, "gzip", []),
        ("t.gz", gzip.compress(b"a"), CSV, "gzip", []),
        ("t.csv", gzip.compress(b"a"), CSV, "gzip", []),
        (
            "t.csv.bz2",
            gzip.compress(b"a"),
            CSV,
            "gzip",
            ["t.csv.bz2 is named as bz2 but is gzip-compressed: read as gzip."],
        ),
        ("t.parquet", b"PAR1", PARQUET, None, []),
        ("t", b"ARROW1", ARROW, None, []),
        (
            "t.csv",
            b"PAR1",
            PARQUET,
            None,
            ["t.csv is named as CSV but its content is Parquet: read as Parquet."],
        ),
        ("t.json", b"[]", JSON, None, []),
        (
            "t.jsonl",
            b"[{}]",
            JSON,
            None,
            ["t.jsonl is named as JSON lines but holds a JSON array: read as a JSON array."],
        ),
        ("t.csv", b"a,b\n", CSV, None, []),
    ],
)
def test_a_file_is_detected_from_its_content_checked_against_its_name(name, head, fmt, compression, notes):
    detected = detect(name, head, head)
    assert (detected.format, detected.compression, detected.notes) == (fmt, compression, notes)


def test_a_zip_detected_without_its_content_is_a_workbook_only_when_named_so():
    assert (detect("t.xlsx", ZIPPED_CSV).format, detect("t.xlsx", ZIPPED_CSV).compression) == (EXCEL, None)
    assert (detect("t.csv.zip", WORKBOOK).format, detect("t.csv.zip", WORKBOOK).compression) == (CSV, "zip")


def test_a_file_named_compressed_but_plain_is_refused():
    with pytest.raises(DataError) as raised:
        detect("t.csv.gz", b"a,b\n1,2\n")
    assert str(raised.value) == (
        "t.csv.gz is named as gzip-compressed but is not compressed. "
        "Rename it without the compression suffix, or check that the file is complete."
    )


@pytest.mark.parametrize(
    ("name", "head", "said"),
    [
        ("t.parquet", b"a,b\n1,2\n", "t.parquet is named as Parquet but is not a Parquet file (it looks like text)."),
        (
            "t.arrow",
            b"\x00\x01\x02",
            "t.arrow is named as Arrow IPC / Feather but is not a Arrow IPC / Feather file (it looks like binary data "
            "of another kind).",
        ),
        ("t.xlsx", b"a\n", "t.xlsx is named as Excel but is not a Excel file (it looks like text)."),
    ],
)
def test_a_file_named_binary_that_is_not_is_refused(name, head, said):
    with pytest.raises(DataError) as raised:
        detect(name, head)
    assert str(raised.value) == f"{said} Rename it to its real type, or export it again."


# Decompression, as the content is read.


def compressed(tmp_path: Path, codec: str, data: bytes) -> Path:
    path = tmp_path / f"t.{codec}"
    if codec == "zip":
        path.write_bytes(zipped({"dir/": b"", "dir/t.csv": data}))
    elif codec == "xz":
        path.write_bytes(lzma.compress(data, preset=0))
    else:
        with pa.CompressedOutputStream(str(path), codec) as out:
            out.write(data)
    return path


CODECS = ["gzip", "bz2", "xz", "zstd", "zip"]
TEXT = b"a,b\n" + b"1,2\n" * 1000
NUMBERS = b"".join(b"%d\n" % n for n in range(500_000))[: 3 * MIB]  # 3 MiB that bz2 compresses quickly


@pytest.mark.parametrize("codec", CODECS)
def test_compressed_content_reads_as_its_decompressed_bytes(tmp_path, codec):
    path = compressed(tmp_path, codec, TEXT)
    content = Content(path, "t.csv", codec, len(TEXT))
    with content.open() as stream:
        assert stream.read() == TEXT
    assert content.head(6) == TEXT[:6]
    assert content.whole() == read_decompressed(path, codec, "t.csv", len(TEXT)) == TEXT
    with content.arrow_input() as stream:
        assert stream.read() == TEXT


def test_plain_content_is_the_file_itself(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(TEXT)
    content = Content(path, "t.csv")
    assert content.whole() == path
    assert content.head(4) == b"a,b\n"
    with content.open() as stream:
        assert stream.read() == TEXT
    mapped = content.arrow_input()
    assert isinstance(mapped, pa.MemoryMappedFile), "mapped, never copied"
    assert mapped.read() == TEXT


@pytest.mark.parametrize("codec", CODECS)
def test_decompression_stops_just_past_its_limit_and_says_so(tmp_path, codec):
    data = NUMBERS  # read a megabyte at a time
    path = compressed(tmp_path, codec, data)
    assert read_decompressed(path, codec, "big.csv", len(data)) == data
    with pytest.raises(DataError) as raised:
        read_decompressed(path, codec, "big.csv", len(data) - 1)
    assert str(raised.value) == (
        "big.csv expands to more than 3 MB when decompressed. "
        "Decompress it and put it in the data folder, or load a smaller file."
    )
    with pytest.raises(DataError, match=r"^big.csv expands to more than 2 MB when decompressed"):
        read_decompressed(path, codec, "big.csv", 2 * MIB)


@pytest.mark.parametrize("codec", CODECS)
def test_compressed_content_is_decompressed_only_as_far_as_it_is_read(tmp_path, codec):
    """A megabyte at a time: the head of 3 MiB is read within a limit of 1.5 MiB, the whole is not."""
    content = Content(compressed(tmp_path, codec, NUMBERS), "big.csv", codec, 3 * MIB // 2)
    assert content.head(4) == b"0\n1\n"
    said = r"^big.csv expands to more than 2 MB when decompressed"
    with pytest.raises(DataError, match=said), content.open() as stream:
        stream.read()
    with pytest.raises(DataError, match=said):
        content.whole()


@pytest.mark.parametrize(
    ("members", "said"),
    [
        ({"a.csv": b"1", "b.csv": b"2"}, "2 files (a.csv, b.csv)"),
        ({f"{n}.csv": b"1" for n in "abcdefg"}, "7 files (a.csv, b.csv, c.csv, d.csv, e.csv)"),
        ({"dir/": b""}, "0 files (none)"),
    ],
    ids=["two", "seven", "none"],
)
def test_a_zip_must_hold_one_table(tmp_path, members, said):
    path = tmp_path / "t.zip"
    path.write_bytes(zipped(members))
    with pytest.raises(DataError) as raised:
        open_decompressed(path, "zip", "t.zip", MIB)
    assert str(raised.value) == (
        f"t.zip holds {said}; a zip must hold exactly one table. Unzip it and load the file you want."
    )


def damage_said(raised: pytest.ExceptionInfo, name: str, codec: str) -> str:
    return f"{name} could not be decompressed as {codec}: it is truncated or damaged ({raised.value.__cause__}). " + (
        "Compress or upload it again."
    )


@pytest.mark.parametrize("codec", ["gzip", "bz2", "xz", "zstd"])
def test_a_truncated_stream_is_a_damaged_archive(tmp_path, codec):
    path = compressed(tmp_path, codec, NUMBERS[:MIB])
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError) as raised:
        read_decompressed(path, codec, "t.csv", 10 * MIB)
    assert raised.value.__cause__ is not None
    assert str(raised.value) == damage_said(raised, "t.csv", codec)


def test_a_zip_whose_directory_is_damaged_is_a_damaged_archive(tmp_path):
    path = tmp_path / "t.zip"
    path.write_bytes(DAMAGED_ZIP)
    with pytest.raises(DataError) as raised:
        open_decompressed(path, "zip", "t.zip", MIB)
    assert isinstance(raised.value.__cause__, zipfile.BadZipFile)
    assert str(raised.value) == damage_said(raised, "t.zip", "zip")


def test_the_damaged_archive_message():
    said = damaged_archive("t.gz", "gzip", OSError("bad header"))
    assert str(said) == (
        "t.gz could not be decompressed as gzip: it is truncated or damaged (bad header). Compress or upload it again."
    )


# Text: its encoding and its delimiter.


@pytest.mark.parametrize(
    ("head", "chosen", "encoding", "note"),
    [
        (b"\xff\xfea\x00", "utf-8", "utf-16", "The file starts with a UTF-16 byte-order mark: read as UTF-16."),
        (b"\xfe\xff\x00a", "latin-1", "utf-16", "The file starts with a UTF-16 byte-order mark: read as UTF-16."),
        (b"\xff\xfea\x00", "utf-16-le", "utf-16-le", None),
        (b"\xef\xbb\xbfa", "utf-8", "utf-8-sig", None),
        (b"\xef\xbb\xbfa", "latin-1", "latin-1", None),
        (b"a,b", "cp1252", "cp1252", None),
    ],
)
def test_a_byte_order_mark_chooses_the_encoding(head, chosen, encoding, note):
    assert guess_encoding(head, chosen) == (encoding, note)


@pytest.mark.parametrize(
    ("sample", "delimiter", "columns"),
    [
        ("a,b,c\n1,2,3\n", ",", 3),
        ("a\tb\n1\t2\n", "\t", 2),
        ("a;b;c;d\n1;2;3;4\n", ";", 4),
        ("a|b\n1|2\n", "|", 2),
        ("a\n1\n", ",", 1),
        ("", ",", 1),
        ("a;b", ";", 2),  # a single line, cut or not, still counts
        ("a,b;c\nd,e;f\n", ",", 2),  # a tie: the first candidate
        ("a;b\nc;d\ne;f\ng\nh\n", ";", 2),  # the most lines agree on two columns; none split by a comma
        ("a;b\n1;2\n3;4\n5", ";", 2),
        ("a\nb;c\nd;e\n", ";", 2),
        ("a\rb;c\rd;e\r", ";", 2),  # a sample that ends with a line end has no line cut short
        ("a\nb;c\nd;e", ",", 1),  # its last line may be cut short: dropped, two lines disagree
        ("a,b;c\nd;e", ",", 2),  # of two lines the second may be cut: only the first counts
        ("a;b\nc,d\ne,f\ng", ",", 2),  # only the last line is dropped
        ('a,"b\na;b\na;b\n', ",", 2),  # a quote that opens a value across lines: one row, so all rows agree
        ("\n\n  \na;b\n\nc;d\n", ";", 2),  # blank lines do not count
    ],
)
def test_the_delimiter_is_the_one_most_lines_agree_on(sample, delimiter, columns):
    assert sniff_delimiter(sample) == (delimiter, columns)


def test_only_the_first_fifty_lines_are_sniffed():
    first = "a;b\na,b\n" * 25  # 50 lines, as many split by each: the semicolon is seen first
    assert sniff_delimiter(first) == (";", 2)
    assert sniff_delimiter(first + "a,b\n" * 20) == (";", 2)


def test_a_sample_decodes_as_text():
    assert decode_sample("héllo".encode(), "utf-8", "t.csv") == "héllo"
    assert decode_sample(b"a" * 70_000 + b"\xff", "utf-8", "t.csv") == "a" * 65_536  # past the sample: unseen


@pytest.mark.parametrize(
    ("head", "text"),
    [("ab€".encode()[:-1], "ab"), (b"a" * 10 + b"\xff" + b"bcd", "a" * 10)],
    ids=["a character cut by the end", "four bytes from the end"],
)
def test_a_sample_cut_inside_a_character_drops_it(head, text):
    assert decode_sample(head, "utf-8", "t.csv") == text


def test_an_undecodable_sample_names_the_byte_and_the_other_encodings():
    with pytest.raises(DataError) as raised:
        decode_sample(b"a" * 1500 + b"\xff" + b"bcde", "utf-8", "t.csv")
    assert str(raised.value) == (
        "t.csv is not valid utf-8 text at byte 1,500. Choose the file's encoding (e.g. utf-8-sig, latin-1, cp1252, "
        "utf-16, utf-16-le, utf-16-be, shift_jis, gb18030) and load it again."
    )


def test_an_unknown_encoding_lists_the_known_ones():
    with pytest.raises(DataError) as raised:
        decode_sample(b"a", "klingon", "t.csv")
    assert str(raised.value) == (
        "Unknown encoding 'klingon': choose one of utf-8, utf-8-sig, latin-1, cp1252, utf-16, utf-16-le, utf-16-be, "
        "shift_jis, gb18030."
    )


def test_undecodable_text_found_later_names_no_byte():
    assert str(undecodable("t.csv", "latin-1")) == (
        "t.csv is not valid latin-1 text. Choose the file's encoding (e.g. utf-8, utf-8-sig, cp1252, utf-16, "
        "utf-16-le, utf-16-be, shift_jis, gb18030) and load it again."
    )
