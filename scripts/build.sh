#!/usr/bin/env bash
# Configures and builds into build/ (or $WSW_BUILD_DIR). Extra arguments go to cmake.
# $WSW_BUILD_TARGETS, when set, names the targets to build instead of all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WSW_BUILD_DIR:-build}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
launcher=()
if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    # Paths below the checkout are hashed relative to it, so checkouts share the cache.
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSW_WERROR=$werror \
    "${launcher[@]}" "$@" >/dev/null
targets=()
[[ -n "${WSW_BUILD_TARGETS:-}" ]] && read -ra targets <<<"--target $WSW_BUILD_TARGETS"
cmake --build "$build_dir" --parallel "$(nproc)" "${targets[@]}"
