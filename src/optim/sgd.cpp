// SGD with momentum/dampening/Nesterov/weight decay/maximize: option checks and one fused
// per-element kernel (a single pass over param, grad and momentum buffer).
// PyTorch 1.13 semantics, including buf = g on a parameter's first momentum step.
#include "sinapsis/optim/sgd.h"

#include "backend/cpu/fused_update.h"
#include "sinapsis/ops/ops.h"

namespace sn::optim {

namespace {
void validate(const SGDOptions& o) {
  SN_CHECK(o.lr >= 0, ValueError, "SGD: lr must be >= 0 (got ", o.lr, ")");
  SN_CHECK(o.momentum >= 0, ValueError, "SGD: momentum must be >= 0 (got ", o.momentum, ")");
  SN_CHECK(o.dampening >= 0 && o.dampening <= 1, ValueError,
           "SGD: dampening must be in [0, 1] (got ", o.dampening, ")");
  SN_CHECK(o.weight_decay >= 0, ValueError, "SGD: weight_decay must be >= 0 (got ", o.weight_decay,
           ")");
  SN_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), ValueError,
           "SGD: nesterov needs momentum > 0 and dampening = 0 (got momentum ", o.momentum,
           ", dampening ", o.dampening, ")");
}

// d = ±g + wd·p;  buf = d (first) or mom·buf + (1 − damp)·d;  d = d + mom·buf (Nesterov) or buf;
// p −= lr·d. Scalars are rounded to T first, as PyTorch does for its scalar arguments.
template <typename T>
void sgd_kernel(T* p, const T* g, T* buf, int64_t n, const SGDOptions& o, bool first) {
  const T lr = static_cast<T>(o.lr), wd = static_cast<T>(o.weight_decay);
  const T mom = static_cast<T>(o.momentum), damp1 = static_cast<T>(1 - o.dampening);
  const T sign = o.maximize ? T(-1) : T(1);
  const bool use_wd = o.weight_decay != 0, nesterov = o.nesterov;
  if (!buf) {
    cpu::for_each_element(n, [=](int64_t i) {
      T d = sign * g[i];
      if (use_wd) d = d + wd * p[i];
      p[i] = p[i] - lr * d;
    });
    return;
  }
  cpu::for_each_element(n, [=](int64_t i) {
    T d = sign * g[i];
    if (use_wd) d = d + wd * p[i];
    const T b = first ? d : buf[i] * mom + damp1 * d;
    buf[i] = b;
    d = nesterov ? d + mom * b : b;
    p[i] = p[i] - lr * d;
  });
}
// The same update from whole-tensor ops, for a parameter on a device whose backend has no fused
// optimizer kernel (any but the CPU so far): each op runs on the backend.
void sgd_composed(const Tensor& param, const Tensor& grad, Tensor buf, const SGDOptions& o,
                  bool first) {
  Tensor p = param;
  Tensor d = o.maximize ? neg(grad) : grad;
  if (o.weight_decay != 0) d = add(d, p, o.weight_decay);
  if (buf.defined()) {
    if (first) {
      buf.copy_(d);
    } else {
      buf.mul_(o.momentum);
      buf.add_(d, 1 - o.dampening);
    }
    d = o.nesterov ? add(d, buf, o.momentum) : buf;
  }
  p.add_(d, -o.lr);
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : Optimizer("SGD", {"momentum_buffer"}) {
  add_param_group(std::move(params), options);
}

SGD::SGD(std::vector<Group> groups) : Optimizer("SGD", {"momentum_buffer"}) {
  SN_CHECK(!groups.empty(), ValueError, "SGD: no parameter groups given");
  for (auto& g : groups) add_param_group(std::move(g.params), g.options);
}

void SGD::add_param_group(std::vector<Tensor> params, SGDOptions options) {
  validate(options);
  add_group(std::move(params));
  options_.push_back(options);
}

const SGDOptions& SGD::options(size_t group) const {
  SN_CHECK(group < options_.size(), IndexError, "SGD: parameter group ", group, " does not exist (",
           options_.size(), " groups)");
  return options_[group];
}

std::vector<std::pair<std::string, double>> SGD::group_options(size_t g) const {
  const SGDOptions& o = options_[g];
  return {{"lr", o.lr},
          {"momentum", o.momentum},
          {"dampening", o.dampening},
          {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov},
          {"maximize", o.maximize}};
}

void SGD::set_group_options(size_t g, const std::map<std::string, double>& values) {
  SGDOptions o = options_[g];
  take(values, "lr", o.lr);
  take(values, "momentum", o.momentum);
  take(values, "dampening", o.dampening);
  take(values, "weight_decay", o.weight_decay);
  take(values, "nesterov", o.nesterov);
  take(values, "maximize", o.maximize);
  validate(o);
  options_[g] = o;
}

void SGD::update() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const SGDOptions& o = options_[g];
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      const Tensor& p = groups_[g][i];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& st = state_[g][i];
      Tensor buf;
      bool first = false;
      if (o.momentum != 0) {
        first = !st.buffers[0].defined();
        buf = buffer(st, 0, p);
      }
      if (!p.device().is_cpu()) {
        sgd_composed(p, grad, buf, o, first);
        st.step += 1;
        continue;
      }
      cpu::FusedParam fp(p, grad);
      SN_DISPATCH_FLOAT(p.dtype(), "SGD", [&] {
        using T = scalar_t;
        sgd_kernel<T>(cpu::ptr<T>(fp.param()), cpu::ptr<T>(fp.grad()),
                      buf.defined() ? cpu::ptr<T>(buf) : nullptr, fp.numel(), o, first);
      });
      fp.finish();
      st.step += 1;
    }
  }
}

}  // namespace sn::optim
