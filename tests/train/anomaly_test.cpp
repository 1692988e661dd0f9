// Anomaly mode (sn::autograd::set_anomaly_mode) and TerminateOnNaN: the op that produced the
// first NaN/Inf is named, in forward and in backward; fit stops cleanly, keeps the last good
// checkpoint, and rethrows anomalies nobody handled.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "train/train_test_util.h"

namespace sn::train {
namespace {

using testing::TempDir;

TEST(Anomaly, ForwardNaNNamesTheOp) {
  Tensor x = tensor({{1.0, -1.0}, {2.0, 3.0}}, {.requires_grad = true});
  Tensor quiet = log(x);  // off: NaN flows on silently
  EXPECT_TRUE(std::isnan(quiet.at({0, 1})));
  autograd::AnomalyModeGuard on;
  EXPECT_TRUE(autograd::anomaly_mode());
  try {
    log(x);
    FAIL() << "anomaly mode must catch log(-1)";
  } catch (const AnomalyError& e) {
    EXPECT_EQ(std::string(e.what()),
              "anomaly: LogBackward produced nan in its output (shape [2, 2])");
  }
  // Not recorded (no grad needed): not checked, as the check lives where ops are recorded.
  NoGradGuard ng;
  EXPECT_NO_THROW(log(x));
}

TEST(Anomaly, BackwardInfNamesTheOp) {
  Tensor x = zeros({3}, {.requires_grad = true});
  Tensor y = sqrt(x).sum();  // forward is finite: sqrt(0) = 0
  autograd::AnomalyModeGuard on;
  try {
    y.backward();
    FAIL() << "d sqrt(x)/dx at 0 is inf";
  } catch (const AnomalyError& e) {
    EXPECT_EQ(std::string(e.what()),
              "anomaly: SqrtBackward produced inf in the gradient for input 0 (shape [3])");
  }
}

TEST(Anomaly, NonContiguousOutputsAreScanned) {
  Tensor x = tensor({{1.0, 2.0}, {-3.0, 4.0}}, {.requires_grad = true});
  autograd::AnomalyModeGuard on;
  Tensor t = x.t();  // a strided view, finite
  EXPECT_NO_THROW(mul(t, 2.0));
  EXPECT_THROW(sqrt(t), AnomalyError);
  autograd::set_anomaly_mode(false);
  EXPECT_FALSE(autograd::anomaly_mode());
}

// The record observer hook of the graph viewer and anomaly mode share connect(): both work.
TEST(Anomaly, CoexistsWithTheRecordObserver) {
  int seen = 0;
  autograd::set_record_observer(
      [](const std::shared_ptr<Node>&, const std::vector<const Tensor*>&,
         const std::vector<Tensor*>&, void* ctx) { ++*static_cast<int*>(ctx); },
      &seen);
  autograd::AnomalyModeGuard on;
  Tensor x = ones({2}, {.requires_grad = true});
  Tensor y = exp(x).sum();
  EXPECT_EQ(seen, 2);
  EXPECT_THROW(log(neg(x)), AnomalyError);
  autograd::set_record_observer(nullptr, nullptr);
}

// y = log(fc(x) · sign): finite while sign = +1 on positive data, NaN once poisoned.
// With use_sqrt, y = sqrt(fc(x)): finite forward at 0, infinite gradient there.
struct LogNet : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  bool poison = false;
  bool use_sqrt = false;
  LogNet() {
    fc = register_module("fc", nn::Linear(2, 2));
    NoGradGuard ng;
    Tensor w = fc->weight(), b = fc->bias();  // handles on the parameters themselves
    w.copy_(eye(2));
    b.zero_();
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = mul((*fc)(x), poison ? -1.0 : 1.0);
    return use_sqrt ? sqrt(h) : log(h);
  }
};

Tensor mean_loss(const Tensor& out, const Tensor&) { return out.mean(); }

std::shared_ptr<data::TensorDataset> positive_data(int64_t n, int64_t bad_row,
                                                   double bad_value = -1.0) {
  std::vector<double> xs;
  for (int64_t i = 0; i < n; ++i) {
    const double v = i == bad_row ? bad_value : 1.0 + 0.1 * static_cast<double>(i);
    xs.push_back(v);
    xs.push_back(v);
  }
  return data::tensor_dataset(tensor(xs, Shape{n, 2}), zeros({n}));
}

TEST(TerminateOnNaN, StopsAndHintsAtAnomalyMode) {
  manual_seed(60);
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(8, 5), {.batch_size = 2});  // row 5 is in batch 3
  auto stop = std::make_shared<TerminateOnNaN>();
  History h = fit(net, mean_loss, opt, loader, {.epochs = 3, .callbacks = {stop}, .verbose = 0});
  EXPECT_TRUE(stop->triggered());
  EXPECT_TRUE(h.stopped_early);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_FALSE(h.back().completed);
  EXPECT_EQ(h.back().batches, 3);
  EXPECT_EQ(h.stop_reason,
            "TerminateOnNaN: the loss is nan at epoch 1, batch 3; hint: turn on "
            "sn::autograd::set_anomaly_mode(true) to find the op that produced it");
}

