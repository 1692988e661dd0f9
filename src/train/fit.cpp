// The training loop (fit), evaluate and predict, and the small pieces of callback.h that are
// not inline. fit only sequences things: stepping, metrics, validation and bookkeeping; what
// to print, save or stop on is left to the callbacks.
#include "sinapsis/train/fit.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <sstream>

#include "sinapsis/autograd/anomaly.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/distributed/distributed.h"
#include "sinapsis/ops/ops.h"
#include "sinapsis/optim/clip.h"
#include "sinapsis/train/callbacks.h"
#include "train/divergence.h"
#include "train/json_util.h"

namespace sn::train {

void TrainState::request_stop(const std::string& reason) {
  if (stop_requested_) return;
  stop_requested_ = true;
  stop_reason_ = reason;
}

Callback::~Callback() = default;

namespace detail {

namespace {
bool finite_tensor(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return true;
  NoGradGuard ng;
  return std::isfinite(max(abs(t.detach())).item());  // max propagates NaN
}
}  // namespace

bool parameters_finite(const nn::Module& model) {
  for (const auto& [name, p] : model.named_parameters())
    if (!finite_tensor(p)) return false;
  return true;
}

std::string diagnose_nonfinite(nn::Module& model, const Tensor& inputs,
                               const std::function<void()>& forward) {
  std::string out;
  std::string bad;
  int nbad = 0;
  for (const auto& [name, p] : model.named_parameters())
    if (!finite_tensor(p) && nbad++ < 5) bad += (bad.empty() ? "" : ", ") + name;
  if (nbad > 5) bad += " and " + std::to_string(nbad - 5) + " more";
  if (!forward) return "non-finite parameters: " + bad;
  if (!finite_tensor(inputs)) out = "the batch's inputs hold NaN or Inf; ";
  try {
    autograd::AnomalyModeGuard on;
    EnableGradGuard grad;
    forward();
    out += "no op reported a non-finite output on a second run";
  } catch (const AnomalyError& e) {
    std::string what = e.what();
    const std::string prefix = "anomaly: ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    out += "the first op with a non-finite output: " + what;
  } catch (const NonFiniteLoss&) {
    out += "no op reported a non-finite output on a second run";
  }
  if (nbad > 0) out += "; parameters already non-finite: " + bad;
  return out;
}

std::string short_number(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

BlowupGuard::BlowupGuard(double factor, const History& before)
    : factor_(factor), reference_(std::numeric_limits<double>::quiet_NaN()) {
  SN_CHECK(factor >= 0 && std::isfinite(factor), ValueError,
           "fit: blowup_factor must be finite and >= 0 (got ", factor, ")");
  if (!before.empty() && std::isfinite(before.epochs.front().loss))
    reference_ = before.epochs.front().loss;
}

void BlowupGuard::check(double loss) {
  if (!std::isfinite(loss)) throw NonFiniteLoss{loss, ""};
  if (factor_ > 0 && reference_ > 0 && loss > factor_ * reference_) {  // false while NaN
    std::ostringstream why;
    why << "more than " << short_number(factor_) << " times the run's first loss "
        << short_number(reference_) << ": the run blew up";
    throw NonFiniteLoss{loss, why.str()};
  }
  if (!seen_first_) {
    seen_first_ = true;
    if (!(reference_ >= loss)) reference_ = loss;  // NaN (no history) or lower
  }
}

std::string largest_parameter(const nn::Module& model) {
  NoGradGuard ng;
  double top = -1;
  std::string where;
  for (const auto& [name, p] : model.named_parameters()) {
    if (!p.defined() || !is_floating(p.dtype()) || p.numel() == 0) continue;
    const double m = max(abs(p.detach())).item();
    if (!(m <= top)) {
      top = m;
      where = name;
    }
  }
  if (where.empty()) return "";
  return "the largest parameter magnitude: " + short_number(top) + " (" + where + ")";
}

}  // namespace detail

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Puts a model into eval mode for a scope and back into the mode it had, also on exceptions.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(nn::Module& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalModeGuard() { m_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  nn::Module& m_;
  bool was_training_;
};

int64_t batch_size_of(const data::Example& b) { return b.x.dim() > 0 ? b.x.size(0) : 1; }

double scalar_loss(const Tensor& loss, const char* op) {
  SN_CHECK(loss.defined(), ValueError, op, ": the loss function returned an undefined tensor");
  SN_CHECK(loss.numel() == 1, ShapeError, op,
           ": the loss function must return a scalar (got shape ", loss.shape(),
           "); hint: reduce the per-example losses with mean()");
  return loss.item();
}

// Where a model runs: its parameters' device (the CPU for a model without parameters). Batches
// come from the loaders on the CPU and move there; outputs come back for the metrics.
Device model_device(nn::Module& model) {
  for (const Tensor& p : model.parameters()) return p.device();
  return kCPU;
}

// The loop of evaluate(), without touching the model's mode (the caller has set eval mode).
EvalResult run_eval(nn::Module& model, const LossFn& loss_fn, data::DataLoader& loader,
                    const std::vector<Metric*>& metrics) {
  NoGradGuard ng;
  MeanLoss ml;
  EvalResult r;
  const Device dev = model_device(model);
  for (Metric* m : metrics) m->reset();
  for (auto& batch : loader) {
    Tensor out = model(batch.x.to(dev));
    const int64_t bs = batch_size_of(batch);
    if (loss_fn) ml.update(scalar_loss(loss_fn(out, batch.y.to(dev)), "evaluate"), bs);
    if (!metrics.empty()) out = out.to(kCPU);
    for (Metric* m : metrics) m->update(out, batch.y);
    r.examples += bs;
  }
  r.loss = loss_fn ? ml.value() : kNaN;
  for (Metric* m : metrics) r.metrics[m->name()] = m->value();
  return r;
}

// Data-parallel fit: a loss and metrics over every rank's examples (weighted means). NaN stays
// NaN (a metric with no update on some rank poisons the mean, as it should be visible).
void all_reduce_means(double& loss, std::map<std::string, double>& metrics, int64_t examples) {
  std::vector<double> v{loss * static_cast<double>(examples), static_cast<double>(examples)};
  for (auto& [name, m] : metrics) v.push_back(m * static_cast<double>(examples));
  Tensor t = tensor(v, {static_cast<int64_t>(v.size())}, {.dtype = kFloat64});
  distributed::all_reduce(t);
  const std::vector<double> r = t.to_vector();
  const double n = r[1] > 0 ? r[1] : 1;
  loss = r[0] / n;
  size_t i = 2;
  for (auto& [name, m] : metrics) m = r[i++] / n;
}

std::vector<Metric*> raw(const std::vector<std::unique_ptr<Metric>>& ms) {
  std::vector<Metric*> out;
  for (const auto& m : ms) out.push_back(m.get());
  return out;
}

}  // namespace

History fit(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& opt,
            data::DataLoader& train, const FitOptions& options) {
  SN_CHECK(loss_fn, ValueError, "fit: loss_fn is empty");
  SN_CHECK(options.initial_epoch >= 0 && options.initial_epoch <= options.epochs, ValueError,
           "fit: need 0 <= initial_epoch <= epochs (got initial_epoch ", options.initial_epoch,
           ", epochs ", options.epochs, ")");
  SN_CHECK(options.validation_split >= 0 && options.validation_split < 1, ValueError,
           "fit: validation_split must be in [0, 1) (got ", options.validation_split, ")");
  SN_CHECK(!(options.validation && options.validation_split > 0), ValueError,
           "fit: give either a validation loader or a validation_split, not both");
  SN_CHECK(options.clip_grad_norm >= 0, ValueError, "fit: clip_grad_norm must be >= 0 (got ",
           options.clip_grad_norm, ")");

  // ---- data ----
  std::unique_ptr<data::DataLoader> own_train, own_val;
  data::DataLoader* tl = &train;
  data::DataLoader* vl = options.validation;
  if (options.validation_split > 0) {
    auto split = data::train_validation_split(train.dataset_ptr(), options.validation_split,
                                              options.validation_seed);
    SN_CHECK(split.validation->size() > 0 && split.train->size() > 0, ValueError,
             "fit: validation_split ", options.validation_split, " of ", train.dataset().name(),
             " leaves ", split.train->size(), " training and ", split.validation->size(),
             " validation examples; both need at least one");
    own_train = std::make_unique<data::DataLoader>(split.train, train.options());
    data::LoaderOptions vo = train.options();
    vo.shuffle = false;
    vo.drop_last = false;
    own_val = std::make_unique<data::DataLoader>(split.validation, vo);
    tl = own_train.get();
    vl = own_val.get();
  }
  SN_CHECK(tl->size() > 0, ValueError, "fit: the training loader has no batches (",
           tl->dataset().name(), " holds ", tl->dataset().size(), " examples, batch_size ",
           tl->options().batch_size, tl->options().drop_last ? ", drop_last" : "", ")");

  // ---- metrics: private copies for training and validation ----
  std::vector<std::unique_ptr<Metric>> train_metrics, val_metrics;
  for (const auto& m : options.metrics) {
    SN_CHECK(m, ValueError, "fit: a metric is null");
    for (const auto& have : train_metrics)
      SN_CHECK(have->name() != m->name(), ValueError, "fit: two metrics are named '", m->name(),
               "'");
    train_metrics.push_back(m->clone());
    val_metrics.push_back(m->clone());
  }

  // ---- callbacks: progress bar, scheduler, then the user's ----
  std::vector<CallbackPtr> cbs;
  bool have_bar = false;
  for (const auto& c : options.callbacks) {
    SN_CHECK(c, ValueError, "fit: a callback is null");
    have_bar = have_bar || dynamic_cast<ProgressBar*>(c.get()) != nullptr;
  }
  if (options.verbose > 0 && !have_bar)
    cbs.push_back(std::make_shared<ProgressBar>(
        ProgressBarOptions{.live = options.verbose == 1 ? Live::Auto : Live::Never}));
  if (options.scheduler)
    cbs.push_back(
        std::make_shared<LRSchedulerCallback>(*options.scheduler, options.scheduler_step));
  cbs.insert(cbs.end(), options.callbacks.begin(), options.callbacks.end());

  // ---- state ----
  History history = options.initial_history;
  std::erase_if(history.epochs,
                [&](const EpochRecord& e) { return e.epoch >= options.initial_epoch; });
  history.stopped_early = false;
  history.stop_reason.clear();
  TrainState s;
  s.model = &model;
  s.optimizer = &opt;
  s.scheduler = options.scheduler;
  s.history = &history;
  s.epochs = options.epochs;
  s.initial_epoch = options.initial_epoch;
  s.epoch = options.initial_epoch;
  s.num_batches = tl->size();
  s.has_validation = vl != nullptr;

  const std::vector<Tensor> params = opt.parameters();
  const Device dev = model_device(model);
  // Kept current after every epoch, so a checkpoint written by a callback mid-run holds the
  // best epoch so far, not only the History fit() returns.
  history.monitor = !options.monitor.empty() ? options.monitor : (vl ? "val_loss" : "loss");
  history.best_epoch = history.best(history.monitor);
  model.train();
  for (auto& c : cbs) c->on_train_begin(s);

  using Clock = std::chrono::steady_clock;
  std::string diverged;  // stop_on_nonfinite: why the run stopped
  detail::BlowupGuard blowup(options.blowup_factor, history);
  for (int64_t e = options.initial_epoch; e < options.epochs && !s.stop_requested(); ++e) {
    const auto t0 = Clock::now();
    s.epoch = e;
    s.batch = 0;
    s.batch_loss = kNaN;
    s.running_loss = kNaN;
    s.running_metrics.clear();
    for (auto& m : train_metrics) m->reset();
    model.train();
    EpochRecord rec;
    rec.epoch = e;
    rec.lr = opt.lr(0);
    for (auto& c : cbs) c->on_epoch_begin(s);
    if (s.stop_requested()) break;

    MeanLoss ml;
    bool abandoned = false;
    // A shuffled seeded loader's order is a function of the epoch index: set it, so a resumed
    // run (or a loader reused across fit calls) visits the order this epoch had all along.
    tl->set_epoch(e);
    for (auto it = tl->begin(); it != tl->end(); ++it) {
      data::Example& b = *it;
      s.batch = it.index();
      s.batch_size = batch_size_of(b);
      s.anomaly.clear();
      for (auto& c : cbs) c->on_batch_begin(s);

      Tensor out_kept;
      double lv = kNaN;
      std::exception_ptr anomaly;
      try {
        // The closure runs once for most optimizers, several times for LBFGS: the metrics and
        // the reported loss come from its first evaluation, before the update.
        auto closure = [&]() -> Tensor {
          opt.zero_grad();
          Tensor out = model(b.x.to(dev));
          Tensor loss = loss_fn(out, b.y.to(dev));
          double v = scalar_loss(loss, "fit");
          if (options.distributed) {
            // the global batch's loss, on every rank before any of them starts backward (a
            // non-finite loss on one rank stops them all here, not inside backward's
            // all-reduces)
            std::map<std::string, double> none;
            all_reduce_means(v, none, batch_size_of(b));
          }
          // the first evaluation of a step is its loss; LBFGS's line search may try worse ones
          if (options.stop_on_nonfinite) {
            if (!out_kept.defined())
              blowup.check(v);
            else if (!std::isfinite(v))
              throw detail::NonFiniteLoss{v, ""};
          }
          loss.backward();
          if (options.clip_grad_norm > 0) optim::clip_grad_norm_(params, options.clip_grad_norm);
          if (!out_kept.defined()) {
            out_kept = out.detach();
            lv = v;
          }
          return loss;
        };
        opt.step(closure);
      } catch (const AnomalyError& err) {
        s.anomaly = err.what();
        anomaly = std::current_exception();
        lv = kNaN;
      } catch (const detail::NonFiniteLoss& nf) {
        // nothing was stepped: the weights are those that gave the non-finite loss
        std::ostringstream why;
        why << "fit: the loss is "
            << (nf.blowup.empty() ? detail::format_number(nf.loss) : detail::short_number(nf.loss))
            << " at epoch " << e + 1 << ", batch " << s.batch + 1 << " (of " << s.num_batches
            << "); ";
        if (!nf.blowup.empty())
          why << nf.blowup << "; " << detail::largest_parameter(model);
        else
          why << detail::diagnose_nonfinite(model, b.x, [&] { (void)loss_fn(model(b.x), b.y); });
        diverged = why.str();
        s.diverged = true;
        s.request_stop(diverged);
        abandoned = true;
        break;
      }

      ml.update(lv, s.batch_size);
      s.batch_loss = lv;
      s.running_loss = ml.value();
      if (out_kept.defined()) {
        NoGradGuard ng;
        for (auto& m : train_metrics) m->update(out_kept.to(kCPU), b.y);
      }
      for (auto& m : train_metrics) s.running_metrics[m->name()] = m->value();
      ++s.global_step;
      ++rec.batches;
      rec.examples += s.batch_size;
      for (auto& c : cbs) c->on_batch_end(s);
      if (options.distributed &&
          distributed::all_reduce(int64_t{s.stop_requested()}, distributed::ReduceOp::Max) > 0)
        s.request_stop("stopped on another rank");
      if (anomaly && !s.stop_requested()) std::rethrow_exception(anomaly);
      if (s.stop_requested()) {
        abandoned = true;
        break;
      }
    }

    rec.loss = ml.value();
    rec.metrics = s.running_metrics;
    if (options.distributed && !abandoned) all_reduce_means(rec.loss, rec.metrics, rec.examples);
    if (!abandoned && vl) {
      EvalModeGuard eval(model);
      EvalResult r = run_eval(model, loss_fn, *vl, raw(val_metrics));
      if (options.distributed) all_reduce_means(r.loss, r.metrics, r.examples);
      rec.has_validation = true;
      rec.val_loss = r.loss;
      rec.val_metrics = std::move(r.metrics);
    }
    if (!abandoned && options.stop_on_nonfinite) {
      // weights broken by the last step, or outputs that overflow in eval mode: the epoch is
      // not kept (no checkpoint of it), as a non-finite batch loss
      std::ostringstream why;
      if (!detail::parameters_finite(model)) {
        why << "fit: the parameters are no longer finite after epoch " << e + 1 << "; "
            << detail::diagnose_nonfinite(model, Tensor(), nullptr);
      } else if (rec.has_validation && !std::isfinite(rec.val_loss)) {
        why << "fit: the validation loss is " << detail::format_number(rec.val_loss)
            << " after epoch " << e + 1;
        auto it = vl->begin();
        if (it != vl->end()) {
          EvalModeGuard eval(model);
          data::Example vb = *it;
          why << "; "
              << detail::diagnose_nonfinite(model, vb.x, [&] { (void)loss_fn(model(vb.x), vb.y); });
        }
      }
      if (!why.str().empty()) {
        diverged = why.str();
        s.diverged = true;
        s.request_stop(diverged);
        abandoned = true;
      }
    }
    rec.completed = !abandoned;
    rec.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    history.epochs.push_back(std::move(rec));
    history.best_epoch = history.best(history.monitor);
    if (!abandoned)
      for (auto& c : cbs) c->on_epoch_end(s);
  }

  history.stopped_early = s.stop_requested();
  history.stop_reason = s.stop_reason();
  history.best_epoch = history.best(history.monitor);
  for (auto& c : cbs) c->on_train_end(s);
  model.train();
  if (!diverged.empty()) throw DivergenceError(diverged);
  return history;
}

EvalResult evaluate(nn::Module& model, const LossFn& loss_fn, data::DataLoader& loader,
                    const std::vector<MetricPtr>& metrics) {
  std::vector<Metric*> ms;
  for (const auto& m : metrics) {
    SN_CHECK(m, ValueError, "evaluate: a metric is null");
    ms.push_back(m.get());
  }
  EvalModeGuard eval(model);
  return run_eval(model, loss_fn, loader, ms);
}

Tensor predict(nn::Module& model, data::DataLoader& loader) {
  EvalModeGuard eval(model);
  NoGradGuard ng;
  std::vector<Tensor> outs;
  const Device dev = model_device(model);
  for (auto& batch : loader) outs.push_back(model(batch.x.to(dev)).to(kCPU));
  SN_CHECK(!outs.empty(), ValueError, "predict: the loader has no batches (",
           loader.dataset().name(), ")");
  return outs.size() == 1 ? outs[0] : cat(outs, 0);
}

Tensor predict(nn::Module& model, const Tensor& x, int64_t batch_size) {
  SN_CHECK(x.defined(), ValueError, "predict: the input is undefined");
  SN_CHECK(batch_size >= 0, ValueError, "predict: batch_size must be >= 0 (got ", batch_size, ")");
  EvalModeGuard eval(model);
  NoGradGuard ng;
  const int64_t n = x.dim() > 0 ? x.size(0) : 1;
  const Device dev = model_device(model);
  if (batch_size == 0 || batch_size >= n || x.dim() == 0)
    return model(x.detach().to(dev)).to(x.device());
  std::vector<Tensor> outs;
  for (int64_t i = 0; i < n; i += batch_size)
    outs.push_back(
        model(x.detach().narrow(0, i, std::min(batch_size, n - i)).to(dev)).to(x.device()));
  return cat(outs, 0);
}

}  // namespace sn::train
