// Optimizer base: parameter groups, per-parameter state, step/zero_grad, options by name and
// the state_dict round trip (with full validation of a loaded state: it may come from a file).
// The update rules live in one file per optimizer.
#include "sinapsis/optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"

namespace sn::optim {

Optimizer::Optimizer(std::string name, std::vector<std::string> buffer_names)
    : name_(std::move(name)), buffer_names_(std::move(buffer_names)) {}

Optimizer::~Optimizer() = default;

void Optimizer::add_group(std::vector<Tensor> params) {
  SN_CHECK(!params.empty(), ValueError, name_, ": a parameter group is empty",
           "; hint: pass the tensors to optimize, e.g. model.parameters()");
  std::set<const TensorImpl*> seen;
  for (const auto& group : groups_)
    for (const auto& p : group) seen.insert(p.impl());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    SN_CHECK(p.defined(), ValueError, name_, ": parameter ", i, " is an undefined tensor");
    SN_CHECK(p.is_floating_point(), DTypeError, name_, ": parameter ", i,
             " must be floating point (dtype ", p.dtype(), ")");
    SN_CHECK(p.is_leaf(), ValueError, name_, ": parameter ", i, " (shape ", p.shape(),
             ") is not a leaf tensor; hint: optimize the tensor you created with requires_grad, "
             "not a result computed from it");
    SN_CHECK(seen.insert(p.impl()).second, ValueError, name_, ": parameter ", i, " (shape ",
             p.shape(), ") appears twice in the parameter groups");
  }
  state_.emplace_back(params.size());
  for (auto& st : state_.back()) st.buffers.resize(buffer_names_.size());
  groups_.push_back(std::move(params));
}

Tensor Optimizer::step(const Closure& closure) {
  Tensor loss;
  if (closure) {
    EnableGradGuard eg;
    loss = closure();
  }
  NoGradGuard ng;
  update();
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& group : groups_)
    for (auto& p : group) p.zero_grad(set_to_none);
}

const std::vector<Tensor>& Optimizer::params(size_t group) const {
  SN_CHECK(group < groups_.size(), IndexError, name_, ": parameter group ", group,
           " does not exist (", groups_.size(), " groups)");
  return groups_[group];
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const auto& group : groups_) all.insert(all.end(), group.begin(), group.end());
  return all;
}

double Optimizer::lr(size_t group) const { return option(group, "lr"); }
void Optimizer::set_lr(double lr) {
  for (size_t g = 0; g < groups_.size(); ++g) set_option(g, "lr", lr);
}
void Optimizer::set_lr(size_t group, double lr) { set_option(group, "lr", lr); }

std::vector<std::string> Optimizer::option_names() const {
  std::vector<std::string> names;
  if (groups_.empty()) return names;
  for (auto& [k, v] : group_options(0)) names.push_back(k);
  return names;
}

bool Optimizer::has_option(const std::string& name) const {
  for (const auto& k : option_names())
    if (k == name) return true;
  return false;
}

static std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

double Optimizer::option(size_t group, const std::string& name) const {
  SN_CHECK(group < groups_.size(), IndexError, name_, ": parameter group ", group,
           " does not exist (", groups_.size(), " groups)");
  for (auto& [k, v] : group_options(group))
    if (k == name) return v;
  SN_THROW(ValueError, name_, ": unknown option '", name, "' (options: ", join(option_names()),
           ")");
}

void Optimizer::set_option(size_t group, const std::string& name, double value) {
  SN_CHECK(group < groups_.size(), IndexError, name_, ": parameter group ", group,
           " does not exist (", groups_.size(), " groups)");
  SN_CHECK(has_option(name), ValueError, name_, ": unknown option '", name,
           "' (options: ", join(option_names()), ")");
  set_group_options(group, {{name, value}});
}

Tensor& Optimizer::buffer(ParamState& st, size_t slot, const Tensor& param, double init) {
  Tensor& b = st.buffers[slot];
  if (!b.defined()) {
    b = detail::make_tensor(param.shape(), param.dtype(), param.device());
    detail::fill_raw(b, init);
  }
  return b;
}

