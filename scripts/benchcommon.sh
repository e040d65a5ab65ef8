# What scripts/bench.sh and scripts/bench-relay.sh share: their arguments, the
# descriptor limit, the CPU pinning and the arithmetic of the tables. Sourced, not run.
#
# bench_arguments NAME ARGS...: sets seconds, runs and only from --seconds N,
# --runs N, --quick and --only TEXT; --help prints the calling script's header
# comment (its lines 2 to $help_lines).
bench_arguments() {
    local name=$1
    shift
    seconds=5
    runs=3
    only=""
    while (($#)); do
        case "$1" in
        --seconds)
            seconds=${2:?--seconds needs a value}
            shift 2
            ;;
        --runs)
            runs=${2:?--runs needs a value}
            shift 2
            ;;
        --only)
            only=${2:?--only needs a value}
            shift 2
            ;;
        --quick)
            seconds=1
            runs=1
            shift
            ;;
        -h | --help)
            sed -n "2,${help_lines}p" "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "$name: unknown argument $1 (see --help)" >&2
            exit 1
            ;;
        esac
    done
}

# bench_setup NAME: up to 16,384 descriptors (idle connections take one in the load
# generator, one in the server and two in a proxy: bench.sh holds 1,000,
# bench-relay.sh 2,000) and pin_server/pin_client: taskset to CPU 0 and CPU 1 when
# the machine has two CPUs or more.
bench_setup() {
    local hard
    hard=$(ulimit -Hn)
    if [[ "$hard" == unlimited || "$hard" -ge 16384 ]]; then ulimit -Sn 16384; else ulimit -Sn "$hard"; fi
    pin_server=()
    pin_client=()
    if command -v taskset >/dev/null && (($(nproc) >= 2)); then
        pin_server=(taskset -c 0)
        pin_client=(taskset -c 1)
    else
        echo "$1: fewer than 2 CPUs or no taskset: running unpinned" >&2
    fi
}

# better OLD NEW max|min: the better of two figures ("failed" loses).
better() {
    awk -v a="$1" -v b="$2" -v how="$3" 'BEGIN {
        if (a !~ /^[0-9.]+$/) { print b; exit }
        if (b !~ /^[0-9.]+$/) { print a; exit }
        if (how == "max") print (b + 0 > a + 0 ? b : a); else print (b + 0 < a + 0 ? b : a) }'
}

ratio() { # ratio A B: A/B with 2 decimals, or "-"
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'
}

fmt() { # fmt VALUE: a figure rounded for the table
    awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v } else print v }'
}

# wait_listening LOG WHAT PID: waits (10 s at most, and while PID lives) for the
# "listening on ws[s]://HOST:PORT/" line of a server's LOG and prints the port.
wait_listening() {
    local waited=0
    until grep -q '^listening on wss\{0,1\}://' "$1"; do
        sleep 0.05
        waited=$((waited + 1))
        if ((waited > 200)) || ! kill -0 "$3" 2>/dev/null; then
            echo "$(basename "$0"): $2 did not start:" >&2
            cat "$1" >&2
            exit 1
        fi
    done
    sed -n 's|^listening on wss\{0,1\}://[^:]*:\([0-9]*\)/.*|\1|p' "$1" | sed -n 1p
}

# hold_idle_connections NAME URL COUNT SECONDS OUT: `wsw bench --mode idle` (pinned
# like the load, $wsw) opens COUNT connections to URL and holds them silent for
# SECONDS, its output in OUT; returns once all are open, with idle_pid set, or
# fails with the reason on stderr.
hold_idle_connections() {
    local name=$1 url=$2 count=$3 seconds=$4 out=$5 waited=0
    : >"$out"
    "${pin_client[@]}" "$wsw" bench "$url" --mode idle --conns "$count" --seconds "$seconds" \
        >"$out" 2>&1 &
    idle_pid=$!
    until grep -q "^idle $count connections open" "$out"; do
        sleep 0.05
        waited=$((waited + 1))
        if ((waited > 1200)) || ! kill -0 "$idle_pid" 2>/dev/null; then
            echo "$name: the $count idle connections did not open:" >&2
            cat "$out" >&2
            kill "$idle_pid" 2>/dev/null || true
            wait "$idle_pid" 2>/dev/null || true
            return 1
        fi
    done
}
