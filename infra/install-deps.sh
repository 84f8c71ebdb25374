#!/usr/bin/env bash
# Installs what building and testing vpt needs on a Debian machine (the CI image and dev machines).
# Safe to re-run: packages already present are skipped.
set -euo pipefail

# chromium: the health report's HTML is checked in a headless browser (Tests/health).
packages=(libsqlite3-dev libssl-dev libcurl4-openssl-dev redis-server chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "infra/install-deps.sh: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)"; exit 1; }
# The Python side's tests and the OpenAPI contract test.
python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
command -v schemathesis >/dev/null || python3 -m pip install -q schemathesis
python3 -c "import openapi_spec_validator, yaml" 2>/dev/null || python3 -m pip install -q openapi-spec-validator pyyaml
# Checks of the rendered Terraform and Kubernetes configuration (Tests/config).
command -v checkov >/dev/null || python3 -m pip install -q checkov
command -v kubernetes-validate >/dev/null || python3 -m pip install -q kubernetes-validate
python3 -c "import hcl2" 2>/dev/null || python3 -m pip install -q python-hcl2
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
