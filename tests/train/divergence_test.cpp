// stop_on_nonfinite in fit() and fit_steps(): the first non-finite loss stops the run without a
// step on it, with a DivergenceError that names the epoch and batch (or step), the first op with
// a non-finite output and the parameters already broken; the epoch it happened in is not saved.
#include <gtest/gtest.h>

#include <cmath>

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
  try {
    f();
  } catch (const DivergenceError& e) {
    return e.what();
  }
  return "(no DivergenceError)";
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

}  // namespace
}  // namespace sn::train
