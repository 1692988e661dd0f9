// The stock callbacks: ProgressBar, EarlyStopping, ModelCheckpoint, CsvLogger, JsonLinesLogger,
// LRSchedulerCallback, TerminateOnNaN and LambdaCallback. Each is an ordinary object; give it
// to fit() through a shared_ptr (keep a copy of the pointer to query it afterwards):
//   auto stop = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions{.patience = 3});
//   train::fit(model, loss, opt, loader, {.epochs = 50, .validation = &val, .callbacks = {stop}});
#pragma once
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sinapsis/nn/module.h"
#include "sinapsis/optim/scheduler.h"
#include "sinapsis/train/callback.h"
#include "sinapsis/train/fit.h"

namespace sn::train {

// ---------------------------------------------------------------------------------------------
// A live bar with ETA, loss and metrics while an epoch runs, redrawn in place, when the stream is
// a terminal; otherwise (a file, a pipe, a CI log) one plain line per epoch:
//   epoch 3/10  loss 0.2345  accuracy 0.9120  val_loss 0.2511  val_accuracy 0.9050  lr 0.01  1.2s
enum class Live { Auto, Always, Never };
struct ProgressBarOptions {
  std::ostream* stream = nullptr;  // null: std::cerr
  Live live = Live::Auto;          // Auto: live when the stream is std::cout/std::cerr on a tty
  int width = 30;                  // characters of the bar
  double refresh_seconds = 0.1;    // least time between redraws of the live bar
};
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(ProgressBarOptions options = {});
  void on_train_begin(TrainState& s) override;
  void on_epoch_begin(TrainState& s) override;
  void on_batch_end(TrainState& s) override;
  void on_epoch_end(TrainState& s) override;
  void on_train_end(TrainState& s) override;
  bool live() const { return live_; }

 private:
  std::ostream& out() const;
  ProgressBarOptions options_;
  bool live_ = false;
  bool drew_ = false;  // a live line is on screen, not yet ended with '\n'
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

// ---------------------------------------------------------------------------------------------
// Stops training when `monitor` has not improved by more than min_delta for `patience` epochs
// in a row. With restore_best_weights, the weights of the best epoch are put back when training
// ends (stopped or not). Resumed runs (FitOptions::initial_history) continue counting from the
// earlier epochs; the best weights of those epochs are not known, though.
struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  Mode mode = Mode::Auto;
  int64_t patience = 0;
  double min_delta = 0.0;  // an improvement must exceed this (absolute)
  bool restore_best_weights = false;
};
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(TrainState& s) override;
  void on_epoch_end(TrainState& s) override;
  void on_train_end(TrainState& s) override;
  int64_t best_epoch() const { return best_epoch_; }  // 0-based, -1 before any
  double best_value() const { return best_; }
  int64_t stopped_epoch() const { return stopped_epoch_; }  // -1 when it did not stop
  bool restored() const { return restored_; }

 private:
  bool improved(double value) const;
  EarlyStoppingOptions options_;
  Mode mode_ = Mode::Min;
  double best_ = 0;
  int64_t best_epoch_ = -1, wait_ = 0, stopped_epoch_ = -1;
  bool restored_ = false;
  nn::StateDict best_weights_;  // copies, taken at the best epoch
};

// ---------------------------------------------------------------------------------------------
// Saves a checkpoint (save_checkpoint: model, optimizer, RNG, scheduler, history) after each
// epoch, or only when `monitor` improves (save_best_only). "{epoch}" in the path becomes the
// 1-based epoch number. For "best and last", give fit two of them. A stopped-mid-epoch run
// (e.g. TerminateOnNaN) writes nothing for that epoch, so the last good file survives.
struct ModelCheckpointOptions {
  std::string path{};  // required
  std::string monitor = "val_loss";
  Mode mode = Mode::Auto;
  bool save_best_only = false;
  bool save_optimizer = true;
  int64_t every = 1;         // epochs between saves (save_best_only ignores it)
  std::string model_spec{};  // stored in the file (see CheckpointData)
  // The whole History in every file, as checkpoints before 2026-12 held it. Off: a HistoryFile
  // keeps it once per run, and the checkpoint holds what resuming needs (epoch, optimizer,
  // scheduler, RNG), so its size does not grow with the epochs.
  bool embed_history = false;
  std::map<std::string, std::string> extra{};
};
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions options);
  void on_train_begin(TrainState& s) override;
  void on_epoch_end(TrainState& s) override;
  const std::string& last_saved() const { return last_saved_; }  // empty before the first save
  int64_t saves() const { return saves_; }
  double best_value() const { return best_; }

 private:
  ModelCheckpointOptions options_;
  Mode mode_ = Mode::Min;
  bool have_best_ = false;
  double best_ = 0;
  std::string last_saved_;
  int64_t saves_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Appends one row (CsvLogger) or one JSON object (JsonLinesLogger) per completed epoch to a file,
