// cross_entropy beyond the golden table: the fused kernel against the composite
// -Σ t·log_softmax(x) path (value and gradient), stability at extreme logits, result shapes,
// the error messages for bad targets, and the loss objects.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/loss/loss.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace {

using namespace sn;
using loss::Reduction;

using sn::test::error_of;

TEST(CrossEntropy, FusedMatchesComposite) {
  manual_seed(7);
  const int64_t N = 16, C = 9;
  Tensor x = randn({N, C}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = randint(0, C, {N});
  Tensor fused = loss::cross_entropy(x, y, {.label_smoothing = 0.1});
  fused.backward();
  Tensor g_fused = x.grad();

  Tensor x2 = x.detach().clone();
  x2.requires_grad_(true);
  Tensor target = add(mul(one_hot(y, C).to(kFloat64), 0.9), 0.1 / C);
  Tensor composite = neg(mean(sum(mul(target, log_softmax(x2, 1)), {1})));
  composite.backward();
  EXPECT_NEAR(fused.item(), composite.item(), 1e-12);
  EXPECT_TRUE(allclose(g_fused, x2.grad(), 1e-10, 1e-12));
  // the gradient of the mean is (softmax - target)/N
  EXPECT_TRUE(allclose(g_fused, div(sub(softmax(x.detach(), 1), target), double(N)), 1e-10, 1e-12));
}

TEST(CrossEntropy, OneHotFloatEqualsIndices) {
  manual_seed(8);
  Tensor x = randn({6, 4});
  Tensor y = randint(0, 4, {6});
  const double a = loss::cross_entropy(x, y).item();
  const double b = loss::cross_entropy(x, one_hot(y, 4).to(kFloat32)).item();
  const double c = loss::cross_entropy(x, one_hot(y, 4)).item();  // int64 one-hot accepted
  EXPECT_NEAR(a, b, 1e-6);
  EXPECT_NEAR(a, c, 1e-6);
}

TEST(CrossEntropy, StableForHugeLogits) {
  Tensor x = tensor({{1e4, 0.0, -1e4}, {-1e4, -1e4, -1e4}}, {.requires_grad = true});
  Tensor y = tensor(std::vector<int64_t>{0, 2}, {2});
  Tensor l = loss::cross_entropy(x, y, {.reduction = Reduction::None});
  const auto v = l.to_vector();
  EXPECT_NEAR(v[0], 0.0, 1e-6);
  EXPECT_NEAR(v[1], std::log(3.0), 1e-5);
  l.sum().backward();
  for (double g : x.grad().to_vector()) EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(x.grad().at({1, 2}), 1.0 / 3 - 1, 1e-6);
}

TEST(CrossEntropy, NanLogitsGiveNan) {
  // a NaN logit poisons its own position only, as in PyTorch
  const double nan = std::nan("");
  Tensor x = tensor({{1.0, nan, 0.0}, {0.0, 1.0, 2.0}});
  Tensor y = tensor(std::vector<int64_t>{0, 2}, {2});
  const auto v = loss::cross_entropy(x, y, {.reduction = Reduction::None}).to_vector();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_NEAR(v[1], std::log(std::exp(0.0) + std::exp(1.0) + std::exp(2.0)) - 2.0, 1e-6);
  EXPECT_TRUE(std::isnan(loss::cross_entropy(x, y).item()));
  Tensor xs = randn({1, 3, 4});
  xs.set({0, 1, 2}, nan);
  const auto vs =
      loss::cross_entropy(xs, randint(0, 3, {1, 4}), {.reduction = Reduction::None}).to_vector();
  EXPECT_FALSE(std::isnan(vs[1]));
  EXPECT_TRUE(std::isnan(vs[2]));
}

TEST(CrossEntropy, ReductionShapes) {
  Tensor x = randn({2, 5, 3, 4});
  Tensor y = randint(0, 5, {2, 3, 4});
  EXPECT_EQ(loss::cross_entropy(x, y, {.reduction = Reduction::None}).shape(), Shape({2, 3, 4}));
  EXPECT_EQ(loss::cross_entropy(x, y).shape(), Shape{});
  EXPECT_EQ(loss::cross_entropy(randn({5}), tensor(std::vector<int64_t>{1}, Shape{}),
                                {.reduction = Reduction::None})
                .shape(),
            Shape{});
}

TEST(CrossEntropy, AllIgnoredMeanIsNaN) {
  // PyTorch's behaviour: 0/0 when every target is ignored
  Tensor x = randn({2, 3}, {.requires_grad = true});
  Tensor y = tensor(std::vector<int64_t>{-100, -100}, {2});
  EXPECT_TRUE(std::isnan(loss::cross_entropy(x, y).item()));
  EXPECT_EQ(loss::cross_entropy(x, y, {.reduction = Reduction::Sum}).item(), 0.0);
}

TEST(CrossEntropy, ErrorMessages) {
  Tensor x = randn({4, 10});
  EXPECT_EQ(error_of([&] {
              loss::cross_entropy(x, tensor(std::vector<int64_t>{1, 12, 3, 0}, {4}));
            }),
            "cross_entropy: target 12 is out of range for 10 classes (valid: 0..9)");
  EXPECT_NE(error_of([&] {
              loss::cross_entropy(x, tensor(std::vector<int64_t>{1, 10, 3, 0}, {4}));
            }).find("target 10 is out of range for 10 classes (targets are 0-based"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              loss::cross_entropy(x, tensor(std::vector<int64_t>{-1, 0, 0, 0}, {4}));
            }).find("target -1 is out of range"),
            std::string::npos);
  const std::string dtype_err = error_of([&] {
    loss::cross_entropy(x, tensor({1.0, 2.0, 3.0, 0.0}));
  });
  EXPECT_NE(dtype_err.find("class-index targets must be int64 (got float32 [4])"),
            std::string::npos)
      << dtype_err;
  const std::string shape_err = error_of([&] { loss::cross_entropy(x, randint(0, 10, {4, 1})); });
  EXPECT_NE(
      shape_err.find("cross_entropy: target [4, 1] does not fit input [4, 10]: expected class "
                     "indices [4] (int64) or probabilities [4, 10] (float)"),
      std::string::npos)
      << shape_err;
  EXPECT_NE(shape_err.find("hint: squeeze"), std::string::npos);
  EXPECT_NE(error_of([&] {
              loss::cross_entropy(x, randint(0, 10, {4}), {.weight = ones({9})});
            }).find("weight must have shape [10]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              loss::cross_entropy(x, rand({4, 10}), {.ignore_index = 1});
            }).find("ignore_index is not supported for probability targets"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              loss::cross_entropy(x, randint(0, 10, {4}), {.label_smoothing = 1.5});
            }).find("label_smoothing must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              loss::cross_entropy(x, randint(0, 10, {4}), {.reduction = Reduction::BatchMean});
            }).find("batchmean is only defined for kl_div"),
            std::string::npos);
  EXPECT_THROW(loss::cross_entropy(randint(0, 3, {4, 10}), randint(0, 10, {4})), DTypeError);
  EXPECT_THROW(loss::nll_loss(x, tensor(std::vector<int64_t>{0, 1, 2, 30}, {4})), IndexError);
}

