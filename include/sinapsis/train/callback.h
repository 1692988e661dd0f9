// The Callback interface fit() calls at each stage of training, and TrainState, the view of the
// run that every hook receives (model, optimizer, epoch and batch counters, running loss,
// history so far) and through which a callback asks training to stop. The concrete callbacks
// live in callbacks.h.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "sinapsis/train/history.h"

namespace sn::nn {
class Module;
}
namespace sn::optim {
class Optimizer;
class LRScheduler;
}  // namespace sn::optim

namespace sn::train {

struct TrainState {
  nn::Module* model = nullptr;
  optim::Optimizer* optimizer = nullptr;
  optim::LRScheduler* scheduler = nullptr;  // FitOptions::scheduler (null when none)
  History* history = nullptr;  // epochs so far; in on_epoch_end the current one is its back()

  int64_t epoch = 0;          // current epoch, 0-based
  int64_t epochs = 0;         // FitOptions::epochs: training ends before this epoch index
  int64_t initial_epoch = 0;  // first epoch of this fit() call (> 0 when resuming)
  int64_t batch = 0;          // current batch within the epoch, 0-based
  int64_t num_batches = 0;    // training batches per epoch
  int64_t batch_size = 0;     // examples in the current batch
  int64_t global_step = 0;    // optimizer steps taken in this fit() call
  // fit_steps only (0 otherwise): the planned number of steps and the current one (absolute,
  // counted across resumes); an "epoch" is then a period between evaluations.
  int64_t steps = 0;
  int64_t step = 0;

  double batch_loss = 0;    // loss of the batch that just ended (NaN/Inf when it diverged)
  double running_loss = 0;  // mean training loss of the epoch so far
  std::map<std::string, double> running_metrics;  // training metrics of the epoch so far
  bool has_validation = false;

  // Set when, in anomaly mode (sn::autograd::set_anomaly_mode), the batch threw AnomalyError:
  // its message, naming the op that produced the first NaN/Inf. batch_loss is NaN then. If no
  // callback asks to stop in on_batch_end, fit() rethrows the error.
  std::string anomaly;

  // Set when stop_on_nonfinite stopped the run (FitOptions): the DivergenceError thrown after
  // on_train_end carries the reason, so a callback need not report it again.
  bool diverged = false;

  // Ends training: after the current batch when called from a batch hook (the epoch is
  // abandoned: recorded as not completed, no validation, no on_epoch_end), after the current
  // epoch when called from an epoch hook. The first reason given is kept.
  void request_stop(const std::string& reason);
  bool stop_requested() const { return stop_requested_; }
  const std::string& stop_reason() const { return stop_reason_; }

 private:
  bool stop_requested_ = false;
  std::string stop_reason_;
};

// Every hook does nothing by default. fit() calls them in this order:
//   on_train_begin
//   per epoch: on_epoch_begin, per batch (on_batch_begin, step, on_batch_end),
//              validation, on_epoch_end (the epoch's record is history->back())
//   on_train_end (always, also after a stop; not after an exception)
// Callbacks run in the order given in FitOptions::callbacks, after the two fit() adds itself
// (the progress bar for verbose > 0, then the scheduler of FitOptions::scheduler).
class Callback {
 public:
  virtual ~Callback();
  virtual void on_train_begin(TrainState&) {}
  virtual void on_epoch_begin(TrainState&) {}
  virtual void on_batch_begin(TrainState&) {}
  virtual void on_batch_end(TrainState&) {}
  virtual void on_epoch_end(TrainState&) {}
  virtual void on_train_end(TrainState&) {}
};
using CallbackPtr = std::shared_ptr<Callback>;

}  // namespace sn::train
