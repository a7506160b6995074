"""Every format through the real parsers, and every kind of bad input, on the CPU engine."""

import gzip
import io
import json

import pandas as pd
import pytest

from pipeline.budget import MemoryBudget
from pipeline.data.io import ReadOptions, Source, list_data_files, prepare, read_on_engine, resolve_in_folder
from pipeline.errors import DataError
from pipeline.tables.decode import MAX_COLUMNS
from pipeline.tables.formats import FileFormat
from tests.support import files


def load(name: str, data: bytes, engine, options: ReadOptions = ReadOptions(), **limits):
    prepared = prepare(Source.from_bytes(name, data), options, **limits)
    return prepared, read_on_engine(prepared, engine)


@pytest.mark.parametrize("name", list(files.EVERY_FORMAT))
def test_every_format_reads_the_same_values(name, cpu):
    _prepared, read = load(name, files.EVERY_FORMAT[name], cpu)
    frame = read.frame
    expected = files.SAMPLE
    assert list(frame.columns) == list(expected.columns)
    assert frame["id"].tolist() == expected["id"].tolist()
    assert frame["price"].isna().tolist() == expected["price"].isna().tolist()
    assert frame["price"].dropna().tolist() == expected["price"].dropna().tolist()
    assert frame["city"].fillna("<NA>").tolist() == expected["city"].fillna("<NA>").tolist()
    assert read.seconds > 0 and all(seconds >= 0 for seconds in read.phases.values())


@pytest.mark.parametrize(
    ("name", "fmt", "compression"),
    [
        ("a.csv", FileFormat.CSV, None),
        ("a.csv.gz", FileFormat.CSV, "gzip"),
        ("a.csv.zip", FileFormat.CSV, "zip"),
        ("a.parquet", FileFormat.PARQUET, None),
        ("a.feather", FileFormat.ARROW, None),
        ("a.jsonl", FileFormat.JSONL, None),
        ("a.json", FileFormat.JSON, None),
        ("a.json.gz", FileFormat.JSON, "gzip"),
        ("a.xlsx", FileFormat.EXCEL, None),
    ],
)
def test_format_and_compression_are_detected(name, fmt, compression):
    data = files.EVERY_FORMAT[
        {"a.csv": "table.csv", "a.csv.gz": "table.csv.gz", "a.csv.zip": "table.csv.zip"}.get(
            name, name.replace("a.", "table.")
        )
    ]
    prepared = prepare(Source.from_bytes(name, data))
    assert (prepared.format, prepared.compression) == (fmt, compression)


@pytest.mark.parametrize(
    ("name", "delimiter"), [("table.tsv", "\t"), ("table_semicolon.csv", ";"), ("table_pipe.txt", "|")]
)
def test_delimiter_is_sniffed(name, delimiter):
    assert prepare(Source.from_bytes(name, files.EVERY_FORMAT[name])).dialect.delimiter == delimiter


def test_content_wins_over_a_lying_extension(cpu):
    prepared, read = load("really_parquet.csv", files.parquet_bytes(), cpu)
    assert prepared.format is FileFormat.PARQUET
    assert any("its content is Parquet" in note for note in prepared.notes)
    assert len(read.frame) == 4


def test_binary_extension_on_text_is_refused():
    with pytest.raises(DataError, match=r"named as Parquet but is not a Parquet file \(it looks like text\)"):
        prepare(Source.from_bytes("table.parquet", files.csv_bytes()))


def test_json_lines_named_csv_is_read_as_json(cpu):
    prepared, read = load("table.csv", files.jsonl_bytes(), cpu)
    assert prepared.format is FileFormat.JSONL
    assert read.frame["city"].iloc[0] == "Oslo"


def test_empty_file():
    with pytest.raises(DataError, match=r"empty \(0 bytes\)"):
        prepare(Source.from_bytes("empty.csv", b""))


def test_blank_file():
    with pytest.raises(DataError, match="only blank space"):
        prepare(Source.from_bytes("blank.csv", b"  \n\n "))


def test_header_only(cpu):
    with pytest.raises(DataError, match="has column names but no rows"):
        load("header.csv", b"a,b,c\n", cpu)


def test_wrong_delimiter_names_the_right_one():
    with pytest.raises(DataError, match=r"delimiter ';'.*looks ','-separated \(4 columns\)"):
        prepare(Source.from_bytes("table.csv", files.csv_bytes()), ReadOptions(delimiter=";"))


def test_ragged_rows_name_the_row(cpu):
    with pytest.raises(DataError, match=r"Expected 2 columns, got 3: 1,2,3.*delimiter and the quoting"):
        load("ragged.csv", b"a,b\n1,2\n1,2,3\n", cpu)


