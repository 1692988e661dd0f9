// The elementwise losses: mse, l1, huber, smooth_l1, binary_cross_entropy(_with_logits) and
// kl_div. One fused kernel per loss computes the elementwise loss and its reduction in a single
// pass; one Backward node (formulas below) gives the gradient for input and target.
// cross_entropy and nll_loss are in cross_entropy.cpp.
#include <algorithm>
#include <cmath>

#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "loss/common.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn::loss {

// ============================================================== shared helpers
const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None:
      return "none";
    case Reduction::Mean:
      return "mean";
    case Reduction::Sum:
      return "sum";
    case Reduction::BatchMean:
      return "batchmean";
  }
  return "?";
}

namespace detail {
void check_reduction(Reduction r, const char* op, bool batchmean_ok) {
  SN_CHECK(batchmean_ok || r != Reduction::BatchMean, ValueError, op,
           ": reduction batchmean is only defined for kl_div; hint: use Reduction::Mean");
}

Tensor same_shape_target(const Tensor& input, const Tensor& target, const char* op) {
  SN_CHECK(input.defined() && target.defined(), ValueError, op, ": input or target is undefined");
  SN_CHECK(input.is_floating_point(), DTypeError, op, ": input must be floating point (got ",
           input.dtype(), ")");
  if (input.shape() != target.shape()) {
    const char* hint = input.numel() == target.numel()
                           ? "; hint: same number of elements: reshape one to the other's shape "
                             "(e.g. output.squeeze(1) or target.view({-1, 1}))"
                           : "";
    SN_THROW(ShapeError, op, ": input ", input.shape(), " and target ", target.shape(),
             " must have the same shape", hint);
  }
  return target.dtype() == input.dtype() ? target : target.to(input.dtype());
}

Tensor expand_weight(const Tensor& w, const Shape& shape, DType dt, const char* op,
                     const char* what) {
  if (!w.defined()) return w;
  const Shape b = broadcast_shapes(w.shape(), shape, op);
  SN_CHECK(b == shape, ShapeError, op, ": ", what, " ", w.shape(),
           " must broadcast to the input's shape ", shape);
  Tensor e = sn::detail::expand_raw(sn::detail::cast_raw(w.detach(), dt), shape);
  return sn::detail::contiguous_raw(e);
}
}  // namespace detail

