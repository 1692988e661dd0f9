// Gradient clipping: clip_grad_norm_ against PyTorch 1.13.1 for several norm types and dtypes,
// plus clip_grad_value_, parameters without gradients, non-finite norms and bad arguments.
#include "optim_test_util.h"

namespace {
using namespace optim_test;

TEST(ClipGradNorm, MatchesPyTorch) {
  const json& cases = golden()["clip"];
  ASSERT_GE(cases.size(), 6u);
  for (const json& c : cases) {
    const sn::DType dt = dtype_of(c["dtype"]);
    const double norm_type = c["norm_type"].is_string() ? INFINITY : c["norm_type"].get<double>();
    SCOPED_TRACE(testing::Message() << "norm_type " << norm_type << " max_norm " << c["max_norm"]);
    auto W = sn::zeros({3, 4}, {.dtype = dt, .requires_grad = true});
    auto b = sn::zeros({3}, {.dtype = dt, .requires_grad = true});
    W.set_grad(from_json(c["grad_W"], {3, 4}, dt));
    b.set_grad(from_json(c["grad_b"], {3}, dt));
    const double total = so::clip_grad_norm_({W, b}, c["max_norm"], norm_type);
    const double rtol = dt == sn::kFloat32 ? 1e-5 : 1e-12;
    expect_close({total}, json::array({c["total"]}), rtol, 0, "total norm");
    expect_close(values(W.grad()), c["clipped_W"], rtol, 1e-12, "clipped W");
    expect_close(values(b.grad()), c["clipped_b"], rtol, 1e-12, "clipped b");
  }
}

TEST(ClipGradNorm, ScalesToMaxNormAndSkipsMissingGradients) {
  auto a = sn::zeros({2}, {.requires_grad = true});
  auto b = sn::zeros({2}, {.requires_grad = true});  // no gradient: ignored
  a.set_grad(sn::tensor({3.0, 4.0}));
  EXPECT_DOUBLE_EQ(so::clip_grad_norm_({a, b}, 1.0), 5.0);
  EXPECT_NEAR(a.grad().at({0}), 0.6, 1e-6);
  EXPECT_NEAR(a.grad().at({1}), 0.8, 1e-6);
  EXPECT_FALSE(b.grad().defined());
  EXPECT_EQ(so::clip_grad_norm_({b}, 1.0), 0.0);
}

TEST(ClipGradNorm, LargeGradientIsThreadIndependent) {
  // more than one block of the blocked reduction, so the parallel path runs
  auto p = sn::zeros({300000}, {.requires_grad = true});
  sn::manual_seed(3);
  const sn::Tensor g = sn::randn({300000});
  auto total_with = [&](int threads) {
    sn::set_num_threads(threads);
    p.set_grad(g.clone());
    return so::clip_grad_norm_({p}, 1.0);
  };
  const int saved = sn::get_num_threads();
  const double one = total_with(1), two = total_with(2);
  sn::set_num_threads(saved);
  EXPECT_EQ(one, two);
  double ref = 0;
  for (double v : g.to_vector()) ref += v * v;
  EXPECT_NEAR(one, std::sqrt(ref), 1e-9 * std::sqrt(ref));
}

TEST(ClipGradNorm, NonFiniteNorm) {
  auto a = sn::zeros({3}, {.requires_grad = true});
  a.set_grad(sn::tensor({1.0, INFINITY, 2.0}));
  EXPECT_THROW(so::clip_grad_norm_({a}, 1.0, 2.0, /*error_if_nonfinite=*/true), sn::ValueError);
  EXPECT_EQ(a.grad().at({0}), 1.0);  // unchanged after the error
  // Without the check PyTorch scales by max_norm / inf = 0, so inf·0 = NaN and the rest 0.
  EXPECT_TRUE(std::isinf(so::clip_grad_norm_({a}, 1.0)));
  EXPECT_EQ(a.grad().at({0}), 0.0);
  EXPECT_TRUE(std::isnan(a.grad().at({1})));
}

TEST(ClipGradNorm, BadArguments) {
  auto a = sn::zeros({3}, {.requires_grad = true});
  a.set_grad(sn::ones({3}));
  try {
    so::clip_grad_norm_({a}, -1.0);
    FAIL() << "expected ValueError";
  } catch (const sn::ValueError& e) {
    EXPECT_STREQ(e.what(), "clip_grad_norm_: max_norm must be >= 0 (got -1)");
  }
  EXPECT_THROW(so::clip_grad_norm_({a}, 1.0, 0.0), sn::ValueError);
  EXPECT_THROW(so::clip_grad_norm_({a}, 1.0, -2.0), sn::ValueError);
  EXPECT_THROW(so::clip_grad_norm_({sn::Tensor()}, 1.0), sn::ValueError);
}

TEST(ClipGradValue, ClampsEveryElement) {
  auto a = sn::zeros({4}, {.dtype = sn::kFloat64, .requires_grad = true});
  auto b = sn::zeros({2}, {.requires_grad = true});
  a.set_grad(sn::tensor({-3.0, -0.5, 0.25, 7.0}, {.dtype = sn::kFloat64}));
  so::clip_grad_value_({a, b}, 1.0);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{-1.0, -0.5, 0.25, 1.0}));
  EXPECT_FALSE(b.grad().defined());
  try {
    so::clip_grad_value_({a}, -0.1);
    FAIL() << "expected ValueError";
  } catch (const sn::ValueError& e) {
    EXPECT_STREQ(e.what(), "clip_grad_value_: clip_value must be >= 0 (got -0.1)");
  }
}

}  // namespace
