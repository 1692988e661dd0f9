// fit_steps(): training by optimizer steps on batches a function hands out (language models),
// with evaluations between periods of steps and, as an option, a model state carried from
// step to step (truncated backpropagation through time). The callbacks of fit() work
// unchanged: a period between evaluations plays the part of an epoch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <sstream>

#include "sinapsis/autograd/anomaly.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/value.h"
#include "sinapsis/optim/clip.h"
#include "sinapsis/train/callbacks.h"
#include "sinapsis/train/fit.h"
#include "train/divergence.h"
#include "train/json_util.h"

namespace sn::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void check_options(const StepFitOptions& o) {
  SN_CHECK(o.steps >= 1, ValueError, "fit_steps: steps must be >= 1 (got ", o.steps, ")");
  SN_CHECK(o.eval_every >= 0, ValueError, "fit_steps: eval_every must be >= 0 (got ", o.eval_every,
           ")");
  SN_CHECK(o.clip_grad_norm >= 0, ValueError, "fit_steps: clip_grad_norm must be >= 0 (got ",
           o.clip_grad_norm, ")");
  SN_CHECK(o.state_period >= 0, ValueError, "fit_steps: state_period must be >= 0 (got ",
           o.state_period, ")");
  SN_CHECK(o.initial_step >= 0 && o.initial_step <= o.steps, ValueError,
           "fit_steps: need 0 <= initial_step <= steps (got initial_step ", o.initial_step,
           ", steps ", o.steps, ")");
}

// The progress bar (verbose > 0 and none given), the scheduler per step, then the user's.
std::vector<CallbackPtr> step_callbacks(const StepFitOptions& o) {
  std::vector<CallbackPtr> cbs;
  bool have_bar = false;
  for (const auto& c : o.callbacks) {
    SN_CHECK(c, ValueError, "fit_steps: a callback is null");
    have_bar = have_bar || dynamic_cast<ProgressBar*>(c.get()) != nullptr;
  }
  if (o.verbose > 0 && !have_bar)
    cbs.push_back(std::make_shared<ProgressBar>(
        ProgressBarOptions{.live = o.verbose == 1 ? Live::Auto : Live::Never}));
  if (o.scheduler)
    cbs.push_back(std::make_shared<LRSchedulerCallback>(*o.scheduler, SchedulerStep::Batch));
  cbs.insert(cbs.end(), o.callbacks.begin(), o.callbacks.end());
  return cbs;
}

// What one period of steps needs besides the options.
struct StepLoop {
  nn::Module& model;
  const LossFn& loss_fn;
  optim::Optimizer& opt;
  const BatchFn& next_batch;
  const StepFitOptions& o;
  std::vector<CallbackPtr> cbs;
  std::vector<Tensor> params;
  std::vector<Tensor> state;  // carried between steps (truncated BPTT)
  TrainState s;
  std::vector<Tensor> state_in;  // the state the current step started from
  std::string diverged;          // stop_on_nonfinite: why the run stopped
  detail::BlowupGuard blowup;
};

// The model's output for batch input x from the state `state` (truncated BPTT) or none.
Tensor run_model(StepLoop& L, const Tensor& x, const std::vector<Tensor>& state,
                 std::vector<Tensor>* next_state) {
  if (L.o.state_period == 0) return L.model(x);
  std::vector<Tensor> in{x};
  in.insert(in.end(), state.begin(), state.end());
  nn::Value v = L.model.call(nn::Value(std::move(in)));
  if (next_state) *next_state = v.rest();
  return v[0];
}

// One optimizer step on batch b; returns the loss before the update.
double train_step(StepLoop& L, const data::Example& b) {
  if (L.o.state_period > 0 && L.s.step % L.o.state_period == 0) L.state.clear();
  double lv = kNaN;
  bool first = true;
  L.state_in = L.state;
  auto closure = [&]() -> Tensor {
    L.opt.zero_grad();
    std::vector<Tensor> next;
    Tensor out = run_model(L, b.x, L.state_in, first ? &next : nullptr);
    if (first && L.o.state_period > 0) {  // LBFGS evaluates several times: the state moves on
      L.state = next;                     // once per step
      for (auto& t : L.state)
        if (t.defined()) t = t.detach();
    }
    Tensor loss = L.loss_fn(out, b.y);
    SN_CHECK(loss.defined() && loss.numel() == 1, ShapeError,
             "fit_steps: the loss function must return a scalar");
    const double v = loss.item();
    if (first) lv = v;
    if (L.o.stop_on_nonfinite) {
      // the first evaluation of a step is its loss; LBFGS's line search may try worse ones
      if (first)
        L.blowup.check(v);
      else if (!std::isfinite(v))
        throw detail::NonFiniteLoss{v, ""};
    }
    first = false;
    loss.backward();
    if (L.o.clip_grad_norm > 0) optim::clip_grad_norm_(L.params, L.o.clip_grad_norm);
    return loss;
  };
  L.opt.step(closure);
  return lv;
}

