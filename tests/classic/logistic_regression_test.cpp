// Logistic regression: binary and multinomial fits on separable blobs, the optimality condition
// x̃ᵀ(p − y)/N + λw = 0 at convergence, probability shapes/sums, and label errors.
#include <gtest/gtest.h>

#include <cmath>

#include <sinapsis/sinapsis.h>

namespace {
using sn::classic::LogisticRegression;
using sn::classic::UpdateMode;

// k Gaussian blobs of m points around centres spaced on a circle of radius r
void blobs(int64_t k, int64_t m, double r, double spread, sn::Tensor& x, sn::Tensor& y) {
  sn::manual_seed(21);
  std::vector<sn::Tensor> xs, ys;
  for (int64_t c = 0; c < k; ++c) {
    const double a = 2.0 * 3.14159265358979 * static_cast<double>(c) / static_cast<double>(k);
    sn::Tensor centre = sn::tensor({r * std::cos(a), r * std::sin(a)}, {.dtype = sn::kFloat64});
    xs.push_back(centre + spread * sn::randn({m, 2}, {.dtype = sn::kFloat64}));
    ys.push_back(sn::full({m}, static_cast<double>(c), {.dtype = sn::kInt64}));
  }
  x = sn::cat(xs, 0);
  y = sn::cat(ys, 0);
}
}  // namespace

TEST(LogisticRegression, BinarySeparable) {
  sn::Tensor x, y;
  blobs(2, 30, 2.0, 0.5, x, y);
  LogisticRegression m(2);
  auto r = m.fit(x, y, {.lr = 0.5, .epochs = 100});
  EXPECT_EQ(r.epochs, 100);
  EXPECT_DOUBLE_EQ(r.accuracy.back(), 1.0);
  EXPECT_LT(r.loss.back(), 0.1);
  for (size_t i = 1; i < r.loss.size(); ++i) EXPECT_LE(r.loss[i], r.loss[i - 1] + 1e-12);
  EXPECT_EQ(m.predict(x).dtype(), sn::kInt64);
  EXPECT_TRUE(sn::equal(m.predict(x), y));
  EXPECT_EQ(m.predict_proba(x).shape(), sn::Shape({60}));
}

TEST(LogisticRegression, GradientVanishesAtTheRegularisedOptimum) {
  sn::Tensor x, y;
  blobs(2, 30, 0.8, 1.0, x, y);  // overlapping: a finite optimum
  const double l2 = 0.1;
  LogisticRegression m(2);
  m.fit(x, y, {.lr = 1.0, .epochs = 2000, .l2 = l2});
  sn::Tensor xb = sn::cat({sn::ones({60, 1}, {.dtype = sn::kFloat64}), x}, 1);
  sn::Tensor p = m.predict_proba(x);
  sn::Tensor grad = sn::matmul(xb.t(), p - y.to(sn::kFloat64)) / 60.0;
  sn::Tensor w = m.weights().clone();
  w.set({0}, 0.0);
  grad = grad + l2 * w;
  EXPECT_LT(sn::max(sn::abs(grad)).item(), 1e-6) << grad;
}

TEST(LogisticRegression, MultinomialSoftmax) {
  sn::Tensor x, y;
  blobs(3, 25, 3.0, 0.5, x, y);
  for (UpdateMode mode : {UpdateMode::Batch, UpdateMode::MiniBatch, UpdateMode::Online}) {
    sn::manual_seed(1);
    LogisticRegression m(2, 3);
    auto r = m.fit(x, y, {.lr = 0.2, .epochs = 60, .mode = mode, .batch_size = 8});
    EXPECT_GE(r.accuracy.back(), 0.97) << sn::classic::to_string(mode);
    EXPECT_LT(r.loss.back(), r.loss.front());
    sn::Tensor p = m.predict_proba(x);
    ASSERT_EQ(p.shape(), sn::Shape({75, 3}));
    EXPECT_TRUE(sn::allclose(p.sum({1}), sn::ones({75}, {.dtype = sn::kFloat64}), 1e-12, 1e-12));
    EXPECT_EQ(m.weights().shape(), sn::Shape({3, 3}));
  }
}

TEST(LogisticRegression, LabelErrors) {
  auto x = sn::tensor({{0.0, 1.0}, {1.0, 0.0}});
  LogisticRegression m(2);
  EXPECT_THROW(m.fit(x, sn::tensor({0, 2})), sn::ValueError);
  EXPECT_THROW(m.fit(x, sn::tensor({0, 0.5})), sn::ValueError);
  EXPECT_THROW(m.fit(x, sn::tensor({0, -1})), sn::ValueError);
  EXPECT_THROW(LogisticRegression(2, 1), sn::ValueError);
  EXPECT_THROW(m.set_weights(sn::zeros({3, 2})), sn::ShapeError);
  EXPECT_THROW(m.set_weights(sn::tensor({0.0, NAN, 1.0})), sn::ValueError);
  m.set_weights(sn::tensor({-1.0, 2.0, 0.0}));  // z = -1 + 2·x1
  EXPECT_TRUE(sn::equal(m.predict(x), sn::tensor(std::vector<int64_t>{0, 1}, {2})));
  EXPECT_NEAR(m.predict_proba(x).at({1}), 1.0 / (1.0 + std::exp(-1.0)), 1e-12);
  EXPECT_THROW(m.predict(sn::tensor({{1.0, 2.0, 3.0}})), sn::ShapeError);
}
