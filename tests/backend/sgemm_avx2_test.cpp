// The AVX2 sgemm of backend/cpu/sgemm_avx2.h against a float64 reference: every transpose
// combination, edge sizes around the 6×16 tile and the K/M/N blocks, alpha/beta, the fused
// bias, padded leading dimensions, 1 and 2 threads (bitwise equal), beta = 0 over NaN, and
// matmul / linear giving the same results through it as the plain reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend/cpu/sgemm_avx2.h"
#include "sinapsis/sinapsis.h"

namespace sn::cpu {
namespace {

struct Case {
  bool ta, tb;
  int64_t M, N, K;
};

struct Problem {
  Case c;
  int64_t lda, ldb, ldc;
  std::vector<float> A, B, C0, bias;
};

Problem make_problem(const Case& c, int64_t pad, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Problem p{c, 0, 0, 0, {}, {}, {}, {}};
  const int64_t arows = c.ta ? c.K : c.M, acols = c.ta ? c.M : c.K;
  const int64_t brows = c.tb ? c.N : c.K, bcols = c.tb ? c.K : c.N;
  p.lda = acols + pad;
  p.ldb = bcols + pad;
  p.ldc = c.N + pad;
  p.A.resize(static_cast<size_t>(std::max<int64_t>(arows * p.lda, 1)));
  p.B.resize(static_cast<size_t>(std::max<int64_t>(brows * p.ldb, 1)));
  p.C0.resize(static_cast<size_t>(std::max<int64_t>(c.M * p.ldc, 1)));
  p.bias.resize(static_cast<size_t>(std::max<int64_t>(c.N, 1)));
  for (auto* v : {&p.A, &p.B, &p.C0, &p.bias})
    for (float& x : *v) x = u(gen);
  return p;
}

// float64 reference of alpha·op(A)·op(B) + beta·C (+ bias), and the bound on float32 rounding
// error for each element: K products summed in float32, each term up to |a|·|b| ≤ 1.
std::vector<double> reference(const Problem& p, float alpha, float beta, bool with_bias) {
  const Case& c = p.c;
  std::vector<double> r(p.C0.size());
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.ta ? p.A[k * p.lda + i] : p.A[i * p.lda + k];
        const double b = c.tb ? p.B[j * p.ldb + k] : p.B[k * p.ldb + j];
        s += a * b;
      }
      double v = alpha * s;
      if (beta != 0.f) v += beta * static_cast<double>(p.C0[i * p.ldc + j]);
      if (with_bias) v += p.bias[j];
      r[i * p.ldc + j] = v;
    }
  return r;
}

std::vector<float> run(const Problem& p, float alpha, float beta, bool with_bias, int threads) {
  std::vector<float> C = p.C0;
  sgemm_avx2(p.c.ta, p.c.tb, p.c.M, p.c.N, p.c.K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta,
             C.data(), p.ldc, with_bias ? p.bias.data() : nullptr, threads);
  return C;
}

void expect_close(const Problem& p, const std::vector<float>& got, const std::vector<double>& want,
                  const char* what) {
  const double tol = 4e-7 * static_cast<double>(p.c.K + 4) * 2.0;
  double worst = 0;
  int64_t wi = -1, wj = -1;
  for (int64_t i = 0; i < p.c.M; ++i)
    for (int64_t j = 0; j < p.c.N; ++j) {
      const double e = std::fabs(got[i * p.ldc + j] - want[i * p.ldc + j]);
      if (!(e <= worst)) {
        worst = e;
        wi = i;
        wj = j;
      }
    }
  EXPECT_LE(worst, tol) << what << ": " << (p.c.ta ? "T" : "N") << (p.c.tb ? "T" : "N")
                        << " M=" << p.c.M << " N=" << p.c.N << " K=" << p.c.K << " worst at [" << wi
                        << ", " << wj << "]";
  // the padding between rows of C is never written
  for (int64_t i = 0; i < p.c.M; ++i)
    for (int64_t j = p.c.N; j < p.ldc; ++j)
      ASSERT_EQ(got[i * p.ldc + j], p.C0[i * p.ldc + j]) << what << ": wrote outside C";
}

class SgemmAvx2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sgemm_avx2_available())
      GTEST_SKIP() << "kernels below the AVX2 level (CPU or SN_CPU_LEVEL)";
  }
};

