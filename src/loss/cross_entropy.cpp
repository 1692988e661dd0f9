// cross_entropy as ONE fused, numerically stable kernel: log-softmax (max-shifted logsumexp) and
// the NLL / soft-target sum in a single pass, with its own Backward node (softmax - target,
// scaled) that recomputes the softmax from the saved logsumexp instead of storing it. Also
// nll_loss. The elementwise losses are in pointwise.cpp.
//
// Dimension legend: the input is viewed as [N, C, S]: N samples, C classes, S = Π d... extra
// positions (1 for the usual [N, C]); P = N·S positions, each with its own softmax over C.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>

#include "backend/backend.h"
#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "loss/common.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn::loss {

namespace {

using sn::detail::contiguous_raw;
using sn::detail::make_tensor;

struct Geom {
  int64_t N = 1, C = 1, S = 1;
  int64_t P() const { return N * S; }
  Shape per_position;  // shape of a Reduction::None result: the input without the class dim
};

Geom geometry(const Tensor& input, const char* op) {
  SN_CHECK(input.defined(), ValueError, op, ": input is undefined");
  SN_CHECK(input.is_floating_point(), DTypeError, op, ": input must be floating point (got ",
           input.dtype(), ")");
  SN_CHECK(input.dim() >= 1, ShapeError, op, ": input must be [C], [N, C] or [N, C, d...] (got ",
           input.shape(), ")");
  Geom g;
  if (input.dim() == 1) {
    g.C = input.shape()[0];
  } else {
    g.N = input.shape()[0];
    g.C = input.shape()[1];
    g.per_position.push_back(g.N);
    for (int d = 2; d < input.dim(); ++d) {
      g.S *= input.shape()[d];
      g.per_position.push_back(input.shape()[d]);
    }
  }
  SN_CHECK(g.C > 0, ShapeError, op, ": input has no classes (shape ", input.shape(), ")");
  return g;
}

Tensor class_weight(const Tensor& w, const Geom& g, DType dt, const char* op) {
  if (!w.defined()) return w;
  SN_CHECK(w.dim() == 1 && w.shape()[0] == g.C, ShapeError, op, ": weight must have shape [", g.C,
           "] (one per class), got ", w.shape());
  return contiguous_raw(sn::detail::cast_raw(w.detach(), dt));
}

// Validates class indices: each is ignore_index or in [0, C).
void check_targets(const Tensor& t, const Geom& g, int64_t ignore_index, const char* op) {
  const int64_t* pt = t.data_ptr<int64_t>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    const int64_t y = pt[i];
    if ((y < 0 || y >= g.C) && y != ignore_index) [[unlikely]]
      SN_THROW(IndexError, op, ": target ", y, " is out of range for ", g.C, " classes",
               (y == g.C ? " (targets are 0-based: 0.." : " (valid: 0.."), g.C - 1,
               (ignore_index != -100 ? ", or ignore_index" : ""), ")");
  }
}

// Σ_{i<n} f(i) as a SIMD reduction: `omp simd` allows the reassociation that a
// plain loop would need -ffast-math for. Partial sums are in T, the result in double.
template <typename T, typename F>
inline double lane_sum(int64_t n, F&& f) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += f(i);
  return s;
}

// The softmax's exps: their arguments x_c - max are never positive.
template <typename T>
inline T softmax_exp(T x) {
  return cpu::vexp_neg(x);
}

// max_i x_i of a row, or NaN when the row holds a NaN (the loss must then be NaN, as PyTorch's).
template <typename T>
inline T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
  for (int64_t i = 0; i < n; ++i) {
    m = m < x[i] ? x[i] : m;
    nan |= x[i] != x[i];
  }
  // (an all -inf row gives m = -inf and so NaN as well, like PyTorch's log_softmax)
  return nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

// Σ e^(x_i - m) and out_i = e^((x_i - m) - ls): small flattened functions of their own, so the
// exp is inlined and the loops turn into SIMD (inside the big kernels GCC stops inlining).
template <typename T>
[[gnu::flatten]] double sum_exp(const T* x, T m, int64_t n) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += softmax_exp(x[i] - m);
  return s;
}
template <typename T>
[[gnu::flatten]] void softmax_row(const T* x, T m, T ls, int64_t n, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = softmax_exp((x[i] - m) - ls);
}

