// The CPU reduction kernels behind the backend's sum and softmax: strided reads, no
// permute-and-copy; full sums in fixed blocks so the bits do not depend on the thread count.
#include "backend/cpu/reduce.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/loops.h"
#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"

namespace sn::cpu {

namespace {

// out[k] = sum over the reduced dims of a (out contiguous, shape = kept).
template <typename T, typename To>
void sum_kernel(const Tensor& a, const ReduceGeom& g, const Tensor& out) {
  const T* pa = static_cast<const T*>(a.raw_data());
  To* po = static_cast<To*>(out.raw_data());
  const int64_t K = g.kept_shape.numel();
  // summing over an empty dim gives zeros (and the fast paths below would read element 0)
  if (g.red_numel == 0) {
    for (int64_t k = 0; k < K; ++k) po[k] = To(0);
    return;
  }
  // full reduction of a contiguous tensor: partial sums over fixed-size blocks, added in block
  // order, so the result is the same bits whatever the thread count
  if (K == 1 && a.is_contiguous()) {
    const int64_t n = a.numel(), block = kParallelGrain;
    const int64_t nblocks = std::max<int64_t>(1, (n + block - 1) / block);
    const int nt = static_cast<int>(std::min<int64_t>(num_threads(), nblocks));
    std::vector<acc_type<T>> part(nblocks, 0);
#pragma omp parallel for num_threads(nt) if (nt > 1 && !omp_in_parallel()) schedule(static)
    for (int64_t c = 0; c < nblocks; ++c) {
      acc_type<T> s = 0;
      for (int64_t i = c * block, e = std::min(n, i + block); i < e; ++i) s += pa[i];
      part[c] = s;
    }
    acc_type<T> s = 0;
    for (auto v : part) s += v;
    po[0] = static_cast<To>(s);
    return;
  }
  // reducing leading dims of a contiguous tensor (bias gradients): accumulate rows
  if (a.is_contiguous() && g.red_shape.size() == 1 && g.red_strides[0] == K &&
      contiguous_strides(g.kept_shape) == g.kept_strides) {
    const int64_t R = g.red_shape[0];
    parallel_for(K, 1024, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) po[k] = static_cast<To>(pa[k]);
      for (int64_t r = 1; r < R; ++r) {
        const T* row = pa + r * K;
        for (int64_t k = b; k < e; ++k) po[k] = static_cast<To>(po[k] + row[k]);
      }
    });
    return;
  }
  const Shape out_strides = contiguous_strides(g.kept_shape);
  strided_loop<2>(
      g.kept_shape, {&g.kept_strides, &out_strides},
      [&](const int64_t* off, const int64_t* st, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const T* base = pa + off[0] + i * st[0];
          acc_type<T> s = 0;
          if (g.red_shape.size() == 1 && g.red_strides[0] == 1) {
            const int64_t R = g.red_shape[0];
            for (int64_t r = 0; r < R; ++r) s += base[r];
          } else {
            for_reduced(g, [&](int64_t o) { s += base[o]; });
          }
          po[off[1] + i * st[1]] = static_cast<To>(s);
        }
      },
      std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, g.red_numel)));
}

