// The course's three gradient-descent modes are one optimizer fed different batches: online
// (one sample per step), mini-batch and full-batch SGD all recover the weights of a noise-free
// linear regression. Also checks one plain SGD step against the hand formula w − lr·∇E.
#include "optim_test_util.h"

namespace {
using namespace optim_test;

struct LinearData {
  sn::Tensor X, y;  // X [N, 3], y [N, 1] = X·w* + b*
  std::vector<double> w_true = {1.5, -2.0, 0.5};
  double b_true = 0.75;
  LinearData() {
    sn::manual_seed(42);
    X = sn::randn({32, 3}, {.dtype = sn::kFloat64});
    const sn::Tensor w = sn::tensor(w_true, {3, 1}, {.dtype = sn::kFloat64});
    y = sn::matmul(X, w) + b_true;
  }
};

// Trains y ≈ X·w + b with SGD, `batch` samples per step, in a fixed order; returns (w, b).
std::pair<std::vector<double>, double> fit(const LinearData& d, int64_t batch, double lr,
                                           int epochs) {
  auto w = sn::zeros({3, 1}, {.dtype = sn::kFloat64, .requires_grad = true});
  auto b = sn::zeros({1}, {.dtype = sn::kFloat64, .requires_grad = true});
  so::SGD opt({w, b}, {.lr = lr, .momentum = 0.5});
  const int64_t n = d.X.size(0);
  for (int e = 0; e < epochs; ++e) {
    for (int64_t start = 0; start < n; start += batch) {
      const int64_t len = std::min(batch, n - start);
      const sn::Tensor xb = d.X.narrow(0, start, len), yb = d.y.narrow(0, start, len);
      opt.zero_grad();
      const sn::Tensor r = sn::matmul(xb, w) + b - yb;
      sn::mean(r * r).backward();
      opt.step();
    }
  }
  return {w.to_vector(), b.item()};
}

void expect_recovered(const LinearData& d, const std::pair<std::vector<double>, double>& got) {
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(got.first[i], d.w_true[i], 1e-4) << "w[" << i << "]";
  EXPECT_NEAR(got.second, d.b_true, 1e-4) << "b";
}

TEST(SGDModes, OnlineOneSamplePerStep) {
  LinearData d;
  expect_recovered(d, fit(d, 1, 0.05, 25));
}

TEST(SGDModes, MiniBatch) {
  LinearData d;
  expect_recovered(d, fit(d, 8, 0.05, 150));
}

TEST(SGDModes, FullBatch) {
  LinearData d;
  expect_recovered(d, fit(d, 32, 0.1, 400));
}

TEST(SGDModes, OneStepIsGradientDescent) {
  // E = Σ (x·w − t)², dE/dw = 2·Σ (x·w − t)·x
  auto w = sn::tensor({0.5, -1.0}, {.dtype = sn::kFloat64, .requires_grad = true});
  const sn::Tensor x = sn::tensor({{1.0, 2.0}, {3.0, -1.0}}, {.dtype = sn::kFloat64});
  const sn::Tensor t = sn::tensor({1.0, 0.0}, {.dtype = sn::kFloat64});
  so::SGD opt({w}, {.lr = 0.1});
  const sn::Tensor r = sn::matmul(x, w) - t;  // [-2.5, 2.5]
  sn::sum(r * r).backward();
  opt.step();
  // gradient: 2·(−2.5·[1, 2] + 2.5·[3, −1]) = [10, −15]
  EXPECT_DOUBLE_EQ(w.at({0}), 0.5 - 0.1 * 10);
  EXPECT_DOUBLE_EQ(w.at({1}), -1.0 + 0.1 * 15);
}

}  // namespace
