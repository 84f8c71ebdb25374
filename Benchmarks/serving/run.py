#!/usr/bin/env python3
"""Serving benchmark (issue 3): the vpt feature server (SQLite and Redis online stores, cache off and on)
next to the Feast Python feature server (SQLite and Redis) and a no-op handler in our HTTP framework (the
data plane's own NIO server; the same handler on Hummingbird is measured too, for context),
all driven by wrk over loopback with the same request shape (1 entity, 50 features), in one run.
Also ingest throughput (batches of 1 and 100) and ingest-to-servable latency. `--redis-tls` adds a
tenant whose Redis speaks only TLS (`store=redis-tls`), for what TLS to the store costs.

Prints one `key=value` line per figure. Usage (see docs/benchmarks.md):
  python3 Benchmarks/serving/run.py --bin .build-release/release --feast /tmp/feast-venv/bin
"""

import argparse
import http.client
import json
import os
import pathlib
import random
import ssl
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
FEATURES = [f"f{i}" for i in range(50)]
USERS = 1000


def sh(*args, env=None, check=True, **kw):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, **kw)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def call(method, url, key=None, body=None, headers=None, ca=None):
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if key:
        hdrs["Authorization"] = f"Tecton-key {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method, headers=hdrs)
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def wait_http(url, timeout=60, ca=None):
    deadline = time.time() + timeout
    context = ssl.create_default_context(cafile=ca) if ca else None
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1, context=context)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def wrk_script(path, body, headers, delay_ms):
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}", 'wrk.headers["Content-Type"] = "application/json"']
    for name, value in headers.items():
        lines.append(f'wrk.headers["{name}"] = {json.dumps(value)}')
    if delay_ms:
        # Think times drawn from an exponential distribution (mean `delay_ms`), so arrivals are close
        # to Poisson at the target rate. A fixed delay lines every connection up on the same
        # millisecond timer ticks, and the load arrives as bursts of all connections at once; the
        # tail then measures how long a burst takes to drain, not latency at half load. Each wrk
        # thread seeds its own generator.
        lines += [
            "local threads = 0",
            "function setup(thread) thread:set('seed', threads * 7919 + os.time()); threads = threads + 1 end",
            "function init(args) math.randomseed(seed) end",
            f"function delay() return math.floor(-{delay_ms} * math.log(1 - math.random()) + 0.5) end",
        ]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def parse_latency(text, pct):
    match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url, body, headers, duration, connections, delay_ms=0, workdir="."):
    script = pathlib.Path(workdir) / "wrk.lua"
    wrk_script(script, body, headers, delay_ms)
    threads = min(2, connections)
    out = sh("wrk", "-t", threads, "-c", connections, "-d", f"{duration}s", "--latency", "-s", script, url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, parse_latency(out, 50), parse_latency(out, 99), int(non2xx.group(1)) if non2xx else 0


class Target:
    """One server under test: a name, its URL, and the request wrk sends."""

    def __init__(self, name, url, body, headers):
        self.name, self.url, self.body, self.headers = name, url, body, headers
        self.saturations, self.half_runs, self.errors = [], [], 0

    def saturate(self, args, workdir):
        run_wrk(self.url, self.body, self.headers, 2, 16, workdir=workdir)  # warm-up
        rps, _, _, errors = run_wrk(self.url, self.body, self.headers, args.duration, 64, workdir=workdir)
        self.saturations.append(rps)
        self.errors += errors

    @property
    def saturation(self):
        return statistics.median(self.saturations)

    def at_rate(self, rate, args, workdir):
        """p50/p99 at `rate` requests/s: connections of about 250 requests/s each, with think times."""
        connections = max(2, round(rate / 250))
        delay = max(1, round(connections * 1000 / rate))
        achieved, p50, p99, errors = run_wrk(self.url, self.body, self.headers, args.duration, connections, delay_ms=delay, workdir=workdir)
        if achieved < 0.85 * rate:  # one corrective step absorbs the response time in each cycle
            connections = max(2, round(connections * rate / max(achieved, 1)))
            achieved, p50, p99, errors = run_wrk(self.url, self.body, self.headers, args.duration, connections, delay_ms=delay, workdir=workdir)
        self.errors += errors
        return achieved, p50, p99

    def half_load(self, args, workdir):
        self.half_runs.append(self.at_rate(self.saturation / 2, args, workdir))

    def report(self):
        half = self.saturation / 2
        achieved = statistics.median(r[0] for r in self.half_runs)
        self.p50 = statistics.median(r[1] for r in self.half_runs)
        self.p99 = statistics.median(r[2] for r in self.half_runs)
        runs = "/".join(f"{r:.0f}" for r in self.saturations)
        p99s = "/".join(f"{r[2]:.2f}" for r in self.half_runs)
        print(f"serving target={self.name} saturation_rps={self.saturation:.0f} saturation_runs={runs} half_load_target_rps={half:.0f} "
              f"half_load_rps={achieved:.0f} p50_ms={self.p50:.3f} p99_ms={self.p99:.3f} p99_runs={p99s} errors={self.errors}", flush=True)


def measure_all(targets, args, workdir):
    """Saturation in interleaved rounds, then each target at half of its own saturation in
    interleaved rounds; medians count. This machine drifts by ±15 % within minutes, and
    interleaving spreads the drift over every target."""
    for _ in range(args.rounds):
        for target in targets:
            target.saturate(args, workdir)
    for _ in range(args.rounds):
        for target in targets:
            target.half_load(args, workdir)
    for target in targets:
        target.report()


def redis_user(redis_port, workdir, tenant, folder="redis"):
    """The tenant's own ACL user on the benchmark's redis-server (infra/redis.sh user); its URL."""
    return sh("bash", ROOT / "infra/redis.sh", "user", redis_port, pathlib.Path(workdir) / folder, tenant,
              pathlib.Path(workdir) / f"{tenant}.redis-password").strip()


def redis_spec(workdir, name, url):
    """The globex-us example as tenant `name` on `url` (rediss:// trusts the TLS server's own CA)."""
    spec = ((ROOT / "examples/globex-us.yaml").read_text().replace("name: globex-us", f"name: {name}")
            .replace("redis://globex-us@127.0.0.1:6379/0", url)
            .replace("/etc/vpt/globex-us/redis.password", str(pathlib.Path(workdir) / f"{name}.redis-password"))
            .replace("    cidr: 10.42.0.0/20\n", ""))
    if url.startswith("rediss://"):
        password = f"passwordFile: {pathlib.Path(workdir) / f'{name}.redis-password'}"
        spec = spec.replace(password, f"{password}\n    caFile: {pathlib.Path(workdir) / 'redis-tls/tls/ca.pem'}")
    return spec


def vpt_tenants(args, home, workdir, redis_port):
    env = {**os.environ, "VPT_RUNTIME_BINARY": str(pathlib.Path(args.bin) / "vpt-runtime")}
    vpt = pathlib.Path(args.bin) / "vpt"
    # Ports below the kernel's ephemeral range (32768+), which wrk's many connections draw from.
    base = 28000 + random.randrange(0, 20) * 100
    sh(vpt, "init", "--port-range", f"{base}-{base + 99}", "--home", home, env=env)
    specs = {
        "sqlite": (ROOT / "examples/acme-eu.yaml").read_text().replace("name: acme-eu", "name: bench-sqlite"),
        "redis": redis_spec(workdir, "bench-redis", redis_user(redis_port, workdir, "bench-redis")),
    }
    if args.redis_tls:
        specs["redis-tls"] = redis_spec(workdir, "bench-redis-tls", redis_user(redis_port + 5, workdir, "bench-redis-tls", "redis-tls"))
    if args.event_loops:
        # The same two stores again, their data planes on a set number of event loops.
        loops = f"dataPlane:\n  eventLoops: {args.event_loops}\n"
        for store in ("sqlite", "redis"):
            name = f"bench-{store}-{args.event_loops}loop"
            spec = specs[store].replace(f"name: bench-{store}", f"name: {name}")
            if store == "redis":
                spec = redis_spec(workdir, name, redis_user(redis_port, workdir, name))
            specs[f"{store}-{args.event_loops}loop"] = spec.replace("dataPlane:\n", loops) if "dataPlane:\n" in spec else spec + loops
    tenants = {}
    for store, spec in specs.items():
        name = f"bench-{store}"
        path = pathlib.Path(workdir) / f"{name}.yaml"
        path.write_text(spec.replace("maxEntries: 50000", "maxEntries: 100000"))
        sh(vpt, "provision", "tenant", name, "-f", path, "--home", home, env=env)
        show = json.loads(sh(vpt, "tenant", "show", name, "--output", "json", "--home", home))
        control, data = int(show["controlPlanePort"]), int(show["dataPlanePort"])
        admin = (pathlib.Path(home) / f"tenants/{name}/secrets/admin-api-key").read_text()
        repo = {
            "entities": [{"name": "user", "joinKeys": [{"name": "user_id", "type": "int64"}]}],
            "pushSources": [{"name": "user_events", "timestampField": "ts",
                             "schema": [{"name": "user_id", "type": "int64"}, {"name": "ts", "type": "string"}]
                             + [{"name": f, "type": "float64"} for f in FEATURES]}],
            "featureViews": [{"name": "user_stats", "entities": ["user"], "source": "user_events",
                              "features": [{"name": f, "type": "float64"} for f in FEATURES], "ttlSeconds": 86400 * 30,
                              "online": True, "offline": True}],
            "featureServices": [{"name": "bench_service", "featureViews": ["user_stats"]}],
        }
        # The tenant's planes serve HTTPS under its own CA; wrk does not verify certificates.
        ca = str(pathlib.Path(home) / f"tenants/{name}/tls/ca.pem")
        call("POST", f"https://127.0.0.1:{control}/v1/workspaces/prod/apply", admin, repo, ca=ca)
        call("POST", f"https://127.0.0.1:{control}/v1/service-accounts", admin, {"name": "bench"}, ca=ca)
        call("PUT", f"https://127.0.0.1:{control}/v1/workspaces/prod/role-bindings/bench", admin, {"role": "owner"}, ca=ca)
        key = call("POST", f"https://127.0.0.1:{control}/v1/service-accounts/bench/api-keys", admin, ca=ca)["key"]
        tenants[store] = {"name": name, "data": data, "key": key, "ca": ca, "store": store.split("-")[0] if "loop" in store else store,
                          "loops": args.event_loops if "loop" in store else None}
        if args.rate_limit and store == "sqlite":
            # A second account on the same tenant with a limit far above saturation: what checking
            # a limit costs, next to the unlimited account in the same process.
            call("POST", f"https://127.0.0.1:{control}/v1/service-accounts", admin, {"name": "bench-limited"}, ca=ca)
            call("PUT", f"https://127.0.0.1:{control}/v1/workspaces/prod/role-bindings/bench-limited", admin, {"role": "owner"}, ca=ca)
            call("PUT", f"https://127.0.0.1:{control}/v1/service-accounts/bench-limited/rate-limit", admin,
                 {"requestsPerSecond": 1000000, "burst": 1000000}, ca=ca)
            tenants[store]["limited_key"] = call("POST", f"https://127.0.0.1:{control}/v1/service-accounts/bench-limited/api-keys", admin, ca=ca)["key"]
        time.sleep(1.5)
    return tenants, vpt, env


class Connection:
    """One keep-alive HTTPS connection, as a client application with a pooled HTTP client has."""

    def __init__(self, port, ca):
        self.http = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=ca), timeout=30)

    def post(self, path, key, body):
        self.http.request("POST", path, body=json.dumps(body), headers={"Authorization": f"Tecton-key {key}", "Content-Type": "application/json"})
        response = self.http.getresponse()
        raw = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {raw[:300]!r}")
        return json.loads(raw)

    def close(self):
        self.http.close()


