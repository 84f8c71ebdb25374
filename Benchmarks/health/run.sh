#!/usr/bin/env bash
# `vpt health --all` over a fleet of N local tenants with real processes (default 50), then the
# same with one tenant frozen (SIGSTOP). Prints one line per figure:
#   health tenants=N run=K seconds=S status=STATUS
# Usage: Benchmarks/health/run.sh [TENANTS] [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
TENANTS="${1:-50}"
BIN="${2:-$(swift build --show-bin-path)}"
HOME_DIR="$(mktemp -d /tmp/vpt-health-bench.XXXXXX)"
# Below the kernel's ephemeral range (32768+): no outgoing connection can hold a tenant's port.
BASE=$((20000 + RANDOM % 100 * 100))
trap 'for i in $(seq 1 "$TENANTS"); do "$BIN/vpt" tenant stop "t$i" --home "$HOME_DIR" >/dev/null 2>&1 || true; done; rm -rf "$HOME_DIR"' EXIT

"$BIN/vpt" init --home "$HOME_DIR" --port-range "$BASE-$((BASE + 2 * TENANTS + 10))" >/dev/null
start=$(date +%s.%N)
for i in $(seq 1 "$TENANTS"); do
    sed "s/^name: acme-eu/name: t$i/" examples/acme-eu.yaml > "$HOME_DIR/t$i.yaml"
    "$BIN/vpt" provision tenant "t$i" -f "$HOME_DIR/t$i.yaml" --home "$HOME_DIR" >/dev/null
done
echo "provision tenants=$TENANTS seconds=$(echo "$(date +%s.%N) - $start" | bc)"

report() {
    local label="$1" run="$2"
    local t0 t1 status
    t0=$(date +%s.%N)
    status=$("$BIN/vpt" health --all --home "$HOME_DIR" --output json --timeout 3 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["status"], r["summary"])' || true)
    t1=$(date +%s.%N)
    echo "health $label tenants=$TENANTS run=$run seconds=$(echo "$t1 - $t0" | bc) status=$status"
}
for run in 1 2 3; do report all-running "$run"; done
pid=$(cat "$HOME_DIR/tenants/t1/run/data-plane.pid")
kill -STOP "$pid"
for run in 1 2 3; do report one-frozen "$run"; done
kill -CONT "$pid"
