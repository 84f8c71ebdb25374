#!/usr/bin/env bash
# Starts (or stops) a real redis-server on loopback for the online store, tests and benchmarks.
#   infra/redis.sh start PORT DIR   -> runs redis-server on 127.0.0.1:PORT with its files in DIR
#   infra/redis.sh stop PORT
# Installs redis-server from Debian if it is missing. Prints the store URL on start.
set -euo pipefail
action="${1:?usage: infra/redis.sh start|stop PORT [DIR]}"
port="${2:?port required}"
if ! command -v redis-server >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
case "$action" in
start)
    dir="${3:?data directory required}"
    mkdir -p "$dir" && chmod 700 "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        --appendonly yes --appendfsync everysec --save ""
    for _ in $(seq 1 50); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && { echo "redis://127.0.0.1:$port/0"; exit 0; }
        sleep 0.1
    done
    echo "redis-server did not answer on port $port; see $dir/redis.log" >&2
    exit 1
    ;;
stop)
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: infra/redis.sh start|stop PORT [DIR]" >&2
    exit 64
    ;;
esac
