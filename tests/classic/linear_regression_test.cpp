// Linear regression: normal equations recover known coefficients, agree with batch / stochastic /
// mini-batch gradient descent, and fail clearly on singular or ill-conditioned XᵀX unless a
// least-squares fallback (SVD, QR) is asked for.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <sinapsis/sinapsis.h>
#include "test_util.h"

namespace {
using sn::classic::LinearRegression;
using sn::classic::LstsqFallback;
using sn::classic::UpdateMode;

sn::Tensor f64(std::initializer_list<double> v) { return sn::tensor(v, {.dtype = sn::kFloat64}); }

// y = 1 − 2·x1 + 0.5·x2 + 3·x3 (+ noise)
void make_data(sn::Tensor& x, sn::Tensor& y, double noise, int64_t n = 80) {
  sn::manual_seed(11);
  x = sn::randn({n, 3}, {.dtype = sn::kFloat64});
  y = sn::matmul(x, f64({-2, 0.5, 3})) + 1.0 + noise * sn::randn({n}, {.dtype = sn::kFloat64});
}

std::string message_of(const std::function<void()>& f) {
  return sn::test::error_of<sn::ValueError>(f);
}
}  // namespace

TEST(LinearRegression, NormalEquationsRecoverExactCoefficients) {
  sn::Tensor x, y;
  make_data(x, y, 0.0);
  LinearRegression lr;
  auto r = lr.fit_normal_equations(x, y);
  EXPECT_EQ(r.solver, "cholesky");
  EXPECT_GE(r.condition, 1.0);
  EXPECT_LT(r.condition, 100.0);
  EXPECT_TRUE(sn::allclose(lr.weights(), f64({1, -2, 0.5, 3}), 1e-10, 1e-10)) << lr.weights();
  EXPECT_NEAR(lr.intercept(), 1.0, 1e-10);
  EXPECT_TRUE(sn::allclose(lr.coefficients(), f64({-2, 0.5, 3}), 1e-10, 1e-10));
  EXPECT_NEAR(sn::classic::r2_score(lr.predict(x), y), 1.0, 1e-12);
}

TEST(LinearRegression, ResidualIsOrthogonalToTheColumns) {
  sn::Tensor x, y;
  make_data(x, y, 0.3);
  LinearRegression lr;
  lr.fit_normal_equations(x, y);
  // the normal equations say x̃ᵀ(y − x̃w) = 0
  sn::Tensor residual = y - lr.predict(x);
  EXPECT_NEAR(residual.sum().item(), 0.0, 1e-9);
  EXPECT_TRUE(
      sn::allclose(sn::matmul(residual, x), sn::zeros({3}, {.dtype = sn::kFloat64}), 0, 1e-9));
}

TEST(LinearRegression, GradientDescentVariantsAgreeWithNormalEquations) {
  sn::Tensor x, y;
  make_data(x, y, 0.3);
  LinearRegression exact;
  exact.fit_normal_equations(x, y);
  const double best = sn::classic::mean_squared_error(exact.predict(x), y);

  LinearRegression batch;
  auto rb = batch.fit_gradient_descent(x, y, {.lr = 0.2, .epochs = 300});
  EXPECT_TRUE(sn::allclose(batch.weights(), exact.weights(), 1e-8, 1e-8)) << batch.weights();
  EXPECT_NEAR(rb.loss.back(), best, 1e-12);
  EXPECT_EQ(rb.epochs, 300);

  LinearRegression mini;
  auto rm = mini.fit_gradient_descent(x, y,
                                      {.lr = 0.05,
                                       .epochs = 200,
                                       .mode = UpdateMode::MiniBatch,
                                       .batch_size = 16,
                                       .lr_decay = 0.1});
  EXPECT_TRUE(sn::allclose(mini.weights(), exact.weights(), 0.0, 0.02)) << mini.weights();

  LinearRegression sgd;
  auto rs = sgd.fit_gradient_descent(
      x, y, {.lr = 0.02, .epochs = 200, .mode = UpdateMode::Online, .lr_decay = 0.1});
  EXPECT_TRUE(sn::allclose(sgd.weights(), exact.weights(), 0.0, 0.02)) << sgd.weights();
  for (const auto* loss : {&rm.loss, &rs.loss}) {
    EXPECT_GE(loss->back(), best - 1e-12);  // nothing beats the least-squares optimum
    EXPECT_LT(loss->back(), best * 1.02);
    EXPECT_LT(loss->back(), loss->front());
  }
}

TEST(LinearRegression, WithoutIntercept) {
  auto x = sn::tensor(std::vector<double>{1.0, 2.0, 3.0}, {3, 1}, {.dtype = sn::kFloat64});
  auto y = f64({2.0, 4.0, 7.0});
  LinearRegression lr;
  lr.fit_normal_equations(x, y, {.fit_intercept = false});
  // w = Σxy / Σx² = (2 + 8 + 21) / 14
  EXPECT_NEAR(lr.coefficients().item(), 31.0 / 14.0, 1e-12);
  EXPECT_EQ(lr.intercept(), 0.0);
  LinearRegression gd;
  gd.fit_gradient_descent(x, y, {.lr = 0.05, .epochs = 200, .fit_intercept = false});
  EXPECT_NEAR(gd.coefficients().item(), 31.0 / 14.0, 1e-9);
}

