// Learning-rate schedules with PyTorch 1.13 semantics: construction applies epoch 0, then one
// step() per epoch (after the optimizer's steps). They use the chainable (recursive) forms, so
// they compose with other changes of the lr. A scheduler keeps a pointer to its optimizer: keep
// the optimizer alive and in place while the scheduler is used. No per-epoch `epoch` argument.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one epoch and writes the new learning rates into the optimizer.
  void step();
  int64_t last_epoch() const { return last_epoch_; }
  // The learning rates set by the last step (PyTorch's get_last_lr()).
  const std::vector<double>& last_lr() const { return last_lr_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  const std::string& name() const { return name_; }

  // Counters and per-group rates: "last_epoch", "base_lr.<g>", "last_lr.<g>" (+ scheduler
  // specific). The options given at construction are not part of it.
  virtual std::map<std::string, double> state_dict() const;
  virtual void load_state_dict(const std::map<std::string, double>& state);

 protected:
  LRScheduler(Optimizer& optimizer, std::string name);
  // Applies epoch 0; each derived constructor calls it last (a base constructor cannot call
  // the derived compute_lr).
  void initial_step();
  // The learning rates for last_epoch_, given the optimizer's current ones.
  virtual std::vector<double> compute_lr() = 0;
  double group_lr(size_t g) const { return optimizer_->lr(g); }
  size_t num_groups() const { return optimizer_->num_param_groups(); }

  Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  std::vector<double> last_lr_;

 private:
  std::string name_;
};

// lr ×= gamma every step_size epochs.
struct StepLROptions {
  int64_t step_size = 0;  // required, >= 1
  double gamma = 0.1;
};
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, StepLROptions options);

 protected:
  std::vector<double> compute_lr() override;

 private:
  StepLROptions options_;
};

// lr ×= gamma at each milestone epoch (a milestone listed k times multiplies by gammaᵏ).
struct MultiStepLROptions {
  std::vector<int64_t> milestones = {};  // required, epochs >= 1
  double gamma = 0.1;
};
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, MultiStepLROptions options);

 protected:
  std::vector<double> compute_lr() override;

 private:
  MultiStepLROptions options_;
};

// lr ×= gamma every epoch.
struct ExponentialLROptions {
  double gamma = 0.0;  // required, > 0
};
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, ExponentialLROptions options);

 protected:
  std::vector<double> compute_lr() override;

 private:
  ExponentialLROptions options_;
};

// lr = eta_min + (base − eta_min)·(1 + cos(π·t / T_max)) / 2, continued periodically past T_max
// as PyTorch's recursive form does.
struct CosineAnnealingLROptions {
  int64_t T_max = 0;  // required, >= 1
  double eta_min = 0.0;
};
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options);

 protected:
  std::vector<double> compute_lr() override;

 private:
  CosineAnnealingLROptions options_;
};

// Linear warm-up (torch's LinearLR): the factor on the base lr goes linearly from start_factor
// to end_factor over total_iters epochs, then stays.
struct LinearWarmupOptions {
  double start_factor = 1.0 / 3;  // in (0, 1]
  double end_factor = 1.0;        // in [0, 1]
  int64_t total_iters = 5;        // >= 1
};
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, LinearWarmupOptions options = {});

 protected:
  std::vector<double> compute_lr() override;

 private:
  LinearWarmupOptions options_;
};
using LinearLR = LinearWarmup;

// Linear warm-up then a cosine to min_lr, stepped once per optimizer step (nanoGPT's and
// shared/reference/char_lm.py's schedule, in closed form): at step it
//   it < warmup:  lr = base · (it + 1) / (warmup + 1)
//   otherwise:    r = min(1, (it − warmup) / max(1, total_steps − warmup))
//                 lr = min_lr + (base − min_lr) · (1 + cos(π·r)) / 2
struct WarmupCosineLROptions {
  int64_t warmup = 0;       // >= 0
  int64_t total_steps = 0;  // required, >= 1
  double min_lr = 0.0;      // >= 0, the same for every group
};
class WarmupCosineLR : public LRScheduler {
 public:
  WarmupCosineLR(Optimizer& optimizer, WarmupCosineLROptions options);
  // The formula above for one base rate.
  static double lr_at(int64_t it, double base, const WarmupCosineLROptions& options);

