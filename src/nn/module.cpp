// Module bookkeeping: registration, traversal with dotted names, modes, dtype conversion,
// state_dict save/load and forward hooks. Printing and summary() are in describe.cpp; no
// layer math here.
#include "sinapsis/nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <typeinfo>

#include "sinapsis/autograd/node.h"

namespace sn::nn {

// ============================================================== StateDict
void StateDict::insert(std::string key, Tensor value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    items_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(key, items_.size());
  items_.emplace_back(std::move(key), std::move(value));
}
const Tensor& StateDict::at(const std::string& key) const {
  auto it = index_.find(key);
  SN_CHECK(it != index_.end(), IndexError, "StateDict: no key '", key, "' (", items_.size(),
           " keys)");
  return items_[it->second].second;
}
Tensor& StateDict::operator[](const std::string& key) {
  auto it = index_.find(key);
  if (it != index_.end()) return items_[it->second].second;
  insert(key, Tensor());
  return items_.back().second;
}
bool StateDict::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  return true;
}
std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> k;
  k.reserve(items_.size());
  for (const auto& [name, t] : items_) k.push_back(name);
  return k;
}

// ============================================================== Module
namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
}  // namespace

Module::~Module() = default;

Tensor Module::forward(const Tensor&) {
  SN_THROW(ValueError, label(), ": forward is not implemented; hint: override ",
           "Tensor forward(const Tensor& x) in ", type_name());
}

Value Module::forward_multi(const Value& in) {
  SN_CHECK(in.has(0), ValueError, label(), ": called with no input tensor (", in.size(), " item",
           in.size() == 1 ? "" : "s", ", the first undefined)");
  return in.with_first(forward(in[0]));
}

Value Module::call(const Value& in) {
  Value out = forward_multi(in);
  if (hooks_.empty() || in.empty() || out.empty()) [[likely]]
    return out;
  auto hooks = hooks_;  // a copy: a hook may remove itself (or others) while running
  for (auto& [id, fn] : hooks) fn(*this, in[0], out[0]);
  return out;
}

Tensor Module::call_with_hooks(const Tensor& x) {
  Tensor y = forward(x);
  // a copy: a hook may remove itself (or others) while running
  auto hooks = hooks_;
  for (auto& [id, fn] : hooks) fn(*this, x, y);
  return y;
}

std::string Module::type_name() const {
  const char* raw = typeid(*this).name();
  int status = 0;
  char* dem = abi::__cxa_demangle(raw, nullptr, nullptr, &status);
  std::string s = (status == 0 && dem) ? dem : raw;
  std::free(dem);
  // keep the last component outside template brackets: "sn::(anonymous namespace)::Net" -> "Net"
  int depth = 0;
  size_t cut = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '<') ++depth;
    if (s[i] == '>') --depth;
    if (depth == 0 && s[i] == ':' && s[i + 1] == ':') cut = i + 2;
  }
  return s.substr(cut);
}

std::string Module::label() const {
  if (path_.empty()) return brief();
  return brief() + " '" + path_ + "'";
}

// ---- registration
void Module::check_new_name(const std::string& name, const char* what) const {
  SN_CHECK(!name.empty(), ValueError, type_name(), ": ", what, " name must not be empty");
  SN_CHECK(name.find('.') == std::string::npos, ValueError, type_name(), ": ", what, " name '",
           name, "' must not contain '.' (dots separate nesting levels)");
  auto taken = [&](const auto& v) {
    return std::any_of(v.begin(), v.end(), [&](const auto& s) { return s.name == name; });
  };
  const bool child = std::any_of(children_.begin(), children_.end(),
                                 [&](const auto& c) { return c.first == name; });
  SN_CHECK(!taken(params_) && !taken(buffers_) && !child, ValueError, type_name(), ": ", what,
           " name '", name, "' is already used in this module");
}

