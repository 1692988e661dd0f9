// fit_adversarial (the two-player loop of adversarial.h), its progress line and warnings, and
// the checkpoint of a generator-discriminator pair. The loop only sequences the two steps and
// the bookkeeping; losses and noise are the caller's (or the GAN defaults below).
#include "sinapsis/train/adversarial.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>

#include "core/json_read.h"
#include "sinapsis/autograd/anomaly.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/io/safetensors.h"
#include "sinapsis/loss/loss.h"
#include "sinapsis/ops/ops.h"
#include "train/divergence.h"
#include "train/json_util.h"

namespace sn::train {

Tensor gan_discriminator_loss(const Tensor& d_real, const Tensor& d_fake) {
  return loss::binary_cross_entropy_with_logits(d_real, ones_like(d_real)) +
         loss::binary_cross_entropy_with_logits(d_fake, zeros_like(d_fake));
}

// -log σ(D(G(z))): strong gradients while D still rejects the fakes, unlike log(1 - σ(D(G(z)))).
Tensor gan_generator_loss(const Tensor& d_fake) {
  return loss::binary_cross_entropy_with_logits(d_fake, ones_like(d_fake));
}

double mean_pairwise_distance(const Tensor& x) {
  SN_CHECK(x.defined() && x.dim() >= 1 && x.size(0) >= 2, ValueError,
           "mean_pairwise_distance: needs at least 2 examples (got shape ",
           x.defined() ? x.shape() : Shape(), ")");
  NoGradGuard ng;
  const int64_t n = x.size(0);
  Tensor f = x.detach().reshape({n, -1}).to(kFloat64).contiguous();
  // |a - b|² = |a|² + |b|² - 2 a·b, over all pairs at once
  Tensor sq = (f * f).sum({1}, true);                                        // [n, 1]
  Tensor d2 = sq + sq.transpose(0, 1) - 2.0 * matmul(f, f.transpose(0, 1));  // [n, n]
  Tensor d = sqrt(clamp(d2, 0.0, std::nullopt));
  return d.sum().item() / static_cast<double>(n * (n - 1));  // the diagonal is 0
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Clock = std::chrono::steady_clock;

std::string fmt(double v) {
  char buf[48];
  if (!std::isfinite(v)) return detail::format_number(v);
  const double a = std::abs(v);
  std::snprintf(buf, sizeof buf, a != 0 && (a < 1e-3 || a >= 1e5) ? "%.3e" : "%.4f", v);
  return buf;
}

std::string fmt_seconds(double s) {
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    const auto t = static_cast<long long>(s + 0.5);
    std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
  }
  return buf;
}

// Turns requires_grad off on a model's parameters for a scope (the G step: D's weights get no
// gradient) and back on, also on exceptions.
class FreezeGuard {
 public:
  explicit FreezeGuard(nn::Module& m) {
    for (Tensor& p : params_ = m.parameters())
      if (p.requires_grad()) {
        p.requires_grad_(false);
        frozen_.push_back(p);
      }
  }
  ~FreezeGuard() {
    for (Tensor& p : frozen_) p.requires_grad_(true);
  }
  FreezeGuard(const FreezeGuard&) = delete;
  FreezeGuard& operator=(const FreezeGuard&) = delete;