// Everything the forward and backward kernels read, for one call. The softmax of position p is
// kept as m[p] = max_c x_c and ls[p] = log Σ_c e^(x_c - m): log p_c = (x_c - m) - ls, which
// stays exact where lse - x_c would cancel (all logits -3e4 in float32).
template <typename T>
struct CeArgs {
  const T* x = nullptr;        // [N, C, S]
  const int64_t* y = nullptr;  // [P] class indices, or
  const T* t = nullptr;        // [N, C, S] probabilities
  const T* w = nullptr;        // [C] class weights (ones when none were given)
  T* m = nullptr;              // [P]
  T* ls = nullptr;             // [P]
  int64_t C = 1, S = 1, ignore = -100;
  T e = 0, ec = 0, W = 0;  // ε, ε/C, Σ w
};

// Forward of sample n: fills m, ls of its S positions and returns Σ of their losses; writes each
// position's loss to `out` when given (Reduction::None).
//   class index y:  loss = (1-ε)·w_y·(lse - x_y) + (ε/C)·Σ_c w_c·(lse - x_c)
//   probabilities:  loss = Σ_c w_c·t'_c·(lse - x_c),  t' = (1-ε)·t + ε/C
template <typename T>
double ce_forward_sample(const CeArgs<T>& a, int64_t n, T* out) {
  const int64_t C = a.C, S = a.S;
  const T* xb = a.x + n * C * S;
  double total = 0;
  if (S == 1) {  // one contiguous row: vectorise over classes
    const T m = row_max(xb, C);
    const T ls = static_cast<T>(std::log(sum_exp(xb, m, C)));
    a.m[n] = m;
    a.ls[n] = ls;
    double v = 0;
    if (a.y) {
      const int64_t y = a.y[n];
      if (y != a.ignore) {
        v = (1 - static_cast<double>(a.e)) * a.w[y] * (static_cast<double>(m - xb[y]) + ls);
        if (a.e > 0)
          v += static_cast<double>(a.ec) *
               (lane_sum<T>(C, [&](int64_t c) { return a.w[c] * (m - xb[c]); }) +
                static_cast<double>(a.W) * ls);
      }
    } else {
      const T* tb = a.t + n * C;
      const T e1 = 1 - a.e, ec = a.ec;
      const double wt = lane_sum<T>(C, [&](int64_t c) { return a.w[c] * (e1 * tb[c] + ec); });
      v = lane_sum<T>(C, [&](int64_t c) { return a.w[c] * (e1 * tb[c] + ec) * (m - xb[c]); }) +
          wt * ls;
    }
    if (out) out[n] = static_cast<T>(v);
    return v;
  }
  // S > 1 positions: vectorise over them, classes in the outer loop
  T* m = a.m + n * S;
  T* ls = a.ls + n * S;
  std::vector<T> acc(static_cast<size_t>(S)), acc2(static_cast<size_t>(S));
  for (int64_t s = 0; s < S; ++s) m[s] = -std::numeric_limits<T>::infinity();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < S; ++s) {
      const T v = xb[c * S + s];
      m[s] = (m[s] < v || v != v) ? v : m[s];  // a NaN sticks: that position's loss is NaN
    }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < S; ++s) acc[s] += softmax_exp(xb[c * S + s] - m[s]);
  for (int64_t s = 0; s < S; ++s) ls[s] = std::log(acc[s]);
  const T e1 = 1 - a.e, ec = a.ec;
  std::fill(acc.begin(), acc.end(), T(0));
  if (a.y) {
    const int64_t* yb = a.y + n * S;
    if (a.e > 0)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < S; ++s) acc[s] += a.w[c] * (m[s] - xb[c * S + s]);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t y = yb[s];
      double v = 0;
      if (y != a.ignore) {
        v = static_cast<double>(e1) * a.w[y] * (static_cast<double>(m[s] - xb[y * S + s]) + ls[s]);
        if (a.e > 0)
          v += static_cast<double>(ec) *
               (static_cast<double>(acc[s]) + static_cast<double>(a.W) * ls[s]);
      }
      if (out) out[n * S + s] = static_cast<T>(v);
      total += v;
    }
    return total;
  }
  const T* tb = a.t + n * C * S;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < S; ++s) {
      const T wt = a.w[c] * (e1 * tb[c * S + s] + ec);
      acc[s] += wt;
      acc2[s] += wt * (m[s] - xb[c * S + s]);
    }
  for (int64_t s = 0; s < S; ++s) {
    const double v = static_cast<double>(acc2[s]) + static_cast<double>(acc[s]) * ls[s];
    if (out) out[n * S + s] = static_cast<T>(v);
    total += v;
  }
  return total;
}

