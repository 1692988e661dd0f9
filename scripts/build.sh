#!/usr/bin/env bash
# Configures and builds sinapsis into build/ (or build-asan/ with --sanitize).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/build"
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
if [[ "${1:-}" == "--sanitize" ]]; then
  dir="$root/build-asan"
  args=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DSN_SANITIZE=ON -DSN_BUILD_BENCH=OFF
        -DCMAKE_CXX_FLAGS="-O1 -g")
fi
cmake -S "$root" -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