TEST(TerminateOnNaN, InAnomalyModeNamesTheOp) {
  manual_seed(61);
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(8, 5), {.batch_size = 2});
  autograd::AnomalyModeGuard on;
  auto stop = std::make_shared<TerminateOnNaN>();
  History h = fit(net, mean_loss, opt, loader, {.epochs = 3, .callbacks = {stop}, .verbose = 0});
  EXPECT_EQ(h.stop_reason,
            "TerminateOnNaN: a NaN/Inf appeared at epoch 1, batch 3; anomaly: LogBackward "
            "produced nan in its output (shape [2, 2])");
  // Without TerminateOnNaN the anomaly is an error, not a silent stop.
  EXPECT_THROW(fit(net, mean_loss, opt, loader, {.epochs = 1, .verbose = 0}), AnomalyError);
}

TEST(TerminateOnNaN, AnomalyInBackwardIsReportedToo) {
  manual_seed(63);
  LogNet net;
  net.use_sqrt = true;
  optim::SGD opt(net.parameters(), {.lr = 0.0});
  data::DataLoader loader(positive_data(6, 2, 0.0), {.batch_size = 2});  // a zero in batch 2
  autograd::AnomalyModeGuard on;
  History h = fit(net, mean_loss, opt, loader,
                  {.epochs = 2, .callbacks = {std::make_shared<TerminateOnNaN>()}, .verbose = 0});
  EXPECT_EQ(h.stop_reason,
            "TerminateOnNaN: a NaN/Inf appeared at epoch 1, batch 2; anomaly: SqrtBackward "
            "produced inf in the gradient for input 0 (shape [2, 2])");
  EXPECT_EQ(h.back().batches, 2);
}

TEST(TerminateOnNaN, AbandonedEpochKeepsTheLastGoodCheckpoint) {
  TempDir dir;
  manual_seed(62);
  LogNet net;
  optim::SGD opt(net.parameters(), {.lr = 0.01});
  data::DataLoader loader(positive_data(6, -1), {.batch_size = 2});
  auto poison = std::make_shared<LambdaCallback>(LambdaHooks{
      .on_batch_begin = [&net](TrainState& s) { net.poison = s.epoch == 1 && s.batch == 1; }});
  std::vector<double> after_first;
  auto snap = std::make_shared<LambdaCallback>(LambdaHooks{.on_epoch_end = [&](TrainState& s) {
    if (s.epoch == 0) after_first = testing::flat_params(*s.model);
  }});
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("last.safetensors")});
  auto csv = std::make_shared<CsvLogger>(dir.file("log.csv"));
  History h = fit(net, mean_loss, opt, loader,
                  {.epochs = 4,
                   .callbacks = {poison, std::make_shared<TerminateOnNaN>(), snap, ck, csv},
                   .verbose = 0});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.epochs[0].completed);
  EXPECT_FALSE(h.epochs[1].completed);
  EXPECT_EQ(ck->saves(), 1);
  EXPECT_EQ(read_checkpoint_info(dir.file("last.safetensors")).epoch, 1);
  std::ifstream log(dir.file("log.csv"));
  int rows = 0;
  for (std::string line; std::getline(log, line);) ++rows;
  EXPECT_EQ(rows, 2);  // header + epoch 1: the abandoned epoch is not logged
  LogNet back;         // the file holds the weights of epoch 1, not those of the abandoned epoch
  load_checkpoint(dir.file("last.safetensors"), back);
  EXPECT_EQ(testing::flat_params(back), after_first);
}

}  // namespace
}  // namespace sn::train
