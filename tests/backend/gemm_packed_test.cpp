// cpu::gemm_packed (a right operand packed once, reused per product) against cpu::gemm: every
// row-block height (8 and the remainders 1..7), partial 32-column panels, beta 0 and 1, a
// transposed B view, and 1 and 2 threads.
#include <gtest/gtest.h>

#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_packed.h"
#include "sinapsis/sinapsis.h"

namespace sn::cpu {
namespace {

TEST(GemmPacked, MatchesGemm) {
  if (!packed_gemm_available())
    GTEST_SKIP() << "kernels below the AVX-512 level (CPU or SN_CPU_LEVEL)";
  manual_seed(1);
  for (int64_t M : {1, 5, 8, 13, 32})
    for (int64_t N : {7, 32, 45, 96, 1000})
      for (int64_t K : {1, 17, 64})
        for (bool transposed : {false, true})
          for (float beta : {0.0f, 1.0f})
            for (int threads : {1, 2}) {
              const Tensor A = randn({M, K});
              const Tensor Bs = transposed ? randn({N, K}) : randn({K, N});
              const Tensor B = transposed ? Bs.t() : Bs;
              const Tensor C0 = randn({M, N});
              Tensor want = C0.clone(), got = C0.clone();
              gemm(A, B, want, 1.0, beta);
              const PackedB pb(B);
              gemm_packed(A.data_ptr<float>(), K, pb, got.data_ptr<float>(), N, M, beta, threads);
              const double err = max(abs(sub(got, want))).item();
              EXPECT_LT(err, 1e-4) << M << "x" << K << "x" << N << " transposed " << transposed
                                   << " beta " << beta << " threads " << threads;
            }
}

}  // namespace
}  // namespace sn::cpu
