"""The online record codec, byte for byte the same as Runtime/Contract/OnlineRecordCodec.swift.

Values are ``Value(type, value)`` pairs so that int64 and float64 stay distinct:
type is one of ``null``, ``bool``, ``int64``, ``float64``, ``string``, ``array``.
All integers are big-endian. See docs/online-record-codec.md.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

CODEC_VERSION = 1
_TAGS = {"null": 0, "bool": 1, "int64": 2, "float64": 3, "string": 4, "array": 5}


class DecodeError(ValueError):
    """The bytes are not a valid encoding."""


@dataclass(frozen=True)
class Value:
    type: str
    value: Any = None


def _encode(value: Value, out: bytearray) -> None:
    tag = _TAGS.get(value.type)
    if tag is None:
        raise ValueError(f"unknown value type {value.type!r}")
    out.append(tag)
    if value.type == "bool":
        out.append(1 if value.value else 0)
    elif value.type == "int64":
        out += struct.pack(">q", int(value.value))
    elif value.type == "float64":
        out += struct.pack(">d", float(value.value))
    elif value.type == "string":
        data = value.value.encode("utf-8")
        out += struct.pack(">I", len(data)) + data
    elif value.type == "array":
        out += struct.pack(">I", len(value.value))
        for item in value.value:
            _encode(item, out)


def encode_entity_key(values: Sequence[Value]) -> bytes:
    out = bytearray()
    for value in values:
        _encode(value, out)
    return bytes(out)


def encode_value(features: Sequence[Tuple[str, Value]], event_time_micros: int, write_time_micros: int) -> bytes:
    out = bytearray([CODEC_VERSION])
    out += struct.pack(">qqH", event_time_micros, write_time_micros, len(features))
    for name, value in features:
        data = name.encode("utf-8")
        out += struct.pack(">H", len(data)) + data
        _encode(value, out)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise DecodeError("the record is truncated")
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def at_end(self) -> bool:
        return self.offset == len(self.data)

    def value(self) -> Value:
        tag = self.take(1)[0]
        if tag == 0:
            return Value("null")
        if tag == 1:
            return Value("bool", self.take(1)[0] != 0)
        if tag == 2:
            return Value("int64", struct.unpack(">q", self.take(8))[0])
        if tag == 3:
            return Value("float64", struct.unpack(">d", self.take(8))[0])
        if tag == 4:
            (length,) = struct.unpack(">I", self.take(4))
            try:
                return Value("string", self.take(length).decode("utf-8"))
            except UnicodeDecodeError as error:
                raise DecodeError("a string is not valid UTF-8") from error
        if tag == 5:
            (count,) = struct.unpack(">I", self.take(4))
            return Value("array", [self.value() for _ in range(count)])
        raise DecodeError(f"unknown value tag {tag}")


def decode_entity_key(data: bytes) -> List[Value]:
    reader = _Reader(data)
    values = []
    while not reader.at_end():
        values.append(reader.value())
    return values


def decode_value(data: bytes) -> Tuple[List[Tuple[str, Value]], int, int]:
    reader = _Reader(data)
    version = reader.take(1)[0]
    if version != CODEC_VERSION:
        raise DecodeError(f"record codec version {version} is not supported (expected {CODEC_VERSION})")
    event, write, count = struct.unpack(">qqH", reader.take(18))
    features = []
    for _ in range(count):
        (length,) = struct.unpack(">H", reader.take(2))
        try:
            name = reader.take(length).decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecodeError("a string is not valid UTF-8") from error
        features.append((name, reader.value()))
    if not reader.at_end():
        raise DecodeError("the record is truncated")
    return features, event, write
