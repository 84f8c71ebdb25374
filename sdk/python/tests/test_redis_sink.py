"""The Rift runner's Redis sink against a real redis-server (infra/redis.sh): the key layout and
upsert script of the Swift store, values readable through the shared codec, newest event wins."""

import pathlib
import re
import shutil
import socket
import subprocess
import textwrap

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vpt_sdk import Value, decode_value, encode_entity_key
from vpt_sdk.rift import run_window
from vpt_sdk.sinks import REDIS_UPSERT_SCRIPT, RedisSink, SinkError

REPO = pathlib.Path(__file__).resolve().parents[3]


def test_upsert_script_is_the_swift_stores_script():
    swift = (REPO / "Runtime/Stores/RedisOnlineStore.swift").read_text()
    body = re.search(r'static let upsertScript = """\n(.*?)\n\s*"""', swift, re.S).group(1)
    assert textwrap.dedent(body) == REDIS_UPSERT_SCRIPT


@pytest.fixture
def redis_url(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (infra/install-deps.sh installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script, data = str(REPO / "infra/redis.sh"), str(tmp_path / "redis")
    subprocess.run(["bash", script, "start", str(port), data], check=True, capture_output=True, text=True)
    try:
        # The tenant's own ACL user (keys vpt:acme-eu:* only), and a second tenant's.
        url = subprocess.run(["bash", script, "user", str(port), data, "acme-eu", str(tmp_path / "acme.password")],
                             check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["bash", script, "user", str(port), data, "globex-us", str(tmp_path / "globex.password")],
                       check=True, capture_output=True, text=True)
        yield url
    finally:
        subprocess.run(["bash", script, "stop", str(port)], check=False)


def view():
    return {"name": "user_spend", "joinKeys": [{"name": "user_id", "type": "int64"}],
            "features": [{"name": "total", "type": "float64"}], "timestampField": "ts", "online": True, "offline": True,
            "sql": "SELECT user_id, amount AS total, ts FROM source"}


def job(tmp_path, url, start, end):
    return {
        "tenant": "acme-eu", "workspace": "prod", "view": view(), "allowedRegions": ["eu-west-1"],
        "source": {"name": "orders", "path": str(tmp_path / "raw.parquet"), "format": "parquet", "region": "eu-west-1"},
        "offlineStore": {"location": str(tmp_path / "offline"), "region": "eu-west-1"},
        "onlineStore": {"kind": "redis", "location": url, "region": "eu-west-1", "namespace": "vpt:acme-eu:",
                        "passwordFile": str(tmp_path / "acme.password")},
        "window": {"start": start, "end": end}, "schedule": {"seconds": 3600, "anchor": "2026-11-01T00:00:00Z"},
    }


def test_redis_sink_newest_event_wins(tmp_path, redis_url):
    pq.write_table(pa.table({
        "user_id": [1, 1, 2],
        "amount": [10.0, 20.0, 5.0],
        "ts": pd.to_datetime(["2026-11-01T10:05Z", "2026-11-01T11:30Z", "2026-11-01T10:45Z"], utc=True),
    }), tmp_path / "raw.parquet")
    assert run_window(job(tmp_path, redis_url, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z"))["online"] == 2
    sink = RedisSink(redis_url, "vpt:acme-eu:", str(tmp_path / "acme.password"))
    key = sink.key("prod", "user_spend", encode_entity_key([Value("int64", 1)]))
    assert key == b"vpt:acme-eu:prod:user_spend:" + encode_entity_key([Value("int64", 1)])
    features, event, _ = decode_value(sink._call([b"GET", key]))
    assert features == [("total", Value("float64", 20.0))] and event == int(pd.Timestamp("2026-11-01T11:30Z").value // 1000)
    # Keys written for the first time join the tenant's sample set, which audits read.
    assert sorted(sink._call([b"SRANDMEMBER", b"vpt:acme-eu:#sample", b"10"]) or []) == sorted(
        [key, sink.key("prod", "user_spend", encode_entity_key([Value("int64", 2)]))])
    # An earlier window (a late backfill) never overwrites the newer value.
    assert run_window(job(tmp_path, redis_url, "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z"))["online"] == 1  # user 2 only
    features, _, _ = decode_value(sink._call([b"GET", key]))
    assert features == [("total", Value("float64", 20.0))]
    sink.close()


def test_redis_sink_logs_in_as_the_tenant_and_reaches_only_its_keys(tmp_path, redis_url):
    password = str(tmp_path / "acme.password")
    # Without the password the server refuses every command.
    with pytest.raises(SinkError, match="NOAUTH"):
        RedisSink(redis_url, "vpt:acme-eu:")
    # Another tenant's password with this tenant's user name is refused, and the message does not
    # carry either password.
    with pytest.raises(SinkError, match="WRONGPASS") as refused:
        RedisSink(redis_url, "vpt:acme-eu:", str(tmp_path / "globex.password"))
    for path in (password, str(tmp_path / "globex.password")):
        assert pathlib.Path(path).read_text().strip() not in str(refused.value)
    sink = RedisSink(redis_url, "vpt:acme-eu:", password)
    assert sink._call([b"SET", b"vpt:acme-eu:prod:v:k", b"1"]) == b"OK"
    with pytest.raises(SinkError, match="NOPERM"):
        sink._call([b"GET", b"vpt:globex-us:prod:v:k"])
    with pytest.raises(SinkError, match="NOPERM"):
        sink._call([b"SCAN", b"0"])
    sink.close()


def test_redis_sink_refuses_a_password_file_others_can_read(tmp_path, redis_url):
    loose = tmp_path / "loose.password"
    loose.write_text((tmp_path / "acme.password").read_text())
    loose.chmod(0o644)
    with pytest.raises(SinkError, match=r"passwordFile: .*\(mode 0600\); it is 644"):
        RedisSink(redis_url, "vpt:acme-eu:", str(loose))
    with pytest.raises(SinkError, match="must not carry a password"):
        RedisSink(redis_url.replace("acme-eu@", "acme-eu:secret@"), "vpt:acme-eu:", str(tmp_path / "acme.password"))
