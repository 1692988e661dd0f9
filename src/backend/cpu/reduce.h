// Reduction geometry for the CPU kernels: a reduction seen as kept positions (shape + input
// strides) times a coalesced reduced sub-space, and the accumulator type of a sum. Shared by
// the backend's sum/softmax kernels (reduce.cpp here) and the index-returning reductions that
// still live in ops/reduce.cpp.
#pragma once
#include <type_traits>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::cpu {

// Geometry of a reduction: kept positions (shape + input strides) and the reduced sub-space.
struct ReduceGeom {
  Shape kept_shape, kept_strides;  // over the kept dims (input strides)
  Shape red_shape, red_strides;    // over the reduced dims (input strides), coalesced
  int64_t red_numel = 1;
};

inline ReduceGeom geometry(const Tensor& a, const std::vector<bool>& m) {
  ReduceGeom g;
  for (int i = 0; i < a.dim(); ++i) {
    if (m[i]) {
      if (a.shape()[i] == 1) continue;
      // merge with the previous reduced dim when contiguous with it
      if (!g.red_shape.empty() && g.red_strides.back() == a.strides()[i] * a.shape()[i]) {
        g.red_shape.back() *= a.shape()[i];
        g.red_strides.back() = a.strides()[i];
      } else {
        g.red_shape.push_back(a.shape()[i]);
        g.red_strides.push_back(a.strides()[i]);
      }
      g.red_numel *= a.shape()[i];
    } else {
      g.kept_shape.push_back(a.shape()[i]);
      g.kept_strides.push_back(a.strides()[i]);
    }
  }
  return g;
}

// Visits each element of the reduced sub-space starting at `base`: f(ptr_offset).
template <typename F>
inline void for_reduced(const ReduceGeom& g, F&& f) {
  const int nd = g.red_shape.size();
  if (nd == 0) {
    f(int64_t{0});
    return;
  }
  if (nd == 1) {
    const int64_t n = g.red_shape[0], s = g.red_strides[0];
    for (int64_t i = 0; i < n; ++i) f(i * s);
    return;
  }
  int64_t idx[kMaxDims] = {};
  int64_t off = 0;
  const int64_t n_in = g.red_shape[nd - 1], s_in = g.red_strides[nd - 1];
  while (true) {
    for (int64_t i = 0; i < n_in; ++i) f(off + i * s_in);
    int d = nd - 2;
    for (; d >= 0; --d) {
      off += g.red_strides[d];
      if (++idx[d] < g.red_shape[d]) break;
      off -= idx[d] * g.red_strides[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

template <typename T>
using acc_type = std::conditional_t<std::is_same_v<T, float>, double,
                                    std::conditional_t<std::is_same_v<T, bool>, int64_t, T>>;

// out (contiguous, the kept dims of a) = sum of a over the dims where `reduce` is true; float
// dtypes sum to themselves, integers and bool to int64.
void sum(const Tensor& out, const Tensor& a, const std::vector<bool>& reduce);
// softmax (log-softmax with `log`) of a float tensor along `dim` into out (same shape).
void softmax(const Tensor& out, const Tensor& a, int dim, bool log);

}  // namespace sn::cpu