def load_users(tenant):
    """The benchmark's users, written without measuring (for tenants that only serve)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    client = Connection(tenant["data"], tenant["ca"])
    for r in range(USERS // 100):
        records = [{"record": {"user_id": str(r * 100 + i), "ts": now, **{f: 1.0 + j for j, f in enumerate(FEATURES)}}} for i in range(100)]
        client.post("/ingest", tenant["key"], {"workspace_name": "prod", "records": {"user_events": records}})
    client.close()


def ingest_benchmarks(tenant, store):
    """Records/s at batches of 100 and of 1, and ingest-to-servable latency, each over one
    keep-alive connection (what a client application has) and over a new connection per request
    (what a script calling with urllib has: a TLS handshake each time)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def record(user, value):
        return {"record": {"user_id": str(user), "ts": now, **{f: value + i for i, f in enumerate(FEATURES)}}}

    url = f"https://127.0.0.1:{tenant['data']}"
    get = {"params": {"workspace_name": "prod", "feature_service_name": "bench_service", "join_key_map": {"user_id": "7"}}}
    for connection in ("keep-alive", "new"):
        writer = Connection(tenant["data"], tenant["ca"]) if connection == "keep-alive" else None
        reader = Connection(tenant["data"], tenant["ca"]) if connection == "keep-alive" else None

        def post(client, path, body):
            return client.post(path, tenant["key"], body) if client else call("POST", url + path, tenant["key"], body, ca=tenant["ca"])

        for batch, requests in ((100, USERS // 100), (1, 300)):
            start = time.perf_counter()
            for r in range(requests):
                records = [record((r * batch + i) % USERS, 1.0) for i in range(batch)]
                post(writer, "/ingest", {"workspace_name": "prod", "records": {"user_events": records}})
            elapsed = time.perf_counter() - start
            print(f"ingest target=vpt store={store} connection={connection} batch={batch} records_per_s={batch * requests / elapsed:.0f}", flush=True)
        latencies = []
        for i in range(200):
            value = 1000.0 + i + (0.5 if connection == "new" else 0)
            start = time.perf_counter()
            post(writer, "/ingest", {"workspace_name": "prod", "records": {"user_events": [record(7, value)]}})
            while post(reader, "/api/v1/feature-service/get-features", get)["result"]["features"][0] != value:
                pass
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        print(f"ingest_to_servable target=vpt store={store} connection={connection} p50_ms={latencies[len(latencies) // 2]:.3f} "
              f"p99_ms={latencies[int(len(latencies) * 0.99) - 1]:.3f}", flush=True)
        for client in (writer, reader):
            if client:
                client.close()


def feast_server(args, store, workdir, redis_port, port):
    repo = pathlib.Path(workdir) / f"feast-{store}"
    repo.mkdir()
    online = (f"online_store:\n  type: sqlite\n  path: {repo}/online.db\n" if store == "sqlite"
              # Feast logs in as the server's admin, on a database of its own.
              else f"online_store:\n  type: redis\n  connection_string: 127.0.0.1:{redis_port},db=1,username=admin,"
                   f"password={(pathlib.Path(workdir) / 'redis/admin.password').read_text().strip()}\n")
    (repo / "feature_store.yaml").write_text(
        f"project: bench\nregistry: {repo}/registry.db\nprovider: local\n{online}offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
    fields = ",\n    ".join(f'Field(name="{f}", dtype=Float64)' for f in FEATURES)
    (repo / "features.py").write_text(f'''
from datetime import timedelta
from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float64, Int64
user = Entity(name="user", join_keys=["user_id"])
source = FileSource(path="{repo}/data.parquet", timestamp_field="event_timestamp")
user_stats = FeatureView(name="user_stats", entities=[user], ttl=timedelta(days=30), schema=[
    Field(name="user_id", dtype=Int64),
    {fields}], source=source, online=True)
bench_service = FeatureService(name="bench_service", features=[user_stats])
''')
    python = pathlib.Path(args.feast) / "python"
    sh(python, "-c", f'''
import pandas as pd, datetime
now = datetime.datetime.now(datetime.timezone.utc)
rows = {{"user_id": list(range({USERS})), "event_timestamp": [now - datetime.timedelta(minutes=1)] * {USERS}}}
for i in range(50): rows[f"f{{i}}"] = [float(i) + 0.5] * {USERS}
pd.DataFrame(rows).to_parquet("{repo}/data.parquet")
''')
    feast = pathlib.Path(args.feast) / "feast"
    sh(feast, "apply", cwd=repo)
    sh(feast, "materialize-incremental", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 60)), cwd=repo)
    process = subprocess.Popen([str(feast), "serve", "-h", "127.0.0.1", "-p", str(port), "-w", "-1", "--no-access-log"],
                               cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
    return process


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="folder with release builds of vpt, vpt-runtime, vpt-noop-server")
    parser.add_argument("--feast", help="bin folder of a Python environment with feast[redis] (required unless --skip-feast)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per target at saturation and at half load (medians are reported)")
    parser.add_argument("--skip-feast", action="store_true", help="measure vpt and the no-op handler only")
    parser.add_argument("--ingest-only", action="store_true", help="measure ingest only, then stop")
    parser.add_argument("--rate-limit", action="store_true",
                        help="also the sqlite tenant through a service account with a serving limit far above saturation (rate_limit=on), for what the check costs")
    parser.add_argument("--event-loops", type=int, default=0,
                        help="also a sqlite and a redis tenant whose data planes serve on this many event loops (event_loops=N), cache off")
    parser.add_argument("--redis-tls", action="store_true",
                        help="also a tenant on a redis-server that speaks only TLS (store=redis-tls), for what TLS to the store costs")
    args = parser.parse_args()
    if not args.feast and not args.skip_feast and not args.ingest_only:
        parser.error("--feast is required unless --skip-feast or --ingest-only")
    workdir = tempfile.mkdtemp(prefix="vpt-serving-bench-")
    home = pathlib.Path(workdir) / "fleet"
    redis_port = 30000 + random.randrange(0, 700)  # below the ephemeral range, like the tenants' ports
    sh("bash", ROOT / "infra/redis.sh", "start", redis_port, pathlib.Path(workdir) / "redis")
    if args.redis_tls:
        sh("bash", ROOT / "infra/redis.sh", "start", redis_port + 5, pathlib.Path(workdir) / "redis-tls", "tls")
    processes = []
    results = {}
    try:
        tenants, vpt, env = vpt_tenants(args, home, workdir, redis_port)
        for store, tenant in tenants.items():
            if tenant["loops"]:
                load_users(tenant)
            else:
                ingest_benchmarks(tenant, store)
        if args.ingest_only:
            return
        noop_port = redis_port + 1000
        hummingbird_port = redis_port + 1003
        noop_loops_port = redis_port + 1004
        # The no-op handlers serve HTTPS with the sqlite tenant's certificate: all pay for TLS. The
        # first runs on the data plane's own HTTP server (the ratio's reference: the same
        # framework); the second on Hummingbird, which the data plane used before, for context.
        # With --event-loops a third runs on the data plane's server with that many loops, the
        # reference for the tenants that serve on them (same framework, same configuration).
        tls = pathlib.Path(home) / "tenants/bench-sqlite/tls"
        servers = [(noop_port, []), (hummingbird_port, ["--hummingbird"])]
        if args.event_loops:
            servers.append((noop_loops_port, ["--event-loops", str(args.event_loops)]))
        for port, extra in servers:
            processes.append(subprocess.Popen([str(pathlib.Path(args.bin) / "vpt-noop-server"), str(port),
                                               str(tls / "data-plane.pem"), str(tls / "data-plane-key.pem"), *extra]))
            wait_http(f"https://127.0.0.1:{port}/", ca=str(tls / "ca.pem"))
        targets = []
        for cache in (False, True):
            for store, tenant in tenants.items():
                if cache and tenant["loops"]:
                    continue
                body = {"params": {"workspace_name": "prod", "feature_service_name": "bench_service", "join_key_map": {"user_id": "42"},
                                   "request_options": {"read_from_cache": cache, "write_to_cache": cache}}}
                url = f"https://127.0.0.1:{tenant['data']}/api/v1/feature-service/get-features"
                loops = f" event_loops={tenant['loops']}" if tenant["loops"] else ""
                target = Target(f"vpt store={tenant['store']} cache={'on' if cache else 'off'}{loops}", url, body,
                                {"Authorization": f"Tecton-key {tenant['key']}"})
                results[("vpt", store, cache)] = target
                targets.append(target)
                if not cache and "limited_key" in tenant:
                    targets.append(Target(f"vpt store={store} cache=off rate_limit=on", url, body, {"Authorization": f"Tecton-key {tenant['limited_key']}"}))
            if not cache:
                body = {"params": {"workspace_name": "prod", "feature_service_name": "bench_service", "join_key_map": {"user_id": "42"}}}
                results["noop"] = Target("noop-handler", f"https://127.0.0.1:{noop_port}/api/v1/feature-service/get-features", body, {})
                targets.append(results["noop"])
                targets.append(Target("noop-handler framework=hummingbird", f"https://127.0.0.1:{hummingbird_port}/api/v1/feature-service/get-features", body, {}))
                if args.event_loops:
                    results["noop-loops"] = Target(f"noop-handler event_loops={args.event_loops}",
                                                   f"https://127.0.0.1:{noop_loops_port}/api/v1/feature-service/get-features", body, {})
                    targets.append(results["noop-loops"])
        measure_all(targets, args, workdir)
        # The framework's own tail at the rates our half loads ran at: the floor under our p99.
        for store in ("sqlite", "redis"):
            rate = results[("vpt", store, False)].saturation / 2
            runs = [results["noop"].at_rate(rate, args, workdir) for _ in range(args.rounds)]
            p50, p99 = statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)
            print(f"serving target=noop-handler at_rate_of=vpt-{store}-half-load rate_rps={rate:.0f} p50_ms={p50:.3f} p99_ms={p99:.3f} "
                  f"p99_runs={'/'.join(f'{r[2]:.2f}' for r in runs)}", flush=True)
        for store, offset in () if args.skip_feast else (("sqlite", 1001), ("redis", 1002)):
            process = feast_server(args, store, workdir, redis_port, redis_port + offset)
            processes.append(process)
            feast_body = {"feature_service": "bench_service", "entities": {"user_id": [42]}}
            check = call("POST", f"http://127.0.0.1:{redis_port + offset}/get-online-features", body=feast_body)
            assert len(check["results"]) == 51, "Feast did not return 50 features"
            target = Target(f"feast store={store} workers=auto", f"http://127.0.0.1:{redis_port + offset}/get-online-features", feast_body, {})
            results[("feast", store)] = target
            measure_all([target], args, workdir)
            process.terminate()
            process.wait(timeout=30)
        for key in [k for k in tenants if k != "redis-tls"]:
            store, ours = tenants[key]["store"], results[("vpt", key, False)]
            loops = f" event_loops={tenants[key]['loops']}" if tenants[key]["loops"] else ""
            versus_feast = "" if args.skip_feast else f"vpt_cache_off_over_feast={ours.saturation / results[('feast', store)].saturation:.1f}x "
            # A tenant on N loops is also set against the no-op handler on N loops.
            same_loops = (f"vpt_cache_off_over_noop_same_loops={ours.saturation / results['noop-loops'].saturation:.2f} "
                          if tenants[key]["loops"] else "")
            # The same ratio round by round: both servers were saturated within a minute of each
            # other, so a round's drift (±15 % on this machine) is mostly shared, where the ratio of
            # medians can set one target's good round against another's bad one.
            reference = results["noop-loops"] if tenants[key]["loops"] else results["noop"]
            by_round = [ours_rps / noop_rps for ours_rps, noop_rps in zip(ours.saturations, reference.saturations)]
            print(f"ratio store={store}{loops} {versus_feast}"
                  f"vpt_cache_off_over_noop={ours.saturation / results['noop'].saturation:.2f} {same_loops}"
                  f"over_noop_by_round={'/'.join(f'{r:.2f}' for r in by_round)} over_noop_round_median={statistics.median(by_round):.2f} "
                  f"p99_at_half_load_ms={ours.p99:.3f}", flush=True)
    finally:
        for process in processes:
            process.terminate()
        for tenant in ("bench-sqlite", "bench-redis", "bench-redis-tls", f"bench-sqlite-{args.event_loops}loop", f"bench-redis-{args.event_loops}loop"):
            subprocess.run([str(pathlib.Path(args.bin) / "vpt"), "tenant", "stop", tenant, "--home", str(home)], capture_output=True)
        sh("bash", ROOT / "infra/redis.sh", "stop", redis_port, check=False)
        if args.redis_tls:
            sh("bash", ROOT / "infra/redis.sh", "stop", redis_port + 5, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
