"""The Rift runner on real Parquet and CSV files: window boundaries, a re-run that replaces its
window instead of duplicating it, the online store's newest-event-wins rule (shared with the
feature server, read back through the shared codec), and residency refusals."""

import os
import sqlite3

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vpt_sdk import decode_entity_key, decode_value
from vpt_sdk.rift import RiftError, run_window

VIEW = {
    "name": "user_spend", "joinKeys": [{"name": "user_id", "type": "int64"}],
    "features": [{"name": "total", "type": "float64"}, {"name": "orders", "type": "int64"}],
    "timestampField": "day", "online": True, "offline": True,
    "sql": "SELECT user_id, date_trunc('hour', ts) AS day, SUM(amount) AS total, COUNT(*) AS orders FROM source GROUP BY 1, 2",
}


def job(tmp_path, start, end, source_path, fmt="parquet", regions=("eu-west-1",), schedule=3600, view=None):
    return {
        "schedule": {"seconds": schedule, "anchor": "2026-11-01T00:00:00Z"},
        "tenant": "acme-eu", "workspace": "prod", "view": view or VIEW, "allowedRegions": list(regions),
        "source": {"name": "orders", "path": str(source_path), "format": fmt, "region": "eu-west-1"},
        "offlineStore": {"location": str(tmp_path / "offline"), "region": "eu-west-1"},
        "onlineStore": {"kind": "sqlite", "location": str(tmp_path / "online.sqlite"), "region": "eu-west-1"},
        "window": {"start": start, "end": end},
    }


def orders(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    table = pa.table({
        "user_id": [1, 1, 1, 2, 2, 3],
        "amount": [10.0, 5.0, 7.0, 3.0, 4.0, 100.0],
        "ts": pd.to_datetime(["2026-11-01T10:05Z", "2026-11-01T10:40Z", "2026-11-01T11:10Z", "2026-11-01T10:15Z",
                              "2026-11-01T12:00Z", "2026-11-02T00:00Z"], utc=True),
    })
    pq.write_table(table.slice(0, 3), folder / "part-0.parquet")
    pq.write_table(table.slice(3), folder / "part-1.parquet")
    return folder


def online(tmp_path):
    with sqlite3.connect(tmp_path / "online.sqlite") as db:
        rows = db.execute("SELECT entity_key, value FROM online_record WHERE workspace = 'prod' AND feature_view = 'user_spend'").fetchall()
    out = {}
    for key, value in rows:
        features, event, _ = decode_value(value)
        out[decode_entity_key(key)[0].value] = ({n: v.value for n, v in features}, event)
    return out


def test_window_offline_file_and_online_upsert(tmp_path):
    source = orders(tmp_path)
    result = run_window(job(tmp_path, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z", source))
    # Hours 10 and 11 only: user 1 at 10h (15.0, 2 orders) and 11h (7.0), user 2 at 10h; 12h is outside.
    assert result["rows"] == 3 and result["online"] == 2 and result["files"] == 2
    files = period_files(tmp_path)
    # One file per hourly period, named by its bounds in µs, in the day's partition.
    assert [f.parent.name for f in files] == ["date=2026-11-01"] * 2
    assert [f.name for f in files] == [f"{us('2026-11-01T10:00Z')}_{us('2026-11-01T11:00Z')}.parquet",
                                    f"{us('2026-11-01T11:00Z')}_{us('2026-11-01T12:00Z')}.parquet"]
    written = pq.read_table(files).to_pandas().sort_values(["user_id", "_event_time_micros"])
    assert written["total"].tolist() == [15.0, 7.0, 3.0] and written["orders"].tolist() == [2, 1, 1]
    assert all(oct(os.stat(f).st_mode & 0o777) == "0o600" for f in files)
    values = online(tmp_path)
    assert values[1][0] == {"total": 7.0, "orders": 1}  # the latest hour of user 1
    assert values[2][0] == {"total": 3.0, "orders": 1}

    # A re-run replaces its window: same files, same rows, nothing duplicated.
    run_window(job(tmp_path, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z", source))
    assert period_files(tmp_path) == files
    assert {k: v[0] for k, v in online(tmp_path).items()} == {k: v[0] for k, v in values.items()}  # same event, newer write: same values
    assert pq.read_table(files).num_rows == 3
    assert not [p for p in (tmp_path / "offline/batch/prod/user_spend").iterdir() if p.name.startswith(".")]

    # A later window moves user 2 on; an earlier one never overwrites newer online values.
    run_window(job(tmp_path, "2026-11-01T12:00:00Z", "2026-11-01T13:00:00Z", source))
    assert online(tmp_path)[2][0] == {"total": 4.0, "orders": 1}
    run_window(job(tmp_path, "2026-11-01T09:00:00Z", "2026-11-01T11:00:00Z", source))
    assert online(tmp_path)[1][0] == {"total": 7.0, "orders": 1}
    assert len(period_files(tmp_path)) == 3


def test_rerun_removes_periods_that_became_empty_and_a_former_schedules_files(tmp_path):
    source = orders(tmp_path)
    run_window(job(tmp_path, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", source))
    assert len(period_files(tmp_path)) == 3  # hours 10, 11 and 12 have rows
    # The schedule became daily: one file for the day replaces the hourly ones, rows are not doubled.
    result = run_window(job(tmp_path, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", source, schedule=86400))
    files = period_files(tmp_path)
    assert [f.name for f in files] == [f"{us('2026-11-01T00:00Z')}_{us('2026-11-02T00:00Z')}.parquet"] and pq.read_table(files).num_rows == result["rows"] == 4
    # The source lost hour 12's rows: re-running that day leaves no stale rows behind.
    table = pq.read_table(source / "part-1.parquet").slice(0, 1)
    pq.write_table(table, source / "part-1.parquet")
    assert run_window(job(tmp_path, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", source, schedule=86400))["rows"] == 3
    assert pq.read_table(period_files(tmp_path)).num_rows == 3


def test_window_must_be_whole_periods(tmp_path):
    source = orders(tmp_path)
    with pytest.raises(RiftError, match="not whole periods of 3600 s"):
        run_window(job(tmp_path, "2026-11-01T10:30:00Z", "2026-11-01T12:00:00Z", source))


def us(text):
    return int(pd.Timestamp(text).value // 1000)


def period_files(tmp_path):
    folder = tmp_path / "offline/batch/prod/user_spend"
    return sorted((p for p in folder.rglob("*.parquet") if not any(x.startswith(".") for x in p.relative_to(folder).parts)),
                  key=lambda p: p.name)


def test_csv_source(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("user_id,amount,ts\n5,1.5,2026-11-01T10:00:00Z\n5,2.5,2026-11-01T10:30:00Z\n")
    result = run_window(job(tmp_path, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", path, fmt="csv"))
    assert result["rows"] == 1 and online(tmp_path)[5][0] == {"total": 4.0, "orders": 2}


def test_residency_and_bad_jobs_are_refused_before_anything_is_written(tmp_path):
    source = orders(tmp_path)
    bad = job(tmp_path, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z", source, regions=("eu-central-1",))
    with pytest.raises(RiftError, match="source.region: 'eu-west-1' is outside allowedRegions"):
        run_window(bad)
    with pytest.raises(RiftError, match="end must be after start"):
        run_window(job(tmp_path, "2026-11-01T12:00:00Z", "2026-11-01T10:00:00Z", source))
    with pytest.raises(RiftError, match="source.path"):
        run_window(job(tmp_path, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z", tmp_path / "missing"))
    assert not (tmp_path / "offline").exists() and not (tmp_path / "online.sqlite").exists()
