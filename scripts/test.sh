#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole suite (ctest).
#   scripts/test.sh             optimised build in build/
#   scripts/test.sh --sanitize  ASan + UBSan build in build-asan/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$@"
dir="$root/build"
[[ "${1:-}" == "--sanitize" ]] && dir="$root/build-asan"
export OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$dir" && ctest --output-on-failure -j "$(nproc)"
