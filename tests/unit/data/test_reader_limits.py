"""The limits hold where the estimates are wrong: each file here slipped past the estimate from its metadata (or
had none) and took the server to gigabytes before the readers moved into a child that the operating system
limits. Each goes through the real upload path; the peak is the resident memory of the loading process and every
process under it (the reader process and its children), sampled as it runs."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import zipfile

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from pipeline.errors import DataError
from pipeline.tables.decoded_size import held_bytes, xlsx_size
from pipeline.tables.sandbox import Limits, run_job
from pipeline.tables.visitor_json import MAX_VALUES, parse_json
from pipeline.workspace import from_zip
from tests.support import bombs
from tests.support.load_peaks import load_measured
from tests.support.paths import REPO_ROOT

MIB = 2**20
SMALL_BUDGET = {"GPL_MAX_LOAD_MB": "256"}  # one load: 256 MiB, so the table at most 85 MiB


def write_compressed(path, codec: str, chunk: bytes, times: int):
    with pa.CompressedOutputStream(str(path), codec) as out:
        for _ in range(times):
            out.write(chunk)
    return path


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_compressed_csv_bomb_is_stopped_as_it_decompresses_not_after(tmp_path, codec):
    """1 GiB of `0\\n` (a column of 512 million zeros): decompression used to buffer all of it, then join the
    pieces, before anything was refused."""
    path = write_compressed(tmp_path / f"zeros.csv.{'zst' if codec == 'zstd' else 'gz'}", codec, b"0\n" * 2**23, 64)
    assert path.stat().st_size < 8 * MIB
    measured = load_measured(path, **SMALL_BUDGET)
    counted = f"refused: Could not read {path.name}: Decoded, its table passes"  # the table, counted as it is read
    limited = f"refused: {path.name} is too large once decoded: reading it needed more than the 0.58 GiB"  # the OS's
    assert measured["said"].startswith((counted, limited)), measured
    assert measured["kept"] == ["iris"]
    assert measured["growth"] < 512 * MIB, f"the process tree grew {measured['growth'] / MIB:,.0f} MiB"


def test_an_arrow_column_with_no_buffers_is_sized_by_its_rows(tmp_path):
    """`pa.nulls(200_000_000)` has no buffer at all (0 bytes by its metadata), but becomes 1.6 GB of float64."""
    path = tmp_path / "nulls.arrow"
    feather.write_feather(pa.table({"x": pa.nulls(200_000_000)}), path, compression="uncompressed")
    assert path.stat().st_size < MIB
    measured = load_measured(path)
    assert measured["said"].startswith("refused: Could not read nulls.arrow: Decoded, its table passes"), measured
    assert measured["growth"] < 200 * MIB and measured["seconds"] < 30


def test_a_list_of_a_hundred_million_nulls_in_one_row_is_refused_before_it_becomes_text(tmp_path):
    """One row of `list<null>` with 1e8 elements (546 bytes) loaded at 2.1 GiB in 65 s, written out as JSON text."""
    values = pa.ListArray.from_arrays(pa.array([0, 100_000_000], pa.int32()), pa.nulls(100_000_000))
    path = tmp_path / "one_row.arrow"
    feather.write_feather(pa.table({"l": values}), path, compression="uncompressed")
    measured = load_measured(path)
    said = "refused: Could not read one_row.arrow: Decoded, its table passes 2.24 GiB, more than the 0.50 GiB"
    assert measured["said"].startswith(said), measured
    assert measured["growth"] < 200 * MIB and measured["seconds"] < 30


def test_parquet_text_with_short_min_and_max_is_sized_as_a_dictionary_before_it_expands(tmp_path):
    """The statistics say the text is 1 character long ("a" and "z" are the least and greatest values); every
    other value is 1,000 characters. The footer's estimate believes them; the reader no longer does."""
    long = "m" * 1000
    values = pa.array(["a", "z", long]).take(pa.array([0, 1] + [2] * 399_998, pa.int32()))
    path = tmp_path / "lying.parquet"
    pq.write_table(pa.table({"text": values}), path)
    statistics = pq.ParquetFile(path).metadata.row_group(0).column(0).statistics
    assert (statistics.min, statistics.max) == ("a", "z")
    measured = load_measured(path, **SMALL_BUDGET)
    assert "Decoded, its table passes 0.38 GiB, more than the 0.08 GiB a loaded table may take" in measured["said"], (
        measured
    )
    assert measured["growth"] < 150 * MIB, f"the process tree grew {measured['growth'] / MIB:,.0f} MiB"


