// Finite-difference gradchecks (float64) of every loss, for the input and — where the loss
// is differentiable in it — the target, under every reduction; includes non-contiguous inputs.
#include <gtest/gtest.h>

#include "sinapsis/autograd/gradcheck.h"
#include "sinapsis/loss/loss.h"
#include "sinapsis/ops/ops.h"

namespace {

using namespace sn;
using loss::Reduction;

const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

Tensor leaf(Tensor t) {
  t.requires_grad_(true);
  return t;
}

void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                      const std::vector<Tensor>& inputs) {
  const auto r = autograd::gradcheck(fn, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LossGradcheck, Regression) {
  manual_seed(1);
  for (Reduction red : kReductions) {
    SCOPED_TRACE(loss::reduction_name(red));
    // keep |x - y| away from the kinks (0 for l1, ±δ for huber) where differences are invalid
    Tensor x = leaf(randn({3, 4}, {.dtype = kFloat64}));
    Tensor y = leaf(add(x.detach(), mul(sign(randn({3, 4}, {.dtype = kFloat64})),
                                        add(rand({3, 4}, {.dtype = kFloat64}), 0.1))));
    expect_gradcheck([&](auto& v) { return loss::mse(v[0], v[1], {.reduction = red}); }, {x, y});
    expect_gradcheck([&](auto& v) { return loss::l1(v[0], v[1], {.reduction = red}); }, {x, y});
    // |d| in [0.1, 1.1): δ = 0.05 is all-linear, δ = 2 all-quadratic; 0.6 mixes
    for (double delta : {0.05, 0.6, 2.0}) {
      expect_gradcheck(
          [&](auto& v) { return loss::huber(v[0], v[1], {.delta = delta, .reduction = red}); },
          {x, y});
      expect_gradcheck(
          [&](auto& v) { return loss::smooth_l1(v[0], v[1], {.beta = delta, .reduction = red}); },
          {x, y});
    }
    expect_gradcheck(
        [&](auto& v) { return loss::smooth_l1(v[0], v[1], {.beta = 0.0, .reduction = red}); },
        {x, y});
  }
}

TEST(LossGradcheck, RegressionNonContiguous) {
  manual_seed(2);
  Tensor x = leaf(randn({4, 3}, {.dtype = kFloat64}));
  Tensor y = randn({3, 4}, {.dtype = kFloat64});
  expect_gradcheck([&](auto& v) { return loss::mse(v[0].t(), v[1]); }, {x, y});
}

TEST(LossGradcheck, BinaryCrossEntropy) {
  manual_seed(3);
  for (Reduction red : kReductions) {
    SCOPED_TRACE(loss::reduction_name(red));
    Tensor p = leaf(add(mul(rand({3, 4}, {.dtype = kFloat64}), 0.8), 0.1));
    Tensor y = leaf(rand({3, 4}, {.dtype = kFloat64}));
    Tensor w = add(rand({4}, {.dtype = kFloat64}), 0.5);
    expect_gradcheck(
        [&](auto& v) { return loss::binary_cross_entropy(v[0], v[1], {.reduction = red}); },
        {p, y});
    expect_gradcheck(
        [&](auto& v) {
          return loss::binary_cross_entropy(v[0], v[1], {.weight = v[2], .reduction = red});
        },
        {p, y, w});
    Tensor x = leaf(mul(randn({3, 4}, {.dtype = kFloat64}), 3.0));
    Tensor pw = add(rand({4}, {.dtype = kFloat64}), 0.5);
    expect_gradcheck(
        [&](auto& v) {
          return loss::binary_cross_entropy_with_logits(
              v[0], v[1], {.weight = v[2], .pos_weight = v[3], .reduction = red});
        },
        {x, y, w, pw});
  }
}

TEST(LossGradcheck, CrossEntropyClassIndices) {
  manual_seed(4);
  Tensor t = tensor(std::vector<int64_t>{0, 3, 1, 3, 2}, {5});
  Tensor t_ign = tensor(std::vector<int64_t>{0, -100, 1, 3, -100}, {5});
  Tensor w = add(rand({4}, {.dtype = kFloat64}), 0.2);
  for (Reduction red : kReductions) {
    SCOPED_TRACE(loss::reduction_name(red));
    Tensor x = leaf(randn({5, 4}, {.dtype = kFloat64}));
    for (double eps : {0.0, 0.3}) {
      expect_gradcheck(
          [&](auto& v) {
            return loss::cross_entropy(v[0], v[1], {.label_smoothing = eps, .reduction = red});
          },
          {x, t});
      expect_gradcheck(
          [&](auto& v) {
            return loss::cross_entropy(v[0], v[1],
                                       {.weight = v[2], .label_smoothing = eps, .reduction = red});
          },
          {x, t_ign, w});
    }
    // [N, C, d1, d2] and a non-contiguous (permuted) logits tensor
    Tensor xs = leaf(randn({2, 2, 2, 3}, {.dtype = kFloat64}));  // [N, d1, d2, C]
    Tensor ts = randint(0, 3, {2, 2, 2});
    expect_gradcheck(
        [&](auto& v) {
          return loss::cross_entropy(v[0].permute({0, 3, 1, 2}), v[1],
                                     {.label_smoothing = 0.1, .reduction = red});
        },
        {xs, ts});
  }
}

TEST(LossGradcheck, CrossEntropyProbabilities) {
  manual_seed(5);
  Tensor w = add(rand({4}, {.dtype = kFloat64}), 0.2);
  for (Reduction red : kReductions) {
    SCOPED_TRACE(loss::reduction_name(red));
    Tensor x = leaf(randn({3, 4}, {.dtype = kFloat64}));
    Tensor p = leaf(softmax(randn({3, 4}, {.dtype = kFloat64}), 1).detach());
    expect_gradcheck(
        [&](auto& v) {
          return loss::cross_entropy(v[0], v[1],
                                     {.weight = v[2], .label_smoothing = 0.2, .reduction = red});
        },
        {x, p, w});
  }
}

TEST(LossGradcheck, NllAndKl) {
  manual_seed(6);
  Tensor t = tensor(std::vector<int64_t>{2, 0, -100, 1}, {4});
  Tensor w = add(rand({3}, {.dtype = kFloat64}), 0.2);
  for (Reduction red : kReductions) {
    SCOPED_TRACE(loss::reduction_name(red));
    Tensor lp = leaf(randn({4, 3}, {.dtype = kFloat64}));
    expect_gradcheck(
        [&](auto& v) { return loss::nll_loss(v[0], v[1], {.weight = v[2], .reduction = red}); },
        {lp, t, w});
    Tensor q = leaf(log_softmax(randn({3, 5}, {.dtype = kFloat64}), 1).detach());
    Tensor p = leaf(softmax(randn({3, 5}, {.dtype = kFloat64}), 1).detach());
    expect_gradcheck([&](auto& v) { return loss::kl_div(v[0], v[1], {.reduction = red}); }, {q, p});
    Tensor lpt = leaf(log(p.detach()));
    expect_gradcheck(
        [&](auto& v) { return loss::kl_div(v[0], v[1], {.reduction = red, .log_target = true}); },
        {q, lpt});
  }
  Tensor q = leaf(randn({3, 5}, {.dtype = kFloat64}));
  Tensor p = softmax(randn({3, 5}, {.dtype = kFloat64}), 1);
  expect_gradcheck(
      [&](auto& v) { return loss::kl_div(v[0], v[1], {.reduction = Reduction::BatchMean}); },
      {q, p});
}

}  // namespace