// Backward of sample n, p_c = e^((x_c - m) - ls), sc = g/D (mean) or g of each position:
//   class index: dx_c = sc·[(1-ε)·w_y·(p_c - δ_cy) + (ε/C)·(W·p_c - w_c)]   (0 when ignored)
//   probabilities: dx_c = sc·(p_c·Σ_k w_k·t'_k - w_c·t'_c),  dt_c = sc·(1-ε)·w_c·(lse - x_c)
template <typename T>
void ce_backward_sample(const CeArgs<T>& a, int64_t n, const T* g, T gs, T* gx, T* gt) {
  const int64_t C = a.C, S = a.S, base = n * C * S;
  const T* xb = a.x + base;
  const T e1 = 1 - a.e, ec = a.ec;
  if (S == 1) {
    const T m = a.m[n], ls = a.ls[n], sc = g ? g[n] : gs;
    T* o = gx ? gx + base : nullptr;
    if (a.y) {
      if (!o) return;
      const int64_t y = a.y[n];
      if (y == a.ignore) {
        std::fill(o, o + C, T(0));
        return;
      }
      const T ay = sc * e1 * a.w[y], b = sc * ec, coef = ay + b * a.W;
      softmax_row(xb, m, ls, C, o);
      for (int64_t c = 0; c < C; ++c) o[c] = coef * o[c] - b * a.w[c];
      o[y] -= ay;
      return;
    }
    const T* tb = a.t + base;
    const T wt =
        static_cast<T>(lane_sum<T>(C, [&](int64_t c) { return a.w[c] * (e1 * tb[c] + ec); }));
    if (o) {
      softmax_row(xb, m, ls, C, o);
      for (int64_t c = 0; c < C; ++c) o[c] = sc * (o[c] * wt - a.w[c] * (e1 * tb[c] + ec));
    }
    if (gt)
      for (int64_t c = 0; c < C; ++c) gt[base + c] = sc * e1 * a.w[c] * ((m - xb[c]) + ls);
    return;
  }
  const T* m = a.m + n * S;
  const T* ls = a.ls + n * S;
  std::vector<T> sc(static_cast<size_t>(S)), coef(static_cast<size_t>(S)),
      b(static_cast<size_t>(S));
  for (int64_t s = 0; s < S; ++s) sc[s] = g ? g[n * S + s] : gs;
  if (a.y) {
    const int64_t* yb = a.y + n * S;
    for (int64_t s = 0; s < S; ++s) {
      const bool ign = yb[s] == a.ignore;
      const T ay = ign ? T(0) : sc[s] * e1 * a.w[yb[s]];
      b[s] = ign ? T(0) : sc[s] * ec;
      coef[s] = ay + b[s] * a.W;
    }
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s)
        gx[base + c * S + s] =
            coef[s] * softmax_exp((xb[c * S + s] - m[s]) - ls[s]) - b[s] * a.w[c];
    for (int64_t s = 0; s < S; ++s)
      if (yb[s] != a.ignore) gx[base + yb[s] * S + s] -= sc[s] * e1 * a.w[yb[s]];
    return;
  }
  const T* tb = a.t + base;
  std::fill(b.begin(), b.end(), T(0));  // Σ_k w_k·t'_k per position
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < S; ++s) b[s] += a.w[c] * (e1 * tb[c * S + s] + ec);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t i = c * S + s;
      const T tt = e1 * tb[i] + ec;
      if (gx) gx[base + i] = sc[s] * (softmax_exp((xb[i] - m[s]) - ls[s]) * b[s] - a.w[c] * tt);
      if (gt) gt[base + i] = sc[s] * e1 * a.w[c] * ((m[s] - xb[i]) + ls[s]);
    }
}

