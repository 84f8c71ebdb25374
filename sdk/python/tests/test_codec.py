import json
import pathlib
import struct

import pytest

from vpt_sdk.codec import DecodeError, Value, decode_entity_key, decode_value, encode_entity_key, encode_value

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[3] / "docs/test-vectors/online-records.json").read_text())


def from_json(item):
    kind = item["type"]
    if kind == "int64":
        return Value("int64", int(item["value"]))
    if kind == "array":
        return Value("array", [from_json(v) for v in item["value"]])
    if kind == "null":
        return Value("null")
    return Value(kind, item["value"])


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_encode_and_decode(vector):
    keys = [from_json(k) for k in vector["joinKeys"]]
    features = [(f["name"], from_json(f["value"])) for f in vector["features"]]
    event, write = int(vector["eventTimeMicros"]), int(vector["writeTimeMicros"])
    assert encode_entity_key(keys).hex() == vector["entityKeyHex"]
    assert encode_value(features, event, write).hex() == vector["valueHex"]
    assert decode_entity_key(bytes.fromhex(vector["entityKeyHex"])) == keys
    decoded, e, w = decode_value(bytes.fromhex(vector["valueHex"]))
    assert (e, w) == (event, write)
    assert [n for n, _ in decoded] == [n for n, _ in features]
    for (_, got), (_, want) in zip(decoded, features):
        if want.type == "float64":
            assert struct.pack(">d", got.value) == struct.pack(">d", want.value)
        else:
            assert got == want


def test_truncated_and_unknown_are_errors():
    good = bytes.fromhex(VECTORS["vectors"][0]["valueHex"])
    with pytest.raises(DecodeError, match="truncated"):
        decode_value(good[:-1])
    with pytest.raises(DecodeError, match="version 2"):
        decode_value(b"\x02" + good[1:])
    with pytest.raises(DecodeError, match="unknown value tag 9"):
        decode_entity_key(b"\x09")
