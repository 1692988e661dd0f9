// fit / evaluate / predict: a linear model learns separable data; callbacks run in the
// documented order; validation (loader or split), metrics, LR scheduling, modes and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "train/train_test_util.h"

namespace sn::train {
namespace {

using testing::cross_entropy_loss;
using testing::separable_2d;

TEST(Fit, LearnsLinearlySeparableData) {
  manual_seed(0);
  auto ds = separable_2d(200, 11);
  data::DataLoader loader(ds, {.batch_size = 16, .shuffle = true});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.5});
  History h = fit(model, cross_entropy_loss, opt, loader,
                  {.epochs = 15, .metrics = {std::make_shared<Accuracy>()}, .verbose = 0});
  ASSERT_EQ(h.size(), 15u);
  EXPECT_LT(h.back().loss, h.epochs[0].loss);
  EXPECT_GT(h.back().metrics.at("accuracy"), 0.95);
  EXPECT_EQ(h.back().examples, 200);
  EXPECT_EQ(h.back().batches, 13);
  EXPECT_TRUE(model.is_training());

  auto acc = std::make_shared<Accuracy>();
  data::DataLoader test(separable_2d(100, 12), {.batch_size = 32});
  EvalResult r = evaluate(model, cross_entropy_loss, test, {acc});
  EXPECT_GT(r.metrics.at("accuracy"), 0.95);
  EXPECT_EQ(acc->total(), 100);  // metrics are updated in place
  EXPECT_EQ(r.examples, 100);
  EXPECT_TRUE(model.is_training());  // evaluate restored the mode
}

TEST(Fit, CallbacksRunInOrder) {
  manual_seed(1);
  data::DataLoader loader(separable_2d(6, 3), {.batch_size = 2});
  data::DataLoader val(separable_2d(4, 4), {.batch_size = 4});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  std::vector<std::string> log;
  auto recorder = [&log](const std::string& who) {
    return std::make_shared<LambdaCallback>(LambdaHooks{
        .on_train_begin = [&log, who](TrainState&) { log.push_back(who + ":train_begin"); },
        .on_epoch_begin =
            [&log, who](TrainState& s) {
              log.push_back(who + ":epoch_begin " + std::to_string(s.epoch));
            },
        .on_batch_begin =
            [&log, who](TrainState& s) {
              log.push_back(who + ":batch_begin " + std::to_string(s.batch));
            },
        .on_batch_end =
            [&log, who](TrainState& s) {
              EXPECT_TRUE(std::isfinite(s.batch_loss));
              EXPECT_EQ(s.batch_size, 2);
              log.push_back(who + ":batch_end " + std::to_string(s.batch));
            },
        .on_epoch_end =
            [&log, who](TrainState& s) {
              // the epoch's record, validation included, is already in the history
              EXPECT_EQ(s.history->back().epoch, s.epoch);
              EXPECT_TRUE(s.history->back().has_validation);
              log.push_back(who + ":epoch_end " + std::to_string(s.epoch));
            },
        .on_train_end = [&log, who](TrainState&) { log.push_back(who + ":train_end"); }});
  };
  fit(model, cross_entropy_loss, opt, loader,
      {.epochs = 2, .validation = &val, .callbacks = {recorder("a"), recorder("b")}, .verbose = 0});
  std::vector<std::string> want = {"a:train_begin", "b:train_begin"};
  for (int e = 0; e < 2; ++e) {
    want.push_back("a:epoch_begin " + std::to_string(e));
    want.push_back("b:epoch_begin " + std::to_string(e));
    for (int b = 0; b < 3; ++b) {
      want.push_back("a:batch_begin " + std::to_string(b));
      want.push_back("b:batch_begin " + std::to_string(b));
      want.push_back("a:batch_end " + std::to_string(b));
      want.push_back("b:batch_end " + std::to_string(b));
    }
    want.push_back("a:epoch_end " + std::to_string(e));
    want.push_back("b:epoch_end " + std::to_string(e));
  }
  want.push_back("a:train_end");
  want.push_back("b:train_end");
  EXPECT_EQ(log, want);
}