TEST_F(SgemmAvx2, MatchesFloat64ReferenceOnEdgeSizes) {
  const int64_t sizes[] = {1, 2, 5, 6, 7, 8, 14, 16, 17, 33};  // every row remainder mod 6
  uint32_t seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t M : sizes)
        for (int64_t N : sizes)
          for (int64_t K : {int64_t{1}, int64_t{9}, int64_t{40}}) {
            const Problem p = make_problem({ta, tb, M, N, K}, (M + N) % 3, seed++);
            expect_close(p, run(p, 1.f, 0.f, false, 1), reference(p, 1.f, 0.f, false), "plain");
          }
}

TEST_F(SgemmAvx2, BlocksOfKMAndNAlphaBetaBias) {
  // K over the 320 block (two and three blocks), M over the 132-row block, N over 2048 columns
  const Case cases[] = {{false, false, 140, 70, 700}, {false, true, 128, 512, 784},
                        {true, false, 300, 130, 128}, {true, true, 61, 45, 333},
                        {false, false, 7, 2100, 20},  {true, false, 512, 100, 64}};
  uint32_t seed = 100;
  for (const Case& c : cases) {
    const Problem p = make_problem(c, 3, seed++);
    expect_close(p, run(p, 1.f, 0.f, false, 1), reference(p, 1.f, 0.f, false), "beta 0");
    expect_close(p, run(p, 0.5f, 1.f, false, 1), reference(p, 0.5f, 1.f, false), "beta 1");
    expect_close(p, run(p, -2.f, 0.25f, true, 1), reference(p, -2.f, 0.25f, true), "bias");
    expect_close(p, run(p, 1.f, 0.f, true, 2), reference(p, 1.f, 0.f, true), "bias 2 threads");
  }
}

TEST_F(SgemmAvx2, ThreadCountDoesNotChangeResults) {
  const Case cases[] = {{false, true, 128, 512, 784},
                        {true, false, 512, 300, 128},
                        {false, false, 200, 40, 500},
                        {true, true, 30, 700, 90}};
  uint32_t seed = 7;
  for (const Case& c : cases) {
    const Problem p = make_problem(c, 0, seed++);
    const std::vector<float> one = run(p, 1.f, 0.f, true, 1);
    for (int t : {2, 3, 4}) {
      const std::vector<float> many = run(p, 1.f, 0.f, true, t);
      ASSERT_EQ(one, many) << "threads " << t << " M=" << c.M << " N=" << c.N << " K=" << c.K;
    }
  }
}

TEST_F(SgemmAvx2, BetaZeroNeverReadsC) {
  Problem p = make_problem({false, false, 13, 21, 37}, 0, 5);
  for (float& x : p.C0) x = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> got = run(p, 1.f, 0.f, false, 1);
  for (float x : got) ASSERT_FALSE(std::isnan(x));
  expect_close(p, got, reference(p, 1.f, 0.f, false), "NaN in C");
}

TEST_F(SgemmAvx2, EmptyKGivesBetaCPlusBias) {
  Problem p = make_problem({false, false, 4, 5, 0}, 0, 9);
  const std::vector<float> got = run(p, 1.f, 0.5f, true, 1);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 5; ++j)
      EXPECT_FLOAT_EQ(got[i * 5 + j], 0.5f * p.C0[i * 5 + j] + p.bias[j]);
}

// The ops that use it: matmul and linear (with and without bias), float32 against float64.
TEST(SgemmThroughOps, MatmulAndLinearMatchFloat64) {
  manual_seed(3);
  const Tensor x = randn({37, 300}), w = randn({70, 300}), b = randn({70});
  const Tensor y32 = linear(x, w, b);
  const Tensor y64 = linear(x.to(kFloat64), w.to(kFloat64), b.to(kFloat64));
  EXPECT_LT(max(abs(y32.to(kFloat64) - y64)).item<double>(), 1e-4);
  const Tensor m32 = matmul(x, w.t());
  const Tensor m64 = matmul(x.to(kFloat64), w.t().to(kFloat64));
  EXPECT_LT(max(abs(m32.to(kFloat64) - m64)).item<double>(), 1e-4);
  const Tensor t32 = matmul(x.t(), x);
  const Tensor t64 = matmul(x.t().to(kFloat64), x.to(kFloat64));
  EXPECT_LT(max(abs(t32.to(kFloat64) - t64)).item<double>(), 1e-3);
}

}  // namespace
}  // namespace sn::cpu
