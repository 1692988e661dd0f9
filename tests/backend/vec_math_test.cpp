// The vectorisable float32 exp/tanh/sigmoid/erf of backend/cpu/vec_math.h against <cmath> in
// double: dense sweeps over the useful range (error bounds in ulp or absolute/relative), the
// special values (±0, ±inf, NaN, overflow, underflow, subnormal results), and the ops that use
// them agreeing with the float64 path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "backend/cpu/vec_math.h"
#include "sinapsis/sinapsis.h"

namespace sn::cpu {
namespace {

// Distance in units in the last place between two finite floats (0 for equal values).
int64_t ulp_distance(float a, float b) {
  if (a == b) return 0;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  const int64_t la = ia < 0 ? int64_t{INT32_MIN} - ia : ia;
  const int64_t lb = ib < 0 ? int64_t{INT32_MIN} - ib : ib;
  return la > lb ? la - lb : lb - la;
}

template <typename F, typename R>
int64_t max_ulp(F f, R ref, double lo, double hi, int steps = 400000) {
  int64_t worst = 0;
  for (int i = 0; i <= steps; ++i) {
    const float x = static_cast<float>(lo + (hi - lo) * i / steps);
    const float want = static_cast<float>(ref(static_cast<double>(x)));
    if (std::fabs(want) < std::numeric_limits<float>::min()) continue;  // subnormal results
    worst = std::max(worst, ulp_distance(f(x), want));
  }
  return worst;
}

TEST(VecMath, ExpWithinTwoUlp) {
  EXPECT_LE(max_ulp(
                vm::exp, [](double x) { return std::exp(x); }, -87.0, 88.7),
            2);
  EXPECT_LE(max_ulp(
                vm::exp, [](double x) { return std::exp(x); }, -1.0, 1.0),
            2);
}

TEST(VecMath, ExpSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(vm::exp(0.0f), 1.0f);
  EXPECT_EQ(vm::exp(-0.0f), 1.0f);
  EXPECT_EQ(vm::exp(inf), inf);
  EXPECT_EQ(vm::exp(-inf), 0.0f);
  EXPECT_EQ(vm::exp(89.0f), inf);
  EXPECT_EQ(vm::exp(-104.0f), 0.0f);
  EXPECT_EQ(vm::exp(-1000.0f), 0.0f);
  EXPECT_TRUE(std::isnan(vm::exp(std::numeric_limits<float>::quiet_NaN())));
  // subnormal results still come out, not flushed to zero
  EXPECT_NEAR(vm::exp(-100.0f), std::exp(-100.0f), 2e-45);
  EXPECT_GT(vm::exp(-100.0f), 0.0f);
  EXPECT_NEAR(vm::exp(-88.0f) / std::exp(-88.0f), 1.0f, 1e-6);
}

TEST(VecMath, TanhWithinThreeUlp) {
  EXPECT_LE(max_ulp(
                vm::tanh, [](double x) { return std::tanh(x); }, -10.0, 10.0),
            3);
  EXPECT_LE(max_ulp(
                vm::tanh, [](double x) { return std::tanh(x); }, -0.7, 0.7),
            3);
  EXPECT_LE(max_ulp(
                vm::tanh, [](double x) { return std::tanh(x); }, -1e-3, 1e-3),
            3);
}

TEST(VecMath, TanhSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(vm::tanh(inf), 1.0f);
  EXPECT_EQ(vm::tanh(-inf), -1.0f);
  EXPECT_EQ(vm::tanh(50.0f), 1.0f);
  EXPECT_TRUE(std::signbit(vm::tanh(-0.0f)));
  EXPECT_EQ(vm::tanh(1e-30f), 1e-30f);
  EXPECT_TRUE(std::isnan(vm::tanh(std::numeric_limits<float>::quiet_NaN())));
}

TEST(VecMath, SigmoidWithinTwoUlp) {
  auto ref = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  EXPECT_LE(max_ulp(vm::sigmoid, ref, -80.0, 80.0), 2);
  EXPECT_EQ(vm::sigmoid(0.0f), 0.5f);
  EXPECT_EQ(vm::sigmoid(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_EQ(vm::sigmoid(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(vm::sigmoid(-200.0f), 0.0f);
}

TEST(VecMath, ErfAbsoluteAndRelativeError) {
  double worst_abs = 0, worst_rel = 0;
  for (int i = 0; i <= 400000; ++i) {
    const float x = static_cast<float>(-6.0 + 12.0 * i / 400000);
    const double want = std::erf(static_cast<double>(x));
    const double err = std::fabs(vm::erf(x) - want);
    worst_abs = std::max(worst_abs, err);
    if (want != 0) worst_rel = std::max(worst_rel, err / std::fabs(want));
  }
  EXPECT_LT(worst_abs, 4e-7);
  EXPECT_LT(worst_rel, 2e-6);
  // tiny arguments keep full relative precision (the series branch)
  EXPECT_NEAR(vm::erf(1e-20f) / 1.1283791670955126e-20, 1.0, 1e-6);
  EXPECT_EQ(vm::erf(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_EQ(vm::erf(-std::numeric_limits<float>::infinity()), -1.0f);
  EXPECT_TRUE(std::signbit(vm::erf(-0.0f)));
  EXPECT_TRUE(std::isnan(vm::erf(std::numeric_limits<float>::quiet_NaN())));
}

// GELU x·Φ(x) and its derivative Φ(x) + x·φ(x) against the float64 formulas, over the range
// where both terms matter and far into the tails (where e^{-x²/2} would underflow).
TEST(VecMath, GeluAndGradientAccuracy) {
  double worst = 0, worst_grad = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = static_cast<float>(-30.0 + 60.0 * i / 200000);
    const double xd = x;
    const double phi = 0.5 * (1.0 + std::erf(xd / std::sqrt(2.0)));
    const double y = xd * phi;
    const double dy = phi + xd * std::exp(-0.5 * xd * xd) / std::sqrt(2.0 * M_PI);
    worst = std::max(worst, std::fabs(vm::gelu(x) - y) / (1.0 + std::fabs(xd)));
    worst_grad = std::max(worst_grad, std::fabs(vm::gelu_grad(x) - dy) / (1.0 + std::fabs(xd)));
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_LT(worst_grad, 3e-7);
  EXPECT_EQ(vm::gelu(100.0f), 100.0f);
  EXPECT_EQ(vm::gelu(-100.0f), 0.0f);
  EXPECT_EQ(vm::gelu_grad(100.0f), 1.0f);
  EXPECT_NEAR(vm::gelu_grad(-100.0f), 0.0f, 1e-30);
  EXPECT_TRUE(std::isnan(vm::gelu(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(vm::gelu_grad(std::numeric_limits<float>::quiet_NaN())));
}

TEST(VecMath, DoubleFrontEndsAreLibm) {
  EXPECT_EQ(vexp(0.3), std::exp(0.3));
  EXPECT_EQ(vtanh(0.3), std::tanh(0.3));
  EXPECT_EQ(verf(0.3), std::erf(0.3));
}

// The float32 ops built on these functions agree with the float64 ops.
TEST(VecMath, FloatOpsMatchDoubleOps) {
  manual_seed(3);
  Tensor x64 = mul(randn({4097}, {.dtype = kFloat64}), 4.0);
  Tensor x32 = x64.to(kFloat32);
  auto check = [&](const char* name, Tensor a, Tensor b) {
    EXPECT_TRUE(allclose(a.to(kFloat64), b, 2e-6, 1e-6)) << name;
  };
  check("exp", exp(x32), exp(x64));
  check("tanh", tanh(x32), tanh(x64));
  check("sigmoid", sigmoid(x32), sigmoid(x64));
  check("gelu", gelu(x32), gelu(x64));
  check("softmax", softmax(x32.reshape({17, 241}), -1), softmax(x64.reshape({17, 241}), -1));
  check("log_softmax", log_softmax(x32.reshape({17, 241}), -1),
        log_softmax(x64.reshape({17, 241}), -1));
}

}  // namespace
}  // namespace sn::cpu
