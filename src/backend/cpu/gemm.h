// GEMM on the CPU: OpenBLAS sgemm/dgemm for floats, a plain loop for int64.
// A 2-D operand is passed as a tensor view; row-major and transposed (column-major) layouts go
// to BLAS without a copy, anything else is copied once.
#pragma once
#include "sinapsis/core/tensor.h"

namespace sn::cpu {

// C = alpha · op(A) · op(B) + beta · C, with A [M, K], B [K, N] (after the views' own layout),
// C a contiguous [M, N] tensor. beta = 0 ignores C's old contents.
void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha = 1.0, double beta = 0.0);

// C = A · B + bias (bias [N] added to every row) in one pass, when the float32 kernel of this
// build can fuse the bias into its store (sgemm_avx2.h). Returns false, doing nothing, when it
// cannot: the caller then copies the bias into C and calls gemm with beta = 1.
bool gemm_bias(const Tensor& A, const Tensor& B, const Tensor& C, const Tensor& bias);

}  // namespace sn::cpu
