#!/usr/bin/env bash
# Builds the Debian package from the build tree (scripts/package.sh), checks it (contents,
# control fields, lintian, desktop-file-validate, appstreamcli), installs it with apt-get,
# tries the installed programs, and removes it again, checking that its files are gone.
# Installs system-wide: for CI and throw-away machines (root, or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WSW_BUILD_DIR:-build}
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
work=$(mktemp -d)
server_pid=""
window_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
    [[ -n "$window_pid" ]] && kill "$window_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== check-package: $*"; }
fail() {
    echo "check-package: FAILED: $*" >&2
    exit 1
}
started=$SECONDS

step "building the package"
timeout 900 scripts/package.sh >"$work/package.log" 2>&1 || {
    tail -n 30 "$work/package.log"
    fail "scripts/package.sh"
}
deb=$(ls "$build_dir"/wsworkbench_*.deb)
deb=$(readlink -f "$deb")
echo "$deb ($(($(stat -c %s "$deb") / 1024)) KiB, $((SECONDS - started)) s)"

step "control fields"
dpkg-deb -f "$deb" Package Version Architecture Maintainer Section Priority Homepage Depends
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libqt6widgets6 libqt6network6 libqt6core6 libssl3 zlib1g libc6 libqt6svg6; do
    grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

step "contents (dpkg-deb -c)"
dpkg-deb -c "$deb" >"$work/contents"
awk '{ print $1, $6 }' "$work/contents"
app_id=$(grep -oE '[a-z0-9.]+\.desktop$' "$work/contents" | sed 's/\.desktop$//')
for path in ./usr/bin/wsw ./usr/bin/wsworkbench \
    "./usr/share/applications/$app_id.desktop" "./usr/share/metainfo/$app_id.metainfo.xml" \
    "./usr/share/icons/hicolor/scalable/apps/$app_id.svg" ./usr/share/man/man1/wsw.1.gz \
    ./usr/share/man/man1/wsworkbench.1.gz ./usr/share/bash-completion/completions/wsw \
    ./usr/share/doc/wsworkbench/copyright ./usr/share/doc/wsworkbench/changelog.gz; do
    grep -qE " $path$" "$work/contents" || fail "the package lacks $path"
done
if grep -E ' \./usr/(bin|share)/.*(tst_|bench_|fuzz_|qtws)' "$work/contents"; then
    fail "the package contains tests or benchmarks"
fi

step "desktop-file-validate, appstreamcli validate --no-net"
dpkg-deb -x "$deb" "$work/root"
desktop-file-validate "$work/root/usr/share/applications/$app_id.desktop"
appstreamcli validate --no-net "$work/root/usr/share/metainfo/$app_id.metainfo.xml"

# Any error or warning fails the check; the remaining infos are explained in the README.
step "lintian"
lintian_status=0
timeout 300 lintian --display-info --fail-on error,warning "$deb" 2>&1 |
    grep -v '^running with root privileges' || lintian_status=${PIPESTATUS[0]}
((lintian_status == 0)) || fail "lintian (status $lintian_status)"

step "apt-get install ./$(basename "$deb")"
# The package's Depends alone must do: no Recommends.
DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get install -y -q --no-install-recommends \
    "$deb" >"$work/install.log" 2>&1 || {
    cat "$work/install.log"
    fail "apt-get install"
}
tail -n 3 "$work/install.log"
[[ "$(dpkg-query -W -f='${Status}' wsworkbench)" == "install ok installed" ]] ||
    fail "wsworkbench is not installed"
for path in /usr/bin/wsw /usr/bin/wsworkbench "/usr/share/applications/$app_id.desktop"; do
    [[ -e "$path" ]] || fail "$path is missing after the install"
done

# CI already has every library (the build needed them), so the install above proves little
# about a fresh machine. What does: every shared library the installed programs and the
# Qt plugins they load resolve to belongs to a package in the closure of the package's
# Depends (and Pre-Depends), or to one every Debian system has (Essential: yes).
step "the libraries the installed programs load come with the package's Depends"
qt_plugins=/usr/lib/x86_64-linux-gnu/qt6/plugins
loaded=(/usr/bin/wsw /usr/bin/wsworkbench "$qt_plugins/platforms/libqxcb.so"
    "$qt_plugins/platforms/libqoffscreen.so" "$qt_plugins/tls/libqopensslbackend.so"
    "$qt_plugins/iconengines/libqsvgicon.so" "$qt_plugins/imageformats/libqsvg.so")
for file in "${loaded[@]}"; do
    [[ -e "$file" ]] || fail "$file is missing after the install"
    echo "$file"
    ldd "$file" | awk '/not found/ { print "not found: " $1 } $2 == "=>" && $3 ~ /^\// { print $3 }'