void Optimizer::take(const std::map<std::string, double>& values, const char* name, double& out) {
  if (auto it = values.find(name); it != values.end()) out = it->second;
}
void Optimizer::take(const std::map<std::string, double>& values, const char* name, bool& out) {
  if (auto it = values.find(name); it != values.end()) out = it->second != 0.0;
}
void Optimizer::take(const std::map<std::string, double>& values, const char* name, int64_t& out) {
  if (auto it = values.find(name); it != values.end()) {
    // a state file may hold anything: keep the cast defined, let validation reject the value
    const double v = it->second;
    out = std::isfinite(v) && std::fabs(v) < 9e18 ? static_cast<int64_t>(v) : -1;
  }
}

// ---------------------------------------------------------------- state_dict

OptimizerState Optimizer::state_dict() const {
  OptimizerState s;
  s.optimizer = name_;
  s.scalars["groups"] = static_cast<double>(groups_.size());
  size_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string gp = "group." + std::to_string(g) + ".";
    s.scalars[gp + "params"] = static_cast<double>(groups_[g].size());
    for (auto& [k, v] : group_options(g)) s.scalars[gp + k] = v;
    for (size_t i = 0; i < groups_[g].size(); ++i, ++index) {
      const ParamState& st = state_[g][i];
      const std::string sp = "state." + std::to_string(index) + ".";
      bool any = st.step != 0;
      for (size_t b = 0; b < buffer_names_.size(); ++b) {
        if (!st.buffers[b].defined()) continue;
        s.tensors[sp + buffer_names_[b]] = detail::cast_raw(st.buffers[b], st.buffers[b].dtype(),
                                                            /*force_copy=*/true);
        any = true;
      }
      if (any) s.scalars[sp + "step"] = st.step;
    }
  }
  save_extra(s);
  return s;
}

void Optimizer::save_extra(OptimizerState&) const {}

void Optimizer::load_extra(const OptimizerState&, const std::vector<std::string>& keys) {
  SN_CHECK(keys.empty(), ValueError, name_, ": load_state_dict: unknown key '",
           keys.empty() ? "" : keys.front(), "'");
}

namespace {
// Parses "<index>.<rest>" after a prefix; false when malformed.
bool split_index(const std::string& key, size_t prefix_len, size_t& index, std::string& rest) {
  const char* b = key.data() + prefix_len;
  const char* e = key.data() + key.size();
  auto [p, ec] = std::from_chars(b, e, index);
  if (ec != std::errc() || p == b || p == e || *p != '.') return false;
  rest.assign(p + 1, e);
  return !rest.empty();
}
}  // namespace

