#!/usr/bin/env bash
# Configures and builds sinapsis into build/ (or build-asan/ with --sanitize).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/build"
# options are given every time so that a folder configured otherwise earlier is set right
# SN_NATIVE=ON ./scripts/build.sh builds for this machine only (-march=native)
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DSN_BUILD_TESTS=ON -DSN_BUILD_EXAMPLES=ON -DSN_BUILD_CLI=ON
      -DSN_NATIVE="${SN_NATIVE:-OFF}")
if [[ "${1:-}" == "--sanitize" ]]; then
  dir="$root/build-asan"
  # Debug keeps assertions on; its flags are replaced by -O1 -g1 (line tables for stack traces:
  # full -g made this build a third slower)
  args=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DSN_SANITIZE=ON -DSN_BUILD_BENCH=OFF -DSN_BUILD_TESTS=ON
        -DSN_NATIVE="${SN_NATIVE:-OFF}"
        -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS="")
fi
# ccache, when present, makes rebuilds of a fresh checkout (CI, a second work tree) quick;
# paths are taken relative to the checkout so that two checkouts share the cache
if command -v ccache >/dev/null 2>&1; then
  args+=("-DCMAKE_CXX_COMPILER_LAUNCHER=env;CCACHE_BASEDIR=$root;CCACHE_NOHASHDIR=1;ccache")
else
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=)
fi
cmake -S "$root" -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