// ---- softmax / log_softmax along one dim
// One contiguous row, written as loops the compiler vectorises: a lane-wise max, the
// exponentials, then a lane-wise sum (kept in acc_type, as in the strided path).
template <typename T, bool Log>
void softmax_row(const T* x, T* y, int64_t R) {
  constexpr int kLanes = 8;
  T lane_max[kLanes];
  for (int j = 0; j < kLanes; ++j) lane_max[j] = -std::numeric_limits<T>::infinity();
  int64_t r = 0;
  for (; r + kLanes <= R; r += kLanes)
    for (int j = 0; j < kLanes; ++j) lane_max[j] = x[r + j] > lane_max[j] ? x[r + j] : lane_max[j];
  T mx = -std::numeric_limits<T>::infinity();
  for (int j = 0; j < kLanes; ++j) mx = std::max(mx, lane_max[j]);
  for (; r < R; ++r) mx = std::max(mx, x[r]);
  if (std::isinf(mx) && mx < 0) mx = 0;
  // a NaN in the row is skipped by the max but turns the sum, and so every output, into NaN
  for (r = 0; r < R; ++r) y[r] = vexp(x[r] - mx);  // for log_softmax y is scratch
  acc_type<T> lane_sum[kLanes] = {};
  for (r = 0; r + kLanes <= R; r += kLanes)
    for (int j = 0; j < kLanes; ++j) lane_sum[j] += y[r + j];
  acc_type<T> s = 0;
  for (int j = 0; j < kLanes; ++j) s += lane_sum[j];
  for (; r < R; ++r) s += y[r];
  if constexpr (Log) {
    // (x - max) - log Σ, not x - (max + log Σ): the latter rounds at the scale of max
    const T ls = static_cast<T>(std::log(s));
    for (r = 0; r < R; ++r) y[r] = (x[r] - mx) - ls;
  } else {
    const T inv = static_cast<T>(1.0 / s);
    for (r = 0; r < R; ++r) y[r] *= inv;
  }
}

template <typename T, bool Log>
void softmax_kernel(const Tensor& a, int dim, const Tensor& out) {
  std::vector<bool> m(a.dim(), false);
  m[dim] = true;
  const ReduceGeom g = geometry(a, m);
  const ReduceGeom go = geometry(out, m);
  const T* pa = static_cast<const T*>(a.raw_data());
  T* po = static_cast<T*>(out.raw_data());
  const int64_t R = a.shape()[dim], sa = a.strides()[dim], so = out.strides()[dim];
  strided_loop<2>(
      g.kept_shape, {&g.kept_strides, &go.kept_strides},
      [&](const int64_t* off, const int64_t* st, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const T* x = pa + off[0] + i * st[0];
          T* y = po + off[1] + i * st[1];
          if (sa == 1 && so == 1) {
            softmax_row<T, Log>(x, y, R);
            continue;
          }
          T mx = -std::numeric_limits<T>::infinity();
          for (int64_t r = 0; r < R; ++r) mx = std::max(mx, x[r * sa]);
          if (std::isinf(mx) && mx < 0) mx = 0;
          acc_type<T> s = 0;
          if constexpr (Log) {
            for (int64_t r = 0; r < R; ++r) s += vexp(x[r * sa] - mx);
            // (x - max) - log Σ, not x - (max + log Σ): the latter rounds at the scale of max
            const T ls = static_cast<T>(std::log(s));
            for (int64_t r = 0; r < R; ++r) y[r * so] = (x[r * sa] - mx) - ls;
          } else {
            for (int64_t r = 0; r < R; ++r) {
              const T e = vexp(x[r * sa] - mx);
              y[r * so] = e;
              s += e;
            }
            const T inv = static_cast<T>(1.0 / s);
            for (int64_t r = 0; r < R; ++r) y[r * so] *= inv;
          }
        }
      },
      std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)));
}

}  // namespace

void sum(const Tensor& out, const Tensor& a, const std::vector<bool>& reduce) {
  const ReduceGeom g = geometry(a, reduce);
  SN_DISPATCH_ALL(a.dtype(), "sum", [&] {
    using T = scalar_t;
    if constexpr (std::is_floating_point_v<T>)
      sum_kernel<T, T>(a, g, out);
    else
      sum_kernel<T, int64_t>(a, g, out);
  });
}

void softmax(const Tensor& out, const Tensor& a, int dim, bool log) {
  SN_DISPATCH_FLOAT(a.dtype(), log ? "log_softmax" : "softmax", [&] {
    if (log)
      softmax_kernel<scalar_t, true>(a, dim, out);
    else
      softmax_kernel<scalar_t, false>(a, dim, out);
  });
}

}  // namespace sn::cpu
