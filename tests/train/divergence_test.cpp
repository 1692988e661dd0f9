// stop_on_nonfinite in fit() and fit_steps(): the first non-finite loss stops the run without a
// step on it, with a DivergenceError that names the epoch and batch (or step), the first op with
// a non-finite output and the parameters already broken; the epoch it happened in is not saved.
// A finite blow-up (a loss blowup_factor times the run's first) stops the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_util.h"
#include "train/train_test_util.h"

namespace sn::train {
namespace {

using testing::TempDir;

// y = log(fc(x) · sign): finite on positive data, NaN once poisoned.
struct LogNet : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  bool poison = false;
  LogNet() {
    fc = register_module("fc", nn::Linear(2, 2));
    NoGradGuard ng;
    Tensor w = fc->weight(), b = fc->bias();
    w.copy_(eye(2));
    b.zero_();
  }
  Tensor forward(const Tensor& x) override { return log(mul((*fc)(x), poison ? -1.0 : 1.0)); }
};

Tensor mean_loss(const Tensor& out, const Tensor&) { return out.mean(); }

std::shared_ptr<data::TensorDataset> positive_data(int64_t n) {
  std::vector<double> xs;
  for (int64_t i = 0; i < n; ++i) xs.insert(xs.end(), 2, 1.0 + 0.1 * static_cast<double>(i));
  return data::tensor_dataset(tensor(xs, Shape{n, 2}), zeros({n}));
}

std::string message_of(const std::function<void()>& f) {
  return sn::test::error_of<DivergenceError>(f);
}

TEST(Divergence, NamesEpochBatchAndOpAndKeepsTheLastGoodCheckpoint) {
  TempDir dir;
  manual_seed(70);
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.01});
  data::DataLoader loader(positive_data(6), {.batch_size = 2});
  std::vector<double> before_bad_batch;
  auto poison = std::make_shared<LambdaCallback>(LambdaHooks{.on_batch_begin = [&](TrainState& s) {
    net.poison = s.epoch == 1 && s.batch == 1;
    if (net.poison) before_bad_batch = testing::flat_params(net);
  }});
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("last.safetensors")});
  const std::string msg = message_of([&] {
    fit(net, mean_loss, opt, loader,
        {.epochs = 4, .callbacks = {poison, ck}, .verbose = 0, .stop_on_nonfinite = true});
  });
  EXPECT_EQ(msg,
            "fit: the loss is nan at epoch 2, batch 2 (of 3); the first op with a non-finite "
            "output: LogBackward produced nan in its output (shape [2, 2])");
  EXPECT_EQ(testing::flat_params(net), before_bad_batch);  // no step on the NaN batch
  EXPECT_EQ(ck->saves(), 1);
  EXPECT_EQ(read_checkpoint_info(dir.file("last.safetensors")).epoch, 1);
}

TEST(Divergence, AHugeLearningRateNamesTheBrokenParameters) {
  manual_seed(71);
  auto model = nn::Sequential({nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 1)});
  optim::SGD opt(model.parameters(), {.lr = 1e30});
  Tensor x = randn({16, 3}), y = randn({16, 1});
  data::DataLoader loader(data::tensor_dataset(x, y), {.batch_size = 4});
  const std::string msg = message_of([&] {
    fit(model, [](const Tensor& o, const Tensor& t) { return loss::mse(o, t); }, opt, loader,
        {.epochs = 3, .verbose = 0, .stop_on_nonfinite = true});
  });
  EXPECT_EQ(msg.rfind("fit: the loss is ", 0), 0u) << msg;
  EXPECT_NE(msg.find(" at epoch 1, batch "), std::string::npos) << msg;
  EXPECT_NE(msg.find("the first op with a non-finite output: "), std::string::npos) << msg;
}

// The last step of an epoch breaks the weights (float32 overflows at 1e39) after a finite loss:
// the epoch is not kept.
TEST(Divergence, BrokenParametersAtTheEndOfAnEpochStop) {
  TempDir dir;
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 1e39});
  data::DataLoader loader(positive_data(4), {.batch_size = 4});
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("last.safetensors")});
  const std::string msg = message_of([&] {
    fit(net, mean_loss, opt, loader,
        {.epochs = 2, .callbacks = {ck}, .verbose = 0, .stop_on_nonfinite = true});
  });
  EXPECT_EQ(msg,
            "fit: the parameters are no longer finite after epoch 1; non-finite parameters: "
            "fc.weight, fc.bias");
  EXPECT_EQ(ck->saves(), 0);
}

TEST(Divergence, NonFiniteInputsAreSaid) {
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  Tensor x = tensor(std::vector<double>{1.0, NAN, 2.0, 3.0}, Shape{2, 2});
  data::DataLoader loader(data::tensor_dataset(x, zeros({2})), {.batch_size = 2});
  const std::string msg = message_of([&] {
    fit(net, mean_loss, opt, loader, {.epochs = 1, .verbose = 0, .stop_on_nonfinite = true});
  });
  EXPECT_NE(msg.find("at epoch 1, batch 1 (of 1); the batch's inputs hold NaN or Inf; "),
            std::string::npos)
      << msg;
}

TEST(Divergence, OffByDefault) {
  LogNet net;
  net.poison = true;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(4), {.batch_size = 2});
  History h = fit(net, mean_loss, opt, loader, {.epochs = 1, .verbose = 0});
  EXPECT_TRUE(std::isnan(h.back().loss));
}

