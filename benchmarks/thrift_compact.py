"""Thrift's compact protocol read into plain Python values and written back, so a fuzzer can rewrite a Parquet footer.

A struct is a list of `[field id, type, value]` in file order (so an unchanged struct is written back byte for byte);
a list or set is `(element type, [values])`; a map is `(key type, value type, [(key, value)])`. Only what Parquet's
footer uses is needed, and that is all of the protocol.
"""

from __future__ import annotations

import struct
from typing import Any

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)
Struct = list[list[Any]]


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


class _Reader:
    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data, self.at = data, at

    def byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def value(self, kind: int) -> Any:
        if kind in (TRUE, FALSE):  # an element of a list: one byte
            return self.byte() == TRUE
        if kind == BYTE:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if kind in (I16, I32, I64):
            return _unzigzag(self.varint())
        if kind == DOUBLE:
            self.at += 8
            return struct.unpack_from("<d", self.data, self.at - 8)[0]
        if kind == BINARY:
            size = self.varint()
            self.at += size
            return self.data[self.at - size : self.at]
        if kind in (LIST, SET):
            header = self.byte()
            size = header >> 4 if header >> 4 != 15 else self.varint()
            element = header & 0x0F
            return element, [self.value(element) for _ in range(size)]
        if kind == MAP:
            size = self.varint()
            if not size:
                return 0, 0, []
            types = self.byte()
            key, item = types >> 4, types & 0x0F
            return key, item, [(self.value(key), self.value(item)) for _ in range(size)]
        if kind == STRUCT:
            return self.struct()
        raise ValueError(f"unknown compact type {kind}")

    def struct(self) -> Struct:
        fields: Struct = []
        last = 0
        while (header := self.byte()) != STOP:
            kind, delta = header & 0x0F, header >> 4
            number = last + delta if delta else _unzigzag(self.varint())
            value = kind == TRUE if kind in (TRUE, FALSE) else self.value(kind)
            fields.append([number, kind, value])
            last = number
        return fields


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        if value < 0x80:
            out.append(value)
            return bytes(out)
        out.append((value & 0x7F) | 0x80)
        value >>= 7


def _value(kind: int, value: Any) -> bytes:
    if kind in (TRUE, FALSE):
        return bytes([TRUE if value else FALSE])
    if kind == BYTE:
        return struct.pack("b", value)
    if kind in (I16, I32, I64):
        return _varint(_zigzag(value) & (2**64 - 1))
    if kind == DOUBLE:
        return struct.pack("<d", value)
    if kind == BINARY:
        return _varint(len(value)) + bytes(value)
    if kind in (LIST, SET):
        element, items = value
        header = (
            bytes([(len(items) << 4) | element]) if len(items) < 15 else bytes([0xF0 | element]) + _varint(len(items))
        )
        return header + b"".join(_value(element, item) for item in items)
    if kind == MAP:
        key, item, pairs = value
        if not pairs:
            return b"\x00"
        return (
            _varint(len(pairs))
            + bytes([(key << 4) | item])
            + b"".join(_value(key, k) + _value(item, v) for k, v in pairs)
        )
    if kind == STRUCT:
        return write_struct(value)
    raise ValueError(f"unknown compact type {kind}")


def read_struct(data: bytes, at: int = 0) -> tuple[Struct, int]:
    """The struct that starts at `at`, and where it ends."""
    reader = _Reader(data, at)
    return reader.struct(), reader.at


def write_struct(fields: Struct) -> bytes:
    out, last = bytearray(), 0
    for number, kind, value in fields:
        if kind in (TRUE, FALSE):
            kind = TRUE if value else FALSE
        delta = number - last
        out += bytes([(delta << 4) | kind]) if 0 < delta <= 15 else bytes([kind]) + _varint(_zigzag(number))
        if kind not in (TRUE, FALSE):
            out += _value(kind, value)
        last = number
    return bytes(out + b"\x00")


def field(fields: Struct, number: int) -> list[Any] | None:
    """The entry `[number, type, value]` of a struct, or None where it is absent."""
    return next((entry for entry in fields if entry[0] == number), None)


def set_field(fields: Struct, number: int, kind: int, value: Any) -> None:
    """Set a struct's field, adding it (in field order) where it is absent."""
    entry = field(fields, number)
    if entry is not None:
        entry[1], entry[2] = kind, value
        return
    fields.append([number, kind, value])
    fields.sort(key=lambda item: item[0])