TEST(PointwiseLoss, ErrorMessages) {
  EXPECT_EQ(error_of([] {
              loss::mse(zeros({64, 1}), zeros({64}));
            }),
            "mse: input [64, 1] and target [64] must have the same shape; hint: same number of "
            "elements: reshape one to the other's shape (e.g. output.squeeze(1) or "
            "target.view({-1, 1}))");
  const std::string bce = error_of([] {
    loss::binary_cross_entropy(tensor({0.5, 1.5}), tensor({0.0, 1.0}));
  });
  EXPECT_NE(
      bce.find("binary_cross_entropy: input values must be probabilities in [0, 1] (element 1 "
               "is 1.5); hint: apply sigmoid first"),
      std::string::npos)
      << bce;
  EXPECT_THROW(loss::binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}),
                                                      {.pos_weight = ones({2})}),
               ShapeError);
  EXPECT_THROW(loss::mse(randint(0, 3, {2}), zeros({2})), DTypeError);
  // an integer target is converted to the input's dtype
  EXPECT_NEAR(loss::mse(tensor({1.0, 2.0}), tensor(std::vector<int64_t>{1, 4}, {2})).item(), 2.0,
              1e-6);
}

TEST(PointwiseLoss, BceIsFiniteAtZeroAndOne) {
  Tensor p = tensor({0.0, 1.0}, {.requires_grad = true});
  Tensor l = loss::binary_cross_entropy(p, tensor({1.0, 0.0}), {.reduction = Reduction::Sum});
  EXPECT_NEAR(l.item(), 200.0, 1e-3);  // each log clamped at -100
  l.backward();
  for (double g : p.grad().to_vector()) EXPECT_TRUE(std::isfinite(g));
}

TEST(LossObjects, CallAndPrint) {
  manual_seed(9);
  Tensor x = randn({4, 3}), y = randint(0, 3, {4});
  loss::CrossEntropyLoss ce({.label_smoothing = 0.1});
  EXPECT_EQ(ce(x, y).item(), loss::cross_entropy(x, y, {.label_smoothing = 0.1}).item());
  EXPECT_EQ(ce.to_string(), "CrossEntropyLoss(label_smoothing=0.1, reduction=mean)");
  nn::MSELoss mse({.reduction = Reduction::Sum});  // visible from nn as in PyTorch
  EXPECT_EQ(mse.to_string(), "MSELoss(reduction=sum)");
  EXPECT_NEAR(mse(tensor({1.0, 2.0}), tensor({0.0, 0.0})).item(), 5.0, 1e-6);
  const loss::Loss& base = mse;
  EXPECT_NEAR(base(tensor({3.0}), tensor({1.0})).item(), 4.0, 1e-6);
  EXPECT_EQ(loss::KLDivLoss({.reduction = Reduction::BatchMean, .log_target = true}).to_string(),
            "KLDivLoss(reduction=batchmean, log_target=True)");
}

}  // namespace