def test_parquet_text_whose_long_value_comes_only_in_later_pages_is_sized_as_a_dictionary(tmp_path):
    """Dictionary text is read as it is only where its rows times its dictionary's longest value fit. The first
    thousand rows here are one character long and the first data pages hold nothing else; the 1,000-character value
    is still seen (the whole dictionary page comes with the first row), so the text is never expanded."""
    values = pa.array(["a", bombs.LONG_TEXT]).take(pa.array([0] * 1_000 + [1] * 299_000, pa.int32()))
    path = tmp_path / "late.parquet"
    pq.write_table(pa.table({"text": values}), path, write_statistics=False, data_page_size=4096)
    measured = load_measured(path, **SMALL_BUDGET)
    assert "Decoded, its table passes 0.28 GiB, more than the 0.08 GiB a loaded table may take" in measured["said"], (
        measured
    )
    assert measured["growth"] < 150 * MIB, f"the process tree grew {measured['growth'] / MIB:,.0f} MiB"


def xlsx_with_tabs(path, rows: int, columns: int = 5):
    """Cells written `<c\\tt="n">` (a tab before the attribute: valid XML)."""
    row = ("<row>" + '<c\tt="n"><v>1</v></c>' * columns + "</row>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in bombs.XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            for start in range(0, rows, 10_000):
                sheet.write(row * min(10_000, rows - start))
            sheet.write(b"</sheetData></worksheet>")
    return path


def test_xlsx_cells_are_counted_whatever_whitespace_follows_the_tag(tmp_path):
    path = xlsx_with_tabs(tmp_path / "tabs.xlsx", rows=1_000_000)
    assert xlsx_size(path).how == "5,000,000 cells in 1,000,000 rows of its sheets, counted in their XML"
    small = xlsx_with_tabs(tmp_path / "small.xlsx", rows=7)
    for block in (3, 4, 5, 64):  # a tag cut between two blocks is counted once
        assert xlsx_size(small, chunk=block).how.startswith("35 cells in 7 rows")
    measured = load_measured(path)
    assert measured["said"].startswith("refused: tabs.xlsx would take about 5.03 GiB"), measured
    assert measured["seconds"] < 30


def workspace_zip(manifest: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("workspace.json", manifest)
    return buffer.getvalue()


def test_a_json_bomb_in_a_workspace_file_is_refused_by_its_count_of_values():
    """A 65 KB zip whose workspace.json lists 16 million empty objects (about 48 bytes of memory per byte)."""
    bomb = workspace_zip(b'{"version": 1, "left_out": [' + b"{}, " * 16_000_000 + b"{}]}")
    assert len(bomb) < 200_000
    with pytest.raises(DataError, match=r"workspace.json holds about 32,000,00\d JSON values, more than the 1,000,000"):
        from_zip(bomb, 512 * MIB)


def test_a_workspace_manifest_is_bounded_before_it_is_decompressed():
    bomb = workspace_zip(b" " * (65 * MIB))
    with pytest.raises(DataError, match=r"workspace.json unpacks to 65 MB, over the 64 MB a JSON file may take"):
        from_zip(bomb, 512 * MIB)


def test_every_json_upload_is_bounded_in_values_and_bytes():
    many = json.dumps({"version": 1, "steps": [{}] * (MAX_VALUES + 10)})
    with pytest.raises(DataError, match="The recipe holds about"):
        parse_json(many, "The recipe", "a recipe file saved by this app")
    with pytest.raises(DataError, match=r"runs.json is 65.0 MB, over the 64 MB a JSON file may take here"):
        parse_json(b" " * (65 * MIB), "runs.json", "a results file")
    assert parse_json('{"a": [1, 2, {"b": "x, y"}]}', "x.json", "anything") == {"a": [1, 2, {"b": "x, y"}]}


def test_a_large_json_document_is_parsed_in_the_reader_under_its_memory_limit_first():
    document = json.dumps(["x" * 1000] * 8000).encode()  # 8 MB of text, 8,001 values
    with pytest.raises(DataError, match=r"too large once decoded: reading it needed more than the 0\.00 GiB"):
        run_job("json", {}, document, Limits(4 * MIB, 30), "history.json")
    said = run_job("json", {}, document, Limits(256 * MIB, 30), "history.json").header
    assert said == {"valid": True, "values": 8001}
    assert parse_json(document, "history.json", "a file saved from this page")[-1] == "x" * 1000


def test_held_bytes_counts_what_the_buffers_leave_out():
    assert held_bytes(pa.table({"x": pa.nulls(1000)})) == 8000
    assert held_bytes(pa.table({"b": pa.array([True] * 800)})) == 100 + 800
    nested = pa.table({"l": pa.array([[1, 2, 3], [4]])})
    assert held_bytes(nested) == nested.nbytes + 24 * (2 + 4)


def test_the_reader_finds_the_app_whatever_the_working_directory(tmp_path):
    """A script elsewhere that puts the app on its own path (no PYTHONPATH for the reader to inherit)."""
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), path)
    script = (
        f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); from pipeline.profile.cli import main; "
        f"sys.exit(main([{str(path)!r}, '--preset', 'minimal']))"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"rows": 3' in done.stdout


