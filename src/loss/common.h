// Private helpers shared by the loss kernels: reduction names and checks, the deterministic
// chunked sum, and dtype/shape checks of input and target. Not part of the public API.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "backend/cpu/loops.h"
#include "sinapsis/core/tensor.h"
#include "sinapsis/loss/loss.h"

namespace sn::loss::detail {

// Sums f(i) for i in [0, n) in fixed chunks, so the result does not depend on the thread count.
template <typename F>
double chunked_sum(int64_t n, F&& f) {
  constexpr int64_t kChunk = 8192;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += f(i);
    return s;
  }
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
  cpu::parallel_for(chunks, 2, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double s = 0;
      const int64_t hi = std::min(n, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < hi; ++i) s += f(i);
      part[static_cast<size_t>(c)] = s;
    }
  });
  double s = 0;
  for (double v : part) s += v;
  return s;
}

// Σ of values produced a chunk at a time: fill(b, e, buf) writes the values of [b, e) to buf (a
// plain loop the compiler vectorises, where a summing loop would stay scalar), then the chunk is
// summed in double. Fixed chunks: the result does not depend on the thread count.
template <typename T, typename Fill>
double chunked_fill_sum(int64_t n, Fill&& fill) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  auto one = [&](int64_t c) {
    T buf[kChunk];
    const int64_t b = c * kChunk, m = std::min(n, b + kChunk) - b;
    fill(b, b + m, buf);
    double s[4] = {0, 0, 0, 0};  // four chains: the adds overlap instead of waiting in line
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
      for (int k = 0; k < 4; ++k) s[k] += buf[i + k];
    for (; i < m; ++i) s[0] += buf[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
  };
  if (chunks <= 1) return chunks == 1 ? one(0) : 0.0;
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
  cpu::parallel_for(chunks, 4, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) part[static_cast<size_t>(c)] = one(c);
  });
  double total = 0;
  for (double v : part) total += v;
  return total;
}

// Throws for BatchMean outside kl_div.
void check_reduction(Reduction r, const char* op, bool batchmean_ok = false);

// The input must be floating point; returns the target converted to the input's dtype
// (differentiably), after checking that both have the same shape.
Tensor same_shape_target(const Tensor& input, const Tensor& target, const char* op);

// An optional weight: undefined stays undefined; otherwise it must broadcast to `shape` and is
// returned expanded, contiguous and of dtype `dt` (no history: losses treat weights as fixed).
Tensor expand_weight(const Tensor& w, const Shape& shape, DType dt, const char* op,
                     const char* what);

}  // namespace sn::loss::detail
