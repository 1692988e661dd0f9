// Linear: the forward equals x·Wᵀ + b (any leading dims), PyTorch's default init bounds,
// gradients reach W and b, and the boundary errors name the layer.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/autograd/gradcheck.h"
#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace {

using namespace sn;

using sn::test::error_of;

TEST(Linear, ForwardIsAffineMap) {
  manual_seed(1);
  nn::Linear fc(5, 3);
  EXPECT_EQ(fc.weight().shape(), Shape({3, 5}));
  EXPECT_EQ(fc.bias().shape(), Shape({3}));
  Tensor x = randn({4, 5});
  Tensor want = add(matmul(x, fc.weight().t()), fc.bias());
  EXPECT_TRUE(allclose(fc(x), want, 1e-5, 1e-6));
  // leading dims are kept: [2, 4, 5] -> [2, 4, 3]
  Tensor x3 = randn({2, 4, 5});
  EXPECT_EQ(fc(x3).shape(), Shape({2, 4, 3}));
  EXPECT_TRUE(allclose(fc(x3)[1], fc(x3[1]), 1e-6, 1e-6));
  nn::Linear nb(5, 3, {.bias = false});
  EXPECT_FALSE(nb.bias().defined());
  EXPECT_EQ(nb.parameters().size(), 1u);
  EXPECT_TRUE(allclose(nb(x), matmul(x, nb.weight().t()), 1e-5, 1e-6));
}

TEST(Linear, DefaultInitBounds) {
  manual_seed(2);
  nn::Linear fc(400, 120);
  const double bound = 1.0 / std::sqrt(400.0);
  const auto w = fc.weight().to_vector();
  const auto b = fc.bias().to_vector();
  double mx = 0, sum2 = 0;
  for (double v : w) {
    mx = std::max(mx, std::abs(v));
    sum2 += v * v;
  }
  EXPECT_LE(mx, bound);
  EXPECT_GT(mx, 0.98 * bound);  // the full range is used
  // U(-a, a) has variance a²/3
  EXPECT_NEAR(sum2 / w.size(), bound * bound / 3, 0.05 * bound * bound / 3);
  for (double v : b) EXPECT_LE(std::abs(v), bound);
  // seeded init is reproducible
  manual_seed(2);
  nn::Linear again(400, 120);
  EXPECT_TRUE(equal(fc.weight(), again.weight()));
}

TEST(Linear, Gradients) {
  manual_seed(3);
  nn::Linear fc(4, 3);
  fc.to(kFloat64);
  Tensor x = randn({5, 4}, {.dtype = kFloat64, .requires_grad = true});
  const auto r =
      autograd::gradcheck([&](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                          {x, fc.weight(), fc.bias()});
  EXPECT_TRUE(r.ok) << r.message;
  fc(x).sum().backward();
  // dL/db = Σ_rows 1 = 5 for every output
  for (double g : fc.bias().grad().to_vector()) EXPECT_NEAR(g, 5.0, 1e-12);
}

TEST(Linear, ErrorsNameTheLayer) {
  struct LeNetHead : nn::Module {
    std::shared_ptr<nn::Linear> fc1;
    LeNetHead() { fc1 = register_module("fc1", nn::Linear(400, 120)); }
    Tensor forward(const Tensor& x) override { return (*fc1)(x); }
  } net;
  EXPECT_EQ(error_of([&] {
              net(zeros({64, 784}));
            }),
            "Linear(400 → 120) 'fc1': expected input [*, 400], got [64, 784]");
  EXPECT_EQ(error_of([&] {
              net(zeros({64, 16, 5, 5}));
            }),
            "Linear(400 → 120) 'fc1': expected input [*, 400], got [64, 16, 5, 5]; hint: did you "
            "forget nn::Flatten() before this layer?");
  EXPECT_NE(error_of([&] { net(zeros({400, 64})); }).find("looks transposed"), std::string::npos);
  EXPECT_EQ(error_of([&] {
              net(zeros({2, 400}, {.dtype = kFloat64}));
            }),
            "Linear(400 → 120) 'fc1': expected a float32 input, got float64; hint: convert the "
            "input with x.to(sn::kFloat32)");
  EXPECT_THROW(net(zeros({2, 784})), ShapeError);
  // an unregistered layer has no path
  nn::Linear alone(3, 2);
  EXPECT_EQ(alone(zeros({3})).shape(), Shape({2}));  // a single 1-D sample is fine
  EXPECT_EQ(error_of([&] { alone(zeros({2})); }), "Linear(3 → 2): expected input [*, 3], got [2]");
  EXPECT_THROW(nn::Linear(0, 3), ValueError);
  // a Sequential child is named by its position
  auto seq = nn::Sequential({nn::Linear(4, 8), nn::ReLU(), nn::Linear(9, 2)});
  EXPECT_EQ(error_of([&] {
              seq(zeros({1, 4}));
            }),
            "Linear(9 → 2) '2': expected input [*, 9], got [1, 8]");
}

}  // namespace
