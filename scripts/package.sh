#!/usr/bin/env bash
# Builds the Debian package build/wsworkbench_<version>_<arch>.deb (or in $WSW_BUILD_DIR)
# with CPack from the normal build tree. Install it with
#   sudo apt install ./build/wsworkbench_*.deb
# Only the two programs are built first; `cmake --build build --target package` makes
# the same package after building everything (tests and benchmarks included).
# Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --package
build_dir=${WSW_BUILD_DIR:-build}
WSW_BUILD_TARGETS="wsworkbench wsw" scripts/build.sh "$@"
rm -f "$build_dir"/wsworkbench_*.deb
(cd "$build_dir" && cpack --config CPackConfig.cmake)
ls "$build_dir"/wsworkbench_*.deb
