// GEMM with a right operand packed once and reused: C = A·B + beta·C for many A (a recurrent
// layer's h_{t-1} at every step) against the same B (its weights). cpu::gemm repacks B on every
// call, which for a [32, 256]·[256, 1024] step costs a fifth of the product; here B is laid out
// once per sequence in 32-column panels and each step only streams it. float32 on CPUs with
// AVX-512 (cpu::level(), isa.h); elsewhere packed_gemm_available() is false and callers use
// cpu::gemm.
#pragma once
#include <cstdint>
#include <memory>

#include "sinapsis/core/tensor.h"

namespace sn::cpu {

// True when the kernels run at the AVX-512 level.
bool packed_gemm_available();

// B [K, N] (any float32 2-D view) as ceil(N/32) panels of [K, 32], zero-padded.
class PackedB {
 public:
  PackedB() = default;
  explicit PackedB(const Tensor& b);
  int64_t K() const { return k_; }
  int64_t N() const { return n_; }
  const float* panel(int64_t p) const { return data_.get() + p * k_ * 32; }
  int64_t panels() const { return (n_ + 31) / 32; }

 private:
  int64_t k_ = 0, n_ = 0;
  std::unique_ptr<float[], void (*)(float*)> data_{nullptr, nullptr};
};

// C[M, N] (row stride ldc) = A[M, K] (row-major, row stride lda) · B + beta·C, beta 0 or 1
// (0 never reads C). Splits the panels over up to `threads` threads.
void gemm_packed(const float* A, int64_t lda, const PackedB& B, float* C, int64_t ldc, int64_t M,
                 float beta, int threads);

}  // namespace sn::cpu
