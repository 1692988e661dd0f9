// Numerical edge cases compared with what PyTorch 1.13 returns for the same calls: infinities
// and NaN through reductions and activations, extreme inputs to the stable kernels, empty
// tensors, ties, and gradients at the kinks (0 for abs/relu, bounds for clamp, 0^b for pow).
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

constexpr double kInf = INFINITY;

std::vector<double> vals(const Tensor& t) { return t.to_vector(); }

TEST(Edge, LogsumexpWithInfinities) {
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = tensor({{kInf, 1}, {-kInf, -kInf}, {1, 2}}, {.dtype = dt});
    std::vector<double> v = vals(logsumexp(x, {1}));
    EXPECT_EQ(v[0], kInf) << dtype_name(dt);
    EXPECT_EQ(v[1], -kInf) << dtype_name(dt);
    EXPECT_NEAR(v[2], 2.3132616875182226, 1e-6);
  }
}

TEST(Edge, SoftmaxIsStableForLargeInputs) {
  Tensor x = tensor({1000, 1001, -1000});
  std::vector<double> s = vals(softmax(x, 0));
  EXPECT_NEAR(s[0], 0.2689414, 1e-6);
  EXPECT_NEAR(s[1], 0.7310586, 1e-6);
  EXPECT_EQ(s[2], 0);
  std::vector<double> l = vals(log_softmax(x, 0));
  EXPECT_NEAR(l[0], -1.3132616, 1e-5);
  EXPECT_NEAR(l[1], -0.3132617, 1e-5);
  EXPECT_NEAR(l[2], -2001.3132, 1e-2);
  std::vector<double> n = vals(softmax(tensor({-kInf, -kInf}), 0));
  EXPECT_TRUE(std::isnan(n[0]) && std::isnan(n[1]));  // as PyTorch
}

TEST(Edge, SaturatingActivations) {
  std::vector<double> s = vals(sigmoid(tensor({-100, 100})));
  EXPECT_GE(s[0], 0);  // PyTorch gives 0; e^x / (1 + e^x) keeps the denormal 3.8e-44
  EXPECT_LT(s[0], 1e-40);
  EXPECT_EQ(s[1], 1);
  std::vector<double> sp = vals(softplus(tensor({-100, 30})));
  EXPECT_NEAR(sp[0], 3.7835e-44, 1e-47);
  EXPECT_EQ(sp[1], 30);
  EXPECT_EQ(tanh(tensor({-50, 50})).to_vector(), (std::vector<double>{-1, 1}));
  Tensor x = tensor({-100, 100}, {.dtype = kFloat64, .requires_grad = true});
  sigmoid(x).sum().backward();
  EXPECT_TRUE(std::isfinite(x.grad().at({0})));
  EXPECT_LT(x.grad().at({0}), 1e-40);
}

TEST(Edge, NaNPropagates) {
  Tensor x = tensor({1, NAN, 3});
  EXPECT_TRUE(std::isnan(max(x).item()));
  EXPECT_TRUE(std::isnan(amax(x, {0}).item()));
  auto [v, i] = max(x.reshape({1, 3}), 1);
  EXPECT_TRUE(std::isnan(v.item()));
  EXPECT_EQ(i.item(), 1);
  std::vector<double> m = vals(maximum(tensor({1, NAN}), tensor({NAN, 2})));
  EXPECT_TRUE(std::isnan(m[0]) && std::isnan(m[1]));
  std::vector<double> c = vals(clamp(tensor({NAN, 2}), -1.0, 1.0));
  EXPECT_TRUE(std::isnan(c[0]));
  EXPECT_EQ(c[1], 1);
  EXPECT_TRUE(std::isnan(var(tensor({1.0})).item()));  // one sample, unbiased
}

