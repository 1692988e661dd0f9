// The stock callbacks (callbacks.h). Output formatting and file handling live here; the
// decisions they make (stop, save, step) are the few lines in each on_epoch_end.
#include "sinapsis/train/callbacks.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>

#include "sinapsis/io/atomic_file.h"
#include "sinapsis/train/checkpoint.h"
#include "train/json_util.h"

namespace sn::train {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Compact human form: 4 decimals in the usual range, scientific outside it.
std::string fmt(double v) {
  char buf[48];
  if (!std::isfinite(v)) return detail::format_number(v);
  const double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e5))
    std::snprintf(buf, sizeof buf, "%.3e", v);
  else
    std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string fmt_lr(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string fmt_seconds(double s) {
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    const auto t = static_cast<int64_t>(s + 0.5);
    if (t < 3600)
      std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60),
                    static_cast<long long>(t % 60));
    else
      std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                    static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  }
  return buf;
}

// A metric as the bar shows it: a throughput as a whole number, the rest by fmt.
std::string fmt_metric(const std::string& key, double v) {
  if (key != "tokens_per_s" || !std::isfinite(v)) return fmt(v);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

// "epoch 3/10" or, for fit_steps, "step 500/2000" (after `done` steps).
std::string position(const TrainState& s, int64_t epoch, int64_t done_steps) {
  if (s.steps > 0) return "step " + std::to_string(done_steps) + "/" + std::to_string(s.steps);
  return "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(s.epochs);
}

// "  loss 0.1234  accuracy 0.9000  val_loss ...  lr 0.01" for an epoch's record.
std::string epoch_values(const EpochRecord& r) {
  std::string out = "  loss " + fmt(r.loss);
  for (const auto& [k, v] : r.metrics) out += "  " + k + " " + fmt_metric(k, v);
  if (r.has_validation) {
    out += "  val_loss " + fmt(r.val_loss);
    for (const auto& [k, v] : r.val_metrics) out += "  val_" + k + " " + fmt(v);
  }
  out += "  lr " + fmt_lr(r.lr);
  return out;
}

std::string available_keys(const EpochRecord& r) {
  std::string out;
  for (const auto& [k, v] : r.logs()) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// The monitored value of the epoch just recorded; ValueError when the logs lack it.
double monitored(const char* who, const std::string& key, const TrainState& s) {
  const EpochRecord& r = s.history->back();
  auto v = r.get(key);
  if (!v) {
    const bool val = key.rfind("val_", 0) == 0;
    SN_THROW(ValueError, who, ": the monitored quantity '", key, "' is not in the logs (",
             available_keys(r), ")",
             val && !r.has_validation ? "; hint: give fit a validation loader or validation_split, "
                                        "or monitor a training quantity such as 'loss'"
                                      : "");
  }
  return *v;
}

bool better(Mode mode, double v, double best, double min_delta) {
  if (std::isnan(v)) return false;
  return mode == Mode::Min ? v < best - min_delta : v > best + min_delta;
}

std::ios_base::openmode open_mode(bool append) {
  return append ? std::ios::out | std::ios::app : std::ios::out | std::ios::trunc;
}

void open_log(std::ofstream& f, const std::string& path, bool append, const char* who) {
  if (f.is_open()) f.close();
  f.clear();
  f.open(path, open_mode(append));
  SN_CHECK(f.is_open(), IOError, who, ": cannot open '", path, "' for writing");
}

void check_written(std::ofstream& f, const std::string& path, const char* who) {
  f.flush();
  SN_CHECK(f.good(), IOError, who, ": writing '", path, "' failed (disk full?)");
}

}  // namespace

// ---------------------------------------------------------------- ProgressBar

ProgressBar::ProgressBar(ProgressBarOptions options) : options_(options) {
  SN_CHECK(options_.width >= 1, ValueError, "ProgressBar: width must be at least 1 (got ",
           options_.width, ")");
}

std::ostream& ProgressBar::out() const { return options_.stream ? *options_.stream : std::cerr; }

void ProgressBar::on_train_begin(TrainState&) {
  drew_ = false;
  switch (options_.live) {
    case Live::Always:
      live_ = true;
      break;
    case Live::Never:
      live_ = false;
      break;
    case Live::Auto: {
      std::ostream* os = options_.stream ? options_.stream : &std::cerr;
      live_ = (os == &std::cerr && isatty(STDERR_FILENO)) ||
              (os == &std::cout && isatty(STDOUT_FILENO));
      break;
    }
  }
}

void ProgressBar::on_epoch_begin(TrainState&) {
  epoch_start_ = std::chrono::steady_clock::now();
  last_draw_ = epoch_start_ - std::chrono::hours(1);
}

void ProgressBar::on_batch_end(TrainState& s) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool last = s.batch + 1 >= s.num_batches;
  if (!last && std::chrono::duration<double>(now - last_draw_).count() < options_.refresh_seconds)
    return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const int64_t done = s.batch + 1;
  const int64_t filled = s.num_batches > 0 ? options_.width * done / s.num_batches : 0;
  std::string bar(static_cast<size_t>(options_.width), '.');
  for (int64_t i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '=';
  if (filled < options_.width) bar[static_cast<size_t>(filled)] = '>';
  const double eta = elapsed / static_cast<double>(done) *
                     static_cast<double>(std::max<int64_t>(0, s.num_batches - done));
  std::ostringstream line;
  line << "\r" << position(s, s.epoch, s.step + 1) << " [" << bar << "] " << done << "/"
       << s.num_batches << " ETA " << fmt_seconds(eta) << "  loss " << fmt(s.running_loss);
  for (const auto& [k, v] : s.running_metrics) line << "  " << k << " " << fmt_metric(k, v);
  line << "\x1b[K";  // clear what a longer previous line left behind
  out() << line.str() << std::flush;
  drew_ = true;
}

void ProgressBar::on_epoch_end(TrainState& s) {
  const EpochRecord& r = s.history->back();
  std::ostringstream line;
  if (live_) line << "\r";
  line << position(s, r.epoch, s.step) << epoch_values(r) << "  " << fmt_seconds(r.seconds);
  if (live_) line << "\x1b[K";
  out() << line.str() << "\n" << std::flush;
  drew_ = false;
}

void ProgressBar::on_train_end(TrainState& s) {
  if (drew_) out() << "\n";
  drew_ = false;
  // a divergence is reported once, by the DivergenceError that follows
  if (s.stop_requested() && !s.diverged) out() << "stopped: " << s.stop_reason() << "\n";
  out() << std::flush;
}

// ---------------------------------------------------------------- EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  SN_CHECK(options_.patience >= 0, ValueError, "EarlyStopping: patience must be >= 0 (got ",
           options_.patience, ")");
  SN_CHECK(options_.min_delta >= 0, ValueError, "EarlyStopping: min_delta must be >= 0 (got ",
           options_.min_delta, ")");
}

