// Adagrad: option checks and one fused per-element kernel (param, grad and the running sum of
// squared gradients in one pass). PyTorch 1.13 semantics; the sum starts at
// initial_accumulator_value when a parameter is first updated.
#include "sinapsis/optim/adagrad.h"

#include <cmath>

#include "backend/cpu/fused_update.h"

namespace sn::optim {

namespace {
void validate(const AdagradOptions& o) {
  SN_CHECK(o.lr >= 0, ValueError, "Adagrad: lr must be >= 0 (got ", o.lr, ")");
  SN_CHECK(o.lr_decay >= 0, ValueError, "Adagrad: lr_decay must be >= 0 (got ", o.lr_decay, ")");
  SN_CHECK(o.weight_decay >= 0, ValueError, "Adagrad: weight_decay must be >= 0 (got ",
           o.weight_decay, ")");
  SN_CHECK(o.initial_accumulator_value >= 0, ValueError,
           "Adagrad: initial_accumulator_value must be >= 0 (got ", o.initial_accumulator_value,
           ")");
  SN_CHECK(o.eps >= 0, ValueError, "Adagrad: eps must be >= 0 (got ", o.eps, ")");
}

// g = ±grad + wd·p;  sum += g²;  p += −clr · g / (√sum + eps),  clr = lr / (1 + (t − 1)·lr_decay)
template <typename T>
void adagrad_kernel(T* p, const T* g, T* sum, int64_t n, const AdagradOptions& o, double step) {
  const T neg_clr = static_cast<T>(-(o.lr / (1 + (step - 1) * o.lr_decay)));
  const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
  const T sign = o.maximize ? T(-1) : T(1);
  const bool use_wd = o.weight_decay != 0;
  cpu::for_each_element(n, [=](int64_t i) {
    T gi = sign * g[i];
    if (use_wd) gi = gi + wd * p[i];
    const T s = sum[i] + gi * gi;
    sum[i] = s;
    p[i] = p[i] + neg_clr * gi / (std::sqrt(s) + eps);
  });
}
}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Optimizer("Adagrad", {"sum"}) {
  add_param_group(std::move(params), options);
}

Adagrad::Adagrad(std::vector<Group> groups) : Optimizer("Adagrad", {"sum"}) {
  SN_CHECK(!groups.empty(), ValueError, "Adagrad: no parameter groups given");
  for (auto& g : groups) add_param_group(std::move(g.params), g.options);
}

void Adagrad::add_param_group(std::vector<Tensor> params, AdagradOptions options) {
  validate(options);
  add_group(std::move(params));
  options_.push_back(options);
}

const AdagradOptions& Adagrad::options(size_t group) const {
  SN_CHECK(group < options_.size(), IndexError, "Adagrad: parameter group ", group,
           " does not exist (", options_.size(), " groups)");
  return options_[group];
}

std::vector<std::pair<std::string, double>> Adagrad::group_options(size_t g) const {
  const AdagradOptions& o = options_[g];
  return {{"lr", o.lr},
          {"lr_decay", o.lr_decay},
          {"weight_decay", o.weight_decay},
          {"initial_accumulator_value", o.initial_accumulator_value},
          {"eps", o.eps},
          {"maximize", o.maximize}};
}

void Adagrad::set_group_options(size_t g, const std::map<std::string, double>& values) {
  AdagradOptions o = options_[g];
  take(values, "lr", o.lr);
  take(values, "lr_decay", o.lr_decay);
  take(values, "weight_decay", o.weight_decay);
  take(values, "initial_accumulator_value", o.initial_accumulator_value);
  take(values, "eps", o.eps);
  take(values, "maximize", o.maximize);
  validate(o);
  options_[g] = o;
}

void Adagrad::update() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const AdagradOptions& o = options_[g];
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      const Tensor& p = groups_[g][i];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& st = state_[g][i];
      const Tensor sum = buffer(st, 0, p, o.initial_accumulator_value);
      st.step += 1;
      cpu::FusedParam fp(p, grad);
      SN_DISPATCH_FLOAT(p.dtype(), "Adagrad", [&] {
        using T = scalar_t;
        adagrad_kernel<T>(cpu::ptr<T>(fp.param()), cpu::ptr<T>(fp.grad()), cpu::ptr<T>(sum),
                          fp.numel(), o, st.step);
      });
      fp.finish();
    }
  }
}

}  // namespace sn::optim
