#!/usr/bin/env bash
# The whole test suite: install dependencies, one debug build, every Swift test, then the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
swift build --build-tests
swift test --skip-build
# The SDK as data scientists install it (pip install ./sdk/python), then its own tests.
python3 -m pip install -q ./sdk/python
(cd sdk/python && python3 -m pytest -q tests)
VPT_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest -q -s Tests/contract Tests/config Tests/health Tests/sdk Tests/rift
