// Optimizer state_dict: the documented keys, a round trip that continues a trajectory bit for
// bit (every optimizer, options restored too), copies not aliases, dtype conversion, and
// refusal of hostile states (wrong type, counts, shapes, keys, values) with nothing changed.
#include "optim_test_util.h"

namespace {
using namespace optim_test;

struct Variant {
  const char* kind;
  json options;
};

const std::vector<Variant>& variants() {
  static const std::vector<Variant> v = {
      {"SGD", {{"lr", 0.02}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 0.01}}},
      {"Adam", {{"lr", 0.05}, {"amsgrad", true}}},
      {"AdamW", {{"lr", 0.05}, {"weight_decay", 0.1}}},
      {"Adagrad", {{"lr", 0.1}, {"lr_decay", 0.01}, {"initial_accumulator_value", 0.2}}},
      {"Adadelta", {{"lr", 1.0}, {"rho", 0.8}}},
      {"RMSprop", {{"lr", 0.01}, {"momentum", 0.5}, {"centered", true}}},
  };
  return v;
}

json one_group(const json& options) {
  return json::array({{{"params", {"W", "b"}}, {"options", options}}});
}

void run(Regression& p, so::Optimizer& opt, int steps) {
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    p.loss().backward();
    opt.step();
  }
}

void copy_params(const Regression& from, Regression& to) {
  sn::NoGradGuard ng;
  to.W.copy_(from.W);
  to.b.copy_(from.b);
}

TEST(OptimizerStateDict, RoundTripContinuesEveryOptimizerIdentically) {
  for (const auto& v : variants()) {
    SCOPED_TRACE(v.kind);
    Regression a(sn::kFloat64), b(sn::kFloat64);
    auto opt_a = make_optimizer(v.kind, one_group(v.options), a.W, a.b);
    run(a, *opt_a, 5);
    const so::OptimizerState state = opt_a->state_dict();
    EXPECT_EQ(state.optimizer, v.kind);
    EXPECT_EQ(state.scalars.at("groups"), 1);
    EXPECT_EQ(state.scalars.at("group.0.params"), 2);
    EXPECT_EQ(state.scalars.at("group.0.lr"), v.options["lr"].get<double>());
    EXPECT_EQ(state.scalars.at("state.1.step"), 5);

    copy_params(a, b);
    // built with default options: the state brings the real ones back
    auto opt_b = make_optimizer(v.kind, one_group(json::object()), b.W, b.b);
    opt_b->load_state_dict(state);
    for (const auto& name : opt_a->option_names())
      EXPECT_EQ(opt_b->option(0, name), opt_a->option(0, name)) << name;

    run(a, *opt_a, 5);
    run(b, *opt_b, 5);
    EXPECT_TRUE(same_values(a.W, b.W));
    EXPECT_TRUE(same_values(a.b, b.b));
  }
}