// flushed each epoch, so a crash loses at most the epoch in progress. Columns: epoch (1-based)
// then EpochRecord::logs() keys. CsvLogger fixes its columns at the first row; with append, an
// existing file's header is kept and the rows follow it. Non-finite values print as "nan"/"inf"
// in CSV and null in JSON.
struct LoggerOptions {
  bool append = false;  // continue an existing file (resume) instead of truncating it
};
class CsvLogger : public Callback {
 public:
  explicit CsvLogger(std::string path, LoggerOptions options = {});
  void on_train_begin(TrainState& s) override;
  void on_epoch_end(TrainState& s) override;
  void on_train_end(TrainState& s) override;

 private:
  std::string path_;
  LoggerOptions options_;
  std::ofstream file_;
  std::vector<std::string> columns_;  // without "epoch"; empty until the header is known
};
class JsonLinesLogger : public Callback {
 public:
  explicit JsonLinesLogger(std::string path, LoggerOptions options = {});
  void on_train_begin(TrainState& s) override;
  void on_epoch_end(TrainState& s) override;
  void on_train_end(TrainState& s) override;

 private:
  std::string path_;
  LoggerOptions options_;
  std::ofstream file_;
};

// The whole History (History::to_json) in one file, rewritten atomically after every epoch and
// at the end: what a resumed run continues from (History::load it into
// FitOptions::initial_history). Put it BEFORE the ModelCheckpoints: the file is then never older
// than a checkpoint, and fit() drops the records past the checkpoint's epoch on resume.
class HistoryFile : public Callback {
 public:
  explicit HistoryFile(std::string path);
  void on_epoch_end(TrainState& s) override;
  void on_train_end(TrainState& s) override;

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Steps an LR scheduler after each epoch or each batch, or ReduceLROnPlateau after each epoch
// with the monitored value. Put it BEFORE a ModelCheckpoint in the list, so the checkpoint
// holds the stepped state (FitOptions::scheduler does that for you).
class LRSchedulerCallback : public Callback {
 public:
  explicit LRSchedulerCallback(optim::LRScheduler& scheduler,
                               SchedulerStep step = SchedulerStep::Epoch);
  explicit LRSchedulerCallback(optim::ReduceLROnPlateau& plateau, std::string monitor = "val_loss");
  void on_batch_end(TrainState& s) override;
  void on_epoch_end(TrainState& s) override;

 private:
  optim::LRScheduler* scheduler_ = nullptr;
  optim::ReduceLROnPlateau* plateau_ = nullptr;
  SchedulerStep step_ = SchedulerStep::Epoch;
  std::string monitor_;
};

// ---------------------------------------------------------------------------------------------
// Stops training at the first batch whose loss is NaN or Inf. The stop reason (History::
// stop_reason) names the epoch and batch; in anomaly mode it also names the op that produced
// the first NaN/Inf (the AnomalyError message), and otherwise hints at turning anomaly mode on.
class TerminateOnNaN : public Callback {
 public:
  void on_batch_end(TrainState& s) override;
  bool triggered() const { return triggered_; }

 private:
  bool triggered_ = false;
};

// ---------------------------------------------------------------------------------------------
// A callback made of lambdas; unset hooks do nothing:
//   LambdaCallback({.on_epoch_end = [](TrainState& s) { ... }})
struct LambdaHooks {
  std::function<void(TrainState&)> on_train_begin{}, on_epoch_begin{}, on_batch_begin{},
      on_batch_end{}, on_epoch_end{}, on_train_end{};
};
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaHooks hooks) : hooks_(std::move(hooks)) {}
  void on_train_begin(TrainState& s) override { call(hooks_.on_train_begin, s); }
  void on_epoch_begin(TrainState& s) override { call(hooks_.on_epoch_begin, s); }
  void on_batch_begin(TrainState& s) override { call(hooks_.on_batch_begin, s); }
  void on_batch_end(TrainState& s) override { call(hooks_.on_batch_end, s); }
  void on_epoch_end(TrainState& s) override { call(hooks_.on_epoch_end, s); }
  void on_train_end(TrainState& s) override { call(hooks_.on_train_end, s); }

 private:
  static void call(const std::function<void(TrainState&)>& f, TrainState& s) {
    if (f) f(s);
  }
  LambdaHooks hooks_;
};

}  // namespace sn::train
