// CPU scaffolding for the fused optimizer kernels: contiguous raw views of a parameter and its
// gradient (copying only when the layout needs it), and the parallel element loop. The update
// formulas themselves are still in each optimizer's .cpp (they run on the CPU only: see
// docs/backends.md).
#pragma once
#include <xmmintrin.h>

#include "backend/cpu/loops.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/core/tensor.h"

namespace sn::cpu {

// Below this many elements an update runs on one thread: the kernels do a handful of flops per
// element, so smaller loops lose more to thread start-up than they gain.
inline constexpr int64_t kUpdateGrain = 16384;

// One parameter ready for a fused update: `param()` and `grad()` are contiguous tensors of the
// parameter's dtype. A non-contiguous parameter is updated in a copy and written back by
// finish(), which also bumps the version counter (autograd's in-place check).
class FusedParam {
 public:
  FusedParam(const Tensor& param, const Tensor& grad) : orig_(param) {
    param_ = param.is_contiguous() ? param : sn::detail::contiguous_raw(param);
    grad_ = sn::detail::contiguous_raw(
        grad.dtype() == param.dtype() ? grad : sn::detail::cast_raw(grad, param.dtype()));
  }
  const Tensor& param() const { return param_; }
  const Tensor& grad() const { return grad_; }
  int64_t numel() const { return param_.numel(); }
  void finish() {
    if (!param_.is_same(orig_)) sn::detail::copy_raw(orig_, param_);
    orig_.bump_version();
  }

 private:
  Tensor orig_, param_, grad_;
};

template <typename T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

// f(i) for every element index, in contiguous blocks across threads. The indices are
// independent (f touches element i of each buffer only), so the loop is vectorised even though
// the compiler cannot prove the parameter, gradient and state buffers do not overlap.
//
// Optimizer state decays geometrically where gradients are zero (Adam's first moment by β1 each
// step), so it crosses the subnormal range, where x86 arithmetic takes a microcode assist per
// operation: the autoencoder recipe's steps (Fashion-MNIST's always-zero border pixels) went
// from 4.4 ms in the first epoch to 11 ms in the third, half of it in Adam. The update runs with
// subnormals flushed to zero (MXCSR FTZ + DAZ on the running thread, restored after): state
// values below 1.2e-38 (float) become 0 instead of decaying through the subnormals to 0.
class FlushSubnormals {
 public:
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtz | kDaz); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  static constexpr unsigned kFtz = 0x8000, kDaz = 0x0040;
  unsigned saved_;
};

template <typename F>
void for_each_element(int64_t n, F&& f) {
  parallel_for(n, kUpdateGrain, [&](int64_t b, int64_t e) {
    const FlushSubnormals flush;
#pragma omp simd
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

}  // namespace sn::cpu