void Optimizer::load_state_dict(const OptimizerState& s) {
  const char* op = "load_state_dict";
  SN_CHECK(s.optimizer == name_, ValueError, name_, ": ", op, ": the state was written by '",
           s.optimizer, "', not by ", name_);
  auto scalar = [&](const std::string& key) {
    auto it = s.scalars.find(key);
    SN_CHECK(it != s.scalars.end(), ValueError, name_, ": ", op, ": missing entry '", key, "'");
    return it->second;
  };
  const double ngroups = scalar("groups");
  SN_CHECK(ngroups == static_cast<double>(groups_.size()), ValueError, name_, ": ", op,
           ": the state has ", ngroups, " parameter groups, this optimizer has ", groups_.size());
  std::vector<size_t> first_index(groups_.size() + 1, 0);  // global index of each group's start
  for (size_t g = 0; g < groups_.size(); ++g) {
    const double n = scalar("group." + std::to_string(g) + ".params");
    SN_CHECK(n == static_cast<double>(groups_[g].size()), ValueError, name_, ": ", op, ": group ",
             g, " has ", n, " parameters in the state, ", groups_[g].size(), " here");
    first_index[g + 1] = first_index[g] + groups_[g].size();
  }
  const size_t total = first_index.back();
  auto locate = [&](size_t index, size_t& g, size_t& i) {
    g = 0;
    while (index >= first_index[g + 1]) ++g;
    i = index - first_index[g];
  };

  // Parse everything into fresh containers first, so a bad entry changes nothing.
  std::vector<std::map<std::string, double>> options(groups_.size());
  auto new_state = state_;
  for (auto& group : new_state)
    for (auto& st : group) {
      st.step = 0;
      for (auto& b : st.buffers) b = Tensor();
    }
  std::vector<std::string> extra;
  const std::vector<std::string> names = option_names();
  for (const auto& [key, value] : s.scalars) {
    size_t index = 0;
    std::string rest;
    if (key == "groups") continue;
    if (key.rfind("group.", 0) == 0) {
      SN_CHECK(split_index(key, 6, index, rest) && index < groups_.size(), ValueError, name_, ": ",
               op, ": bad key '", key, "'");
      if (rest == "params") continue;
      SN_CHECK(std::find(names.begin(), names.end(), rest) != names.end(), ValueError, name_, ": ",
               op, ": unknown option '", rest, "' in '", key, "'");
      SN_CHECK(std::isfinite(value), ValueError, name_, ": ", op, ": option '", key,
               "' is not finite (", value, ")");
      options[index][rest] = value;
    } else if (key.rfind("state.", 0) == 0) {
      SN_CHECK(split_index(key, 6, index, rest) && index < total && rest == "step", ValueError,
               name_, ": ", op, ": bad key '", key, "' (", total, " parameters)");
      SN_CHECK(std::isfinite(value) && value >= 0, ValueError, name_, ": ", op, ": '", key,
               "' must be a count >= 0 (got ", value, ")");
      size_t g, i;
      locate(index, g, i);
      new_state[g][i].step = value;
    } else {
      extra.push_back(key);
    }
  }
  for (const auto& [key, t] : s.tensors) {
    size_t index = 0;
    std::string rest;
    if (key.rfind("state.", 0) != 0) {
      extra.push_back(key);
      continue;
    }
    SN_CHECK(split_index(key, 6, index, rest) && index < total, ValueError, name_, ": ", op,
             ": bad key '", key, "' (", total, " parameters)");
    auto it = std::find(buffer_names_.begin(), buffer_names_.end(), rest);
    SN_CHECK(it != buffer_names_.end(), ValueError, name_, ": ", op, ": unknown state buffer '",
             rest, "' in '", key, "'");
    size_t g, i;
    locate(index, g, i);
    const Tensor& p = groups_[g][i];
    SN_CHECK(t.defined(), ValueError, name_, ": ", op, ": '", key, "' is an undefined tensor");
    SN_CHECK(t.shape() == p.shape(), ShapeError, name_, ": ", op, ": '", key, "' has shape ",
             t.shape(), ", the parameter has shape ", p.shape());
    // on the parameter's device (a checkpoint holds CPU tensors)
    Tensor b = detail::make_tensor(p.shape(), p.dtype(), p.device());
    detail::copy_raw(b, t);
    new_state[g][i].buffers[it - buffer_names_.begin()] = b;
  }
  for (size_t g = 0; g < groups_.size(); ++g)
    for (const auto& n : names)
      SN_CHECK(options[g].count(n), ValueError, name_, ": ", op, ": missing entry 'group.", g, ".",
               n, "'");

  // Commit: options (validated by the optimizer), then extra state, then buffers. Roll the
  // options back if anything after them throws.
  std::vector<std::map<std::string, double>> old_options(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g)
    for (auto& [k, v] : group_options(g)) old_options[g][k] = v;
  try {
    for (size_t g = 0; g < groups_.size(); ++g) set_group_options(g, options[g]);
    load_extra(s, extra);
  } catch (...) {
    for (size_t g = 0; g < groups_.size(); ++g) set_group_options(g, old_options[g]);
    throw;
  }
  state_ = std::move(new_state);
}

}  // namespace sn::optim
