// Adadelta: option checks and one fused per-element kernel (param, grad and both running
// averages in one pass). PyTorch 1.13 semantics.
#include "sinapsis/optim/adadelta.h"

#include <cmath>

#include "backend/cpu/fused_update.h"

namespace sn::optim {

namespace {
void validate(const AdadeltaOptions& o) {
  SN_CHECK(o.lr >= 0, ValueError, "Adadelta: lr must be >= 0 (got ", o.lr, ")");
  SN_CHECK(o.rho >= 0 && o.rho <= 1, ValueError, "Adadelta: rho must be in [0, 1] (got ", o.rho,
           ")");
  SN_CHECK(o.eps >= 0, ValueError, "Adadelta: eps must be >= 0 (got ", o.eps, ")");
  SN_CHECK(o.weight_decay >= 0, ValueError, "Adadelta: weight_decay must be >= 0 (got ",
           o.weight_decay, ")");
}

// g = ±grad + wd·p;  v = ρ·v + (1 − ρ)·g²;  Δ = √(u + eps) / √(v + eps) · g;
// u = ρ·u + (1 − ρ)·Δ²;  p += −lr·Δ
template <typename T>
void adadelta_kernel(T* p, const T* g, T* v, T* u, int64_t n, const AdadeltaOptions& o) {
  const T rho = static_cast<T>(o.rho), c = static_cast<T>(1 - o.rho);
  const T neg_lr = static_cast<T>(-o.lr), wd = static_cast<T>(o.weight_decay);
  const T eps = static_cast<T>(o.eps), sign = o.maximize ? T(-1) : T(1);
  const bool use_wd = o.weight_decay != 0;
  cpu::for_each_element(n, [=](int64_t i) {
    T gi = sign * g[i];
    if (use_wd) gi = gi + wd * p[i];
    const T vi = v[i] * rho + c * gi * gi;
    v[i] = vi;
    const T delta = std::sqrt(u[i] + eps) / std::sqrt(vi + eps) * gi;
    u[i] = u[i] * rho + c * delta * delta;
    p[i] = p[i] + neg_lr * delta;
  });
}
}  // namespace

Adadelta::Adadelta(std::vector<Tensor> params, AdadeltaOptions options)
    : Optimizer("Adadelta", {"square_avg", "acc_delta"}) {
  add_param_group(std::move(params), options);
}

Adadelta::Adadelta(std::vector<Group> groups) : Optimizer("Adadelta", {"square_avg", "acc_delta"}) {
  SN_CHECK(!groups.empty(), ValueError, "Adadelta: no parameter groups given");
  for (auto& g : groups) add_param_group(std::move(g.params), g.options);
}

void Adadelta::add_param_group(std::vector<Tensor> params, AdadeltaOptions options) {
  validate(options);
  add_group(std::move(params));
  options_.push_back(options);
}

const AdadeltaOptions& Adadelta::options(size_t group) const {
  SN_CHECK(group < options_.size(), IndexError, "Adadelta: parameter group ", group,
           " does not exist (", options_.size(), " groups)");
  return options_[group];
}

std::vector<std::pair<std::string, double>> Adadelta::group_options(size_t g) const {
  const AdadeltaOptions& o = options_[g];
  return {{"lr", o.lr},
          {"rho", o.rho},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"maximize", o.maximize}};
}

void Adadelta::set_group_options(size_t g, const std::map<std::string, double>& values) {
  AdadeltaOptions o = options_[g];
  take(values, "lr", o.lr);
  take(values, "rho", o.rho);
  take(values, "eps", o.eps);
  take(values, "weight_decay", o.weight_decay);
  take(values, "maximize", o.maximize);
  validate(o);
  options_[g] = o;
}

void Adadelta::update() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const AdadeltaOptions& o = options_[g];
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      const Tensor& p = groups_[g][i];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& st = state_[g][i];
      const Tensor v = buffer(st, 0, p), u = buffer(st, 1, p);
      st.step += 1;
      cpu::FusedParam fp(p, grad);
      SN_DISPATCH_FLOAT(p.dtype(), "Adadelta", [&] {
        using T = scalar_t;
        adadelta_kernel<T>(cpu::ptr<T>(fp.param()), cpu::ptr<T>(fp.grad()), cpu::ptr<T>(v),
                           cpu::ptr<T>(u), fp.numel(), o);
      });
      fp.finish();
    }
  }
}

}  // namespace sn::optim
