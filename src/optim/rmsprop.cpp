// RMSprop: option checks and one fused per-element kernel (param, grad, squared average and,
// when used, the gradient average and momentum buffer in one pass). PyTorch 1.13 semantics.
#include "sinapsis/optim/rmsprop.h"

#include <cmath>

#include "backend/cpu/fused_update.h"

namespace sn::optim {

namespace {
void validate(const RMSpropOptions& o) {
  SN_CHECK(o.lr >= 0, ValueError, "RMSprop: lr must be >= 0 (got ", o.lr, ")");
  SN_CHECK(o.alpha >= 0 && o.alpha <= 1, ValueError, "RMSprop: alpha must be in [0, 1] (got ",
           o.alpha, ")");
  SN_CHECK(o.eps >= 0, ValueError, "RMSprop: eps must be >= 0 (got ", o.eps, ")");
  SN_CHECK(o.weight_decay >= 0, ValueError, "RMSprop: weight_decay must be >= 0 (got ",
           o.weight_decay, ")");
  SN_CHECK(o.momentum >= 0, ValueError, "RMSprop: momentum must be >= 0 (got ", o.momentum, ")");
}

// g = ±grad + wd·p;  v = α·v + (1 − α)·g²;  c = α·c + (1 − α)·g (centered);
// d = √(v − c²) + eps (centered) or √v + eps;  buf = μ·buf + g/d, p += −lr·buf (momentum)
// or p += −lr·g/d
template <typename T>
void rmsprop_kernel(T* p, const T* g, T* v, T* c, T* buf, int64_t n, const RMSpropOptions& o) {
  const T alpha = static_cast<T>(o.alpha), a1 = static_cast<T>(1 - o.alpha);
  const T neg_lr = static_cast<T>(-o.lr), wd = static_cast<T>(o.weight_decay);
  const T eps = static_cast<T>(o.eps), mom = static_cast<T>(o.momentum);
  const T sign = o.maximize ? T(-1) : T(1);
  const bool use_wd = o.weight_decay != 0;
  cpu::for_each_element(n, [=](int64_t i) {
    T gi = sign * g[i];
    if (use_wd) gi = gi + wd * p[i];
    const T vi = v[i] * alpha + a1 * gi * gi;
    v[i] = vi;
    T avg;
    if (c) {
      const T ci = c[i] * alpha + a1 * gi;
      c[i] = ci;
      avg = std::sqrt(vi - ci * ci);
    } else {
      avg = std::sqrt(vi);
    }
    avg = avg + eps;
    if (buf) {
      const T b = buf[i] * mom + gi / avg;
      buf[i] = b;
      p[i] = p[i] + neg_lr * b;
    } else {
      p[i] = p[i] + neg_lr * gi / avg;
    }
  });
}
}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : Optimizer("RMSprop", {"square_avg", "momentum_buffer", "grad_avg"}) {
  add_param_group(std::move(params), options);
}

RMSprop::RMSprop(std::vector<Group> groups)
    : Optimizer("RMSprop", {"square_avg", "momentum_buffer", "grad_avg"}) {
  SN_CHECK(!groups.empty(), ValueError, "RMSprop: no parameter groups given");
  for (auto& g : groups) add_param_group(std::move(g.params), g.options);
}

void RMSprop::add_param_group(std::vector<Tensor> params, RMSpropOptions options) {
  validate(options);
  add_group(std::move(params));
  options_.push_back(options);
}

const RMSpropOptions& RMSprop::options(size_t group) const {
  SN_CHECK(group < options_.size(), IndexError, "RMSprop: parameter group ", group,
           " does not exist (", options_.size(), " groups)");
  return options_[group];
}

std::vector<std::pair<std::string, double>> RMSprop::group_options(size_t g) const {
  const RMSpropOptions& o = options_[g];
  return {{"lr", o.lr},
          {"alpha", o.alpha},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"centered", o.centered},
          {"maximize", o.maximize}};
}

void RMSprop::set_group_options(size_t g, const std::map<std::string, double>& values) {
  RMSpropOptions o = options_[g];
  take(values, "lr", o.lr);
  take(values, "alpha", o.alpha);
  take(values, "eps", o.eps);
  take(values, "weight_decay", o.weight_decay);
  take(values, "momentum", o.momentum);
  take(values, "centered", o.centered);
  take(values, "maximize", o.maximize);
  validate(o);
  options_[g] = o;
}

void RMSprop::update() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const RMSpropOptions& o = options_[g];
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      const Tensor& p = groups_[g][i];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& st = state_[g][i];
      const Tensor v = buffer(st, 0, p);
      const Tensor buf = o.momentum > 0 ? buffer(st, 1, p) : Tensor();
      const Tensor c = o.centered ? buffer(st, 2, p) : Tensor();
      st.step += 1;
      cpu::FusedParam fp(p, grad);
      SN_DISPATCH_FLOAT(p.dtype(), "RMSprop", [&] {
        using T = scalar_t;
        rmsprop_kernel<T>(cpu::ptr<T>(fp.param()), cpu::ptr<T>(fp.grad()), cpu::ptr<T>(v),
                          c.defined() ? cpu::ptr<T>(c) : nullptr,
                          buf.defined() ? cpu::ptr<T>(buf) : nullptr, fp.numel(), o);
      });
      fp.finish();
    }
  }
}

}  // namespace sn::optim
