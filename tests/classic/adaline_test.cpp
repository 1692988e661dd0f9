// ADALINE / LMS: reaches the least-squares solution (batch exactly, online within the LMS
// jitter), the MSE history, divergence detection, tolerance stop and classification.
#include <gtest/gtest.h>

#include <cmath>

#include <sinapsis/sinapsis.h>

namespace {
using sn::classic::Adaline;
using sn::classic::UpdateMode;

// t = 0.5 + 2·x1 − 1·x2 + small noise
void make_data(sn::Tensor& x, sn::Tensor& t) {
  sn::manual_seed(7);
  x = sn::randn({60, 2}, {.dtype = sn::kFloat64});
  t = 0.5 + 2.0 * x.select(1, 0) - x.select(1, 1) + 0.1 * sn::randn({60}, {.dtype = sn::kFloat64});
}

sn::Tensor least_squares(const sn::Tensor& x, const sn::Tensor& t) {
  sn::classic::LinearRegression lr;
  lr.fit_normal_equations(x, t);
  return lr.weights();
}
}  // namespace

TEST(Adaline, BatchLmsReachesTheLeastSquaresSolution) {
  sn::Tensor x, t;
  make_data(x, t);
  Adaline a(2);
  auto r = a.fit(x, t, {.lr = 0.2, .max_epochs = 400, .mode = UpdateMode::Batch});
  EXPECT_FALSE(r.diverged);
  EXPECT_TRUE(sn::allclose(a.weights(), least_squares(x, t), 1e-7, 1e-7))
      << a.weights() << least_squares(x, t);
  // full-batch gradient descent with a small step never increases the MSE
  for (size_t i = 1; i < r.mse.size(); ++i) EXPECT_LE(r.mse[i], r.mse[i - 1] + 1e-12);
  EXPECT_NEAR(r.mse.back(), sn::classic::mean_squared_error(a.predict(x), t), 1e-12);
}

TEST(Adaline, OnlineLmsHoversAroundTheLeastSquaresSolution) {
  sn::Tensor x, t;
  make_data(x, t);
  Adaline a(2);
  auto r = a.fit(x, t, {.lr = 0.005, .max_epochs = 150});
  sn::Tensor ls = least_squares(x, t);
  EXPECT_TRUE(sn::allclose(a.weights(), ls, 0.0, 0.02)) << a.weights() << ls;
  EXPECT_LT(r.mse.back(), r.mse.front());
  EXPECT_NEAR(r.mse.back(), sn::classic::mean_squared_error(a.predict(x), t), 1e-12);
}

TEST(Adaline, MiniBatchAndTolerance) {
  sn::Tensor x, t;
  make_data(x, t);
  Adaline a(2);
  // a fixed visiting order makes mini-batch LMS settle on a cycle, so the epoch MSE stops moving
  auto r = a.fit(x, t,
                 {.lr = 0.1,
                  .max_epochs = 1000,
                  .mode = UpdateMode::MiniBatch,
                  .batch_size = 10,
                  .tolerance = 1e-12});
  EXPECT_TRUE(r.converged);
  EXPECT_LT(r.epochs, 1000);
  EXPECT_TRUE(sn::allclose(a.weights(), least_squares(x, t), 0.0, 0.05));
  Adaline shuffled(2);
  sn::manual_seed(2);
  auto rs = shuffled.fit(x, t,
                         {.lr = 0.05,
                          .max_epochs = 100,
                          .mode = UpdateMode::MiniBatch,
                          .batch_size = 10,
                          .shuffle = true});
  EXPECT_FALSE(rs.converged);
  EXPECT_EQ(rs.epochs, 100);
  EXPECT_TRUE(sn::allclose(shuffled.weights(), least_squares(x, t), 0.0, 0.05));
}

TEST(Adaline, FlagsDivergence) {
  sn::Tensor x, t;
  make_data(x, t);
  Adaline a(2);
  auto r = a.fit(x, t, {.lr = 5.0, .max_epochs = 2000, .mode = UpdateMode::Batch});
  EXPECT_TRUE(r.diverged);
  // stopped as soon as the error grew a million-fold, long before it overflowed
  EXPECT_LT(r.epochs, 100);
  ASSERT_GE(r.mse.size(), 2u);
  const double start = sn::classic::mean_squared_error(sn::zeros({x.size(0)}), t);
  EXPECT_GT(r.mse.back(), 1e6 * start);
  EXPECT_TRUE(std::isfinite(r.mse.back()));
  for (size_t i = 0; i + 1 < r.mse.size(); ++i) EXPECT_LE(r.mse[i], 1e6 * start);
}

TEST(Adaline, ClassifiesBipolarAnd) {
  auto x = sn::tensor({{1, 1}, {1, -1}, {-1, 1}, {-1, -1}});
  auto y = sn::tensor({1, -1, -1, -1});
  Adaline a(2);
  a.fit(x, y, {.lr = 0.1, .max_epochs = 200, .mode = UpdateMode::Batch});
  // the least-squares ADALINE for bipolar AND is w̃ = [-0.5, 0.5, 0.5]
  EXPECT_TRUE(
      sn::allclose(a.weights(), sn::tensor({-0.5, 0.5, 0.5}, {.dtype = sn::kFloat64}), 0.0, 1e-6));
  EXPECT_TRUE(sn::equal(a.classify(x), y.to(sn::kFloat64)));
  EXPECT_TRUE(sn::equal(a.classify(x, sn::classic::Encoding::Binary),
                        sn::tensor({1, 0, 0, 0}, {.dtype = sn::kFloat64})));
}
