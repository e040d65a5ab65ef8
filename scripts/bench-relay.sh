#!/usr/bin/env bash
# Relay benchmark: the same load (`wsw bench`) against our echo server
# (`wsw serve --mode echo`) through our relay (`wsw relay --quiet`), through Debian's
# nginx configured as a WebSocket reverse proxy (bench/relay/nginx.conf.in), and
# directly, in one run with the same pinning. Prints a Markdown table on stdout with
# the ratios relay/nginx and relay/direct.
#
#   scripts/bench-relay.sh [--seconds N] [--runs N] [--quick] [--only TEXT] [--window]
#
# --seconds N  measuring time per run (default 5, after 0.5 s of warm-up)
# --runs N     runs per row and path, alternating relay, nginx and direct; the best
#              run counts, since other load on the machine only ever slows a run down
#              (default 3)
# --quick      1 s and 1 run per row: a smoke test of the script, not figures to quote
# --only TEXT  only the rows whose label starts with TEXT ("64 B", "1 MiB", "connect";
#              "64 B echo with" for the last row, the 64 B load beside 2,000 idle
#              connections)
# --window     also the path "window": the workbench window (`wsworkbench
#              --start-relay`, offscreen, settings in a temporary folder) relaying from
#              its Relay panel with every frame of both legs in its log, the log view
#              following the tail; adds the ratio window/nginx. The window waits on
#              epoll as `wsw` does; WSW_WINDOW_EVENT_DISPATCHER=qt gives it Qt's own
#              dispatcher (GLib's), the other processes keeping theirs
#
# A second table says where the time of CPU 0 went in each path's best run: the CPU
# time the proxy (user + system) and the echo server took per message, per MB or per
# connection, from /proc/PID/stat over the middle of the run (clock ticks: coarse for
# --quick).
#
# Builds Release into build-bench/ (as scripts/bench.sh; wsworkbench too with
# --window). The echo server and the proxy in front of it (relay, window or nginx)
# share CPU 0, the load generator has CPU 1 (taskset), when the machine has two CPUs
# or more. Every run starts a fresh echo server and a fresh proxy. nginx comes from
# scripts/install-deps.sh --bench.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/benchcommon.sh
source scripts/benchcommon.sh
help_lines=34
window=0
arguments=()
for argument in "$@"; do
    if [[ "$argument" == --window ]]; then window=1; else arguments+=("$argument"); fi
done
bench_arguments bench-relay.sh "${arguments[@]}"

nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$nginx" ]] || { echo "bench-relay.sh: nginx is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }

build_dir=build-bench
echo "== building Release into $build_dir" >&2
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=(wsw)
((window)) && targets+=(wsworkbench)
cmake --build "$build_dir" --target "${targets[@]}" -j2 >/dev/null
wsw="$build_dir/app/wsw"
workbench="$build_dir/app/wsworkbench"
[[ -x "$wsw" ]] || { echo "bench-relay.sh: $wsw was not built" >&2; exit 1; }
((window)) && [[ ! -x "$workbench" ]] && { echo "bench-relay.sh: $workbench was not built" >&2; exit 1; }

bench_setup bench-relay.sh