template <typename T>
CeArgs<T> ce_args(const Tensor& x, const Tensor& t, bool prob, const Tensor& w, const Tensor& m,
                  const Tensor& ls, const Geom& g, double eps, int64_t ignore) {
  CeArgs<T> a;
  a.x = x.data_ptr<T>();
  if (prob)
    a.t = t.data_ptr<T>();
  else
    a.y = t.data_ptr<int64_t>();
  a.w = w.data_ptr<T>();
  a.m = m.data_ptr<T>();
  a.ls = ls.data_ptr<T>();
  a.C = g.C;
  a.S = g.S;
  a.ignore = ignore;
  a.e = static_cast<T>(eps);
  a.ec = static_cast<T>(eps / static_cast<double>(g.C));
  double W = 0;
  for (int64_t c = 0; c < g.C; ++c) W += a.w[c];
  a.W = static_cast<T>(W);
  return a;
}

// The gradient formulas are above ce_forward_sample / ce_backward_sample.
class CrossEntropyBackward : public Node {
 public:
  Geom g;
  bool prob = false;
  double eps = 0;
  Reduction reduction = Reduction::Mean;
  double divisor = 1;
  int64_t ignore_index = -100;
  SavedTensor x, target;  // contiguous logits; int64 indices or float probabilities
  Tensor m, ls, weight;   // [P], [P] softmax statistics; [C] weights (ones when none)

  std::string name() const override { return "CrossEntropyBackward"; }
  void release() override {
    x.reset();
    target.reset();
    m = Tensor();
    ls = Tensor();
    weight = Tensor();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor xs = x.get("cross_entropy"), ts = target.get("cross_entropy");
    const bool need_x = next_edges[0].valid();
    const bool need_t = prob && next_edges.size() > 1 && next_edges[1].valid();
    Tensor gx = need_x ? make_tensor(xs.shape(), xs.dtype()) : Tensor();
    Tensor gt = need_t ? make_tensor(xs.shape(), xs.dtype()) : Tensor();
    const bool reduced = reduction != Reduction::None;
    const Tensor gin = reduced ? grads[0] : contiguous_raw(grads[0]);
    SN_DISPATCH_FLOAT(xs.dtype(), "cross_entropy", [&] {
      using T = scalar_t;
      const CeArgs<T> a = ce_args<T>(xs, ts, prob, weight, m, ls, g, eps, ignore_index);
      const T* pg = reduced ? nullptr : gin.data_ptr<T>();
      const T gs = reduced ? static_cast<T>(gin.item() / divisor) : T(0);
      T* ogx = need_x ? gx.data_ptr<T>() : nullptr;
      T* ogt = need_t ? gt.data_ptr<T>() : nullptr;
      cpu::parallel_for(g.N, std::max<int64_t>(1, cpu::kParallelGrain / (g.C * g.S)),
                        [&](int64_t b, int64_t e) {
                          for (int64_t n = b; n < e; ++n)
                            ce_backward_sample(a, n, pg, gs, ogx, ogt);
                        });
    });
    if (prob) return {gx, gt};
    return {gx};
  }
};

}  // namespace

