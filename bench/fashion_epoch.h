// The --data mode of the training benches: Fashion-MNIST epochs the way the reference scripts'
// --data mode runs them (../shared/reference/mlp_train.py, cnn_train.py), through the library's
// own data API (FashionMnist, normalize transform, shuffling DataLoader). Timing and output only;
// the model and optimizer come from the calling bench.
#pragma once
#include <time.h>

#include <string>
#include <vector>

#include <sinapsis/sinapsis.h>

#include "harness.h"

namespace sn::bench {

// Fashion-MNIST training-set mean and std of the pixels in [0, 1] (the reference's constants).
constexpr double kFashionMean = 0.2860, kFashionStd = 0.3530;

inline double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// x standardised with the reference's constants; `flat`: [784] per example (the MLP), else
// [1, 28, 28] (the CNN).
inline data::DatasetPtr fashion_split(const std::string& dir, bool train, bool flat) {
  data::Transform t = data::normalize(kFashionMean, kFashionStd);
  if (flat) t = t | data::flatten();
  return data::transform(train ? data::FashionMnist::train(dir) : data::FashionMnist::test(dir), t);
}

struct EpochStats {
  double wall_s = 0, cpu_util = 0, train_loss = 0, test_loss = 0, test_acc = 0;
  int64_t steps = 0;
};

// Test accuracy and mean loss in eval mode without recording, batches of 1000 (as the
// reference's evaluate()). Not part of the timed epoch.
inline void evaluate(nn::Module& model, data::DataLoader& test, EpochStats& s) {
  model.eval();
  NoGradGuard no_grad;
  double loss_sum = 0, correct = 0;
  for (auto& [x, y] : test) {
    Tensor logits = model(x);
    loss_sum += loss::cross_entropy(logits, y, {.reduction = loss::Reduction::Sum}).item();
    correct += sum(eq(logits.argmax(1), y)).item();
  }
  const double n = static_cast<double>(test.dataset().size());
  s.test_acc = correct / n;
  s.test_loss = loss_sum / n;
  model.train();
}

// Trains for args.epochs epochs and prints one JSON line (the last epoch's wall time and test
// accuracy at top level, as the reference does, plus every epoch's). One timed epoch = drawing
// the shuffled order + every step (zero_grad, forward, loss, backward, update, loss.item()),
// the last partial batch included; loading the files and evaluating are outside it.
inline int run_fashion_epochs(const Args& args, const std::string& bench, const std::string& case_,
                              nn::Module& model, optim::Optimizer& opt, int64_t batch, bool flat) {
  data::DatasetPtr train = fashion_split(args.data, true, flat);
  data::DatasetPtr test = fashion_split(args.data, false, flat);
  data::DataLoader loader(
      train, {.batch_size = batch, .shuffle = true, .seed = 0, .prefetch = args.prefetch});
  data::DataLoader test_loader(test, {.batch_size = 1000, .prefetch = 0});
  std::vector<EpochStats> epochs;
  for (int e = 0; e < args.epochs; ++e) {
    EpochStats s;
    double loss_sum = 0;
    const double c0 = cpu_s(), t0 = now_s();
    for (auto& [x, y] : loader) {
      opt.zero_grad(true);
      Tensor loss = loss::cross_entropy(model(x), y);
      loss.backward();
      opt.step();
      loss_sum += loss.item();
      ++s.steps;
    }
    s.wall_s = now_s() - t0;
    s.cpu_util = (cpu_s() - c0) / s.wall_s;
    s.train_loss = loss_sum / static_cast<double>(s.steps);
    evaluate(model, test_loader, s);
    epochs.push_back(s);
  }
  const EpochStats& last = epochs.back();
  std::vector<double> walls, accs;
  for (const EpochStats& s : epochs) {
    walls.push_back(s.wall_s);
    accs.push_back(s.test_acc);
  }
  Json()
      .s("bench", bench)
      .s("case", case_)
      .s("mode", "data")
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("batch", batch)
      .n("prefetch", args.prefetch)
      .n("train_size", static_cast<double>(train->size()))
      .n("test_size", static_cast<double>(test->size()))
      .n("epochs", args.epochs)
      .n("median_ms", last.wall_s * 1e3)
      .n("epoch_wall_s", last.wall_s)
      .n("steps", static_cast<double>(last.steps))
      .n("ms_per_step_mean", last.wall_s / static_cast<double>(last.steps) * 1e3)
      .n("cpu_util", last.cpu_util)
      .n("train_loss", last.train_loss)
      .n("test_loss", last.test_loss)
      .n("test_acc", last.test_acc)
      .list("epoch_wall_s_all", walls)
      .list("test_acc_all", accs)
      .print();
  return 0;
}

}  // namespace sn::bench
