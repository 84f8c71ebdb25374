#!/usr/bin/env bash
# Starts (or stops) a real redis-server on loopback for the online store, tests and benchmarks, and
# issues the per-tenant ACL users that a customer would create for the vendor.
#   infra/redis.sh start PORT DIR                 -> redis-server on 127.0.0.1:PORT, files in DIR; prints the URL
#   infra/redis.sh user PORT DIR NAME FILE        -> ACL user NAME limited to the keys vpt:NAME:*, its
#                                                    password written to FILE (0600); prints the URL with the user
#   infra/redis.sh stop PORT
# The server refuses unauthenticated clients: the `default` user needs the admin password. The
# `admin` user (password in DIR/admin.password, 0600) holds every right and is for operators, tests
# and benchmarks only; a tenant's data plane and batch runner use the tenant's own user. Installs redis-server from Debian
# if it is missing.
set -euo pipefail
action="${1:?usage: infra/redis.sh start|user|stop PORT [DIR] [NAME FILE]}"
port="${2:?port required}"
if ! command -v redis-server >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

random_password() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# redis-cli as admin; the password goes through the environment, never the command line.
admin_cli() {
    local dir="$1"; shift
    REDISCLI_AUTH="$(cat "$dir/admin.password")" redis-cli -p "$port" --user admin "$@"
}

case "$action" in
start)
    dir="${3:?data directory required}"
    mkdir -p "$dir" && chmod 700 "$dir"
    umask 077
    [ -s "$dir/admin.password" ] || random_password > "$dir/admin.password"
    if [ ! -s "$dir/users.acl" ]; then
        # Users created later (`user`) are saved here with ACL SAVE, so they survive a restart. The
        # default user needs the admin password, so unauthenticated clients get NOAUTH. It keeps
        # every right: Redis 7.0 replays the append-only file as the default user, and with that user
        # switched off it refuses MULTI/EXEC blocks on load and drops their writes.
        hash="$(tr -d '\n' < "$dir/admin.password" | sha256sum | cut -d' ' -f1)"
        printf 'user default on #%s ~* &* +@all\nuser admin on #%s ~* &* +@all\n' "$hash" "$hash" > "$dir/users.acl"
    fi
    redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        --aclfile "$dir/users.acl" --appendonly yes --appendfsync everysec --save ""
    for _ in $(seq 1 50); do
        admin_cli "$dir" ping 2>/dev/null | grep -q PONG && { echo "redis://127.0.0.1:$port/0"; exit 0; }
        sleep 0.1
    done
    echo "redis-server did not answer on port $port; see $dir/redis.log" >&2
    exit 1
    ;;
user)
    dir="${3:?data directory required}"
    name="${4:?user name required}"
    file="${5:?password file required}"
    [[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || { echo "user name '$name' must be a tenant name (a-z, 0-9, -)" >&2; exit 64; }
    umask 077
    mkdir -p "$(dirname "$file")"
    password="$(random_password)"
    printf '%s\n' "$password" > "$file"
    chmod 600 "$file"
    # Only the tenant's own keys, and only the commands the data plane and the batch runner send
    # (the set commands keep and read the tenant's sample set): no SCAN or KEYS (they would list
    # other tenants' key names), no FLUSH*, CONFIG or ACL.
    admin_cli "$dir" ACL SETUSER "$name" reset on "#$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)" \
        "~vpt:$name:*" resetchannels -@all +ping +select +get +mget +set +eval +evalsha +script\|load \
        +scard +sadd +srandmember >/dev/null
    admin_cli "$dir" ACL SAVE >/dev/null
    echo "redis://$name@127.0.0.1:$port/0"
    ;;
stop)
    # SHUTDOWN as the admin (the server's --dir is its working directory, which holds the admin's
    # password); a signal would not do: a parent that blocks SIGTERM passes the mask on.
    for pid in $(pgrep -f "^redis-server 127.0.0.1:$port( |$)" || true); do
        dir="$(readlink "/proc/$pid/cwd" || true)"
        if [ -n "$dir" ] && [ -r "$dir/admin.password" ]; then
            admin_cli "$dir" shutdown nosave >/dev/null 2>&1 || true
        else
            redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
        fi
    done
    for _ in $(seq 1 100); do
        pgrep -f "^redis-server 127.0.0.1:$port( |$)" >/dev/null || exit 0
        sleep 0.05
    done
    echo "redis-server on port $port did not stop" >&2
    exit 1
    ;;
*)
    echo "usage: infra/redis.sh start|user|stop PORT [DIR] [NAME FILE]" >&2
    exit 64
    ;;
esac
