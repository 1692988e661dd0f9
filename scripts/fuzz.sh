#!/usr/bin/env bash
# Bounded libFuzzer run over the file readers (safetensors, IDX, CSV) and the JSON model-spec
# reader, built with clang and ASan in build-fuzz/. Each fuzzer starts from tests/fuzz/corpus/<target>/ plus a scratch corpus.
#   scripts/fuzz.sh            60 seconds per target
#   scripts/fuzz.sh 300        300 seconds per target
#   scripts/fuzz.sh 600 spec   only the named targets (safetensors, idx, csv, spec)
# Each fuzzer runs as one process on one core; the build uses every core.
# A crash stops with a non-zero exit and leaves the input as build-fuzz/crash-<target>-*; copy it
# into tests/fuzz/corpus/<target>/ (named crash-<what>) so every ctest run replays it from then on.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: seconds must be a positive integer (got '$seconds')" >&2; exit 2; }
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
((${#targets[@]})) || targets=(safetensors idx csv spec)
for t in "${targets[@]}"; do
  [[ "$t" =~ ^(safetensors|idx|csv|spec)$ ]] || { echo "fuzz.sh: unknown target '$t' (safetensors, idx, csv or spec)" >&2; exit 2; }
done
"$root/scripts/install-deps.sh"
dir="$root/build-fuzz"
CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSN_FUZZ=ON \
  -DSN_BUILD_TESTS=OFF -DSN_BUILD_EXAMPLES=OFF -DSN_BUILD_BENCH=OFF -DSN_BUILD_CLI=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
status=0
for t in "${targets[@]}"; do
  scratch="$dir/corpus-$t"
  mkdir -p "$scratch"
  dict=()
  [[ -f "$root/tests/fuzz/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "fuzz_$t: ${seconds}s"
  if ! (cd "$dir" && ASAN_OPTIONS=detect_leaks=1 "./tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
          -artifact_prefix="$dir/crash-$t-" -print_final_stats=1 "${dict[@]}" \
          "$scratch" "$root/tests/fuzz/corpus/$t" 2>"$dir/fuzz-$t.log"); then
    echo "fuzz_$t: FAILED, see $dir/fuzz-$t.log and $dir/crash-$t-*" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" "$dir/fuzz-$t.log" |
    sed "s/^/  /" || true
  echo "  corpus: $(find "$scratch" -type f | wc -l) inputs in $scratch"
done
exit $status
