// Learning-rate schedulers: the stepping protocol (epoch 0 applied at construction, chainable
// per-epoch updates) and each schedule's formula, following torch.optim.lr_scheduler 1.13.
// ReduceLROnPlateau, which reacts to a metric instead of the epoch count, is at the end.
#include "sinapsis/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sn::optim {

namespace {
// Python's a % m for m > 0 (never negative), which the cosine recursion relies on.
int64_t py_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

double entry(const std::map<std::string, double>& s, const std::string& key, const char* who) {
  auto it = s.find(key);
  SN_CHECK(it != s.end(), ValueError, who, ": load_state_dict: missing entry '", key, "'");
  SN_CHECK(std::isfinite(it->second), ValueError, who, ": load_state_dict: '", key,
           "' is not finite (", it->second, ")");
  return it->second;
}

int64_t whole(double v, const char* who, const char* key) {
  SN_CHECK(v == std::floor(v) && std::fabs(v) < 9e15, ValueError, who, ": load_state_dict: '", key,
           "' must be a whole number (got ", v, ")");
  return static_cast<int64_t>(v);
}
}  // namespace

// ---------------------------------------------------------------- LRScheduler

LRScheduler::LRScheduler(Optimizer& optimizer, std::string name)
    : optimizer_(&optimizer), name_(std::move(name)) {
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

LRScheduler::~LRScheduler() = default;

void LRScheduler::initial_step() { step(); }

void LRScheduler::step() {
  SN_CHECK(num_groups() == base_lrs_.size(), ValueError, name_, ": the optimizer has ",
           num_groups(), " parameter groups, but the scheduler was made for ", base_lrs_.size(),
           "; hint: create the scheduler after adding every parameter group");
  ++last_epoch_;
  std::vector<double> lrs;
  try {
    lrs = compute_lr();
  } catch (...) {
    --last_epoch_;
    throw;
  }
  // A schedule stepped past its end can extrapolate below zero (OneCycleLR's linear anneal
  // does in PyTorch); a negative lr would ascend, so it stops at 0.
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_->set_lr(g, std::max(lrs[g], 0.0));
  last_lr_.clear();
  for (size_t g = 0; g < lrs.size(); ++g) last_lr_.push_back(optimizer_->lr(g));
}

std::map<std::string, double> LRScheduler::state_dict() const {
  std::map<std::string, double> s;
  s["last_epoch"] = static_cast<double>(last_epoch_);
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    s["base_lr." + std::to_string(g)] = base_lrs_[g];
    s["last_lr." + std::to_string(g)] = last_lr_[g];
  }
  return s;
}

void LRScheduler::load_state_dict(const std::map<std::string, double>& s) {
  const char* who = name_.c_str();
  const int64_t last_epoch = whole(entry(s, "last_epoch", who), who, "last_epoch");
  SN_CHECK(last_epoch >= 0, ValueError, name_, ": load_state_dict: last_epoch must be >= 0 (got ",
           last_epoch, ")");
  std::vector<double> base, last;
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    base.push_back(entry(s, "base_lr." + std::to_string(g), who));
    last.push_back(entry(s, "last_lr." + std::to_string(g), who));
  }
  for (const auto& [k, v] : s) {
    const bool known =
        k == "last_epoch" || k.rfind("base_lr.", 0) == 0 || k.rfind("last_lr.", 0) == 0;
    SN_CHECK(known, ValueError, name_, ": load_state_dict: unknown key '", k, "'");
  }
  SN_CHECK(s.size() == 1 + 2 * base_lrs_.size(), ValueError, name_,
           ": load_state_dict: the state is for a different number of parameter groups (",
           (s.size() - 1) / 2, " here ", base_lrs_.size(), ")");
  last_epoch_ = last_epoch;
  base_lrs_ = std::move(base);
  last_lr_ = std::move(last);
}

// ---------------------------------------------------------------- StepLR

StepLR::StepLR(Optimizer& optimizer, StepLROptions options)
    : LRScheduler(optimizer, "StepLR"), options_(options) {
  SN_CHECK(options_.step_size >= 1, ValueError, "StepLR: step_size must be >= 1 (got ",
           options_.step_size, ")");
  SN_CHECK(options_.gamma >= 0, ValueError, "StepLR: gamma must be >= 0 (got ", options_.gamma,
           ")");
  initial_step();
}

