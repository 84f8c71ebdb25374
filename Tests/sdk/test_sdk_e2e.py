"""The Python SDK against a running tenant: records that arrive through the ingest API appear in
the offline log and in point-in-time training data, and online features come back through the
feature server over HTTPS (trusting only the tenant CA)."""

import datetime
import json
import os
import pathlib
import random
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest

import vpt_sdk

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("VPT_BIN_DIR", ROOT / ".build" / "debug"))


def vpt(home, *args):
    result = subprocess.run([str(BIN / "vpt"), *args, "--home", str(home)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def call(method, url, key, body, ca):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                     headers={"Authorization": f"Tecton-key {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(cafile=ca)) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def tenant():
    home = pathlib.Path(tempfile.mkdtemp(prefix="vpt-sdk-"))
    # Below the kernel's ephemeral range (32768+): no outgoing connection can hold a tenant's port.
    base = 30000 + random.randrange(0, 27) * 100
    vpt(home, "init", "--port-range", f"{base}-{base + 99}")
    vpt(home, "provision", "tenant", "acme-eu", "-f", str(ROOT / "examples" / "acme-eu.yaml"))
    config = json.loads((home / "tenants/acme-eu/config/runtime.json").read_text())
    ca = config["tls"]["caFile"]
    control = f"https://127.0.0.1:{config['controlPlane']['port']}"
    data = f"https://127.0.0.1:{config['dataPlane']['port']}"
    admin = (home / "tenants/acme-eu/secrets/admin-api-key").read_text()
    repo = {
        "entities": [{"name": "user", "joinKeys": [{"name": "user_id", "type": "int64"}]}],
        "pushSources": [{"name": "transactions", "timestampField": "ts", "schema": [
            {"name": "user_id", "type": "int64"}, {"name": "amount", "type": "float64"}, {"name": "ts", "type": "string"}]}],
        "featureViews": [{"name": "user_txn", "entities": ["user"], "source": "transactions",
                          "features": [{"name": "amount", "type": "float64"}], "ttlSeconds": 3600, "online": True, "offline": True}],
        "featureServices": [{"name": "fraud", "featureViews": ["user_txn"]}],
    }
    call("POST", f"{control}/v1/workspaces/prod/apply", admin, repo, ca)
    call("PUT", f"{control}/v1/workspaces/prod/role-bindings/fraud-scorer", admin, {"role": "owner"}, ca)
    key = call("POST", f"{control}/v1/service-accounts/fraud-scorer/api-keys", admin, None, ca)["key"]
    time.sleep(1.2)  # the data plane learns the new key within a second
    yield home, data, key, ca
    subprocess.run([str(BIN / "vpt"), "tenant", "stop", "acme-eu", "--home", str(home)], capture_output=True, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


def test_ingested_records_reach_training_data_and_online_features(tenant):
    home, data, key, ca = tenant
    t0 = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.timezone.utc)
    records = [{"record": {"user_id": "1", "amount": 10.0, "ts": t0.isoformat().replace("+00:00", "Z")}},
               {"record": {"user_id": "1", "amount": 20.0, "ts": (t0 + datetime.timedelta(minutes=30)).isoformat().replace("+00:00", "Z")}},
               {"record": {"user_id": "2", "amount": 5.0, "ts": t0.isoformat().replace("+00:00", "Z")}}]
    call("POST", f"{data}/ingest", key, {"workspace_name": "prod", "records": {"transactions": records}}, ca)
    now = datetime.datetime.now(datetime.timezone.utc)
    call("POST", f"{data}/ingest", key, {"workspace_name": "prod", "records": {"transactions": [
        {"record": {"user_id": "3", "amount": 7.5, "ts": now.isoformat().replace("+00:00", "Z")}}]}}, ca)

    client = vpt_sdk.Client.from_fleet(home, "acme-eu", key)
    workspace = client.workspace("prod")
    assert workspace.list_feature_services() == ["fraud"]

    spine = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 2, 9],
        "timestamp": [t0 - datetime.timedelta(seconds=1), t0 + datetime.timedelta(minutes=10), t0 + datetime.timedelta(minutes=45),
                      t0 + datetime.timedelta(minutes=59), t0 + datetime.timedelta(minutes=61), t0],
    })
    training = workspace.get_historical_features(spine, "fraud")
    amounts = training["user_txn__amount"].tolist()
    assert pd.isna(amounts[0])          # before the first event
    assert amounts[1:4] == [10.0, 20.0, 5.0]
    assert pd.isna(amounts[4])          # past the one-hour TTL
    assert pd.isna(amounts[5])          # an entity with no events

    online = workspace.get_online_features("fraud", {"user_id": 3})
    assert online == {"user_txn.amount": 7.5}
    with pytest.raises(vpt_sdk.ClientError) as denied:
        vpt_sdk.Client.from_fleet(home, "acme-eu", "vpt_acme-eu_000000000000_wrong").workspace("prod").get_online_features("fraud", {"user_id": 3})
    assert denied.value.status == 401


