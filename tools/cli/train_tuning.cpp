// The learning-rate schedules of `sinapsis train` (--schedule and its options): each is one of
// the library's schedulers (optim/scheduler.h), a warm-up chained in front when asked. The
// options are kept in run.json, so `resume` rebuilds the same schedule and loads its state.
#include <algorithm>
#include <sstream>

#include "cli.h"

namespace sn::cli {

using json = nlohmann::json;

json ScheduleOptions::to_json() const {
  return {{"step_size", step_size},
          {"milestones", milestones},
          {"gamma", gamma},
          {"pct_start", pct_start},
          {"plateau_patience", plateau_patience},
          {"warmup_epochs", warmup_epochs}};
}

ScheduleOptions ScheduleOptions::from_json(const json& j) {
  ScheduleOptions o;
  if (!j.is_object()) return o;
  o.step_size = j.value("step_size", int64_t{0});
  o.milestones = j.value("milestones", std::vector<int64_t>{});
  o.gamma = j.value("gamma", -1.0);
  o.pct_start = j.value("pct_start", 0.3);
  o.plateau_patience = j.value("plateau_patience", int64_t{2});
  o.warmup_epochs = j.value("warmup_epochs", int64_t{0});
  return o;
}

CLI::Validator one_of(const std::vector<std::string>& names) {
  std::string desc, list;
  for (size_t i = 0; i < names.size(); ++i) {
    desc += (i ? "," : "") + names[i];
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return CLI::Validator(
      [names, list](std::string& v) -> std::string {
        return std::find(names.begin(), names.end(), v) != names.end()
                   ? ""
                   : "unknown '" + v + "' (expected " + list + ")";
      },
      "{" + desc + "}");
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> n = {"cosine",      "none",     "step",   "multistep",
                                             "exponential", "onecycle", "plateau"};
  return n;
}

void add_schedule_options(CLI::App* cmd, ScheduleOptions& s) {
  const std::string g = "Learning-rate schedule (--schedule; see `sinapsis help schedules`)";
  cmd->add_option("--step-size", s.step_size,
                  "step: epochs between cuts of the lr by --gamma (default: a third of the epochs)")
      ->group(g)
      ->check(positive());
  cmd->add_option("--milestones", s.milestones,
                  "multistep: epochs after which the lr is cut by --gamma, e.g. 5,8")
      ->group(g)
      ->delimiter(',')
      ->check(positive());
  cmd->add_option("--gamma", s.gamma,
                  "factor of each cut: step, multistep, plateau (0.1); exponential, every epoch "
                  "(0.9)")
      ->group(g)
      ->check(open_fraction());
  cmd->add_option("--pct-start", s.pct_start,
                  "onecycle: fraction of the steps spent rising to --lr")
      ->group(g)
      ->capture_default_str()
      ->check(open_fraction());
  cmd->add_option("--plateau-patience", s.plateau_patience,
                  "plateau: epochs without improvement of the monitored loss before a cut")
      ->group(g)
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--warmup-epochs", s.warmup_epochs,
                  "linear warm-up from a tenth of the lr over this many epochs, then the schedule "
                  "(not with onecycle, which warms up itself)")
      ->group(g)
      ->check(non_negative());
}

namespace {
std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

Schedule make_schedule(const std::string& name, const ScheduleOptions& o, optim::Optimizer& opt,
                       int64_t epochs, int64_t batches_per_epoch, std::function<double()> metric) {
  const auto& names = schedule_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    SN_THROW(ValueError, "--schedule: unknown '", name, "' (expected ", list, ")");
  }
  // options that belong to another schedule are refused rather than silently ignored
  auto refuse = [&](bool given, const char* opt_name, const char* for_what) {
    SN_CHECK(!given, ValueError, opt_name, ": only with --schedule ", for_what,
             " (the schedule is ", name, ")");
  };
  refuse(o.step_size > 0 && name != "step", "--step-size", "step");
  refuse(!o.milestones.empty() && name != "multistep", "--milestones", "multistep");
  refuse(o.gamma > 0 && name != "step" && name != "multistep" && name != "exponential" &&
             name != "plateau",
         "--gamma", "step, multistep, exponential or plateau");
  refuse(o.pct_start != 0.3 && name != "onecycle", "--pct-start", "onecycle");
  refuse(o.plateau_patience != 2 && name != "plateau", "--plateau-patience", "plateau");
  SN_CHECK(!(o.warmup_epochs > 0 && name == "onecycle"), ValueError,
           "--warmup-epochs: onecycle warms up by itself (--pct-start); leave --warmup-epochs out");
  SN_CHECK(o.warmup_epochs < epochs || o.warmup_epochs == 0, ValueError,
           "--warmup-epochs: ", o.warmup_epochs, " warm-up epochs leave none of the ", epochs,
           " epochs for training at the full lr");

