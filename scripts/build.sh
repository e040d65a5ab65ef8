#!/usr/bin/env bash
# Configures and builds into build/ (or $WSW_BUILD_DIR). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WSW_BUILD_DIR:-build}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSW_WERROR=$werror "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
