#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs
# each for a bounded time: scripts/fuzz.sh [seconds per target, default 30].
# Findings land in build-fuzz/findings/; the corpora grow in build-fuzz/corpus/<target>.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build_dir=build-fuzz
# binutils' ar, as on a fresh machine: CMake would take LLVM's llvm-ar wherever the llvm
# package happens to be installed, which install-deps.sh does not ask for.
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DWSW_FUZZ=ON \
    -DCMAKE_AR=/usr/bin/ar -DCMAKE_RANLIB=/usr/bin/ranlib \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
mkdir -p "$build_dir/findings"
for target in "$build_dir"/fuzz/fuzz_*; do
    [[ -f "$target" && -x "$target" ]] || continue
    name=$(basename "$target")
    corpus="$build_dir/corpus/$name"
    mkdir -p "$corpus"
    seeds="fuzz/seeds/${name#fuzz_}"
    args=("$corpus")
    [[ -d "$seeds" ]] && args+=("$seeds")
    echo "== $name for ${seconds}s"
    "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build_dir/findings/$name-" "${args[@]}" 2>&1 | tail -n 12
done