TEST(Fit, StopFromEpochHookEndsAfterThatEpoch) {
  manual_seed(2);
  data::DataLoader loader(separable_2d(8, 5), {.batch_size = 4});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  auto stopper = std::make_shared<LambdaCallback>(LambdaHooks{.on_epoch_end = [](TrainState& s) {
    if (s.epoch == 2) s.request_stop("enough");
  }});
  History h = fit(model, cross_entropy_loss, opt, loader,
                  {.epochs = 10, .callbacks = {stopper}, .verbose = 0});
  EXPECT_EQ(h.size(), 3u);
  EXPECT_TRUE(h.stopped_early);
  EXPECT_EQ(h.stop_reason, "enough");
  EXPECT_TRUE(h.back().completed);
}

TEST(Fit, ValidationSplitMetricsAndBestEpoch) {
  manual_seed(3);
  auto ds = separable_2d(50, 6);
  data::DataLoader loader(ds, {.batch_size = 8, .shuffle = true});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.3});
  History h = fit(model, cross_entropy_loss, opt, loader,
                  {.epochs = 4,
                   .validation_split = 0.2,
                   .metrics = {std::make_shared<Accuracy>(), std::make_shared<TopKAccuracy>(1)},
                   .verbose = 0});
  ASSERT_EQ(h.size(), 4u);
  for (const auto& r : h.epochs) {
    EXPECT_EQ(r.examples, 40);  // 10 of 50 held out
    EXPECT_TRUE(r.has_validation);
    EXPECT_EQ(r.val_metrics.at("accuracy"), r.val_metrics.at("top1_accuracy"));
  }
  EXPECT_EQ(h.monitor, "val_loss");
  EXPECT_EQ(h.best_epoch, h.best("val_loss"));
  EXPECT_GE(h.best_epoch, 0);
}

TEST(Fit, SchedulerPerEpochAndPerBatch) {
  manual_seed(4);
  data::DataLoader loader(separable_2d(9, 7), {.batch_size = 3});  // 3 batches
  {
    auto model = nn::Sequential({nn::Linear(2, 2)});
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    History h = fit(model, cross_entropy_loss, opt, loader,
                    {.epochs = 3, .scheduler = &sched, .verbose = 0});
    EXPECT_DOUBLE_EQ(h.epochs[0].lr, 0.1);
    EXPECT_DOUBLE_EQ(h.epochs[1].lr, 0.05);
    EXPECT_DOUBLE_EQ(h.epochs[2].lr, 0.025);
  }
  {
    auto model = nn::Sequential({nn::Linear(2, 2)});
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    History h = fit(
        model, cross_entropy_loss, opt, loader,
        {.epochs = 2, .scheduler = &sched, .scheduler_step = SchedulerStep::Batch, .verbose = 0});
    EXPECT_DOUBLE_EQ(h.epochs[1].lr, 0.1 / 8);
    EXPECT_DOUBLE_EQ(opt.lr(), 0.1 / 64);
  }
}

TEST(Fit, PlateauSchedulerThroughCallback) {
  manual_seed(5);
  data::DataLoader loader(separable_2d(8, 8), {.batch_size = 8});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.2});
  optim::ReduceLROnPlateau plateau(opt, {.factor = 0.5, .patience = 0});
  // A loss stuck at 1: epoch 0 sets the best, every later epoch is a bad one.
  LossFn flat = [](const Tensor& out, const Tensor&) { return add(mul(out.sum(), 0.0), 1.0); };
  auto cb = std::make_shared<LRSchedulerCallback>(plateau, "loss");
  History h = fit(model, flat, opt, loader, {.epochs = 3, .callbacks = {cb}, .verbose = 0});
  EXPECT_DOUBLE_EQ(h.epochs[0].lr, 0.2);
  EXPECT_DOUBLE_EQ(h.epochs[1].lr, 0.2);
  EXPECT_DOUBLE_EQ(h.epochs[2].lr, 0.1);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.05);
  auto missing = std::make_shared<LRSchedulerCallback>(plateau, "val_loss");
  try {
    fit(model, flat, opt, loader, {.epochs = 1, .callbacks = {missing}, .verbose = 0});
    FAIL() << "monitoring val_loss without validation must throw";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'val_loss' is not in the logs"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("hint:"), std::string::npos);
  }
}

