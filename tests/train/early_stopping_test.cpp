// EarlyStopping on crafted validation curves: the validation loss is scripted per epoch (the
// loss function returns curve[epoch] when called without grad), so the stopping epoch is known
// in advance. Also restore_best_weights, min_delta, mode max and resumed counting.
#include <gtest/gtest.h>

#include "train/train_test_util.h"

namespace sn::train {
namespace {

using testing::separable_2d;

// Trains for real (so weights change every epoch) but reports curve[epoch] as validation loss.
struct Scripted {
  std::vector<double> curve;
  std::shared_ptr<int64_t> epoch = std::make_shared<int64_t>(0);
  LossFn loss() const {
    auto c = curve;
    auto e = epoch;
    return [c, e](const Tensor& out, const Tensor& y) {
      if (autograd::grad_enabled()) return loss::cross_entropy(out, y);
      return tensor(c.at(static_cast<size_t>(*e)), {.dtype = kFloat64});
    };
  }
  CallbackPtr tracker() const {
    auto e = epoch;
    return std::make_shared<LambdaCallback>(
        LambdaHooks{.on_epoch_begin = [e](TrainState& s) { *e = s.epoch; }});
  }
};

struct Rig {
  data::DataLoader train{separable_2d(16, 21), {.batch_size = 4, .shuffle = true}};
  data::DataLoader val{separable_2d(4, 22), {.batch_size = 4}};
  nn::Sequential model{nn::Linear(2, 2)};
  optim::SGD opt{model.parameters(), {.lr = 0.2}};
};

TEST(EarlyStopping, StopsAtTheRightEpochAndRestoresBestWeights) {
  manual_seed(30);
  Rig st;
  Scripted sc{{1.0, 0.8, 0.5, 0.6, 0.55, 0.7, 0.4, 0.3}};
  std::vector<double> at_best;  // the weights at the end of epoch 2, the best one
  auto snap = std::make_shared<LambdaCallback>(LambdaHooks{.on_epoch_end = [&](TrainState& s) {
    if (s.epoch == 2) at_best = testing::flat_params(*s.model);
  }});
  auto es = std::make_shared<EarlyStopping>(
      EarlyStoppingOptions{.patience = 3, .restore_best_weights = true});
  History h = fit(
      st.model, sc.loss(), st.opt, st.train,
      {.epochs = 8, .validation = &st.val, .callbacks = {sc.tracker(), snap, es}, .verbose = 0});
  ASSERT_EQ(h.size(), 6u);  // epochs 3, 4, 5 without improvement over epoch 2
  EXPECT_EQ(h.series("val_loss"), (std::vector<double>{1.0, 0.8, 0.5, 0.6, 0.55, 0.7}));
  EXPECT_TRUE(h.stopped_early);
  EXPECT_EQ(h.stop_reason,
            "EarlyStopping: val_loss did not improve for 3 epochs (best 0.5000 at epoch 3)");
  EXPECT_EQ(es->best_epoch(), 2);
  EXPECT_EQ(es->stopped_epoch(), 5);
  EXPECT_DOUBLE_EQ(es->best_value(), 0.5);
  EXPECT_EQ(h.best_epoch, 2);
  EXPECT_TRUE(es->restored());
  ASSERT_FALSE(at_best.empty());
  EXPECT_EQ(testing::flat_params(st.model), at_best);
}

TEST(EarlyStopping, WithoutRestoreKeepsTheLastWeights) {
  manual_seed(31);
  Rig st;
  Scripted sc{{1.0, 0.5, 0.9}};
  std::vector<double> at_best;
  auto snap = std::make_shared<LambdaCallback>(LambdaHooks{.on_epoch_end = [&](TrainState& s) {
    if (s.epoch == 1) at_best = testing::flat_params(*s.model);
  }});
  auto es = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 1});
  History h = fit(
      st.model, sc.loss(), st.opt, st.train,
      {.epochs = 3, .validation = &st.val, .callbacks = {sc.tracker(), snap, es}, .verbose = 0});
  EXPECT_EQ(h.size(), 3u);
  EXPECT_TRUE(h.stopped_early);  // patience 1: stopped at the first bad epoch, the last one
  EXPECT_FALSE(es->restored());
  EXPECT_NE(testing::flat_params(st.model), at_best);
}

TEST(EarlyStopping, MinDeltaAndModeMax) {
  {
    manual_seed(32);
    Rig st;
    Scripted sc{{1.0, 0.95, 0.92, 0.5}};  // improvements smaller than 0.1 do not count
    auto es =
        std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 2, .min_delta = 0.1});
    History h =
        fit(st.model, sc.loss(), st.opt, st.train,
            {.epochs = 4, .validation = &st.val, .callbacks = {sc.tracker(), es}, .verbose = 0});
    EXPECT_EQ(h.size(), 3u);
    EXPECT_EQ(es->best_epoch(), 0);
  }
  {
    manual_seed(33);
    Rig st;
    Scripted sc{{0.1, 0.3, 0.2, 0.25, 0.9}};
    auto es =
        std::make_shared<EarlyStopping>(EarlyStoppingOptions{.mode = Mode::Max, .patience = 2});
    History h =
        fit(st.model, sc.loss(), st.opt, st.train,
            {.epochs = 5, .validation = &st.val, .callbacks = {sc.tracker(), es}, .verbose = 0});
    EXPECT_EQ(h.size(), 4u);
    EXPECT_EQ(es->best_epoch(), 1);
  }
}

TEST(EarlyStopping, ResumedRunContinuesTheCount) {
  manual_seed(34);
  Rig st;
  Scripted sc{{1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}};
  History first =
      fit(st.model, sc.loss(), st.opt, st.train,
          {.epochs = 3, .validation = &st.val, .callbacks = {sc.tracker()}, .verbose = 0});
  ASSERT_EQ(first.size(), 3u);
  auto es = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 3});
  History h = fit(st.model, sc.loss(), st.opt, st.train,
                  {.epochs = 7,
                   .validation = &st.val,
                   .callbacks = {sc.tracker(), es},
                   .initial_epoch = 3,
                   .initial_history = first,
                   .verbose = 0});
  // epoch 2 was the first bad one, so epochs 3 and 4 complete the patience of 3
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(es->best_epoch(), 1);
  EXPECT_EQ(es->stopped_epoch(), 4);
  EXPECT_EQ(h.epochs[0].loss, first.epochs[0].loss);
}

TEST(EarlyStopping, MissingMonitorIsAClearError) {
  manual_seed(35);
  Rig st;
  auto es = std::make_shared<EarlyStopping>();
  try {
    fit(st.model, testing::cross_entropy_loss, st.opt, st.train,
        {.epochs = 2, .callbacks = {es}, .verbose = 0});
    FAIL();
  } catch (const ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("EarlyStopping: the monitored quantity 'val_loss' is not in the logs"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("hint: give fit a validation loader"), std::string::npos) << m;
  }
  EXPECT_THROW(EarlyStopping({.patience = -1}), ValueError);
}

}  // namespace
}  // namespace sn::train
