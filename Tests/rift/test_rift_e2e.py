"""Rift on a running tenant: the control plane's scheduler backfills batch feature views from their
start time with real runner processes (vpt-runtime rift-run, then Python), the feature server serves
what they wrote and the SDK reads it back; runners killed mid-job, a control plane killed mid-job
and cancelled jobs end without duplicated rows; the runner holds no credential and cannot reach
another tenant's store; `vpt jobs` lists, triggers and cancels."""

import datetime
import json
import os
import pathlib
import random
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import vpt_sdk

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("VPT_BIN_DIR", ROOT / ".build" / "debug"))
UTC = datetime.timezone.utc
CANARY = "vpt-canary-credential-5f1d"


def spec(name, account):
    return f"""apiVersion: vpt/v1
kind: Tenant
name: {name}
vendorAccount:
  provider: local
  region: eu-west-1
customerAccount:
  accountId: "{account}"
  region: eu-west-1
  residency:
    allowedRegions: [eu-west-1]
dataPlane:
  rift:
    enabled: true
    maxConcurrentJobs: 2
    maxAttempts: 3
    retryBackoffSeconds: 1
principals:
  - serviceAccount: scorer
    workspace: prod
    role: consumer
"""


def run(home, *args, env=None, check=True):
    result = subprocess.run([str(BIN / "vpt"), *args, "--home", str(home)], capture_output=True, text=True, timeout=300, env=env)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def call(method, url, key, body, ca):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                     headers={"Authorization": f"Tecton-key {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(cafile=ca)) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


class Tenant:
    def __init__(self, home, name):
        self.home, self.name = home, name
        self.config = json.loads((home / f"tenants/{name}/config/runtime.json").read_text())
        self.ca = self.config["tls"]["caFile"]
        self.control = f"https://127.0.0.1:{self.config['controlPlane']['port']}"
        self.data = f"https://127.0.0.1:{self.config['dataPlane']['port']}"
        self.admin = (home / f"tenants/{name}/secrets/admin-api-key").read_text()
        self.offline = pathlib.Path(self.config["offlineStore"]["location"])
        self.rift_dir = pathlib.Path(self.config["dataPlane"]["dataDirectory"]) / "rift"

    def jobs(self, *extra):
        return json.loads(run(self.home, "jobs", "list", self.name, "-w", "prod", "--limit", "1000", "-o", "json", *extra).stdout)["jobs"]

    def job(self, job_id):
        return json.loads(run(self.home, "jobs", "show", self.name, "-w", "prod", job_id, "-o", "json").stdout)

    def wait_final(self, ids, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            jobs = [self.job(i) for i in ids]
            if all(j["state"] in ("SUCCESS", "FAILED", "CANCELLED") for j in jobs):
                return jobs
            time.sleep(0.3)
        raise AssertionError(f"jobs not final after {timeout} s: {[(j['id'], j['state']) for j in jobs]}")

    def wait_all_final(self, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            jobs = self.jobs()
            if jobs and all(j["state"] in ("SUCCESS", "FAILED", "CANCELLED") for j in jobs):
                return jobs
            time.sleep(0.5)
        raise AssertionError("jobs not final: " + str([(j["featureView"], j["state"]) for j in self.jobs()]))

    def trigger(self, view, start, end):
        out = run(self.home, "jobs", "trigger", self.name, "-w", "prod", "--view", view, "--start", iso(start), "--end", iso(end), "-o", "json")
        return json.loads(out.stdout)["jobs"]

    def held_runner(self, timeout=60):
        """The pid of the runner that stopped at the armed hold point."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for marker in self.rift_dir.glob("*.hold"):
                pid = int(marker.read_text())
                marker.unlink()
                return pid
            time.sleep(0.1)
        raise AssertionError("no runner reached the hold point")

    def offline_rows(self, view):
        folder = self.offline / "batch/prod" / view
        files = [str(p) for p in folder.rglob("*.parquet") if not any(x.startswith(".") for x in p.relative_to(folder).parts)]
        return pq.read_table(files).to_pandas() if files else pd.DataFrame()


NOW = datetime.datetime.now(UTC)
# The views start yesterday at midnight: a backfill of a day and a part of a day, hourly.
START = NOW.replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=1)


def source_rows():
    rng = random.Random(11)
    rows = []
    span = int((NOW - START).total_seconds())
    for user in range(300):
        for _ in range(rng.randint(1, 12)):
            rows.append((user, round(rng.uniform(1, 100), 2), START + datetime.timedelta(seconds=rng.randrange(0, span))))
    # Rows before the start time and in the still-open hour are not materialized.
    rows.append((5000, 1.0, START - datetime.timedelta(hours=2)))
    return pd.DataFrame(rows, columns=["user_id", "amount", "ts"])


REPO = {
    "entities": [{"name": "user", "joinKeys": [{"name": "user_id", "type": "int64"}]}],
    "batchSources": [{"name": "orders", "path": "raw/orders", "format": "parquet", "timestampField": "ts",
                      "schema": [{"name": "user_id", "type": "int64"}, {"name": "amount", "type": "float64"}, {"name": "ts", "type": "string"}]}],
    "batchFeatureViews": [
        {"name": "spend", "entities": ["user"], "source": "orders", "timestampField": "ts",
         "sql": "SELECT user_id, amount, ts FROM source", "features": [{"name": "amount", "type": "float64"}],
         "ttlSeconds": 7 * 86400, "online": True, "offline": True, "batchSchedule": "1h", "featureStartTime": iso(START)},
        {"name": "spend_agg", "entities": ["user"], "source": "orders", "timestampField": "ts",
         "sql": "SELECT user_id, amount, ts FROM source", "features": [{"name": "amount", "type": "float64"}],
         "aggregations": [{"function": "count", "column": "amount", "window": "1d"}, {"function": "sum", "column": "amount", "window": "1d"}],
         "ttlSeconds": 7 * 86400, "online": True, "offline": True, "batchSchedule": "1h", "featureStartTime": iso(START)},
    ],
    "featureServices": [{"name": "spending", "featureViews": ["spend", "spend_agg"]}],
}


@pytest.fixture(scope="module")
def fleet():
    home = pathlib.Path(tempfile.mkdtemp(prefix="vpt-rift-"))
    hold = home / "rift-hold"
    # Below the kernel's ephemeral range (32768+): no outgoing connection can hold a tenant's port.
    base = 30000 + random.randrange(0, 27) * 100
    env = dict(os.environ, VPT_RIFT_HOLD=str(hold), VPT_RIFT_CHUNK_ROWS="100", AWS_SECRET_ACCESS_KEY=CANARY)
    run(home, "init", "--port-range", f"{base}-{base + 99}")
    for name, account in (("rift-eu", "310987654321"), ("other-eu", "410987654321")):
        (home / f"{name}.yaml").write_text(spec(name, account))
        run(home, "provision", "tenant", name, "-f", str(home / f"{name}.yaml"), env=env)
    tenant = Tenant(home, "rift-eu")
    raw = tenant.offline / "raw/orders"
    raw.mkdir(parents=True)
    rows = source_rows()
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), raw / "part-0.parquet")
    call("POST", f"{tenant.control}/v1/workspaces/prod/apply", tenant.admin, REPO, tenant.ca)
    yield tenant, Tenant(home, "other-eu"), rows, hold
    for name in ("rift-eu", "other-eu"):
        subprocess.run([str(BIN / "vpt"), "tenant", "stop", name, "--home", str(home)], capture_output=True, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


def materialized(rows, jobs):
    """The source rows the jobs covered, and the newest boundary they reached."""
    closed = max(datetime.datetime.fromisoformat(j["windowEnd"].replace("Z", "+00:00")) for j in jobs if j["featureView"] == "spend")
    return rows[(rows.ts >= START) & (rows.ts < closed)], closed


def test_backfill_materializes_both_views_and_they_are_served_and_trained_on(fleet):
    tenant, _, rows, _ = fleet
    jobs = tenant.wait_all_final()
    assert {j["state"] for j in jobs} == {"SUCCESS"}, [(j["featureView"], j["state"], j.get("error")) for j in jobs]
    for view in ("spend", "spend_agg"):
        backfill = sorted((j for j in jobs if j["featureView"] == view), key=lambda j: j["windowStart"])
        # Contiguous windows from the start time to the newest closed hour, a day per job at most.
        assert backfill[0]["windowStart"].startswith(iso(START)[:19])
        assert all(a["windowEnd"] == b["windowStart"] for a, b in zip(backfill, backfill[1:]))
        assert all(j["trigger"] in ("backfill", "schedule") for j in backfill)
    expected, closed = materialized(rows, jobs)
    offline = tenant.offline_rows("spend")
    # Every row once: no duplicates, nothing outside the materialized range.
    assert len(offline) == len(expected)
    assert sorted(offline.amount.round(2)) == sorted(expected.amount.round(2))
    files = list((tenant.offline / "batch/prod/spend").rglob("*.parquet"))
    assert all(p.parent.name.startswith("date=") and oct(p.stat().st_mode & 0o777) == "0o600" for p in files)

    time.sleep(1.2)  # the data plane has the repository
    key = call("POST", f"{tenant.control}/v1/service-accounts/scorer/api-keys", tenant.admin, None, tenant.ca)["key"]
    time.sleep(1.2)
    workspace = vpt_sdk.Client.from_fleet(tenant.home, "rift-eu", key).workspace("prod")
    for user in (3, 42, 299):
        mine = expected[expected.user_id == user]
        if mine.empty:
            continue
        online = workspace.get_online_features("spending", {"user_id": user})
        assert online["spend.amount"] == mine.sort_values("ts").amount.iloc[-1]
        last_day = mine[mine.ts >= closed - datetime.timedelta(days=1)]
        assert online["spend_agg.amount_count_1d"] == str(len(last_day))  # int64 values travel as strings (Tecton's API)
        if len(last_day):
            assert online["spend_agg.amount_sum_1d"] == pytest.approx(last_day.amount.sum())
        else:
            assert online["spend_agg.amount_sum_1d"] is None

    spine = pd.DataFrame({"user_id": [42, 42], "timestamp": [START - datetime.timedelta(seconds=1), closed - datetime.timedelta(microseconds=1)]})
    training = workspace.get_historical_features(spine, "spending")
    assert pd.isna(training["spend__amount"].iloc[0])
    mine = expected[expected.user_id == 42].sort_values("ts")
    assert training["spend__amount"].iloc[1] == mine.amount.iloc[-1]
    # The aggregate at the newest boundary, as of just before it.
    assert training["spend_agg__amount_count_1d"].iloc[1] == len(mine[mine.ts >= closed - datetime.timedelta(days=1)])

    # vpt health: every view is materialized through its newest closed period.
    health = json.loads(run(tenant.home, "health", "rift-eu", "-o", "json", check=False).stdout)
    freshness = next(c for c in health["tenants"][0]["checks"] if c["id"] == "materialization.freshness")
    assert freshness["status"] == "ok" and "2 batch feature views" in freshness["observed"], freshness

    # The web UI lists the jobs; a consumer may read the job list but not trigger jobs.
    ui = urllib.request.Request(f"{tenant.control}/ui", headers={"Authorization": f"Tecton-key {tenant.admin}"})
    with urllib.request.urlopen(ui, context=ssl.create_default_context(cafile=tenant.ca)) as page:
        assert jobs[0]["id"] in page.read().decode()
    assert call("GET", f"{tenant.control}/v1/workspaces/prod/jobs?limit=1", key, None, tenant.ca)["jobs"]
    with pytest.raises(urllib.error.HTTPError) as denied:
        call("POST", f"{tenant.control}/v1/workspaces/prod/jobs", key, {"featureView": "spend"}, tenant.ca)
    assert denied.value.code == 403


def exited(pid, within=5.0):
    """The process has exited within `within` seconds: it is gone, or a zombie. An orphan's zombie
    waits for whoever adopted it (here PID 1 of the machine) to reap it, on that process's schedule."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def held_job(tenant, hold, hours, point="after-offline"):
    """Triggers the last `hours` closed hours of `spend` with attempt 1 held at `point`; returns
    the job and the held runner's pid (the hold is disarmed again, so retries run through)."""
    hold.write_text(f"{point}@1")
    closed = NOW.replace(minute=0, second=0, microsecond=0)
    job = tenant.trigger("spend", closed - datetime.timedelta(hours=hours), closed)[0]
    pid = tenant.held_runner()
    hold.unlink()
    return job, pid


def killed_and_retried(tenant, hold, point, rows):
    before = len(tenant.offline_rows("spend"))
    job, pid = held_job(tenant, hold, 3, point)
    os.kill(pid, signal.SIGKILL)
    done = tenant.wait_final([job["id"]])[0]
    assert done["state"] == "SUCCESS", done
    assert [a["outcome"] for a in done["attempts"]] == ["signal 9", "success"]
    assert len(tenant.offline_rows("spend")) == before  # replaced, not duplicated
    return done


def test_runner_killed_after_the_offline_write_or_during_online_upserts_is_retried_without_duplicates(fleet):
    tenant, _, rows, hold = fleet
    tenant.wait_all_final()
    killed_and_retried(tenant, hold, "after-offline", rows)
    killed_and_retried(tenant, hold, "mid-online", rows)


def test_the_runner_holds_no_credential_and_cannot_reach_another_tenants_store(fleet):
    tenant, other, _, hold = fleet
    tenant.wait_all_final()
    job, pid = held_job(tenant, hold, 1)
    closed = NOW.replace(minute=0, second=0, microsecond=0)
    environment = dict(item.split("=", 1) for item in pathlib.Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    assert CANARY not in pathlib.Path(f"/proc/{pid}/environ").read_text()
    assert set(environment) <= {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "VPT_RIFT_HOLD", "VPT_RIFT_CHUNK_ROWS"}
    job_file = next(tenant.rift_dir.glob(f"{job['id']}-a1.job.json")).read_text()
    assert tenant.config["crossAccount"]["externalId"] not in job_file and "secret" not in job_file.lower()
    credential = json.loads(pathlib.Path(tenant.config["crossAccount"]["callerCredentialFile"]).read_text())
    assert credential["secretAccessKey"] not in job_file
    os.kill(pid, signal.SIGKILL)
    assert tenant.wait_final([job["id"]])[0]["state"] == "SUCCESS"

    # The launcher with this tenant's credential, pointed at the other tenant's offline store:
    # the session is refused before anything is read or written.
    request = {"jobId": "job-isolation", "attempt": 1, "workspace": "prod", "view": REPO["batchFeatureViews"][0],
               "joinKeys": [{"name": "user_id", "type": "int64"}], "source": REPO["batchSources"][0],
               "windowStart": iso(closed - datetime.timedelta(hours=1)), "windowEnd": iso(closed),
               "scheduleSeconds": 3600, "featureStartTime": iso(START)}
    work = tenant.home / "isolation"
    work.mkdir()
    (work / "job-isolation-a1.request.json").write_text(json.dumps(request))
    for field, value, message in (
            ("offlineStore", other.config["offlineStore"], "was refused"),
            ("offlineStore", dict(tenant.config["offlineStore"], region="us-east-1"), "outside allowedRegions")):
        config = dict(tenant.config, **{field: value})
        (work / "runtime.json").write_text(json.dumps(config))
        result = subprocess.run([str(BIN / "vpt-runtime"), "rift-run", "--config", str(work / "runtime.json"),
                                 "--request", str(work / "job-isolation-a1.request.json"), "--result", str(work / "result.json")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 65 and message in result.stderr, result.stderr
    assert not (other.offline / "batch").exists() and not (work / "result.json").exists()


def test_a_control_plane_killed_mid_job_recovers_the_job(fleet):
    tenant, _, _, hold = fleet
    tenant.wait_all_final()
    before = len(tenant.offline_rows("spend"))
    job, runner = held_job(tenant, hold, 2)
    control = int((tenant.home / "tenants/rift-eu/run/control-plane.pid").read_text())
    os.kill(control, signal.SIGKILL)
    done = tenant.wait_final([job["id"]], timeout=120)[0]  # the supervisor restarts the control plane
    assert done["state"] == "SUCCESS" and [a["outcome"] for a in done["attempts"]] == ["lost", "success"]
    assert exited(runner), "the orphaned runner was not stopped"
    assert len(tenant.offline_rows("spend")) == before


def test_cancel_failures_and_cli_refusals(fleet):
    tenant, _, _, hold = fleet
    tenant.wait_all_final()
    job, pid = held_job(tenant, hold, 1)
    closed = NOW.replace(minute=0, second=0, microsecond=0)
    assert json.loads(run(tenant.home, "jobs", "cancel", "rift-eu", "-w", "prod", job["id"], "-o", "json").stdout)["id"] == job["id"]
    done = tenant.wait_final([job["id"]])[0]
    assert done["state"] == "CANCELLED" and done["attempts"][-1]["outcome"] == "cancelled"
    assert exited(pid), "the cancelled runner is still running"
    again = run(tenant.home, "jobs", "cancel", "rift-eu", "-w", "prod", job["id"], check=False)
    assert again.returncode == 65 and "CANCELLED already" in again.stderr

    # Unaligned windows, unknown views and jobs: exit 65 with the rule, nothing created.
    count = len(tenant.jobs())
    bad = run(tenant.home, "jobs", "trigger", "rift-eu", "-w", "prod", "--view", "spend", "--start", iso(closed - datetime.timedelta(minutes=30)),
              "--end", iso(closed), check=False)
    assert bad.returncode == 65 and "is not a period boundary" in bad.stderr
    unknown = run(tenant.home, "jobs", "trigger", "rift-eu", "-w", "prod", "--view", "nope", check=False)
    assert unknown.returncode == 65 and "'nope' is not a batch feature view" in unknown.stderr
    assert run(tenant.home, "jobs", "show", "rift-eu", "-w", "prod", "job-missing", check=False).returncode == 65
    assert len(tenant.jobs()) == count

    # A transformation that cannot run: three attempts with backoff, then FAILED with the reason.
    repo = json.loads(json.dumps(REPO))
    repo["batchFeatureViews"].append(dict(repo["batchFeatureViews"][0], name="broken", sql="SELECT user_id, no_such_column AS amount, ts FROM source",
                                          featureStartTime=iso(closed - datetime.timedelta(hours=1))))
    call("POST", f"{tenant.control}/v1/workspaces/prod/apply", tenant.admin, repo, tenant.ca)
    deadline = time.time() + 90
    while time.time() < deadline:
        broken = [j for j in tenant.jobs("--view", "broken")]
        if broken and broken[0]["state"] == "FAILED":
            break
        time.sleep(0.5)
    assert broken[0]["state"] == "FAILED" and len(broken[0]["attempts"]) == 3, broken
    assert "no_such_column" in broken[0]["error"]
    assert [j["id"] for j in tenant.jobs("--state", "FAILED")] == [broken[0]["id"]]
    table = run(tenant.home, "jobs", "list", "rift-eu", "-w", "prod", "--state", "failed").stdout
    assert "broken" in table and "FAILED" in table and "3/3" in table
    health = json.loads(run(tenant.home, "health", "rift-eu", "-o", "json", check=False).stdout)
    freshness = next(c for c in health["tenants"][0]["checks"] if c["id"] == "materialization.freshness")
    assert freshness["status"] == "warn" and "prod/broken: 1 failed job" in freshness["observed"], freshness
