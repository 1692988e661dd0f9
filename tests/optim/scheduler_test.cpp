// LR schedulers against PyTorch 1.13.1 (20 epochs of SGD/Adam with the schedule: the lr and
// momentum of every group and the parameters after each epoch), plus the end of a OneCycle
// schedule, option errors, group-count changes and state_dict round trips.
#include "optim_test_util.h"
#include "test_util.h"

namespace {
using namespace optim_test;

std::unique_ptr<so::LRScheduler> make_scheduler(const std::string& kind, const json& o,
                                                so::Optimizer& opt) {
  if (kind == "StepLR")
    return std::make_unique<so::StepLR>(
        opt, so::StepLROptions{.step_size = o["step_size"], .gamma = opt_num(o, "gamma", 0.1)});
  if (kind == "MultiStepLR")
    return std::make_unique<so::MultiStepLR>(
        opt, so::MultiStepLROptions{.milestones = o["milestones"].get<std::vector<int64_t>>(),
                                    .gamma = opt_num(o, "gamma", 0.1)});
  if (kind == "ExponentialLR")
    return std::make_unique<so::ExponentialLR>(opt, so::ExponentialLROptions{.gamma = o["gamma"]});
  if (kind == "CosineAnnealingLR")
    return std::make_unique<so::CosineAnnealingLR>(
        opt,
        so::CosineAnnealingLROptions{.T_max = o["T_max"], .eta_min = opt_num(o, "eta_min", 0.0)});
  if (kind == "LinearWarmup") {
    so::LinearWarmupOptions d;
    return std::make_unique<so::LinearWarmup>(
        opt, so::LinearWarmupOptions{.start_factor = opt_num(o, "start_factor", d.start_factor),
                                     .end_factor = opt_num(o, "end_factor", d.end_factor),
                                     .total_iters = o.value("total_iters", d.total_iters)});
  }
  if (kind == "OneCycleLR") {
    so::OneCycleLROptions d;
    return std::make_unique<so::OneCycleLR>(
        opt,
        so::OneCycleLROptions{
            .max_lr = o["max_lr"],
            .total_steps = o.value("total_steps", d.total_steps),
            .epochs = o.value("epochs", d.epochs),
            .steps_per_epoch = o.value("steps_per_epoch", d.steps_per_epoch),
            .pct_start = opt_num(o, "pct_start", d.pct_start),
            .anneal = o.value("anneal", "cos") == "linear" ? so::Anneal::Linear : so::Anneal::Cos,
            .cycle_momentum = opt_bool(o, "cycle_momentum", d.cycle_momentum),
            .base_momentum = opt_num(o, "base_momentum", d.base_momentum),
            .max_momentum = opt_num(o, "max_momentum", d.max_momentum),
            .div_factor = opt_num(o, "div_factor", d.div_factor),
            .final_div_factor = opt_num(o, "final_div_factor", d.final_div_factor),
            .three_phase = opt_bool(o, "three_phase", d.three_phase)});
  }
  ADD_FAILURE() << "unknown scheduler " << kind;
  return nullptr;
}

so::ReduceLROnPlateauOptions plateau_options(const json& o) {
  so::ReduceLROnPlateauOptions p;
  p.mode = o["mode"] == "max" ? so::PlateauMode::Max : so::PlateauMode::Min;
  p.factor = o["factor"];
  p.patience = o["patience"];
  p.threshold = o["threshold"];
  p.threshold_mode = o["threshold_mode"] == "abs" ? so::ThresholdMode::Abs : so::ThresholdMode::Rel;
  p.cooldown = o.value("cooldown", int64_t{0});
  if (o["min_lr"].is_array())
    p.min_lrs = o["min_lr"].get<std::vector<double>>();
  else
    p.min_lr = o["min_lr"];
  return p;
}

std::vector<double> momenta(const so::Optimizer& opt) {
  std::vector<double> m;
  for (size_t g = 0; g < opt.num_param_groups(); ++g)
    m.push_back(opt.has_option("beta1") ? opt.option(g, "beta1") : opt.option(g, "momentum"));
  return m;
}

std::vector<double> lrs(const so::Optimizer& opt) {
  std::vector<double> v;
  for (size_t g = 0; g < opt.num_param_groups(); ++g) v.push_back(opt.lr(g));
  return v;
}

TEST(SchedulerGolden, EveryScheduleMatchesPyTorch) {
  const json& cases = golden()["schedulers"];
  ASSERT_GE(cases.size(), 12u);
  const int steps = golden()["steps"];
  for (const json& c : cases) {
    const std::string name = c["name"], kind = c["scheduler"];
    SCOPED_TRACE(name);
    Regression p(sn::kFloat64);
    auto opt = make_optimizer(c["optimizer"], c["groups"], p.W, p.b);
    ASSERT_TRUE(opt);
    std::unique_ptr<so::LRScheduler> sched;
    std::unique_ptr<so::ReduceLROnPlateau> plateau;
    if (kind == "ReduceLROnPlateau")
      plateau = std::make_unique<so::ReduceLROnPlateau>(*opt, plateau_options(c["options"]));
    else
      sched = make_scheduler(kind, c["options"], *opt);
    ASSERT_TRUE(sched || plateau);
    expect_close(lrs(*opt), c["lr0"], 1e-12, 0, "lr after construction");
    expect_close(momenta(*opt), c["momentum0"], 1e-12, 0, "momentum after construction");
    for (int e = 0; e < steps; ++e) {
      opt->zero_grad();
      p.loss().backward();
      opt->step();
      if (plateau)
        plateau->step(c["metrics"][e].get<double>());
      else
        sched->step();
      const std::string at = name + " epoch " + std::to_string(e);
      const std::vector<double> last = plateau ? plateau->last_lr() : sched->last_lr();
      expect_close(last, c["lr"][e], 1e-12, 1e-15, at + " last_lr");
      expect_close(lrs(*opt), c["lr"][e], 1e-12, 1e-15, at + " optimizer lr");
      expect_close(momenta(*opt), c["momentum"][e], 1e-12, 1e-15, at + " momentum");
      expect_close(values(p.W), c["W"][e], 1e-9, 1e-12, at + " W");
      expect_close(values(p.b), c["b"][e], 1e-9, 1e-12, at + " b");
      if (::testing::Test::HasFailure()) return;
    }
    if (sched) {
      EXPECT_EQ(sched->last_epoch(), steps);
    }
  }
}

sn::Tensor param() { return sn::zeros({2}, {.requires_grad = true}); }

TEST(OneCycleLR, StopsAtZeroPastTheEndAndRefusesToOvershoot) {
  auto w = param();
  so::Adam opt({w}, {.lr = 0.01});
  so::OneCycleLR sched(opt, {.max_lr = 0.1,
                             .total_steps = 20,
                             .pct_start = 0.25,
                             .anneal = so::Anneal::Linear,
                             .three_phase = true});
  for (int i = 0; i < 19; ++i) sched.step();
  EXPECT_NEAR(opt.lr(), 0.1 / 25 / 1e4, 1e-15);  // the final lr: initial / final_div_factor
  sched.step();  // PyTorch extrapolates to a negative lr here; sinapsis stops at 0
  EXPECT_EQ(opt.lr(), 0.0);
  try {
    sched.step();
    FAIL() << "expected ValueError";
  } catch (const sn::ValueError& e) {
    EXPECT_STREQ(e.what(),
                 "OneCycleLR: step() called 21 times, but total_steps is 20; hint: total_steps "
                 "must count every batch of every epoch");
  }
  EXPECT_EQ(sched.last_epoch(), 20);  // a failed step changes nothing
}

TEST(OneCycleLR, MomentumNeedsAnOptimizerWithMomentum) {
  auto w = param();
  so::Adagrad opt({w});
  try {
    so::OneCycleLR sched(opt, {.max_lr = 0.1, .total_steps = 10});
    FAIL() << "expected ValueError";
  } catch (const sn::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Adagrad has neither"), std::string::npos) << e.what();
  }
  so::OneCycleLR sched(opt, {.max_lr = 0.1, .total_steps = 10, .cycle_momentum = false});
  EXPECT_NEAR(opt.lr(), 0.1 / 25, 1e-15);
}

TEST(Schedulers, BadOptionsAreRejected) {
  auto w = param();
  so::SGD opt({w}, {.lr = 0.1});
  auto message = [](auto&& make) { return sn::test::error_of<sn::ValueError>(make); };
  EXPECT_EQ(message([&] { so::StepLR s(opt, {}); }), "StepLR: step_size must be >= 1 (got 0)");
  EXPECT_EQ(message([&] { so::StepLR s(opt, {.step_size = 2, .gamma = -1}); }),
            "StepLR: gamma must be >= 0 (got -1)");
  EXPECT_EQ(message([&] {
              so::MultiStepLR s(opt, {.milestones = {3, 0}});
            }),
            "MultiStepLR: milestones must be >= 1 (got 0)");
  EXPECT_NE(message([&] { so::MultiStepLR s(opt, {}); }).find("milestones are empty"),
            std::string::npos);
  EXPECT_EQ(message([&] { so::ExponentialLR s(opt, {}); }),
            "ExponentialLR: gamma must be > 0 (got 0); hint: set it, e.g. {.gamma = 0.95}");
  EXPECT_EQ(message([&] { so::CosineAnnealingLR s(opt, {.T_max = 0}); }),
            "CosineAnnealingLR: T_max must be >= 1 (got 0)");
  EXPECT_EQ(message([&] { so::LinearWarmup s(opt, {.start_factor = 0}); }),
            "LinearWarmup: start_factor must be in (0, 1] (got 0)");
  EXPECT_EQ(message([&] { so::LinearWarmup s(opt, {.end_factor = 1.5}); }),
            "LinearWarmup: end_factor must be in [0, 1] (got 1.5)");
  EXPECT_NE(message([&] {
              so::OneCycleLR s(opt, {.max_lr = 0.1});
            }).find("give total_steps, or epochs and steps_per_epoch"),
            std::string::npos);
  EXPECT_EQ(
      message([&] { so::OneCycleLR s(opt, {.max_lr = 0.1, .total_steps = 5, .pct_start = 2}); }),
      "OneCycleLR: pct_start must be in [0, 1] (got 2)");
  EXPECT_EQ(message([&] { so::ReduceLROnPlateau s(opt, {.factor = 1.0}); }),
            "ReduceLROnPlateau: factor must be in [0, 1) (got 1)");
  EXPECT_EQ(message([&] {
              so::ReduceLROnPlateau s(opt, {.min_lrs = {0.1, 0.2}});
            }),
            "ReduceLROnPlateau: expected 1 min_lrs (one per parameter group), got 2");
  EXPECT_EQ(opt.lr(), 0.1);  // none of the failed constructions touched the optimizer
}

TEST(Schedulers, RefuseToRunAfterTheGroupsChanged) {
  auto w = param(), v = param();
  so::SGD opt({w}, {.lr = 0.1});
  so::StepLR sched(opt, {.step_size = 1});
  opt.add_param_group({v}, {.lr = 0.2});
  EXPECT_THROW(sched.step(), sn::ValueError);
}

TEST(Schedulers, LinearLRIsLinearWarmup) {
  auto w = param();
  so::SGD opt({w}, {.lr = 1.0});
  so::LinearLR sched(opt, {.start_factor = 0.5, .total_iters = 2});
  EXPECT_DOUBLE_EQ(opt.lr(), 0.5);
  sched.step();
  EXPECT_DOUBLE_EQ(opt.lr(), 0.75);
  sched.step();
  sched.step();
  EXPECT_DOUBLE_EQ(opt.lr(), 1.0);
}

// Train `epochs` epochs of the regression problem with SGD momentum + cosine schedule.
void train(Regression& p, so::Optimizer& opt, so::LRScheduler& sched, int epochs) {
  for (int e = 0; e < epochs; ++e) {
    opt.zero_grad();
    p.loss().backward();
    opt.step();
    sched.step();
  }
}

TEST(Schedulers, StateDictResumesTheSchedule) {
  Regression a(sn::kFloat64);
  so::SGD opt_a({a.W, a.b}, {.lr = 0.1, .momentum = 0.9});
  so::CosineAnnealingLR sched_a(opt_a, {.T_max = 5, .eta_min = 0.01});
  train(a, opt_a, sched_a, 7);

  // A fresh run resumed from the saved optimizer and scheduler states.
  Regression b(sn::kFloat64);
  {
    sn::NoGradGuard ng;
    b.W.copy_(a.W);
    b.b.copy_(a.b);
  }
  so::SGD opt_b({b.W, b.b}, {.lr = 0.1, .momentum = 0.9});
  so::CosineAnnealingLR sched_b(opt_b, {.T_max = 5, .eta_min = 0.01});
  opt_b.load_state_dict(opt_a.state_dict());
  sched_b.load_state_dict(sched_a.state_dict());
  EXPECT_EQ(sched_b.last_epoch(), 7);
  EXPECT_EQ(opt_b.lr(), opt_a.lr());

  train(a, opt_a, sched_a, 6);
  train(b, opt_b, sched_b, 6);
  EXPECT_EQ(sched_b.last_lr(), sched_a.last_lr());
  EXPECT_TRUE(same_values(a.W, b.W));
  EXPECT_TRUE(same_values(a.b, b.b));

  auto bad = sched_a.state_dict();
  bad["last_epoch"] = 2.5;
  EXPECT_THROW(sched_b.load_state_dict(bad), sn::ValueError);
  bad = sched_a.state_dict();
  bad["surprise"] = 1;
  EXPECT_THROW(sched_b.load_state_dict(bad), sn::ValueError);
  bad = sched_a.state_dict();
  bad.erase("base_lr.0");
  EXPECT_THROW(sched_b.load_state_dict(bad), sn::ValueError);
}

TEST(ReduceLROnPlateau, StateDictResumesCounters) {
  auto w = param();
  so::SGD opt({w}, {.lr = 1.0});
  so::ReduceLROnPlateau a(opt, {.factor = 0.5, .patience = 1, .cooldown = 2});
  EXPECT_EQ(a.state_dict().count("best"), 0u);  // ±inf is not stored
  for (double m : {3.0, 3.0, 3.0}) a.step(m);
  EXPECT_EQ(opt.lr(), 0.5);
  EXPECT_TRUE(a.in_cooldown());

  auto w2 = param();
  so::SGD opt2({w2}, {.lr = 0.5});
  so::ReduceLROnPlateau b(opt2, {.factor = 0.5, .patience = 1, .cooldown = 2});
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.best(), 3.0);
  EXPECT_TRUE(b.in_cooldown());
  for (double m : {3.0, 3.0, 3.0, 3.0}) {
    a.step(m);
    b.step(m);
    EXPECT_EQ(opt.lr(), opt2.lr());
    EXPECT_EQ(a.num_bad_epochs(), b.num_bad_epochs());
  }
  EXPECT_EQ(opt.lr(), 0.25);
  auto bad = a.state_dict();
  bad["num_bad_epochs"] = -1;
  EXPECT_THROW(b.load_state_dict(bad), sn::ValueError);
}

TEST(ReduceLROnPlateau, NaNMetricCountsAsNoImprovement) {
  auto w = param();
  so::SGD opt({w}, {.lr = 1.0});
  so::ReduceLROnPlateau s(opt, {.factor = 0.1, .patience = 0});
  s.step(1.0);
  s.step(NAN);
  EXPECT_NEAR(opt.lr(), 0.1, 1e-12);
  EXPECT_EQ(s.best(), 1.0);
}

}  // namespace
