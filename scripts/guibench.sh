#!/usr/bin/env bash
# Builds Release into build-bench/ and floods the workbench window from a local
# server (bench/gui/bench_logflood): rows/s the log absorbs, the event loop's worst
# stall at 20,000 messages/s with the log already full (goal < 50 ms) and the
# memory per 64-byte message at 1,000,000 rows (goal < 300 bytes of overhead), and
# the display filter typed over those rows: keystroke to the field echoing it (goal
# < 50 ms) and last keystroke to the filtered rows shown (goal < 1 s).
# Prints a Markdown table; exits with status 1 when a goal is missed. Extra
# arguments go to bench_logflood, e.g. scripts/guibench.sh --rate 50000 --seconds 10
# Runs offscreen; QT_QPA_PLATFORM=xcb under Xvfb shows the window on a display.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-bench
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSW_BENCH=ON >/dev/null
cmake --build "$build_dir" --target bench_logflood -j2 >/dev/null
exec "$build_dir/bench/gui/bench_logflood" --rate 20000 --seconds 5 --rows 1000000 "$@"
