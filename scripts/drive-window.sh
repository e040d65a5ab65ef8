#!/usr/bin/env bash
# Drives the real window as a user would, on a virtual X display (Xvfb, the xcb
# platform): wsworkbench --demo --relay (an echo server, a relay in front of it and a
# client through the relay), then with the mouse and keyboard (xdotool): pick the
# client in the Connections tree, type a JSON message in the send box and send it with
# Ctrl+Enter, filter the log to what went out, and quit with Ctrl+Q, confirming in the
# box that says what is still live. A picture of the screen (xwd) is taken after each
# step, to look at.
#
#   scripts/drive-window.sh [output folder]     (default: build/drive)
#
# The clicks are at places in the 1024x700 layout of a fresh settings folder. Builds
# wsworkbench in $WSW_BUILD_DIR (default build). Packages: scripts/install-deps.sh --drive.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WSW_BUILD_DIR:-build}
out=${1:-$build_dir/drive}
for tool in Xvfb xdotool xwd xwdtopnm pnmtopng; do
    command -v "$tool" >/dev/null || {
        echo "drive-window.sh: $tool is missing (scripts/install-deps.sh --drive)" >&2
        exit 1
    }
done
cmake --build "$build_dir" --target wsworkbench >/dev/null
mkdir -p "$out"
work=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A free display number: the first without a lock file.
number=90
while [[ -e /tmp/.X$number-lock ]]; do number=$((number + 1)); done
export DISPLAY=:$number
Xvfb "$DISPLAY" -screen 0 1024x700x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done

XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" QT_QPA_PLATFORM=xcb \
    "$build_dir/app/wsworkbench" --demo --relay --size 1024x700 >"$work/window.log" 2>&1 &
window_pid=$!
pids+=("$window_pid")
window=$(timeout 20 xdotool search --sync --pid "$window_pid" --name "WebSocket Workbench" | head -n 1)
[[ -n "$window" ]] || { echo "drive-window.sh: no window appeared" >&2; cat "$work/window.log" >&2; exit 1; }
sleep 8 # the demo's messages and pings (about 6 s), then the relayed pair selected

step=0
picture() {
    step=$((step + 1))
    local file
    file="$out/$(printf '%02d' "$step")-$1.png"
    xwd -root -display "$DISPLAY" | xwdtopnm 2>/dev/null | pnmtopng >"$file" 2>/dev/null
    echo "drive-window.sh: $file"
}
click() { # x y, in the window
    xdotool mousemove --window "$window" "$1" "$2" click 1
    sleep 0.4
}

picture start
click 68 640 # "client 1" in the Connections tree: the send box's target
picture picked
click 440 580 # the send box's editor
xdotool key ctrl+a
xdotool type --delay 20 '{"type":"typed","by":"xdotool"}'
sleep 0.3
picture typed
xdotool key ctrl+Return
sleep 1
picture sent
click 370 33 # the display filter
xdotool type --delay 20 'dir == out'
xdotool key Return
sleep 1
picture filtered
xdotool key ctrl+q
box=$(timeout 10 xdotool search --sync --name "Quit WebSocket Workbench" | head -n 1)
[[ -n "$box" ]] || { echo "drive-window.sh: Ctrl+Q asked nothing" >&2; exit 1; }
sleep 0.5
picture quit-asked
xdotool windowfocus --sync "$box"
xdotool key alt+q
for _ in $(seq 100); do kill -0 "$window_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$window_pid" 2>/dev/null; then
    echo "drive-window.sh: the window did not quit on Ctrl+Q" >&2
    exit 1
fi
wait "$window_pid" || { echo "drive-window.sh: the window exited with $?" >&2; exit 1; }
echo "drive-window.sh: the window quit cleanly"
