#!/usr/bin/env bash
# Builds everything and runs the whole test suite through CTest: unit, integration,
# interop (real peers: python3-websockets, Node's ws, headless Chromium) and GUI tests.
# Extra arguments go to ctest (e.g. -L unit, -R framedecoder).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build_dir=${WSW_BUILD_DIR:-build}
# In CI a missing interop peer is a failure, never a silent skip.
export WSW_REQUIRE_PEERS=1
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j2 "$@"