Tensor Module::register_parameter(std::string name, Tensor value, bool requires_grad) {
  check_new_name(name, "parameter");
  SN_CHECK(value.defined(), ValueError, type_name(), ": parameter '", name, "' is undefined");
  SN_CHECK(value.is_floating_point() || !requires_grad, DTypeError, type_name(), ": parameter '",
           name, "' must be floating point to require grad (got ", value.dtype(), ")");
  // a parameter is a leaf: tensors with history are cut from it (sharing storage)
  if (!value.is_leaf()) value = value.detach();
  value.requires_grad_(requires_grad);
  params_.push_back({std::move(name), value, true});
  return value;
}

Tensor Module::register_buffer(std::string name, Tensor value, bool persistent) {
  check_new_name(name, "buffer");
  SN_CHECK(value.defined(), ValueError, type_name(), ": buffer '", name, "' is undefined");
  if (value.requires_grad()) value = value.detach();
  buffers_.push_back({std::move(name), value, persistent});
  return value;
}

void Module::add_child(std::string name, std::shared_ptr<Module> child) {
  check_new_name(name, "module");
  SN_CHECK(child != nullptr, ValueError, type_name(), ": module '", name, "' is null");
  // registering an ancestor (or this module) as a child would make the tree a cycle
  std::vector<const Module*> stack{child.get()};
  while (!stack.empty()) {
    const Module* m = stack.back();
    stack.pop_back();
    SN_CHECK(m != this, ValueError, type_name(), ": registering '", name,
             "' would make the module its own descendant");
    for (const auto& c : m->children_) stack.push_back(c.second.get());
  }
  child->set_path(join(path_, name));
  children_.emplace_back(std::move(name), std::move(child));
}

void Module::set_path(const std::string& path) {
  path_ = path;
  for (auto& [name, c] : children_) c->set_path(join(path, name));
}

// ---- traversal
void Module::collect_tensors(const std::string& prefix, bool params, bool recurse, bool dedupe,
                             bool persistent_only, std::vector<std::pair<std::string, Tensor>>& out,
                             std::unordered_set<const TensorImpl*>& seen,
                             std::unordered_set<const Module*>& seen_modules) const {
  if (dedupe && !seen_modules.insert(this).second) return;
  for (const Slot& s : params ? params_ : buffers_) {
    if (persistent_only && !s.persistent) continue;
    if (dedupe && !seen.insert(s.value.impl()).second) continue;
    out.emplace_back(join(prefix, s.name), s.value);
  }
  if (!recurse) return;
  for (const auto& [name, c] : children_)
    c->collect_tensors(join(prefix, name), params, true, dedupe, persistent_only, out, seen,
                       seen_modules);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  std::unordered_set<const Module*> seen_m;
  collect_tensors("", true, recurse, true, false, out, seen, seen_m);
  return out;
}
std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}
std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  std::unordered_set<const Module*> seen_m;
  collect_tensors("", false, recurse, true, false, out, seen, seen_m);
  return out;
}
std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}
std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [n, c] : children_) out.push_back(c);
  return out;
}
std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  std::unordered_set<const Module*> seen;
  // explicit stack in pre-order: deep nesting cannot overflow the call stack
  std::vector<std::pair<std::string, Module*>> stack{{"", this}};
  while (!stack.empty()) {
    auto [name, m] = stack.back();
    stack.pop_back();
    if (!seen.insert(m).second) continue;
    out.emplace_back(name, m);
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(join(name, it->first), it->second.get());
  }
  return out;
}
int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

// ---- modes
void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}
void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) p.zero_grad(set_to_none);
}
void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [n, c] : children_) c->apply(fn);
  fn(*this);
}

namespace {
// Points t's impl at new data (libtorch's set_data): every handle to this parameter sees it.
// The version moves past the old storage's so a graph that saved the old values fails loudly.
void replace_data(const Tensor& t, const Tensor& src) {
  TensorImpl* i = t.impl();
  const uint32_t old_version = i->storage->version;
  const TensorImpl* s = src.impl();
  i->storage = s->storage;
  i->shape = s->shape;
  i->strides = s->strides;
  i->offset = s->offset;
  i->dtype = s->dtype;
  i->refresh();
  i->storage->version = std::max(i->storage->version, old_version + 1);
  if (i->autograd) i->autograd->grad = Tensor();
}
}  // namespace

