#!/usr/bin/env bash
# The main job on the embedded local target: create a fleet, provision the demo tenant, show it.
# VPT_HOME defaults to ./.vpt-demo so the demo never touches another fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
swift build --product vpt
VPT="$(swift build --show-bin-path)/vpt"
export VPT_HOME="${VPT_HOME:-$PWD/.vpt-demo}"
"$VPT" init
"$VPT" tenant validate -f examples/acme-eu.yaml
"$VPT" plan tenant acme-eu -f examples/acme-eu.yaml || true
"$VPT" provision tenant acme-eu -f examples/acme-eu.yaml
"$VPT" tenant show acme-eu
echo
echo "Runtime config: $VPT_HOME/tenants/acme-eu/config/runtime.json"