py=/usr/bin/python3
work=$(mktemp -d)
pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    stop_all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on now, for nginx (which cannot pick one and say which).
free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_path relay|window|nginx|direct: a fresh echo server and, but for direct, the proxy in
# front of it; sets port to where the load goes, echo_pid and proxy_pid (empty for direct).
start_path() {
    local echo_log="$work/echo.log" echo_port
    : >"$echo_log"
    # Keepalive pings off: nginx and the load generator send none either.
    "${pin_server[@]}" "$wsw" serve --port 0 --mode echo --quiet --keepalive 0 \
        --max-connections 10000 >"$echo_log" 2>&1 &
    pids+=($!)
    echo_pid=$!
    proxy_pid=
    echo_port=$(wait_listening "$echo_log" "the echo server" "${pids[-1]}")
    case "$1" in
    direct)
        port=$echo_port
        ;;
    relay)
        local relay_log="$work/relay.log"
        : >"$relay_log"
        # --quiet and no --save: nobody watches the frames, as with nginx.
        "${pin_server[@]}" "$wsw" relay --listen 127.0.0.1:0 --to "ws://127.0.0.1:$echo_port/" \
            --quiet >"$relay_log" 2>&1 &
        pids+=($!)
        port=$(wait_listening "$relay_log" "wsw relay" "${pids[-1]}")
        proxy_pid=${pids[-1]}
        ;;
    window)
        local window_log="$work/window.log"
        : >"$window_log"
        # The window's settings (the Relay panel saves its form) stay in the run's folder.
        QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" \
            WSW_EVENT_DISPATCHER="${WSW_WINDOW_EVENT_DISPATCHER:-}" \
            "${pin_server[@]}" "$workbench" --start-relay "127.0.0.1:0=ws://127.0.0.1:$echo_port/" \
            >"$window_log" 2>&1 &
        pids+=($!)
        port=$(wait_listening "$window_log" "wsworkbench --start-relay" "${pids[-1]}")
        proxy_pid=${pids[-1]}
        ;;
    nginx)
        local dir="$work/nginx"
        rm -rf "$dir"
        mkdir -p "$dir"
        port=$(free_port)
        sed -e "s|@DIR@|$dir|g" -e "s|@LISTEN_PORT@|$port|g" -e "s|@UPSTREAM_PORT@|$echo_port|g" \
            bench/relay/nginx.conf.in >"$dir/nginx.conf"
        "${pin_server[@]}" "$nginx" -p "$dir" -c "$dir/nginx.conf" \
            -g "daemon off; pid $dir/nginx.pid;" >"$dir/stdout.log" 2>&1 &
        pids+=($!)
        local waited=0
        until "$py" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
            "$port" 2>/dev/null; do
            sleep 0.05
            waited=$((waited + 1))
            if ((waited > 200)) || ! kill -0 "${pids[-1]}" 2>/dev/null; then
                echo "bench-relay.sh: nginx did not start:" >&2
                cat "$dir/stdout.log" "$dir/error.log" >&2 2>/dev/null || true
                exit 1
            fi
        done
        # Its one worker does the proxying; the master only waits.
        proxy_pid=$(pgrep -P "${pids[-1]}" | head -n 1)
        ;;
    esac
}

# cpu_ticks PID: user and system clock ticks PID has used (all its threads), or "0 0".
cpu_ticks() {
    awk '{ print $14, $15 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"
}

# cpu_split RATE SECONDS PROXY-BEFORE PROXY-AFTER ECHO-BEFORE ECHO-AFTER: the CPU time per
# unit of RATE over SECONDS, as "proxy (user + system) / echo" in µs, or "echo" alone
# when there is no proxy (empty ticks).
cpu_split() {
    awk -v rate="$1" -v seconds="$2" -v p0="$3" -v p1="$4" -v e0="$5" -v e1="$6" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN {
        if (rate !~ /^[0-9.]+$/ || rate <= 0 || seconds <= 0) { print "-"; exit }
        units = rate * seconds
        split(e0, a, " "); split(e1, b, " ")
        echo = ((b[1] + b[2]) - (a[1] + a[2])) / hz * 1e6 / units
        if (p0 == "") { printf "%.2f", echo; exit }
        split(p0, c, " "); split(p1, d, " ")
        user = (d[1] - c[1]) / hz * 1e6 / units
        kernel = (d[2] - c[2]) / hz * 1e6 / units
        printf "%.2f (%.2f + %.2f) / %.2f", user + kernel, user, kernel, echo }'
}

