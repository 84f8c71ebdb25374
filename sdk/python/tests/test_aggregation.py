"""Windowed aggregations checked against a brute-force computation on generated data: hundreds of
entities, events spread over three days with nulls, a backfill cut in days like the scheduler cuts
it, and the online store holding each entity's newest boundary."""

import random
import sqlite3

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vpt_sdk import decode_entity_key, decode_value
from vpt_sdk.rift import run_window

HOUR = 3600 * 1_000_000
AGGREGATIONS = [
    {"function": f, "column": "amount", "window": w} for f in ("count", "sum", "mean", "min", "max", "last") for w in ("1h", "1d")
] + [{"function": "count", "column": "amount", "window": "3h", "name": "recent_orders"}]
VIEW = {
    "name": "spend_agg", "joinKeys": [{"name": "user_id", "type": "int64"}],
    "features": [{"name": "amount", "type": "float64"}], "timestampField": "ts", "online": True, "offline": True,
    "sql": "SELECT user_id, amount, ts FROM source", "aggregations": AGGREGATIONS,
}
START = pd.Timestamp("2026-11-01T00:00:00Z")


def us(ts):
    return int(ts.value // 1000)


def job(tmp_path, start, end):
    return {
        "tenant": "acme-eu", "workspace": "prod", "view": VIEW, "allowedRegions": ["eu-west-1"],
        "source": {"name": "orders", "path": str(tmp_path / "raw"), "format": "parquet", "region": "eu-west-1"},
        "offlineStore": {"location": str(tmp_path / "offline"), "region": "eu-west-1"},
        "onlineStore": {"kind": "sqlite", "location": str(tmp_path / "online.sqlite"), "region": "eu-west-1"},
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "schedule": {"seconds": 3600, "anchor": START.isoformat()},
    }


def events(tmp_path, seed=7):
    rng = random.Random(seed)
    rows = []
    for user in range(400):
        # Distinct times per user, so `last` has one answer; some amounts are null.
        for offset in rng.sample(range(3 * 24 * 3600), rng.randint(1, 30)):
            amount = None if rng.random() < 0.1 else round(rng.uniform(-50, 500), 2)
            rows.append((user, amount, START + pd.Timedelta(seconds=offset, microseconds=rng.randint(0, 999_999))))
    (tmp_path / "raw").mkdir()
    frame = pd.DataFrame(rows, columns=["user_id", "amount", "ts"])
    half = len(frame) // 2
    pq.write_table(pa.Table.from_pandas(frame.iloc[:half], preserve_index=False), tmp_path / "raw/a.parquet")
    pq.write_table(pa.Table.from_pandas(frame.iloc[half:], preserve_index=False), tmp_path / "raw/b.parquet")
    return rows


def brute_force(rows, boundaries):
    """Expected rows {(user, boundary µs): {feature: value}} by looping over every event."""
    windows = {"1h": HOUR, "3h": 3 * HOUR, "1d": 24 * HOUR}
    by_user = {}
    for user, amount, ts in rows:
        by_user.setdefault(user, []).append((us(ts), amount))
    expected = {}
    for b in boundaries:
        for user, items in by_user.items():
            if not any(b - 24 * HOUR - HOUR <= t < b for t, _ in items):
                continue
            out = {}
            for a in AGGREGATIONS:
                inside = [(t, v) for t, v in items if b - windows[a["window"]] <= t < b]
                values = [v for _, v in inside if v is not None]
                name = a.get("name") or f"amount_{a['function']}_{a['window']}"
                f = a["function"]
                if f == "count":
                    out[name] = len(values)
                elif f == "last":
                    present = [(t, v) for t, v in inside if v is not None]
                    out[name] = max(present)[1] if present else None
                elif not values:
                    out[name] = None
                else:
                    out[name] = {"sum": sum, "min": min, "max": max, "mean": lambda v: sum(v) / len(v)}[f](values)
            expected[(user, b - 1)] = out
    return expected


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def test_aggregates_match_brute_force_offline_and_online(tmp_path):
    rows = events(tmp_path)
    # Day 2 and day 3 as two backfill jobs of 24 hourly periods each.
    for day in (1, 2):
        run_window(job(tmp_path, START + pd.Timedelta(days=day), START + pd.Timedelta(days=day + 1)))
    boundaries = [us(START) + k * HOUR for k in range(25, 3 * 24 + 1)]
    expected = brute_force(rows, boundaries)

    folder = tmp_path / "offline/batch/prod/spend_agg"
    files = sorted(str(p) for p in folder.rglob("*.parquet"))
    assert len(files) == 48  # every hourly period of the two days has rows
    table = pq.read_table(files).to_pandas()
    assert len(table) == len(expected) > 5000
    for record in table.to_dict("records"):
        want = expected[(int(record["user_id"]), int(record["_event_time_micros"]))]
        for name, value in want.items():
            got = None if pd.isna(record[name]) else record[name]
            assert close(got, value), (record["user_id"], record["_event_time_micros"], name, got, value)

    # Online: each user's newest boundary, decoded through the shared codec.
    with sqlite3.connect(tmp_path / "online.sqlite") as db:
        stored = db.execute("SELECT entity_key, value FROM online_record WHERE feature_view = 'spend_agg'").fetchall()
    newest = {}
    for (user, event) in expected:
        newest[user] = max(newest.get(user, 0), event)
    assert len(stored) == len(newest)
    for key, value in stored:
        user = decode_entity_key(key)[0].value
        features, event, _ = decode_value(value)
        assert event == newest[user]
        want = expected[(user, event)]
        for name, decoded in features:
            assert close(decoded.value, want[name]), (user, name)
            if name.startswith("amount_count") or name == "recent_orders":
                assert decoded.type == "int64"