def test_online_reads_wait_out_the_service_accounts_rate_limit(tenant):
    """The tenant admin gives fraud-scorer a limit of one lookup a second: a client that will not
    wait gets ClientError 429 with the server's Retry-After; the default client waits and retries,
    so every read succeeds, later."""
    home, data, key, ca = tenant
    config = json.loads((home / "tenants/acme-eu/config/runtime.json").read_text())
    admin = (home / "tenants/acme-eu/secrets/admin-api-key").read_text()
    limit = f"https://127.0.0.1:{config['controlPlane']['port']}/v1/service-accounts/fraud-scorer/rate-limit"
    call("PUT", limit, admin, {"requestsPerSecond": 1, "burst": 1}, ca)
    try:
        time.sleep(1.2)  # the data plane applies it with its next snapshot
        impatient = vpt_sdk.Client.from_fleet(home, "acme-eu", key, max_rate_limit_wait=0).workspace("prod")
        impatient.get_online_features("fraud", {"user_id": 3})
        with pytest.raises(vpt_sdk.ClientError) as limited:
            impatient.get_online_features("fraud", {"user_id": 3})
        assert limited.value.status == 429 and limited.value.retry_after == 1
        assert "over its rate limit of 1 lookups per second" in str(limited.value)
        patient = vpt_sdk.Client.from_fleet(home, "acme-eu", key).workspace("prod")
        started = time.monotonic()
        for _ in range(3):
            assert list(patient.get_online_features("fraud", {"user_id": 3})) == ["user_txn.amount"]
        # Three lookups from an empty bucket at one a second: at least two waits of a second each.
        assert time.monotonic() - started >= 1.5
    finally:
        call("DELETE", limit, admin, None, ca)
        time.sleep(1.2)

