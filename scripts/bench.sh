#!/usr/bin/env bash
# Echo-server benchmark: our server (`wsw serve --mode echo`) against QtWebSockets'
# QWebSocketServer (bench/echo/qtws-echo-server), same loads, same pinning, driven
# by our load generator (`wsw bench`). Prints a Markdown table on stdout.
# The burst row drives the servers the way other load generators do: each
# connection writes its whole window with one write and the next window once every
# echo is back (`wsw bench --burst`), rather than one message per echo received.
# wss rows: both servers use a certificate made for the run with openssl (trusted by
# `wsw bench --ca`, verification on). The permessage-deflate row compares with
# Node's `ws` (bench/echo/ws-echo-server.mjs), since QtWebSockets has no deflate; it
# needs node and tests/interop/node_modules (npm ci in tests/interop).
#
#   scripts/bench.sh [--seconds N] [--runs N] [--quick] [--only TEXT]
#
# --seconds N  measuring time per run (default 5, after 0.5 s of warm-up)
# --runs N     runs per row and server, alternating ours and theirs; the best run
#              counts, since other load on the machine only ever slows a run down
#              (default 3)
# --quick      1 s and 1 run per row: a smoke test of the script, not figures to quote
# --only TEXT  only the rows whose label starts with TEXT (e.g. "64 B echo", "wss",
#              "memory" for the idle-connection memory row, "64 B echo with" for the
#              64 B load beside 2,000 idle connections)
#
# Builds Release into build-bench/. The server runs on CPU 0 and the load
# generator on CPU 1 (taskset) when the machine has two CPUs or more. Every run
# starts a fresh server, so no run inherits another's buffers.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/benchcommon.sh
source scripts/benchcommon.sh
help_lines=26
bench_arguments bench.sh "$@"

build_dir=build-bench
echo "== building Release into $build_dir" >&2
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSW_BENCH=ON >/dev/null
cmake --build "$build_dir" --target wsw qtws-echo-server -j2 >/dev/null
wsw="$build_dir/app/wsw"
qtws="$build_dir/bench/echo/qtws-echo-server"
[[ -x "$wsw" ]] || { echo "bench.sh: $wsw was not built" >&2; exit 1; }
[[ -x "$qtws" ]] || { echo "bench.sh: $qtws was not built (qt6-websockets-dev missing?)" >&2; exit 1; }
node_echo=bench/echo/ws-echo-server.mjs
# The deflate row's peer, needed only when that row runs.
deflate_row=false
[[ -z "$only" || "deflate" == "$only"* || "$only" == deflate* ]] && deflate_row=true
if [[ "$deflate_row" == true ]]; then
    command -v node >/dev/null || { echo "bench.sh: node is missing (the deflate row's peer)" >&2; exit 1; }
    [[ -f tests/interop/node_modules/ws/package.json ]] ||
        { echo "bench.sh: tests/interop/node_modules/ws is missing (npm ci in tests/interop)" >&2; exit 1; }
fi
command -v openssl >/dev/null || { echo "bench.sh: openssl is missing (the wss rows)" >&2; exit 1; }

bench_setup bench.sh

py=/usr/bin/python3
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The wss rows' certificate: self-signed EC P-256 for 127.0.0.1 and localhost
# (RFC 6125: the client matches subjectAltName), trusted by `wsw bench --ca`.
cert="$work/cert.pem"
key="$work/key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$key" -out "$cert" 2>"$work/openssl.err" ||
    { echo "bench.sh: openssl could not make a certificate:" >&2; cat "$work/openssl.err" >&2; exit 1; }

# start_server ours|theirs [ws|wss|deflate]: starts a fresh server, sets server_pid
# and port. (Run in this shell, never in a command substitution, so that the EXIT
# trap sees it.) The peer ("theirs") is QtWebSockets, or Node's ws for deflate.
start_server() {
    local log="$work/server.log" kind=${2:-ws} extra=()
    : >"$log"
    if [[ "$1" == ours ]]; then
        [[ "$kind" == wss ]] && extra=(--tls --cert "$cert" --key "$key")
        [[ "$kind" == deflate ]] && extra=(--deflate)
        # Keepalive pings off: QtWebSockets sends none either.
        "${pin_server[@]}" "$wsw" serve --port 0 --mode echo --quiet --keepalive 0 \
            --max-connections 10000 "${extra[@]}" >"$log" 2>&1 &
    elif [[ "$kind" == deflate ]]; then
        "${pin_server[@]}" node "$node_echo" 0 >"$log" 2>&1 &
    else
        [[ "$kind" == wss ]] && extra=(--cert "$cert" --key "$key")
        "${pin_server[@]}" "$qtws" 0 "${extra[@]}" >"$log" 2>&1 &
    fi
    server_pid=$!
    port=$(wait_listening "$log" "the $1 server" "$server_pid")
}

# Server CPU time so far, in clock ticks (utime + stime, /proc/PID/stat fields 14-15).
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
server_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }

