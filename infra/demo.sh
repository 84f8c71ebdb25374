#!/usr/bin/env bash
# The main job on the embedded local target: create a fleet, provision the demo tenant (which starts
# its control plane and data plane and smoke-tests them), ingest a feature value through the ingest
# API and read it back as a feature vector from the tenant's feature server.
# VPT_HOME defaults to ./.vpt-demo so the demo never touches another fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
swift build --product vpt
swift build --product vpt-runtime
BIN="$(swift build --show-bin-path)"
VPT="$BIN/vpt"
export VPT_HOME="${VPT_HOME:-$PWD/.vpt-demo}"
"$VPT" init
"$VPT" tenant validate -f examples/acme-eu.yaml
"$VPT" provision tenant acme-eu -f examples/acme-eu.yaml
"$VPT" tenant start acme-eu   # no-op when already running (e.g. a re-run of the demo)

secrets="$VPT_HOME/tenants/acme-eu/secrets"
port="$("$VPT" tenant show acme-eu --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataPlanePort"])')"
key="$(cat "$secrets/health-api-key")"
ca="$VPT_HOME/tenants/acme-eu/tls/ca.pem"   # the tenant's own CA: its planes serve HTTPS
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "Ingest a value for probe 'demo':"
curl -sS --cacert "$ca" -H "Authorization: Tecton-key $key" \
    -d "{\"workspace_name\": \"vpt-health\", \"records\": {\"probe_events\": [{\"record\": {\"probe_id\": \"demo\", \"value\": 42, \"ts\": \"$now\"}}]}}" \
    "https://127.0.0.1:$port/ingest"
echo
echo "Feature vector for probe 'demo':"
curl -sS --cacert "$ca" -H "Authorization: Tecton-key $key" \
    -d '{"params": {"workspace_name": "vpt-health", "feature_service_name": "probe_service", "join_key_map": {"probe_id": "demo"}, "metadata_options": {"include_names": true, "include_data_types": true, "include_serving_status": true}}}' \
    "https://127.0.0.1:$port/api/v1/feature-service/get-features"
echo
echo
echo "The tenant keeps running: \`VPT_HOME=$VPT_HOME $VPT tenant endpoints acme-eu\` shows how to call it, \`VPT_HOME=$VPT_HOME $VPT tenant stop acme-eu\` stops it."
