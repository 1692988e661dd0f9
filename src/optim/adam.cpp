// Adam and AdamW: option checks and one shared fused kernel (a single pass over param, grad
// and the moment buffers). They differ only in where weight decay enters: Adam adds wd·p to
// the gradient, AdamW scales p by (1 − lr·wd) first. PyTorch 1.13 semantics.
#include "sinapsis/optim/adam.h"

#include <cmath>

#include "backend/cpu/fused_update.h"
#include "sinapsis/ops/ops.h"

namespace sn::optim {

namespace {

struct AdamArgs {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled;
};

template <typename O>
void validate(const O& o, const char* name) {
  SN_CHECK(o.lr >= 0, ValueError, name, ": lr must be >= 0 (got ", o.lr, ")");
  SN_CHECK(o.betas.first >= 0 && o.betas.first < 1, ValueError, name,
           ": beta1 must be in [0, 1) (got ", o.betas.first, ")");
  SN_CHECK(o.betas.second >= 0 && o.betas.second < 1, ValueError, name,
           ": beta2 must be in [0, 1) (got ", o.betas.second, ")");
  SN_CHECK(o.eps >= 0, ValueError, name, ": eps must be >= 0 (got ", o.eps, ")");
  SN_CHECK(o.weight_decay >= 0, ValueError, name, ": weight_decay must be >= 0 (got ",
           o.weight_decay, ")");
}

// g = ±grad (+ wd·p for Adam);  p ·= 1 − lr·wd (AdamW);  m = β1·m + (1 − β1)·g;
// v = β2·v + (1 − β2)·g²;  vmax = max(vmax, v) (AMSGrad);
// p += −(lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
template <typename T>
void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamArgs& a, double step) {
  const double bc1 = 1 - std::pow(a.beta1, step);
  const double bc2_sqrt = std::sqrt(1 - std::pow(a.beta2, step));
  const T b1 = static_cast<T>(a.beta1), b2 = static_cast<T>(a.beta2);
  const T c1 = static_cast<T>(1 - a.beta1), c2 = static_cast<T>(1 - a.beta2);
  const T neg_step = static_cast<T>(-(a.lr / bc1)), bcs = static_cast<T>(bc2_sqrt);
  const T eps = static_cast<T>(a.eps), wd = static_cast<T>(a.weight_decay);
  const T decay = static_cast<T>(1 - a.lr * a.weight_decay);
  const T sign = a.maximize ? T(-1) : T(1);
  const bool l2 = !a.decoupled && a.weight_decay != 0, decoupled = a.decoupled;
  cpu::for_each_element(n, [=](int64_t i) {
    T pi = p[i];
    T gi = sign * g[i];
    if (l2) gi = gi + wd * pi;
    if (decoupled) pi = pi * decay;
    const T mi = m[i] * b1 + c1 * gi;
    const T vi = v[i] * b2 + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    T s = vi;
    if (vmax) {
      s = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = s;
    }
    const T denom = std::sqrt(s) / bcs + eps;
    p[i] = pi + neg_step * mi / denom;
  });
}

// One parameter's update (shared by Adam and AdamW); `step` is the count including this one.
void adam_param(const Tensor& p, const Tensor& grad, const Tensor& m, const Tensor& v,
                const Tensor& vmax, double step, const AdamArgs& a, const char* name) {
  cpu::FusedParam fp(p, grad);
  SN_DISPATCH_FLOAT(p.dtype(), name, [&] {
    using T = scalar_t;
    adam_kernel<T>(cpu::ptr<T>(fp.param()), cpu::ptr<T>(fp.grad()), cpu::ptr<T>(m), cpu::ptr<T>(v),
                   vmax.defined() ? cpu::ptr<T>(vmax) : nullptr, fp.numel(), a, step);
  });
  fp.finish();
}

// The same update from whole-tensor ops, for a parameter on a device whose backend has no fused
// optimizer kernel (any but the CPU so far): each op runs on the backend.
void adam_composed(const Tensor& param, const Tensor& grad, const Tensor& m_, const Tensor& v_,
                   const Tensor& vmax_, double step, const AdamArgs& a) {
  Tensor p = param, m = m_, v = v_, vmax = vmax_;
  Tensor g = a.maximize ? neg(grad) : grad;
  if (!a.decoupled && a.weight_decay != 0) g = add(g, p, a.weight_decay);
  if (a.decoupled && a.weight_decay != 0) p.mul_(1 - a.lr * a.weight_decay);
  m.mul_(a.beta1);
  m.add_(g, 1 - a.beta1);
  v.mul_(a.beta2);
  v.add_(square(g), 1 - a.beta2);
  Tensor s = v;
  if (vmax.defined()) {
    vmax.copy_(maximum(vmax, v));
    s = vmax;
  }
  const double bc1 = 1 - std::pow(a.beta1, step);
  const double bc2_sqrt = std::sqrt(1 - std::pow(a.beta2, step));
  p.add_(div(m, add(div(sqrt(s), bc2_sqrt), a.eps)), -(a.lr / bc1));
}

const std::vector<std::string> kAdamBuffers = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};

}  // namespace

