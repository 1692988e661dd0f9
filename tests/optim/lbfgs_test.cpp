// LBFGS against PyTorch 1.13.1 (fixed step and strong-Wolfe line search, on the regression
// problem and on Rosenbrock: parameters, returned loss, iteration and evaluation counts after
// every step), convergence to Rosenbrock's optimum, the closure contract and state round trip.
#include "optim_test_util.h"

namespace {
using namespace optim_test;

so::LBFGSOptions lbfgs_options(const json& o) {
  so::LBFGSOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .max_iter = o.value("max_iter", d.max_iter),
          .max_eval = o.value("max_eval", d.max_eval),
          .tolerance_grad = opt_num(o, "tolerance_grad", d.tolerance_grad),
          .tolerance_change = opt_num(o, "tolerance_change", d.tolerance_change),
          .history_size = o.value("history_size", d.history_size),
          .line_search = o.value("line_search", "none") == "strong_wolfe"
                             ? so::LineSearch::StrongWolfe
                             : so::LineSearch::None};
}

// f(x) = (1 − x₀)² + 100·(x₁ − x₀²)², minimum 0 at (1, 1)
sn::Tensor rosenbrock(const sn::Tensor& x) {
  sn::Tensor a = 1.0 - x[0];
  sn::Tensor b = x[1] - x[0] * x[0];
  return a * a + 100.0 * b * b;
}

