#!/usr/bin/env bash
# Installs what is missing, builds the two programs (not the tests or the benchmarks)
# and starts the workbench window. Extra arguments go to wsworkbench (e.g. --demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
WSW_BUILD_TARGETS="wsworkbench wsw" scripts/build.sh
build_dir=${WSW_BUILD_DIR:-build}
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
    cat >&2 <<MESSAGE
The window needs a display, and there is none here (DISPLAY and WAYLAND_DISPLAY are not set).
To run headless, start the window on a virtual display (Debian package xvfb):
  xvfb-run scripts/run.sh
or the echo server on the command line:
  $build_dir/app/wsw serve --port 9001 --mode echo
MESSAGE
    exit 1
fi
exec "$build_dir/app/wsworkbench" "$@"