void Module::to(DType dtype) {
  SN_CHECK(is_floating(dtype), DTypeError, type_name(),
           ".to: modules convert to a floating-point dtype (got ", dtype, ")");
  NoGradGuard ng;
  std::unordered_set<const TensorImpl*> done;
  for (auto& [name, m] : named_modules()) {
    for (auto* slots : {&m->params_, &m->buffers_})
      for (Slot& s : *slots) {
        if (!s.value.is_floating_point() || s.value.dtype() == dtype) continue;
        if (!done.insert(s.value.impl()).second) continue;
        replace_data(s.value, s.value.detach().to(dtype).contiguous());
      }
  }
}

void Module::to(Device device) {
  NoGradGuard ng;
  std::unordered_set<const TensorImpl*> done;
  for (auto& [name, m] : named_modules()) {
    for (auto* slots : {&m->params_, &m->buffers_})
      for (Slot& s : *slots) {
        if (!s.value.defined() || s.value.device() == device) continue;
        if (!done.insert(s.value.impl()).second) continue;
        const Tensor grad = s.value.grad();
        replace_data(s.value, s.value.detach().to(device));
        if (grad.defined()) s.value.set_grad(grad.to(device));
      }
  }
}

// ---- checkpoints
StateDict Module::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> items;
  std::unordered_set<const TensorImpl*> seen;
  std::unordered_set<const Module*> seen_m;
  // no dedupe: a tensor shared by two modules is saved under both names, as PyTorch does
  collect_tensors("", true, true, false, false, items, seen, seen_m);
  std::vector<std::pair<std::string, Tensor>> bufs;
  collect_tensors("", false, true, false, true, bufs, seen, seen_m);
  StateDict d;
  for (auto& [k, t] : items) d.insert(k, t.detach());
  for (auto& [k, t] : bufs) d.insert(k, t.detach());
  return d;
}

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
  const StateDict own = state_dict();
  LoadResult res;
  std::vector<std::string> mismatched;
  for (const auto& [k, t] : own) {
    if (!dict.contains(k)) {
      res.missing_keys.push_back(k);
      continue;
    }
    const Tensor& src = dict.at(k);
    if (!src.defined()) {
      mismatched.push_back(k + ": checkpoint tensor is undefined, model " + t.shape().str());
    } else if (src.shape() != t.shape()) {
      mismatched.push_back(k + ": checkpoint " + src.shape().str() + ", model " + t.shape().str());
    }
  }
  for (const auto& [k, t] : dict)
    if (!own.contains(k)) res.unexpected_keys.push_back(k);

  const bool key_errors = strict && (!res.missing_keys.empty() || !res.unexpected_keys.empty());
  if (key_errors || !mismatched.empty()) {
    std::ostringstream os;
    os << "load_state_dict: the state dict does not fit " << type_name() << " (";
    const char* sep = "";
    if (strict) {
      os << res.missing_keys.size() << " missing, " << res.unexpected_keys.size() << " unexpected";
      sep = ", ";
    }
    os << sep << mismatched.size() << " shape-mismatched key" << (mismatched.size() == 1 ? "" : "s")
       << ")";
    auto list = [&](const char* what, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      os << "\n  " << what << ": ";
      for (size_t i = 0; i < keys.size(); ++i) os << (i ? ", " : "") << keys[i];
    };
    if (strict) {
      list("missing keys", res.missing_keys);
      list("unexpected keys", res.unexpected_keys);
    }
    for (const std::string& m : mismatched) os << "\n  shape mismatch: " << m;
    if (mismatched.empty())
      os << "\n  hint: load_state_dict(dict, /*strict=*/false) loads the keys that match";
    else
      os << "\n  hint: the checkpoint was saved from a model with different layer sizes";
    throw ValueError(os.str());
  }
  NoGradGuard ng;
  for (const auto& [k, t] : own) {
    if (!dict.contains(k)) continue;
    Tensor dst = t;
    dst.copy_(dict.at(k));
  }
  return res;
}

// ---- hooks
int Module::add_forward_hook(ForwardHook hook) {
  SN_CHECK(hook != nullptr, ValueError, type_name(), ".add_forward_hook: the hook is empty");
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}
void Module::remove_forward_hook(int id) {
  std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
}

}  // namespace sn::nn
