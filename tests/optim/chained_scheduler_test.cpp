// ChainedScheduler (a warm-up in front of another schedule) and PlateauScheduler
// (ReduceLROnPlateau stepped as an LRScheduler): the rates against PyTorch 1.13.1's
// ChainedScheduler([StepLR, LinearLR]) and ReduceLROnPlateau (printed by torch, values below),
// state round trips and refusals.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

namespace {

namespace so = sn::optim;

std::vector<sn::Tensor> one_param() { return {sn::zeros({1}).requires_grad_(true)}; }

TEST(ChainedScheduler, WarmupThenStepMatchesPyTorch) {
  auto params = one_param();
  so::SGD opt(params, {.lr = 1.0});
  so::StepLR step(opt, {.step_size = 2, .gamma = 0.5});
  so::LinearWarmup warm(opt, {.start_factor = 0.1, .total_iters = 2});
  so::ChainedScheduler chain(opt, {&step, &warm});
  EXPECT_EQ(chain.name(), "ChainedScheduler(StepLR,LinearWarmup)");
  // torch: ChainedScheduler([StepLR(2, 0.5), LinearLR(0.1, total_iters=2)]) on lr 1.0
  const std::vector<double> want = {0.1, 0.55, 0.5, 0.5, 0.25, 0.25};
  for (size_t e = 0; e < want.size(); ++e) {
    EXPECT_NEAR(opt.lr(), want[e], 1e-12) << "epoch " << e;
    chain.step();
  }
  EXPECT_EQ(chain.last_epoch(), 6);
}

TEST(ChainedScheduler, StateRoundTripsAndRefusesAnotherChain) {
  auto params = one_param();
  so::SGD opt(params, {.lr = 1.0});
  so::StepLR step(opt, {.step_size = 2, .gamma = 0.5});
  so::LinearWarmup warm(opt, {.start_factor = 0.1, .total_iters = 2});
  so::ChainedScheduler chain(opt, {&step, &warm});
  for (int i = 0; i < 3; ++i) chain.step();
  const auto state = chain.state_dict();
  EXPECT_EQ(state.at("last_epoch"), 3);
  EXPECT_EQ(state.at("0.last_epoch"), 3);
  EXPECT_EQ(state.at("1.last_epoch"), 3);

  // a fresh chain resumes at epoch 3: the next rate is epoch 4's
  auto params2 = one_param();
  so::SGD opt2(params2, {.lr = 1.0});
  so::StepLR step2(opt2, {.step_size = 2, .gamma = 0.5});
  so::LinearWarmup warm2(opt2, {.start_factor = 0.1, .total_iters = 2});
  so::ChainedScheduler chain2(opt2, {&step2, &warm2});
  chain2.load_state_dict(state);
  opt2.set_lr(0, opt.lr());  // the optimizer's lr travels with the optimizer's own state
  chain2.step();
  chain.step();
  EXPECT_NEAR(opt2.lr(), opt.lr(), 1e-12);
  EXPECT_NEAR(opt2.lr(), 0.25, 1e-12);

  // a state with a key for a third scheduler is refused and changes nothing
  auto bad = state;
  bad["2.last_epoch"] = 1;
  const auto before = chain2.state_dict();
  EXPECT_THROW(chain2.load_state_dict(bad), sn::ValueError);
  EXPECT_EQ(chain2.state_dict(), before);
  // a part's bad entry: the parts loaded before it are put back
  bad = state;
  bad["1.last_epoch"] = -4;
  EXPECT_THROW(chain2.load_state_dict(bad), sn::ValueError);
  EXPECT_EQ(chain2.state_dict(), before);
}

TEST(ChainedScheduler, RefusesEmptyAndSteppedParts) {
  auto params = one_param();
  so::SGD opt(params, {.lr = 1.0});
  EXPECT_THROW(so::ChainedScheduler(opt, {}), sn::ValueError);
  so::StepLR step(opt, {.step_size = 2});
  step.step();
  try {
    so::ChainedScheduler c(opt, {&step});
    FAIL() << "a stepped part was accepted";
  } catch (const sn::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("StepLR has been stepped already"), std::string::npos)
        << e.what();
  }
}

TEST(PlateauScheduler, CutsAsReduceLROnPlateauAndKeepsItsCounters) {
  auto params = one_param();
  so::SGD opt(params, {.lr = 1.0});
  double metric = 0;
  so::PlateauScheduler s(opt, {.factor = 0.1, .patience = 1}, [&metric] { return metric; });
  EXPECT_EQ(opt.lr(), 1.0);  // epoch 0 changes nothing and reads no metric
  // torch ReduceLROnPlateau(factor=0.1, patience=1) stepped with these metrics
  const std::vector<double> metrics = {1.0, 0.5, 0.6, 0.7, 0.4, 0.45, 0.5};
  const std::vector<double> want = {1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01};
  for (size_t i = 0; i < metrics.size(); ++i) {
    metric = metrics[i];
    s.step();
    EXPECT_NEAR(opt.lr(), want[i], 1e-12) << "step " << i;
  }
  const auto state = s.state_dict();
  EXPECT_EQ(state.at("plateau.best"), 0.4);
  EXPECT_EQ(state.at("plateau.num_bad_epochs"), 0);  // reset by the cut

  auto params2 = one_param();
  so::SGD opt2(params2, {.lr = 0.01});
  so::PlateauScheduler s2(opt2, {.factor = 0.1, .patience = 1}, [&metric] { return metric; });
  s2.load_state_dict(state);
  EXPECT_EQ(s2.plateau().best(), 0.4);
  EXPECT_EQ(s2.last_epoch(), s.last_epoch());
  auto bad = state;
  bad["plateau.unknown"] = 1;
  EXPECT_THROW(s2.load_state_dict(bad), sn::ValueError);
  EXPECT_EQ(s2.state_dict(), state);
  EXPECT_THROW(so::PlateauScheduler(opt2, {}, nullptr), sn::ValueError);
}

}  // namespace
