#!/usr/bin/env bash
# Regenerates the README's pictures: builds wsworkbench, runs it under Xvfb with real
# traffic (--demo: an echo server on 127.0.0.1, a connection to it, text, JSON,
# binary, fragmented messages and pings) and lets the window grab itself
# (--screenshot), once on a large screen (docs/screenshot.png, 1920x1080, the one the
# README and the AppStream metadata show) and once on a small one
# (docs/screenshot-1024x700.png).
# Needs xvfb-run (Debian: xvfb, xauth). Extra arguments go to cmake; WSW_BUILD_DIR
# chooses the build directory and WSW_SCREENSHOT_DIR the output folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
build_dir=${WSW_BUILD_DIR:-build}
output_dir=${WSW_SCREENSHOT_DIR:-docs}
if ! command -v xvfb-run >/dev/null; then
    echo "screenshot.sh: xvfb-run is missing (apt-get install xvfb xauth)" >&2
    exit 1
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build_dir" --target wsworkbench
mkdir -p "$output_dir"
for size in 1920x1080 1024x700; do
    # A private settings directory: the screenshot shows the default layout, and the
    # user's own settings are neither read nor changed.
    settings=$(mktemp -d)
    output="$output_dir/screenshot-$size.png"
    [[ $size == 1920x1080 ]] && output="$output_dir/screenshot.png"
    XDG_CONFIG_HOME="$settings" QT_QPA_PLATFORM=xcb timeout 60 \
        xvfb-run -a -s "-screen 0 ${size}x24" \
        "$build_dir/app/wsworkbench" --demo --size "$size" --screenshot "$output"
    rm -rf "$settings"
    echo "wrote $output"
done
