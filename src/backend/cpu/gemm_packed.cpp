// The packed-B GEMM (gemm_packed.h): an 8×32 AVX-512 register block (16 accumulators), A read
// in place (one broadcast per row and k), B streamed from its 32-wide panels.
#include "backend/cpu/gemm_packed.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <immintrin.h>

#include "backend/cpu/isa_region.h"
#include "core/tensor_internal.h"
#include "sinapsis/core/error.h"

namespace sn::cpu {

bool packed_gemm_available() { return level() == CpuLevel::AVX512; }

namespace {
void free_aligned(float* p) { std::free(p); }
}  // namespace

PackedB::PackedB(const Tensor& b) : k_(b.shape()[0]), n_(b.shape()[1]) {
  SN_ASSERT(b.dim() == 2 && b.dtype() == kFloat32);
  const int64_t np = panels();
  const size_t bytes = static_cast<size_t>(np * k_ * 32) * sizeof(float);
  data_ = {static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)), free_aligned};
  SN_CHECK(data_ != nullptr, Error, "gemm_packed: out of memory packing [", k_, ", ", n_, "]");
  const float* src = b.data_ptr<float>();
  const int64_t s0 = b.strides()[0], s1 = b.strides()[1];
  for (int64_t p = 0; p < np; ++p) {
    float* d = data_.get() + p * k_ * 32;
    const int64_t n0 = p * 32, w = std::min<int64_t>(32, n_ - n0);
    for (int64_t k = 0; k < k_; ++k) {
      float* row = d + k * 32;
      for (int64_t c = 0; c < w; ++c) row[c] = src[k * s0 + (n0 + c) * s1];
      for (int64_t c = w; c < 32; ++c) row[c] = 0.0f;
    }
  }
}

// From here to SN_ISA_END below the code is compiled for AVX-512 (isa.h's SN_ISA_AVX512), on a
// baseline build too; it runs only when cpu::level() is AVX512.
SN_ISA_BEGIN(SN_ISA_AVX512)
namespace {

// C[R rows, 32 cols] (+)= A[R, K] · panel[K, 32]; `mask` limits the stored columns.
template <int R>
void block(const float* A, int64_t lda, const float* P, int64_t K, float* C, int64_t ldc,
           float beta, __mmask16 m0, __mmask16 m1) {
  __m512 acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) {
    if (beta != 0.0f) {
      acc0[r] = _mm512_maskz_loadu_ps(m0, C + r * ldc);
      acc1[r] = _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);
    } else {
      acc0[r] = _mm512_setzero_ps();
      acc1[r] = _mm512_setzero_ps();
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_load_ps(P + k * 32), b1 = _mm512_load_ps(P + k * 32 + 16);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_set1_ps(A[r * lda + k]);
      acc0[r] = _mm512_fmadd_ps(a, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(a, b1, acc1[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(C + r * ldc, m0, acc0[r]);
    _mm512_mask_storeu_ps(C + r * ldc + 16, m1, acc1[r]);
  }
}

void panel_product(const float* A, int64_t lda, const PackedB& B, int64_t p, float* C, int64_t ldc,
                   int64_t M, float beta) {
  const int64_t n0 = p * 32, w = std::min<int64_t>(32, B.N() - n0);
  const __mmask16 m0 = w >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << w) - 1);
  const __mmask16 m1 = w >= 32   ? 0xFFFF
                       : w <= 16 ? 0
                                 : static_cast<__mmask16>((1u << (w - 16)) - 1);
  const float* P = B.panel(p);
  int64_t i = 0;
  for (; i + 8 <= M; i += 8)
    block<8>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
  switch (M - i) {
    case 7:
      block<7>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    case 6:
      block<6>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    case 5:
      block<5>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    case 4:
      block<4>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    case 3:
      block<3>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    case 2:
      block<2>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    case 1:
      block<1>(A + i * lda, lda, P, B.K(), C + i * ldc + n0, ldc, beta, m0, m1);
      break;
    default:
      break;
  }
}

void gemm_packed_impl(const float* A, int64_t lda, const PackedB& B, float* C, int64_t ldc,
                      int64_t M, float beta, int threads) {
  const int64_t np = B.panels();
  const double flops = 2.0 * static_cast<double>(M) * B.N() * B.K();
  const int nt = omp_in_parallel() || flops < 2e6 ? 1 : std::min<int>(threads, np);
  if (nt <= 1) {
    for (int64_t p = 0; p < np; ++p) panel_product(A, lda, B, p, C, ldc, M, beta);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t p = 0; p < np; ++p) panel_product(A, lda, B, p, C, ldc, M, beta);
}

}  // namespace
SN_ISA_END

void gemm_packed(const float* A, int64_t lda, const PackedB& B, float* C, int64_t ldc, int64_t M,
                 float beta, int threads) {
  SN_CHECK(packed_gemm_available(), Error,
           "gemm_packed: the kernel needs AVX-512 (kernels at level ", cpu_level_name(level()),
           ")");
  gemm_packed_impl(A, lda, B, C, ldc, M, beta, threads);
}

}  // namespace sn::cpu
