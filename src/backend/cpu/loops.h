// Strided, broadcasting, multi-threaded elementwise loops: the one iterator every CPU kernel
// uses. Operands are given as (data pointer, strides in elements) over a common shape; stride 0
// is a broadcast. Dims are coalesced first, so contiguous tensors run as one flat loop.
// Every block of work runs through with_level (isa.h): the loop and the callable are compiled
// for AVX2 and AVX-512 too, and the CPU's level picks which runs.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "backend/cpu/isa.h"
#include "sinapsis/core/shape.h"

namespace sn::cpu {

// Below this many elements a loop runs on the calling thread.
inline constexpr int64_t kParallelGrain = 32768;

int num_threads();  // sn::get_num_threads(): the global count, capped by a ThreadLimitGuard

template <int N>
struct LoopShape {
  int nd = 0;
  int64_t size[kMaxDims];
  int64_t stride[N][kMaxDims];
};

// Drops size-1 dims and merges dims that are contiguous for every operand.
template <int N>
LoopShape<N> coalesce(const Shape& shape, const std::array<const Shape*, N>& strides) {
  LoopShape<N> L;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (L.nd > 0) {
      bool merge = true;
      for (int k = 0; k < N; ++k)
        if (L.stride[k][L.nd - 1] != (*strides[k])[d] * shape[d]) merge = false;
      if (merge) {
        L.size[L.nd - 1] *= shape[d];
        for (int k = 0; k < N; ++k) L.stride[k][L.nd - 1] = (*strides[k])[d];
        continue;
      }
    }
    L.size[L.nd] = shape[d];
    for (int k = 0; k < N; ++k) L.stride[k][L.nd] = (*strides[k])[d];
    ++L.nd;
  }
  if (L.nd == 0) {
    L.nd = 1;
    L.size[0] = 1;
    for (int k = 0; k < N; ++k) L.stride[k][0] = 0;
  }
  return L;
}

// Calls f(offsets[N], inner_strides[N], n) for runs of the innermost dim covering [begin, end).
template <int N, typename F>
void loop_range(const LoopShape<N>& L, int64_t begin, int64_t end, F& f) {
  const int nd = L.nd;
  int64_t idx[kMaxDims];
  int64_t off[N] = {};
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % L.size[d];
    rem /= L.size[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * L.stride[k][d];
  }
  int64_t inner_stride[N];
  for (int k = 0; k < N; ++k) inner_stride[k] = L.stride[k][nd - 1];
  const int64_t inner = L.size[nd - 1];
  while (begin < end) {
    const int64_t n = std::min(inner - idx[nd - 1], end - begin);
    f(off, inner_stride, n);
    begin += n;
    // advance the multi-index by n along the innermost dim, carrying outward
    idx[nd - 1] += n;
    for (int k = 0; k < N; ++k) off[k] += n * inner_stride[k];
    for (int d = nd - 1; d > 0 && idx[d] == L.size[d]; --d) {
      for (int k = 0; k < N; ++k) off[k] -= idx[d] * L.stride[k][d];
      idx[d] = 0;
      ++idx[d - 1];
      for (int k = 0; k < N; ++k) off[k] += L.stride[k][d - 1];
    }
  }
}

// Runs f over every element of `shape`, in parallel when large.
template <int N, typename F>
void strided_loop(const Shape& shape, const std::array<const Shape*, N>& strides, F&& f,
                  int64_t grain = kParallelGrain) {
  const LoopShape<N> L = coalesce<N>(shape, strides);
  int64_t total = 1;
  for (int d = 0; d < L.nd; ++d) total *= L.size[d];
  if (total == 0) return;
  const int nt = num_threads();
  if (nt <= 1 || total < grain || omp_in_parallel()) {
    with_level([&] { loop_range<N>(L, 0, total, f); });
    return;
  }
  const int chunks = static_cast<int>(std::min<int64_t>(nt, (total + grain - 1) / grain));
#pragma omp parallel for num_threads(chunks) schedule(static)
  for (int c = 0; c < chunks; ++c) {
    const int64_t b = total * c / chunks, e = total * (c + 1) / chunks;
    with_level([&] { loop_range<N>(L, b, e, f); });
  }
}

// Parallel for over [0, n) in contiguous blocks: f(begin, end).
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  const int nt = num_threads();
  if (nt <= 1 || n < grain || omp_in_parallel()) {
    with_level([&] { f(int64_t{0}, n); });
    return;
  }
  const int chunks = static_cast<int>(std::min<int64_t>(nt, (n + grain - 1) / grain));
#pragma omp parallel for num_threads(chunks) schedule(static)
  for (int c = 0; c < chunks; ++c) with_level([&] { f(n * c / chunks, n * (c + 1) / chunks); });
}

}  // namespace sn::cpu
