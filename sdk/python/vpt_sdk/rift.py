"""Rift: run one batch feature view over one time window.

The runner reads the view's batch source (Parquet or CSV, a file or a folder of them, in the
customer account), applies the view's SQL transformation (DuckDB; the source is the relation
``source``) and, when the view declares them, its windowed aggregations (see ``aggregation``). Then:

- the rows of each schedule period [P, P + schedule) in the window go to one Parquet file,
  ``batch/WORKSPACE/VIEW/date=YYYY-MM-DD/P_END.parquet`` (µs since the epoch). DuckDB streams the
  result into a hidden staging folder; each file is renamed into place, and files of the window's
  periods that this run did not produce (periods now empty, a former schedule's files) are removed.
  A re-run therefore replaces its window and never duplicates rows;
- each entity's newest row is upserted into the online store (SQLite or Redis) in chunks, in
  join-key order, with the shared record codec (``codec_batch``: a whole Arrow batch at once) and
  the feature server's rule: a newer event time wins, a late event never overwrites a newer one.
  Upserts are idempotent, so a killed runner can simply run again.

Nothing is loaded whole: DuckDB runs with a memory limit and spills to a folder inside the offline
store (the customer's region), and online rows are fetched in chunks.

Residency: the job refuses a source, sink or compute region outside the allowed regions. In a
tenant, ``vpt-runtime rift-run`` has already had the tenant's session authorized for the source and
both sinks before this module runs; it runs this module as ``python -m vpt_sdk.rift``.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import pathlib
import re
import shutil
import sys
import time
import uuid

import duckdb

from .aggregation import SQL_TYPES, aggregation_sql, duration_seconds, served_features
from .codec_batch import encode_entity_keys, encode_values
from .sinks import SinkError, open_sink

CHUNK_ROWS = 50_000
_PERIOD_FILE = re.compile(r"^(-?\d+)_(-?\d+)(\.\d+)?\.parquet$")


class RiftError(ValueError):
    """A job that must not run; the message names the field and the rule."""


def _micros(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise RiftError(f"window: '{text}' needs a time zone (use Z for UTC)")
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


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
    places = [("source", job["source"]["region"]), ("offlineStore", job["offlineStore"]["region"]),
              ("onlineStore", job["onlineStore"]["region"])]
    if job.get("computeRegion"):
        places.append(("computeRegion", job["computeRegion"]))
    for what, region in places:
        if region not in allowed:
            raise RiftError(f"{what}.region: '{region}' is outside allowedRegions {sorted(allowed)}; the job did not run")


def _hold(point: str, job: dict, marker: str | None) -> None:
    """Test hook: when VPT_RIFT_HOLD names a file that holds ``POINT@ATTEMPT``, the runner stops
    there for two minutes (writing its pid to the marker file), so a test can kill it at that point.
    The file arms and disarms the hook while the tenant runs."""
    path = os.environ.get("VPT_RIFT_HOLD")
    if not path or not os.path.exists(path):
        return
    if pathlib.Path(path).read_text().strip() == f"{point}@{job.get('attempt', 1)}":
        if marker:
            pathlib.Path(marker).write_text(f"{os.getpid()}\n")
        time.sleep(120)


def job_for(config: dict, repo: dict, workspace: str, view_name: str, start: str, end: str) -> dict:
    """The job of one window of a batch feature view, from the tenant's runtime config and the
    workspace's repository (the source path is relative to the tenant's offline store). The same
    document ``vpt-runtime rift-run`` builds, for running a window by hand."""
    views = {v["name"]: v for v in repo.get("batchFeatureViews", [])}
    if view_name not in views:
        raise RiftError(f"view: '{view_name}' is not a batch feature view of workspace '{workspace}'")
    view = views[view_name]
    source = next(s for s in repo.get("batchSources", []) if s["name"] == view["source"])
    keys = {e["name"]: e["joinKeys"] for e in repo.get("entities", [])}
    offline, online = config["offlineStore"], config["onlineStore"]
    return {
        "tenant": config["tenant"], "workspace": workspace, "jobId": f"manual-{uuid.uuid4().hex[:8]}", "attempt": 1,
        "allowedRegions": config["allowedRegions"], "computeRegion": config["dataPlane"]["rift"]["region"],
        "view": {**view, "joinKeys": [k for e in view["entities"] for k in keys[e]]},
        "source": {"name": source["name"], "path": str(pathlib.Path(offline["location"]) / source["path"]),
                   "format": source["format"], "region": offline["region"]},
        "offlineStore": {"kind": offline["kind"], "location": offline["location"], "region": offline["region"]},
        "onlineStore": {"kind": online["kind"], "location": online["location"], "region": online["region"],
                        "namespace": online.get("namespace")},
        "window": {"start": start, "end": end},
        "schedule": {"seconds": duration_seconds(view["batchSchedule"]), "anchor": view["featureStartTime"]},
    }


def _periods(job: dict, start: int, end: int) -> tuple[int, int]:
    """(schedule µs, anchor µs); the window must be whole periods."""
    schedule = job.get("schedule")
    if not schedule:
        return end - start, start
    length, anchor = int(schedule["seconds"]) * 1_000_000, _micros(schedule["anchor"])
    if length <= 0:
        raise RiftError("schedule.seconds: must be positive")
    if (start - anchor) % length or (end - start) % length or start < anchor:
        raise RiftError(f"window: [{job['window']['start']}, {job['window']['end']}) is not whole periods of "
                        f"{schedule['seconds']} s from {schedule['anchor']}")
    return length, anchor


def _date_folder(period_start: int) -> str:
    day = datetime.datetime.fromtimestamp(period_start / 1_000_000, tz=datetime.timezone.utc).date()
    return f"date={day.isoformat()}"


def run_window(job: dict, now_micros: int | None = None, marker: str | None = None) -> dict:
    """Runs the job; returns rows written offline, entities upserted online and files written."""
    _check_residency(job)
    view, workspace = job["view"], job["workspace"]
    start, end = _micros(job["window"]["start"]), _micros(job["window"]["end"])
    if end <= start:
        raise RiftError("window: end must be after start")
    schedule, anchor = _periods(job, start, end)
    keys = [k["name"] for k in view["joinKeys"]]
    key_types = {k["name"]: k["type"] for k in view["joinKeys"]}
    features = served_features(view)
    ts = view.get("timestampField", "ts")
    write_micros = now_micros or int(time.time() * 1_000_000)

    settings = {"memory_limit": job.get("memoryLimit", "1GB")}
    if job.get("tempDirectory"):
        pathlib.Path(job["tempDirectory"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        settings["temp_directory"] = job["tempDirectory"]
    con = duckdb.connect(config=settings)
    try:
        con.execute(f"CREATE TEMP VIEW source AS SELECT * FROM {_source_relation(job['source'])}")
        key_casts = [f"CAST({_quote(k)} AS VARCHAR) AS {_quote(k)}" for k in keys]
        event = f"epoch_us(CAST({_quote(ts)} AS TIMESTAMPTZ))"
        if view.get("aggregations"):
            columns = [f"CAST({_quote(f['name'])} AS {SQL_TYPES[f['type']]}) AS {_quote(f['name'])}" for f in view["features"]]
            con.execute(f"CREATE TEMP VIEW base AS SELECT {', '.join(key_casts + columns)}, {event} AS _t FROM ({view['sql']}) transformed")
            con.execute(f"CREATE TEMP VIEW result AS {aggregation_sql(view, keys, 'base', start, end, schedule)}")
        else:
            columns = [f"CAST({_quote(n)} AS {SQL_TYPES[t]}) AS {_quote(n)}" for n, t in features]
            con.execute(
                f"""CREATE TEMP VIEW result AS SELECT * FROM (
                        SELECT {', '.join(key_casts + columns)}, {event} AS _event_time_micros FROM ({view['sql']}) transformed)
                    WHERE _event_time_micros >= {start} AND _event_time_micros < {end}""")

        rows, files, written = 0, 0, []
        began = time.time()
        if view.get("offline", True):
            rows, written = _write_offline(con, job, start, end, schedule, anchor, write_micros)
            files = len(written)
        offline_seconds = time.time() - began
        _hold("after-offline", job, marker)
        began = time.time()

        upserted = 0
        if view.get("online", True):
            relation = f"read_parquet([{', '.join(_literal(str(p)) for p in written)}])" if written else (
                "result" if not view.get("offline", True) else None)
            if relation:
                upserted = _upsert_online(con, job, relation, keys, key_types, features, write_micros, marker)
            if not view.get("offline", True):
                rows = con.execute("SELECT COUNT(*) FROM result").fetchone()[0]
        return {"rows": int(rows), "online": int(upserted), "files": files,
                "offlineSeconds": round(offline_seconds, 3), "onlineSeconds": round(time.time() - began, 3)}
    finally:
        con.close()
        if job.get("tempDirectory"):
            shutil.rmtree(job["tempDirectory"], ignore_errors=True)


def _write_offline(con, job, start, end, schedule, anchor, write_micros) -> tuple[int, list[pathlib.Path]]:
    view, workspace = job["view"], job["workspace"]
    folder = pathlib.Path(job["offlineStore"]["location"]) / "batch" / workspace / view["name"]
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A staging folder per window: a dead run of the same window leaves one behind, removed here.
    for stale in folder.glob(f".staging-{start}_{end}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = folder / f".staging-{start}_{end}-{uuid.uuid4().hex}"
    period = f"({anchor} + (_event_time_micros - {anchor}) // {schedule} * {schedule})::BIGINT"
    copied = con.execute(
        f"""COPY (SELECT *, {write_micros}::BIGINT AS _write_time_micros, {period} AS _period
                  FROM result ORDER BY _event_time_micros)
            TO {_literal(str(staging))} (FORMAT PARQUET, PARTITION_BY (_period))""").fetchone()
    rows = int(copied[0]) if copied else 0
    placed: list[pathlib.Path] = []
    for part in sorted(staging.glob("_period=*")) if staging.exists() else []:
        p = int(part.name.split("=", 1)[1])
        target_folder = folder / _date_folder(p)
        target_folder.mkdir(exist_ok=True, mode=0o700)
        staged = sorted(part.glob("*.parquet"))
        for i, file in enumerate(staged):
            name = f"{p}_{p + schedule}.parquet" if len(staged) == 1 else f"{p}_{p + schedule}.{i}.parquet"
            os.chmod(file, 0o600)
            os.replace(file, target_folder / name)  # atomic: readers see the old period or the new one
            placed.append(target_folder / name)
    shutil.rmtree(staging, ignore_errors=True)
    # Files inside this window that this run did not write: periods that are empty now, extra parts
    # of an earlier run, or a former schedule's periods (a backfill spans whole days, so it covers
    # them). A file reaching outside the window holds rows this run did not recompute: it stays.
    keep = {p.resolve() for p in placed}
    for existing in folder.rglob("*.parquet"):
        match = _PERIOD_FILE.match(existing.name)
        if not match or any(part.startswith(".") for part in existing.relative_to(folder).parts):
            continue
        a, b = int(match.group(1)), int(match.group(2))
        if start <= a and b <= end and existing.resolve() not in keep:
            existing.unlink()
    return rows, placed


def _upsert_online(con, job, relation, keys, key_types, features, write_micros, marker) -> int:
    view, workspace = job["view"], job["workspace"]
    chunk = int(os.environ.get("VPT_RIFT_CHUNK_ROWS", CHUNK_ROWS))
    names = ", ".join(_quote(k) for k in keys)
    # In join-key order: the store's B-tree then takes the upserts almost in sequence. In the order
    # the window happens to produce, a million upserts into SQLite took 12 s instead of 3.5 s.
    newest = con.sql(
        f"""SELECT * FROM {relation} QUALIFY row_number() OVER (
                PARTITION BY {names} ORDER BY _event_time_micros DESC) = 1
            ORDER BY {names}""")
    # Arrow batches of `chunk` rows, streamed (DuckDB 2 names it `to_arrow_reader`, 1.x `fetch_arrow_reader`).
    reader = newest.to_arrow_reader(chunk) if hasattr(newest, "to_arrow_reader") else newest.fetch_arrow_reader(chunk)
    sink = open_sink(job["onlineStore"])
    changed, chunks = 0, 0
    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            events = batch.column(batch.schema.get_field_index("_event_time_micros")).to_numpy(zero_copy_only=False).astype("int64")
            records = list(zip(encode_entity_keys(batch, keys, key_types), encode_values(batch, features, events, write_micros),
                               events.tolist(), itertools.repeat(write_micros)))
            changed += sink.upsert(workspace, view["name"], records)
            chunks += 1
            if chunks == 1:
                _hold("mid-online", job, marker)
    finally:
        sink.close()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vpt_sdk.rift", description="Run one Rift job (one view, one window).")
    parser.add_argument("--job", required=True, help="the job document (JSON)")
    parser.add_argument("--result", required=True, help="where to write the result (JSON counts)")
    args = parser.parse_args(argv)
    try:
        job = json.loads(pathlib.Path(args.job).read_text())
        started = time.time()
        result = run_window(job, marker=args.result + ".hold")
        result["seconds"] = round(time.time() - started, 3)
    except (RiftError, SinkError, duckdb.Error, OSError, KeyError, ValueError) as error:
        print(f"rift: {type(error).__name__}: {error}".replace("\n", " "), file=sys.stderr)
        return 1
    temporary = args.result + ".tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(result, out)
    os.replace(temporary, args.result)
    print(f"rift: job {job.get('jobId')} wrote {result['rows']} rows in {result['files']} files, "
          f"upserted {result['online']} entities in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
