// nn::init: fans, gains, and the statistics of each initialiser (bounds for the uniform ones,
// standard deviations for the normal ones), orthogonality of orthogonal_, determinism.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"

namespace {

using namespace sn;
namespace init = nn::init;

struct Stats {
  double mean = 0, std = 0, max_abs = 0;
};
Stats stats(const Tensor& t) {
  const auto v = t.to_vector();
  Stats s;
  for (double e : v) s.mean += e;
  s.mean /= v.size();
  for (double e : v) {
    s.std += (e - s.mean) * (e - s.mean);
    s.max_abs = std::max(s.max_abs, std::abs(e));
  }
  s.std = std::sqrt(s.std / v.size());
  return s;
}

TEST(Init, FansAndGains) {
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({20, 10})),
            std::make_pair(int64_t{10}, int64_t{20}));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({16, 6, 5, 5})),
            std::make_pair(int64_t{150}, int64_t{400}));
  EXPECT_THROW(init::calculate_fan_in_and_fan_out(zeros({5})), ShapeError);
  using NL = init::Nonlinearity;
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::Linear), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::ReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::LeakyReLU), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(NL::SELU), 0.75);
}

TEST(Init, KaimingBoundsAndStd) {
  manual_seed(1);
  Tensor w = empty({256, 128});
  // relu, fan_in: bound = √2·√(3/128)
  init::kaiming_uniform_(w, {.nonlinearity = init::Nonlinearity::ReLU});
  const double bound = std::sqrt(2.0) * std::sqrt(3.0 / 128);
  Stats s = stats(w);
  EXPECT_LE(s.max_abs, bound);
  EXPECT_GT(s.max_abs, 0.99 * bound);
  EXPECT_NEAR(s.std, bound / std::sqrt(3.0), 0.02 * bound);
  // fan_out mode uses 256
  init::kaiming_normal_(w,
                        {.mode = init::FanMode::FanOut, .nonlinearity = init::Nonlinearity::ReLU});
  s = stats(w);
  EXPECT_NEAR(s.std, std::sqrt(2.0 / 256), 0.02 * std::sqrt(2.0 / 256));
  EXPECT_NEAR(s.mean, 0.0, 0.005);
  // conv weights: fan_in = in·k·k
  Tensor c = empty({32, 16, 3, 3});
  init::kaiming_normal_(c, {.nonlinearity = init::Nonlinearity::ReLU});
  EXPECT_NEAR(stats(c).std, std::sqrt(2.0 / 144), 0.03 * std::sqrt(2.0 / 144));
}

TEST(Init, XavierAndSimpleFills) {
  manual_seed(2);
  Tensor w = empty({300, 200});
  init::xavier_uniform_(w, 2.0);
  const double bound = 2.0 * std::sqrt(6.0 / 500);
  Stats s = stats(w);
  EXPECT_LE(s.max_abs, bound);
  EXPECT_GT(s.max_abs, 0.99 * bound);
  init::xavier_normal_(w);
  EXPECT_NEAR(stats(w).std, std::sqrt(2.0 / 500), 0.02 * std::sqrt(2.0 / 500));
  init::uniform_(w, 2.0, 3.0);
  s = stats(w);
  EXPECT_NEAR(s.mean, 2.5, 0.01);
  EXPECT_LE(s.max_abs, 3.0);
  init::normal_(w, -1.0, 0.5);
  s = stats(w);
  EXPECT_NEAR(s.mean, -1.0, 0.01);
  EXPECT_NEAR(s.std, 0.5, 0.01);
  init::constant_(w, 0.25);
  EXPECT_EQ(stats(w).max_abs, 0.25);
  init::ones_(w);
  EXPECT_EQ(w.sum().item(), 60000.0);
  init::zeros_(w);
  EXPECT_EQ(stats(w).max_abs, 0.0);
  EXPECT_THROW(init::normal_(zeros({3}, {.dtype = kInt64})), DTypeError);
}

TEST(Init, WorksOnParametersThatRequireGrad) {
  nn::Linear fc(3, 2);
  init::constant_(fc.weight(), 0.5);  // no "leaf modified in place" error: init does not record
  EXPECT_EQ(fc.weight().sum().item(), 3.0);
  EXPECT_TRUE(fc.weight().requires_grad());
}

// ‖QᵀQ - I‖max for the tensor viewed as [rows, cols] (Q Qᵀ for wide ones)
double orthogonality_error(const Tensor& q2, double gain) {
  const bool wide = q2.shape()[0] < q2.shape()[1];
  Tensor g = wide ? matmul(q2, q2.t()) : matmul(q2.t(), q2);
  Tensor id = mul(eye(g.shape()[0], -1, {.dtype = q2.dtype()}), gain * gain);
  return max(abs(sub(g, id))).item();
}

TEST(Init, OrthogonalGivesOrthonormalColumnsOrRows) {
  manual_seed(3);
  Tensor tall = empty({50, 20}, {.dtype = kFloat64});
  init::orthogonal_(tall);
  EXPECT_LT(orthogonality_error(tall, 1.0), 1e-12);
  Tensor wide = empty({8, 30}, {.dtype = kFloat64});
  init::orthogonal_(wide, 2.0);
  EXPECT_LT(orthogonality_error(wide, 2.0), 1e-12);
  Tensor square = empty({16, 16});
  init::orthogonal_(square);
  EXPECT_LT(orthogonality_error(square, 1.0), 1e-5);
  Tensor conv = empty({6, 2, 3, 3}, {.dtype = kFloat64});  // viewed as [6, 18]
  init::orthogonal_(conv);
  EXPECT_LT(orthogonality_error(conv.reshape({6, 18}), 1.0), 1e-12);
  // different draws differ, the same seed repeats
  manual_seed(9);
  Tensor a = init::orthogonal_(empty({5, 5}));
  manual_seed(9);
  Tensor b = init::orthogonal_(empty({5, 5}));
  EXPECT_TRUE(equal(a, b));
  EXPECT_FALSE(equal(a, init::orthogonal_(empty({5, 5}))));
  EXPECT_THROW(init::orthogonal_(empty({5})), ShapeError);
}

}  // namespace