 private:
  std::vector<Tensor> params_, frozen_;
};

double scalar(const Tensor& t, const char* what) {
  SN_CHECK(t.defined() && t.numel() == 1, ShapeError, "fit_adversarial: the ", what,
           " must be a scalar (got shape ", t.defined() ? t.shape() : Shape(),
           "); hint: reduce it with mean()");
  return t.item();
}

double mean_sigmoid(const Tensor& logits) {
  NoGradGuard ng;
  return sigmoid(logits.detach()).mean().item();
}

// The progress line: live on a terminal (redrawn in place), else one line per epoch.
class Progress {
 public:
  Progress(std::ostream& out, int verbose) : out_(out), verbose_(verbose) {
    live_ = verbose == 1 && ((&out == &std::cerr && isatty(STDERR_FILENO)) ||
                             (&out == &std::cout && isatty(STDOUT_FILENO)));
  }
  void batch(const TrainState& s, double ld, double lg, double dr, double df,
             Clock::time_point t0) {
    if (!live_) return;
    const auto now = Clock::now();
    const bool last = s.batch + 1 >= s.num_batches;
    if (!last && std::chrono::duration<double>(now - last_).count() < 0.1) return;
    last_ = now;
    const int64_t done = s.batch + 1, width = 30;
    const int64_t filled = s.num_batches > 0 ? width * done / s.num_batches : 0;
    std::string bar(width, '.');
    for (int64_t i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '=';
    if (filled < width) bar[static_cast<size_t>(filled)] = '>';
    const double el = std::chrono::duration<double>(now - t0).count();
    const double eta = el / static_cast<double>(done) *
                       static_cast<double>(std::max<int64_t>(0, s.num_batches - done));
    out_ << "\repoch " << s.epoch + 1 << "/" << s.epochs << " [" << bar << "] " << done << "/"
         << s.num_batches << " ETA " << fmt_seconds(eta) << "  loss_d " << fmt(ld) << "  loss_g "
         << fmt(lg) << "  D(x) " << fmt(dr) << "  D(G(z)) " << fmt(df) << "\x1b[K" << std::flush;
    drew_ = true;
  }
  void epoch(const TrainState& s, const EpochRecord& r) {
    if (verbose_ <= 0) return;
    std::ostringstream line;
    if (live_) line << "\r";
    line << "epoch " << r.epoch + 1 << "/" << s.epochs;
    for (const char* k : {"loss_d", "loss_g", "d_real", "d_fake", "diversity"})
      if (auto v = r.metrics.find(k); v != r.metrics.end())
        line << "  " << k << " " << fmt(v->second);
    line << "  " << fmt_seconds(r.seconds);
    if (live_) line << "\x1b[K";
    out_ << line.str() << "\n" << std::flush;
    drew_ = false;
  }
  void warn(const std::string& w) {
    if (verbose_ <= 0) return;
    if (drew_) out_ << "\r\x1b[K";
    out_ << "warning: " << w << "\n" << std::flush;
    drew_ = false;
  }
  void end(const TrainState& s) {
    if (verbose_ <= 0) return;
    if (drew_) out_ << "\n";
    drew_ = false;
    if (s.stop_requested()) out_ << "stopped: " << s.stop_reason() << "\n";
    out_ << std::flush;
  }

 private:
  std::ostream& out_;
  int verbose_;
  bool live_ = false, drew_ = false;
  Clock::time_point last_ = Clock::now() - std::chrono::hours(1);
};

}  // namespace

AdversarialStep adversarial_step(nn::Module& G, nn::Module& D, optim::Optimizer& g_opt,
                                 optim::Optimizer& d_opt, const Tensor& x, const Tensor& z,
                                 const DiscriminatorLossFn& d_loss, const GeneratorLossFn& g_loss,
                                 bool step_on_nonfinite) {
  SN_CHECK(d_loss && g_loss, ValueError, "adversarial_step: a loss function is empty");
  AdversarialStep r;
  Tensor fake = G(z);
  // ---- D step: real vs detached fakes ----
  Tensor d_real = D(x);
  Tensor d_fake = D(fake.detach());
  Tensor ld = d_loss(d_real, d_fake);
  r.loss_d = scalar(ld, "discriminator loss");
  r.d_real = mean_sigmoid(d_real);
  r.d_fake = mean_sigmoid(d_fake);
  r.loss_g = kNaN;
  if (!std::isfinite(r.loss_d) && !step_on_nonfinite) return r;
  d_opt.zero_grad();
  ld.backward();
  d_opt.step();
  // ---- G step: the same fakes through the updated D; D's weights get no gradient ----
  FreezeGuard frozen(D);
  Tensor lg = g_loss(D(fake));
  r.loss_g = scalar(lg, "generator loss");
  if (!std::isfinite(r.loss_g) && !step_on_nonfinite) return r;
  g_opt.zero_grad();
  lg.backward();
  g_opt.step();
  return r;
}

AdversarialResult fit_adversarial(nn::Module& G, nn::Module& D, optim::Optimizer& g_opt,
                                  optim::Optimizer& d_opt, data::DataLoader& real,
                                  const AdversarialOptions& o) {
  SN_CHECK(o.initial_epoch >= 0 && o.initial_epoch <= o.epochs, ValueError,
           "fit_adversarial: need 0 <= initial_epoch <= epochs (got initial_epoch ",
           o.initial_epoch, ", epochs ", o.epochs, ")");
  SN_CHECK(o.noise || o.latent_dim > 0, ValueError,
           "fit_adversarial: latent_dim must be > 0 without a noise function (got ", o.latent_dim,
           ")");
  SN_CHECK(o.d_loss_window > 0, ValueError, "fit_adversarial: d_loss_window must be > 0 (got ",
           o.d_loss_window, ")");
  SN_CHECK(!o.fixed_noise.defined() || (o.fixed_noise.dim() >= 1 && o.fixed_noise.size(0) >= 2),
           ValueError, "fit_adversarial: fixed_noise needs at least 2 examples (got shape ",
           o.fixed_noise.defined() ? o.fixed_noise.shape() : Shape(), ")");
  SN_CHECK(real.size() > 0, ValueError, "fit_adversarial: the loader has no batches (",
           real.dataset().name(), " holds ", real.dataset().size(), " examples, batch_size ",
           real.options().batch_size, real.options().drop_last ? ", drop_last" : "", ")");
  for (const auto& c : o.callbacks) SN_CHECK(c, ValueError, "fit_adversarial: a callback is null");
  const NoiseFn noise = o.noise ? o.noise : [d = o.latent_dim](int64_t n) { return randn({n, d}); };
  const DiscriminatorLossFn d_loss = o.d_loss ? o.d_loss : gan_discriminator_loss;
  const GeneratorLossFn g_loss = o.g_loss ? o.g_loss : gan_generator_loss;
  std::ostream& out = o.stream ? *o.stream : std::cerr;
  Progress bar(out, o.verbose);

  AdversarialResult result;
  History& history = result.history;
  history = o.initial_history;
  std::erase_if(history.epochs, [&](const EpochRecord& e) { return e.epoch >= o.initial_epoch; });
  history.stopped_early = false;
  history.stop_reason.clear();
  history.monitor = "loss_g";
  history.best_epoch = -1;  // a GAN's losses do not rank its epochs
  TrainState s;
  s.model = &G;
  s.optimizer = &g_opt;
  s.history = &history;
  s.epochs = o.epochs;
  s.initial_epoch = o.initial_epoch;
  s.epoch = o.initial_epoch;
  s.num_batches = real.size();

  G.train();
  D.train();
  for (auto& c : o.callbacks) c->on_train_begin(s);

  double real_diversity = kNaN;  // of the first real batch: the scale "diversity" is relative to
  std::string diverged;
  for (int64_t e = o.initial_epoch; e < o.epochs && !s.stop_requested(); ++e) {
    const auto t0 = Clock::now();
    s.epoch = e;
    s.batch = 0;
    s.batch_loss = s.running_loss = kNaN;
    s.running_metrics.clear();
    G.train();
    D.train();
    EpochRecord rec;
    rec.epoch = e;
    rec.lr = g_opt.lr(0);
    for (auto& c : o.callbacks) c->on_epoch_begin(s);
    if (s.stop_requested()) break;

    double sum_d = 0, sum_g = 0, sum_dr = 0, sum_df = 0;
    int64_t warnings = 0;
    std::deque<double> window;  // D's last losses
    double window_sum = 0;
    bool warned_d = false, abandoned = false;
    real.set_epoch(e);
    for (auto it = real.begin(); it != real.end(); ++it) {
      const Tensor x = (*it).x;
      s.batch = it.index();
      s.batch_size = x.dim() > 0 ? x.size(0) : 1;
      for (auto& c : o.callbacks) c->on_batch_begin(s);
      if (std::isnan(real_diversity) && o.fixed_noise.defined() && s.batch_size >= 2)
        real_diversity =
            mean_pairwise_distance(x.narrow(0, 0, std::min(s.batch_size, o.fixed_noise.size(0))));

      const Tensor z = noise(s.batch_size);
      const AdversarialStep st =
          adversarial_step(G, D, g_opt, d_opt, x, z, d_loss, g_loss, !o.stop_on_nonfinite);
      const double vd = st.loss_d, vg = st.loss_g;
      const char* bad = !std::isfinite(vd)   ? "discriminator"
                        : !std::isfinite(vg) ? "generator"
                                             : nullptr;
      if (bad && o.stop_on_nonfinite) {
        std::ostringstream why;
        const bool isd = std::string(bad) == "discriminator";
        why << "fit_adversarial: the " << bad << "'s loss is "
            << detail::format_number(isd ? vd : vg) << " at epoch " << e + 1 << ", batch "
            << s.batch + 1 << " (of " << s.num_batches << "); "
            << detail::diagnose_nonfinite(isd ? D : G, isd ? x : z, [&] {
                 Tensor f = G(z);
                 if (isd)
                   (void)d_loss(D(x), D(f.detach()));
                 else
                   (void)g_loss(D(f));
               });
        nn::Module& other = isd ? G : D;
        if (!detail::parameters_finite(other))
          why << "; the " << (isd ? "generator" : "discriminator") << "'s "
              << detail::diagnose_nonfinite(other, Tensor(), nullptr);
        diverged = why.str();
        s.request_stop(diverged);
        abandoned = true;
        break;
      }
      const double dr = st.d_real, df = st.d_fake;
      sum_d += vd;
      sum_g += vg;
      sum_dr += dr;
      sum_df += df;
      ++rec.batches;
      rec.examples += s.batch_size;
      ++s.global_step;
      const double nb = static_cast<double>(rec.batches);
      s.batch_loss = vd + vg;
      s.running_loss = (sum_d + sum_g) / nb;
      s.running_metrics = {{"loss_d", sum_d / nb},
                           {"loss_g", sum_g / nb},
                           {"d_real", sum_dr / nb},
                           {"d_fake", sum_df / nb}};
      // D's loss near 0 for a window of batches: it has won, G learns nothing more
      window.push_back(vd);
      window_sum += vd;
      if (static_cast<int64_t>(window.size()) > o.d_loss_window) {
        window_sum -= window.front();
        window.pop_front();
      }
      if (!warned_d && static_cast<int64_t>(window.size()) == o.d_loss_window &&
          window_sum / static_cast<double>(o.d_loss_window) < o.d_loss_floor) {
        warned_d = true;
        std::ostringstream w;
        w << "epoch " << e + 1 << ", batch " << s.batch + 1
          << ": the discriminator's loss averaged "
          << fmt(window_sum / static_cast<double>(o.d_loss_window)) << " over the last "
          << o.d_loss_window << " batches (below " << o.d_loss_floor
          << "): D wins and the generator's gradients vanish; hint: a lower discriminator "
             "learning rate, or label smoothing in the discriminator's loss";
        result.warnings.push_back(w.str());
        bar.warn(w.str());
        ++warnings;
      }
      bar.batch(s, sum_d / nb, sum_g / nb, sum_dr / nb, sum_df / nb, t0);
      for (auto& c : o.callbacks) c->on_batch_end(s);
      if (s.stop_requested()) {
        abandoned = true;
        break;
      }
    }

    const double nb = static_cast<double>(std::max<int64_t>(1, rec.batches));
    rec.loss = (sum_d + sum_g) / nb;
    rec.metrics = {{"loss_d", sum_d / nb},
                   {"loss_g", sum_g / nb},
                   {"d_real", sum_dr / nb},
                   {"d_fake", sum_df / nb}};
    if (!abandoned && o.stop_on_nonfinite &&
        (!detail::parameters_finite(G) || !detail::parameters_finite(D))) {
      std::ostringstream why;
      why << "fit_adversarial: the parameters are no longer finite after epoch " << e + 1;
      if (!detail::parameters_finite(G))
        why << "; the generator's " << detail::diagnose_nonfinite(G, Tensor(), nullptr);
      if (!detail::parameters_finite(D))
        why << "; the discriminator's " << detail::diagnose_nonfinite(D, Tensor(), nullptr);
      diverged = why.str();
      s.request_stop(diverged);
      abandoned = true;
    }
    if (!abandoned && o.fixed_noise.defined()) {
      Tensor samples;
      {
        NoGradGuard ng;
        G.eval();
        samples = G(o.fixed_noise);
        G.train();
      }
      const double div = mean_pairwise_distance(samples);
      const double rel =
          std::isnan(real_diversity) || real_diversity == 0 ? div : div / real_diversity;
      rec.metrics["diversity"] = rel;
      if (rel < o.diversity_floor) {
        std::ostringstream w;
        w << "epoch " << e + 1 << ": the samples from the fixed noise have stopped varying "
          << "(diversity " << fmt(rel) << " of the data's, below " << o.diversity_floor
          << "): mode collapse; hint: restart from an earlier checkpoint or lower the learning "
             "rates";
        result.warnings.push_back(w.str());
        bar.warn(w.str());
        ++warnings;
      }
    }
    rec.metrics["warnings"] = static_cast<double>(warnings);
    rec.completed = !abandoned;
    rec.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    history.epochs.push_back(std::move(rec));
    if (!abandoned) {
      bar.epoch(s, history.back());
      for (auto& c : o.callbacks) c->on_epoch_end(s);
    }
  }
  history.stopped_early = s.stop_requested();
  history.stop_reason = s.stop_reason();
  if (!diverged.empty()) {
    // the message says it all once: the progress line does not repeat it
    history.stop_reason = diverged;
  } else {
    bar.end(s);
  }
  for (auto& c : o.callbacks) c->on_train_end(s);
  G.train();
  D.train();
  if (!diverged.empty()) throw DivergenceError(diverged);
  return result;
}

// ---------------------------------------------------------------- checkpoints of a pair

namespace {

using nlohmann::json;
constexpr const char* kFormat = "sinapsis.adversarial-checkpoint";
constexpr const char* kVersion = "1";
const std::set<std::string> kReserved = {"format",
                                         "format_version",
                                         "epoch",
                                         "rng_state",
                                         "generator_spec",
                                         "discriminator_spec",
                                         "generator_optimizer",
                                         "discriminator_optimizer"};
const char* const kParts[2] = {"generator", "discriminator"};

json numbers_to_json(const std::map<std::string, double>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = detail::number_to_json(v);
  return j;
}

struct ParsedPair {
  AdversarialCheckpointInfo info;
  nn::StateDict model[2];
  optim::OptimizerState opt[2];
  bool has_opt[2] = {false, false};
};

ParsedPair parse_pair(const std::string& path) {
  io::Checkpoint ck = io::load(path);
  const io::Metadata& md = ck.metadata;
  auto it = md.find("format");
  SN_CHECK(it != md.end() && it->second == kFormat, IOError, "load_adversarial_checkpoint: '", path,
           "' is not a generator-discriminator checkpoint (its metadata has no format \"", kFormat,
           "\")");
  it = md.find("format_version");
  SN_CHECK(it != md.end() && it->second == kVersion, IOError, "load_adversarial_checkpoint: '",
           path, "' has format version '", it == md.end() ? "" : it->second,
           "', this build reads version ", kVersion);
  ParsedPair p;
  AdversarialCheckpointInfo& info = p.info;
  it = md.find("epoch");
  SN_CHECK(it != md.end(), IOError, "load_adversarial_checkpoint: '", path, "' has no epoch");
  try {
    size_t used = 0;
    info.epoch = std::stoll(it->second, &used);
    SN_CHECK(used == it->second.size() && info.epoch >= 0, IOError, "bad");
  } catch (const std::exception&) {
    SN_THROW(IOError, "load_adversarial_checkpoint: '", path, "': epoch '", it->second,
             "' is not a count of epochs");
  }
  if (auto h = md.find("rng_state"); h != md.end()) info.rng_state = h->second;
  if (auto h = md.find("generator_spec"); h != md.end()) info.generator_spec = h->second;
  if (auto h = md.find("discriminator_spec"); h != md.end()) info.discriminator_spec = h->second;
  for (int i = 0; i < 2; ++i) {
    auto h = md.find(std::string(kParts[i]) + "_optimizer");
    if (h == md.end()) continue;
    const std::string what =
        "load_adversarial_checkpoint: '" + path + "': " + kParts[i] + "_optimizer";
    const json j = sn::detail::parse_json<IOError>(h->second, what, {.max_depth = 8});
    SN_CHECK(j.is_object() && j.contains("name") && j["name"].is_string() &&
                 j.contains("scalars") && j["scalars"].is_object(),
             IOError, what, " must be {\"name\": ..., \"scalars\": {...}}");
    p.opt[i].optimizer = j["name"].get<std::string>();
    for (auto s = j["scalars"].begin(); s != j["scalars"].end(); ++s) {
      try {
        p.opt[i].scalars[s.key()] = detail::json_to_number(s.value(), what + " " + s.key());
      } catch (const ValueError& e) {
        throw IOError(e.what());
      }
    }
    p.has_opt[i] = true;
  }
  info.has_optimizers = p.has_opt[0] && p.has_opt[1];
  for (const auto& [k, v] : md)
    if (!kReserved.count(k)) info.extra[k] = v;
  for (auto& [name, t] : ck.tensors) {
    bool placed = false;
    for (int i = 0; i < 2 && !placed; ++i) {
      const std::string m = std::string(kParts[i]) + ".", o = std::string(kParts[i]) + "_optim.";
      if (name.rfind(m, 0) == 0) {
        p.model[i].insert(name.substr(m.size()), t);
        placed = true;
      } else if (name.rfind(o, 0) == 0) {
        SN_CHECK(p.has_opt[i], IOError, "load_adversarial_checkpoint: '", path,
                 "' holds optimizer tensor '", name, "' but no ", kParts[i], "_optimizer metadata");
        p.opt[i].tensors[name.substr(o.size())] = t;
        placed = true;
      }
    }
    SN_CHECK(placed, IOError, "load_adversarial_checkpoint: '", path, "': tensor '", name,
             "' belongs to neither the generator nor the discriminator");
  }
  return p;
}

}  // namespace

void save_adversarial_checkpoint(const std::string& path, const nn::Module& generator,
                                 const nn::Module& discriminator, const optim::Optimizer* g_opt,
                                 const optim::Optimizer* d_opt,
                                 const AdversarialCheckpointData& data) {
  SN_CHECK(data.epoch >= 0, ValueError, "save_adversarial_checkpoint: epoch must be >= 0 (got ",
           data.epoch, ")");
  SN_CHECK((g_opt == nullptr) == (d_opt == nullptr), ValueError,
           "save_adversarial_checkpoint: give both optimizers or neither");
  io::Metadata md;
  for (const auto& [k, v] : data.extra) {
    SN_CHECK(!kReserved.count(k), ValueError, "save_adversarial_checkpoint: extra metadata key '",
             k, "' is reserved for the checkpoint itself; hint: choose another name");
    md[k] = v;
  }
  md["format"] = kFormat;
  md["format_version"] = kVersion;
  md["epoch"] = std::to_string(data.epoch);
  md["rng_state"] = rng_state();
  if (!data.generator_spec.empty()) md["generator_spec"] = data.generator_spec;
  if (!data.discriminator_spec.empty()) md["discriminator_spec"] = data.discriminator_spec;
  io::TensorMap tensors;
  const nn::Module* models[2] = {&generator, &discriminator};
  const optim::Optimizer* opts[2] = {g_opt, d_opt};
  for (int i = 0; i < 2; ++i) {
    for (const auto& [name, t] : models[i]->state_dict())
      tensors[std::string(kParts[i]) + "." + name] = t.detach();
    if (!opts[i]) continue;
    optim::OptimizerState st = opts[i]->state_dict();
    for (auto& [k, t] : st.tensors) tensors[std::string(kParts[i]) + "_optim." + k] = t;
    md[std::string(kParts[i]) + "_optimizer"] =
        json{{"name", st.optimizer}, {"scalars", numbers_to_json(st.scalars)}}.dump();
  }
  io::save(tensors, path, md);
}

bool is_adversarial_checkpoint(const std::string& path) {
  try {
    io::Checkpoint ck = io::load(path);
    auto it = ck.metadata.find("format");
    return it != ck.metadata.end() && it->second == kFormat;
  } catch (const Error&) {
    return false;
  }
}

AdversarialCheckpointInfo read_adversarial_checkpoint_info(const std::string& path) {
  return parse_pair(path).info;
}

AdversarialCheckpointInfo load_adversarial_checkpoint(const std::string& path,
                                                      nn::Module* generator,
                                                      nn::Module* discriminator,
                                                      optim::Optimizer* g_opt,
                                                      optim::Optimizer* d_opt, bool restore_rng) {
  ParsedPair p = parse_pair(path);
  nn::Module* models[2] = {generator, discriminator};
  optim::Optimizer* opts[2] = {g_opt, d_opt};
  for (int i = 0; i < 2; ++i)
    if (opts[i])
      SN_CHECK(p.has_opt[i], ValueError, "load_adversarial_checkpoint: '", path,
               "' holds no state of the ", kParts[i], "'s optimizer");
  // snapshots for the roll-back: a later part may still reject the file
  nn::StateDict model_before[2];
  optim::OptimizerState opt_before[2];
  for (int i = 0; i < 2; ++i) {
    if (models[i])
      for (const auto& [k, t] : models[i]->state_dict())
        model_before[i].insert(k, t.detach().clone());
    if (opts[i]) opt_before[i] = opts[i]->state_dict();
  }
  int done = 0;  // parts loaded: models 0, 1, optimizers 2, 3
  try {
    for (int i = 0; i < 2; ++i, ++done)
      if (models[i]) models[i]->load_state_dict(p.model[i], true);
    for (int i = 0; i < 2; ++i, ++done)
      if (opts[i]) opts[i]->load_state_dict(p.opt[i]);
    if (restore_rng && !p.info.rng_state.empty()) set_rng_state(p.info.rng_state);
  } catch (const Error& e) {
    for (int i = 0; i < 2 && i < done; ++i)
      if (models[i]) models[i]->load_state_dict(model_before[i], false);
    for (int i = 0; i < 2 && i + 2 < done; ++i)
      if (opts[i]) opts[i]->load_state_dict(opt_before[i]);
    const std::string what = e.what();
    SN_THROW(ValueError, "load_adversarial_checkpoint: '", path, "' does not fit the ",
             kParts[done < 2 ? done : done - 2], done < 2 ? "" : "'s optimizer", ": ", what);
  }
  return p.info;
}

AdversarialCheckpoint::AdversarialCheckpoint(std::string path, nn::Module& generator,
                                             nn::Module& discriminator, optim::Optimizer& g_opt,
                                             optim::Optimizer& d_opt,
                                             AdversarialCheckpointData data)
    : path_(std::move(path)),
      g_(generator),
      d_(discriminator),
      g_opt_(g_opt),
      d_opt_(d_opt),
      data_(std::move(data)) {
  SN_CHECK(!path_.empty(), ValueError, "AdversarialCheckpoint: the path is empty");
}

void AdversarialCheckpoint::on_epoch_end(TrainState& s) {
  data_.epoch = s.epoch + 1;
  save_adversarial_checkpoint(path_, g_, d_, &g_opt_, &d_opt_, data_);
}

}  // namespace sn::train