// lr ×= γ when the epoch is a positive multiple of step_size
std::vector<double> StepLR::compute_lr() {
  std::vector<double> lrs;
  const bool decay = last_epoch_ != 0 && last_epoch_ % options_.step_size == 0;
  for (size_t g = 0; g < num_groups(); ++g)
    lrs.push_back(decay ? group_lr(g) * options_.gamma : group_lr(g));
  return lrs;
}

// ---------------------------------------------------------------- MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& optimizer, MultiStepLROptions options)
    : LRScheduler(optimizer, "MultiStepLR"), options_(std::move(options)) {
  SN_CHECK(!options_.milestones.empty(), ValueError, "MultiStepLR: milestones are empty",
           "; hint: give the epochs at which to decay, e.g. {.milestones = {30, 80}}");
  for (int64_t m : options_.milestones)
    SN_CHECK(m >= 1, ValueError, "MultiStepLR: milestones must be >= 1 (got ", m, ")");
  SN_CHECK(options_.gamma >= 0, ValueError, "MultiStepLR: gamma must be >= 0 (got ", options_.gamma,
           ")");
  initial_step();
}

// lr ×= γᵏ at an epoch listed k times among the milestones
std::vector<double> MultiStepLR::compute_lr() {
  int64_t k = 0;
  for (int64_t m : options_.milestones) k += m == last_epoch_;
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g)
    lrs.push_back(k == 0 ? group_lr(g) : group_lr(g) * std::pow(options_.gamma, k));
  return lrs;
}

// ---------------------------------------------------------------- ExponentialLR

ExponentialLR::ExponentialLR(Optimizer& optimizer, ExponentialLROptions options)
    : LRScheduler(optimizer, "ExponentialLR"), options_(options) {
  SN_CHECK(options_.gamma > 0, ValueError, "ExponentialLR: gamma must be > 0 (got ", options_.gamma,
           "); hint: set it, e.g. {.gamma = 0.95}");
  initial_step();
}

std::vector<double> ExponentialLR::compute_lr() {
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g)
    lrs.push_back(last_epoch_ == 0 ? group_lr(g) : group_lr(g) * options_.gamma);
  return lrs;
}

// ---------------------------------------------------------------- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options)
    : LRScheduler(optimizer, "CosineAnnealingLR"), options_(options) {
  SN_CHECK(options_.T_max >= 1, ValueError, "CosineAnnealingLR: T_max must be >= 1 (got ",
           options_.T_max, ")");
  SN_CHECK(options_.eta_min >= 0, ValueError, "CosineAnnealingLR: eta_min must be >= 0 (got ",
           options_.eta_min, ")");
  initial_step();
}

// The recursive form: lrₜ = η + (lrₜ₋₁ − η)·(1 + cos(πt/T)) / (1 + cos(π(t−1)/T)); where the
// denominator vanishes (t − 1 ≡ T mod 2T) the curve restarts upward by (base − η)(1 − cos(π/T))/2.
std::vector<double> CosineAnnealingLR::compute_lr() {
  const double pi = std::numbers::pi, T = static_cast<double>(options_.T_max);
  const double eta = options_.eta_min, t = static_cast<double>(last_epoch_);
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g) {
    const double lr = group_lr(g);
    if (last_epoch_ == 0)
      lrs.push_back(lr);
    else if (py_mod(last_epoch_ - 1 - options_.T_max, 2 * options_.T_max) == 0)
      lrs.push_back(lr + (base_lrs_[g] - eta) * (1 - std::cos(pi / T)) / 2);
    else
      lrs.push_back((1 + std::cos(pi * t / T)) / (1 + std::cos(pi * (t - 1) / T)) * (lr - eta) +
                    eta);
  }
  return lrs;
}

// ---------------------------------------------------------------- WarmupCosineLR

WarmupCosineLR::WarmupCosineLR(Optimizer& optimizer, WarmupCosineLROptions options)
    : LRScheduler(optimizer, "WarmupCosineLR"), options_(options) {
  SN_CHECK(options_.total_steps >= 1, ValueError, "WarmupCosineLR: total_steps must be >= 1 (got ",
           options_.total_steps, ")");
  SN_CHECK(options_.warmup >= 0, ValueError, "WarmupCosineLR: warmup must be >= 0 (got ",
           options_.warmup, ")");
  SN_CHECK(options_.min_lr >= 0 && std::isfinite(options_.min_lr), ValueError,
           "WarmupCosineLR: min_lr must be finite and >= 0 (got ", options_.min_lr, ")");
  initial_step();
}