bool EarlyStopping::improved(double v) const { return better(mode_, v, best_, options_.min_delta); }

void EarlyStopping::on_train_begin(TrainState& s) {
  mode_ = resolve_mode(options_.mode, options_.monitor);
  best_ = mode_ == Mode::Min ? kInf : -kInf;
  best_epoch_ = -1;
  wait_ = 0;
  stopped_epoch_ = -1;
  restored_ = false;
  best_weights_ = nn::StateDict();
  // A resumed run continues the count from the epochs it did not run itself.
  for (const auto& r : s.history->epochs) {
    if (!r.completed) continue;
    auto v = r.get(options_.monitor);
    if (!v) continue;
    if (improved(*v)) {
      best_ = *v;
      best_epoch_ = r.epoch;
      wait_ = 0;
    } else {
      ++wait_;
    }
  }
}

void EarlyStopping::on_epoch_end(TrainState& s) {
  const double v = monitored("EarlyStopping", options_.monitor, s);
  if (improved(v)) {
    best_ = v;
    best_epoch_ = s.epoch;
    wait_ = 0;
    if (options_.restore_best_weights) {
      best_weights_ = nn::StateDict();
      for (const auto& [k, t] : s.model->state_dict()) best_weights_.insert(k, t.detach().clone());
    }
    return;
  }
  ++wait_;
  if (wait_ >= options_.patience) {
    stopped_epoch_ = s.epoch;
    std::ostringstream why;
    why << "EarlyStopping: " << options_.monitor << " did not improve";
    if (options_.min_delta > 0) why << " by more than " << options_.min_delta;
    why << " for " << wait_ << (wait_ == 1 ? " epoch" : " epochs");
    if (best_epoch_ >= 0) why << " (best " << fmt(best_) << " at epoch " << best_epoch_ + 1 << ")";
    s.request_stop(why.str());
  }
}