TEST(Edge, EmptyTensors) {
  EXPECT_EQ(sum(zeros({0, 3})).item(), 0);
  EXPECT_TRUE(std::isnan(mean(zeros({0})).item()));
  EXPECT_EQ(sum(zeros({0, 3}), {0}).to_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(matmul(ones({2, 0}), ones({0, 3})).to_vector(), std::vector<double>(6, 0.0));
  EXPECT_EQ(exp(zeros({0, 2})).shape(), (Shape{0, 2}));
  EXPECT_EQ((zeros({0, 2}) + ones({2})).shape(), (Shape{0, 2}));
  EXPECT_EQ(cat({zeros({0, 2}), ones({1, 2})}).shape(), (Shape{1, 2}));
  EXPECT_EQ(softmax(zeros({0, 3}), 1).shape(), (Shape{0, 3}));
  Tensor x = zeros({0, 3}, {.requires_grad = true});
  (x * 2.0).sum().backward();
  EXPECT_EQ(x.grad().shape(), (Shape{0, 3}));
}

TEST(Edge, TiesInMaxSplitTheGradientLikePyTorch) {
  // max over all elements: ties share the gradient evenly
  Tensor x = tensor({2, 2, 1}, {.requires_grad = true});
  max(x).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0.5, 0.5, 0}));
  // max along a dim: the gradient goes to the index it returns (the first)
  Tensor y = tensor({2, 2, 1}, {.requires_grad = true});
  max(y, 0).first.backward();
  EXPECT_EQ(y.grad().to_vector(), (std::vector<double>{1, 0, 0}));
  // maximum(a, b): half each on a tie
  Tensor z = tensor({1, 1}, {.requires_grad = true});
  maximum(z, tensor({1, 0})).sum().backward();
  EXPECT_EQ(z.grad().to_vector(), (std::vector<double>{0.5, 1}));
  // all equal through a shared input: torch gives [2/3, 1/6]
  Tensor w = tensor({1, 2}, {.requires_grad = true});
  max(stack({w[0], w[0], w[1] * 0.5})).backward();
  EXPECT_NEAR(w.grad().at({0}), 2.0 / 3, 1e-6);
  EXPECT_NEAR(w.grad().at({1}), 1.0 / 6, 1e-6);
}

TEST(Edge, GradientsAtTheKinks) {
  Tensor a = tensor({0, 1}, {.requires_grad = true});
  abs(a).sum().backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{0, 1}));
  Tensor r = tensor({0, 1}, {.requires_grad = true});
  relu(r).sum().backward();
  EXPECT_EQ(r.grad().to_vector(), (std::vector<double>{0, 1}));
  Tensor c = tensor({-1, 1, 2}, {.requires_grad = true});
  clamp(c, -1.0, 1.0).sum().backward();  // bounds are inclusive
  EXPECT_EQ(c.grad().to_vector(), (std::vector<double>{1, 1, 0}));
  Tensor s = tensor({0, 4}, {.requires_grad = true});
  sqrt(s).sum().backward();
  EXPECT_EQ(s.grad().to_vector(), (std::vector<double>{kInf, 0.25}));
  Tensor p = tensor({0, 4}, {.requires_grad = true});
  pow(p, 2.5).sum().backward();
  EXPECT_EQ(p.grad().to_vector(), (std::vector<double>{0, 20}));
}

TEST(Edge, PowWithZeroBaseOrExponent) {
  // d/da a^b with b = 0 is 0 even at a = 0 (not 0·0⁻¹ = nan)
  Tensor a = tensor({0, 4}, {.requires_grad = true});
  pow(a, tensor({2, 0})).sum().backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{0, 0}));
  // d/db a^b at a = 0, b >= 0 is 0 (not 0·ln 0)
  Tensor e = tensor({2, 0.5}, {.requires_grad = true});
  pow(tensor({0, 4}), e).sum().backward();
  EXPECT_EQ(e.grad().at({0}), 0);
  EXPECT_NEAR(e.grad().at({1}), 2.7725887, 1e-6);
  Tensor z = tensor({0, 1}, {.requires_grad = true});
  pow(z, 0.0).sum().backward();
  EXPECT_EQ(z.grad().to_vector(), (std::vector<double>{0, 0}));
}

TEST(Edge, IntegerAndBoolInputsToFloatOps) {
  Tensor i = tensor({1, 4}, {.dtype = kInt64});
  EXPECT_EQ(sqrt(i).dtype(), kFloat32);
  EXPECT_EQ(sqrt(i).to_vector(), (std::vector<double>{1, 2}));
  EXPECT_EQ(mean(i.to(kFloat64)).item(), 2.5);
  EXPECT_THROW(mean(i), DTypeError);
  EXPECT_EQ(sum(i).dtype(), kInt64);
  EXPECT_EQ(sum(tensor({1, 1, 0}, {.dtype = kBool})).item(), 2);
  EXPECT_EQ(relu(tensor({-1, 2}, {.dtype = kInt64})).to_vector(), (std::vector<double>{0, 2}));
  EXPECT_EQ(abs(tensor({-3}, {.dtype = kInt64})).dtype(), kInt64);
  EXPECT_EQ(
      matmul(tensor({{1, 2}}, {.dtype = kInt64}), tensor({3, 4}, {.dtype = kInt64}).reshape({2, 1}))
          .item(),
      11);
}

TEST(Edge, MaskedFillKeepsTheInputShape) {
  Tensor x = ones({2, 3});
  EXPECT_EQ(masked_fill(x, tensor({{1, 0, 0}}, {.dtype = kBool}), 5.0).to_vector(),
            (std::vector<double>{5, 1, 1, 5, 1, 1}));
  EXPECT_THROW(masked_fill(ones({3}), tensor({{1, 0, 0}}, {.dtype = kBool}), 5.0), ShapeError);
}

}  // namespace
}  // namespace sn
