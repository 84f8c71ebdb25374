#!/usr/bin/env python3
"""Rift and offline retrieval benchmark (issue 7), in one run:

1. materialize: the Rift runner (`python -m vpt_sdk.rift`, as the scheduler starts it) over a
   window of N source rows (default 10 million; 1 million entities): rows/s, online upserts/s and
   the runner's peak memory (max RSS). The runner's DuckDB has a memory limit, so the window is
   streamed and spilled, never held whole.
2. historical: `get_historical_features` for a spine of M rows (default 1 million) against those N
   feature rows (the offline files the runner wrote), next to Feast's `get_historical_features`
   (file offline store) on the same rows and the same spine, with a check that both answer the
   same values.

Prints one `key=value` line per figure. Usage (see docs/benchmarks.md):
  python3 Benchmarks/rift/run.py --feast /tmp/feast-venv/bin [--rows 10000000] [--spine 1000000]
The SDK must be installed for python3 (`pip install ./sdk/python`); --feast names the bin folder
of a Python environment with `feast` (pip).
"""

import argparse
import datetime
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import duckdb

DAY = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def generate_source(folder: pathlib.Path, rows: int, entities: int, files: int = 10) -> None:
    folder.mkdir(parents=True)
    con = duckdb.connect()
    per_file = rows // files
    for i in range(files):
        con.execute(f"""COPY (SELECT (hash(i * 7919 + {i}) % {entities})::BIGINT AS user_id,
                                     round((hash(i + {i} * 1000003) % 100000) / 100.0, 2)::DOUBLE AS amount,
                                     TIMESTAMPTZ '{DAY.isoformat()}' + to_microseconds((hash(i * 31 + {i}) % 86400000000)::BIGINT) AS ts
                              FROM range({i * per_file}, {(i + 1) * per_file}) t(i))
                        TO '{folder / f"part-{i}.parquet"}' (FORMAT PARQUET)""")
    con.close()


def materialize(work: pathlib.Path, rows: int, memory_limit: str) -> dict:
    """One runner process over the whole window (a fresh online store each time)."""
    for leftover in ["online.sqlite", "online.sqlite-wal", "online.sqlite-shm"]:
        (work / leftover).unlink(missing_ok=True)
    job = {
        "tenant": "bench", "workspace": "prod", "jobId": "bench-1", "attempt": 1, "allowedRegions": ["eu-west-1"],
        "computeRegion": "eu-west-1",
        "view": {"name": "spend", "joinKeys": [{"name": "user_id", "type": "int64"}], "features": [{"name": "amount", "type": "float64"}],
                 "sql": "SELECT user_id, amount, ts FROM source", "timestampField": "ts", "online": True, "offline": True},
        "source": {"name": "orders", "path": str(work / "offline/raw/orders"), "format": "parquet", "region": "eu-west-1"},
        "offlineStore": {"kind": "local", "location": str(work / "offline"), "region": "eu-west-1"},
        "onlineStore": {"kind": "sqlite", "location": str(work / "online.sqlite"), "region": "eu-west-1"},
        "window": {"start": DAY.isoformat(), "end": (DAY + datetime.timedelta(days=1)).isoformat()},
        "schedule": {"seconds": 86400, "anchor": DAY.isoformat()},
        "tempDirectory": str(work / "offline/.rift-tmp/bench-1"), "memoryLimit": memory_limit,
    }
    (work / "job.json").write_text(json.dumps(job))
    began = time.time()
    # A wrapper process, so that max RSS is this runner's alone (RUSAGE_CHILDREN keeps the maximum of all).
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "vpt_sdk.rift", "--job", str(work / "job.json"),
                          "--result", str(work / "result.json")], check=True, capture_output=True, text=True).stdout
    seconds = time.time() - began
    peak_mb = int(out.strip().splitlines()[-1]) / 1024
    result = json.loads((work / "result.json").read_text())
    assert result["rows"] == rows, result
    return {"seconds": seconds, "peak_rss_mb": peak_mb, **result}


def spine_file(work: pathlib.Path, size: int, entities: int) -> pathlib.Path:
    path = work / "spine.parquet"
    duckdb.connect().execute(f"""COPY (SELECT (hash(i * 104729) % {entities})::BIGINT AS user_id,
                                              TIMESTAMPTZ '{DAY.isoformat()}' + to_microseconds((hash(i * 13) % 86400000000)::BIGINT) AS timestamp
                                       FROM range({size}) t(i)) TO '{path}' (FORMAT PARQUET)""")
    return path