void EarlyStopping::on_train_end(TrainState& s) {
  if (!options_.restore_best_weights || best_weights_.empty()) return;
  int64_t last = -1;
  for (const auto& r : s.history->epochs)
    if (r.completed) last = r.epoch;
  if (last == best_epoch_) return;  // the model already holds the best weights
  s.model->load_state_dict(best_weights_);
  restored_ = true;
}

// ---------------------------------------------------------------- ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  SN_CHECK(!options_.path.empty(), ValueError, "ModelCheckpoint: path is empty");
  SN_CHECK(options_.every >= 1, ValueError, "ModelCheckpoint: every must be >= 1 (got ",
           options_.every, ")");
}

void ModelCheckpoint::on_train_begin(TrainState& s) {
  mode_ = resolve_mode(options_.mode, options_.monitor);
  have_best_ = false;
  best_ = mode_ == Mode::Min ? kInf : -kInf;
  // Resuming: the best of the earlier epochs is what a new "best" file must beat.
  if (options_.save_best_only)
    for (const auto& r : s.history->epochs) {
      auto v = r.completed ? r.get(options_.monitor) : std::nullopt;
      if (v && better(mode_, *v, best_, 0)) {
        best_ = *v;
        have_best_ = true;
      }
    }
}

void ModelCheckpoint::on_epoch_end(TrainState& s) {
  const int64_t e = s.epoch;
  if (options_.save_best_only) {
    const double v = monitored("ModelCheckpoint", options_.monitor, s);
    if (!better(mode_, v, best_, 0)) return;
    best_ = v;
    have_best_ = true;
  } else if ((e + 1) % options_.every != 0) {
    return;
  }
  std::string path = options_.path;
  for (size_t pos; (pos = path.find("{epoch}")) != std::string::npos;)
    path.replace(pos, 7, std::to_string(e + 1));
  const CheckpointData data{.epoch = e + 1,
                            .history = options_.embed_history ? s.history : nullptr,
                            .save_rng = true,
                            .model_spec = options_.model_spec,
                            .scheduler = s.scheduler,
                            .extra = options_.extra};
  if (options_.save_optimizer && s.optimizer)
    save_checkpoint(path, *s.model, *s.optimizer, data);
  else
    save_checkpoint(path, *s.model, data);
  last_saved_ = path;
  ++saves_;
}

// ---------------------------------------------------------------- CsvLogger

CsvLogger::CsvLogger(std::string path, LoggerOptions options)
    : path_(std::move(path)), options_(options) {
  SN_CHECK(!path_.empty(), ValueError, "CsvLogger: path is empty");
}

void CsvLogger::on_train_begin(TrainState&) {
  columns_.clear();
  bool append = false;
  if (options_.append) {
    std::ifstream in(path_);
    std::string header;
    if (in && std::getline(in, header) && header.rfind("epoch", 0) == 0) {
      std::stringstream ss(header);
      std::string col;
      std::getline(ss, col, ',');  // "epoch"
      while (std::getline(ss, col, ',')) columns_.push_back(col);
      append = true;
    }
  }
  open_log(file_, path_, append, "CsvLogger");
}

