#!/usr/bin/env bash
# Installs what building, testing and packaging WebSocket Workbench needs on Debian 12:
# the Debian packages that are missing (with sudo when not root) and the npm packages
# of the interop tests. Safe to run again: it installs only what is missing.
#
#   scripts/install-deps.sh               build and test (what scripts/test.sh needs)
#   scripts/install-deps.sh --build-only  build only (what scripts/run.sh needs)
#   scripts/install-deps.sh --package     build, and make and check the .deb (scripts/package.sh)
#   scripts/install-deps.sh --bench       build, the benchmarks' peers (scripts/bench-relay.sh) and perf
#   scripts/install-deps.sh --drive       build, and what drives the real window (scripts/drive-window.sh)
#   scripts/install-deps.sh --list build|test|package|bench|drive
#                                         print one list, a name a line, install nothing
#                                         (scripts/check-deps.sh reads the lists this way)
#
# Every list is installed with --no-install-recommends, so a package the build or the
# tests use must be reachable from these names over Depends/Pre-Depends alone:
# scripts/check-deps.sh checks that against what a build really used.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt6Charts' CMake package needs Qt6OpenGL, which Debian only recommends: named here.
# ccache makes rebuilds of a second checkout cheap; scripts/build.sh uses it when present.
# qt6-base-private-dev: the window's event dispatcher asks the platform plugin for its
# own to deliver the platform's events (QPlatformIntegration, a QPA header).
build_packages=(cmake ninja-build g++ pkg-config ccache
    qt6-base-dev qt6-base-dev-tools qt6-base-private-dev qt6-websockets-dev qt6-charts-dev
    qt6-svg-dev libqt6opengl6-dev
    libgl-dev zlib1g-dev libssl-dev openssl libbenchmark-dev liburing-dev)
# nodejs and npm only when no node is on PATH (any node runs the interop tests).
test_packages=(clang libclang-rt-14-dev python3-websockets chromium xvfb xauth nodejs npm)
# CPack's dpkg-shlibdeps (dpkg-dev) finds ELF files with file(1); the rest check the .deb
# (bash-completion: scripts/check-package.sh tries the installed completion).
package_packages=(dpkg-dev file lintian desktop-file-utils appstream bash-completion)
# The relay benchmark's reference proxy (scripts/bench-relay.sh), and perf to profile
# what a benchmark runs.
bench_packages=(nginx linux-perf)
# Xvfb for a display, xdotool for the user's clicks and keys, xwd (x11-apps) and netpbm
# for pictures of the screen (scripts/drive-window.sh).
drive_packages=(xvfb xauth xdotool x11-apps netpbm)

case "${1:-}" in
--list)
    for list in "${@:2}"; do
        case "$list" in
        build) printf '%s\n' "${build_packages[@]}" ;;
        test) printf '%s\n' "${test_packages[@]}" ;;
        package) printf '%s\n' "${package_packages[@]}" ;;
        bench) printf '%s\n' "${bench_packages[@]}" ;;
        drive) printf '%s\n' "${drive_packages[@]}" ;;
        *) echo "install-deps.sh: unknown list $list (build, test, package, bench, drive)" >&2; exit 2 ;;
        esac
    done
    exit 0
    ;;
--build-only) want=("${build_packages[@]}") ;;
--package) want=("${build_packages[@]}" "${package_packages[@]}") ;;
--bench) want=("${build_packages[@]}" "${bench_packages[@]}") ;;
--drive) want=("${build_packages[@]}" "${drive_packages[@]}") ;;
"") want=("${build_packages[@]}" "${test_packages[@]}") ;;
*) echo "install-deps.sh: unknown option $1" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
    if [[ "$pkg" == nodejs || "$pkg" == npm ]] && command -v node >/dev/null 2>&1; then
        continue
    fi
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

if [[ -z "${1:-}" && -f tests/interop/package.json ]]; then
    if [[ ! -d tests/interop/node_modules || tests/interop/package-lock.json -nt tests/interop/node_modules ]]; then
        echo "Installing npm packages for the interop tests"
        (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