TEST(Fit, PredictInEvalModeWithoutGrad) {
  manual_seed(6);
  auto model = nn::Sequential({nn::Linear(2, 3), nn::Dropout(0.5)});
  Tensor x = randn({10, 2});
  Tensor a = predict(model, x);
  Tensor b = predict(model, x, 3);  // in chunks: the same numbers (dropout is off)
  EXPECT_EQ(a.shape(), (Shape{10, 3}));
  // The last chunk is one row, which goes through gemv instead of gemm: equal up to rounding.
  EXPECT_TRUE(allclose(a, b, 1e-6, 1e-7));
  Tensor halves = predict(model, x, 5);  // chunks of the same kernel: bit-identical
  EXPECT_EQ(a.to_vector(), halves.to_vector());
  EXPECT_FALSE(a.requires_grad());
  EXPECT_TRUE(model.is_training());
  data::DataLoader loader(data::tensor_dataset(x), {.batch_size = 4});
  Tensor c = predict(model, loader);
  EXPECT_EQ(c.to_vector(), a.to_vector());
  model.eval();
  predict(model, x);
  EXPECT_FALSE(model.is_training());  // the previous mode, whatever it was
}

TEST(Fit, ErrorsAreClear) {
  manual_seed(7);
  data::DataLoader loader(separable_2d(4, 9), {.batch_size = 2});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  EXPECT_THROW(fit(model, nullptr, opt, loader, {.verbose = 0}), ValueError);
  EXPECT_THROW(
      fit(model, cross_entropy_loss, opt, loader, {.epochs = 2, .initial_epoch = 3, .verbose = 0}),
      ValueError);
  EXPECT_THROW(fit(model, cross_entropy_loss, opt, loader,
                   {.validation = &loader, .validation_split = 0.5, .verbose = 0}),
               ValueError);
  try {
    fit(model, [](const Tensor& out, const Tensor&) { return out; }, opt, loader, {.verbose = 0});
    FAIL() << "a non-scalar loss must throw";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("must return a scalar (got shape [2, 2])"),
              std::string::npos);
  }
  data::DataLoader empty(data::tensor_dataset(zeros({3, 2}), zeros({3})),
                         {.batch_size = 4, .drop_last = true});
  EXPECT_THROW(fit(model, cross_entropy_loss, opt, empty, {.verbose = 0}), ValueError);
  EXPECT_THROW(
      fit(model, cross_entropy_loss, opt, loader,
          {.metrics = {std::make_shared<Accuracy>(), std::make_shared<Accuracy>()}, .verbose = 0}),
      ValueError);
}

TEST(Fit, ZeroEpochsToRunReturnsTheGivenHistory) {
  manual_seed(8);
  data::DataLoader loader(separable_2d(4, 10), {.batch_size = 2});
  auto model = nn::Sequential({nn::Linear(2, 2)});
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  History first = fit(model, cross_entropy_loss, opt, loader, {.epochs = 2, .verbose = 0});
  const auto before = testing::flat_params(model);
  History again = fit(model, cross_entropy_loss, opt, loader,
                      {.epochs = 2, .initial_epoch = 2, .initial_history = first, .verbose = 0});
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(testing::flat_params(model), before);
}

}  // namespace
}  // namespace sn::train
