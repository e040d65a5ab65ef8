#!/usr/bin/env bash
# Configures and builds into build/ (or $WSW_BUILD_DIR). Extra arguments go to cmake.
# $WSW_BUILD_TARGETS, when set, names the targets to build instead of all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WSW_BUILD_DIR:-build}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSW_WERROR=$werror "$@" >/dev/null
targets=()
[[ -n "${WSW_BUILD_TARGETS:-}" ]] && read -ra targets <<<"--target $WSW_BUILD_TARGETS"
cmake --build "$build_dir" --parallel "$(nproc)" "${targets[@]}"
