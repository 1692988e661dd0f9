// Our own single-precision GEMM for AVX2 + FMA targets: a 6×16 register-blocked micro-kernel
// over packed panels (the Goto/BLIS scheme), with the bias of a linear layer added in the
// kernel's store (no separate pass) and beta = 0 written without first clearing C.
// On this library's AVX2 targets it replaces OpenBLAS's sgemm (see gemm.cpp for when); on
// AVX-512 targets OpenBLAS's wider kernels are used instead.
#pragma once
#include <cstdint>

namespace sn::cpu {

// True when the CPU runs it: cpu::level() (isa.h) is AVX2 or above.
bool sgemm_avx2_available();
// True when cpu::gemm sends float32 products to it: the level is AVX2 (on AVX-512, OpenBLAS).
bool sgemm_avx2_preferred();

// C = alpha · op(A) · op(B) + beta · C (+ bias[j] added to column j of every row, when given)
// with op(A) [M, K], op(B) [K, N] and C [M, N] row-major with row stride ldc.
// op(A)[i, k] = ta ? A[k·lda + i] : A[i·lda + k], likewise op(B) with tb.
// beta = 0 never reads C (NaN in new memory cannot leak). `threads` caps the OpenMP team
// (1 inside an enclosing parallel region). Throws sn::Error when the CPU cannot run it.
void sgemm_avx2(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                const float* bias, int threads);

}  // namespace sn::cpu