def test_unclosed_quote_names_its_line(cpu):
    data = b'a,b\n1,x\n2,"broken\n3,y\n4,z\n'
    with pytest.raises(DataError, match=r"quote opened on line 3 is never closed"):
        load("quotes.csv", data, cpu)


def test_quoted_newlines_and_escaped_quotes_are_fine(cpu):
    _, read = load("ok.csv", b'a,b\n1,"two\nlines"\n2,"say ""hi"""\n', cpu)
    assert read.frame["b"].tolist() == ["two\nlines", 'say "hi"']


def test_undecodable_bytes_offer_an_encoding(cpu):
    latin = files.csv_bytes(encoding="latin-1")
    with pytest.raises(DataError, match=r"not valid utf-8 text.*latin-1"):
        load("latin.csv", latin, cpu)
    _, read = load("latin.csv", latin, cpu, ReadOptions(encoding="latin-1"))
    assert "Zürich" in read.frame["city"].tolist()


def test_utf16_is_recognised_by_its_byte_order_mark(cpu):
    prepared, read = load("wide.csv", files.csv_bytes(encoding="utf-16"), cpu)
    assert prepared.dialect.encoding == "utf-16"
    assert read.frame["city"].iloc[1] == "Zürich"


def test_unknown_encoding():
    with pytest.raises(DataError, match="Unknown encoding 'klingon'"):
        prepare(Source.from_bytes("a.csv", b"a\n1\n"), ReadOptions(encoding="klingon"))


def test_duplicate_and_blank_column_names_are_renamed_with_notes(cpu):
    _, read = load("names.csv", b"a,,a, \n1,2,3,4\n", cpu)
    assert list(read.frame.columns) == ["a", "column_2", "a_2", "column_4"]
    assert any("appears more than once" in note for note in read.notes)
    assert any("Column 2 has no name" in note for note in read.notes)