def test_a_gzip_csv_loads_the_same_as_the_plain_one(tmp_path):
    plain = b"a,b\n" + b"".join(b"%d,x%d\n" % (i, i) for i in range(50_000))
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(plain))
    measured = load_measured(packed)
    assert measured["said"] == "loaded 50000 x 2", measured


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        (b"a\n" + b"0\n" * 5000, 1),
        (b"a,b,c,d\n" + b",,,\n" * 5000, 4),
        (b"a,b\n" + b"1,\n" * 3000 + b"\n" * 3000, 2),
        (b"a;b\n" + b"x;1.5\n" * 2000, 2),
    ],
)
def test_a_text_file_too_small_to_pass_its_budget_is_not_counted_and_decodes_within_the_bound(tmp_path, text, columns):
    from pipeline.tables.decode import ReadLimits, ReadOptions, decode
    from pipeline.tables.decoded_size import PEAK_FACTOR, text_size, text_size_bound

    path = tmp_path / "t.csv"
    path.write_bytes(text)
    bound = text_size_bound(len(text), columns)
    decoded = decode("t.csv", path, ReadOptions(), ReadLimits(PEAK_FACTOR * (bound + 1), "test", 2**30))
    assert held_bytes(decoded.table) <= bound
    assert text_size(path, columns).nbytes <= bound or b"\n\n" in text  # blank lines are counted, never read


def test_a_csv_of_tiny_cells_is_estimated_at_eight_bytes_a_cell_at_least(tmp_path):
    from pipeline.tables.decode import ReadLimits, ReadOptions, decode
    from pipeline.tables.decoded_size import text_size, text_size_bound

    text = b"a,b,c\n" + b"1,2,3\n" * 10_000  # 2 bytes a cell in the file, 8 as numbers in memory
    path = tmp_path / "t.csv"
    path.write_bytes(text)
    estimate = text_size(path, 3).nbytes
    assert estimate >= 8 * 3 * 10_000 > 3 * len(text)
    assert text_size(text, 3).nbytes == estimate, "an upload in memory is estimated as the file"
    decoded = decode("t.csv", path, ReadOptions(), ReadLimits(2**30, "test", 2**30))
    assert decoded.table.num_rows == 10_000 and held_bytes(decoded.table) <= estimate <= text_size_bound(len(text), 3)