double WarmupCosineLR::lr_at(int64_t it, double base, const WarmupCosineLROptions& o) {
  if (it < o.warmup) return base * static_cast<double>(it + 1) / static_cast<double>(o.warmup + 1);
  const double ratio =
      std::min(1.0, static_cast<double>(it - o.warmup) /
                        static_cast<double>(std::max<int64_t>(1, o.total_steps - o.warmup)));
  return o.min_lr + 0.5 * (1.0 + std::cos(std::numbers::pi * ratio)) * (base - o.min_lr);
}

std::vector<double> WarmupCosineLR::compute_lr() {
  std::vector<double> out;
  for (double base : base_lrs_) out.push_back(lr_at(last_epoch_, base, options_));
  return out;
}

// ---------------------------------------------------------------- LinearWarmup

LinearWarmup::LinearWarmup(Optimizer& optimizer, LinearWarmupOptions options)
    : LRScheduler(optimizer, "LinearWarmup"), options_(options) {
  SN_CHECK(options_.start_factor > 0 && options_.start_factor <= 1, ValueError,
           "LinearWarmup: start_factor must be in (0, 1] (got ", options_.start_factor, ")");
  SN_CHECK(options_.end_factor >= 0 && options_.end_factor <= 1, ValueError,
           "LinearWarmup: end_factor must be in [0, 1] (got ", options_.end_factor, ")");
  SN_CHECK(options_.total_iters >= 1, ValueError, "LinearWarmup: total_iters must be >= 1 (got ",
           options_.total_iters, ")");
  initial_step();
}

// Epoch 0: lr·start; then lrₜ = lrₜ₋₁·(1 + (end − start) / (n·start + (t − 1)(end − start)))
// until t = n, which moves the factor linearly from start to end.
std::vector<double> LinearWarmup::compute_lr() {
  const double s = options_.start_factor, e = options_.end_factor;
  const double n = static_cast<double>(options_.total_iters);
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g) {
    const double lr = group_lr(g);
    if (last_epoch_ == 0)
      lrs.push_back(lr * s);
    else if (last_epoch_ > options_.total_iters)
      lrs.push_back(lr);
    else
      lrs.push_back(lr *
                    (1.0 + (e - s) / (n * s + static_cast<double>(last_epoch_ - 1) * (e - s))));
  }
  return lrs;
}

