"""Rift: run one batch feature view over one time window.

The runner reads the view's batch source (Parquet or CSV, a file or a folder of them, in the
customer account), applies the view's SQL transformation (DuckDB; the source is the relation
``source``), keeps the rows whose timestamp falls in the window [start, end), and then:

- writes them as one Parquet file per window to the offline store
  (``batch/WORKSPACE/VIEW/START_END.parquet``), through a temporary file and a rename, so a re-run
  replaces the window and never duplicates rows;
- upserts each entity's latest row into the online store (the tenant's SQLite file), encoded with
  the shared record codec, where a newer event time wins and a late event never overwrites a newer
  one, exactly as the feature server's own writes do.

Residency: the job refuses a source or a sink whose region is not an allowed region.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import sqlite3
import time
import uuid

import duckdb

from .codec import Value, encode_entity_key, encode_value

SQL_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}


class RiftError(ValueError):
    """A job that must not run; the message names the field and the rule."""


def _micros(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise RiftError(f"window: '{text}' needs a time zone (use Z for UTC)")
    return int(moment.timestamp() * 1_000_000)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source_relation(source: dict) -> str:
    path = pathlib.Path(source["path"])
    fmt = source.get("format", "parquet")
    if fmt not in ("parquet", "csv"):
        raise RiftError(f"source.format: '{fmt}' must be parquet or csv")
    if path.is_dir():
        pattern = str(path / "**" / f"*.{fmt}")
    elif path.exists():
        pattern = str(path)
    else:
        raise RiftError(f"source.path: '{path}' does not exist")
    reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
    return f"{reader}({_literal(pattern)})"


def _check_residency(job: dict) -> None:
    allowed = set(job["allowedRegions"])
    for what, region in (("source", job["source"]["region"]), ("offlineStore", job["offlineStore"]["region"]),
                         ("onlineStore", job["onlineStore"]["region"])):
        if region not in allowed:
            raise RiftError(f"{what}.region: '{region}' is outside allowedRegions {sorted(allowed)}; the job did not run")


def job_for(config: dict, repo: dict, workspace: str, view_name: str, start: str, end: str) -> dict:
    """The job of one window of a batch feature view, from the tenant's runtime config and the
    workspace's repository (the source path is relative to the tenant's offline store)."""
    views = {v["name"]: v for v in repo.get("batchFeatureViews", [])}
    if view_name not in views:
        raise RiftError(f"view: '{view_name}' is not a batch feature view of workspace '{workspace}'")
    view = views[view_name]
    source = next(s for s in repo.get("batchSources", []) if s["name"] == view["source"])
    keys = {e["name"]: e["joinKeys"] for e in repo.get("entities", [])}
    offline = config["offlineStore"]
    return {
        "tenant": config["tenant"], "workspace": workspace, "allowedRegions": config["allowedRegions"],
        "view": {**view, "joinKeys": [k for e in view["entities"] for k in keys[e]]},
        "source": {"name": source["name"], "path": str(pathlib.Path(offline["location"]) / source["path"]), "format": source["format"],
                   "region": offline["region"]},
        "offlineStore": {"location": offline["location"], "region": offline["region"]},
        "onlineStore": {"kind": config["onlineStore"]["kind"], "location": config["onlineStore"]["location"], "region": config["onlineStore"]["region"]},
        "window": {"start": start, "end": end},
    }


def run_window(job: dict, now_micros: int | None = None) -> dict:
    """Runs the job; returns rows written offline, entities upserted online and the output file."""
    _check_residency(job)
    view, workspace = job["view"], job["workspace"]
    start, end = _micros(job["window"]["start"]), _micros(job["window"]["end"])
    if end <= start:
        raise RiftError("window: end must be after start")
    keys = [k["name"] for k in view["joinKeys"]]
    features = [(f["name"], f["type"]) for f in view["features"]]
    ts = view.get("timestampField", "ts")
    write_micros = now_micros or int(time.time() * 1_000_000)

    con = duckdb.connect()
    con.execute(f"CREATE TEMP VIEW source AS SELECT * FROM {_source_relation(job['source'])}")
    casts = ", ".join([f"CAST({_quote(k)} AS VARCHAR) AS {_quote(k)}" for k in keys]
                      + [f"CAST({_quote(n)} AS {SQL_TYPES[t]}) AS {_quote(n)}" for n, t in features])
    con.execute(
        f"""CREATE TEMP TABLE result AS
            SELECT {casts}, epoch_us(CAST({_quote(ts)} AS TIMESTAMPTZ)) AS _event_time_micros
            FROM ({view['sql']}) transformed
            WHERE epoch_us(CAST({_quote(ts)} AS TIMESTAMPTZ)) >= {start} AND epoch_us(CAST({_quote(ts)} AS TIMESTAMPTZ)) < {end}""")
    rows = con.execute("SELECT COUNT(*) FROM result").fetchone()[0]

    output = None
    if view.get("offline", True):
        folder = pathlib.Path(job["offlineStore"]["location"]) / "batch" / workspace / view["name"]
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        output = folder / f"{start}_{end}.parquet"
        temporary = folder / f".{output.name}.{uuid.uuid4().hex}.tmp"
        con.execute(f"COPY (SELECT *, {write_micros}::BIGINT AS _write_time_micros FROM result ORDER BY _event_time_micros) "
                    f"TO {_literal(str(temporary))} (FORMAT PARQUET)")
        os.chmod(temporary, 0o600)
        os.replace(temporary, output)  # atomic: readers see the old window or the new one

    upserted = 0
    if view.get("online", True):
        latest = con.execute(
            f"""SELECT * FROM result QUALIFY row_number() OVER (
                    PARTITION BY {', '.join(_quote(k) for k in keys)} ORDER BY _event_time_micros DESC) = 1""").fetchall()
        columns = [d[0] for d in con.description]
        upserted = _upsert_online(job, workspace, view, keys, features, columns, latest, write_micros)
    con.close()
    return {"rows": rows, "online": upserted, "file": str(output) if output else None}


def _upsert_online(job, workspace, view, keys, features, columns, rows, write_micros) -> int:
    store = job["onlineStore"]
    if store["kind"] != "sqlite":
        raise RiftError(f"onlineStore.kind: '{store['kind']}' is not supported by this runner yet (sqlite)")
    key_types = {k["name"]: k["type"] for k in view["joinKeys"]}
    connection = sqlite3.connect(store["location"], timeout=10)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            """CREATE TABLE IF NOT EXISTS online_record (
                   workspace TEXT NOT NULL, feature_view TEXT NOT NULL, entity_key BLOB NOT NULL,
                   value BLOB NOT NULL, event_time INTEGER NOT NULL, write_time INTEGER NOT NULL,
                   PRIMARY KEY (workspace, feature_view, entity_key)) WITHOUT ROWID""")
        changed = 0
        with connection:
            for row in rows:
                record = dict(zip(columns, row))
                entity = [Value("int64", int(record[k])) if key_types[k] == "int64" else Value("string", str(record[k])) for k in keys]
                values = [(name, Value("null") if record[name] is None else Value(kind, record[name])) for name, kind in features]
                event = int(record["_event_time_micros"])
                cursor = connection.execute(
                    """INSERT INTO online_record (workspace, feature_view, entity_key, value, event_time, write_time)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT (workspace, feature_view, entity_key) DO UPDATE SET
                           value = excluded.value, event_time = excluded.event_time, write_time = excluded.write_time
                       WHERE excluded.event_time > online_record.event_time
                          OR (excluded.event_time = online_record.event_time AND excluded.write_time > online_record.write_time)""",
                    (workspace, view["name"], encode_entity_key(entity), encode_value(values, event, write_micros), event, write_micros))
                changed += cursor.rowcount
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(store["location"] + suffix):
                os.chmod(store["location"] + suffix, 0o600)
        return changed
    finally:
        connection.close()