namespace {

using sn::detail::make_tensor;

enum class Kind { MSE, L1, Huber, SmoothL1, BCE, BCELogits, KL, KLLog };

const char* kind_name(Kind k) {
  static const char* n[] = {"mse",
                            "l1",
                            "huber",
                            "smooth_l1",
                            "binary_cross_entropy",
                            "binary_cross_entropy_with_logits",
                            "kl_div",
                            "kl_div"};
  return n[static_cast<int>(k)];
}

template <typename T>
inline T sgn(T d) {
  return static_cast<T>((d > 0) - (d < 0));
}
// log(1 + e^(-x)) without overflow
template <typename T>
inline T softplus_neg(T x) {
  return cpu::vlog1p(cpu::vexp_neg(-std::abs(x))) + std::max(-x, T(0));
}

// Elementwise loss l(x, y) and its partials. pw = pos_weight (1 when absent), p = delta/beta.
template <Kind K, typename T>
inline T point_loss(T x, T y, T pw, T p) {
  const T d = x - y;
  if constexpr (K == Kind::MSE) return d * d;
  if constexpr (K == Kind::L1) return std::abs(d);
  if constexpr (K == Kind::Huber) {
    const T ad = std::abs(d);
    return ad < p ? T(0.5) * d * d : p * (ad - T(0.5) * p);
  }
  if constexpr (K == Kind::SmoothL1) {
    const T ad = std::abs(d);
    if (p == 0) return ad;
    return ad < p ? T(0.5) * d * d / p : ad - T(0.5) * p;
  }
  if constexpr (K == Kind::BCE) {
    const T lx = std::max(cpu::vlog(x), T(-100)), l1x = std::max(cpu::vlog1p(-x), T(-100));
    return -(y * lx + (1 - y) * l1x);
  }
  if constexpr (K == Kind::BCELogits) return (1 - y) * x + ((pw - 1) * y + 1) * softplus_neg(x);
  if constexpr (K == Kind::KL) return y == 0 ? T(0) : y * (cpu::vlog(y) - x);
  if constexpr (K == Kind::KLLog) return cpu::vexp(y) * (y - x);
  return T(0);
}

// mse:        dx = 2d                               dy = -dx        (d = x - y)
// l1:         dx = sign(d)                          dy = -dx
// huber:      dx = clamp(d, -δ, δ)                  dy = -dx
// smooth_l1:  dx = clamp(d/β, -1, 1)                dy = -dx
// bce:        dx = (x - y) / max(x(1-x), 1e-12)     dy = log(1-x) - log(x)   (logs clamped)
// bce logits: dx = (pw·y + 1 - y)·σ(x) - pw·y      dy = -x + (pw - 1)·log(1 + e^(-x))
// kl_div:     dx = -y                               dy = log y + 1 - x   (0 where y = 0)
// kl log_t:   dx = -e^y                             dy = e^y·(y - x + 1)
// each times the element's weight and incoming gradient (grad_x and grad_y below).
template <Kind K, typename T>
inline T grad_x(T x, T y, T pw, T p) {
  const T d = x - y;
  if constexpr (K == Kind::MSE) return 2 * d;
  if constexpr (K == Kind::L1) return sgn(d);
  if constexpr (K == Kind::Huber) return std::clamp(d, -p, p);
  if constexpr (K == Kind::SmoothL1) return p == 0 ? sgn(d) : std::clamp(d / p, T(-1), T(1));
  // PyTorch's ε is a float constant: matching it keeps the ±1e12 edge values identical
  if constexpr (K == Kind::BCE) return (x - y) / std::max((1 - x) * x, static_cast<T>(1e-12f));
  if constexpr (K == Kind::BCELogits) return (pw * y + 1 - y) * cpu::vsigmoid_stable(x) - pw * y;
  if constexpr (K == Kind::KL) return -y;
  if constexpr (K == Kind::KLLog) return -cpu::vexp(y);
  return T(0);
}
template <Kind K, typename T>
inline T grad_y(T x, T y, T pw, T p) {
  if constexpr (K == Kind::BCE)
    return std::max(cpu::vlog1p(-x), T(-100)) - std::max(cpu::vlog(x), T(-100));
  if constexpr (K == Kind::BCELogits) return -x + (pw - 1) * softplus_neg(x);
  if constexpr (K == Kind::KL) return y == 0 ? T(0) : cpu::vlog(y) + 1 - x;
  if constexpr (K == Kind::KLLog) return cpu::vexp(y) * (y - x + 1);
  return -grad_x<K, T>(x, y, pw, p);  // the regression losses depend on x - y only
}

// The two hot loops, as flattened functions of their own: everything they call (the
// vectorisable exp/log included) is inlined, so they turn into SIMD; inside the larger kernels
// GCC would leave those calls in place and the loops scalar.
template <Kind K, typename T, bool HP>
[[gnu::flatten]] void loss_loop(const T* px, const T* py, const T* ppw, T p, int64_t b, int64_t e,
                                T* o) {
  for (int64_t i = b; i < e; ++i) o[i - b] = point_loss<K, T>(px[i], py[i], HP ? ppw[i] : T(1), p);
}
template <Kind K, typename T, bool HP, bool DX>
[[gnu::flatten]] void grad_loop(const T* px, const T* py, const T* ppw, T p, T gs, int64_t b,
                                int64_t e, T* o) {
  for (int64_t i = b; i < e; ++i) {
    const T pw = HP ? ppw[i] : T(1);
    o[i] = gs * (DX ? grad_x<K, T>(px[i], py[i], pw, p) : grad_y<K, T>(px[i], py[i], pw, p));
  }
}

// Runs f<K>() with K bound to the runtime kind.
template <typename F>
void dispatch_kind(Kind k, F&& f) {
  switch (k) {
    case Kind::MSE:
      f.template operator()<Kind::MSE>();
      break;
    case Kind::L1:
      f.template operator()<Kind::L1>();
      break;
    case Kind::Huber:
      f.template operator()<Kind::Huber>();
      break;
    case Kind::SmoothL1:
      f.template operator()<Kind::SmoothL1>();
      break;
    case Kind::BCE:
      f.template operator()<Kind::BCE>();
      break;
    case Kind::BCELogits:
      f.template operator()<Kind::BCELogits>();
      break;
    case Kind::KL:
      f.template operator()<Kind::KL>();
      break;
    case Kind::KLLog:
      f.template operator()<Kind::KLLog>();
      break;
  }
}

class PointwiseLossBackward : public Node {
 public:
  Kind kind;
  double param = 0;
  Reduction reduction;
  double divisor = 1;  // Mean: numel, BatchMean: batch size
  SavedTensor x, y;    // contiguous, of the input's dtype
  Tensor w, pw;        // expanded weights (constants) or undefined
  explicit PointwiseLossBackward(Kind k) : kind(k) {}
  std::string name() const override {
    static const char* n[] = {"MseLossBackward",
                              "L1LossBackward",
                              "HuberLossBackward",
                              "SmoothL1LossBackward",
                              "BinaryCrossEntropyBackward",
                              "BinaryCrossEntropyWithLogitsBackward",
                              "KlDivBackward",
                              "KlDivBackward"};
    return n[static_cast<int>(kind)];
  }
  void release() override {
    x.reset();
    y.reset();
    w = Tensor();
    pw = Tensor();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const char* nm = kind_name(kind);
    const Tensor xs = x.get(nm), ys = y.get(nm);
    const bool need_x = next_edges[0].valid(), need_y = next_edges[1].valid();
    Tensor gx = need_x ? make_tensor(xs.shape(), xs.dtype()) : Tensor();
    Tensor gy = need_y ? make_tensor(xs.shape(), xs.dtype()) : Tensor();
    const bool reduced = reduction != Reduction::None;
    const Tensor g = reduced ? grads[0] : sn::detail::contiguous_raw(grads[0]);
    SN_DISPATCH_FLOAT(xs.dtype(), nm, [&] {
      using T = scalar_t;
      const T* px = xs.data_ptr<T>();
      const T* py = ys.data_ptr<T>();
      const T* pwt = w.defined() ? w.data_ptr<T>() : nullptr;
      const T* ppw = pw.defined() ? pw.data_ptr<T>() : nullptr;
      const T* pg = reduced ? nullptr : g.data_ptr<T>();
      const T gs = reduced ? static_cast<T>(g.item() / divisor) : T(1);
      T* ogx = need_x ? gx.data_ptr<T>() : nullptr;
      T* ogy = need_y ? gy.data_ptr<T>() : nullptr;
      const T p = static_cast<T>(param);
      const int64_t n = xs.numel();
      // one loop per partial actually needed (no wasted transcendental calls), each free of
      // per-element branches so it vectorises; pos_weight is a template flag, the weight and a
      // per-element incoming gradient are applied in a second cheap pass
      dispatch_kind(kind, [&]<Kind K>() {
        auto run = [&]<bool HP>() {
          cpu::parallel_for(n, cpu::kParallelGrain / 4, [&](int64_t b, int64_t e) {
            if (ogx) grad_loop<K, T, HP, true>(px, py, ppw, p, gs, b, e, ogx);
            if (ogy) grad_loop<K, T, HP, false>(px, py, ppw, p, gs, b, e, ogy);
            for (T* o : {ogx, ogy}) {
              if (!o) continue;
              if (pwt)
                for (int64_t i = b; i < e; ++i) o[i] *= pwt[i];
              if (pg)
                for (int64_t i = b; i < e; ++i) o[i] *= pg[i];
            }
          });
        };
        if constexpr (K == Kind::BCELogits) {
          if (ppw) {
            run.template operator()<true>();
            return;
          }
        }
        run.template operator()<false>();
      });
    });
    return {gx, gy};
  }
};

struct PointwiseArgs {
  Kind kind;
  Reduction reduction;
  double param = 0;
  Tensor weight = {}, pos_weight = {};
};

Tensor pointwise_loss(const Tensor& input, const Tensor& target, const PointwiseArgs& a) {
  const char* nm = kind_name(a.kind);
  detail::check_reduction(a.reduction, nm, a.kind == Kind::KL || a.kind == Kind::KLLog);
  const Tensor yt = detail::same_shape_target(input, target, nm);
  const DType dt = input.dtype();
  const Tensor xs = sn::detail::contiguous_raw(input);
  const Tensor ys = sn::detail::contiguous_raw(yt);
  const Tensor w = detail::expand_weight(a.weight, input.shape(), dt, nm, "weight");
  const Tensor pw = detail::expand_weight(a.pos_weight, input.shape(), dt, nm, "pos_weight");
  const int64_t n = input.numel();

  if (a.kind == Kind::BCE) {
    // PyTorch refuses values outside [0, 1] (and NaN): they are almost always logits
    SN_DISPATCH_FLOAT(dt, nm, [&] {
      const scalar_t* px = xs.data_ptr<scalar_t>();
      for (int64_t i = 0; i < n; ++i)
        if (!(px[i] >= 0 && px[i] <= 1)) [[unlikely]]
          SN_THROW(ValueError, nm, ": input values must be probabilities in [0, 1] (element ", i,
                   " is ", px[i],
                   "); hint: apply sigmoid first, or pass the logits to "
                   "binary_cross_entropy_with_logits");
    });
  }

  const bool reduced = a.reduction != Reduction::None;
  double divisor = 1;
  if (a.reduction == Reduction::Mean) divisor = static_cast<double>(n);
  if (a.reduction == Reduction::BatchMean && input.dim() > 0)
    divisor = static_cast<double>(input.shape()[0]);
  Tensor out = make_tensor(reduced ? Shape{} : input.shape(), dt);
  SN_DISPATCH_FLOAT(dt, nm, [&] {
    using T = scalar_t;
    const T* px = xs.data_ptr<T>();
    const T* py = ys.data_ptr<T>();
    const T* pwt = w.defined() ? w.data_ptr<T>() : nullptr;
    const T* ppw = pw.defined() ? pw.data_ptr<T>() : nullptr;
    const T p = static_cast<T>(a.param);
    T* po = out.data_ptr<T>();
    dispatch_kind(a.kind, [&]<Kind K>() {
      // the elementwise losses of [b, e) into o: branch-free loops that vectorise
      auto fill = [&]<bool HP>(int64_t b, int64_t e, T* o) {
        loss_loop<K, T, HP>(px, py, ppw, p, b, e, o);
        if (pwt)
          for (int64_t i = b; i < e; ++i) o[i - b] *= pwt[i];
      };
      auto run = [&]<bool HP>() {
        if (reduced) {
          const double total = detail::chunked_fill_sum<T>(
              n, [&](int64_t b, int64_t e, T* buf) { fill.template operator()<HP>(b, e, buf); });
          po[0] = static_cast<T>(total / divisor);
        } else {
          cpu::parallel_for(n, cpu::kParallelGrain / 4, [&](int64_t b, int64_t e) {
            fill.template operator()<HP>(b, e, po + b);
          });
        }
      };
      if constexpr (K == Kind::BCELogits) {
        if (ppw) {
          run.template operator()<true>();
          return;
        }
      }
      run.template operator()<false>();
    });
  });
  if (autograd::any_requires_grad({&input, &yt})) {
    auto node = std::make_shared<PointwiseLossBackward>(a.kind);
    node->param = a.param;
    node->reduction = a.reduction;
    node->divisor = divisor;
    node->x = SavedTensor(xs);
    node->y = SavedTensor(ys);
    node->w = w;
    node->pw = pw;
    autograd::connect(node, {&input, &yt}, {&out});
  }
  return out;
}

}  // namespace