VPT_SCRIPT = textwrap.dedent("""
    import json, sys, time, resource
    import pandas as pd
    from vpt_sdk import OfflineRetrieval
    offline, spine_path, out = sys.argv[1:4]
    repo = {"entities": [{"name": "user", "joinKeys": [{"name": "user_id", "type": "int64"}]}],
            "batchSources": [], "featureServices": [{"name": "svc", "featureViews": ["spend"]}],
            "batchFeatureViews": [{"name": "spend", "entities": ["user"], "source": "orders", "ttlSeconds": 86400,
                                   "features": [{"name": "amount", "type": "float64"}]}]}
    spine = pd.read_parquet(spine_path)
    began = time.time()
    frame = OfflineRetrieval(repo, offline, "prod").get_historical_features(spine, "svc")
    seconds = time.time() - began
    frame[["user_id", "timestamp", "spend__amount"]].rename(columns={"spend__amount": "amount"}).to_parquet(out)
    print(json.dumps({"seconds": seconds, "rows": len(frame), "non_null": int(frame["spend__amount"].notna().sum()),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

FEAST_REPO = textwrap.dedent("""
    from datetime import timedelta
    from feast import Entity, FeatureService, FeatureView, Field, FileSource
    from feast.types import Float64
    user = Entity(name="user", join_keys=["user_id"])
    source = FileSource(path="{path}", timestamp_field="event_timestamp")
    spend = FeatureView(name="spend", entities=[user], ttl=timedelta(days=1), schema=[Field(name="amount", dtype=Float64)], source=source, online=False)
    svc = FeatureService(name="svc", features=[spend])
""")

FEAST_SCRIPT = textwrap.dedent("""
    import json, sys, time, resource
    import pandas as pd
    from feast import FeatureStore
    repo, spine_path, out = sys.argv[1:4]
    store = FeatureStore(repo_path=repo)
    spine = pd.read_parquet(spine_path).rename(columns={"timestamp": "event_timestamp"})
    began = time.time()
    frame = store.get_historical_features(entity_df=spine, features=store.get_feature_service("svc")).to_df()
    seconds = time.time() - began
    frame.rename(columns={"event_timestamp": "timestamp"})[["user_id", "timestamp", "amount"]].to_parquet(out)
    print(json.dumps({"seconds": seconds, "rows": len(frame), "non_null": int(frame["amount"].notna().sum()),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def feast_repo(work: pathlib.Path, source: pathlib.Path, feast_bin: pathlib.Path) -> pathlib.Path:
    repo = work / "feast"
    repo.mkdir()
    data = work / "feast-source.parquet"
    duckdb.connect().execute(f"COPY (SELECT user_id, amount, ts AS event_timestamp FROM read_parquet('{source}/*.parquet')) "
                             f"TO '{data}' (FORMAT PARQUET)")
    (repo / "feature_store.yaml").write_text(
        "project: bench\nregistry: data/registry.db\nprovider: local\nonline_store:\n  type: sqlite\n  path: data/online.db\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
    (repo / "repo.py").write_text(FEAST_REPO.format(path=data))
    subprocess.run([str(feast_bin / "feast"), "apply"], cwd=repo, check=True, capture_output=True, text=True)
    return repo


def run_json(command: list[str], timeout: float) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stderr[-2000:]}")
    # The last JSON line: a library may print other lines (one run failed on a stray line).
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--spine", type=int, default=1_000_000)
    parser.add_argument("--memory-limits", default="1GB,256MB", help="the runner's DuckDB memory limits to run with")
    parser.add_argument("--feast", help="bin folder of a Python environment with feast")
    parser.add_argument("--feast-timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="vpt-rift-bench-"))
    try:
        source = work / "offline/raw/orders"
        began = time.time()
        generate_source(source, args.rows, args.entities)
        print(f"setup source_rows={args.rows} entities={args.entities} generate_s={time.time() - began:.1f}")

        for limit in args.memory_limits.split(","):
            m = materialize(work, args.rows, limit)
            print(f"benchmark=materialize rows={m['rows']} seconds={m['seconds']:.2f} rows_per_s={m['rows'] / m['seconds']:.0f} "
                  f"offline_s={m['offlineSeconds']:.2f} online_s={m['onlineSeconds']:.2f} online_upserts={m['online']} "
                  f"online_upserts_per_s={m['online'] / m['onlineSeconds']:.0f} files={m['files']} memory_limit={limit} "
                  f"peak_rss_mb={m['peak_rss_mb']:.0f}")

        spine = spine_file(work, args.spine, args.entities)
        ours = run_json([sys.executable, "-c", VPT_SCRIPT, str(work / "offline"), str(spine), str(work / "vpt-out.parquet")], 3600)
        print(f"benchmark=historical engine=vpt spine_rows={ours['rows']} feature_rows={args.rows} seconds={ours['seconds']:.2f} "
              f"non_null={ours['non_null']} peak_rss_mb={ours['peak_rss_mb']:.0f}")
        if args.feast:
            feast_bin = pathlib.Path(args.feast)
            repo = feast_repo(work, source, feast_bin)
            theirs = run_json([str(feast_bin / "python"), "-c", FEAST_SCRIPT, str(repo), str(spine), str(work / "feast-out.parquet")],
                              args.feast_timeout)
            print(f"benchmark=historical engine=feast spine_rows={theirs['rows']} feature_rows={args.rows} seconds={theirs['seconds']:.2f} "
                  f"non_null={theirs['non_null']} peak_rss_mb={theirs['peak_rss_mb']:.0f}")
            con = duckdb.connect()
            differ = con.execute(f"""
                SELECT COUNT(*) FROM (SELECT user_id, timestamp, amount, row_number() OVER (PARTITION BY user_id, timestamp ORDER BY amount) r
                                      FROM '{work / "vpt-out.parquet"}') a
                FULL JOIN (SELECT user_id, timestamp, amount, row_number() OVER (PARTITION BY user_id, timestamp ORDER BY amount) r
                           FROM '{work / "feast-out.parquet"}') b
                USING (user_id, timestamp, r)
                WHERE a.amount IS DISTINCT FROM b.amount""").fetchone()[0]
            print(f"check=historical rows_differing_from_feast={differ}")
            print(f"ratio=historical feast_seconds_over_vpt_seconds={theirs['seconds'] / ours['seconds']:.1f}x")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
