// The small layers and activations: Dropout statistics and determinism, Flatten, Embedding,
// LayerNorm (values against the formula, gradcheck), activation modules against their ops.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/autograd/gradcheck.h"
#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace {

using namespace sn;

using sn::test::error_of;

TEST(Dropout, InvertedScalingAndStatistics) {
  manual_seed(1);
  nn::Dropout d(0.3);
  Tensor x = ones({200, 50});
  const auto v = d(x).to_vector();
  int64_t zeros_n = 0;
  double sum = 0;
  for (double e : v) {
    if (e == 0.0)
      ++zeros_n;
    else
      EXPECT_NEAR(e, 1.0 / 0.7, 1e-6);  // kept values are scaled by 1/(1-p)
    sum += e;
  }
  EXPECT_NEAR(double(zeros_n) / v.size(), 0.3, 0.02);
  EXPECT_NEAR(sum / v.size(), 1.0, 0.03);  // expectation preserved
  // the gradient is the same mask
  Tensor xg = ones({4, 6}, {.requires_grad = true});
  Tensor y = d(xg);
  y.sum().backward();
  EXPECT_TRUE(allclose(xg.grad(), y.detach()));
  // same seed, same mask
  manual_seed(5);
  Tensor a = d(x);
  manual_seed(5);
  EXPECT_TRUE(equal(a, d(x)));
  // eval: identity (the very same tensor); p = 0 also; p = 1 zeroes
  d.eval();
  EXPECT_TRUE(d(x).is_same(x));
  EXPECT_TRUE(nn::Dropout(0.0)(x).is_same(x));
  EXPECT_EQ(nn::Dropout(1.0)(x).sum().item(), 0.0);
  EXPECT_THROW(nn::Dropout(1.5), ValueError);
}

TEST(Flatten, ShapesAndErrors) {
  nn::Flatten f;
  EXPECT_EQ(f(zeros({2, 3, 4, 5})).shape(), Shape({2, 60}));
  EXPECT_EQ(nn::Flatten(0)(zeros({2, 3})).shape(), Shape({6}));
  EXPECT_EQ(nn::Flatten(1, 2)(zeros({2, 3, 4, 5})).shape(), Shape({2, 12, 5}));
  EXPECT_NE(error_of([&] {
              f(zeros({5}));
            }).find("Flatten: cannot flatten dims 1..-1 of an input of shape [5]"),
            std::string::npos);
}

TEST(Embedding, LooksUpRows) {
  manual_seed(2);
  nn::Embedding emb(10, 4);
  Tensor idx = tensor(std::vector<int64_t>{3, 0, 3, 9, 1, 2}, {2, 3});
  Tensor out = emb(idx);
  EXPECT_EQ(out.shape(), Shape({2, 3, 4}));
  EXPECT_TRUE(equal(out[0][0], emb.weight()[3]));
  EXPECT_TRUE(equal(out[1][0], emb.weight()[9]));
  out.sum().backward();
  // row 3 was used twice, rows 4..8 never
  EXPECT_TRUE(allclose(emb.weight().grad()[3], full({4}, 2.0)));
  EXPECT_TRUE(allclose(emb.weight().grad()[5], zeros({4})));
  EXPECT_EQ(error_of([&] {
              emb(tensor(std::vector<int64_t>{1, 10}, {2}));
            }),
            "Embedding(10, 4): index 10 is out of range for 10 embeddings (valid: 0..9)");
  EXPECT_THROW(emb(zeros({2})), DTypeError);
  // N(0, 1) init
  nn::Embedding big(1000, 16);
  const auto w = big.weight().to_vector();
  double s = 0, s2 = 0;
  for (double e : w) s += e, s2 += e * e;
  EXPECT_NEAR(s / w.size(), 0.0, 0.03);
  EXPECT_NEAR(s2 / w.size(), 1.0, 0.05);
}