// ---------------------------------------------------------------- OneCycleLR

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleLROptions options)
    : LRScheduler(optimizer, "OneCycleLR"), options_(options) {
  const auto& o = options_;
  if (o.total_steps > 0) {
    total_steps_ = o.total_steps;
  } else {
    SN_CHECK(o.epochs > 0 && o.steps_per_epoch > 0, ValueError,
             "OneCycleLR: give total_steps, or epochs and steps_per_epoch, all > 0 (got "
             "total_steps ",
             o.total_steps, ", epochs ", o.epochs, ", steps_per_epoch ", o.steps_per_epoch, ")");
    total_steps_ = o.epochs * o.steps_per_epoch;
  }
  SN_CHECK(o.max_lr > 0, ValueError, "OneCycleLR: max_lr must be > 0 (got ", o.max_lr, ")");
  SN_CHECK(o.pct_start >= 0 && o.pct_start <= 1, ValueError,
           "OneCycleLR: pct_start must be in [0, 1] (got ", o.pct_start, ")");
  SN_CHECK(o.div_factor > 0, ValueError, "OneCycleLR: div_factor must be > 0 (got ", o.div_factor,
           ")");
  SN_CHECK(o.final_div_factor > 0, ValueError, "OneCycleLR: final_div_factor must be > 0 (got ",
           o.final_div_factor, ")");
  SN_CHECK(o.anneal == Anneal::Cos || o.anneal == Anneal::Linear, ValueError,
           "OneCycleLR: unknown anneal strategy (", static_cast<int>(o.anneal), ")");
  const double T = static_cast<double>(total_steps_);
  enum { kInitial = 0, kMax = 1, kMin = 2, kBase = 0 };
  if (o.three_phase)
    phases_ = {{o.pct_start * T - 1, kInitial, kMax, kMax, kBase},
               {2 * o.pct_start * T - 2, kMax, kInitial, kBase, kMax},
               {T - 1, kInitial, kMin, kMax, kMax}};
  else
    phases_ = {{o.pct_start * T - 1, kInitial, kMax, kMax, kBase},
               {T - 1, kMax, kMin, kBase, kMax}};
  if (o.cycle_momentum) {
    momentum_name_ = optimizer.has_option("beta1")      ? "beta1"
                     : optimizer.has_option("momentum") ? "momentum"
                                                        : "";
    SN_CHECK(!momentum_name_.empty(), ValueError, "OneCycleLR: cycle_momentum needs an optimizer ",
             "with momentum or betas, and ", optimizer.name(),
             " has neither; hint: set .cycle_momentum = false");
    for (size_t g = 0; g < num_groups(); ++g)
      optimizer.set_option(g, momentum_name_, o.max_momentum);
  }
  for (auto& b : base_lrs_) b = o.max_lr / o.div_factor;
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal == Anneal::Cos)
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::compute_lr() {
  const int64_t step_num = last_epoch_;
  SN_CHECK(step_num <= total_steps_, ValueError, "OneCycleLR: step() called ", step_num,
           " times, but total_steps is ", total_steps_,
           "; hint: total_steps must count every batch of every epoch");
  const double s = static_cast<double>(step_num);
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g) {
    const double initial = base_lrs_[g];
    const double lr_at[3] = {initial, options_.max_lr, initial / options_.final_div_factor};
    const double mom_at[2] = {options_.base_momentum, options_.max_momentum};
    double start_step = 0, lr = 0, momentum = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (s <= ph.end_step || i + 1 == phases_.size()) {
        SN_CHECK(ph.end_step != start_step, ValueError, "OneCycleLR: phase ", i,
                 " of the schedule is empty (it ends at step ", ph.end_step,
                 "); hint: change pct_start or total_steps");
        const double pct = (s - start_step) / (ph.end_step - start_step);
        lr = anneal(lr_at[ph.start_lr], lr_at[ph.end_lr], pct);
        momentum = anneal(mom_at[ph.start_momentum], mom_at[ph.end_momentum], pct);
        break;
      }
      start_step = ph.end_step;
    }
    lrs.push_back(lr);
    if (!momentum_name_.empty()) optimizer_->set_option(g, momentum_name_, momentum);
  }
  return lrs;
}

// ---------------------------------------------------------------- ChainedScheduler

namespace {
std::string chain_name(const std::vector<LRScheduler*>& ss) {
  std::string n = "ChainedScheduler(";
  for (size_t i = 0; i < ss.size(); ++i) {
    SN_CHECK(ss[i] != nullptr, ValueError, "ChainedScheduler: scheduler ", i, " is null");
    n += (i ? "," : "") + ss[i]->name();
  }
  return n + ")";
}
}  // namespace

ChainedScheduler::ChainedScheduler(Optimizer& optimizer, std::vector<LRScheduler*> schedulers)
    : LRScheduler(optimizer, chain_name(schedulers)), schedulers_(std::move(schedulers)) {
  SN_CHECK(!schedulers_.empty(), ValueError, "ChainedScheduler: no schedulers given");
  for (size_t i = 0; i < schedulers_.size(); ++i)
    SN_CHECK(schedulers_[i]->last_epoch() == 0, ValueError,
             "ChainedScheduler: ", schedulers_[i]->name(), " has been stepped already (last_epoch ",
             schedulers_[i]->last_epoch(), "); hint: chain the schedulers right after making them");
  // The parts applied epoch 0 when they were made: the chain starts there, without stepping.
  base_lrs_ = schedulers_.front()->base_lrs();
  last_epoch_ = 0;
  for (size_t g = 0; g < num_groups(); ++g) last_lr_.push_back(group_lr(g));
}

// Each part updates the optimizer's lr in turn; the chain's rates are what they leave.
std::vector<double> ChainedScheduler::compute_lr() {
  for (LRScheduler* s : schedulers_) s->step();
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g) lrs.push_back(group_lr(g));
  return lrs;
}

std::map<std::string, double> ChainedScheduler::state_dict() const {
  std::map<std::string, double> s = LRScheduler::state_dict();
  for (size_t i = 0; i < schedulers_.size(); ++i)
    for (const auto& [k, v] : schedulers_[i]->state_dict()) s[std::to_string(i) + "." + k] = v;
  return s;
}

