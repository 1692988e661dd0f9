#!/usr/bin/env bash
# The one check for a GPU machine (NVIDIA GPU, CUDA toolkit, CMake, ninja, PyTorch with CUDA;
# none of the project's Debian libraries, no network; only the repository travels).
#
#   scripts/gpu_check.sh fetch   here, on a Debian 12 development machine: downloads the .deb
#                                files the build needs (apt-get download, 17 MB) into
#                                .gpu-deps/debs. The folder is git-ignored; send it with the
#                                repository (carry: .gpu-deps/debs).
#   scripts/gpu_check.sh run     on the GPU machine: unpacks them (dpkg -x) into .gpu-deps/root,
#                                configures a CUDA build in build-gpu/ against it, builds only
#                                what the check needs, runs the CUDA
#                                tests (the op table on every GPU), `sinapsis devices`, and the
#                                step benchmarks against PyTorch on the same GPU (TF32 off on
#                                both sides). Output in build-gpu/gpu_check.log and on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.gpu-deps"
arch=x86_64-linux-gnu
# the build's libraries and headers, and what they load at run time
pkgs=(libopenblas-openmp-dev libopenblas0-openmp libopenblas-dev libgfortran5 libquadmath0
      liblapacke-dev liblapacke liblapack3 libblas3 libtmglib3
      zlib1g-dev libgtest-dev nlohmann-json3-dev libcli11-dev)

fetch() {
  rm -rf "$deps/debs"
  mkdir -p "$deps/debs"
  (cd "$deps/debs" && apt-get download "${pkgs[@]}")
  du -sh "$deps/debs"
  echo "gpu_check: ${#pkgs[@]} packages in $deps/debs (carry .gpu-deps/debs to the GPU machine)"
}

unpack() {
  ls "$deps"/debs/*.deb >/dev/null 2>&1 || { echo "gpu_check: no $deps/debs; run 'scripts/gpu_check.sh fetch' first"; exit 2; }
  rm -rf "$deps/root"
  for d in "$deps"/debs/*.deb; do dpkg -x "$d" "$deps/root"; done
}

run() {
  local r="$deps/root" log="$root/build-gpu/gpu_check.log"
  unpack
  mkdir -p "$root/build-gpu"
  : >"$log"
  exec > >(tee -a "$log") 2>&1
  nvidia-smi || true
  local libdirs="$r/usr/lib/$arch/openblas-openmp:$r/usr/lib/$arch/lapack:$r/usr/lib/$arch/blas:$r/usr/lib/$arch"
  export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  cmake -S "$root" -B "$root/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSN_CUDA=ON -DSN_CUDA_ARCHITECTURES="${SN_CUDA_ARCHITECTURES:-native}" -DSN_ONNX=OFF -DSN_MPI=OFF \
    -DSN_BUILD_EXAMPLES=OFF -DSN_BUILD_TESTS=ON -DSN_BUILD_BENCH=ON -DSN_BUILD_CLI=ON \
    -DCMAKE_PREFIX_PATH="$r/usr;$r/usr/lib/$arch/cmake;$r/usr/share/cmake" \
    -DCMAKE_CXX_FLAGS="-isystem $r/usr/include -isystem $r/usr/include/$arch" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$libdirs -L$r/usr/lib/$arch" \
    -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$libdirs -L$r/usr/lib/$arch" \
    -DSN_OPENBLAS="$r/usr/lib/$arch/openblas-openmp/libopenblas.so" \
    -DSN_OPENBLAS_INC="$r/usr/include/$arch/openblas-openmp" \
    -DSN_LAPACKE="$r/usr/lib/$arch/liblapacke.so" \
    -DZLIB_ROOT="$r/usr" -DGTest_DIR="$r/usr/lib/$arch/cmake/GTest"
  # SN_GPU_CHECK_CONFIGURE_ONLY=1: stop here (to try the script on a machine without a GPU)
  [[ "${SN_GPU_CHECK_CONFIGURE_ONLY:-0}" == 1 ]] && return 0
  cmake --build "$root/build-gpu" -j "$(nproc)" \
    --target test_backend sinapsis_cli bench_mlp_train bench_cnn_train bench_gpt_train
  echo "== sinapsis devices"
  "$root/build-gpu/tools/cli/sinapsis" devices
  echo "== the op table on every GPU (and the fake device), test_backend"
  "$root/build-gpu/test_backend" --gtest_brief=1 || echo "gpu_check: test_backend FAILED"
  echo "== training steps on the GPU against PyTorch (TF32 off on both sides)"
  python3 "$root/bench/torch_cuda_steps.py" || echo "gpu_check: the PyTorch side failed"
  for b in mlp_train cnn_train gpt_train; do
    "$root/build-gpu/bench/bench_$b" --device cuda --threads 1 ||
      echo "gpu_check: bench_$b --device cuda did not run (see docs/backends.md: what the CUDA backend lacks)"
  done
}

case "${1:-}" in
  fetch) fetch ;;
  run) run ;;
  *) echo "usage: scripts/gpu_check.sh fetch|run"; exit 2 ;;
esac