TEST(LayerNorm, NormalisesTrailingDims) {
  manual_seed(3);
  nn::LayerNorm ln(Shape{3, 4});
  Tensor x = add(mul(randn({2, 3, 4}), 5.0), 2.0);
  Tensor y = ln(x);
  for (int i = 0; i < 2; ++i) {
    const auto v = y[i].to_vector();
    double m = 0, s2 = 0;
    for (double e : v) m += e;
    m /= v.size();
    for (double e : v) s2 += (e - m) * (e - m);
    EXPECT_NEAR(m, 0.0, 1e-5);
    EXPECT_NEAR(s2 / v.size(), 1.0, 1e-3);  // population variance, minus eps
  }
  EXPECT_EQ(ln.parameters().size(), 2u);
  EXPECT_EQ(nn::LayerNorm(4, {.elementwise_affine = false}).parameters().size(), 0u);
  EXPECT_EQ(error_of([&] {
              ln(zeros({2, 4, 3}));
            }),
            "LayerNorm([3, 4]): expected input [*, 3, 4], got [2, 4, 3]");

  nn::LayerNorm ln64(5);
  ln64.to(kFloat64);
  nn::init::normal_(ln64.weight());
  nn::init::normal_(ln64.bias());
  Tensor xg = randn({3, 5}, {.dtype = kFloat64, .requires_grad = true});
  const auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& v) {
        const Tensor xc = sub(v[0], mean(v[0], {-1}, true));
        const Tensor var = mean(square(xc), {-1}, true);
        return add(mul(mul(xc, rsqrt(add(var, 1e-5))), v[1]), v[2]);
      },
      {xg, ln64.weight(), ln64.bias()});
  EXPECT_TRUE(r.ok) << r.message;
  // the module (fused kernel) against the composite formula, value and gradients
  auto composite = [](const Tensor& x, const Tensor& w, const Tensor& b) {
    const Tensor xc = sub(x, mean(x, {-1}, true));
    return add(mul(mul(xc, rsqrt(add(mean(square(xc), {-1}, true), 1e-5))), w), b);
  };
  Tensor xa = xg.detach().clone().requires_grad_(true);
  Tensor ya = ln64(xa), yb = composite(xg, ln64.weight(), ln64.bias());
  EXPECT_TRUE(allclose(ya, yb, 1e-10, 1e-12));
  Tensor proj = randn({3, 5}, {.dtype = kFloat64});
  sum(mul(ya, proj)).backward();
  Tensor gw = ln64.weight().grad().clone();
  ln64.zero_grad();
  sum(mul(yb, proj)).backward();
  EXPECT_TRUE(allclose(xa.grad(), xg.grad(), 1e-9, 1e-12));
  EXPECT_TRUE(allclose(gw, ln64.weight().grad(), 1e-9, 1e-12));
  const auto r2 =
      autograd::gradcheck([&](const std::vector<Tensor>& v) { return ln64(v[0]); }, {xg});
  EXPECT_TRUE(r2.ok) << r2.message;
}

TEST(Activations, MatchTheirOps) {
  manual_seed(4);
  Tensor x = randn({3, 5});
  EXPECT_TRUE(equal(nn::Step()(x), step(x)));
  EXPECT_TRUE(equal(nn::Sigmoid()(x), sigmoid(x)));
  EXPECT_TRUE(equal(nn::Tanh()(x), tanh(x)));
  EXPECT_TRUE(equal(nn::ReLU()(x), relu(x)));
  EXPECT_TRUE(equal(nn::LeakyReLU(0.2)(x), leaky_relu(x, 0.2)));
  EXPECT_TRUE(equal(nn::ELU(0.7)(x), elu(x, 0.7)));
  EXPECT_TRUE(equal(nn::GELU()(x), gelu(x)));
  EXPECT_TRUE(equal(nn::GELU(true)(x), gelu(x, true)));
  EXPECT_TRUE(equal(nn::SiLU()(x), silu(x)));
  EXPECT_TRUE(equal(nn::Softplus(2.0, 10.0)(x), softplus(x, 2.0, 10.0)));
  EXPECT_TRUE(equal(nn::Softmax(0)(x), softmax(x, 0)));
  EXPECT_TRUE(equal(nn::LogSoftmax()(x), log_softmax(x, -1)));
  EXPECT_TRUE(equal(nn::Identity()(x), x));
  EXPECT_EQ(nn::ELU().to_string(), "ELU(alpha=1.0)");
  EXPECT_EQ(nn::Softplus().to_string(), "Softplus(beta=1.0, threshold=20.0)");
  EXPECT_EQ(nn::LogSoftmax(1).to_string(), "LogSoftmax(dim=1)");
  EXPECT_EQ(nn::SiLU().to_string(), "SiLU()");
  auto head = nn::Sequential({{"fc", nn::Linear(5, 3)}, {"probs", nn::Softmax(2)}});
  try {
    head(x);
    ADD_FAILURE() << "no error";
  } catch (const IndexError& e) {
    EXPECT_STREQ(e.what(), "Softmax 'probs': dim 2 is out of range for an input of shape [3, 3]");
  }
}

}  // namespace
