#!/usr/bin/env bash
# Installs what building and testing WebSocket Workbench needs on Debian 12:
# the Debian packages that are missing (with sudo when not root) and the npm
# packages of the interop tests. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

build_packages=(cmake ninja-build g++ pkg-config
    qt6-base-dev qt6-base-dev-tools qt6-websockets-dev qt6-charts-dev qt6-svg-dev
    libqt6opengl6-dev
    libgl-dev zlib1g-dev libssl-dev openssl libbenchmark-dev)
test_packages=(clang libclang-rt-14-dev python3-websockets chromium xvfb xauth)

want=("${build_packages[@]}")
if [[ "${1:-}" != "--build-only" ]]; then
    want+=("${test_packages[@]}")
fi
command -v node >/dev/null 2>&1 || want+=(nodejs npm)

missing=()
for pkg in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
    echo "Installing Debian packages: ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" != "--build-only" && -f tests/interop/package.json ]]; then
    if [[ ! -d tests/interop/node_modules || tests/interop/package-lock.json -nt tests/interop/node_modules ]]; then
        echo "Installing npm packages for the interop tests"
        (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