// cross_entropy on a device whose backend has no fused kernel for it (any but the CPU so far):
// the composed form, loss_n = −Σ_c [c = y_n]·log_softmax(x_n)_c, from ops that run on the
// backend; the mean divides by the targets not equal to ignore_index, as the fused kernel.
// Class-index targets of a 2-D [N, C] input, without class weights or label smoothing.
Tensor cross_entropy_composed(const Tensor& input, const Tensor& target,
                              const CrossEntropyOptions& o, const Geom& g, const char* nm) {
  const Device dev = backend::common_device(nm, {&input, &target, &o.weight});
  SN_CHECK(
      input.dim() == 2 && target.dtype() == kInt64 && !o.weight.defined() && o.label_smoothing == 0,
      DeviceError, nm, ": on ", dev,
      " only class-index targets of a 2-D [N, C] input without weight or label_smoothing "
      "are implemented so far (docs/backends.md)");
  // the targets' range, checked as on the CPU (one int64 per example comes back for it)
  check_targets(contiguous_raw(target.to(kCPU)), g, o.ignore_index, nm);
  Tensor classes = arange(0, static_cast<double>(g.C), 1, {.dtype = kInt64, .device = dev});
  Tensor hit = eq(classes.unsqueeze(0), target.unsqueeze(1));          // [N, C]
  Tensor per = neg(sum(where(hit, log_softmax(input, 1), 0.0), {1}));  // [N]
  switch (o.reduction) {
    case Reduction::None:
      return per;
    case Reduction::Sum:
      return sum(per);
    default:
      return div(sum(per), sum(ne(target, static_cast<double>(o.ignore_index)).to(input.dtype())));
  }
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, CrossEntropyOptions opts) {
  const char* nm = "cross_entropy";
  const Geom g = geometry(input, nm);
  SN_CHECK(target.defined(), ValueError, nm, ": target is undefined");
  detail::check_reduction(opts.reduction, nm);
  SN_CHECK(opts.label_smoothing >= 0 && opts.label_smoothing <= 1, ValueError, nm,
           ": label_smoothing must be in [0, 1] (got ", opts.label_smoothing, ")");
  const DType dt = input.dtype();
  const bool prob = target.shape() == input.shape();
  if (!prob) {
    if (target.shape() != g.per_position) {
      std::ostringstream os;
      os << nm << ": target " << target.shape() << " does not fit input " << input.shape()
         << ": expected class indices " << g.per_position << " (int64) or probabilities "
         << input.shape() << " (float)";
      if (target.dim() == 2 && input.dim() == 2 && target.shape()[1] == 1 &&
          target.shape()[0] == g.N)
        os << "; hint: squeeze the target to [" << g.N << "] with target.squeeze(1)";
      throw ShapeError(os.str());
    }
    SN_CHECK(target.dtype() == kInt64, DTypeError, nm, ": class-index targets must be int64 (got ",
             target.dtype(), " ", target.shape(), "); hint: convert with target.to(sn::kInt64)",
             target.is_floating_point() ? ", or pass probabilities of shape [N, C]" : "");
  } else {
    SN_CHECK(opts.ignore_index < 0, ValueError, nm,
             ": ignore_index is not supported for probability targets");
  }
  if (!input.device().is_cpu() || !target.device().is_cpu()) {
    SN_CHECK(!prob, DeviceError, nm, ": probability targets on ", input.device(),
             " are not implemented yet (docs/backends.md)");
    return cross_entropy_composed(input, target, opts, g, nm);
  }
  const Tensor tgt = prob ? (target.dtype() == dt ? target : target.to(dt)) : target;
  const Tensor xs = contiguous_raw(input), ts = contiguous_raw(tgt);
  Tensor w = class_weight(opts.weight, g, dt, nm);
  if (!w.defined()) w = ones({g.C}, {.dtype = dt});
  if (!prob) check_targets(ts, g, opts.ignore_index, nm);

  const bool reduced = opts.reduction != Reduction::None;
  Tensor out = make_tensor(reduced ? Shape{} : g.per_position, dt);
  Tensor m = make_tensor(Shape{g.P()}, dt), ls = make_tensor(Shape{g.P()}, dt);
  double divisor = 1;
  SN_DISPATCH_FLOAT(dt, nm, [&] {
    using T = scalar_t;
    const CeArgs<T> a =
        ce_args<T>(xs, ts, prob, w, m, ls, g, opts.label_smoothing, opts.ignore_index);
    const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / (g.C * g.S));
    T* po = out.data_ptr<T>();
    if (!reduced) {
      cpu::parallel_for(g.N, grain, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n) ce_forward_sample(a, n, po);
      });
      return;
    }
    // per-sample sums in fixed chunks: the total does not depend on the thread count
    const double total =
        detail::chunked_sum(g.N, [&](int64_t n) { return ce_forward_sample<T>(a, n, nullptr); });
    if (opts.reduction == Reduction::Mean) {
      if (prob)
        divisor = static_cast<double>(g.P());
      else
        divisor = detail::chunked_sum(g.P(), [&](int64_t p) {
          const int64_t y = a.y[p];
          return y == opts.ignore_index ? 0.0 : static_cast<double>(a.w[y]);
        });
    }
    po[0] = static_cast<T>(total / divisor);
  });

  if (autograd::any_requires_grad({&input, &tgt})) {
    auto node = std::make_shared<CrossEntropyBackward>();
    node->g = g;
    node->prob = prob;
    node->eps = opts.label_smoothing;
    node->reduction = opts.reduction;
    node->divisor = divisor;
    node->ignore_index = opts.ignore_index;
    node->x = SavedTensor(xs);
    node->target = SavedTensor(ts);
    node->m = m;
    node->ls = ls;
    node->weight = w;
    if (prob)
      autograd::connect(node, {&input, &tgt}, {&out});
    else
      autograd::connect(node, {&input}, {&out});
  }
  return out;
}