def test_batch_view_window_is_served_online_and_read_back_as_training_data(tenant):
    """A batch source and batch feature view applied through the control plane; the Rift runner
    materializes a window (Python, shared codec) into the tenant's own stores; the Swift feature
    server serves it and the SDK reads it back point-in-time correct."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from vpt_sdk.rift import job_for, run_window

    home, data, key, ca = tenant
    config = json.loads((home / "tenants/acme-eu/config/runtime.json").read_text())
    admin = (home / "tenants/acme-eu/secrets/admin-api-key").read_text()
    control = f"https://127.0.0.1:{config['controlPlane']['port']}"
    raw = pathlib.Path(config["offlineStore"]["location"]) / "raw" / "orders"
    raw.mkdir(parents=True)
    hour = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=1)
    pq.write_table(pa.table({"user_id": [77, 77, 78], "amount": [40.0, 2.5, 1.25],
                             "ts": [hour + datetime.timedelta(minutes=5), hour + datetime.timedelta(minutes=50), hour + datetime.timedelta(minutes=7)]}),
                   raw / "part-0.parquet")
    workspace = vpt_sdk.Client.from_fleet(home, "acme-eu", key).workspace("prod")
    repo = workspace.repo()
    repo["batchSources"] = [{"name": "orders", "path": "raw/orders", "format": "parquet", "timestampField": "ts",
                             "schema": [{"name": "user_id", "type": "int64"}, {"name": "amount", "type": "float64"}, {"name": "ts", "type": "string"}]}]
    repo["batchFeatureViews"] = [{"name": "spend", "entities": ["user"], "source": "orders", "timestampField": "hour",
                                  "sql": "SELECT user_id, date_trunc('hour', ts) AS hour, SUM(amount) AS total FROM source GROUP BY 1, 2",
                                  "features": [{"name": "total", "type": "float64"}], "ttlSeconds": 86400, "online": True, "offline": True,
                                  "batchSchedule": "1h", "featureStartTime": "2026-01-01T00:00:00Z"}]
    repo["featureServices"].append({"name": "spending", "featureViews": ["spend"]})
    changes = call("POST", f"{control}/v1/workspaces/prod/apply", admin, repo, ca)
    assert {(c["kind"], c["name"]) for c in changes["changes"] if c["action"] == "create"} >= {("batch_source", "orders"), ("batch_feature_view", "spend")}
    bad = dict(repo, batchSources=[dict(repo["batchSources"][0], path="../globex-us/orders")])
    with pytest.raises(urllib.error.HTTPError) as refused:
        call("POST", f"{control}/v1/workspaces/prod/apply", admin, bad, ca)
    assert refused.value.code == 400
    time.sleep(1.2)  # the data plane picks up the new repository

    fresh = vpt_sdk.Client.from_fleet(home, "acme-eu", key).workspace("prod")
    job = job_for(config, fresh.repo(), "prod", "spend", hour.isoformat(), (hour + datetime.timedelta(hours=1)).isoformat())
    result = run_window(job)
    assert result["rows"] == 2 and result["online"] == 2
    assert fresh.get_online_features("spending", {"user_id": 77}) == {"spend.total": 42.5}
    assert fresh.get_online_features("spending", {"user_id": 78}) == {"spend.total": 1.25}
    spine = pd.DataFrame({"user_id": [77, 77], "timestamp": [hour - datetime.timedelta(minutes=1), hour + datetime.timedelta(minutes=30)]})
    training = fresh.get_historical_features(spine, "spending")
    assert pd.isna(training["spend__total"].iloc[0]) and training["spend__total"].iloc[1] == 42.5


def alive(pid):
    """Whether process ``pid`` exists and is not a zombie (from /proc/PID/stat)."""
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_online_reads_ride_out_a_data_plane_restart(tenant):
    """The data plane is killed (as a crash would); its supervisor starts it again within seconds.
    A client that will not wait gets the refused connection at once; the default client retries
    until the restarted plane has loaded its access rules and answers."""
    home, data, key, ca = tenant
    now = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    call("POST", f"{data}/ingest", key, {"workspace_name": "prod", "records": {"transactions": [
        {"record": {"user_id": "4", "amount": 9.25, "ts": now}}]}}, ca)
    run = home / "tenants/acme-eu/run"
    pid = int((run / "data-plane.pid").read_text())
    os.kill(pid, 9)
    # Until the kernel has torn the process down, its listening socket may still take a connection
    # and then reset it; after that, connections are refused until the supervisor restarts it (1 s).
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    impatient = vpt_sdk.Client.from_fleet(home, "acme-eu", key, max_unavailable_wait=0).workspace("prod")
    with pytest.raises(urllib.error.URLError) as refused:
        impatient.get_online_features("fraud", {"user_id": 4})
    assert isinstance(refused.value.reason, (ConnectionRefusedError, ConnectionResetError))
    patient = vpt_sdk.Client.from_fleet(home, "acme-eu", key).workspace("prod")
    assert patient.get_online_features("fraud", {"user_id": 4}) == {"user_txn.amount": 9.25}
    assert int((run / "data-plane.pid").read_text()) != pid
