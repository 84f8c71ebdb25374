"""The batch codec writes exactly the bytes of the row codec, on every path it takes."""

import random

import numpy as np
import pyarrow as pa
import pytest

from vpt_sdk.codec import Value, decode_value, encode_entity_key, encode_value
from vpt_sdk.codec_batch import encode_entity_keys, encode_values

WRITE = 1_764_000_000_123_456


def row_codec(batch, keys, key_types, features):
    """What the runner encoded row by row before the batch codec."""
    rows = batch.to_pylist()
    out = []
    for row in rows:
        entity = [Value("int64", int(row[k])) if key_types[k] == "int64" else Value("string", str(row[k])) for k in keys]
        values = [(name, Value("null") if row[name] is None else Value(kind, row[name])) for name, kind in features]
        event = int(row["_event_time_micros"])
        out.append((encode_entity_key(entity), encode_value(values, event, WRITE)))
    return out


def batch_codec(batch, keys, key_types, features):
    events = batch.column(batch.schema.get_field_index("_event_time_micros")).to_numpy().astype("int64")
    return list(zip(encode_entity_keys(batch, keys, key_types), encode_values(batch, features, events, WRITE)))


def random_batch(rng, rows, null_share):
    def maybe_null(values):
        return [None if rng.random() < null_share else v for v in values]

    return pa.RecordBatch.from_pydict({
        "user_id": pa.array([rng.randrange(-2**63, 2**63) for _ in range(rows)], pa.int64()),
        "region": pa.array([rng.choice(["eu", "üs", ""]) for _ in range(rows)], pa.string()),
        "shard": pa.array([rng.randrange(-100, 100) for _ in range(rows)], pa.int32()),
        "amount": pa.array(maybe_null([rng.choice([rng.uniform(-1e9, 1e9), 0.0, -0.0, float("inf"), float("nan"), 5e-324])
                                       for _ in range(rows)]), pa.float64()),
        "ratio": pa.array(maybe_null([rng.uniform(0, 1) for _ in range(rows)]), pa.float32()),
        "count": pa.array(maybe_null([rng.randrange(-2**63, 2**63) for _ in range(rows)]), pa.int64()),
        "small": pa.array(maybe_null([rng.randrange(-128, 128) for _ in range(rows)]), pa.int8()),
        "flag": pa.array(maybe_null([rng.random() < 0.5 for _ in range(rows)]), pa.bool_()),
        "label": pa.array(maybe_null([rng.choice(["a", "ß", "日本"]) for _ in range(rows)]), pa.string()),
        "as_int": pa.array([rng.randrange(0, 1000) for _ in range(rows)], pa.int64()),
        "_event_time_micros": pa.array([rng.randrange(0, 2**62) for _ in range(rows)], pa.int64()),
    })


FIXED = [("amount", "float64"), ("ratio", "float64"), ("count", "int64"), ("small", "int64"), ("flag", "bool")]


@pytest.mark.parametrize("null_share", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("features", [FIXED, FIXED + [("label", "string")], [("as_int", "float64")], []],
                         ids=["fixed", "with-string", "int-column-as-float64", "none"])
@pytest.mark.parametrize("keys", [["user_id"], ["user_id", "shard"], ["region"], ["region", "user_id"]])
def test_batch_codec_matches_the_row_codec(null_share, features, keys):
    rng = random.Random(f"{null_share}{features}{keys}")
    key_types = {"user_id": "int64", "shard": "int64", "region": "string"}
    batch = random_batch(rng, 300, null_share)
    assert batch_codec(batch, keys, key_types, features) == row_codec(batch, keys, key_types, features)


def test_fixed_rows_take_the_vector_path_and_decode():
    rng = random.Random(7)
    batch = random_batch(rng, 50, 0.0)
    events = batch.column(batch.schema.get_field_index("_event_time_micros")).to_numpy()
    encoded = encode_values(batch, FIXED, events, WRITE)
    features, event, write = decode_value(encoded[3])
    assert (event, write) == (int(events[3]), WRITE)
    assert [name for name, _ in features] == [name for name, _ in FIXED]
    assert features[2][1] == Value("int64", batch.column(5)[3].as_py())
    assert features[4][1] == Value("bool", batch.column(7)[3].as_py())
    # All rows share one layout: the same length.
    assert len({len(value) for value in encoded}) == 1


def test_an_empty_batch_encodes_to_nothing():
    batch = random_batch(random.Random(1), 0, 0.0)
    assert encode_values(batch, FIXED, np.zeros(0, dtype="int64"), WRITE) == []
    assert encode_entity_keys(batch, ["user_id"], {"user_id": "int64"}) == []
