"""Checks the Terraform and Kubernetes configuration vpt renders for every example tenant (and for
a tenant whose description and labels try to inject): checkov reports no failed check and every
skip carries its reason; kubernetes-validate passes; python-hcl2 parses every file; terraform fmt
agrees where terraform is installed; every region in them is an allowed one; and the vendor and
customer configurations each declare only their own account's resources."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import hcl2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("VPT_BIN_DIR", ROOT / ".build" / "debug"))
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"

# name -> (spec file, provisioned?)
TENANTS = {
    "acme-eu": (ROOT / "examples" / "acme-eu.yaml", True),
    "globex-us": (ROOT / "examples" / "globex-us.yaml", True),
    "quote-test": (FIXTURES / "escaping.yaml", False),
}
REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)(?:-gov)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d\b")
VENDOR_ONLY_TYPES = {"aws_vpc", "aws_subnet", "aws_default_security_group", "aws_flow_log", "aws_cloudwatch_log_group",
                     "aws_lb", "aws_lb_target_group", "aws_lb_listener", "aws_vpc_endpoint_service"}
CUSTOMER_ONLY_PREFIXES = ("aws_s3_bucket", "aws_dynamodb_table")


def vpt(home, *args):
    result = subprocess.run([str(BIN / "vpt"), *args, "--home", str(home)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def fleet():
    home = pathlib.Path(tempfile.mkdtemp(prefix="vpt-render-"))
    vpt(home, "init", "--no-runtime")
    folders = {}
    for name, (spec, provision) in TENANTS.items():
        if provision:
            vpt(home, "provision", "tenant", name, "-f", str(spec))
            folders[name] = home / "tenants" / name / "config"
        else:
            out = home / "render" / name
            vpt(home, "render", "tenant", name, "-f", str(spec), "--out", str(out))
            folders[name] = out
    yield home, folders
    shutil.rmtree(home, ignore_errors=True)


def spec_of(name):
    return yaml.safe_load(TENANTS[name][0].read_text())


def tf_files(folder, account):
    return sorted((folder / "terraform" / account).glob("*.tf"))


def parsed(folder, account):
    documents = []
    for path in tf_files(folder, account):
        with path.open() as handle:
            documents.append(hcl2.load(handle))
    return documents


def resources(documents):
    """(type, name, body) of every resource block."""
    for document in documents:
        for block in document.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    yield rtype.strip('"'), name.strip('"'), body


def one(value):
    """python-hcl2 0.4 wraps attribute values in one-element lists; later versions do not."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("name", TENANTS)