# run_load PATH FIELD IDLE BENCH-ARGS...: one run, with IDLE connections held beside the
# load; sets result to the figure or "failed", and cpu to cpu_split's figures.
run_load() {
    local path=$1 field=$2 idle=$3 json bench_pid proxy0="" proxy1="" echo0 echo1
    shift 3
    start_path "$path"
    result=failed
    cpu=-
    if ((idle > 0)); then
        # Silent for the rest of the run, as connections a server in service holds.
        if ! hold_idle_connections bench-relay.sh "ws://127.0.0.1:$port/" "$idle" 3600 \
            "$work/idle.out"; then
            stop_all
            return
        fi
        pids+=("$idle_pid")
    fi
    "${pin_client[@]}" "$wsw" bench "ws://127.0.0.1:$port/" --json --seconds "$seconds" \
        "$@" >"$work/bench.out" 2>"$work/bench.err" &
    bench_pid=$!
    # The CPU used from just after the warm-up (0.5 s) to just before the end.
    local window
    window=$(awk -v s="$seconds" 'BEGIN { printf "%.2f", s - 0.5 }')
    sleep 0.75
    [[ -n "$proxy_pid" ]] && proxy0=$(cpu_ticks "$proxy_pid")
    echo0=$(cpu_ticks "$echo_pid")
    sleep "$window"
    [[ -n "$proxy_pid" ]] && proxy1=$(cpu_ticks "$proxy_pid")
    echo1=$(cpu_ticks "$echo_pid")
    if wait "$bench_pid" && json=$(tail -n 1 "$work/bench.out") && [[ -n "$json" ]]; then
        result=$("$py" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$json" "$field")
        cpu=$(cpu_split "$result" "$window" "$proxy0" "$proxy1" "$echo0" "$echo1")
    else
        echo "bench-relay.sh: $path: wsw bench $* failed: $(cat "$work/bench.err")" >&2
    fi
    stop_all
}

# Binary messages: the paths then only frame and unframe.
# The last row is the first with 2,000 more connections open and silent through the
# proxy, as in service: a proxy that looks at every socket at each wait slows down.
labels=("64 B echo, 50 conns x 16 in flight" "1 MiB echo, 4 conns x 2 in flight"
    "connect + close, 8 loops" "64 B echo with 2,000 idle conns held, 50 x 16 in flight")
units=("messages/s" "MB/s" "connections/s" "messages/s")
fields=(messagesPerSecond megabytesPerSecond connectionsPerSecond messagesPerSecond)
args=("--binary --size 64 --conns 50 --window 16" "--binary --size 1048576 --conns 4 --window 2"
    "--mode connect --conns 8" "--binary --size 64 --conns 50 --window 16")
idle=(0 0 0 2000)
paths=(relay nginx direct)
((window)) && paths=(relay window nginx direct)

declare -A best best_cpu
rows=()
for i in "${!labels[@]}"; do
    [[ -z "$only" || "${labels[$i]}" == "$only"* ]] && rows+=("$i")
done
for i in "${rows[@]}"; do
    for path in "${paths[@]}"; do best[$i,$path]=failed; done
    for ((run = 1; run <= runs; run++)); do
        for path in "${paths[@]}"; do
            echo "== ${labels[$i]}: $path (run $run of $runs)" >&2
            # shellcheck disable=SC2086 # the arguments are words on purpose
            run_load "$path" "${fields[$i]}" "${idle[$i]}" ${args[$i]}
            if [[ "$(better "${best[$i,$path]}" "$result" max)" != "${best[$i,$path]}" ]]; then
                best[$i,$path]=$result
                best_cpu[$i,$path]=$cpu
            fi
        done
    done
done

status=0
echo
echo "Relay benchmark: \`wsw relay --quiet\` vs nginx $("$nginx" -v 2>&1 | sed 's|.*nginx/||') (bench/relay/nginx.conf.in) vs none, all in front of \`wsw serve --mode echo\`"
echo "(best of $runs run(s) of ${seconds} s after 0.5 s warm-up; echo server and proxy pinned to CPU 0, \`wsw bench\` to CPU 1; binary messages; MB = 10^6 bytes, one way)."
echo
header="| row | relay |"
rule="|---|---:|"
((window)) && { header+=" window |"; rule+="---:|"; }
header+=" nginx | direct | relay/nginx | relay/direct |"
rule+="---:|---:|---:|---:|"
((window)) && { header+=" window/nginx |"; rule+="---:|"; }
echo "$header"
echo "$rule"
for i in "${rows[@]}"; do
    for path in "${paths[@]}"; do [[ "${best[$i,$path]}" == failed ]] && status=1; done
    line="| ${labels[$i]} (${units[$i]}) | $(fmt "${best[$i,relay]}") |"
    ((window)) && line+=" $(fmt "${best[$i,window]}") |"
    line+=" $(fmt "${best[$i,nginx]}") | $(fmt "${best[$i,direct]}") | $(ratio "${best[$i,relay]}" "${best[$i,nginx]}") | $(ratio "${best[$i,relay]}" "${best[$i,direct]}") |"
    ((window)) && line+=" $(ratio "${best[$i,window]}" "${best[$i,nginx]}") |"
    echo "$line"
done
echo
echo "CPU time per unit of each row in the best runs above (µs per message, per MB, per connection): the proxy's, as user + system, / the echo server's."
echo
header="| row | relay |"
rule="|---|---:|"
((window)) && { header+=" window |"; rule+="---:|"; }
echo "$header nginx | direct (echo) |"
echo "$rule---:|---:|"
for i in "${rows[@]}"; do
    line="| ${labels[$i]} |"
    for path in "${paths[@]}"; do line+=" ${best_cpu[$i,$path]:--} |"; done
    echo "$line"
done
exit $status
