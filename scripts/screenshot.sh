#!/usr/bin/env bash
# Regenerates docs/screenshot.png: builds wsworkbench, runs it under Xvfb with real
# traffic (--demo: an echo server on 127.0.0.1, a connection to it, text, JSON,
# binary, fragmented messages and pings) and lets the window grab itself
# (--screenshot). Needs xvfb-run (Debian: xvfb, xauth). Extra arguments go to cmake;
# WSW_BUILD_DIR and WSW_SCREENSHOT choose the build directory and the output file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
build_dir=${WSW_BUILD_DIR:-build}
output=${WSW_SCREENSHOT:-docs/screenshot.png}
if ! command -v xvfb-run >/dev/null; then
    echo "screenshot.sh: xvfb-run is missing (apt-get install xvfb xauth)" >&2
    exit 1
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build_dir" --target wsworkbench
mkdir -p "$(dirname "$output")"
# A private settings directory: the screenshot shows the default layout, and the
# user's own settings are neither read nor changed.
settings=$(mktemp -d)
trap 'rm -rf "$settings"' EXIT
XDG_CONFIG_HOME="$settings" QT_QPA_PLATFORM=xcb timeout 60 \
    xvfb-run -a -s "-screen 0 1400x900x24" \
    "$build_dir/app/wsworkbench" --demo --screenshot "$output"
echo "wrote $output"