void ChainedScheduler::load_state_dict(const std::map<std::string, double>& state) {
  std::map<std::string, double> own;
  std::vector<std::map<std::string, double>> parts(schedulers_.size());
  for (const auto& [k, v] : state) {
    const size_t dot = k.find('.');
    const bool digits =
        dot != std::string::npos && dot > 0 && dot <= 6 && k.find_first_not_of("0123456789") == dot;
    if (!digits) {
      own[k] = v;
      continue;
    }
    const size_t i = std::stoul(k.substr(0, dot));
    SN_CHECK(i < schedulers_.size(), ValueError, name(), ": load_state_dict: key '", k,
             "' is for scheduler ", i, " but the chain has ", schedulers_.size());
    parts[i][k.substr(dot + 1)] = v;
  }
  // Each part checks its own state as it loads it; should part i refuse, the parts before it
  // are put back, so a failed load changes nothing.
  const std::map<std::string, double> own_before = LRScheduler::state_dict();
  std::vector<std::map<std::string, double>> parts_before;
  for (LRScheduler* p : schedulers_) parts_before.push_back(p->state_dict());
  size_t loaded = 0;
  try {
    LRScheduler::load_state_dict(own);
    for (; loaded < schedulers_.size(); ++loaded)
      schedulers_[loaded]->load_state_dict(parts[loaded]);
  } catch (...) {
    for (size_t i = 0; i < loaded; ++i) schedulers_[i]->load_state_dict(parts_before[i]);
    LRScheduler::load_state_dict(own_before);
    throw;
  }
}

// ---------------------------------------------------------------- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(&optimizer), options_(std::move(options)) {
  const auto& o = options_;
  SN_CHECK(o.factor >= 0 && o.factor < 1, ValueError,
           "ReduceLROnPlateau: factor must be in [0, 1) (got ", o.factor, ")");
  SN_CHECK(o.patience >= 0, ValueError, "ReduceLROnPlateau: patience must be >= 0 (got ",
           o.patience, ")");
  SN_CHECK(o.cooldown >= 0, ValueError, "ReduceLROnPlateau: cooldown must be >= 0 (got ",
           o.cooldown, ")");
  SN_CHECK(o.threshold >= 0, ValueError, "ReduceLROnPlateau: threshold must be >= 0 (got ",
           o.threshold, ")");
  SN_CHECK(o.eps >= 0, ValueError, "ReduceLROnPlateau: eps must be >= 0 (got ", o.eps, ")");
  SN_CHECK(o.mode == PlateauMode::Min || o.mode == PlateauMode::Max, ValueError,
           "ReduceLROnPlateau: unknown mode (", static_cast<int>(o.mode), ")");
  SN_CHECK(o.threshold_mode == ThresholdMode::Rel || o.threshold_mode == ThresholdMode::Abs,
           ValueError, "ReduceLROnPlateau: unknown threshold_mode (",
           static_cast<int>(o.threshold_mode), ")");
  const size_t n = optimizer.num_param_groups();
  if (o.min_lrs.empty()) {
    min_lrs_.assign(n, o.min_lr);
  } else {
    SN_CHECK(o.min_lrs.size() == n, ValueError, "ReduceLROnPlateau: expected ", n,
             " min_lrs (one per parameter group), got ", o.min_lrs.size());
    min_lrs_ = o.min_lrs;
  }
  for (double m : min_lrs_)
    SN_CHECK(m >= 0, ValueError, "ReduceLROnPlateau: min_lr must be >= 0 (got ", m, ")");
  best_ = o.mode == PlateauMode::Min ? INFINITY : -INFINITY;
  for (size_t g = 0; g < n; ++g) last_lr_.push_back(optimizer.lr(g));
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const double th = options_.threshold;
  if (options_.mode == PlateauMode::Min)
    return options_.threshold_mode == ThresholdMode::Rel ? a < best * (1 - th) : a < best - th;
  return options_.threshold_mode == ThresholdMode::Rel ? a > best * (th + 1) : a > best + th;
}

