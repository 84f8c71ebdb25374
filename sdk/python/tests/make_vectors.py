"""Writes docs/test-vectors/online-records.json from the Python codec (run once; both sides test it)."""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from vpt_sdk.codec import Value, encode_entity_key, encode_value  # noqa: E402

V = Value
CASES = [
    ("int64 key, mixed features", [V("int64", 42)], [("amount", V("float64", 12.5)), ("count_7d", V("int64", 3)), ("merchant", V("string", "café ☕")), ("is_fraud", V("bool", False))], 1700000000000000, 1700000000123456),
    ("string key, null feature", [V("string", "user-1")], [("score", V("null"))], 0, 1),
    ("composite key", [V("string", "u1"), V("int64", -1)], [("tags", V("array", [V("string", "a"), V("string", "")])), ("max", V("int64", 9223372036854775807))], -5, 0),
    ("extremes", [V("int64", -9223372036854775808)], [("neg_zero", V("float64", -0.0)), ("tiny", V("float64", 5e-324)), ("big", V("float64", 1.7976931348623157e308)), ("nested", V("array", [V("array", [V("int64", 1), V("null")]), V("bool", True)]))], 253402300799999999, 253402300799999999),
    ("no features", [V("bool", True)], [], 1, 2),
]


def to_json(value: Value):
    if value.type == "int64":
        return {"type": "int64", "value": str(value.value)}
    if value.type == "array":
        return {"type": "array", "value": [to_json(v) for v in value.value]}
    if value.type == "null":
        return {"type": "null"}
    return {"type": value.type, "value": value.value}


vectors = []
for name, keys, features, event, write in CASES:
    vectors.append({
        "name": name,
        "joinKeys": [to_json(k) for k in keys],
        "features": [{"name": n, "value": to_json(v)} for n, v in features],
        "eventTimeMicros": str(event),
        "writeTimeMicros": str(write),
        "entityKeyHex": encode_entity_key(keys).hex(),
        "valueHex": encode_value(features, event, write).hex(),
    })
out = pathlib.Path(__file__).resolve().parents[3] / "docs/test-vectors/online-records.json"
out.write_text(json.dumps({"codecVersion": 1, "vectors": vectors}, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {out}")
