"""Online store sinks of the Rift runner: the tenant's SQLite file or its Redis namespace, both
written with the shared record codec and the feature server's rule: a newer event time wins, ties
go to the newer write, a late event never overwrites a newer one."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import sqlite3
from urllib.parse import urlparse

# The same script as RedisOnlineStore.upsertScript (Runtime/Stores/RedisOnlineStore.swift); a test
# checks that the two stay equal.
REDIS_UPSERT_SCRIPT = """local current = redis.call('GET', KEYS[1])
if current then
  local ce, cw = struct.unpack('>i8>i8', string.sub(current, 2, 17))
  local ne, nw = struct.unpack('>i8>i8', string.sub(ARGV[1], 2, 17))
  if ne < ce or (ne == ce and nw <= cw) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
if current then return 1 end
return 2"""
# Keys created join the tenant's sample set, which audits read, while it holds fewer than this many
# (RedisOnlineStore.sampleCap).
REDIS_SAMPLE_CAP = 1000


class SinkError(RuntimeError):
    """The online store refused or failed a write."""


class SQLiteSink:
    def __init__(self, location: str):
        self.location = location
        self.connection = sqlite3.connect(location, timeout=30)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(
            """CREATE TABLE IF NOT EXISTS online_record (
                   workspace TEXT NOT NULL, feature_view TEXT NOT NULL, entity_key BLOB NOT NULL,
                   value BLOB NOT NULL, event_time INTEGER NOT NULL, write_time INTEGER NOT NULL,
                   PRIMARY KEY (workspace, feature_view, entity_key)) WITHOUT ROWID""")

    def upsert(self, workspace: str, view: str, records: list[tuple[bytes, bytes, int, int]]) -> int:
        """records: (entity key, value, event time, write time); one transaction per call."""
        before = self.connection.total_changes
        with self.connection:
            self.connection.executemany(
                """INSERT INTO online_record (workspace, feature_view, entity_key, value, event_time, write_time)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (workspace, feature_view, entity_key) DO UPDATE SET
                       value = excluded.value, event_time = excluded.event_time, write_time = excluded.write_time
                   WHERE excluded.event_time > online_record.event_time
                      OR (excluded.event_time = online_record.event_time AND excluded.write_time > online_record.write_time)""",
                [(workspace, view, key, value, event, write) for key, value, event, write in records])
        return self.connection.total_changes - before

    def close(self) -> None:
        self.connection.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.location + suffix):
                os.chmod(self.location + suffix, 0o600)


def read_password_file(path: str) -> str:
    """The Redis ACL user's password, from a file only its owner may read (as the data plane checks)."""
    try:
        info = os.stat(path)
    except OSError:
        raise SinkError(f"onlineStore.passwordFile: {path} is missing") from None
    if info.st_mode & 0o077:
        raise SinkError(f"onlineStore.passwordFile: {path} must be readable by its owner only (mode 0600); it is {info.st_mode & 0o777:o}")
    with open(path, encoding="utf-8") as handle:
        password = handle.read().strip()
    if not password or "\n" in password:
        raise SinkError(f"onlineStore.passwordFile: {path} must hold the password on one line")
    return password


