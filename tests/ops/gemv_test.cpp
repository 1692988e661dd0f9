// Matrix-vector products (one row on the left or one column on the right) run on BLAS gemv
// instead of gemm. Every operand layout gemv takes (row-major, transposed, strided rows, a
// strided vector) and the ones it refuses (a broadcast vector) must give the float64 reference
// product, with and without a fused bias, forward and backward.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

// Reference product in float64 from plain loops over to_vector() (no BLAS involved).
Tensor reference_mm(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  const std::vector<double> av = a.contiguous().to_vector(), bv = b.contiguous().to_vector();
  std::vector<double> out(static_cast<size_t>(M * N), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) out[i * N + j] += av[i * K + k] * bv[k * N + j];
  return tensor(out, Shape{M, N}, {.dtype = kFloat64});
}

void expect_product(const Tensor& a, const Tensor& b, const std::string& what) {
  Tensor got = matmul(a, b);
  Tensor want = reference_mm(a, b);
  const double tol = a.dtype() == kFloat32 ? 1e-5 : 1e-12;
  EXPECT_TRUE(allclose(got.to(kFloat64), want, tol, tol)) << what;
}

TEST(Gemv, EveryLayoutMatchesTheReference) {
  manual_seed(21);
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor row = randn({1, 37}, {.dtype = dt});
    Tensor mat = randn({37, 23}, {.dtype = dt});
    expect_product(row, mat, "row · row-major matrix");
    expect_product(row, randn({23, 37}, {.dtype = dt}).t(), "row · transposed matrix");
    expect_product(row, randn({37, 46}, {.dtype = dt}).slice(1, 0, 46, 2), "row · strided columns");
    expect_product(randn({37, 2}, {.dtype = dt}).slice(1, 0, 1).t(), mat, "strided row");
    expect_product(randn({1, 1}, {.dtype = dt}).expand({1, 37}), mat, "broadcast row (gemm)");
    Tensor col = randn({37, 1}, {.dtype = dt});
    expect_product(randn({23, 37}, {.dtype = dt}), col, "matrix · column");
    expect_product(randn({37, 23}, {.dtype = dt}).t(), col, "transposed matrix · column");
    expect_product(randn({23, 37}, {.dtype = dt}), randn({2, 37}, {.dtype = dt}).t().slice(1, 0, 1),
                   "matrix · strided column");
    expect_product(randn({1, 37}, {.dtype = dt}), randn({37, 1}, {.dtype = dt}), "1 x 1 result");
    expect_product(randn({1, 1}, {.dtype = dt}), randn({1, 9}, {.dtype = dt}), "K = 1");
  }
}

TEST(Gemv, BatchOneLinearMatchesBatchedRows) {
  manual_seed(22);
  Tensor w = randn({19, 31}, {.requires_grad = true});
  Tensor b = randn({19}, {.requires_grad = true});
  Tensor x = randn({4, 31});
  Tensor all = linear(x, w, b);
  for (int64_t i = 0; i < 4; ++i) {
    Tensor one = linear(x.slice(0, i, i + 1), w, b);  // gemv with the bias as its beta term
    EXPECT_TRUE(allclose(one, all.slice(0, i, i + 1), 1e-6, 1e-6)) << "row " << i;
  }
  // Backward of a batch-1 linear: dx = g·W is again one row (gemv), dW = gᵀ·x an outer product.
  Tensor x1 = randn({1, 31}, {.requires_grad = true});
  Tensor g = randn({1, 19});
  linear(x1, w, b).backward(g);
  EXPECT_TRUE(allclose(x1.grad(), reference_mm(g, w.detach()).to(kFloat32), 1e-5, 1e-5));
  EXPECT_TRUE(allclose(w.grad(), reference_mm(g.t(), x1.detach()).to(kFloat32), 1e-5, 1e-5));
}

TEST(Gemv, NewOutputMemoryNeverLeaks) {
  // beta = 0 must not read the output buffer: fill the allocator's cache with NaN first.
  for (int i = 0; i < 4; ++i) (void)full({1, 64}, std::nan(""));
  Tensor out = matmul(ones({1, 8}), ones({8, 64}));
  EXPECT_TRUE(equal(out, full({1, 64}, 8.0)));
}

}  // namespace
}  // namespace sn