TEST(Divergence, FitStepsNamesTheStep) {
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.01});
  auto ds = positive_data(2);
  const std::string msg = message_of([&] {
    fit_steps(net, mean_loss, opt,
              [&](int64_t i) {
                net.poison = i == 4;
                return ds->get_batch({0, 1});
              },
              {.steps = 10, .eval_every = 3, .verbose = 0, .stop_on_nonfinite = true});
  });
  EXPECT_EQ(msg,
            "fit_steps: the loss is nan at step 5 (of 10); the first op with a non-finite "
            "output: LogBackward produced nan in its output (shape [2, 2])");
}

// y = fc(x) · scale: a loss that jumps a millionfold when a callback says so, finite throughout.
struct ScaledNet : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  double scale = 1;
  ScaledNet() {
    fc = register_module("fc", nn::Linear(2, 2));
    NoGradGuard ng;
    Tensor w = fc->weight(), b = fc->bias();
    w.copy_(eye(2));
    b.zero_();
  }
  Tensor forward(const Tensor& x) override { return mul((*fc)(x), scale); }
};

TEST(Divergence, AFiniteBlowUpStopsLikeANonFiniteLoss) {
  TempDir dir;
  ScaledNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(6), {.batch_size = 2});
  auto jump = std::make_shared<LambdaCallback>(LambdaHooks{.on_batch_begin = [&](TrainState& s) {
    net.scale = s.epoch == 1 && s.batch == 1 ? 1e6 : 1.0;
  }});
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("last.safetensors")});
  const std::string msg = message_of([&] {
    fit(net, mean_loss, opt, loader,
        {.epochs = 4, .callbacks = {jump, ck}, .verbose = 0, .stop_on_nonfinite = true});
  });
  // the first batch's loss: the mean of x = 1.0, 1.0, 1.1, 1.1
  EXPECT_EQ(msg,
            "fit: the loss is 1.25e+06 at epoch 2, batch 2 (of 3); more than 100 times the run's "
            "first loss 1.05: the run blew up; the largest parameter magnitude: 1 (fc.weight)");
  EXPECT_EQ(ck->saves(), 1);  // epoch 1 only
  // 0: only non-finite values stop
  ScaledNet quiet;
  optim::SGD opt2(quiet.parameters(), {.lr = 0.0});
  auto jump2 = std::make_shared<LambdaCallback>(
      LambdaHooks{.on_batch_begin = [&](TrainState& s) { quiet.scale = s.batch == 1 ? 1e6 : 1; }});
  History h = fit(quiet, mean_loss, opt2, loader,
                  {.epochs = 1,
                   .callbacks = {jump2},
                   .verbose = 0,
                   .stop_on_nonfinite = true,
                   .blowup_factor = 0});
  EXPECT_GT(h.back().loss, 1e5);
}

// The case that went unnoticed: cross-entropy's gradient is bounded, so at lr 1e30 the weights
// and the loss grow to ~1e28 and stay finite. A bigram model (a table of next-token logits).
TEST(Divergence, CrossEntropyAtAHugeLearningRateBlowsUpFinitely) {
  manual_seed(72);
  const int64_t V = 8;
  auto model = nn::Sequential({nn::Embedding(V, V)});
  optim::SGD opt(model.parameters(), {.lr = 1e30});
  Tensor x = randint(0, V, {4, 6}), y = randint(0, V, {4, 6});
  const std::string msg = message_of([&] {
    fit_steps(model, token_cross_entropy, opt,
              [&](int64_t) {
                return data::Example{x, y};
              },
              {.steps = 20, .verbose = 0, .stop_on_nonfinite = true});
  });
  EXPECT_EQ(msg.rfind("fit_steps: the loss is ", 0), 0u) << msg;
  EXPECT_NE(msg.find(" at step 2 (of 20); more than 100 times the run's first loss "),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("the run blew up; the largest parameter magnitude: "), std::string::npos)
      << msg;
}

// A resumed run keeps its reference: the first epoch's loss in its history, not its own first
// (already low) loss, so a run that resumes near its best does not stop on ordinary noise, and
// one that resumes into a blow-up does.
TEST(Divergence, AResumedRunKeepsItsReference) {
  ScaledNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(2), {.batch_size = 2});
  History before;
  before.epochs.push_back(EpochRecord{.epoch = 0, .loss = 0.01});
  net.scale = 10;  // loss 10.5: 1050 times the history's 0.01
  const std::string msg = message_of([&] {
    fit(net, mean_loss, opt, loader,
        {.epochs = 2,
         .initial_epoch = 1,
         .initial_history = before,
         .verbose = 0,
         .stop_on_nonfinite = true});
  });
  EXPECT_NE(msg.find("more than 100 times the run's first loss 0.01"), std::string::npos) << msg;
  before.epochs[0].loss = 2.0;  // 10.5 is ~5 times 2: no blow-up
  EXPECT_NO_THROW(fit(net, mean_loss, opt, loader,
                      {.epochs = 2,
                       .initial_epoch = 1,
                       .initial_history = before,
                       .verbose = 0,
                       .stop_on_nonfinite = true}));
}

TEST(Divergence, TheProgressBarLeavesTheReasonToTheError) {
  ScaledNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(4), {.batch_size = 2});
  std::ostringstream out;
  auto bar = std::make_shared<ProgressBar>(ProgressBarOptions{.stream = &out, .live = Live::Never});
  auto jump = std::make_shared<LambdaCallback>(
      LambdaHooks{.on_batch_begin = [&](TrainState& s) { net.scale = s.batch == 1 ? 1e6 : 1; }});
  const std::string msg = message_of([&] {
    fit(net, mean_loss, opt, loader,
        {.epochs = 1, .callbacks = {bar, jump}, .stop_on_nonfinite = true});
  });
  EXPECT_NE(msg.find("the run blew up"), std::string::npos) << msg;
  EXPECT_EQ(out.str().find("blew up"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("stopped:"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace sn::train
