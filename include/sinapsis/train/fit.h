// fit(): the Keras-style training loop (epochs of batches, optional validation, metrics,
// callbacks, an LR scheduler, resume from an epoch), fit_steps() (a number of optimizer steps on
// batches a function hands out, as language models train), evaluate() and predict(). They own
// no model, optimizer or data: they borrow them for the call. Checkpoints are in checkpoint.h.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/data/loader.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/optim/optimizer.h"
#include "sinapsis/optim/scheduler.h"
#include "sinapsis/train/callback.h"
#include "sinapsis/train/history.h"
#include "sinapsis/train/metrics.h"

namespace sn::train {

// Thrown by fit() and fit_steps() with stop_on_nonfinite when a loss turns NaN or Inf or blows up
// (see blowup_factor), after the callbacks' on_train_end (the epoch or period it happened in is
// abandoned: no checkpoint of it).
// The message names the epoch and batch (or step), the first op with a non-finite output (the
// batch run again in anomaly mode) and the parameters that are already non-finite, e.g.
//   fit: the loss is nan at epoch 2, batch 17 (of 422); the first op with a non-finite output:
//   AddmmBackward produced inf in its output (shape [128, 512])
class DivergenceError : public ValueError {
 public:
  using ValueError::ValueError;
};

// The batch loss: model output and target in, a scalar (the MEAN over the batch) out. fit
// weights batch losses by batch size, so the epoch loss is the mean over examples.
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

// When FitOptions::scheduler steps.
enum class SchedulerStep { Epoch, Batch };

struct FitOptions {
  // Training ends before this epoch index (Keras semantics): with initial_epoch = 3 and
  // epochs = 10, epochs 3..9 run.
  int64_t epochs = 1;
  // Validation data, evaluated after every epoch (eval mode, no grad). Either a loader...
  data::DataLoader* validation = nullptr;
  // ...or a fraction in (0, 1) of the training dataset held out for validation (a fixed split
  // drawn from validation_seed, so a resumed run holds out the same examples). fit then trains
  // on the rest with a loader built from the training loader's options.
  double validation_split = 0.0;
  uint64_t validation_seed = 0;
  // Computed on training batches (as the epoch runs) and on validation data. Each is cloned,
  // so the objects given here are not changed.
  std::vector<MetricPtr> metrics{};
  std::vector<CallbackPtr> callbacks{};
  // Optional; stepped after each epoch (before the user's callbacks see on_epoch_end) or after
  // each batch. For ReduceLROnPlateau use LRSchedulerCallback.
  optim::LRScheduler* scheduler = nullptr;
  SchedulerStep scheduler_step = SchedulerStep::Epoch;
  // Clip the total gradient norm before each step (0: off).
  double clip_grad_norm = 0.0;
  // Resume: the first epoch to run, and the history of the epochs before it (from
  // load_checkpoint), which the returned History and the callbacks continue.
  int64_t initial_epoch = 0;
  History initial_history{};
  // The quantity History::best_epoch is chosen by; empty: "val_loss" with validation, else
  // "loss".
  std::string monitor{};
  // 0 silent, 1 progress bar (live on a terminal, one line per epoch otherwise), 2 one line
  // per epoch. Ignored when callbacks already hold a ProgressBar.
  int verbose = 1;
  // Stop at the first batch whose loss is NaN or Inf, without stepping on it, and throw
  // DivergenceError (see above); also when an epoch ends with non-finite parameters or a
  // non-finite validation loss. Off: the loop goes on, as PyTorch's would (see TerminateOnNaN).
  // A non-finite gradient shows as non-finite parameters (at the epoch's end) or as a
  // non-finite loss on the next batch, whichever comes first.
  bool stop_on_nonfinite = false;
  // Data-parallel training (sinapsis/distributed): every rank calls fit at once with its shard
  // of the data (LoaderOptions::num_shards, distributed::shard_options) and the model attached
  // to a DistributedDataParallel. fit then all-reduces each batch's loss before backward (the
  // reported loss and stop_on_nonfinite see the global batch), the epoch's training and
  // validation metrics (means weighted by examples) and stop requests after every batch, so
  // every rank stops at the same step. Give callbacks that write files (progress, logs,
  // checkpoints) to rank 0 only, and verbose = 0 elsewhere.
  bool distributed = false;
  // With stop_on_nonfinite, a finite blow-up stops the run the same way: a batch loss above
  // blowup_factor times the run's reference loss, the larger of its first batch loss and the
  // first epoch's loss in initial_history (a resumed run keeps its reference), when that
  // reference is positive. Cross-entropy starts near ln(classes) and never legitimately climbs
  // a hundredfold above it; at --lr 1e30 it reaches 1e28 while every value stays finite (its
  // gradient is bounded). 0: only non-finite values stop.
  double blowup_factor = 100.0;
};

// Trains `model` with `opt` on `train` for the epochs in [initial_epoch, epochs). Each batch:
// on_batch_begin, optimizer step with a closure that zeroes gradients, runs the model (train
// mode), computes loss_fn and backpropagates (clipping if asked), on_batch_end. Shuffled
// loaders continue where an interrupted run left off: fit sets the loader's epoch counter to
// the epoch index, and checkpoints restore sn's global generator. The model is left in train
// mode. With a fixed seed and one thread, a run resumed from a checkpoint gives the same numbers
// as one that never stopped.
History fit(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& opt,
            data::DataLoader& train, const FitOptions& options = {});

// ---- step-based training ----
// The batch of step i (absolute: a resumed run continues the count). x goes into the model,
// y into the loss.
using BatchFn = std::function<data::Example(int64_t step)>;

struct StepFitOptions {
  int64_t steps = 1000;  // optimizer steps in all (training ends before step `steps`)
  // A validation loss every eval_every steps and after the last step (0: only after the last).
  // Callbacks see each such period of steps as an "epoch": TrainState::epoch is the period's
  // index, History holds one record per period (its loss the mean over the period's steps),
  // ModelCheckpoint saves after each period, a resumed run starts at a period boundary.
  int64_t eval_every = 0;
  // The validation loss of `model`, called in eval mode under NoGradGuard; empty: none.
  std::function<double(nn::Module&)> validate{};
  std::vector<CallbackPtr> callbacks{};
  // Stepped after every optimizer step (e.g. optim::WarmupCosineLR).
  optim::LRScheduler* scheduler = nullptr;
  double clip_grad_norm = 0.0;  // total gradient norm before each step (0: off)
  // Truncated backpropagation through time (0: off). On: each step runs
  // model.call({x, state...}), takes item 0 as the output and keeps items 1.. detached as the
  // state of the next step; the state restarts from nothing (zero) at every step that is a
  // multiple of state_period (where the batch function's streams wrap). A resumed run starts
  // from a zero state. Off: model(x), every step from a zero state.
  int64_t state_period = 0;
  // Resume: the first step (a multiple of eval_every, from the checkpoint's epoch) and the
  // history before it.
  int64_t initial_step = 0;
  History initial_history{};
  int verbose = 1;  // as FitOptions::verbose
  // As FitOptions::stop_on_nonfinite: DivergenceError naming the step; a non-finite validation
  // loss or parameters at the end of a period stop too.
  bool stop_on_nonfinite = false;
  double blowup_factor = 100.0;  // as FitOptions::blowup_factor (periods for epochs)
};

// Trains for the steps [initial_step, steps). Records per period: "loss", the metrics
// "tokens_per_s" (input elements per second of training) and "train_time" (seconds of the
// period without validation), and "val_loss" when options.validate is given. The model is left
// in train mode.
History fit_steps(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& opt,
                  const BatchFn& next_batch, const StepFitOptions& options = {});

struct EvalResult {
  double loss = 0;                          // mean over examples (NaN without a loss_fn)
  std::map<std::string, double> metrics{};  // by metric name
  int64_t examples = 0;
};

// One pass over `loader` in eval mode under NoGradGuard (the model's mode is restored after).
// `metrics` are reset and updated in place, so e.g. a ConfusionMatrix can be printed afterwards.
// loss_fn may be empty (loss is NaN then).
EvalResult evaluate(nn::Module& model, const LossFn& loss_fn, data::DataLoader& loader,
                    const std::vector<MetricPtr>& metrics = {});

// The model's outputs for every batch of `loader`, concatenated along dim 0, in eval mode under
// NoGradGuard (mode restored after). Targets in the loader are ignored.
Tensor predict(nn::Module& model, data::DataLoader& loader);
// The same for an input tensor (examples along dim 0), in chunks of batch_size (0: at once).
Tensor predict(nn::Module& model, const Tensor& x, int64_t batch_size = 0);

}  // namespace sn::train
