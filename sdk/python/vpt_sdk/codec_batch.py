"""The online record codec over a whole Arrow batch at once, for the Rift runner's online upsert.

Byte for byte what ``codec.encode_entity_key`` and ``codec.encode_value`` produce row by row (the
tests compare them on random batches). Rows whose features are all fixed-width (int64, float64,
bool) and not null have one layout per batch, so numpy writes them as one structured array. Every
other row (a null, a string or an array feature, a column whose Arrow type is not the declared
one) goes through the row codec. Encoding row by row in Python was most of the runner's CPU.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import pyarrow as pa

from .codec import CODEC_VERSION, Value, encode_entity_key, encode_value

# Declared kind → (tag, numpy big-endian payload type, Arrow types read without conversion).
_FIXED = {
    "int64": (2, ">i8", (pa.int8(), pa.int16(), pa.int32(), pa.int64())),
    "float64": (3, ">f8", (pa.float32(), pa.float64())),
    "bool": (1, "u1", (pa.bool_(),)),
}


def _fixed(column: pa.Array, kind: str):
    """The column as a numpy payload array and its null mask, or None when it needs the row codec."""
    spec = _FIXED.get(kind)
    if spec is None or column.type not in spec[2]:
        return None
    nulls = column.is_null().to_numpy(zero_copy_only=False)
    filled = column.fill_null(False if kind == "bool" else 0)
    return filled.to_numpy(zero_copy_only=False).astype(spec[1]), nulls


def _split(buffer: bytes, size: int, count: int) -> List[bytes]:
    return [buffer[i * size : (i + 1) * size] for i in range(count)]


def _row_value(kind: str, value) -> Value:
    """What the row codec would be given for a value of a declared kind (as rift.py always did)."""
    if value is None:
        return Value("null")
    return Value(kind, value)


def encode_entity_keys(batch: pa.RecordBatch, keys: Sequence[str], key_types: dict) -> List[bytes]:
    columns = [batch.column(batch.schema.get_field_index(k)) for k in keys]
    if all(key_types[k] == "int64" for k in keys) and all(c.type in _FIXED["int64"][2] and c.null_count == 0 for c in columns):
        layout = np.dtype([field for i in range(len(keys)) for field in ((f"t{i}", "u1"), (f"v{i}", ">i8"))])
        out = np.empty(batch.num_rows, dtype=layout)
        for i, column in enumerate(columns):
            out[f"t{i}"] = 2
            out[f"v{i}"] = column.to_numpy(zero_copy_only=False)
        return _split(out.tobytes(), layout.itemsize, batch.num_rows)
    rows = [c.to_pylist() for c in columns]
    return [encode_entity_key([Value("int64", int(values[i])) if key_types[k] == "int64" else Value("string", str(values[i]))
                               for k, values in zip(keys, rows)])
            for i in range(batch.num_rows)]


def encode_values(batch: pa.RecordBatch, features: Sequence[Tuple[str, str]], events: np.ndarray, write_micros: int) -> List[bytes]:
    """One encoded value per row: the features in order, the row's event time, `write_micros`."""
    count = batch.num_rows
    columns = [batch.column(batch.schema.get_field_index(name)) for name, _ in features]
    fixed = [_fixed(column, kind) for column, (_, kind) in zip(columns, features)]
    result: List[bytes] = [b""] * count
    if any(f is None for f in fixed):
        fast = np.zeros(count, dtype=bool)
    elif fixed:
        fast = ~np.logical_or.reduce([nulls for _, nulls in fixed])
    else:
        fast = np.ones(count, dtype=bool)
    rows = np.flatnonzero(fast)
    if len(rows):
        names = [name.encode("utf-8") for name, _ in features]
        fields = [("version", "u1"), ("event", ">i8"), ("write", ">i8"), ("count", ">u2")]
        for i, ((_, kind), encoded) in enumerate(zip(features, names)):
            fields += [(f"n{i}", ">u2"), (f"s{i}", f"S{len(encoded)}"), (f"t{i}", "u1"), (f"v{i}", _FIXED[kind][1])]
        layout = np.dtype(fields)
        out = np.empty(len(rows), dtype=layout)
        out["version"] = CODEC_VERSION
        out["event"] = events[rows]
        out["write"] = write_micros
        out["count"] = len(features)
        for i, ((_, kind), encoded, (payload, _)) in enumerate(zip(features, names, fixed)):
            out[f"n{i}"] = len(encoded)
            out[f"s{i}"] = encoded
            out[f"t{i}"] = _FIXED[kind][0]
            out[f"v{i}"] = payload[rows]
        for row, value in zip(rows.tolist(), _split(out.tobytes(), layout.itemsize, len(rows))):
            result[row] = value
    slow = np.flatnonzero(~fast)
    if len(slow):
        pylists = [column.take(pa.array(slow)).to_pylist() for column in columns]
        for j, row in enumerate(slow.tolist()):
            values = [(name, _row_value(kind, pylists[f][j])) for f, (name, kind) in enumerate(features)]
            result[row] = encode_value(values, int(events[row]), write_micros)
    return result