void CsvLogger::on_epoch_end(TrainState& s) {
  const EpochRecord& r = s.history->back();
  if (columns_.empty()) {
    History one;
    one.epochs.push_back(r);
    columns_ = one.keys();
    file_ << "epoch";
    for (const auto& c : columns_) file_ << "," << c;
    file_ << "\n";
  }
  file_ << r.epoch + 1;
  for (const auto& c : columns_) {
    file_ << ",";
    if (auto v = r.get(c)) file_ << detail::format_number(*v);
  }
  file_ << "\n";
  check_written(file_, path_, "CsvLogger");
}

void CsvLogger::on_train_end(TrainState&) { file_.close(); }

// ---------------------------------------------------------------- JsonLinesLogger

JsonLinesLogger::JsonLinesLogger(std::string path, LoggerOptions options)
    : path_(std::move(path)), options_(options) {
  SN_CHECK(!path_.empty(), ValueError, "JsonLinesLogger: path is empty");
}

void JsonLinesLogger::on_train_begin(TrainState&) {
  open_log(file_, path_, options_.append, "JsonLinesLogger");
}

void JsonLinesLogger::on_epoch_end(TrainState& s) {
  const EpochRecord& r = s.history->back();
  nlohmann::ordered_json j;
  j["epoch"] = r.epoch + 1;
  History one;
  one.epochs.push_back(r);
  for (const auto& k : one.keys()) {
    const double v = *r.get(k);
    j[k] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
  }
  file_ << j.dump() << "\n";
  check_written(file_, path_, "JsonLinesLogger");
}

void JsonLinesLogger::on_train_end(TrainState&) { file_.close(); }

// ---------------------------------------------------------------- HistoryFile

HistoryFile::HistoryFile(std::string path) : path_(std::move(path)) {
  SN_CHECK(!path_.empty(), ValueError, "HistoryFile: path is empty");
}
void HistoryFile::on_epoch_end(TrainState& s) {
  io::write_file_atomic(path_, s.history->to_json());
}
void HistoryFile::on_train_end(TrainState& s) {
  io::write_file_atomic(path_, s.history->to_json());
}

// ---------------------------------------------------------------- LRSchedulerCallback

LRSchedulerCallback::LRSchedulerCallback(optim::LRScheduler& scheduler, SchedulerStep step)
    : scheduler_(&scheduler), step_(step) {}

LRSchedulerCallback::LRSchedulerCallback(optim::ReduceLROnPlateau& plateau, std::string monitor)
    : plateau_(&plateau), monitor_(std::move(monitor)) {}

void LRSchedulerCallback::on_batch_end(TrainState&) {
  if (scheduler_ && step_ == SchedulerStep::Batch) scheduler_->step();
}

void LRSchedulerCallback::on_epoch_end(TrainState& s) {
  if (scheduler_ && step_ == SchedulerStep::Epoch) scheduler_->step();
  if (plateau_) plateau_->step(monitored("LRSchedulerCallback", monitor_, s));
}

// ---------------------------------------------------------------- TerminateOnNaN

void TerminateOnNaN::on_batch_end(TrainState& s) {
  if (std::isfinite(s.batch_loss)) return;
  triggered_ = true;
  std::ostringstream why;
  if (!s.anomaly.empty()) {
    // The op may have failed in backward, after a finite loss: say what is known.
    why << "TerminateOnNaN: a NaN/Inf appeared at epoch " << s.epoch + 1 << ", batch "
        << s.batch + 1 << "; " << s.anomaly;
  } else {
    why << "TerminateOnNaN: the loss is " << detail::format_number(s.batch_loss) << " at epoch "
        << s.epoch + 1 << ", batch " << s.batch + 1
        << "; hint: turn on sn::autograd::set_anomaly_mode(true) to find the op that produced it";
  }
  s.request_stop(why.str());
}

}  // namespace sn::train