TEST(LBFGSGolden, TrajectoriesMatchPyTorch) {
  const json& cases = golden()["lbfgs"];
  ASSERT_GE(cases.size(), 4u);
  for (const json& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    Regression reg(sn::kFloat64);
    auto x = sn::tensor({-1.5, 2.0}, {.dtype = sn::kFloat64, .requires_grad = true});
    const bool rosen = c["problem"] == "rosenbrock";
    std::vector<sn::Tensor> params =
        rosen ? std::vector<sn::Tensor>{x} : std::vector<sn::Tensor>{reg.W, reg.b};
    so::LBFGS opt(params, lbfgs_options(c["options"]));
    auto closure = [&] {
      opt.zero_grad();
      sn::Tensor loss = rosen ? rosenbrock(x) : reg.loss();
      loss.backward();
      return loss;
    };
    for (size_t s = 0; s < c["loss"].size(); ++s) {
      const double loss = opt.step(closure).item();
      std::vector<double> flat;
      for (const auto& p : params)
        for (double v : p.to_vector()) flat.push_back(v);
      const std::string at = name + " step " + std::to_string(s);
      // f64 runs agree to ~1e-9 here; the contract is 1e-5 relative
      expect_close({loss}, json::array({c["loss"][s]}), 1e-6, 1e-12, at + " loss");
      expect_close(flat, c["x"][s], 1e-6, 1e-9, at + " params");
      EXPECT_EQ(opt.n_iter(), c["n_iter"][s].get<int64_t>()) << at;
      EXPECT_EQ(opt.func_evals(), c["func_evals"][s].get<int64_t>()) << at;
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(LBFGS, MinimisesRosenbrockToTheOptimum) {
  for (auto start : {std::pair{-1.5, 2.0}, std::pair{-1.2, 1.0}, std::pair{2.0, -1.0}}) {
    SCOPED_TRACE(testing::Message() << "start " << start.first << ", " << start.second);
    auto x =
        sn::tensor({start.first, start.second}, {.dtype = sn::kFloat64, .requires_grad = true});
    so::LBFGS opt({x}, {.max_iter = 500,
                        .tolerance_grad = 1e-12,
                        .tolerance_change = 1e-15,
                        .line_search = so::LineSearch::StrongWolfe});
    opt.step([&] {
      opt.zero_grad();
      auto loss = rosenbrock(x);
      loss.backward();
      return loss;
    });
    EXPECT_NEAR(x.at({0}), 1.0, 1e-6);
    EXPECT_NEAR(x.at({1}), 1.0, 1e-6);
    EXPECT_LT(rosenbrock(x).item(), 1e-12);
    EXPECT_LT(opt.n_iter(), 200);  // quasi-Newton speed, not gradient-descent speed
  }
}

TEST(LBFGS, StopsAtOnceWhenAlreadyOptimal) {
  auto x = sn::tensor({1.0, 1.0}, {.dtype = sn::kFloat64, .requires_grad = true});
  so::LBFGS opt({x});
  const double loss = opt.step([&] {
                           opt.zero_grad();
                           auto l = rosenbrock(x);
                           l.backward();
                           return l;
                         })
                          .item();
  EXPECT_EQ(loss, 0.0);
  EXPECT_EQ(opt.func_evals(), 1);
  EXPECT_EQ(opt.n_iter(), 0);
  EXPECT_EQ(x.to_vector(), (std::vector<double>{1.0, 1.0}));
}

TEST(LBFGS, NeedsAClosureReturningAScalar) {
  auto x = sn::zeros({2}, {.requires_grad = true});
  so::LBFGS opt({x});
  try {
    opt.step();
    FAIL() << "expected ValueError";
  } catch (const sn::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("LBFGS: step() needs a closure"), std::string::npos);
  }
  EXPECT_THROW(opt.step([&] { return sn::ones({3}); }), sn::ValueError);
  EXPECT_THROW(opt.step([&] { return sn::Tensor(); }), sn::ValueError);
}

TEST(LBFGS, RejectsBadOptionsAndMixedDtypes) {
  auto x = sn::zeros({2}, {.requires_grad = true});
  auto y = sn::zeros({2}, {.dtype = sn::kFloat64, .requires_grad = true});
  EXPECT_THROW(so::LBFGS({x}, {.max_iter = 0}), sn::ValueError);
  EXPECT_THROW(so::LBFGS({x}, {.history_size = 0}), sn::ValueError);
  EXPECT_THROW(so::LBFGS({x}, {.lr = -1}), sn::ValueError);
  EXPECT_THROW(so::LBFGS({x}, {.max_eval = 0}), sn::ValueError);
  try {
    so::LBFGS opt({x, y});
    FAIL() << "expected DTypeError";
  } catch (const sn::DTypeError& e) {
    EXPECT_STREQ(e.what(),
                 "LBFGS: all parameters must share one dtype (parameter 0 is float32, "
                 "parameter 1 is float64)");
  }
  so::LBFGS opt({x});
  EXPECT_THROW(opt.set_option(0, "line_search", 2), sn::ValueError);
  opt.set_option(0, "line_search", 1);
  EXPECT_EQ(opt.options().line_search, so::LineSearch::StrongWolfe);
}

TEST(LBFGS, StateDictContinuesTheTrajectoryIdentically) {
  for (auto ls : {so::LineSearch::None, so::LineSearch::StrongWolfe}) {
    SCOPED_TRACE(static_cast<int>(ls));
    Regression a(sn::kFloat64), b(sn::kFloat64);
    const so::LBFGSOptions options{.lr = 0.5, .max_iter = 3, .history_size = 2, .line_search = ls};
    so::LBFGS opt_a({a.W, a.b}, options);
    auto closure_for = [](so::LBFGS& opt, Regression& p) {
      return [&opt, &p] {
        opt.zero_grad();
        auto l = p.loss();
        l.backward();
        return l;
      };
    };
    for (int i = 0; i < 3; ++i) opt_a.step(closure_for(opt_a, a));
    const so::OptimizerState state = opt_a.state_dict();
    EXPECT_EQ(state.scalars.at("lbfgs.history"), 2);
    EXPECT_TRUE(state.tensors.count("lbfgs.old_dirs.1"));
    {
      sn::NoGradGuard ng;
      b.W.copy_(a.W);
      b.b.copy_(a.b);
    }
    so::LBFGS opt_b({b.W, b.b}, {.lr = 1.0});  // options come back from the state
    opt_b.load_state_dict(state);
    EXPECT_EQ(opt_b.options().lr, 0.5);
    EXPECT_EQ(opt_b.n_iter(), opt_a.n_iter());
    for (int i = 0; i < 3; ++i) {
      opt_a.step(closure_for(opt_a, a));
      opt_b.step(closure_for(opt_b, b));
    }
    EXPECT_TRUE(same_values(a.W, b.W));
    EXPECT_TRUE(same_values(a.b, b.b));
    EXPECT_EQ(opt_b.func_evals(), opt_a.func_evals());

    // a history entry of the wrong length is refused, and nothing is changed
    so::OptimizerState bad = state;
    bad.tensors["lbfgs.d"] = sn::zeros({3}, {.dtype = sn::kFloat64});
    const int64_t before = opt_b.n_iter();
    EXPECT_THROW(opt_b.load_state_dict(bad), sn::ShapeError);
    EXPECT_EQ(opt_b.n_iter(), before);
    bad = state;
    bad.scalars["lbfgs.history"] = 5;  // more than history_size
    EXPECT_THROW(opt_b.load_state_dict(bad), sn::ValueError);
    bad = state;
    bad.tensors["lbfgs.old_dirs.7"] = sn::zeros({15}, {.dtype = sn::kFloat64});
    EXPECT_THROW(opt_b.load_state_dict(bad), sn::ValueError);
  }
}

}  // namespace
