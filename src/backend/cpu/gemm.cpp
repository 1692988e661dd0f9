// GEMM: float32 on our AVX2 kernel where the build prefers it (sgemm_avx2.h), otherwise
// OpenBLAS (the OpenMP build, so BLAS and our loops share one thread pool).
#include "backend/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <type_traits>

#include "backend/cpu/loops.h"
#include "backend/cpu/sgemm_avx2.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"

namespace sn::cpu {

namespace {
// How a 2-D view can be handed to BLAS: row-major (NoTrans) or column-major (Trans).
struct BlasOperand {
  Tensor t;  // the tensor whose data is passed (maybe a contiguous copy)
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};
BlasOperand blas_operand(const Tensor& x) {
  const int64_t r = x.shape()[0], c = x.shape()[1];
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1];
  if ((s1 == 1 || c == 1) && s0 >= std::max<int64_t>(c, 1)) return {x, CblasNoTrans, s0};
  if ((s0 == 1 || r == 1) && s1 >= std::max<int64_t>(r, 1)) return {x, CblasTrans, s1};
  Tensor cx = detail::contiguous_raw(x);
  return {cx, CblasNoTrans, std::max<int64_t>(c, 1)};
}

// Below this many multiply-adds a matrix-vector product runs on the calling thread: 2^19 is
// 2 MiB of float32 weights, streamed in ~30 us by one core, about what waking a second thread
// that sleeps (OMP_WAIT_POLICY=PASSIVE) or runs another process's work costs. OpenBLAS's own
// cut-off (9216 elements) splits even a 128 x 384 product of batch-1 generation across threads,
// dozens of times per token.
constexpr int64_t kSerialGemvWork = int64_t{1} << 19;

// OpenBLAS's OpenMP build takes its thread count from omp_get_max_threads() on the calling
// thread at every call, so lowering that ICV for one call keeps the call on this thread.
class SerialBlasScope {
 public:
  explicit SerialBlasScope(bool active) : prev_(active ? omp_get_max_threads() : 1) {
    if (prev_ > 1) omp_set_num_threads(1);
  }
  ~SerialBlasScope() {
    if (prev_ > 1) omp_set_num_threads(prev_);
  }
  SerialBlasScope(const SerialBlasScope&) = delete;
  SerialBlasScope& operator=(const SerialBlasScope&) = delete;

 private:
  int prev_;
};

// A matrix-vector product (one row of A, or one column of B) as BLAS gemv: a batch-1 linear
// layer is a stream over the weights, and gemv does that without gemm's packing. Returns false
// when an operand's layout does not fit gemv (the caller then uses gemm).
template <typename T>
void gemv_call(CBLAS_TRANSPOSE trans, int64_t rows, int64_t cols, double alpha, const Tensor& mat,
               int64_t ld, const T* x, int64_t incx, double beta, T* y, int64_t incy) {
  SerialBlasScope serial(rows * cols < kSerialGemvWork || num_threads() <= 1);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemv(CblasRowMajor, trans, rows, cols, static_cast<float>(alpha),
                static_cast<const float*>(mat.raw_data()), ld, x, incx, static_cast<float>(beta), y,
                incy);
  else
    cblas_dgemv(CblasRowMajor, trans, rows, cols, alpha, static_cast<const double*>(mat.raw_data()),
                ld, x, incx, beta, y, incy);
}

template <typename T>
bool gemv_typed(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta) {
  const int64_t M = A.shape()[0], K = A.shape()[1], N = B.shape()[1];
  T* y = static_cast<T*>(C.raw_data());
  if (M == 1) {
    // c[1, N] = a[1, K]·B[K, N], i.e. y = Bᵀ·a
    const int64_t inca = K == 1 ? 1 : A.strides()[1];
    if (inca < 1) return false;
    const T* a = static_cast<const T*>(A.raw_data());
    const int64_t s0 = B.strides()[0], s1 = B.strides()[1];
    if ((s1 == 1 || N == 1) && s0 >= std::max<int64_t>(N, 1))  // B row-major [K, N]
      gemv_call<T>(CblasTrans, K, N, alpha, B, s0, a, inca, beta, y, 1);
    else if ((s0 == 1 || K == 1) && s1 >= std::max<int64_t>(K, 1))  // Bᵀ row-major [N, K]
      gemv_call<T>(CblasNoTrans, N, K, alpha, B, s1, a, inca, beta, y, 1);
    else
      return false;
    return true;
  }
  // N == 1: c[M, 1] = A[M, K]·b[K, 1]
  const int64_t incb = K == 1 ? 1 : B.strides()[0];
  if (incb < 1) return false;
  const T* b = static_cast<const T*>(B.raw_data());
  const int64_t s0 = A.strides()[0], s1 = A.strides()[1];
  if ((s1 == 1 || K == 1) && s0 >= std::max<int64_t>(K, 1))  // A row-major [M, K]
    gemv_call<T>(CblasNoTrans, M, K, alpha, A, s0, b, incb, beta, y, 1);
  else if ((s0 == 1 || M == 1) && s1 >= std::max<int64_t>(M, 1))  // Aᵀ row-major [K, M]
    gemv_call<T>(CblasTrans, K, M, alpha, A, s1, b, incb, beta, y, 1);
  else
    return false;
  return true;
}

// C = alpha·A·B + beta·C (+ bias) on the AVX2 kernel, operands laid out as for BLAS.
void own_sgemm(const BlasOperand& a, const BlasOperand& b, const Tensor& C, int64_t M, int64_t N,
               int64_t K, double alpha, double beta, const float* bias) {
  sgemm_avx2(a.trans == CblasTrans, b.trans == CblasTrans, M, N, K, static_cast<float>(alpha),
             static_cast<const float*>(a.t.raw_data()), a.ld,
             static_cast<const float*>(b.t.raw_data()), b.ld, static_cast<float>(beta),
             static_cast<float*>(C.raw_data()), N, bias, num_threads());
}

bool gemv(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta) {
  // gemv scales y by beta before adding; clear it so garbage (NaN) in new memory cannot leak
  if (beta == 0.0) detail::fill_raw(C, 0.0);
  return C.dtype() == kFloat32 ? gemv_typed<float>(A, B, C, alpha, beta)
                               : gemv_typed<double>(A, B, C, alpha, beta);
}
}  // namespace

