#!/usr/bin/env bash
# Checks that scripts/install-deps.sh names every Debian package a build and the tests
# really used, so that a fresh Debian 12 machine gets them all with --no-install-recommends.
#
#   scripts/check-deps.sh [build dir ...]      (default: build)
#
# What was used, collected after the build:
#   - every header the compiler read (ninja -t deps), every CMake file the configure read
#     (the inputs of build.ninja's re-run rule: the package configuration files that
#     find_package loaded, CMake's own modules), every library on a link line, the tools
#     the build ran (compiler, cmake, ninja, moc, rcc, ...);
#   - at run time: the shared libraries of every executable in the build dir (ldd), the
#     Qt plugins the programs load (platforms, TLS, SVG icons), and the tests' peers:
#     /usr/bin/python3 with python3-websockets, chromium, Xvfb, xauth, node and npm.
# Each file outside the source and build trees must belong to a Debian package (dpkg -S)
# in the closure of install-deps.sh's lists over Depends and Pre-Depends only
# (apt-cache depends --recurse without Recommends, Suggests and the rest).
#
# Taken as given, because every Debian system has them: the packages marked
# "Essential: yes" (dpkg, coreutils, bash, libc-bin, ...) and their own Depends closure
# (libc6 and friends). Nothing else is assumed, not even build-essential: g++ must bring
# libc6-dev and libstdc++ itself. A node from outside Debian (install-deps.sh accepts any
# node on PATH) is reported as "not from any Debian package".
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd -P)
build_dirs=("$@")
((${#build_dirs[@]})) || build_dirs=(build)

for dir in "${build_dirs[@]}"; do
    [[ -f "$dir/build.ninja" ]] || {
        echo "check-deps: $dir/build.ninja not found: build first (scripts/build.sh)" >&2
        exit 2
    }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- The closure of what install-deps.sh installs, and of what every system has. --------
mapfile -t listed < <(scripts/install-deps.sh --list build test package bench)
mapfile -t essential < <(dpkg-query -W -f='${Essential} ${Package}\n' | awk '$1 == "yes" { print $2 }')
closure_of() {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "$@" |
        awk '/^[^ ]/ { name = $1; gsub(/[<>]/, "", name); sub(/:.*/, "", name); print name }' |
        sort -u
}
closure_of "${listed[@]}" >"$work/closure"
closure_of "${essential[@]}" >"$work/given"

# --- Every file the builds and the tests used. ------------------------------------------
used="$work/used"
: >"$used"
for dir in "${build_dirs[@]}"; do
    build_real=$(cd "$dir" && pwd -P)
    # Headers, from the compiler's dependency files as ninja recorded them.
    ninja -C "$dir" -t deps | awk '/^    / { print $1 }' >>"$used"
    # Every file the configure step read: CMakeLists, CMake modules, *Config.cmake files.
    ninja -C "$dir" -t query build.ninja |
        awk '/^  input:/ { on = 1; next } /^  outputs:/ { on = 0 } on { sub(/^ *(\|\|? )?/, ""); print }' >>"$used"
    ninja -C "$dir" -t commands >"$work/commands"
    # Libraries on link lines: full paths, and -lNAME as the compiler resolves it.
    cxx=$(awk -F= '/^CMAKE_CXX_COMPILER:/ { print $2 }' "$dir/CMakeCache.txt")
    grep -oE '(^| )(/[^ ]+\.(so(\.[0-9]+)*|a)|-l[A-Za-z0-9_+.-]+)( |$)' "$work/commands" |
        tr -d ' ' | sort -u | while read -r lib; do
        if [[ "$lib" == -l* ]]; then
            for ext in so a; do
                found=$("$cxx" -print-file-name="lib${lib#-l}.$ext")
                [[ "$found" == /* ]] && { echo "$found"; break; }
            done
        else
            echo "$lib"
        fi
    done >>"$used"
    # The programs the build ran (compiler, cmake, rcc, ...) and the ones AUTOMOC/AUTOUIC ran.
    sed 's/&&/\n/g' "$work/commands" | awk '{ print $1 }' | grep '^/' | sort -u >>"$used"
    find "$dir" -name AutogenInfo.json -exec grep -ohE '"[A-Z]+_EXECUTABLE" : "/[^"]+"' {} + |
        sed 's/.*: "//; s/"$//' | sort -u >>"$used"
    awk -F= '/^CMAKE_(MAKE_PROGRAM|COMMAND):/ { print $2 }' \
        "$dir/CMakeCache.txt" >>"$used"
    # At run time: the shared libraries of every program the build made.
    # (ldd says "not a dynamic executable" of scripts, and lists nothing for them.)
    find "$dir" -type f -perm -u+x -print |
        while read -r exe; do ldd "$exe" 2>/dev/null || true; done |
        awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' >>"$used"
    echo "$build_real" >>"$work/trees"
done
# The Qt plugins the programs load: the window on X11 and offscreen, TLS, the SVG icon.
qt_plugins=/usr/lib/x86_64-linux-gnu/qt6/plugins
plugins=("$qt_plugins/platforms/libqxcb.so" "$qt_plugins/platforms/libqoffscreen.so"
    "$qt_plugins/tls/libqopensslbackend.so" "$qt_plugins/iconengines/libqsvgicon.so"
    "$qt_plugins/imageformats/libqsvg.so")
printf '%s\n' "${plugins[@]}" >>"$used"
for plugin in "${plugins[@]}"; do
    ldd "$plugin" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' >>"$used" || true
done
# The tests' peers and tools (scripts/test.sh, tests/interop, tests/cli, scripts/screenshot.sh).
runtime_tools=(/usr/bin/python3 chromium xvfb-run Xvfb xauth node npm)
# The packaging's tools (scripts/check-package.sh), when it has run: CPack calls
# dpkg-shlibdeps and file(1).
for tool in dpkg-shlibdeps file lintian desktop-file-validate appstreamcli; do
    command -v "$tool" >>"$used" || true
done
for tool in "${runtime_tools[@]}"; do
    path=$(command -v "$tool" || true)
    if [[ -z "$path" ]]; then
        echo "check-deps: $tool is not installed (run scripts/install-deps.sh)" >>"$work/missing-tools"
        continue
    fi
    echo "$path" >>"$used"
    ldd "$(readlink -f "$path")" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' >>"$used" || true
done
if [[ -x /usr/bin/python3 ]]; then
    /usr/bin/python3 -c 'import websockets, os; print(os.path.dirname(websockets.__file__) + "/__init__.py")' \
        >>"$used" 2>/dev/null || echo "check-deps: /usr/bin/python3 cannot import websockets" >>"$work/missing-tools"
fi
[[ -x /usr/lib/chromium/chromium ]] && echo /usr/lib/chromium/chromium >>"$used"

# Keep what lies outside the source and build trees, find its owners, compare.
# (Debian's /usr/bin/python3: the tests need it anyway, and one process is much faster
# than a shell loop over a few thousand files.)
if [[ -s "$work/missing-tools" ]]; then
    cat "$work/missing-tools"
fi
status=0
WORK="$work" SOURCE_DIR="$source_dir" /usr/bin/python3 - <<'PYTHON' || status=$?
import os, subprocess, sys

work = os.environ["WORK"]
trees = [os.environ["SOURCE_DIR"]] + open(f"{work}/trees").read().split()
inside = lambda path: any(path == t or path.startswith(t + "/") for t in trees)

used = {}
for line in open(f"{work}/used"):
    path = line.strip()
    if not path.startswith("/") or not os.path.exists(path):
        continue
    real = os.path.realpath(path)
    path = os.path.normpath(path)
    if not inside(path) and not inside(real):
        used[path] = real

# On merged-/usr systems a package may own /lib/x/y while the compiler saw /usr/lib/x/y.
def variants(path):
    out = [path]
    for top in ("/lib/", "/bin/", "/sbin/", "/lib64/"):
        if path.startswith("/usr" + top):
            out.append(path[4:])
        elif path.startswith(top):
            out.append("/usr" + path)
    return out

candidates = sorted({v for p, r in used.items() for v in variants(p) + variants(r)})
result = subprocess.run(["dpkg-query", "-S", *candidates], capture_output=True, text=True)
owner = {}
for line in result.stdout.splitlines():
    if line.startswith("diversion by"):
        continue
    packages, _, path = line.partition(": ")
    owner[path] = [p.strip().split(":")[0] for p in packages.split(",")]

closure = set(open(f"{work}/closure").read().split())
given = set(open(f"{work}/given").read().split())
failures, offenders, given_used, packages_used = [], set(), set(), set()
for path, real in sorted(used.items()):
    groups = {tuple(owner[v]) for v in variants(path) + variants(real) if v in owner}
    if not groups:
        failures.append(f"  {path}: not from any Debian package")
        continue
    # Whoever owns the file, or the file its symlink points to, must be there; of a file
    # that several packages share (multi-arch), one is enough.
    for group in groups:
        packages_used.update(group)
        if any(p in closure for p in group):
            continue
        if any(p in given for p in group):
            given_used.update(p for p in group if p in given)
            continue
        offenders.add(group[0])
        failures.append(f"  {path}: from {', '.join(group)}, which install-deps.sh does not bring")

print(f"check-deps: {len(used)} files from outside the tree, from {len(packages_used)} packages; "
      f"install-deps.sh's lists reach {len(closure)} packages over Depends/Pre-Depends")
if given_used:
    print("check-deps: taken as given (Essential: yes, and what they depend on): "
          + " ".join(sorted(given_used)))
if failures:
    print("check-deps: FAILED: used, but install-deps.sh does not install the package:")
    for line in failures[:40]:
        print(line)
    if len(failures) > 40:
        print(f"  ... and {len(failures) - 40} more")
    print("check-deps: name in scripts/install-deps.sh (or a package that depends on it): "
          + " ".join(sorted(offenders)))
    sys.exit(1)
PYTHON
[[ -s "$work/missing-tools" ]] && status=1
((status == 0)) && echo "check-deps: OK"
exit "$status"