// ============================================================== nll_loss
namespace {

// loss_p = -w_y·x_y (0 where y = ignore_index); mean divides by Σ w_y.
// dx[p, y] = -s·w_y, every other class 0; s = g/D (mean) or g.
class NllLossBackward : public Node {
 public:
  Geom g;
  Reduction reduction = Reduction::Mean;
  double divisor = 1;
  int64_t ignore_index = -100;
  Shape x_shape;
  DType dtype = kFloat32;
  SavedTensor target;
  Tensor weight;
  std::string name() const override { return "NllLossBackward"; }
  void release() override {
    target.reset();
    weight = Tensor();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor ts = target.get("nll_loss");
    Tensor gx = zeros(x_shape, {.dtype = dtype});
    const bool reduced = reduction != Reduction::None;
    const Tensor gin = reduced ? grads[0] : contiguous_raw(grads[0]);
    SN_DISPATCH_FLOAT(dtype, "nll_loss", [&] {
      using T = scalar_t;
      const int64_t* py = ts.data_ptr<int64_t>();
      const T* pw = weight.defined() ? weight.data_ptr<T>() : nullptr;
      const T* pg = reduced ? nullptr : gin.data_ptr<T>();
      const double gs = reduced ? gin.item() / divisor : 0.0;
      T* o = gx.data_ptr<T>();
      for (int64_t p = 0; p < g.P(); ++p) {
        const int64_t y = py[p];
        if (y == ignore_index) continue;
        const double s = pg ? static_cast<double>(pg[p]) : gs;
        o[(p / g.S) * g.C * g.S + y * g.S + p % g.S] = static_cast<T>(-s * (pw ? pw[y] : 1.0));
      }
    });
    return {gx};
  }
};

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, NLLOptions opts) {
  const char* nm = "nll_loss";
  const Geom g = geometry(input, nm);
  SN_CHECK(target.defined(), ValueError, nm, ": target is undefined");
  detail::check_reduction(opts.reduction, nm);
  SN_CHECK(target.shape() == g.per_position, ShapeError, nm, ": target ", target.shape(),
           " does not fit input ", input.shape(), ": expected class indices ", g.per_position);
  SN_CHECK(target.dtype() == kInt64, DTypeError, nm, ": targets must be int64 class indices (got ",
           target.dtype(), "); hint: convert with target.to(sn::kInt64)");
  const DType dt = input.dtype();
  const Tensor xs = contiguous_raw(input), ts = contiguous_raw(target);
  const Tensor w = class_weight(opts.weight, g, dt, nm);
  check_targets(ts, g, opts.ignore_index, nm);
  const bool reduced = opts.reduction != Reduction::None;
  Tensor out = make_tensor(reduced ? Shape{} : g.per_position, dt);
  double divisor = 1;
  SN_DISPATCH_FLOAT(dt, nm, [&] {
    using T = scalar_t;
    const T* px = xs.data_ptr<T>();
    const T* pw = w.defined() ? w.data_ptr<T>() : nullptr;
    const int64_t* py = ts.data_ptr<int64_t>();
    T* po = out.data_ptr<T>();
    double total = 0, wsum = 0;
    for (int64_t p = 0; p < g.P(); ++p) {
      const int64_t y = py[p];
      double v = 0;
      if (y != opts.ignore_index) {
        const double wy = pw ? pw[y] : 1.0;
        v = -wy * px[(p / g.S) * g.C * g.S + y * g.S + p % g.S];
        wsum += wy;
      }
      if (reduced)
        total += v;
      else
        po[p] = static_cast<T>(v);
    }
    if (opts.reduction == Reduction::Mean) divisor = wsum;
    if (reduced) po[0] = static_cast<T>(total / divisor);
  });
  if (autograd::any_requires_grad({&input})) {
    auto node = std::make_shared<NllLossBackward>();
    node->g = g;
    node->reduction = opts.reduction;
    node->divisor = divisor;
    node->ignore_index = opts.ignore_index;
    node->x_shape = input.shape();
    node->dtype = dt;
    node->target = SavedTensor(ts);
    node->weight = w;
    autograd::connect(node, {&input}, {&out});
  }
  return out;
}

}  // namespace sn::loss
