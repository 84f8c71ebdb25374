"""Two builds of vpt-runtime, A and B, serving the same SQLite tenant in turn (interleaved rounds,
the tenant restarted on each build), through the benchmark's request shape with the cache off:
saturation, the data plane's CPU per request at saturation and at a fixed rate of about 9k
req/s (read from /proc), and the p99 at half of each build's own saturation, as run.py measures
it. For a change to the serving path, measured side by side on one fleet:

    cp .build-release/release/vpt-runtime /tmp/vpt-runtime-a   # before the change
    swift build -c release --scratch-path .build-release        # after it
    python3 Benchmarks/serving/ab.py --bin .build-release/release --a /tmp/vpt-runtime-a --b .build-release/release/vpt-runtime

With `--noop PATH` (repeatable) each round also saturates that vpt-noop-server, on the same loops and
certificate, right after the two builds, and prints each build's throughput over it for the round:
the main ratio's target measured in interleaved rounds, where run.py measures each server's rounds
in turn and the machine's drift between them falls into the ratio.
"""

import argparse
import os
import pathlib
import random
import shutil
import subprocess
import tempfile
import time

import run as bench

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cpu_seconds(pid):
    """User and system CPU of a process so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="folder with a release build of vpt")
    parser.add_argument("--a", required=True, help="the vpt-runtime binary to measure first in each round")
    parser.add_argument("--b", required=True, help="the vpt-runtime binary to compare it with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--event-loops", type=int, help="serve from a tenant whose data plane runs on this many event loops (default: one per core)")
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--noop", action="append", default=[], help="a vpt-noop-server binary to saturate in each round too")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="vpt-serving-ab-")
    home = pathlib.Path(workdir) / "fleet"
    redis_port = 30000 + random.randrange(0, 700)  # below the ephemeral range, like the tenants' ports
    bench.sh("bash", ROOT / "infra/redis.sh", "start", redis_port, pathlib.Path(workdir) / "redis")
    redis_pid = int((pathlib.Path(workdir) / "redis/redis.pid").read_text())
    vpt = pathlib.Path(args.bin) / "vpt"
    tenants = {}
    noops = []
    try:
        setup = argparse.Namespace(bin=args.bin, redis_tls=False, rate_limit=False, event_loops=args.event_loops)
        tenants, vpt, env = bench.vpt_tenants(setup, home, workdir, redis_port)
        tenant = tenants[f"{args.store}-{args.event_loops}loop" if args.event_loops else args.store]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        writer = bench.Connection(tenant["data"], tenant["ca"])
        record = {"user_id": "42", "ts": now, **{f: i + 0.5 for i, f in enumerate(bench.FEATURES)}}
        writer.post("/ingest", tenant["key"], {"workspace_name": "prod", "records": {"user_events": [{"record": record}]}})
        writer.close()
        body = {"params": {"workspace_name": "prod", "feature_service_name": "bench_service", "join_key_map": {"user_id": "42"},
                           "request_options": {"read_from_cache": False, "write_to_cache": False}}}
        url = f"https://127.0.0.1:{tenant['data']}/api/v1/feature-service/get-features"
        headers = {"Authorization": f"Tecton-key {tenant['key']}"}
        tls = home / "tenants/bench-sqlite/tls"
        for index, binary in enumerate(args.noop):
            port = redis_port + 1000 + index
            loops = ["--event-loops", str(args.event_loops)] if args.event_loops else []
            print(f"ab noop=noop{index} binary={binary}", flush=True)
            noops.append((f"noop{index}", port, subprocess.Popen([str(binary), str(port), str(tls / "data-plane.pem"), str(tls / "data-plane-key.pem"), *loops])))
            bench.wait_http(f"https://127.0.0.1:{port}/", ca=str(tls / "ca.pem"))
        noop_body = {"params": {"workspace_name": "prod", "feature_service_name": "bench_service", "join_key_map": {"user_id": "42"}}}
        for round_ in range(args.rounds):
            saturations = {}
            for label, binary in (("a", args.a), ("b", args.b)):
                build_env = dict(env, VPT_RUNTIME_BINARY=str(pathlib.Path(binary).resolve()))
                subprocess.run([str(vpt), "tenant", "stop", tenant["name"], "--home", str(home)], capture_output=True, env=build_env)
                bench.sh(vpt, "tenant", "start", tenant["name"], "--home", home, env=build_env)
                pid = int((home / f"tenants/{tenant['name']}/run/data-plane.pid").read_text())
                bench.run_wrk(url, body, headers, 3, 16, workdir=workdir)  # warm-up
                before, redis_before = cpu_seconds(pid), cpu_seconds(redis_pid)
                rps, _, _, errors = bench.run_wrk(url, body, headers, args.duration, 64, workdir=workdir)
                at_saturation = (cpu_seconds(pid) - before) / (rps * args.duration) * 1e6
                # On this machine redis-server shares the cores with the data plane and wrk.
                redis_at_saturation = (cpu_seconds(redis_pid) - redis_before) / (rps * args.duration) * 1e6
                before = cpu_seconds(pid)
                fixed, _, p99, more = bench.run_wrk(url, body, headers, args.duration, 40, delay_ms=4, workdir=workdir)
                at_fixed = (cpu_seconds(pid) - before) / (fixed * args.duration) * 1e6
                # The tail target: p99 at half of this build's own saturation, as run.py measures it.
                half = bench.Target(label, url, body, headers)
                half_rps, _, half_p99 = half.at_rate(rps / 2, args, workdir)
                print(f"ab round={round_} build={label} saturation_rps={rps:.0f} cpu_us_per_request_at_saturation={at_saturation:.1f} "
                      f"redis_cpu_us_per_request_at_saturation={redis_at_saturation:.1f} "
                      f"fixed_rps={fixed:.0f} cpu_us_per_request_at_fixed={at_fixed:.1f} fixed_p99_ms={p99:.2f} "
                      f"half_load_rps={half_rps:.0f} half_load_p99_ms={half_p99:.2f} errors={errors + more + half.errors}", flush=True)
                saturations[label] = rps
            for name, port, process in noops:
                noop_url = f"https://127.0.0.1:{port}/api/v1/feature-service/get-features"
                bench.run_wrk(noop_url, noop_body, {}, 3, 16, workdir=workdir)  # warm-up
                before = cpu_seconds(process.pid)
                rps, _, _, errors = bench.run_wrk(noop_url, noop_body, {}, args.duration, 64, workdir=workdir)
                at_saturation = (cpu_seconds(process.pid) - before) / (rps * args.duration) * 1e6
                print(f"ab round={round_} noop={name} saturation_rps={rps:.0f} cpu_us_per_request_at_saturation={at_saturation:.1f} "
                      f"a_over_noop={saturations['a'] / rps:.2f} b_over_noop={saturations['b'] / rps:.2f} errors={errors}", flush=True)
    finally:
        for _, _, process in noops:
            process.terminate()
        for name in (t["name"] for t in tenants.values()):
            subprocess.run([str(vpt), "tenant", "stop", name, "--home", str(home)], capture_output=True)
        bench.sh("bash", ROOT / "infra/redis.sh", "stop", redis_port, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
