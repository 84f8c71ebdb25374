"""get_historical_features against an independent brute-force implementation on generated data:
thousands of entities, late and duplicate events (same event time, different write times), values
exactly at and just past the TTL edge, spine rows before any event, unknown entities."""

import json
import pathlib
import random

import pandas as pd
import pytest

from vpt_sdk import OfflineRetrieval, RetrievalError

MICRO = 1_000_000
BASE = 1_780_000_000 * MICRO  # 2026-05-28

REPO = {
    "entities": [{"name": "user", "joinKeys": [{"name": "user_id", "type": "int64"}]},
                 {"name": "merchant", "joinKeys": [{"name": "merchant_id", "type": "string"}]}],
    "pushSources": [
        {"name": "tx", "timestampField": "ts", "schema": [{"name": "user_id", "type": "int64"}, {"name": "amount", "type": "float64"},
                                                          {"name": "count", "type": "int64"}, {"name": "ts", "type": "string"}]},
        {"name": "merchants", "timestampField": "ts", "schema": [{"name": "merchant_id", "type": "string"}, {"name": "risk", "type": "string"},
                                                                 {"name": "ts", "type": "string"}]},
    ],
    "featureViews": [
        {"name": "user_tx", "entities": ["user"], "source": "tx", "features": [{"name": "amount", "type": "float64"}, {"name": "count", "type": "int64"}],
         "ttlSeconds": 3600, "online": True, "offline": True},
        {"name": "merchant_risk", "entities": ["merchant"], "source": "merchants", "features": [{"name": "risk", "type": "string"}],
         "ttlSeconds": 600, "online": True, "offline": True},
    ],
    "featureServices": [{"name": "fraud", "featureViews": ["user_tx", "merchant_risk"]}],
}


def write_log(root, source, rows):
    """Rows as the ingest API appends them, shuffled over several day files (arrival order)."""
    folder = pathlib.Path(root) / "ingest" / "prod" / source
    folder.mkdir(parents=True, exist_ok=True)
    random.shuffle(rows)
    for day in range(3):
        with open(folder / f"2026-05-{28 + day}.jsonl", "w") as handle:
            for row in rows[day::3]:
                handle.write(json.dumps(row) + "\n")


def generate(root, rng, users=3000, merchants=300):
    tx, merch = [], []
    for user in range(users):
        for _ in range(rng.randrange(0, 9)):
            event = BASE + rng.randrange(0, 6 * 3600) * MICRO
            write = event + rng.randrange(0, 7200) * MICRO  # late arrivals
            tx.append({"_event_time_micros": str(event), "_write_time_micros": str(write), "_workspace": "prod",
                       "user_id": str(user), "amount": round(rng.uniform(0, 500), 2), "count": str(rng.randrange(0, 100))})
            if rng.random() < 0.15:  # a duplicate event time, written later with another value
                tx.append({"_event_time_micros": str(event), "_write_time_micros": str(write + rng.randrange(1, 1000)), "_workspace": "prod",
                           "user_id": str(user), "amount": round(rng.uniform(0, 500), 2), "count": str(rng.randrange(0, 100))})
    for merchant in range(merchants):
        for _ in range(rng.randrange(0, 6)):
            event = BASE + rng.randrange(0, 6 * 3600) * MICRO
            merch.append({"_event_time_micros": str(event), "_write_time_micros": str(event + rng.randrange(0, 60) * MICRO),
                          "_workspace": "prod", "merchant_id": f"m{merchant}", "risk": rng.choice(["low", "mid", "high"])})
    write_log(root, "tx", list(tx))
    write_log(root, "merchants", list(merch))
    return tx, merch


def brute_force(events, key_field, key, ts, ttl_seconds, features):
    best = None
    for e in events:
        event, write = int(e["_event_time_micros"]), int(e["_write_time_micros"])
        if e[key_field] != key or event > ts or event < ts - ttl_seconds * MICRO:
            continue
        if best is None or (event, write) > (int(best["_event_time_micros"]), int(best["_write_time_micros"])):
            best = e
    return {name: (None if best is None else cast(best[name])) for name, cast in features}