  Schedule s;
  const double gamma = o.gamma > 0 ? o.gamma : name == "exponential" ? 0.9 : 0.1;
  if (name == "cosine") {
    s.parts.push_back(std::make_unique<optim::CosineAnnealingLR>(
        opt, optim::CosineAnnealingLROptions{.T_max = epochs}));
    s.describe = "cosine to 0 over " + std::to_string(epochs) + " epochs";
  } else if (name == "step") {
    const int64_t size = o.step_size > 0 ? o.step_size : std::max<int64_t>(1, epochs / 3);
    s.parts.push_back(std::make_unique<optim::StepLR>(
        opt, optim::StepLROptions{.step_size = size, .gamma = gamma}));
    s.describe = "step: x" + num(gamma) + " every " + std::to_string(size) + " epochs";
  } else if (name == "multistep") {
    SN_CHECK(!o.milestones.empty(), ValueError,
             "--schedule multistep: needs --milestones (the epochs after which to cut, e.g. 5,8)");
    for (int64_t m : o.milestones)
      SN_CHECK(m < epochs, ValueError, "--milestones: epoch ", m, " is not before the last epoch (",
               epochs, "), so the cut would never apply");
    s.parts.push_back(std::make_unique<optim::MultiStepLR>(
        opt, optim::MultiStepLROptions{.milestones = o.milestones, .gamma = gamma}));
    std::string ms;
    for (int64_t m : o.milestones) ms += (ms.empty() ? "" : ",") + std::to_string(m);
    s.describe = "multistep: x" + num(gamma) + " after epochs " + ms;
  } else if (name == "exponential") {
    s.parts.push_back(
        std::make_unique<optim::ExponentialLR>(opt, optim::ExponentialLROptions{.gamma = gamma}));
    s.describe = "exponential: x" + num(gamma) + " every epoch";
  } else if (name == "onecycle") {
    SN_CHECK(batches_per_epoch > 0, ValueError, "--schedule onecycle: no training batches");
    const bool has_momentum = opt.has_option("beta1") || opt.has_option("momentum");
    const double peak = opt.lr();
    auto oc = std::make_unique<optim::OneCycleLR>(
        opt, optim::OneCycleLROptions{.max_lr = opt.lr(),
                                      .epochs = epochs,
                                      .steps_per_epoch = batches_per_epoch,
                                      .pct_start = o.pct_start,
                                      .cycle_momentum = has_momentum});
    s.describe = "onecycle: up to " + num(peak) + " over " + num(o.pct_start * 100) + "% of " +
                 std::to_string(oc->total_steps()) + " steps, then down" +
                 (has_momentum ? ", momentum cycled" : "");
    s.parts.push_back(std::move(oc));
    s.batch_step = true;
  } else if (name == "plateau") {
    s.parts.push_back(std::make_unique<optim::PlateauScheduler>(
        opt, optim::ReduceLROnPlateauOptions{.factor = gamma, .patience = o.plateau_patience},
        std::move(metric)));
    s.describe = "plateau: x" + num(gamma) + " after " + std::to_string(o.plateau_patience) +
                 " epochs without improvement";
  } else {
    s.describe = "constant";
  }
  if (o.warmup_epochs > 0) {
    // made last, so its base is the schedule's epoch-0 lr (see ChainedScheduler)
    s.parts.push_back(std::make_unique<optim::LinearWarmup>(
        opt, optim::LinearWarmupOptions{.start_factor = 0.1, .total_iters = o.warmup_epochs}));
    s.describe += ", linear warm-up over " + std::to_string(o.warmup_epochs) + " epochs";
  }
  if (s.parts.size() > 1) {
    std::vector<optim::LRScheduler*> raw;
    for (auto& p : s.parts) raw.push_back(p.get());
    s.chain = std::make_unique<optim::ChainedScheduler>(opt, raw);
  }
  return s;
}

}  // namespace sn::cli