void ReduceLROnPlateau::step(double metric) {
  SN_CHECK(optimizer_->num_param_groups() == min_lrs_.size(), ValueError,
           "ReduceLROnPlateau: the optimizer has ", optimizer_->num_param_groups(),
           " parameter groups, but the scheduler was made for ", min_lrs_.size());
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;  // a NaN metric counts as no improvement
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience) {
    for (size_t g = 0; g < min_lrs_.size(); ++g) {
      const double old_lr = optimizer_->lr(g);
      const double new_lr = std::max(old_lr * options_.factor, min_lrs_[g]);
      if (old_lr - new_lr > options_.eps) optimizer_->set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (size_t g = 0; g < min_lrs_.size(); ++g) last_lr_.push_back(optimizer_->lr(g));
}

std::map<std::string, double> ReduceLROnPlateau::state_dict() const {
  std::map<std::string, double> s;
  s["last_epoch"] = static_cast<double>(last_epoch_);
  if (std::isfinite(best_)) s["best"] = best_;  // absent: nothing seen yet (best is ±inf)
  s["num_bad_epochs"] = static_cast<double>(num_bad_epochs_);
  s["cooldown_counter"] = static_cast<double>(cooldown_counter_);
  for (size_t g = 0; g < last_lr_.size(); ++g) s["last_lr." + std::to_string(g)] = last_lr_[g];
  return s;
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, double>& s) {
  const char* who = "ReduceLROnPlateau";
  const int64_t last_epoch = whole(entry(s, "last_epoch", who), who, "last_epoch");
  const int64_t bad = whole(entry(s, "num_bad_epochs", who), who, "num_bad_epochs");
  const int64_t cooldown = whole(entry(s, "cooldown_counter", who), who, "cooldown_counter");
  SN_CHECK(last_epoch >= 0 && bad >= 0 && cooldown >= 0, ValueError, who,
           ": load_state_dict: counters must be >= 0 (last_epoch ", last_epoch, ", num_bad_epochs ",
           bad, ", cooldown_counter ", cooldown, ")");
  const bool has_best = s.count("best") != 0;
  const double best =
      has_best ? entry(s, "best", who) : (options_.mode == PlateauMode::Min ? INFINITY : -INFINITY);
  std::vector<double> last;
  for (size_t g = 0; g < min_lrs_.size(); ++g)
    last.push_back(entry(s, "last_lr." + std::to_string(g), who));
  for (const auto& [k, v] : s) {
    const bool known = k == "last_epoch" || k == "best" || k == "num_bad_epochs" ||
                       k == "cooldown_counter" || k.rfind("last_lr.", 0) == 0;
    SN_CHECK(known, ValueError, who, ": load_state_dict: unknown key '", k, "'");
  }
  SN_CHECK(s.size() == 3 + (has_best ? 1 : 0) + min_lrs_.size(), ValueError, who,
           ": load_state_dict: the state is for a different number of parameter groups");
  last_epoch_ = last_epoch, num_bad_epochs_ = bad, cooldown_counter_ = cooldown, best_ = best;
  last_lr_ = std::move(last);
}

// ---------------------------------------------------------------- PlateauScheduler

PlateauScheduler::PlateauScheduler(Optimizer& optimizer, ReduceLROnPlateauOptions options,
                                   std::function<double()> metric)
    : LRScheduler(optimizer, "PlateauScheduler"),
      plateau_(std::make_unique<ReduceLROnPlateau>(optimizer, std::move(options))),
      metric_(std::move(metric)) {
  SN_CHECK(metric_ != nullptr, ValueError, "PlateauScheduler: the metric function is empty");
  initial_step();
}

// Epoch 0 keeps the rates; later epochs hand the metric to ReduceLROnPlateau, which cuts the
// optimizer's lr itself.
std::vector<double> PlateauScheduler::compute_lr() {
  if (last_epoch_ > 0) plateau_->step(metric_());
  std::vector<double> lrs;
  for (size_t g = 0; g < num_groups(); ++g) lrs.push_back(group_lr(g));
  return lrs;
}

std::map<std::string, double> PlateauScheduler::state_dict() const {
  std::map<std::string, double> s = LRScheduler::state_dict();
  for (const auto& [k, v] : plateau_->state_dict()) s["plateau." + k] = v;
  return s;
}

void PlateauScheduler::load_state_dict(const std::map<std::string, double>& state) {
  std::map<std::string, double> own, inner;
  for (const auto& [k, v] : state) {
    if (k.rfind("plateau.", 0) == 0)
      inner[k.substr(8)] = v;
    else
      own[k] = v;
  }
  const std::map<std::string, double> own_before = LRScheduler::state_dict();
  LRScheduler::load_state_dict(own);
  try {
    plateau_->load_state_dict(inner);
  } catch (...) {
    LRScheduler::load_state_dict(own_before);
    throw;
  }
}

}  // namespace sn::optim