 protected:
  std::vector<double> compute_lr() override;

 private:
  WarmupCosineLROptions options_;
};

// The 1cycle policy, stepped once per batch: lr rises from max_lr/div_factor to max_lr over
// pct_start of the steps, then anneals to max_lr/(div_factor·final_div_factor). With
// cycle_momentum the optimizer's "beta1" (Adam-like) or "momentum" moves the opposite way.
enum class Anneal { Cos, Linear };
struct OneCycleLROptions {
  double max_lr = 0.0;      // required, > 0
  int64_t total_steps = 0;  // or epochs × steps_per_epoch
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  double pct_start = 0.3;
  Anneal anneal = Anneal::Cos;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;  // a third phase back to the initial lr before the final anneal
};
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);
  int64_t total_steps() const { return total_steps_; }

 protected:
  std::vector<double> compute_lr() override;

 private:
  // One segment of the schedule; the lr ends index {initial, max, min}, the momentum ends
  // index {base, max}.
  struct Phase {
    double end_step;
    int start_lr, end_lr, start_momentum, end_momentum;
  };
  double anneal(double start, double end, double pct) const;
  OneCycleLROptions options_;
  int64_t total_steps_ = 0;
  std::vector<Phase> phases_;
  std::string momentum_name_;  // "beta1" or "momentum"; empty without cycle_momentum
};

// Several schedules on one optimizer, stepped together (torch's ChainedScheduler). Each of them
// multiplies the lr by its own factor (the chainable forms), so a LinearWarmup chained with a
// StepLR warms up and then steps. Make the main schedule first and the warm-up last, before any
// step: each scheduler takes the optimizer's lr at its construction as its base. The chain
// borrows the schedulers (keep them alive); its state holds theirs as "<i>.<key>", and its name
// lists theirs ("ChainedScheduler(StepLR,LinearWarmup)"), so a checkpoint of another chain is
// refused. OneCycleLR sets the lr outright and does not chain.
class ChainedScheduler : public LRScheduler {
 public:
  ChainedScheduler(Optimizer& optimizer, std::vector<LRScheduler*> schedulers);
  const std::vector<LRScheduler*>& schedulers() const { return schedulers_; }
  std::map<std::string, double> state_dict() const override;
  void load_state_dict(const std::map<std::string, double>& state) override;

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::vector<LRScheduler*> schedulers_;
};

// Cuts the lr by `factor` once a metric has stopped improving for `patience` epochs. Not an
// LRScheduler: step() takes the metric.
enum class PlateauMode { Min, Max };
enum class ThresholdMode { Rel, Abs };
struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::Min;
  double factor = 0.1;  // in [0, 1)
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::Rel;
  int64_t cooldown = 0;
  double min_lr = 0.0;               // for every group, unless min_lrs is given
  std::vector<double> min_lrs = {};  // one per group
  double eps = 1e-8;                 // changes smaller than this are skipped
};
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  void step(double metric);
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& last_lr() const { return last_lr_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }

  // "last_epoch", "best", "num_bad_epochs", "cooldown_counter", "last_lr.<g>".
  std::map<std::string, double> state_dict() const;
  void load_state_dict(const std::map<std::string, double>& state);

 private:
  bool is_better(double a, double best) const;
  Optimizer* optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> last_lr_;
};

// ReduceLROnPlateau as an LRScheduler, for code that steps and checkpoints one: each step()
// after the first (which applies epoch 0 and changes nothing) asks `metric` for the monitored
// value and steps the plateau logic with it. So it goes in FitOptions::scheduler (or a
// ChainedScheduler) and its counters travel in checkpoints as "plateau.<key>".
class PlateauScheduler : public LRScheduler {
 public:
  PlateauScheduler(Optimizer& optimizer, ReduceLROnPlateauOptions options,
                   std::function<double()> metric);
  const ReduceLROnPlateau& plateau() const { return *plateau_; }
  std::map<std::string, double> state_dict() const override;
  void load_state_dict(const std::map<std::string, double>& state) override;

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::unique_ptr<ReduceLROnPlateau> plateau_;
  std::function<double()> metric_;
};

}  // namespace sn::optim
