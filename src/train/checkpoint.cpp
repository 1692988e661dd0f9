// Training checkpoints: model + optimizer tensors and the training metadata in one safetensors
// file (format in checkpoint.h). Loading parses and checks the whole file before changing any
// object, and rolls back if a later part is rejected, so a bad file leaves training state as
// it was. Not here: the safetensors byte format (io) and model specs (nn, the CLI).
#include "sinapsis/train/checkpoint.h"

#include <charconv>
#include <set>

#include "core/json_read.h"
#include "sinapsis/io/safetensors.h"
#include "train/json_util.h"

namespace sn::train {

namespace {

using nlohmann::json;

constexpr const char* kFormat = "sinapsis.checkpoint";
constexpr const char* kVersion = "1";
const std::set<std::string> kReserved = {"format",     "format_version", "epoch",     "rng_state",
                                         "model_spec", "optimizer",      "scheduler", "history"};

json numbers_to_json(const std::map<std::string, double>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = detail::number_to_json(v);
  return j;
}

std::map<std::string, double> numbers_from_json(const json& j, const std::string& what) {
  SN_CHECK(j.is_object(), IOError, what, " must be a JSON object");
  std::map<std::string, double> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    try {
      out[it.key()] = detail::json_to_number(it.value(), what + " entry '" + it.key() + "'");
    } catch (const ValueError& e) {
      throw IOError(e.what());
    }
  }
  return out;
}

// {"name": ..., "<field>": {...numbers...}} from a metadata value.
void parse_named_numbers(const std::string& text, const char* field, const std::string& what,
                         std::string& name, std::map<std::string, double>& numbers) {
  const json j = sn::detail::parse_json<IOError>(text, what, {.max_depth = 8});
  SN_CHECK(j.is_object() && j.contains("name") && j["name"].is_string() && j.contains(field),
           IOError, what, " must be {\"name\": ..., \"", field, "\": {...}}");
  name = j["name"].get<std::string>();
  numbers = numbers_from_json(j[field], what + "." + field);
}

io::Metadata make_metadata(const CheckpointData& data) {
  SN_CHECK(data.epoch >= 0, ValueError, "save_checkpoint: epoch must be >= 0 (got ", data.epoch,
           ")");
  io::Metadata md;
  for (const auto& [k, v] : data.extra) {
    SN_CHECK(!kReserved.count(k), ValueError, "save_checkpoint: extra metadata key '", k,
             "' is reserved for the checkpoint itself; hint: choose another name");
    md[k] = v;
  }
  md["format"] = kFormat;
  md["format_version"] = kVersion;
  md["epoch"] = std::to_string(data.epoch);
  if (data.save_rng) md["rng_state"] = rng_state();
  if (!data.model_spec.empty()) md["model_spec"] = data.model_spec;
  if (data.scheduler)
    md["scheduler"] = json{{"name", data.scheduler->name()},
                           {"state", numbers_to_json(data.scheduler->state_dict())}}
                          .dump();
  if (data.history) md["history"] = data.history->to_json();
  return md;
}

void add_model(io::TensorMap& tensors, const nn::Module& model) {
  for (const auto& [name, t] : model.state_dict()) tensors["model." + name] = t.detach();
}

void save_impl(const std::string& path, const nn::Module& model, const optim::Optimizer* opt,
               const CheckpointData& data) {
  io::Metadata md = make_metadata(data);
  io::TensorMap tensors;
  add_model(tensors, model);
  if (opt) {
    optim::OptimizerState st = opt->state_dict();
    for (auto& [k, t] : st.tensors) tensors["optim." + k] = t;
    md["optimizer"] = json{{"name", st.optimizer}, {"scalars", numbers_to_json(st.scalars)}}.dump();
  }
  io::save(tensors, path, md);
}

// Everything the file holds, parsed and checked, before any object is touched.
struct Parsed {
  CheckpointInfo info;
  nn::StateDict model;
  optim::OptimizerState optimizer;
  bool has_optimizer = false;
};

Parsed parse(const std::string& path) {
  io::Checkpoint ck = io::load(path);
  Parsed p;
  const io::Metadata& md = ck.metadata;
  auto it = md.find("format");
  SN_CHECK(it != md.end() && it->second == kFormat, IOError, "load_checkpoint: '", path,
           "' is not a sinapsis training checkpoint (its metadata has no format \"", kFormat,
           "\"); hint: plain weights load with sn::io::load and Module::load_state_dict");
  it = md.find("format_version");
  SN_CHECK(it != md.end() && it->second == kVersion, IOError, "load_checkpoint: '", path,
           "' has checkpoint format version '", it == md.end() ? "" : it->second,
           "', this build reads version ", kVersion);
  CheckpointInfo& info = p.info;
  info.metadata = md;
  {
    it = md.find("epoch");
    SN_CHECK(it != md.end(), IOError, "load_checkpoint: '", path, "' has no epoch");
    const std::string& s = it->second;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), info.epoch);
    SN_CHECK(ec == std::errc() && ptr == s.data() + s.size() && info.epoch >= 0, IOError,
             "load_checkpoint: '", path, "': epoch '", s, "' is not a count of epochs");
  }
  if (auto h = md.find("rng_state"); h != md.end()) info.rng_state = h->second;
  if (auto h = md.find("model_spec"); h != md.end()) info.model_spec = h->second;
  if (auto h = md.find("history"); h != md.end()) {
    try {
      info.history = History::from_json(h->second);
    } catch (const ValueError& e) {
      SN_THROW(IOError, "load_checkpoint: '", path, "': bad history: ", e.what());
    }
    info.has_history = true;
  }
  if (auto h = md.find("scheduler"); h != md.end())
    parse_named_numbers(h->second, "state", "load_checkpoint: '" + path + "': scheduler",
                        info.scheduler, info.scheduler_state);
  if (auto h = md.find("optimizer"); h != md.end()) {
    parse_named_numbers(h->second, "scalars", "load_checkpoint: '" + path + "': optimizer",
                        info.optimizer, info.optimizer_scalars);
    p.has_optimizer = true;
    p.optimizer.optimizer = info.optimizer;
    p.optimizer.scalars = info.optimizer_scalars;
  }
  for (const auto& [k, v] : md)
    if (!kReserved.count(k)) info.extra[k] = v;
  for (auto& [name, t] : ck.tensors) {
    if (name.rfind("model.", 0) == 0) {
      p.model.insert(name.substr(6), t);
    } else if (name.rfind("optim.", 0) == 0) {
      SN_CHECK(p.has_optimizer, IOError, "load_checkpoint: '", path, "' holds optimizer tensor '",
               name, "' but no optimizer metadata");
      p.optimizer.tensors[name.substr(6)] = t;
    } else {
      SN_THROW(IOError, "load_checkpoint: '", path, "': tensor '", name,
               "' is neither model.* nor optim.*");
    }
  }
  return p;
}