# run_load SERVER KIND IDLE FIELD COUNT-FIELD BENCH-ARGS...: one run against a fresh
# server of KIND (ws, wss, deflate), with IDLE more connections open and silent
# beside the load. Sets result to "figure server-CPU-us-per-unit client-CPU-%" or
# "failed", where a unit is what COUNT-FIELD counts (messages, connections).
run_load() {
    local which=$1 kind=$2 idle=$3 field=$4 count_field=$5 url idle_holder=""
    shift 5
    start_server "$which" "$kind"
    url="ws://127.0.0.1:$port/"
    if ((idle > 0)); then
        if ! hold_idle_connections bench.sh "$url" "$idle" 3600 "$work/idle.out"; then
            stop_server
            result=failed
            return
        fi
        idle_holder=$idle_pid
    fi
    [[ "$kind" == wss ]] && { url="wss://127.0.0.1:$port/"; set -- --ca "$cert" "$@"; }
    [[ "$kind" == deflate ]] && set -- --deflate "$@"
    local ticks_before json
    ticks_before=$(server_ticks)
    if json=$("${pin_client[@]}" "$wsw" bench "$url" --json --seconds "$seconds" "$@" \
        2>"$work/bench.err" | tail -n 1) && [[ -n "$json" ]]; then
        local ticks=$(($(server_ticks) - ticks_before))
        # The server's CPU time covers warm-up and closing too: per unit it is an
        # upper bound, comparable between the two servers.
        result=$("$py" - "$json" "$field" "$count_field" "$ticks" "$hz" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
figure, count = d[sys.argv[2]], d[sys.argv[3]]
ticks, hz = int(sys.argv[4]), int(sys.argv[5])
# Units in the whole run: the counted ones scaled from the measured seconds to the
# run's length (0.5 s warm-up + measuring).
units = count * (d["seconds"] + 0.5) / d["seconds"] if d["seconds"] > 0 else 0
cpu_us = ticks / hz * 1e6 / units if units > 0 else 0
print("%s %.2f %.0f" % (figure, cpu_us, d.get("clientCpuPercent", 0)))
PY
)
    else
        echo "bench.sh: $which: wsw bench $* failed: $(cat "$work/bench.err")" >&2
        result=failed
    fi
    if [[ -n "$idle_holder" ]]; then
        kill "$idle_holder" 2>/dev/null || true
        wait "$idle_holder" 2>/dev/null || true
    fi
    stop_server
}

# run_idle SERVER: sets result to the bytes of server RSS per idle connection at
# 1,000 connections, or "failed".
run_idle() {
    start_server "$1"
    sleep 0.3
    local before after
    before=$(server_rss_kib)
    if ! hold_idle_connections bench.sh "ws://127.0.0.1:$port/" 1000 2 "$work/idle.out"; then
        stop_server
        result=failed
        return
    fi
    sleep 0.5
    after=$(server_rss_kib)
    wait "$idle_pid" || true
    stop_server
    result=$(((after - before) * 1024 / 1000))
}

# Rows: label, unit, figure, what the figure counts, wsw bench arguments, kind of
# server (ws, wss: TLS, deflate: permessage-deflate against Node's ws). Binary
# messages: the servers then only frame and unframe (text would add UTF-8
# validation on both sides and UTF-16 conversions inside QtWebSockets). The
# deflate row sends text, JSON: what permessage-deflate is used for.
labels=("64 B echo, 50 conns x 16 in flight"
    "64 B echo, burst, 50 conns x 16 per write"
    "1 MiB echo, 4 conns x 2 in flight"
    "16 MiB echo, 1 conn x 1 in flight"
    "connect + close, 8 loops"
    "wss 64 B echo, 50 conns x 16 in flight"
    "wss 1 MiB echo"
    "deflate 4 KiB JSON echo, 8 conns x 8 in flight"
    "64 B echo with 2,000 idle conns held, 50 x 16 in flight")
units=("messages/s" "messages/s" "MB/s" "MB/s" "connections/s" "messages/s" "MB/s" "messages/s"
    "messages/s")
fields=(messagesPerSecond messagesPerSecond megabytesPerSecond megabytesPerSecond connectionsPerSecond
    messagesPerSecond megabytesPerSecond messagesPerSecond messagesPerSecond)
counts=(messages messages messages messages completed messages messages messages messages)
per=("message" "message" "message" "message" "connection" "message" "message" "message" "message")
args=("--binary --size 64 --conns 50 --window 16"
    "--binary --size 64 --conns 50 --window 16 --burst"
    "--binary --size 1048576 --conns 4 --window 2"
    "--binary --size 16777216 --conns 1 --window 1"
    "--mode connect --conns 8"
    "--binary --size 64 --conns 50 --window 16"
    "--binary --size 1048576 --conns 4 --window 2"
    "--text-json --size 4096 --conns 8 --window 8"
    "--binary --size 64 --conns 50 --window 16")
kinds=(ws ws ws ws ws wss wss deflate ws)
# The last row opens 2,000 more connections first and leaves them silent, as a
# server in service holds them: a server that looks at every socket at each wait
# slows down.
idle=(0 0 0 0 0 0 0 0 2000)