TEST(LinearRegression, MultipleOutputs) {
  sn::Tensor x, y;
  make_data(x, y, 0.0);
  sn::Tensor y2 = sn::stack({y, 2.0 * y - 1.0}, 1);
  LinearRegression lr;
  lr.fit_normal_equations(x, y2);
  ASSERT_EQ(lr.weights().shape(), sn::Shape({4, 2}));
  EXPECT_TRUE(sn::allclose(lr.weights().select(1, 1), f64({1, -4, 1, 6}), 1e-9, 1e-9));
  EXPECT_THROW(lr.intercept(), sn::ValueError);
}

TEST(LinearRegression, SingularNormalEquationsAreAClearError) {
  sn::Tensor x, y;
  make_data(x, y, 0.1);
  // column 3 = column 0 + column 1: XᵀX has rank 4 of 5
  sn::Tensor xs = sn::cat({x, (x.select(1, 0) + x.select(1, 1)).unsqueeze(1)}, 1);
  LinearRegression lr;
  std::string msg = message_of([&] { lr.fit_normal_equations(xs, y); });
  EXPECT_NE(msg.find("singular"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hint"), std::string::npos) << msg;
  EXPECT_FALSE(lr.fitted());

  // a constant column duplicates the intercept
  sn::Tensor xc = sn::cat({x, sn::ones({x.size(0), 1}, {.dtype = sn::kFloat64})}, 1);
  EXPECT_THROW(lr.fit_normal_equations(xc, y), sn::ValueError);

  // fewer samples than unknowns
  msg = message_of([&] { lr.fit_normal_equations(x.narrow(0, 0, 2), y.narrow(0, 0, 2)); });
  EXPECT_NE(msg.find("fewer samples"), std::string::npos) << msg;
}

TEST(LinearRegression, SvdFallbackGivesTheMinimumNormSolution) {
  sn::Tensor x, y;
  make_data(x, y, 0.0);
  // duplicate column 0: any split a + b = −2 fits; the minimum-norm one is −1, −1
  sn::Tensor xs = sn::cat({x, x.select(1, 0).unsqueeze(1)}, 1);
  LinearRegression lr;
  auto r = lr.fit_normal_equations(xs, y, {.fallback = LstsqFallback::SVD});
  EXPECT_EQ(r.solver, "svd");
  EXPECT_EQ(r.rank, 4);
  EXPECT_TRUE(sn::allclose(lr.weights(), f64({1, -1, 0.5, 3, -1}), 1e-8, 1e-8)) << lr.weights();
  // QR needs full column rank and says so
  std::string msg =
      message_of([&] { lr.fit_normal_equations(xs, y, {.fallback = LstsqFallback::QR}); });
  EXPECT_NE(msg.find("full column rank"), std::string::npos) << msg;
}

TEST(LinearRegression, IllConditionedIsAClearErrorAndQrSolvesIt) {
  sn::Tensor x, y;
  make_data(x, y, 0.0);
  // column 3 ≈ column 0: cond(X) ~ 1e7, so cond(XᵀX) ~ 1e14 > 1e12
  sn::manual_seed(5);
  sn::Tensor near = x.select(1, 0) + 1e-7 * sn::randn({x.size(0)}, {.dtype = sn::kFloat64});
  sn::Tensor xi = sn::cat({x, near.unsqueeze(1)}, 1);
  LinearRegression lr;
  std::string msg = message_of([&] { lr.fit_normal_equations(xi, y); });
  EXPECT_NE(msg.find("ill-conditioned"), std::string::npos) << msg;
  auto r = lr.fit_normal_equations(xi, y, {.fallback = LstsqFallback::QR});
  EXPECT_EQ(r.solver, "qr");
  EXPECT_GT(r.condition, 1e12);
  EXPECT_LT(sn::classic::mean_squared_error(lr.predict(xi), y), 1e-12);
  // a looser limit accepts the same system through Cholesky
  auto loose = lr.fit_normal_equations(xi, y, {.max_condition = 1e18});
  EXPECT_EQ(loose.solver, "cholesky");
}

TEST(LinearRegression, GradientDescentDivergenceAndErrors) {
  sn::Tensor x, y;
  make_data(x, y, 0.1);
  LinearRegression lr;
  auto r = lr.fit_gradient_descent(x, y, {.lr = 5.0, .epochs = 500});
  EXPECT_TRUE(r.diverged);
  EXPECT_LT(r.epochs, 100);
  EXPECT_TRUE(std::isfinite(r.loss.back()));  // caught while the loss is still a number
  EXPECT_THROW(LinearRegression().predict(x), sn::ValueError);
  EXPECT_THROW(lr.fit_gradient_descent(x, y, {.lr = 0.0}), sn::ValueError);
  EXPECT_THROW(lr.fit_normal_equations(x, y.narrow(0, 0, 5)), sn::ShapeError);
  EXPECT_THROW(lr.fit_normal_equations(x.select(1, 0), y), sn::ShapeError);
  EXPECT_THROW(lr.fit_normal_equations(x, y, {.max_condition = 0.5}), sn::ValueError);
}