done | sort -u >"$work/loaded"
! grep -q 'not found' "$work/loaded" || fail "unresolved libraries: $(grep 'not found' "$work/loaded")"
while read -r file; do
    real=$(readlink -f "$file")
    for path in "$file" "$real"; do
        echo "$path"
        [[ "$path" == /usr/lib/* ]] && echo "${path#/usr}"
    done
done <"$work/loaded" | sort -u | xargs -r dpkg-query -S 2>/dev/null | grep -v '^diversion' |
    sed 's/: .*//; s/, /\n/g' | sed 's/:.*//' | sort -u | grep -vx wsworkbench >"$work/owners" || true
read -ra wanted <<<"$(dpkg-deb -f "$deb" Depends Pre-Depends | sed 's/^[A-Za-z-]*: //; s/([^)]*)//g; s/|/,/g; s/,/ /g' | tr '\n' ' ')"
mapfile -t essential < <(dpkg-query -W -f='${Essential} ${Package}\n' | awk '$1 == "yes" { print $2 }')
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${wanted[@]}" "${essential[@]}" |
    awk '/^[^ ]/ { name = $1; gsub(/[<>]/, "", name); sub(/:.*/, "", name); print name }' |
    sort -u >"$work/closure"
outside=$(comm -23 "$work/owners" "$work/closure")
[[ -z "$outside" ]] || fail "loaded, but not pulled in by the package's Depends: $outside"
echo "$(wc -l <"$work/loaded") files from $(wc -l <"$work/owners") packages, all within the closure" \
    "of Depends: ${wanted[*]}"

step "wsw --version, wsworkbench --version (no display)"
timeout 10 /usr/bin/wsw --version | tee "$work/wsw-version"
grep -q "^wsw $(dpkg-deb -f "$deb" Version)$" "$work/wsw-version" || fail "wsw --version"
grep -q '^Qt 6\.' "$work/wsw-version" || fail "wsw --version names no Qt"
grep -q '^zlib ' "$work/wsw-version" || fail "wsw --version names no zlib"
grep -q '^OpenSSL ' "$work/wsw-version" || fail "wsw --version names no OpenSSL (no TLS backend?)"
env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM timeout 10 /usr/bin/wsworkbench --version |
    tee "$work/window-version"
grep -q "^wsworkbench $(dpkg-deb -f "$deb" Version)$" "$work/window-version" ||
    fail "wsworkbench --version"

step "wsw serve --port 0, and wsw connect talking to it"
/usr/bin/wsw serve --port 0 --mode echo >"$work/serve.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 100); do
    url=$(grep -oE 'ws://127\.0\.0\.1:[0-9]+/' "$work/serve.log" || true)
    [[ -n "$url" ]] && break
    sleep 0.1
done
[[ -n "$url" ]] || {
    cat "$work/serve.log"
    fail "wsw serve did not say where it listens"
}
echo "server: $url"
connect_status=0
printf 'hello from the installed package\n' |
    timeout 20 /usr/bin/wsw connect "$url" >"$work/connect.log" 2>&1 || connect_status=$?
cat "$work/connect.log"
grep -q '^< hello from the installed package$' "$work/connect.log" || fail "no echo from wsw serve"
((connect_status == 0)) || fail "wsw connect ended with status $connect_status"
kill -TERM "$server_pid"
for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "wsw serve still runs 10 s after SIGTERM"
wait "$server_pid" || fail "wsw serve did not stop cleanly on SIGTERM"
server_pid=""

step "wsworkbench on the offscreen platform for 5 seconds"
mkdir -p "$work/home"
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
    QT_QPA_PLATFORM=offscreen /usr/bin/wsworkbench >"$work/window.log" 2>&1 &
window_pid=$!
sleep 5
kill -0 "$window_pid" 2>/dev/null || {
    cat "$work/window.log"
    fail "wsworkbench exited within 5 seconds"
}
kill -TERM "$window_pid"
for _ in $(seq 100); do
    kill -0 "$window_pid" 2>/dev/null || break
    sleep 0.1
done
kill -KILL "$window_pid" 2>/dev/null || true
wait "$window_pid" || true
window_pid=""
echo "still running after 5 s; stopped"

step "bash completion and manual pages"
bash -c 'source /usr/share/bash-completion/bash_completion
    _completion_loader wsw
    COMP_WORDS=(wsw serve --mo); COMP_CWORD=2; COMP_LINE="wsw serve --mo"; COMP_POINT=${#COMP_LINE}
    _wsw; [[ "${COMPREPLY[*]}" == --mode ]]' || fail "bash completion of wsw serve --mo"
echo "wsw serve --mo<TAB> completes to --mode"
if [[ -e /usr/share/man/man1/wsw.1.gz ]]; then # dpkg may be told to skip manual pages
    # Read whole, not piped into grep -q: grep stops at the first match, zcat then dies
    # of SIGPIPE and pipefail would count a good page as a bad one.
    zcat /usr/share/man/man1/wsw.1.gz >"$work/wsw.1" || fail "wsw.1.gz does not decompress"
    grep -q '^\.TH WSW 1' "$work/wsw.1" || fail "wsw.1.gz has no .TH WSW 1 line"
    echo "wsw.1.gz: $(wc -l <"$work/wsw.1") lines, .TH WSW 1"
fi

step "apt-get purge wsworkbench"
DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get purge -y -q wsworkbench \
    >"$work/purge.log" 2>&1 || {
    cat "$work/purge.log"
    fail "apt-get purge"
}
tail -n 2 "$work/purge.log"
[[ $(dpkg-query -W -f='${Status}' wsworkbench 2>/dev/null || true) == *'install ok installed'* ]] &&
    fail "wsworkbench is still installed"
left=$(awk '$1 !~ /^d/ { print substr($6, 2) }' "$work/contents" |
    while read -r path; do [[ -e "$path" || -L "$path" ]] && echo "$path"; done || true)
[[ -z "$left" ]] || fail "files left behind: $left"
echo "every file of the package is gone"

echo "check-package: OK ($((SECONDS - started)) s)"