TEST(OptimizerStateDict, NamesTheBuffersLikePyTorch) {
  Regression p(sn::kFloat64);
  so::Adam opt({p.W, p.b}, {.lr = 0.1, .amsgrad = true});
  run(p, opt, 2);
  const auto s = opt.state_dict();
  for (const char* key : {"state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                          "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq"})
    EXPECT_TRUE(s.tensors.count(key)) << key;
  EXPECT_EQ(s.tensors.size(), 6u);
  EXPECT_EQ(s.tensors.at("state.0.exp_avg").shape(), p.W.shape());
  for (const char* key : {"group.0.beta1", "group.0.beta2", "group.0.eps", "group.0.amsgrad"})
    EXPECT_TRUE(s.scalars.count(key)) << key;
  EXPECT_EQ(s.scalars.at("group.0.amsgrad"), 1.0);

  // a parameter that never had a gradient has no state at all
  auto unused = sn::zeros({5}, {.requires_grad = true});
  so::SGD sgd({p.W, unused}, {.lr = 0.1, .momentum = 0.9});
  run(p, sgd, 1);
  const auto t = sgd.state_dict();
  EXPECT_TRUE(t.tensors.count("state.0.momentum_buffer"));
  EXPECT_FALSE(t.tensors.count("state.1.momentum_buffer"));
  EXPECT_FALSE(t.scalars.count("state.1.step"));
}

TEST(OptimizerStateDict, HoldsCopiesNotTheLiveBuffers) {
  Regression p(sn::kFloat64);
  so::SGD opt({p.W, p.b}, {.lr = 0.1, .momentum = 0.9});
  run(p, opt, 1);
  const auto s = opt.state_dict();
  const auto before = s.tensors.at("state.0.momentum_buffer").to_vector();
  run(p, opt, 1);
  EXPECT_EQ(s.tensors.at("state.0.momentum_buffer").to_vector(), before);
  EXPECT_NE(opt.state_dict().tensors.at("state.0.momentum_buffer").to_vector(), before);
}

TEST(OptimizerStateDict, ConvertsBuffersToTheParameterDtype) {
  Regression a(sn::kFloat32), b(sn::kFloat64);
  so::Adam opt_a({a.W, a.b}, {.lr = 0.1});
  run(a, opt_a, 2);
  so::Adam opt_b({b.W, b.b});
  opt_b.load_state_dict(opt_a.state_dict());
  const auto s = opt_b.state_dict();
  EXPECT_EQ(s.tensors.at("state.0.exp_avg").dtype(), sn::kFloat64);
  EXPECT_TRUE(sn::allclose(s.tensors.at("state.0.exp_avg"),
                           opt_a.state_dict().tensors.at("state.0.exp_avg").to(sn::kFloat64)));
}

TEST(OptimizerStateDict, RefusesHostileStatesAndChangesNothing) {
  Regression a(sn::kFloat64), b(sn::kFloat64);
  so::Adam opt_a({a.W, a.b}, {.lr = 0.1});
  run(a, opt_a, 2);
  const so::OptimizerState good = opt_a.state_dict();
  so::Adam opt_b({b.W, b.b}, {.lr = 0.003});
  run(b, opt_b, 1);
  const so::OptimizerState original = opt_b.state_dict();

  auto expect_refused = [&](so::OptimizerState s, const char* what) {
    SCOPED_TRACE(what);
    EXPECT_THROW(opt_b.load_state_dict(s), sn::Error);
    const auto now = opt_b.state_dict();
    EXPECT_EQ(now.scalars, original.scalars);
    ASSERT_EQ(now.tensors.size(), original.tensors.size());
    for (const auto& [k, t] : original.tensors) EXPECT_TRUE(same_values(now.tensors.at(k), t)) << k;
  };
  so::OptimizerState s = good;
  s.optimizer = "SGD";
  expect_refused(s, "wrong optimizer");
  try {
    opt_b.load_state_dict(s);
  } catch (const sn::ValueError& e) {
    EXPECT_STREQ(e.what(), "Adam: load_state_dict: the state was written by 'SGD', not by Adam");
  }
  s = good;
  s.scalars["groups"] = 2;
  expect_refused(s, "group count");
  s = good;
  s.scalars["group.0.params"] = 3;
  expect_refused(s, "group size");
  s = good;
  s.tensors["state.0.exp_avg"] = sn::zeros({4, 3}, {.dtype = sn::kFloat64});
  expect_refused(s, "buffer shape");
  EXPECT_THROW(opt_b.load_state_dict(s), sn::ShapeError);
  s = good;
  s.tensors["state.2.exp_avg"] = sn::zeros({3}, {.dtype = sn::kFloat64});
  expect_refused(s, "parameter index out of range");
  s = good;
  s.tensors["state.0.momentum_buffer"] = sn::zeros({3, 4}, {.dtype = sn::kFloat64});
  expect_refused(s, "unknown buffer");
  s = good;
  s.tensors["state.x.exp_avg"] = sn::zeros({3, 4}, {.dtype = sn::kFloat64});
  expect_refused(s, "malformed index");
  s = good;
  s.scalars["group.0.momentum"] = 0.9;
  expect_refused(s, "unknown option");
  s = good;
  s.scalars.erase("group.0.eps");
  expect_refused(s, "missing option");
  s = good;
  s.scalars["group.0.lr"] = NAN;
  expect_refused(s, "non-finite option");
  s = good;
  s.scalars["group.0.beta1"] = 1.5;
  expect_refused(s, "invalid option value");
  s = good;
  s.scalars["state.0.step"] = -3;
  expect_refused(s, "negative step");
  s = good;
  s.scalars["mystery"] = 1;
  expect_refused(s, "stray key");
  s = good;
  s.tensors["state.0.exp_avg"] = sn::Tensor();
  expect_refused(s, "undefined tensor");
}

}  // namespace
