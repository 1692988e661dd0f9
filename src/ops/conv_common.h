// Private helpers shared by conv.cpp, pool.cpp and norm.cpp: per-thread scratch buffers, the
// thread-team size for loops over samples/planes, a raw-pointer GEMM, and the input checks
// these ops share. Not a public API; nothing here records autograd history.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "backend/cpu/loops.h"
#include "sinapsis/core/tensor.h"

namespace sn::convops {

// A scratch buffer owned by the calling thread, grown on demand and kept for later calls, so a
// training loop does not allocate im2col buffers every step. `slot` separates buffers a kernel
// needs at the same time. Contents are undefined on return.
inline constexpr int kScratchSlots = 6;
template <typename T>
T* scratch(int slot, size_t n) {
  thread_local std::vector<T> bufs[kScratchSlots];
  std::vector<T>& b = bufs[slot];
  if (b.size() < n) {
    b.clear();
    b.shrink_to_fit();
    b.resize(n);
  }
  return b.data();
}

// Threads for a loop over `items` independent pieces costing about `work` flops in total: one
// thread when already inside a parallel region or when the work is too small to amortise a fork.
inline int team_size(int64_t items, double work) {
  if (omp_in_parallel()) return 1;
  const int64_t nt = std::min<int64_t>(cpu::num_threads(), items);
  if (nt <= 1 || work < 2e5) return 1;
  return static_cast<int>(nt);
}

// Σ_{i<n} f(i) in 8 independent double partial sums: a single running sum is one dependent add
// per element (4 cycles each); eight of them vectorise.
template <typename F>
inline double sum_of(int64_t n, F&& f) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f(i + k);
  double s = 0;
  for (; i < n; ++i) s += f(i);
  for (int k = 0; k < 8; ++k) s += acc[k];
  return s;
}

// C [M, N] = alpha · op(A) · op(B) + beta · C, row-major, leading dims given. The conv kernels call
// this once per sample on pointers into their own buffers; wrapping each call in tensor views
// would cost an allocation per call. Runs single-threaded inside a parallel region (OpenBLAS's
// OpenMP build checks omp_in_parallel).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
          const double* A, int64_t lda, const double* B, int64_t ldb, double beta, double* C,
          int64_t ldc);

// Checks x is defined, floating point, and [N, C, *spatial] with `spatial` dims (batched) or
// [C, *spatial] (unbatched); returns true when batched. `layout` names the dims for errors,
// e.g. "[N, C, H, W]".
bool check_input(const Tensor& x, int spatial, const char* op, const char* layout);

// Output size of a sliding window along one dim (PyTorch's rule, ceil_mode included). The caller
// has checked that the dilated window fits into the padded input.
inline int64_t window_out_size(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t kernel,
                               int64_t stride, int64_t dilation, bool ceil_mode) {
  const int64_t span = in + pad_lo + pad_hi - dilation * (kernel - 1) - 1;
  int64_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  // with ceil_mode the last window must start inside the input or the left padding
  if (ceil_mode && (out - 1) * stride >= in + pad_lo) --out;
  return out;
}

}  // namespace sn::convops