def test_matches_brute_force_on_generated_data(tmp_path):
    rng = random.Random(7)
    tx, merch = generate(tmp_path, rng)
    spine_rows = []
    for _ in range(4000):
        user = rng.randrange(0, 3100)  # some users have no events at all
        ts = BASE + rng.randrange(-600, 8 * 3600) * MICRO  # some before any event, some past every TTL
        spine_rows.append({"user_id": user, "merchant_id": f"m{rng.randrange(0, 320)}", "timestamp": ts})
    # TTL edges: exactly at the edge is still fresh, one microsecond later is not.
    edge = next(e for e in tx if e["user_id"] == "5")
    edge_event = int(edge["_event_time_micros"])
    spine_rows += [{"user_id": 5, "merchant_id": "m1", "timestamp": edge_event + 3600 * MICRO},
                   {"user_id": 5, "merchant_id": "m1", "timestamp": edge_event + 3600 * MICRO + 1}]
    spine = pd.DataFrame(spine_rows)
    spine["timestamp"] = pd.to_datetime(spine["timestamp"], unit="us", utc=True)

    result = OfflineRetrieval(REPO, tmp_path, "prod").get_historical_features(spine, "fraud")
    assert list(result.columns) == ["user_id", "merchant_id", "timestamp", "user_tx__amount", "user_tx__count", "merchant_risk__risk"]
    assert len(result) == len(spine_rows)
    by_user, by_merchant = {}, {}
    for e in tx:
        by_user.setdefault(e["user_id"], []).append(e)
    for e in merch:
        by_merchant.setdefault(e["merchant_id"], []).append(e)
    found = 0
    for i, row in enumerate(spine_rows):
        ts = row["timestamp"]
        want_user = brute_force(by_user.get(str(row["user_id"]), []), "user_id", str(row["user_id"]), ts, 3600, [("amount", float), ("count", int)])
        want_merchant = brute_force(by_merchant.get(row["merchant_id"], []), "merchant_id", row["merchant_id"], ts, 600, [("risk", str)])
        got = result.iloc[i]
        for column, want in (("user_tx__amount", want_user["amount"]), ("user_tx__count", want_user["count"]), ("merchant_risk__risk", want_merchant["risk"])):
            value = got[column]
            if want is None:
                assert pd.isna(value), f"row {i} {column}: expected nothing, got {value}"
            else:
                assert value == want, f"row {i} {column}: expected {want}, got {value}"
                found += 1
    assert found > 2000, f"the generated data should produce many hits, got {found}"
    # Exactly at the TTL edge the edge event itself still qualifies (the brute force agreed on
    # both edge rows above, including the one a microsecond later).
    assert not pd.isna(result.iloc[-2]["user_tx__count"])


def test_no_future_value_leaks(tmp_path):
    rows = [{"_event_time_micros": str(BASE + 100 * MICRO), "_write_time_micros": str(BASE + 100 * MICRO), "_workspace": "prod",
             "user_id": "1", "amount": 1.0, "count": "1"},
            {"_event_time_micros": str(BASE + 200 * MICRO), "_write_time_micros": str(BASE + 150 * MICRO), "_workspace": "prod",
             "user_id": "1", "amount": 2.0, "count": "2"}]
    write_log(tmp_path, "tx", rows)
    spine = pd.DataFrame({"user_id": [1, 1, 1], "merchant_id": ["m", "m", "m"],
                          "timestamp": pd.to_datetime([BASE + 99 * MICRO, BASE + 199 * MICRO, BASE + 200 * MICRO], unit="us", utc=True)})
    result = OfflineRetrieval(REPO, tmp_path, "prod").get_historical_features(spine, "fraud")
    assert pd.isna(result.loc[0, "user_tx__amount"])
    assert result.loc[1, "user_tx__amount"] == 1.0  # the 200 s event is in the future at 199 s
    assert result.loc[2, "user_tx__amount"] == 2.0
    assert result["user_tx__count"].tolist()[1:] == [1, 2]


def test_bad_requests_name_the_problem(tmp_path):
    retrieval = OfflineRetrieval(REPO, tmp_path, "prod")
    spine = pd.DataFrame({"user_id": [1], "timestamp": pd.to_datetime([BASE], unit="us", utc=True)})
    with pytest.raises(RetrievalError, match="feature_service: 'nope'"):
        retrieval.get_historical_features(spine, "nope")
    with pytest.raises(RetrievalError, match="merchant_id"):
        retrieval.get_historical_features(spine, "fraud")
    with pytest.raises(RetrievalError, match="'ts' is missing"):
        retrieval.get_historical_features(spine.assign(merchant_id="m"), "fraud", timestamp_column="ts")
    # No data yet: every feature is missing, nothing fails.
    empty = retrieval.get_historical_features(spine.assign(merchant_id="m"), "fraud")
    assert empty["user_tx__amount"].isna().all()
