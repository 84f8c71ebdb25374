"""Runs schemathesis against a running tenant's feature server and ingest API, with a valid key,
and requires no 5xx and no response outside docs/openapi/data-plane.yaml."""

import json
import os
import pathlib
import random
import shutil
import ssl
import subprocess
import tempfile
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("VPT_BIN_DIR", ROOT / ".build" / "debug"))


def vpt(home, *args):
    result = subprocess.run([str(BIN / "vpt"), *args, "--home", str(home)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def call(method, url, key, body=None, ca=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Tecton-key {key}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(request, timeout=5, context=context) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def tenant():
    home = pathlib.Path(tempfile.mkdtemp(prefix="vpt-openapi-"))
    # Below the kernel's ephemeral range (32768+): no outgoing connection can hold a tenant's port.
    base = 30000 + random.randrange(0, 27) * 100
    vpt(home, "init", "--port-range", f"{base}-{base + 99}")
    vpt(home, "provision", "tenant", "acme-eu", "-f", str(ROOT / "examples" / "acme-eu.yaml"))
    show = json.loads(vpt(home, "tenant", "show", "acme-eu", "--output", "json"))
    control, data = int(show["controlPlanePort"]), int(show["dataPlanePort"])
    admin = (home / "tenants/acme-eu/secrets/admin-api-key").read_text()
    repo = {
        "entities": [{"name": "user", "joinKeys": [{"name": "user_id", "type": "int64"}]}],
        "pushSources": [{"name": "transactions", "timestampField": "ts", "schema": [
            {"name": "user_id", "type": "int64"}, {"name": "amount", "type": "float64"},
            {"name": "merchant", "type": "string"}, {"name": "ts", "type": "string"}]}],
        "featureViews": [{"name": "user_txn", "entities": ["user"], "source": "transactions",
                          "features": [{"name": "amount", "type": "float64"}, {"name": "merchant", "type": "string"}],
                          "ttlSeconds": 3600, "online": True, "offline": True}],
        "featureServices": [{"name": "fraud", "featureViews": ["user_txn"]}],
    }
    ca = str(home / "tenants/acme-eu/tls/ca.pem")  # the planes serve HTTPS under the tenant CA
    call("POST", f"https://127.0.0.1:{control}/v1/workspaces/prod/apply", admin, repo, ca)
    call("PUT", f"https://127.0.0.1:{control}/v1/workspaces/prod/role-bindings/fraud-scorer", admin, {"role": "owner"}, ca)
    key = call("POST", f"https://127.0.0.1:{control}/v1/service-accounts/fraud-scorer/api-keys", admin, None, ca)["key"]
    yield home, data, key, ca
    subprocess.run([str(BIN / "vpt"), "tenant", "stop", "acme-eu", "--home", str(home)], capture_output=True, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


def test_no_server_errors_and_responses_match_the_schema(tenant):
    home, port, key, ca = tenant
    result = subprocess.run(
        ["schemathesis", "run", str(ROOT / "docs/openapi/data-plane.yaml"), "--url", f"https://127.0.0.1:{port}", "--tls-verify", ca,
         "-H", f"Authorization: Tecton-key {key}", "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance",
         "--max-examples", "60", "--generation-deterministic", "--workers", "1"],
        capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    print(output[-1200:])  # the summary (cases generated, passed) shows with pytest -s
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output, output[-3000:]