idle_label="memory per idle connection at 1,000"
# wanted LABEL: whether --only selects the row.
wanted() { [[ -z "$only" || "$1" == "$only"* ]]; }
rows=()
for i in "${!labels[@]}"; do
    wanted "${labels[$i]}" && rows+=("$i")
done

declare -a best_ours best_theirs cpu_ours cpu_theirs client_ours client_theirs
for i in "${rows[@]}"; do
    best_ours[i]=failed
    best_theirs[i]=failed
    cpu_ours[i]=failed
    cpu_theirs[i]=failed
    for ((run = 1; run <= runs; run++)); do
        for which in ours theirs; do
            echo "== ${labels[$i]}: $which (run $run of $runs)" >&2
            # shellcheck disable=SC2086 # the arguments are words on purpose
            run_load "$which" "${kinds[$i]}" "${idle[$i]}" "${fields[$i]}" "${counts[$i]}" ${args[$i]}
            read -r value cpu client <<<"$result"
            if [[ "$which" == ours ]]; then
                [[ "$(better "${best_ours[$i]}" "$value" max)" == "$value" ]] && client_ours[i]=${client:-?}
                best_ours[i]=$(better "${best_ours[$i]}" "$value" max)
                cpu_ours[i]=$(better "${cpu_ours[$i]}" "${cpu:-failed}" min)
            else
                [[ "$(better "${best_theirs[$i]}" "$value" max)" == "$value" ]] && client_theirs[i]=${client:-?}
                best_theirs[i]=$(better "${best_theirs[$i]}" "$value" max)
                cpu_theirs[i]=$(better "${cpu_theirs[$i]}" "${cpu:-failed}" min)
            fi
        done
    done
done
idle_ours=failed
idle_theirs=failed
wanted "$idle_label" && idle_runs=$runs || idle_runs=0
for ((run = 1; run <= idle_runs; run++)); do
    for which in ours theirs; do
        echo "== memory per idle connection: $which (run $run of $runs)" >&2
        run_idle "$which"
        if [[ "$which" == ours ]]; then
            idle_ours=$(better "$idle_ours" "$result" min)
        else
            idle_theirs=$(better "$idle_theirs" "$result" min)
        fi
    done
done

status=0
echo
echo "Echo server benchmark: ours (\`wsw serve --mode echo\`) vs QtWebSockets $(dpkg-query -W -f='${Version}' libqt6websockets6 2>/dev/null || echo '6.x')"
echo "(best of $runs run(s) of ${seconds} s after 0.5 s warm-up; server pinned to CPU 0, \`wsw bench\` to CPU 1; binary messages; MB = 10^6 bytes, one way)."
echo "Ratio: ours/QtWebSockets for throughput, QtWebSockets/ours for memory: above 1 means ours is better."
echo "wss rows: TLS on both sides (a P-256 certificate made for the run, verified by the client)."
[[ "$deflate_row" == true ]] && echo "deflate row: text JSON with permessage-deflate both ways; the peer is Node's ws $(sed -n 's/^ *"version": "\(.*\)",$/\1/p' tests/interop/node_modules/ws/package.json) (node $(node --version)), not QtWebSockets, which has no deflate."
echo
echo "| row | ours | QtWebSockets (deflate: Node ws) | ratio (>1: ours better) |"
echo "|---|---:|---:|---:|"
for i in "${rows[@]}"; do
    [[ "${best_ours[$i]}" == failed || "${best_theirs[$i]}" == failed ]] && status=1
    echo "| ${labels[$i]} (${units[$i]}) | $(fmt "${best_ours[$i]}") | $(fmt "${best_theirs[$i]}") | $(ratio "${best_ours[$i]}" "${best_theirs[$i]}") |"
done
if ((idle_runs > 0)); then
    [[ "$idle_ours" == failed || "$idle_theirs" == failed ]] && status=1
    echo "| $idle_label (bytes of server RSS) | $(fmt "$idle_ours") | $(fmt "$idle_theirs") | $(ratio "$idle_theirs" "$idle_ours") |"
fi
echo
echo "Server CPU time per unit (lowest of the runs; warm-up and closing included, so an upper"
echo "bound; it depends less on other load on the machine than the rates above):"
echo
echo "| row | ours | QtWebSockets (deflate: Node ws) | ratio (>1: ours better) | ours / theirs | load generator CPU (best run) |"
echo "|---|---:|---:|---:|---:|---:|"
for i in "${rows[@]}"; do
    echo "| ${labels[$i]} (µs per ${per[$i]}) | $(fmt "${cpu_ours[$i]}") | $(fmt "${cpu_theirs[$i]}") | $(ratio "${cpu_theirs[$i]}" "${cpu_ours[$i]}") | $(ratio "${cpu_ours[$i]}" "${cpu_theirs[$i]}") | ${client_ours[$i]:-?} % / ${client_theirs[$i]:-?} % |"
done
exit $status