def tls_context(host: str, ca_file: str | None, client_cert: str | None = None, client_key: str | None = None) -> ssl.SSLContext:
    """The client side of a rediss:// endpoint, as the data plane has it: TLS 1.2 or newer, the
    server's certificate checked against ca_file (or the system's roots) and against the host name,
    and the tenant's client certificate presented when the store names one."""
    if is_ip_address(host):
        raise SinkError(f"onlineStore.location: a rediss:// endpoint must name the server by the DNS name in its certificate, not by the IP address {host}")
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise SinkError(f"onlineStore.caFile: {ca_file} cannot be read as PEM certificates ({error})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if (client_cert is None) != (client_key is None):
        raise SinkError("onlineStore.clientCertFile and clientKeyFile go together: name both or neither")
    if client_cert and client_key:
        mode = os.stat(client_key).st_mode if os.path.exists(client_key) else None
        if mode is None:
            raise SinkError(f"onlineStore.clientKeyFile: {client_key} is missing")
        if mode & 0o077:
            raise SinkError(f"onlineStore.clientKeyFile: {client_key} must be readable by its owner only (mode 0600); it is {mode & 0o777:o}")
        try:
            context.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as error:
            raise SinkError(f"onlineStore.clientCertFile: {client_cert} with its key {client_key} cannot be used ({error})") from None
    return context


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class RedisSink:
    """A minimal RESP client: AUTH, SELECT, SCRIPT LOAD and pipelined EVALSHA, over TLS for rediss://."""

    def __init__(self, url: str, namespace: str, password_file: str | None = None, ca_file: str | None = None,
                 client_cert: str | None = None, client_key: str | None = None):
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss") or not parsed.hostname or not parsed.port:
            raise SinkError("onlineStore.location: the redis endpoint must be redis://[USER@]HOST:PORT[/DB] or rediss://[USER@]HOST:PORT[/DB]")
        if parsed.password is not None:
            raise SinkError("onlineStore.location: the redis endpoint must not carry a password; name a passwordFile")
        named = [field for field, value in (("caFile", ca_file), ("clientCertFile", client_cert), ("clientKeyFile", client_key)) if value]
        if named and parsed.scheme != "rediss":
            raise SinkError(f"onlineStore.{' and '.join(named)}: {'is' if len(named) == 1 else 'are'} only used with a rediss:// (TLS) endpoint")
        self.namespace = namespace.encode()
        context = tls_context(parsed.hostname, ca_file, client_cert, client_key) if parsed.scheme == "rediss" else None
        try:
            raw = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
        except OSError as error:
            raise SinkError(f"cannot connect to redis at {parsed.hostname}:{parsed.port}: {error}") from None
        try:
            self.socket = context.wrap_socket(raw, server_hostname=parsed.hostname) if context else raw
        except (OSError, ssl.SSLError) as error:
            raw.close()
            raise SinkError(f"the TLS handshake with {parsed.hostname}:{parsed.port} failed ({error}); "
                            "check the server's certificate against onlineStore.caFile, and whether the server "
                            "wants a client certificate (onlineStore.clientCertFile)") from None
        self.reader = self.socket.makefile("rb")
        login = [[b"SELECT", (parsed.path.strip("/") or "0").encode()]]
        if password_file:
            password = read_password_file(password_file).encode()
            login.insert(0, [b"AUTH", parsed.username.encode(), password] if parsed.username else [b"AUTH", password])
        try:
            for command in login:
                self._call(command)
        except SinkError as error:
            if not str(error).startswith("redis connection failed"):
                raise
            if context is None:
                hint = "does the server expect TLS (rediss://)?"
            elif client_cert is None:
                # With TLS 1.3 a server that wants a client certificate says so only by closing.
                hint = ("does the server speak TLS on this port (else redis://), and does it verify its clients "
                        "(then name the tenant's certificate in onlineStore.clientCertFile and clientKeyFile)?")
            else:
                hint = "does the server's CA sign the certificate in onlineStore.clientCertFile?"
            raise SinkError(f"{parsed.hostname}:{parsed.port} closed the connection before the login was answered ({error}); {hint}") from None
        self.sha = self._call([b"SCRIPT", b"LOAD", REDIS_UPSERT_SCRIPT.encode()]).decode()

    @staticmethod
    def _command(parts: list[bytes]) -> bytes:
        out = bytearray(b"*%d\r\n" % len(parts))
        for part in parts:
            out += b"$%d\r\n" % len(part) + part + b"\r\n"
        return bytes(out)

    def _reply(self):
        try:
            line = self.reader.readline()
        except OSError as error:
            raise SinkError(f"redis connection failed: {error}") from None
        if not line:
            raise SinkError("redis connection failed: closed by the server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise SinkError(f"redis: {rest.decode(errors='replace')}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)
            return data[:-2]
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        raise SinkError(f"redis: unexpected reply {line!r}")

    def _send(self, payload: bytes) -> None:
        try:
            self.socket.sendall(payload)
        except OSError as error:
            raise SinkError(f"redis connection failed: {error}") from None

    def _call(self, parts: list[bytes]):
        self._send(self._command(parts))
        return self._reply()

    def key(self, workspace: str, view: str, entity_key: bytes) -> bytes:
        return self.namespace + f"{workspace}:{view}:".encode() + entity_key

    def upsert(self, workspace: str, view: str, records: list[tuple[bytes, bytes, int, int]]) -> int:
        """Stores the records that are newer than what is there; returns how many were stored."""
        if not records:
            return 0
        sample = self.namespace + b"#sample"
        keys = [self.key(workspace, view, key) for key, _, _, _ in records]
        payload = self._command([b"SCARD", sample]) + b"".join(
            self._command([b"EVALSHA", self.sha.encode(), b"1", key, value]) for key, (_, value, _, _) in zip(keys, records))
        self._send(payload)
        sampled = self._reply()
        replies = [self._reply() for _ in records]
        joining = [key for key, reply in zip(keys, replies) if reply == 2][:max(0, REDIS_SAMPLE_CAP - sampled)]
        if joining:
            self._call([b"SADD", sample, *joining])
        return sum(1 for reply in replies if reply > 0)

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


def open_sink(store: dict):
    if store["kind"] == "sqlite":
        return SQLiteSink(store["location"])
    if store["kind"] == "redis":
        return RedisSink(store["location"], store.get("namespace") or "", store.get("passwordFile"), store.get("caFile"),
                         store.get("clientCertFile"), store.get("clientKeyFile"))
    raise SinkError(f"onlineStore.kind: '{store['kind']}' must be sqlite or redis")