// Runs the steps [begin, end) as period `p`; returns its record (validation not yet in it).
EpochRecord run_period(StepLoop& L, int64_t p, int64_t begin, int64_t end) {
  EpochRecord rec;
  rec.epoch = p;
  rec.lr = L.opt.lr(0);
  L.s.epoch = p;
  L.s.num_batches = end - begin;
  L.s.running_metrics.clear();
  L.s.batch_loss = L.s.running_loss = kNaN;
  for (auto& c : L.cbs) c->on_epoch_begin(L.s);
  double train_s = 0, loss_sum = 0;
  int64_t tokens = 0;
  for (int64_t i = begin; i < end && !L.s.stop_requested(); ++i) {
    const auto t0 = Clock::now();
    L.s.step = i;
    L.s.batch = i - begin;
    data::Example b = L.next_batch(i);
    L.s.batch_size = b.x.dim() > 0 ? b.x.size(0) : 1;
    for (auto& c : L.cbs) c->on_batch_begin(L.s);
    double lv = kNaN;
    try {
      lv = train_step(L, b);
    } catch (const detail::NonFiniteLoss& nf) {
      // nothing was stepped: the weights are those that gave the non-finite loss
      std::ostringstream why;
      why << "fit_steps: the loss is "
          << (nf.blowup.empty() ? detail::format_number(nf.loss) : detail::short_number(nf.loss))
          << " at step " << i + 1 << " (of " << L.o.steps << "); ";
      if (!nf.blowup.empty())
        why << nf.blowup << "; " << detail::largest_parameter(L.model);
      else
        why << detail::diagnose_nonfinite(
            L.model, b.x, [&] { (void)L.loss_fn(run_model(L, b.x, L.state_in, nullptr), b.y); });
      L.diverged = why.str();
      L.s.diverged = true;
      L.s.request_stop(L.diverged);
      break;
    }
    train_s += seconds_since(t0);
    tokens += b.x.numel();
    loss_sum += lv;
    ++rec.batches;
    rec.examples += L.s.batch_size;
    ++L.s.global_step;
    L.s.batch_loss = lv;
    L.s.running_loss = loss_sum / static_cast<double>(rec.batches);
    L.s.running_metrics["tokens_per_s"] = static_cast<double>(tokens) / std::max(train_s, 1e-9);
    for (auto& c : L.cbs) c->on_batch_end(L.s);
  }
  L.s.step = end;
  rec.loss = L.s.running_loss;
  rec.metrics = L.s.running_metrics;
  rec.metrics["train_time"] = train_s;
  rec.completed = !L.s.stop_requested();
  return rec;
}

void validate_into(StepLoop& L, EpochRecord& rec) {
  if (!L.o.validate || !rec.completed) return;
  const bool was_training = L.model.is_training();
  L.model.eval();
  try {
    NoGradGuard ng;
    rec.val_loss = L.o.validate(L.model);
  } catch (...) {
    L.model.train(was_training);
    throw;
  }
  L.model.train(was_training);
  rec.has_validation = true;
}

}  // namespace

History fit_steps(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& opt,
                  const BatchFn& next_batch, const StepFitOptions& options) {
  SN_CHECK(loss_fn, ValueError, "fit_steps: loss_fn is empty");
  SN_CHECK(next_batch, ValueError, "fit_steps: the batch function is empty");
  check_options(options);
  const int64_t every = options.eval_every > 0 ? options.eval_every : options.steps;
  const int64_t periods = options.steps / every + (options.steps % every != 0);  // no overflow
  const int64_t first = options.initial_step / every;

  History history = options.initial_history;
  std::erase_if(history.epochs, [&](const EpochRecord& e) { return e.epoch >= first; });
  history.stopped_early = false;
  history.stop_reason.clear();
  history.monitor = options.validate ? "val_loss" : "loss";
  history.best_epoch = history.best(history.monitor);

  StepLoop L{model,
             loss_fn,
             opt,
             next_batch,
             options,
             step_callbacks(options),
             opt.parameters(),
             {},
             {},
             {},
             {},
             detail::BlowupGuard(options.blowup_factor, history)};
  L.s.model = &model;
  L.s.optimizer = &opt;
  L.s.scheduler = options.scheduler;
  L.s.history = &history;
  L.s.epochs = periods;
  L.s.initial_epoch = first;
  L.s.steps = options.steps;
  L.s.step = options.initial_step;
  L.s.has_validation = static_cast<bool>(options.validate);
  model.train();
  for (auto& c : L.cbs) c->on_train_begin(L.s);

  for (int64_t p = first; p < periods && !L.s.stop_requested(); ++p) {
    const auto t0 = Clock::now();
    const int64_t begin = std::max(p * every, options.initial_step);
    const int64_t end = p + 1 == periods ? options.steps : (p + 1) * every;  // <= steps
    EpochRecord rec = run_period(L, p, begin, end);
    validate_into(L, rec);
    if (rec.completed && options.stop_on_nonfinite) {
      std::ostringstream why;
      if (!detail::parameters_finite(model))
        why << "fit_steps: the parameters are no longer finite after step " << L.s.step << "; "
            << detail::diagnose_nonfinite(model, Tensor(), nullptr);
      else if (rec.has_validation && !std::isfinite(rec.val_loss))
        why << "fit_steps: the validation loss is " << detail::format_number(rec.val_loss)
            << " after step " << L.s.step;
      if (!why.str().empty()) {
        L.diverged = why.str();
        L.s.diverged = true;
        L.s.request_stop(L.diverged);
        rec.completed = false;
      }
    }
    rec.seconds = seconds_since(t0);
    const bool completed = rec.completed;
    history.epochs.push_back(std::move(rec));
    history.best_epoch = history.best(history.monitor);
    if (completed)
      for (auto& c : L.cbs) c->on_epoch_end(L.s);
  }
  history.stopped_early = L.s.stop_requested();
  history.stop_reason = L.s.stop_reason();
  for (auto& c : L.cbs) c->on_train_end(L.s);
  model.train();
  if (!L.diverged.empty()) throw DivergenceError(L.diverged);
  return history;
}

}  // namespace sn::train