Tensor mse(const Tensor& input, const Tensor& target, Options opts) {
  return pointwise_loss(input, target, {.kind = Kind::MSE, .reduction = opts.reduction});
}
Tensor l1(const Tensor& input, const Tensor& target, Options opts) {
  return pointwise_loss(input, target, {.kind = Kind::L1, .reduction = opts.reduction});
}
Tensor huber(const Tensor& input, const Tensor& target, HuberOptions opts) {
  SN_CHECK(opts.delta > 0, ValueError, "huber: delta must be positive (got ", opts.delta, ")");
  return pointwise_loss(input, target,
                        {.kind = Kind::Huber, .reduction = opts.reduction, .param = opts.delta});
}
Tensor smooth_l1(const Tensor& input, const Tensor& target, SmoothL1Options opts) {
  SN_CHECK(opts.beta >= 0, ValueError, "smooth_l1: beta must be >= 0 (got ", opts.beta, ")");
  return pointwise_loss(input, target,
                        {.kind = Kind::SmoothL1, .reduction = opts.reduction, .param = opts.beta});
}
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, BCEOptions opts) {
  return pointwise_loss(input, target,
                        {.kind = Kind::BCE, .reduction = opts.reduction, .weight = opts.weight});
}
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        BCEWithLogitsOptions opts) {
  return pointwise_loss(input, target,
                        {.kind = Kind::BCELogits,
                         .reduction = opts.reduction,
                         .weight = opts.weight,
                         .pos_weight = opts.pos_weight});
}
Tensor kl_div(const Tensor& input, const Tensor& target, KLDivOptions opts) {
  return pointwise_loss(
      input, target,
      {.kind = opts.log_target ? Kind::KLLog : Kind::KL, .reduction = opts.reduction});
}

}  // namespace sn::loss
