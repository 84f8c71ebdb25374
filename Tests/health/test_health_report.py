"""`vpt health` as monitoring systems and auditors see it: the JSON output validates against
docs/health-report.schema.json, and the HTML page, rendered by headless Chromium, shows every
tenant's and every check's status (a failure provoked on purpose shows as fail)."""

import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import tempfile

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("VPT_BIN_DIR", ROOT / ".build" / "debug"))


def vpt(home, *args, check=True):
    result = subprocess.run([str(BIN / "vpt"), *args, "--home", str(home)], capture_output=True, text=True, timeout=180)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def fleet():
    home = pathlib.Path(tempfile.mkdtemp(prefix="vpt-health-"))
    # Below the kernel's ephemeral range (32768+): no outgoing connection can hold a tenant's port.
    base = 30000 + random.randrange(0, 27) * 100
    vpt(home, "init", "--port-range", f"{base}-{base + 99}")
    spec = (ROOT / "examples" / "acme-eu.yaml").read_text()
    for name in ("fine", "broken"):
        path = home / f"{name}.yaml"
        path.write_text(spec.replace("name: acme-eu", f"name: {name}"))
        vpt(home, "provision", "tenant", name, "-f", str(path))
    # Break one tenant on purpose: its online store file disappears.
    config = json.loads((home / "tenants/broken/config/runtime.json").read_text())
    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(config["onlineStore"]["location"] + suffix).unlink(missing_ok=True)
    yield home
    for name in ("fine", "broken"):
        vpt(home, "tenant", "stop", name, check=False)
    shutil.rmtree(home, ignore_errors=True)


def test_json_report_follows_the_documented_schema(fleet):
    result = vpt(fleet, "health", "--all", "--output", "json", check=False)
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    schema = json.loads((ROOT / "docs" / "health-report.schema.json").read_text())
    jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())
    assert [t["name"] for t in report["tenants"]] == ["broken", "fine"]
    broken = {c["id"]: c for c in report["tenants"][0]["checks"]}
    assert broken["store.online"]["status"] == "fail" and broken["store.online"]["remedy"]
    assert report["summary"]["fail"] >= 1 and report["exitCode"] == 2


def test_html_report_renders_statuses_in_headless_chromium(fleet):
    page = fleet / "report.html"
    result = vpt(fleet, "health", "--all", "--output", "html", "--out", str(page), check=False)
    assert result.returncode == 2, result.stderr
    html = page.read_text()
    # Self-contained: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html) and "<link" not in html and "<script" not in html
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (infra/install-deps.sh installs it)"
    dump = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom = dump.stdout
    assert dom.strip(), dump.stderr[-2000:]
    assert 'id="fleet-status" data-status="fail"' in dom
    assert re.search(r'<tr data-tenant="broken" data-status="fail">', dom)
    assert re.search(r'<tr data-check="store.online" data-status="fail">', dom)
    rows = re.findall(r'<tr data-check="([^"]+)" data-status="(ok|warn|fail|unknown)">', dom)
    assert len(rows) == 30, rows  # 15 checks for each of the two tenants
    assert ("runtime.data-plane", "ok") in rows
    screenshot = fleet / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                    f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=120)
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
