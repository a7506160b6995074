"""The wrappers a fuzzed file goes through: compressors, zip archives, xlsx packages, patched Parquet footers and
plain byte mutations. Everything is deterministic (no timestamps), so a seed always makes the same bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import struct
import zipfile

import pyarrow as pa

from benchmarks import thrift_compact as thrift

FIXED_DATE = (2020, 1, 1, 0, 0, 0)
CODECS = ("gzip", "bz2", "xz", "zstd", "zip")  # what the app decompresses
FOREIGN_CODECS = ("lz4", "brotli")  # compressions the app does not read
EXTENSION = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst", "zip": ".zip", "lz4": ".lz4", "brotli": ".br"}
INTERESTING_INTS = (0, 1, -1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 2**40, 2**62, -(2**63))


def compress(data: bytes, codec: str, *, repeat: int = 1, member: str = "table.csv") -> bytes:
    """`data` compressed with `codec` (a zip holds it as `member`); `repeat` > 1 writes the same compressed member
    that many times, which each stream format reads as `data` repeated (a bomb made without compressing
    gigabytes)."""
    if codec == "zip":
        return zip_members({member: data * repeat})
    if codec == "gzip":
        member = gzip.compress(data, mtime=0)
    elif codec == "bz2":
        member = bz2.compress(data)
    elif codec == "xz":
        member = lzma.compress(data)
    else:
        member = pa.compress(data, codec=codec, asbytes=True)
    return member * repeat


def zip_members(
    members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, directories: tuple[str, ...] = ()
) -> bytes:
    """A zip archive of `members` (and empty `directories`), dated 2020-01-01 so its bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in directories:
            archive.writestr(zipfile.ZipInfo(folder.rstrip("/") + "/", FIXED_DATE), b"")
        for name, data in members.items():
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def rezipped(archive: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    """A zip archive written again with fixed dates (openpyxl dates its members and its properties)."""
    replace = replace or {}
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        members = {info.filename: replace.get(info.filename, source.read(info)) for info in source.infolist()}
    return zip_members(members)


# --- xlsx packages --------------------------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def xlsx_package(sheets: list[bytes], shared: bytes | None = None) -> dict[str, bytes]:
    """The parts of a workbook: `sheets` (each a whole worksheet XML document) and an optional shared strings
    part, with the content types and relationships that make Excel and openpyxl find them."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
        for i in range(1, len(sheets) + 1)
    )
    if shared is not None:
        overrides += (
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
    relations = "".join(
        f'<Relationship Id="rId{i}" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if shared is not None:
        relations += f'<Relationship Id="rIdS" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    listed = "".join(f'<sheet name="Sheet{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, len(sheets) + 1))
    parts = {
        "[Content_Types].xml": (
            f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>"
        ).encode(),
        "_rels/.rels": (
            f'{XML_HEAD}<Relationships xmlns="{RELS_NS}">'
            f'<Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'{XML_HEAD}<workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_RELS}"><sheets>{listed}</sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'{XML_HEAD}<Relationships xmlns="{RELS_NS}">{relations}</Relationships>'
        ).encode(),
    }
    for i, sheet in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = sheet
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    return parts


def worksheet(rows_xml: str, before: str = "", after: str = "") -> bytes:
    """A worksheet document: `before` the sheet data (a dimension), the rows, and `after` it (merged cells)."""
    return (
        f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}">{before}<sheetData>{rows_xml}</sheetData>{after}</worksheet>'.encode()
    )


def shared_strings(values: list[str]) -> bytes:
    items = "".join(f"<si><t>{value}</t></si>" for value in values)
    return f'{XML_HEAD}<sst xmlns="{MAIN_NS}" count="{len(values)}" uniqueCount="{len(values)}">{items}</sst>'.encode()


def column_letters(number: int) -> str:
    """The letters of column `number` (1-based): 1 is A, 27 is AA, 16,384 is XFD."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def patch_zip_sizes(archive: bytes, member: str, size: int) -> bytes:
    """The archive with `member`'s declared uncompressed size set to `size` in its local and central headers (32
    bits; the data is left as it is)."""
    data = bytearray(archive)
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        name_length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, size & 0xFFFFFFFF)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, size & 0xFFFFFFFF)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


# --- Parquet footers ------------------------------------------------------------------------------------------


def parquet_footer(data: bytes) -> tuple[thrift.Struct, int]:
    """The file's FileMetaData and where it starts."""
    length = struct.unpack("<I", data[-8:-4])[0]
    start = len(data) - 8 - length
    return thrift.read_struct(data, start)[0], start


def with_footer(data: bytes, footer: thrift.Struct, start: int) -> bytes:
    encoded = thrift.write_struct(footer)
    return data[:start] + encoded + struct.pack("<I", len(encoded)) + b"PAR1"


def column_metadata(footer: thrift.Struct) -> list[thrift.Struct]:
    """Every column chunk's ColumnMetaData, over every row group."""
    found = []
    groups = thrift.field(footer, 4)
    for group in groups[2][1] if groups else []:
        for chunk in thrift.field(group, 1)[2][1]:
            meta = thrift.field(chunk, 3)
            if meta is not None:
                found.append(meta[2])
    return found


# --- byte mutations -------------------------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    """`data` damaged the way fuzzers damage files: bytes flipped, overwritten with interesting integers, cut out,
    inserted, duplicated, or the file cut short."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 8, 32))):
        if not out:
            break
        at = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.35:
            out[at] ^= 1 << rng.randrange(8)
        elif roll < 0.5:
            out[at] = rng.randrange(256)
        elif roll < 0.7:
            width, fmt = rng.choice(((2, "<H"), (4, "<I"), (8, "<Q")))
            value = rng.choice(INTERESTING_INTS) & ((1 << (8 * width)) - 1)
            out[at : at + width] = struct.pack(fmt, value)
        elif roll < 0.8:
            del out[at : at + rng.randrange(1, 256)]
        elif roll < 0.88:
            out[at:at] = rng.randbytes(rng.randrange(1, 32))
        elif roll < 0.95:
            size = rng.randrange(1, 512)
            out[at:at] = out[at : at + size] * rng.randrange(1, 8)
        else:
            del out[at:]
    return bytes(out) or b"\x00"