def ipc_file(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


EXOTIC = {  # found by fuzzing: each aborted the server converting to pandas, or raised past DataError
    "empty_list_view": pa.Table.from_batches([], pa.schema([("x", pa.list_view(pa.int32())), ("id", pa.int64())])),
    "list_view": pa.table({"x": pa.array([[1, 2], [3]], pa.list_view(pa.int32())), "id": [1, 2]}),
    "sparse_union": pa.table(
        {
            "u": pa.UnionArray.from_sparse(
                pa.array([0, 1, 0], pa.int8()), [pa.array([1, 2, 3]), pa.array(["a", "b", "c"])]
            )
        }
    ),
    "dictionary_of_lists": pa.table(
        {"d": pa.DictionaryArray.from_arrays(pa.array([0, 0, 0], pa.int32()), pa.array([[1, 2]]))}
    ),
    "run_end_encoded": pa.table({"r": pa.RunEndEncodedArray.from_arrays([3, 5], ["a", "b"])}),
    "string_view": pa.table({"s": pa.array(["a", "b"], pa.string_view())}),
    "interval": pa.table({"i": pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval())}),
}


@pytest.mark.parametrize("name", list(EXOTIC))
def test_columns_of_any_arrow_type_reach_the_server_only_as_plain_types(tmp_path, name):
    path = tmp_path / f"{name}.arrow"
    path.write_bytes(ipc_file(EXOTIC[name]))
    measured = load_measured(path)  # a fresh process: an abort there fails this test, not the test run
    rows = EXOTIC[name].num_rows
    expected = f"loaded {rows} x" if rows else f"refused: {name}.arrow has column names but no rows"
    assert measured["said"].startswith(expected), measured


def xlsx_package(sheet: str, shared: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in bombs.XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + sheet
            + "</worksheet>",
        )
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)
    return buffer.getvalue()


HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c></row>'
WORKBOOKS = {  # found by fuzzing: a few KB that make openpyxl and pandas build gigabytes
    "far_cell": (
        f'<sheetData>{HEADER}<row r="200000"><c r="ZZ200000"><v>3</v></c></row></sheetData>',
        None,
        "140,400,000 cells",
    ),
    "merged_range": (
        f'<sheetData>{HEADER}</sheetData><mergeCells count="1"><mergeCell ref="A2:XFD10000"/></mergeCells>',
        None,
        "327,663,616 cells",
    ),
    "shared_string": (
        "<sheetData>" + "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(1, 2001)),
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
        + "x" * 10**6
        + "</t></si></sst>",
        "2,000 cells",
    ),
}


@pytest.mark.parametrize("name", list(WORKBOOKS))
def test_a_workbook_is_sized_by_the_table_pandas_builds_from_it(tmp_path, name):
    sheet, shared, cells = WORKBOOKS[name]
    if name == "shared_string":
        sheet += "</sheetData>"
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(xlsx_package(sheet, shared))
    assert path.stat().st_size < 20_000
    measured = load_measured(path)
    assert measured["said"].startswith(f"refused: {name}.xlsx would take about"), measured
    assert cells in measured["said"] and measured["seconds"] < 10
    assert measured["growth"] < 200 * MIB


def test_utf16_without_a_byte_order_mark_says_which_encodings_to_choose():
    from pipeline.data.catalog import Catalog
    from pipeline.data.io import ReadOptions, Source
    from pipeline.data.loading import load_file
    from pipeline.engines import CPU, get_engine

    data = "id,name\n1,naïve\n2,x\n".encode("utf-16-le")
    with pytest.raises(DataError, match=r"not valid utf-16 text .* utf-16-le or utf-16-be"):
        load_file(Catalog(), Source.from_bytes("t.csv", data), [get_engine(CPU)], ReadOptions(encoding="utf-16"))
    loaded = load_file(Catalog(), Source.from_bytes("t.csv", data), [get_engine(CPU)], ReadOptions(",", "utf-16-le"))
    assert loaded.primary.frame["name"].tolist() == ["naïve", "x"]


