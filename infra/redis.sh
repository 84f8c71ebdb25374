#!/usr/bin/env bash
# Starts (or stops) a real redis-server on loopback for the online store, tests and benchmarks, and
# issues the per-tenant ACL users that a customer would create for the vendor.
#   infra/redis.sh start PORT DIR [tls]           -> redis-server on 127.0.0.1:PORT, files in DIR; prints the URL.
#                                                    With `tls` it speaks only TLS on PORT, with a certificate
#                                                    for `localhost` from a CA of its own (DIR/tls/ca.pem, for
#                                                    the store's caFile), and the URLs are rediss://localhost:PORT;
#                                                    a later start on the same DIR keeps TLS.
#                                                    With `mtls` it also verifies its clients: each must present
#                                                    a certificate its CA signed (`user` issues one per tenant).
#   infra/redis.sh user PORT DIR NAME FILE        -> ACL user NAME limited to the keys vpt:NAME:*, its
#                                                    password written to FILE (0600); prints the URL with the user.
#                                                    On an `mtls` server also NAME's client certificate and key,
#                                                    as FILE.client.pem and FILE.client-key.pem (0600).
#   infra/redis.sh stop PORT
# The server refuses unauthenticated clients: the `default` user needs the admin password. The
# `admin` user (password in DIR/admin.password, 0600) holds every right and is for operators, tests
# and benchmarks only; a tenant's data plane and batch runner use the tenant's own user. Installs redis-server from Debian
# if it is missing.
set -euo pipefail
action="${1:?usage: infra/redis.sh start|user|stop PORT [DIR] [NAME FILE]}"
port="${2:?port required}"
install() {
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
command -v redis-server >/dev/null || install redis-server

# TLS mode is a property of the data directory: it holds the CA and the server's certificate, and
# on a server that verifies its clients (mtls) the admin's client certificate as well.
tls_flags() {
    [ -s "$1/tls/ca.pem" ] && echo "--tls --cacert $1/tls/ca.pem -h localhost"
    [ -s "$1/tls/admin-client.pem" ] && echo "--cert $1/tls/admin-client.pem --key $1/tls/admin-client-key.pem"
    true
}

# A client certificate for CN=NAME signed by the server's CA: issue_client DIR NAME CERT KEY.
issue_client() {
    local tls="$1/tls" csr ext
    csr="$(mktemp)"; ext="$(mktemp)"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" -keyout "$4" -out "$csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > "$ext"
    openssl x509 -req -in "$csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 30 -extfile "$ext" -out "$3" 2>/dev/null
    chmod 600 "$4"
    rm -f "$csr" "$ext"
}
url_scheme_host() { [ -s "$1/tls/ca.pem" ] && echo "rediss://" "localhost" || echo "redis://" "127.0.0.1"; }

# A CA of the server's own and a certificate for `localhost` (and 127.0.0.1) that it signs.
make_certificates() {
    local tls="$1/tls"
    command -v openssl >/dev/null || install openssl
    mkdir -p "$tls" && chmod 700 "$tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=vpt test redis CA" \
        -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$tls/server-key.pem" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 30 \
        -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
    rm -f "$tls/server.csr" "$tls/server.ext"
    # New server certificates come with a new CA: clients issued before no longer verify.
    if [ -e "$tls/verify-clients" ]; then issue_client "$1" admin "$tls/admin-client.pem" "$tls/admin-client-key.pem"; fi
}

random_password() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# redis-cli as admin; the password goes through the environment, never the command line.
admin_cli() {
    local dir="$1"; shift
    # shellcheck disable=SC2046  # the TLS flags are words
    REDISCLI_AUTH="$(cat "$dir/admin.password")" redis-cli $(tls_flags "$dir") -p "$port" --user admin "$@"
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
    listen=(--port "$port")
    if [ "${4:-}" = mtls ]; then mkdir -p "$dir/tls" && chmod 700 "$dir/tls" && touch "$dir/tls/verify-clients"; fi
    if [ "${4:-}" = tls ] || [ "${4:-}" = mtls ] || [ -s "$dir/tls/ca.pem" ]; then
        # New certificates when there are none or they expire within a day (they last 30 days).
        if [ ! -s "$dir/tls/server.pem" ] || ! openssl x509 -checkend 86400 -noout -in "$dir/tls/server.pem" >/dev/null 2>&1 ||
            ! openssl x509 -checkend 86400 -noout -in "$dir/tls/ca.pem" >/dev/null 2>&1; then
            make_certificates "$dir"
        fi
        if [ -e "$dir/tls/verify-clients" ] && [ ! -s "$dir/tls/admin-client.pem" ]; then
            issue_client "$dir" admin "$dir/tls/admin-client.pem" "$dir/tls/admin-client-key.pem"
        fi
        verify=no; [ -e "$dir/tls/verify-clients" ] && verify=yes
        listen=(--port 0 --tls-port "$port" --tls-cert-file "$dir/tls/server.pem" --tls-key-file "$dir/tls/server-key.pem"
            --tls-ca-cert-file "$dir/tls/ca.pem" --tls-auth-clients "$verify")
    fi
    redis-server "${listen[@]}" --bind 127.0.0.1 --protected-mode yes --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        --aclfile "$dir/users.acl" --appendonly yes --appendfsync everysec --save ""
    read -r scheme host < <(url_scheme_host "$dir")
    for _ in $(seq 1 50); do
        admin_cli "$dir" ping 2>/dev/null | grep -q PONG && { echo "$scheme$host:$port/0"; exit 0; }
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
    if [ -e "$dir/tls/verify-clients" ]; then issue_client "$dir" "$name" "$file.client.pem" "$file.client-key.pem"; fi
    read -r scheme host < <(url_scheme_host "$dir")
    echo "$scheme$name@$host:$port/0"
    ;;
stop)
    # SHUTDOWN as the admin (the server's --dir is its working directory, which holds the admin's
    # password); a signal would not do: a parent that blocks SIGTERM passes the mask on.
    for pid in $(pgrep -f "^redis-server 127.0.0.1:$port( |$)" || true); do
        dir="$(readlink "/proc/$pid/cwd" || true)"
        if [ -n "$dir" ] && [ -r "$dir/admin.password" ]; then
            admin_cli "$dir" shutdown nosave >/dev/null 2>&1 || true
        else
            redis-cli $(tls_flags "${dir:-/nonexistent}") -p "$port" shutdown nosave >/dev/null 2>&1 || true
        fi
    done
    for _ in $(seq 1 100); do
        pgrep -f "^redis-server 127.0.0.1:$port( |$)" >/dev/null || exit 0
        sleep 0.05
    done
    # The server refused the shutdown (its folder is gone, or its admin login no longer works):
    # SIGKILL, which no mask blocks. Its append-only file holds every write up to the last second.
    pids="$(pgrep -f "^redis-server 127.0.0.1:$port( |$)" || true)"
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 1 40); do
        pgrep -f "^redis-server 127.0.0.1:$port( |$)" >/dev/null || { echo "redis-server on port $port refused SHUTDOWN; killed it" >&2; exit 0; }
        sleep 0.05
    done
    echo "redis-server on port $port did not stop" >&2
    exit 1
    ;;
*)
    echo "usage: infra/redis.sh start|user|stop PORT [DIR] [NAME FILE | tls | mtls]" >&2
    exit 64
    ;;
esac