// ---------------------------------------------------------------- Adam and AdamW

namespace detail {

template <typename O, bool D>
AdamFamily<O, D>::AdamFamily(std::vector<Tensor> params, O options)
    : Optimizer(kind(), kAdamBuffers) {
  add_param_group(std::move(params), options);
}

template <typename O, bool D>
AdamFamily<O, D>::AdamFamily(std::vector<Group> groups) : Optimizer(kind(), kAdamBuffers) {
  SN_CHECK(!groups.empty(), ValueError, kind(), ": no parameter groups given");
  for (auto& g : groups) add_param_group(std::move(g.params), g.options);
}

template <typename O, bool D>
void AdamFamily<O, D>::add_param_group(std::vector<Tensor> params, O options) {
  validate(options, kind());
  add_group(std::move(params));
  options_.push_back(options);
}

template <typename O, bool D>
const O& AdamFamily<O, D>::options(size_t group) const {
  SN_CHECK(group < options_.size(), IndexError, kind(), ": parameter group ", group,
           " does not exist (", options_.size(), " groups)");
  return options_[group];
}

template <typename O, bool D>
std::vector<std::pair<std::string, double>> AdamFamily<O, D>::group_options(size_t g) const {
  const O& o = options_[g];
  return {{"lr", o.lr},
          {"beta1", o.betas.first},
          {"beta2", o.betas.second},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"amsgrad", o.amsgrad},
          {"maximize", o.maximize}};
}

template <typename O, bool D>
void AdamFamily<O, D>::set_group_options(size_t g, const std::map<std::string, double>& values) {
  O o = options_[g];
  take(values, "lr", o.lr);
  take(values, "beta1", o.betas.first);
  take(values, "beta2", o.betas.second);
  take(values, "eps", o.eps);
  take(values, "weight_decay", o.weight_decay);
  take(values, "amsgrad", o.amsgrad);
  take(values, "maximize", o.maximize);
  validate(o, kind());
  options_[g] = o;
}

template <typename O, bool D>
void AdamFamily<O, D>::update() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const O& o = options_[g];
    const AdamArgs a{o.lr,           o.betas.first, o.betas.second, o.eps,
                     o.weight_decay, o.amsgrad,     o.maximize,     /*decoupled=*/D};
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      const Tensor& p = groups_[g][i];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& st = state_[g][i];
      const Tensor m = buffer(st, 0, p), v = buffer(st, 1, p);
      const Tensor vmax = o.amsgrad ? buffer(st, 2, p) : Tensor();
      st.step += 1;
      if (!p.device().is_cpu())
        adam_composed(p, grad, m, v, vmax, st.step, a);
      else
        adam_param(p, grad, m, v, vmax, st.step, a, kind());
    }
  }
}

template class AdamFamily<AdamOptions, false>;
template class AdamFamily<AdamWOptions, true>;

}  // namespace detail

}  // namespace sn::optim
