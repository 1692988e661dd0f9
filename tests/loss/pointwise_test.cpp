// The float32 paths of the elementwise losses: the private vectorisable exp/log/log1p/sigmoid
// (src/backend/cpu/vec_math.h) against float64 <cmath> over their whole range, and every float32
// loss value and gradient against the float64 computation of the same loss.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backend/cpu/vec_math.h"
#include "sinapsis/loss/loss.h"
#include "sinapsis/ops/ops.h"

namespace {

using namespace sn;
namespace fm = sn::cpu::vm;

// Relative error of a float result against the float64 truth (absolute near 0).
double rel_err(float got, double want) {
  if (std::isinf(want)) return got == want ? 0.0 : 1.0;
  return std::abs(static_cast<double>(got) - want) / std::max(std::abs(want), 1e-30);
}

TEST(FastMath, LogAndLog1pAcrossTheRange) {
  double worst_log = 0, worst_log1p = 0;
  // log over 2^-149 (subnormal) .. 3e38, log1p over -1 .. 1e6 including tiny arguments
  for (double e = -149; e < 128; e += 0.013) {
    const float x = static_cast<float>(std::exp2(e));
    worst_log = std::max(worst_log, std::abs(fm::log(x) - std::log(static_cast<double>(x))) /
                                        std::max(1.0, std::abs(std::log(double(x)))));
  }
  auto check_log1p = [&](double u) {
    const float x = static_cast<float>(u);
    worst_log1p = std::max(worst_log1p, rel_err(fm::log1p(x), std::log1p(static_cast<double>(x))));
  };
  for (double u = -0.999999; u < 0; u += 0.0013) check_log1p(u);
  for (double u = 1e-30; u < 1e6; u *= 1.01) {  // tiny to large, both signs below 1
    check_log1p(u);
    if (u < 1) check_log1p(-u);
  }
  EXPECT_LT(worst_log, 3e-7);
  EXPECT_LT(worst_log1p, 3e-7);
  EXPECT_EQ(fm::log(0.0f), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(fm::log(std::numeric_limits<float>::infinity()),
            std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fm::log(-1.0f)));
  EXPECT_TRUE(std::isnan(fm::log(std::nanf(""))));
  EXPECT_EQ(fm::log1p(-1.0f), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(fm::log1p(1e-30f), 1e-30f);  // no loss for tiny arguments
}

TEST(FastMath, ExpNonPositiveAndSigmoid) {
  double worst_exp = 0, worst_sig = 0;
  for (double x = -87.0; x <= 0; x += 0.0007) {
    const float xf = static_cast<float>(x);
    worst_exp = std::max(worst_exp, rel_err(fm::exp_neg(xf), std::exp(double(xf))));
  }
  for (double x = -80; x <= 80; x += 0.0011) {
    const float xf = static_cast<float>(x);
    worst_sig =
        std::max(worst_sig, rel_err(fm::sigmoid_stable(xf), 1.0 / (1.0 + std::exp(-double(xf)))));
  }
  EXPECT_LT(worst_exp, 3e-7);
  EXPECT_LT(worst_sig, 5e-7);
  EXPECT_EQ(fm::exp_neg(0.0f), 1.0f);
  EXPECT_EQ(fm::exp_neg(-100.0f), 0.0f);
  EXPECT_EQ(fm::exp_neg(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_TRUE(std::isnan(fm::exp_neg(std::nanf(""))));
  EXPECT_EQ(fm::sigmoid_stable(200.0f), 1.0f);
  EXPECT_EQ(fm::sigmoid_stable(-200.0f), 0.0f);
}

// Every loss in float32 against the same loss in float64: value and both gradients.
TEST(PointwiseLoss, Float32MatchesFloat64) {
  manual_seed(11);
  const int64_t n = 5000;  // several vector blocks plus a remainder
  Tensor logits = mul(randn({n}, {.dtype = kFloat64}), 6.0);
  Tensor probs = add(mul(rand({n}, {.dtype = kFloat64}), 0.998), 0.001);
  Tensor labels = rand({n}, {.dtype = kFloat64});
  Tensor logp = log_softmax(randn({50, 100}, {.dtype = kFloat64}), 1).reshape({n});
  Tensor q = softmax(randn({50, 100}, {.dtype = kFloat64}), 1).reshape({n});
  Tensor w = add(rand({n}, {.dtype = kFloat64}), 0.5);
  struct Case {
    const char* name;
    Tensor x, y;
    std::function<Tensor(const Tensor&, const Tensor&)> fn;
  };
  const std::vector<Case> cases = {
      {"mse", logits, labels, [](auto& a, auto& b) { return loss::mse(a, b); }},
      {"l1", logits, labels, [](auto& a, auto& b) { return loss::l1(a, b); }},
      {"huber", logits, labels, [](auto& a, auto& b) { return loss::huber(a, b, {.delta = 2.0}); }},
      {"smooth_l1", logits, labels,
       [](auto& a, auto& b) { return loss::smooth_l1(a, b, {.beta = 0.5}); }},
      {"bce", probs, labels, [](auto& a, auto& b) { return loss::binary_cross_entropy(a, b); }},
      {"bce_logits", logits, labels,
       [&](auto& a, auto& b) {
         return loss::binary_cross_entropy_with_logits(a, b, {.weight = w, .pos_weight = w});
       }},
      {"kl", logp, q, [](auto& a, auto& b) { return loss::kl_div(a, b); }},
      {"kl_log", logp, log(q), [](auto& a, auto& b) {
         return loss::kl_div(a, b, {.reduction = loss::Reduction::Sum, .log_target = true});
       }}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor x64 = c.x.clone().requires_grad_(true), y64 = c.y.clone().requires_grad_(true);
    Tensor x32 = c.x.to(kFloat32).requires_grad_(true), y32 = c.y.to(kFloat32).requires_grad_(true);
    Tensor l64 = c.fn(x64, y64), l32 = c.fn(x32, y32);
    EXPECT_NEAR(l32.item(), l64.item(), 2e-6 * std::abs(l64.item()) + 1e-7);
    l64.backward();
    l32.backward();
    // float32 inputs are themselves rounded: compare against float64 at the rounded points
    // loosely, elementwise, relative to the gradient's scale
    for (auto [g32, g64] : {std::pair{x32.grad(), x64.grad()}, std::pair{y32.grad(), y64.grad()}}) {
      const auto a = g32.to_vector(), b = g64.to_vector();
      double scale = 0;
      for (double v : b) scale = std::max(scale, std::abs(v));
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], b[i], 2e-5 * scale + 1e-3 * std::abs(b[i])) << "element " << i;
    }
  }
}

TEST(PointwiseLoss, NanPropagates) {
  const float nan = std::nanf("");
  Tensor x = tensor({0.5, 1.0});
  x.set({0}, nan);
  EXPECT_TRUE(std::isnan(loss::binary_cross_entropy_with_logits(x, tensor({1.0, 0.0})).item()));
  EXPECT_TRUE(std::isnan(loss::mse(x, tensor({1.0, 0.0})).item()));
  EXPECT_THROW(loss::binary_cross_entropy(x, tensor({1.0, 0.0})), ValueError);
}

}  // namespace
