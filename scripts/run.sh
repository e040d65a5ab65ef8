#!/usr/bin/env bash
# Installs what is missing, builds, and starts the workbench. Until the window
# exists this is the headless echo server on 127.0.0.1:9001.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
scripts/build.sh
build_dir=${WSW_BUILD_DIR:-build}
if [[ -x "$build_dir/app/wsworkbench" ]]; then
    exec "$build_dir/app/wsworkbench" "$@"
fi
exec "$build_dir/app/wsw" serve --port 9001 --mode echo "$@"
