"""The Rift runner's Redis sink against a real redis-server (infra/redis.sh): the key layout and
upsert script of the Swift store, values readable through the shared codec, newest event wins."""

import os
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


SCRIPT = str(REPO / "infra/redis.sh")


def start_redis(data: str, *mode: str) -> int:
    """A redis-server on a free loopback port (infra/redis.sh start PORT DATA [tls]); its port."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (infra/install-deps.sh installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(["bash", SCRIPT, "start", str(port), data, *mode], check=True, capture_output=True, text=True)
    return port


@pytest.fixture
def redis_url(tmp_path):
    script, data = SCRIPT, str(tmp_path / "redis")
    port = start_redis(data)
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


@pytest.fixture
def tls_redis(tmp_path):
    """A redis-server that speaks only TLS, with a certificate for `localhost` from its own CA."""
    script, data = SCRIPT, str(tmp_path / "redis-tls")
    port = start_redis(data, "tls")
    try:
        url = subprocess.run(["bash", script, "user", str(port), data, "acme-eu", str(tmp_path / "acme.password")],
                             check=True, capture_output=True, text=True).stdout.strip()
        yield url, str(pathlib.Path(data) / "tls/ca.pem")
    finally:
        subprocess.run(["bash", script, "stop", str(port)], check=False)


def test_redis_sink_over_tls_checks_the_servers_certificate(tmp_path, tls_redis):
    url, ca = tls_redis
    assert url.startswith("rediss://acme-eu@localhost:")
    pq.write_table(pa.table({"user_id": [1], "amount": [10.0], "ts": pd.to_datetime(["2026-11-01T10:05Z"], utc=True)}),
                   tmp_path / "raw.parquet")
    spec = job(tmp_path, url, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z")
    spec["onlineStore"]["caFile"] = ca
    assert run_window(spec)["online"] == 1
    sink = RedisSink(url, "vpt:acme-eu:", str(tmp_path / "acme.password"), ca)
    features, _, _ = decode_value(sink._call([b"GET", sink.key("prod", "user_spend", encode_entity_key([Value("int64", 1)]))]))
    assert features == [("total", Value("float64", 10.0))]
    sink.close()

    password = str(tmp_path / "acme.password")
    # Without the server's CA the system's roots do not know it: the handshake fails, and says where to look.
    with pytest.raises(SinkError, match="TLS handshake with localhost:.* failed .*onlineStore.caFile"):
        RedisSink(url, "vpt:acme-eu:", password)
    # A certificate is checked against the name dialled: an IP address is refused before connecting.
    with pytest.raises(SinkError, match="not by the IP address 127.0.0.1"):
        RedisSink(url.replace("localhost", "127.0.0.1"), "vpt:acme-eu:", password, ca)
    # Plain redis:// to the TLS port gets no answer to its login, and a caFile without TLS is refused.
    with pytest.raises(SinkError, match=r"closed the connection before the login was answered .*expect TLS \(rediss://\)"):
        RedisSink(url.replace("rediss://", "redis://"), "vpt:acme-eu:", password)
    with pytest.raises(SinkError, match="caFile: is only used with a rediss://"):
        RedisSink(url.replace("rediss://", "redis://"), "vpt:acme-eu:", password, ca)
    unreadable = tmp_path / "not-a-ca.pem"
    unreadable.write_text("not a certificate\n")
    with pytest.raises(SinkError, match="caFile: .*not-a-ca.pem cannot be read as PEM"):
        RedisSink(url, "vpt:acme-eu:", password, str(unreadable))


def test_redis_sink_presents_the_tenants_client_certificate_to_a_server_that_verifies_clients(tmp_path):
    """A redis-server with `tls-auth-clients yes` (infra/redis.sh mtls): the sink writes with the
    tenant's client certificate; without one the server drops the connection; a key file others can
    read, or a certificate without its key, is refused before connecting."""
    data = str(tmp_path / "redis-mtls")
    port = start_redis(data, "mtls")
    try:
        password = str(tmp_path / "acme.password")
        url = subprocess.run(["bash", SCRIPT, "user", str(port), data, "acme-eu", password],
                             check=True, capture_output=True, text=True).stdout.strip()
        ca, cert, key = str(pathlib.Path(data) / "tls/ca.pem"), password + ".client.pem", password + ".client-key.pem"
        pq.write_table(pa.table({"user_id": [1], "amount": [10.0], "ts": pd.to_datetime(["2026-11-01T10:05Z"], utc=True)}),
                       tmp_path / "raw.parquet")
        spec = job(tmp_path, url, "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z")
        spec["onlineStore"].update(caFile=ca, clientCertFile=cert, clientKeyFile=key)
        assert run_window(spec)["online"] == 1
        sink = RedisSink(url, "vpt:acme-eu:", password, ca, cert, key)
        features, _, _ = decode_value(sink._call([b"GET", sink.key("prod", "user_spend", encode_entity_key([Value("int64", 1)]))]))
        assert features == [("total", Value("float64", 10.0))]
        sink.close()

        with pytest.raises(SinkError, match="closed the connection before the login .*onlineStore.clientCertFile"):
            RedisSink(url, "vpt:acme-eu:", password, ca)
        with pytest.raises(SinkError, match="clientCertFile and clientKeyFile go together"):
            RedisSink(url, "vpt:acme-eu:", password, ca, cert)
        os.chmod(key, 0o640)
        with pytest.raises(SinkError, match="clientKeyFile: .* must be readable by its owner only"):
            RedisSink(url, "vpt:acme-eu:", password, ca, cert, key)
    finally:
        subprocess.run(["bash", SCRIPT, "stop", str(port)], check=False)

