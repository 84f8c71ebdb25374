"""The client's retries against a real HTTP server on a loopback port: 502/503/504 and refused
connections are retried with backoff within ``max_unavailable_wait``; other errors are not."""

import http.server
import json
import socket
import threading
import time
import urllib.error

import pytest

import vpt_sdk


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next status of the server's script (the last one repeats)."""

    def do_GET(self):
        server = self.server
        server.calls += 1
        status = server.script[min(server.calls, len(server.script)) - 1]
        body = json.dumps({"featureServices": [{"name": "fraud"}]} if status == 200 else {"message": f"status {status}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(script, port=0):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Scripted)
    server.script, server.calls = script, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def client(port, **options):
    return vpt_sdk.Client(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}", "key", **options)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_an_unavailable_answer_is_retried_until_the_tenant_answers(status):
    server = serve([status, status, 200])
    try:
        assert client(server.server_port).workspace("prod").list_feature_services() == ["fraud"]
        assert server.calls == 3
    finally:
        server.shutdown()


def test_without_a_wait_budget_the_first_unavailable_answer_is_raised():
    server = serve([503, 200])
    try:
        with pytest.raises(vpt_sdk.ClientError) as raised:
            client(server.server_port, max_unavailable_wait=0).workspace("prod").list_feature_services()
        assert raised.value.status == 503 and "status 503" in str(raised.value)
        assert server.calls == 1
    finally:
        server.shutdown()


def test_a_tenant_that_stays_unavailable_raises_once_the_budget_is_spent():
    server = serve([503])
    try:
        started = time.monotonic()
        with pytest.raises(vpt_sdk.ClientError) as raised:
            client(server.server_port, max_unavailable_wait=0.8).workspace("prod").list_feature_services()
        assert raised.value.status == 503
        # Waits of 0.1, 0.2 and 0.4 s fit in 0.8 s; the next (0.8 s) would not.
        assert server.calls == 4
        assert 0.7 <= time.monotonic() - started < 5
    finally:
        server.shutdown()


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_other_errors_are_raised_at_once(status):
    server = serve([status, 200])
    try:
        with pytest.raises(vpt_sdk.ClientError) as raised:
            client(server.server_port).workspace("prod").list_feature_services()
        assert raised.value.status == status
        assert server.calls == 1
    finally:
        server.shutdown()


def test_a_refused_connection_is_retried_until_the_server_listens():
    port = free_port()
    late = threading.Timer(0.5, lambda: holder.append(serve([200], port)))
    holder = []
    late.start()
    try:
        assert client(port).workspace("prod").list_feature_services() == ["fraud"]
    finally:
        late.join()
        for server in holder:
            server.shutdown()


def test_a_refused_connection_without_a_wait_budget_is_raised():
    with pytest.raises(urllib.error.URLError) as raised:
        client(free_port(), max_unavailable_wait=0).workspace("prod").list_feature_services()
    assert isinstance(raised.value.reason, ConnectionRefusedError)
