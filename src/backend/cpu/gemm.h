// GEMM on the CPU: OpenBLAS sgemm/dgemm for floats, a plain loop for int64.
// A 2-D operand is passed as a tensor view; row-major and transposed (column-major) layouts go
// to BLAS without a copy, anything else is copied once.
#pragma once
#include "sinapsis/core/tensor.h"

namespace sn::cpu {

// C = alpha · op(A) · op(B) + beta · C, with A [M, K], B [K, N] (after the views' own layout),
// C a contiguous [M, N] tensor. beta = 0 ignores C's old contents.
void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha = 1.0, double beta = 0.0);

}  // namespace sn::cpu
