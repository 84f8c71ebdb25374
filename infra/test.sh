#!/usr/bin/env bash
# The whole test suite: install dependencies, one debug build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
swift build --build-tests
swift test --skip-build
