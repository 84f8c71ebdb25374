"""Point-in-time-correct training data from a tenant's offline store.

For each spine row and each feature view of the feature service, the value is the one with the
latest event time at or before the row's timestamp and no older than the view's TTL (event time >=
timestamp - ttl, as the feature server judges freshness); among rows with the same event time the
newest write wins. Nothing after the row's timestamp can leak in.

The offline store holds what the ingest API accepted (``ingest/WORKSPACE/SOURCE/DAY.jsonl``, one JSON
object per record with ``_event_time_micros`` and ``_write_time_micros``). DuckDB joins it with an
ASOF join, so a spine of millions of rows is one query, not a loop.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import duckdb
import pandas as pd

from .aggregation import served_features

SQL_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}


class RetrievalError(ValueError):
    """A request the repository cannot answer; the message names what is wrong."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class FeatureView:
    name: str
    join_keys: list[str]
    source: str
    features: list[tuple[str, str]]
    ttl_seconds: int
    batch: bool = False


class OfflineRetrieval:
    """Historical features of one workspace, from its feature repository (the control plane's
    ``GET /v1/workspaces/WS/repo`` document) and the offline store folder."""

    def __init__(self, repo: dict, offline_root: str | pathlib.Path, workspace: str):
        self.repo = repo
        self.root = pathlib.Path(offline_root)
        self.workspace = workspace
        keys = {e["name"]: [k["name"] for k in e["joinKeys"]] for e in repo.get("entities", [])}
        self.views = {
            v["name"]: FeatureView(
                name=v["name"], join_keys=[k for e in v["entities"] for k in keys[e]], source=v["source"],
                features=[(f["name"], f["type"]) for f in v["features"]], ttl_seconds=int(v["ttlSeconds"]))
            for v in repo.get("featureViews", [])
        }
        for v in repo.get("batchFeatureViews", []):
            self.views[v["name"]] = FeatureView(
                name=v["name"], join_keys=[k for e in v["entities"] for k in keys[e]], source=v["source"],
                features=served_features(v), ttl_seconds=int(v["ttlSeconds"]), batch=True)
        self.services = {s["name"]: s["featureViews"] for s in repo.get("featureServices", [])}

    def feature_services(self) -> list[str]:
        return sorted(self.services)

    def _events(self, con: duckdb.DuckDBPyConnection, view: FeatureView) -> str:
        """A relation of the view's events, one row per (keys, event time): the newest write."""
        if view.batch:
            # Rift's periods: one Parquet file per schedule period under date=DAY folders (a re-run
            # replaced its own files); hidden staging folders of running jobs are not data yet.
            folder = self.root / "batch" / self.workspace / view.name
            files = sorted(str(p) for p in folder.rglob("*.parquet")
                           if not any(part.startswith(".") for part in p.relative_to(folder).parts)) if folder.is_dir() else []
        else:
            folder = self.root / "ingest" / self.workspace / view.source
            files = sorted(str(p) for p in folder.glob("*.jsonl")) if folder.is_dir() else []
        keys = ", ".join(f"CAST({_quote(k)} AS VARCHAR) AS {_quote(k)}" for k in view.join_keys)
        features = ", ".join(f"TRY_CAST({_quote(n)} AS {SQL_TYPES.get(t, 'VARCHAR')}) AS {_quote(n)}" for n, t in view.features)
        name = f"events_{len(con.execute('SELECT 1').fetchall())}_{view.name}"
        if not files:
            columns = ", ".join([f"NULL::VARCHAR AS {_quote(k)}" for k in view.join_keys]
                                + ["NULL::BIGINT AS _event", "NULL::BIGINT AS _write"]
                                + [f"NULL::{SQL_TYPES.get(t, 'VARCHAR')} AS {_quote(n)}" for n, t in view.features])
            con.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT {columns} WHERE false")
            return name
        paths = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        reader = (f"read_parquet({paths}, union_by_name=true)" if view.batch
                  else f"read_json_auto({paths}, format='newline_delimited', union_by_name=true, sample_size=-1)")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {_quote(name)} AS
                SELECT {keys}, CAST(_event_time_micros AS BIGINT) AS _event, CAST(_write_time_micros AS BIGINT) AS _write, {features}
                FROM {reader}
                QUALIFY row_number() OVER (PARTITION BY {', '.join(_quote(k) for k in view.join_keys)}, _event ORDER BY _write DESC) = 1""")
        return name

    def get_historical_features(self, spine: pd.DataFrame, feature_service: str, timestamp_column: str = "timestamp") -> pd.DataFrame:
        if feature_service not in self.services:
            raise RetrievalError(f"feature_service: '{feature_service}' is not in workspace '{self.workspace}' "
                                 f"(it has {', '.join(self.feature_services()) or 'none'})")
        if timestamp_column not in spine.columns:
            raise RetrievalError(f"spine: the timestamp column '{timestamp_column}' is missing")
        views = [self.views[name] for name in self.services[feature_service]]
        for view in views:
            missing = [k for k in view.join_keys if k not in spine.columns]
            if missing:
                raise RetrievalError(f"spine: join key(s) {', '.join(missing)} of feature view '{view.name}' are missing")
        con = duckdb.connect()
        frame = spine.copy()
        frame["__row"] = range(len(frame))
        times = pd.to_datetime(frame[timestamp_column], utc=True)
        frame["__ts"] = (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
        con.register("spine_input", frame)
        result = con.execute("SELECT __row FROM spine_input ORDER BY __row").df()
        for view in views:
            events = self._events(con, view)
            keys = ", ".join(f"CAST(s.{_quote(k)} AS VARCHAR) AS {_quote(k)}" for k in view.join_keys)
            con.execute(f"CREATE OR REPLACE TEMP VIEW spine_keys AS SELECT s.__row, s.__ts, {keys} FROM spine_input s")
            on = " AND ".join(f"s.{_quote(k)} = e.{_quote(k)}" for k in view.join_keys)
            ttl = view.ttl_seconds * 1_000_000
            columns = ", ".join(
                f"CASE WHEN e._event >= s.__ts - {ttl} THEN e.{_quote(n)} END AS {_quote(view.name + '__' + n)}" for n, _ in view.features)
            joined = con.execute(
                f"""SELECT s.__row, {columns} FROM spine_keys s
                    ASOF LEFT JOIN {_quote(events)} e ON {on} AND s.__ts >= e._event
                    ORDER BY s.__row""").df()
            result = result.merge(joined, on="__row", how="left")
        con.close()
        out = spine.reset_index(drop=True).copy()
        for column in result.columns:
            if column != "__row":
                out[column] = result[column].values
        return out
