#!/usr/bin/env bash
# Builds the microbenchmarks (Release) into build-bench/, runs wsw-microbench and
# prints each hot path's throughput as a percentage of memcpy's at the same size,
# measured in the same run (absolute figures vary a lot between machines and runs).
# Goals: unmasking >= 50% of memcpy, ASCII UTF-8 validation >= 25%; the script exits
# with status 1 when one is missed. The frame decoder's, the relay's and the log's
# rows are rates. Extra arguments go to wsw-microbench, e.g.
# scripts/microbench.sh --benchmark_filter='memcpy|utf8'
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-bench
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSW_BENCH=ON >/dev/null
cmake --build "$build_dir" --target wsw-microbench --parallel "$(nproc)"

json="$build_dir/microbench.json"
# Repetitions, reduced to their median, smooth out other load on the machine.
"$build_dir/bench/wsw-microbench" --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_out="$json" \
    --benchmark_out_format=json "$@"

python3 - "$json" <<'EOF'
import json
import sys

GOALS = {"BM_applyMask": 50, "BM_copyWithMask": 50, "BM_utf8Ascii": 25}

with open(sys.argv[1]) as f:
    report = json.load(f)

medians = {}
for bench in report["benchmarks"]:
    if bench.get("run_type") == "aggregate" and bench.get("aggregate_name") != "median":
        continue
    if bench.get("error_occurred"):
        print(f"{bench['name']}: {bench.get('error_message', 'failed')}")
        continue
    medians[bench.get("run_name", bench["name"])] = bench


def size_label(arg):
    size = int(arg)
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} B"


memcpy = {}
for name, bench in medians.items():
    function, _, arg = name.partition("/")
    if function == "BM_memcpy" and "bytes_per_second" in bench:
        memcpy[arg] = bench["bytes_per_second"]

missed = []
print()
print(f"{'benchmark':<24}{'size':>8}{'GB/s':>9}{'% memcpy':>10}{'goal':>7}")
for name, bench in medians.items():
    function, _, arg = name.partition("/")
    if "bytes_per_second" not in bench or function.startswith(("BM_decode", "BM_relay")):
        continue
    rate = bench["bytes_per_second"]
    percent = f"{100 * rate / memcpy[arg]:.0f}%" if arg in memcpy else "-"
    goal = GOALS.get(function)
    verdict = ""
    if goal is not None and arg in memcpy:
        met = 100 * rate / memcpy[arg] >= goal
        verdict = f"{goal}% {'ok' if met else 'MISSED'}"
        if not met:
            missed.append(f"{function} at {size_label(arg)}")
    print(f"{function[3:]:<24}{size_label(arg):>8}{rate / 1e9:>9.2f}{percent:>10}  {verdict}")


def rate_table(prefix, columns):
    """The benchmarks named prefix*, a column per (title, format, value of a bench)."""
    rows = [(n, b) for n, b in medians.items() if n.startswith(prefix)]
    if not rows:
        return
    print()
    print(f"{'benchmark':<24}{'payload':>8}" + "".join(f"{t:>{len(t) + 3}}" for t, _, _ in columns))
    for name, bench in rows:
        function, _, arg = name.partition("/")
        cells = "".join(f"{value(bench):>{len(t) + 3}{spec}}" for t, spec, value in columns)
        print(f"{function[3:]:<24}{size_label(arg.split('/')[0]):>8}{cells}")


rate_table("BM_decode", [("Mframes/s", ".2f", lambda b: b.get("items_per_second", 0) / 1e6),
                         ("GB/s", ".2f", lambda b: b.get("bytes_per_second", 0) / 1e9)])
per_message = lambda b: 1e9 / b["items_per_second"] if b.get("items_per_second") else 0
rate_table("BM_relay", [("Mframes/s", ".2f", lambda b: b.get("items_per_second", 0) / 1e6),
                        ("ns/frame", ".1f", per_message)])
rate_table("BM_log", [("ns/message", ".0f", per_message)])

if missed:
    print()
    print("Goals missed: " + ", ".join(missed))
    sys.exit(1)
EOF
