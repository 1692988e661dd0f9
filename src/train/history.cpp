// History and EpochRecord: the flat Keras-style view of an epoch, best-epoch search, and the
// JSON/CSV forms (JSON is what checkpoints store, so it reads back bit-exact, NaN included).
// Also the train layer's private JSON number helpers (json_util.h).
#include "sinapsis/train/history.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "core/json_read.h"
#include "sinapsis/core/error.h"
#include "train/json_util.h"

namespace sn::train {

namespace detail {

nlohmann::json number_to_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double json_to_number(const nlohmann::json& j, const std::string& what) {
  if (j.is_number()) return j.get<double>();
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  SN_THROW(ValueError, what, ": expected a number (got ", j.dump(), ")");
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace detail

Mode resolve_mode(Mode mode, const std::string& key) {
  if (mode != Mode::Auto) return mode;
  return key.find("acc") != std::string::npos ? Mode::Max : Mode::Min;
}

std::map<std::string, double> EpochRecord::logs() const {
  std::map<std::string, double> out;
  out["loss"] = loss;
  for (const auto& [k, v] : metrics) out[k] = v;
  if (has_validation) {
    out["val_loss"] = val_loss;
    for (const auto& [k, v] : val_metrics) out["val_" + k] = v;
  }
  out["lr"] = lr;
  out["time"] = seconds;
  return out;
}

std::optional<double> EpochRecord::get(const std::string& key) const {
  if (key == "loss") return loss;
  if (key == "lr") return lr;
  if (key == "time") return seconds;
  if (auto it = metrics.find(key); it != metrics.end()) return it->second;
  if (has_validation) {
    if (key == "val_loss") return val_loss;
    if (key.rfind("val_", 0) == 0)
      if (auto it = val_metrics.find(key.substr(4)); it != val_metrics.end()) return it->second;
  }
  return std::nullopt;
}

std::vector<double> History::series(const std::string& key) const {
  std::vector<double> out;
  out.reserve(epochs.size());
  for (const auto& e : epochs)
    out.push_back(e.get(key).value_or(std::numeric_limits<double>::quiet_NaN()));
  return out;
}

std::vector<std::string> History::keys() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& k) {
    for (const auto& have : out)
      if (have == k) return;
    out.push_back(k);
  };
  if (epochs.empty()) return out;
  add("loss");
  for (const auto& e : epochs)
    for (const auto& [k, v] : e.metrics) add(k);
  bool val = false;
  for (const auto& e : epochs) val = val || e.has_validation;
  if (val) {
    add("val_loss");
    for (const auto& e : epochs)
      for (const auto& [k, v] : e.val_metrics) add("val_" + k);
  }
  add("lr");
  add("time");
  return out;
}

int64_t History::best(const std::string& key, Mode mode) const {
  const Mode m = resolve_mode(mode, key);
  int64_t best_i = -1;
  double best_v = 0;
  for (size_t i = 0; i < epochs.size(); ++i) {
    if (!epochs[i].completed) continue;
    auto v = epochs[i].get(key);
    if (!v || std::isnan(*v)) continue;
    if (best_i < 0 || (m == Mode::Min ? *v < best_v : *v > best_v)) {
      best_i = static_cast<int64_t>(i);
      best_v = *v;
    }
  }
  return best_i;
}

std::string History::to_json() const {
  using nlohmann::json;
  json arr = json::array();
  for (const auto& e : epochs) {
    json m = json::object(), vm = json::object();
    for (const auto& [k, v] : e.metrics) m[k] = detail::number_to_json(v);
    for (const auto& [k, v] : e.val_metrics) vm[k] = detail::number_to_json(v);
    json je = {{"epoch", e.epoch},
               {"loss", detail::number_to_json(e.loss)},
               {"metrics", m},
               {"has_validation", e.has_validation},
               {"val_loss", detail::number_to_json(e.val_loss)},
               {"val_metrics", vm},
               {"lr", detail::number_to_json(e.lr)},
               {"seconds", detail::number_to_json(e.seconds)},
               {"batches", e.batches},
               {"examples", e.examples},
               {"completed", e.completed}};
    arr.push_back(std::move(je));
  }
  json j = {{"epochs", arr},
            {"best_epoch", best_epoch},
            {"monitor", monitor},
            {"stopped_early", stopped_early},
            {"stop_reason", stop_reason}};
  return j.dump();
}

namespace {

const nlohmann::json& field(const nlohmann::json& obj, const char* key, const char* where) {
  auto it = obj.find(key);
  SN_CHECK(it != obj.end(), ValueError, "History::from_json: ", where, " has no \"", key, "\"");
  return *it;
}

int64_t int_field(const nlohmann::json& obj, const char* key, const char* where) {
  const auto& j = field(obj, key, where);
  SN_CHECK(j.is_number_integer(), ValueError, "History::from_json: ", where, ".", key,
           " must be an integer (got ", j.dump(), ")");
  return j.get<int64_t>();
}

bool bool_field(const nlohmann::json& obj, const char* key, const char* where) {
  const auto& j = field(obj, key, where);
  SN_CHECK(j.is_boolean(), ValueError, "History::from_json: ", where, ".", key,
           " must be true or false (got ", j.dump(), ")");
  return j.get<bool>();
}

double num_field(const nlohmann::json& obj, const char* key, const char* where) {
  return detail::json_to_number(field(obj, key, where),
                                std::string("History::from_json: ") + where + "." + key);
}

std::map<std::string, double> map_field(const nlohmann::json& obj, const char* key,
                                        const char* where) {
  const auto& j = field(obj, key, where);
  SN_CHECK(j.is_object(), ValueError, "History::from_json: ", where, ".", key,
           " must be an object");
  std::map<std::string, double> out;
  for (auto it = j.begin(); it != j.end(); ++it)
    out[it.key()] = detail::json_to_number(it.value(), "History::from_json: metric " + it.key());
  return out;
}

}  // namespace

History History::from_json(const std::string& text) {
  // a history is 4 levels deep: {"epochs": [{"metrics": {...}}]}
  const nlohmann::json j = sn::detail::parse_json(text, "History::from_json", {.max_depth = 8});
  SN_CHECK(j.is_object(), ValueError, "History::from_json: expected a JSON object");
  History h;
  const auto& arr = field(j, "epochs", "the history");
  SN_CHECK(arr.is_array(), ValueError, "History::from_json: \"epochs\" must be an array");
  for (const auto& je : arr) {
    SN_CHECK(je.is_object(), ValueError, "History::from_json: each epoch must be an object");
    EpochRecord e;
    e.epoch = int_field(je, "epoch", "an epoch");
    e.loss = num_field(je, "loss", "an epoch");
    e.metrics = map_field(je, "metrics", "an epoch");
    e.has_validation = bool_field(je, "has_validation", "an epoch");
    e.val_loss = num_field(je, "val_loss", "an epoch");
    e.val_metrics = map_field(je, "val_metrics", "an epoch");
    e.lr = num_field(je, "lr", "an epoch");
    e.seconds = num_field(je, "seconds", "an epoch");
    e.batches = int_field(je, "batches", "an epoch");
    e.examples = int_field(je, "examples", "an epoch");
    e.completed = bool_field(je, "completed", "an epoch");
    h.epochs.push_back(std::move(e));
  }
  h.best_epoch = int_field(j, "best_epoch", "the history");
  SN_CHECK(h.best_epoch >= -1 && h.best_epoch < static_cast<int64_t>(h.epochs.size()), ValueError,
           "History::from_json: best_epoch ", h.best_epoch, " is out of range (", h.epochs.size(),
           " epochs)");
  const auto& mon = field(j, "monitor", "the history");
  const auto& reason = field(j, "stop_reason", "the history");
  SN_CHECK(mon.is_string() && reason.is_string(), ValueError,
           "History::from_json: monitor and stop_reason must be strings");
  h.monitor = mon.get<std::string>();
  h.stop_reason = reason.get<std::string>();
  h.stopped_early = bool_field(j, "stopped_early", "the history");
  return h;
}

History History::load(const std::string& path) {
  // 256 MiB: about a million epochs of records
  const std::string text =
      sn::detail::read_json_text(path, "History::load", {.max_bytes = size_t{256} << 20});
  try {
    return from_json(text);
  } catch (const ValueError& e) {
    SN_THROW(IOError, "History::load: '", path, "': ", e.what());
  }
}

std::string History::to_csv() const {
  const std::vector<std::string> cols = keys();
  std::string out = "epoch";
  for (const auto& c : cols) out += "," + c;
  out += "\n";
  for (const auto& e : epochs) {
    out += std::to_string(e.epoch + 1);
    for (const auto& c : cols) {
      out += ",";
      if (auto v = e.get(c)) out += detail::format_number(*v);
    }
    out += "\n";
  }
  return out;
}

}  // namespace sn::train