void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta) {
  const int64_t M = A.shape()[0], K = A.shape()[1], N = B.shape()[1];
  SN_ASSERT(B.shape()[0] == K && C.shape()[0] == M && C.shape()[1] == N && C.is_contiguous());
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (beta == 0.0)
      detail::fill_raw(C, 0.0);
    else if (beta != 1.0)
      const_cast<Tensor&>(C).mul_(beta);
    return;
  }
  const DType dt = C.dtype();
  if ((dt == kFloat32 || dt == kFloat64) && (M == 1 || N == 1) && gemv(A, B, C, alpha, beta))
    return;
  if (dt == kFloat32 || dt == kFloat64) {
    BlasOperand a = blas_operand(A), b = blas_operand(B);
    SerialBlasScope serial(num_threads() <= 1);  // a ThreadLimitGuard(1) holds OpenBLAS too
    if (dt == kFloat32 && sgemm_avx2_preferred())
      own_sgemm(a, b, C, M, N, K, alpha, beta, nullptr);
    else if (dt == kFloat32)
      cblas_sgemm(CblasRowMajor, a.trans, b.trans, M, N, K, static_cast<float>(alpha),
                  static_cast<const float*>(a.t.raw_data()), a.ld,
                  static_cast<const float*>(b.t.raw_data()), b.ld, static_cast<float>(beta),
                  static_cast<float*>(C.raw_data()), N);
    else
      cblas_dgemm(CblasRowMajor, a.trans, b.trans, M, N, K, alpha,
                  static_cast<const double*>(a.t.raw_data()), a.ld,
                  static_cast<const double*>(b.t.raw_data()), b.ld, beta,
                  static_cast<double*>(C.raw_data()), N);
    return;
  }
  SN_DISPATCH_NUMERIC(dt, "matmul", [&] {
    using T = scalar_t;
    const T* pa = static_cast<const T*>(A.raw_data());
    const T* pb = static_cast<const T*>(B.raw_data());
    T* pc = static_cast<T*>(C.raw_data());
    const int64_t a0 = A.strides()[0], a1 = A.strides()[1], b0 = B.strides()[0],
                  b1 = B.strides()[1];
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        T s = 0;
        for (int64_t k = 0; k < K; ++k) s += pa[i * a0 + k * a1] * pb[k * b0 + j * b1];
        pc[i * N + j] = static_cast<T>(alpha * s + (beta == 0.0 ? 0 : beta * pc[i * N + j]));
      }
  });
}

bool gemm_bias(const Tensor& A, const Tensor& B, const Tensor& C, const Tensor& bias) {
  const int64_t M = A.shape()[0], K = A.shape()[1], N = B.shape()[1];
  if (C.dtype() != kFloat32 || !sgemm_avx2_preferred() || M <= 1 || N <= 1 || K == 0 ||
      bias.dtype() != kFloat32 || bias.dim() != 1 || bias.shape()[0] != N)
    return false;
  SN_ASSERT(B.shape()[0] == K && C.shape()[0] == M && C.shape()[1] == N && C.is_contiguous());
  BlasOperand a = blas_operand(A), b = blas_operand(B);
  Tensor bc = detail::contiguous_raw(bias);
  own_sgemm(a, b, C, M, N, K, 1.0, 0.0, static_cast<const float*>(bc.raw_data()));
  return true;
}

}  // namespace sn::cpu