def test_checkov_reports_no_failed_check_and_every_skip_has_a_reason(fleet, name):
    _, folders = fleet
    folder = folders[name]
    result = subprocess.run(
        ["checkov", "-d", str(folder), "--framework", "terraform", "kubernetes", "--output", "json"],
        capture_output=True, text=True, timeout=600)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    frameworks = {report["check_type"] for report in reports}
    assert frameworks == {"terraform", "kubernetes"}, f"checkov scanned {frameworks}"
    for report in reports:
        summary = report["summary"]
        failed = [f"{c['check_id']} {c['resource']} {c['file_path']}" for c in report["results"]["failed_checks"]]
        assert summary["failed"] == 0, f"{report['check_type']}: {failed}"
        assert summary["passed"] > 50, f"{report['check_type']} ran only {summary['passed']} checks"
        for skipped in report["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) >= 40, f"skip of {skipped['check_id']} on {skipped['resource']} lacks a reason: {reason!r}"


@pytest.mark.parametrize("name", TENANTS)
def test_kubernetes_manifests_validate_against_a_current_kubernetes(fleet, name):
    _, folders = fleet
    manifests = sorted(str(p) for p in (folders[name] / "kubernetes").glob("*.yaml"))
    assert len(manifests) == 5
    result = subprocess.run(["kubernetes-validate", "--strict", "--no-warn", *manifests], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = sorted(doc["kind"] for path in manifests for doc in yaml.safe_load_all(pathlib.Path(path).read_text()) if doc)
    assert kinds == sorted(["Namespace", "ConfigMap", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy",
                            "ServiceAccount", "PersistentVolumeClaim", "Deployment", "Service", "PodDisruptionBudget",
                            "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget"])


@pytest.mark.parametrize("name", TENANTS)
def test_every_terraform_file_parses_and_is_formatted(fleet, name):
    _, folders = fleet
    for account in ("vendor-account", "customer-account"):
        assert len(parsed(folders[name], account)) >= 6
        terraform = shutil.which("terraform")
        if terraform is None:
            print(f"terraform is not on PATH: skipped `terraform fmt -check` for {name}/{account}")
            continue
        result = subprocess.run([terraform, "fmt", "-check", "-diff", str(folders[name] / "terraform" / account)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", TENANTS)
def test_every_region_in_the_rendered_configs_is_allowed(fleet, name):
    _, folders = fleet
    allowed = set(spec_of(name)["customerAccount"]["residency"]["allowedRegions"])
    seen = set()
    for account in ("vendor-account", "customer-account"):
        for document in parsed(folders[name], account):
            for provider in document.get("provider", []):
                region = one(provider["aws"]["region"])
                assert region in allowed, f"{account} provider pinned to {region}"
                seen.add(region)
            for rtype, rname, body in resources([document]):
                for text in strings(body):
                    for region in REGION.findall(text):
                        assert region in allowed, f"{account} {rtype}.{rname} names region {region}"
                        seen.add(region)
    for path in (folders[name] / "kubernetes").glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"] == "ConfigMap":
                config = json.loads(document["data"]["runtime.json"])
                regions = [config["dataPlane"]["region"], config["dataPlane"]["rift"]["region"],
                           config["onlineStore"]["region"], config["offlineStore"]["region"], *config["allowedRegions"]]
                assert set(regions) <= allowed, regions
    # Region names anywhere else in the text (comments, policies) must be allowed too.
    for path in folders[name].rglob("*"):
        if path.is_file():
            for region in REGION.findall(path.read_text()):
                assert region in allowed, f"{path.name} mentions {region}"
    spec = spec_of(name)
    assert spec["vendorAccount"]["region"] in seen and spec["customerAccount"]["region"] in seen


@pytest.mark.parametrize("name", TENANTS)
def test_each_account_declares_only_its_own_resources(fleet, name):
    _, folders = fleet
    spec = spec_of(name)
    customer_id = spec["customerAccount"]["accountId"]
    customer_managed = spec.get("encryption", {}).get("cmk", {}).get("managedBy") == "customer"
    vendor = parsed(folders[name], "vendor-account")
    customer = parsed(folders[name], "customer-account")

    for document in vendor:
        for provider in document.get("provider", []):
            assert one(provider["aws"]["allowed_account_ids"]) == "${var.vendor_account_id}"
    for document in customer:
        for provider in document.get("provider", []):
            assert one(provider["aws"]["allowed_account_ids"]) == customer_id

    vendor_types = {rtype for rtype, _, _ in resources(vendor)}
    customer_types = {rtype for rtype, _, _ in resources(customer)}
    assert not any(t.startswith(CUSTOMER_ONLY_PREFIXES) for t in vendor_types), vendor_types
    assert not (customer_types & VENDOR_ONLY_TYPES), customer_types
    assert {"aws_vpc", "aws_flow_log", "aws_vpc_endpoint_service"} <= vendor_types
    assert {"aws_s3_bucket", "aws_dynamodb_table", "aws_iam_role"} <= customer_types

    vendor_roles = {one(body["name"]) for rtype, _, body in resources(vendor) if rtype == "aws_iam_role"}
    customer_roles = {one(body["name"]) for rtype, _, body in resources(customer) if rtype == "aws_iam_role"}
    assert vendor_roles == {f"vpt-{name}-control-plane", f"vpt-{name}-data-plane", f"vpt-{name}-flow-logs"}
    assert customer_roles == {f"vpt-{name}-access"}

    creates_customer_key = customer_managed and spec["encryption"]["cmk"]["keyRef"].startswith("alias/")
    assert ("aws_kms_key" in vendor_types) == (not customer_managed)
    assert ("aws_kms_key" in customer_types) == creates_customer_key

    role = next(body for rtype, _, body in resources(customer) if rtype == "aws_iam_role")
    trust = str(one(role["assume_role_policy"]))
    assert "sts:ExternalId" in trust and "var.external_id" in trust
    assert one(role["max_session_duration"]) == spec["customerAccount"].get("crossAccountRole", {}).get("maxSessionSeconds", 3600)


def test_injection_attempts_stay_inside_their_strings(fleet):
    _, folders = fleet
    folder = folders["quote-test"]
    spec = spec_of("quote-test")
    vendor = parsed(folder, "vendor-account")
    customer = parsed(folder, "customer-account")
    for documents in (vendor, customer):
        types = {rtype for rtype, _, _ in resources(documents)}
        assert "aws_iam_user" not in types
    # python-hcl2 keeps string literals as written: decode HCL's escapes and compare to the spec.
    tags = one(next(d["locals"][0]["tags"] for d in vendor if "locals" in d and "tags" in d["locals"][0]))
    decoded = {hcl_unquote(k): hcl_unquote(v) for k, v in tags.items()}
    assert decoded["vpt:description"] == spec["description"]
    for key, value in spec["labels"].items():
        assert decoded[key] == value
    namespace = yaml.safe_load((folder / "kubernetes" / "namespace.yaml").read_text())
    assert namespace["metadata"]["annotations"]["vpt.dev/description"] == spec["description"]
    assert json.loads(namespace["metadata"]["annotations"]["vpt.dev/labels"]) == spec["labels"]


def hcl_unquote(literal):
    """The value of an HCL string literal as python-hcl2 returns it: escapes kept, quotes kept by
    some versions and dropped by others."""
    body = literal[1:-1] if len(literal) >= 2 and literal[0] == literal[-1] == '"' else literal
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            n = body[i + 1]
            if n == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}[n])
            i += 2
        elif body.startswith("${", i) or body.startswith("%{", i):
            raise AssertionError(f"unescaped template sequence at {i} in {literal!r}")
        elif body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1:i + 3])
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_render_refuses_an_image_without_a_digest_and_writes_nothing(fleet):
    home, _ = fleet
    out = home / "refused"
    result = subprocess.run([str(BIN / "vpt"), "render", "tenant", "acme-eu", "--image", "ghcr.io/acme/vpt-runtime:latest",
                             "--out", str(out), "--home", str(home)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 65, result.stdout + result.stderr
    assert "sha256" in result.stderr and not out.exists()
    result = subprocess.run([str(BIN / "vpt"), "init", "--runtime-image", "vpt:latest", "--home", str(home)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 65, result.stdout + result.stderr


def test_render_with_an_image_pins_it_in_both_deployments(fleet):
    home, _ = fleet
    out = home / "pinned"
    image = "ghcr.io/acme/vpt-runtime@sha256:" + "ab" * 32
    report = json.loads(vpt(home, "render", "tenant", "acme-eu", "--image", image, "--out", str(out), "--output", "json"))
    assert len(report["files"]) == 18 and report["unknownValues"] == []
    for plane in ("control-plane", "data-plane"):
        documents = list(yaml.safe_load_all((out / "kubernetes" / f"{plane}.yaml").read_text()))
        deployment = next(d for d in documents if d["kind"] == "Deployment")
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
