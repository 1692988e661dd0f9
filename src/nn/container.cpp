// Sequential, Residual, Parallel: ownership, indexing and forward. Children are called through
// Module::operator() so their hooks (and summary()) see every call.
#include "sinapsis/nn/container.h"

#include "sinapsis/ops/ops.h"

namespace sn::nn {

// ============================================================== Sequential
Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
  for (const ModulePtr& m : modules) append(m);
}
Sequential::Sequential(std::initializer_list<std::pair<std::string, ModulePtr>> named_modules) {
  for (const auto& [name, m] : named_modules) append(name, m);
}
Sequential::Sequential(const std::vector<ModulePtr>& modules) {
  for (const ModulePtr& m : modules) append(m);
}

Sequential& Sequential::append(ModulePtr module) {
  return append(std::to_string(size()), std::move(module));
}
Sequential& Sequential::append(std::string name, ModulePtr module) {
  SN_CHECK(module, ValueError, "Sequential: module '", name, "' is null");
  register_module(std::move(name), module.shared());
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  const auto& ch = named_children();
  if (ch.empty()) return x;
  Tensor h = (*ch[0].second)(x);
  for (size_t i = 1; i < ch.size(); ++i) h = (*ch[i].second)(h);
  return h;
}

Value Sequential::forward_multi(const Value& in) {
  Value h = in;
  for (const auto& [name, child] : named_children()) h = child->call(h);
  return h;
}

std::shared_ptr<Module> Sequential::ptr(int64_t i) const {
  const int64_t n = static_cast<int64_t>(size());
  SN_CHECK(i >= -n && i < n, IndexError, "Sequential: index ", i, " is out of range for ", n,
           " module", n == 1 ? "" : "s");
  return named_children()[static_cast<size_t>(i < 0 ? i + n : i)].second;
}

Module& Sequential::operator[](const std::string& name) const {
  for (const auto& [n, m] : named_children())
    if (n == name) return *m;
  SN_THROW(IndexError, "Sequential: no module named '", name, "'");
}

void Sequential::bad_cast(int64_t i, const char* wanted) const {
  SN_THROW(ValueError, "Sequential: module ", i, " is ", ptr(i)->type_name(),
           ", not the requested type (", wanted, ")");
}

// ============================================================== Residual
Residual::Residual(ModulePtr body, ModulePtr shortcut) {
  SN_CHECK(body, ValueError, "Residual: the body module is null");
  body_ = register_module("body", body.shared());
  if (shortcut) shortcut_ = register_module("shortcut", shortcut.shared());
}

// y = body(x) + s(x): the add's backward sends g to both paths, which is what lets gradients
// skip the body in deep networks.
Tensor Residual::forward(const Tensor& x) {
  const Tensor fx = (*body_)(x);
  const Tensor sx = shortcut_ ? (*shortcut_)(x) : x;
  if (fx.shape() != sx.shape()) [[unlikely]]
    SN_THROW(ShapeError, label(), ": the body's output ", fx.shape(),
             shortcut_ ? " does not match the shortcut's output " : " does not match the input ",
             sx.shape(),
             shortcut_ ? "" : "; hint: give Residual a shortcut module that projects the input");
  return add(fx, sx);
}

// ============================================================== Parallel
Parallel::Parallel(std::initializer_list<ModulePtr> branches, int64_t dim) : dim_(dim) {
  for (const ModulePtr& b : branches) append(b);
}
Parallel::Parallel(const std::vector<ModulePtr>& branches, int64_t dim) : dim_(dim) {
  for (const ModulePtr& b : branches) append(b);
}
Parallel& Parallel::append(ModulePtr branch) {
  SN_CHECK(branch, ValueError, "Parallel: branch ", size(), " is null");
  register_module(std::to_string(size()), branch.shared());
  return *this;
}

Tensor Parallel::forward(const Tensor& x) {
  const auto& ch = named_children();
  SN_CHECK(!ch.empty(), ValueError, label(), ": has no branches");
  std::vector<Tensor> outs;
  outs.reserve(ch.size());
  for (const auto& [name, m] : ch) outs.push_back((*m)(x));
  const Tensor& o0 = outs[0];
  const int d = wrap_dim(dim_, o0.dim(), "Parallel");
  for (size_t i = 1; i < outs.size(); ++i) {
    bool ok = outs[i].dim() == o0.dim();
    for (int k = 0; ok && k < o0.dim(); ++k)
      if (k != d && outs[i].shape()[k] != o0.shape()[k]) ok = false;
    if (!ok) [[unlikely]]
      SN_THROW(ShapeError, label(), ": branch ", i, " output ", outs[i].shape(),
               " cannot be concatenated with branch 0 output ", o0.shape(), " along dim ", dim_,
               " (all other dims must match)");
  }
  return cat(outs, dim_);
}
std::string Parallel::extra_repr() const { return "dim=" + std::to_string(dim_); }

}  // namespace sn::nn