def test_truncated_parquet(cpu):
    data = files.parquet_bytes()
    with pytest.raises(DataError, match="truncated or damaged"):
        load("cut.parquet", data[: len(data) // 2], cpu)


def test_truncated_gzip():
    data = gzip.compress(files.csv_bytes() * 50)
    with pytest.raises(DataError, match="could not be decompressed as gzip: it is truncated or damaged"):
        prepare(Source.from_bytes("cut.csv.gz", data[: len(data) // 2]))


def test_named_compressed_but_plain():
    with pytest.raises(DataError, match="named as gzip-compressed but is not compressed"):
        prepare(Source.from_bytes("plain.csv.gz", files.csv_bytes()))


def test_zip_with_several_members():
    data = files.zip_bytes({"a.csv": b"a\n1\n", "b.csv": b"b\n2\n"})
    with pytest.raises(DataError, match=r"holds 2 files \(a.csv, b.csv\)"):
        prepare(Source.from_bytes("two.zip", data))


def test_decompression_bomb_is_stopped():
    with pytest.raises(DataError, match="expands to more than"):
        prepare(Source.from_bytes("bomb.csv.gz", gzip.compress(b"0" * 5_000_000)), max_decompressed=1_000_000)


def test_over_the_upload_limit():
    with pytest.raises(DataError, match=r"over the upload limit of 1 MB.*data folder"):
        prepare(Source.from_bytes("big.csv", b"a\n" + b"1\n" * 600_000), max_bytes=2**20)


def test_a_json_array_of_records_loads_as_pandas_reads_it(cpu):
    """vega_datasets' cars.json: pretty-printed records, missing values, Windows line ends."""
    text = (
        b'[\r\n   {\r\n      "Name":"chevrolet chevelle malibu",\r\n      "Miles_per_Gallon":18,\r\n'
        b'      "Acceleration":12,\r\n      "Origin":"USA"\r\n   },\r\n'
        b'   {\r\n      "Name":"citroen ds-21 pallas",\r\n      "Miles_per_Gallon":null,\r\n'
        b'      "Acceleration":17.5,\r\n      "Origin":"Europe"\r\n   }\r\n]\r\n'
    )
    prepared, read = load("cars.json", text, cpu)
    assert prepared.format is FileFormat.JSON
    assert "A JSON array: each of its records read as a row." in prepared.notes
    expected = pd.read_json(io.BytesIO(text), orient="records")
    pd.testing.assert_frame_equal(read.frame, expected, check_dtype=False)


@pytest.mark.parametrize("name", ["many.json", "many.jsonl"])
def test_a_json_array_is_sized_before_it_is_decoded_as_json_lines_are(name):
    records = [{"a": i} for i in range(200_000)]
    text = json.dumps(records, indent=1) if name.endswith(".json") else "\n".join(map(json.dumps, records))
    budget = MemoryBudget(6 * 2**20, "the test allows")
    with pytest.raises(DataError, match=r"would take about .* to load \([\d,]+ lines of [\d,]+ bytes"):
        prepare(Source.from_bytes(name, text.encode()), budget=budget)


def test_a_json_array_is_held_to_the_column_limit():
    text = json.dumps([{f"c{i}": i for i in range(MAX_COLUMNS + 1)}]).encode()
    with pytest.raises(DataError, match=f"wide.json has {MAX_COLUMNS + 1:,} columns; this app takes at most"):
        prepare(Source.from_bytes("wide.json", text))


def test_a_json_lines_file_named_json_is_still_json_lines(cpu):
    for name, data in (("lines.json", files.jsonl_bytes()), ("lines.json.gz", gzip.compress(files.jsonl_bytes()))):
        prepared, read = load(name, data, cpu)
        assert prepared.format is FileFormat.JSONL and len(read.frame) == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[1, 2]", "Element 1 of its array is a number, not an object"),
        (b'[{"a": 1}, [2]]', "Element 2 of its array is an array, not an object"),
        (b"[]", "It holds no rows"),
        (b'[{"a": 1}, {"a": 2}', "It ends inside its JSON array"),
        (b'[{"a": 1}, {"a": "x"}]', "changed from number to string in row 1. Every element of the array must be one"),
        (b"42", "starts with neither '\\[' \\(an array of records\\) nor '{' \\(JSON lines\\)"),
    ],
)
def test_a_json_array_that_is_not_a_table_says_what_is_wrong(text, message):
    with pytest.raises(DataError, match=message):
        prepare(Source.from_bytes("table.json", text))


def test_inconsistent_json_lines(cpu):
    with pytest.raises(DataError, match=r"changed from number to string"):
        load("mixed.jsonl", b'{"a": 1}\n{"a": "x"}\n', cpu)


def test_binary_garbage_named_csv():
    with pytest.raises(DataError, match="holds NUL bytes"):
        prepare(Source.from_bytes("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))


def test_damaged_excel(cpu):
    data = files.excel_bytes()
    with pytest.raises(DataError):
        load("cut.xlsx", data[: len(data) // 2], cpu)


def test_excel_with_mixed_column_reads_as_text(cpu):
    frame = pd.DataFrame({"mixed": [1, "two", 3.5]})
    _, read = load("mixed.xlsx", files.excel_bytes(frame), cpu)
    assert read.frame["mixed"].tolist() == ["1", "two", "3.5"]


def test_data_folder_listing_and_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.csv").write_bytes(files.csv_bytes())
    (tmp_path / "sub" / "b.parquet").write_bytes(files.parquet_bytes())
    (tmp_path / ".hidden.csv").write_bytes(b"a\n1\n")
    (tmp_path / "notes.md").write_text("not a table")
    outside = tmp_path.parent / f"{tmp_path.name}_outside.csv"
    outside.write_bytes(b"a\n1\n")
    (tmp_path / "link.csv").symlink_to(outside)
    assert [str(p) for p in list_data_files(tmp_path)] == ["a.csv", "sub/b.parquet"]
    assert resolve_in_folder(tmp_path, "sub/b.parquet") == (tmp_path / "sub" / "b.parquet").resolve()
    for bad in ("../x.csv", "/etc/passwd", "link.csv", "missing.csv"):
        with pytest.raises(DataError):
            resolve_in_folder(tmp_path, bad)


def test_data_folder_file_is_read_from_its_path(tmp_path, cpu):
    path = tmp_path / "big.csv"
    path.write_bytes(files.csv_bytes())
    prepared = prepare(Source.from_path(path))
    assert prepared.payload == path
    assert read_on_engine(prepared, cpu).frame.shape == (4, 4)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(files.EVERY_FORMAT))
def test_every_format_loads_on_the_gpu_with_the_cpu_values(name, cpu, gpu):
    from pipeline.parity import compare_frames

    prepared = prepare(Source.from_bytes(name, files.EVERY_FORMAT[name]))
    on_gpu = read_on_engine(prepared, gpu)
    on_cpu = read_on_engine(prepared, cpu)
    assert type(on_gpu.frame).__module__.startswith("cudf")
    parity = compare_frames(on_cpu.frame, gpu.to_pandas(on_gpu.frame))
    assert parity.ok, parity.mismatches


@pytest.mark.gpu
def test_gpu_reads_a_data_folder_path_and_a_transcoded_csv(tmp_path, cpu, gpu):
    from pipeline.parity import compare_frames

    path = tmp_path / "latin.csv"
    path.write_bytes(files.csv_bytes(encoding="latin-1"))
    prepared = prepare(Source.from_path(path), ReadOptions(encoding="latin-1"))
    parity = compare_frames(read_on_engine(prepared, cpu).frame, gpu.to_pandas(read_on_engine(prepared, gpu).frame))
    assert parity.ok, parity.mismatches


@pytest.mark.gpu
def test_gpu_text_readers_are_told_the_schema_the_host_infers(cpu, gpu):
    from pipeline.tables.column_kinds import column_kind

    csv = b"x,flag,day\n1,True,2020-01-01\n2,,2020-01-02\n3,False,2020-01-03\n"
    on_gpu = read_on_engine(prepare(Source.from_bytes("t.csv", csv)), gpu)
    assert on_gpu.route == "read by the engine's own reader"
    on_cpu = read_on_engine(prepare(Source.from_bytes("t.csv", csv)), cpu)
    kinds = [column_kind(dtype) for dtype in on_gpu.frame.dtypes]
    assert kinds == [column_kind(dtype) for dtype in on_cpu.frame.dtypes] == ["numeric", "boolean", "datetime"]
    zoned = read_on_engine(prepare(Source.from_bytes("z.csv", b"x,when\n1,2020-01-01T10:00:00Z\n")), gpu)
    assert "time zone" in zoned.route and "parsed on the host" in zoned.route


def test_a_workbook_with_several_sheets_names_the_one_read(cpu, tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        files.SAMPLE.to_excel(writer, sheet_name="sales", index=False)
        files.SAMPLE.head(1).to_excel(writer, sheet_name="notes", index=False)
    prepared = prepare(Source.from_path(path))
    assert "Read the first of 2 sheets, 'sales'" in prepared.notes[0]
    assert read_on_engine(prepared, cpu).frame.shape == (4, 4)


def test_quotes_are_counted_in_chunks_on_disk_and_compressed(tmp_path):
    from pipeline.tables.formats import Content
    from pipeline.tables.host_readers import count_quotes

    path, packed = tmp_path / "q.csv", tmp_path / "q.csv.gz"
    path.write_bytes(b'"a",b\n' * 1000)
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert count_quotes(Content(path, "q.csv")) == count_quotes(Content(packed, "q.csv.gz", "gzip")) == 2000


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"abc", True),
        (b"ab\ncdefgh", True),
        (b"ab\rcdefg", True),
        (b"abcde", True),
        (b"abcde\n", True),
        (b"abcdefgh", False),
        (b"abcdef\n", False),
    ],
)
def test_a_line_break_is_looked_for_in_plain_and_compressed_files_alike(tmp_path, data, expected):
    from pipeline.tables.formats import Content
    from pipeline.tables.host_readers import has_line_break_within

    path, packed = tmp_path / "t.csv", tmp_path / "t.csv.gz"
    path.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    assert has_line_break_within(Content(path, "t.csv"), 5) is expected
    assert has_line_break_within(Content(packed, "t.csv.gz", "gzip"), 5) is expected


NON_ISO_DATES = (
    b"date,stamp,words,ambiguous,id\n"
    b"2012/01/01,2010/01/01 00:00,Jan 1 2000,01/02/2003,1\n"
    b"2012/01/02,2010/01/01 01:00,Feb 1 2000,03/04/2003,2\n"
    b"2012/12/31,2010/12/31 23:00,Mar 1 2000,05/06/2003,3\n"
)


def test_non_iso_dates_are_read_as_dates_and_ambiguous_ones_named(cpu):
    read = read_on_engine(prepare(Source.from_bytes("weather.csv", NON_ISO_DATES)), cpu)
    frame = read.frame
    assert {str(frame[c].dtype) for c in ("date", "stamp", "words")} == {"datetime64[s]"}
    assert frame["date"].max() == pd.Timestamp("2012-12-31")
    assert frame["stamp"].iloc[2] == pd.Timestamp("2010-12-31 23:00")
    assert frame["words"].tolist() == [pd.Timestamp(f"2000-0{m}-01") for m in (1, 2, 3)]
    assert str(frame["ambiguous"].dtype) == "str"
    notes = " ".join(read.notes)
    assert "'date' holds dates written as year/month/day" in notes
    assert "'ambiguous' looks like dates" in notes and "day/month/year or month/day/year" in notes


def test_dates_that_stop_fitting_their_format_stay_text(cpu):
    rows = b"".join(b"2012/01/%02d\n" % (day % 28 + 1) for day in range(250)) + b"2012/13/45\n"
    read = read_on_engine(prepare(Source.from_bytes("late.csv", b"when\n" + rows)), cpu)
    assert str(read.frame["when"].dtype) == "str"
    assert any("1 value(s) further down do not fit" in note for note in read.notes)


@pytest.mark.gpu
def test_non_iso_dates_read_the_same_on_the_gpu(cpu, gpu):
    from pipeline.parity import compare_frames

    prepared = prepare(Source.from_bytes("weather.csv", NON_ISO_DATES))
    on_gpu = read_on_engine(prepared, gpu)
    assert str(on_gpu.frame["words"].dtype) == "datetime64[s]"
    parity = compare_frames(read_on_engine(prepared, cpu).frame, gpu.to_pandas(on_gpu.frame))
    assert parity.ok, parity.mismatches