def test_a_workspace_that_lists_one_dataset_many_times_is_refused():
    """One 228 KB Parquet listed 30 times took a session to 8 GiB (found by a review as an attacker)."""
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": pa.array([0] * 1000)}), buffer)
    entries = [{"name": f"d{i}", "member": "datasets/0.parquet"} for i in range(30)]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("workspace.json", json.dumps({"version": 1, "datasets": entries}))
        archive.writestr("datasets/0.parquet", buffer.getvalue())
    with pytest.raises(DataError, match=r"lists datasets/0.parquet more than once"):
        from_zip(zipped.getvalue(), 512 * MIB)


def test_a_parquet_file_of_very_many_row_groups_is_refused_before_reading_them(tmp_path):
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"x": pa.array([1] * 20_000, pa.int8())}), path, row_group_size=1)
    measured = load_measured(path)
    assert "It has 20,000 row groups; this app reads at most 10,000" in measured["said"], measured
    assert measured["seconds"] < 10


def test_a_workbook_of_empty_rows_is_sized_by_its_rows(tmp_path):
    path = tmp_path / "rows.xlsx"
    path.write_bytes(xlsx_package("<sheetData>" + "<row/>" * 3_000_000 + "</sheetData>"))
    measured = load_measured(path)
    assert measured["said"].startswith("refused: rows.xlsx would take about"), measured
    assert "0 cells in 3,000,000 rows" in measured["said"] and measured["seconds"] < 20


def test_fuzzed_files_that_failed_with_other_errors_are_refused_with_what_is_wrong(tmp_path):
    """Found by the fuzzing run: each ended the reader with an exception other than a message."""
    from pipeline.data.catalog import Catalog
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file
    from pipeline.engines import CPU, get_engine

    cpu = [get_engine(CPU)]
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("t.csv", "a,b\n" + "1,2\n" * 1000)
    damaged = bytearray(packed.getvalue())
    damaged[60:70] = b"\xff" * 10  # inside the deflated data
    with pytest.raises(DataError, match=r"could not be decompressed as zip: it is truncated or damaged"):
        load_file(Catalog(), Source.from_bytes("t.csv.zip", bytes(damaged)), cpu)
    no_sheet = zipfile.ZipFile(io.BytesIO(xlsx_package("<sheetData/>")))
    parts = {name: no_sheet.read(name) for name in no_sheet.namelist() if "worksheets" not in name}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/>', b"")
    bare = io.BytesIO()
    with zipfile.ZipFile(bare, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(DataError, match=r"not a readable Excel workbook"):
        load_file(Catalog(), Source.from_bytes("bare.xlsx", bare.getvalue()), cpu)


def test_an_xlsx_file_zipped_is_read_as_the_workbook_inside(tmp_path):
    import pandas as pd

    from pipeline.data.catalog import Catalog
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file
    from pipeline.engines import CPU, get_engine

    workbook = io.BytesIO()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_excel(workbook, index=False)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("table.xlsx", workbook.getvalue())
    dataset = load_file(Catalog(), Source.from_bytes("table.xlsx.zip", packed.getvalue()), [get_engine(CPU)])
    assert dataset.primary.frame["b"].tolist() == ["x", "y"]


def test_json_lines_take_lines_as_long_as_csv_rows():
    from pipeline.data.catalog import Catalog
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file
    from pipeline.engines import CPU, get_engine

    data = (json.dumps({"id": 1, "text": "x" * 3_000_000}) + "\n" + json.dumps({"id": 2, "text": "y"}) + "\n").encode()
    dataset = load_file(Catalog(), Source.from_bytes("long.jsonl", data), [get_engine(CPU)])
    assert dataset.shape == (2, 2)


def test_a_long_file_name_makes_a_shortened_dataset_name():
    from pipeline.data.catalog import MAX_NAME_LENGTH, Catalog
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file
    from pipeline.engines import CPU, get_engine

    dataset = load_file(Catalog(), Source.from_bytes("n" * 200 + ".csv", b"a\n1\n"), [get_engine(CPU)])
    assert dataset.name == "n" * MAX_NAME_LENGTH