CheckpointInfo load_impl(const std::string& path, nn::Module& model, optim::Optimizer* opt,
                         const LoadCheckpointOptions& opts) {
  Parsed p = parse(path);
  CheckpointInfo& info = p.info;
  if (opt)
    SN_CHECK(p.has_optimizer, ValueError, "load_checkpoint: '", path,
             "' holds no optimizer state; hint: load it into the model alone");
  if (opts.scheduler) {
    SN_CHECK(!info.scheduler.empty(), ValueError, "load_checkpoint: '", path,
             "' holds no scheduler state");
    SN_CHECK(info.scheduler == opts.scheduler->name(), ValueError, "load_checkpoint: '", path,
             "' holds the state of a ", info.scheduler, ", not of a ", opts.scheduler->name());
  }

  // Snapshots for the roll-back: later parts may still reject the file.
  nn::StateDict model_before;
  for (const auto& [k, t] : model.state_dict()) model_before.insert(k, t.detach().clone());
  optim::OptimizerState opt_before;
  if (opt) opt_before = opt->state_dict();
  std::map<std::string, double> sched_before;
  if (opts.scheduler) sched_before = opts.scheduler->state_dict();
  const std::string rng_before = rng_state();

  int stage = 0;
  try {
    model.load_state_dict(p.model, opts.strict);
    stage = 1;
    if (opt) opt->load_state_dict(p.optimizer);
    stage = 2;
    if (opts.scheduler) opts.scheduler->load_state_dict(info.scheduler_state);
    stage = 3;
    if (opts.restore_rng && !info.rng_state.empty()) set_rng_state(info.rng_state);
  } catch (const Error& e) {
    if (stage >= 1) model.load_state_dict(model_before, false);
    if (stage >= 2 && opt) opt->load_state_dict(opt_before);
    if (stage >= 3 && opts.scheduler) opts.scheduler->load_state_dict(sched_before);
    set_rng_state(rng_before);
    throw;
  }
  return info;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const CheckpointData& data) {
  save_impl(path, model, &optimizer, data);
}
void save_checkpoint(const std::string& path, const nn::Module& model, const CheckpointData& data) {
  save_impl(path, model, nullptr, data);
}

CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model,
                               optim::Optimizer& optimizer, const LoadCheckpointOptions& opts) {
  return load_impl(path, model, &optimizer, opts);
}
CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model,
                               const LoadCheckpointOptions& opts) {
  return load_impl(path, model, nullptr, opts);
}
CheckpointInfo read_checkpoint_info(const std::string& path) { return parse(path).info; }

}  // namespace sn::train
