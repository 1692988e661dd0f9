// cross_entropy as ONE fused, numerically stable kernel: log-softmax (max-shifted logsumexp) and
// the NLL / soft-target sum in a single pass, with its own Backward node (softmax - target,
// scaled) that recomputes the softmax from the saved logsumexp instead of storing it. Also
// nll_loss. The elementwise losses are in pointwise.cpp.
//
// Dimension legend: the input is viewed as [N, C, S]: N samples, C classes, S = Π d... extra
// positions (1 for the usual [N, C]); P = N·S positions, each with its own softmax over C.
#include <cmath>
#include <limits>
#include <sstream>

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

// The logsumexp of every position: lse[p] = m + log Σ_c e^(x_c - m), m = max_c x_c.
// Kept in float64 even for float32 logits: lse - x_c must not lose the digits of a small
// log-probability next to a large logit (e.g. all logits -3e4).
template <typename T>
void logsumexp_kernel(const T* x, const Geom& g, double* lse) {
  const int64_t C = g.C, S = g.S;
  cpu::parallel_for(g.P(), std::max<int64_t>(1, cpu::kParallelGrain / C),
                    [&](int64_t b, int64_t e) {
                      for (int64_t p = b; p < e; ++p) {
                        const T* row = x + (p / S) * C * S + p % S;  // class c at row[c·S]
                        T m = -std::numeric_limits<T>::infinity();
                        for (int64_t c = 0; c < C; ++c) m = std::max(m, row[c * S]);
                        if (std::isinf(m))
                          m = 0;  // all -inf (or +inf) row: keep the exps finite or NaN honestly
                        double s = 0;
                        for (int64_t c = 0; c < C; ++c) s += std::exp(row[c * S] - m);
                        lse[p] = static_cast<double>(m) + std::log(s);
                      }
                    });
}

// Cross-entropy with class-index targets, per position (y = target, w = class weights, W = Σw):
//   loss = (1-ε)·w_y·(lse - x_y) + (ε/C)·Σ_c w_c·(lse - x_c)
// Mean divides the sum by Σ w_y over non-ignored positions (PyTorch's rule, also for ε > 0).
// Backward, p_c = e^(x_c - lse):
//   dx_c = s·[(1-ε)·w_y·(p_c - δ_cy) + (ε/C)·(W·p_c - w_c)],  s = g/D (mean) or g
// Ignored positions contribute nothing and get zero gradient.
//
// Probability targets t (ε applied: t' = (1-ε)·t + ε/C):
//   loss = Σ_c w_c·t'_c·(lse - x_c), mean divides by P
//   dx_c = s·(p_c·Σ_k w_k·t'_k - w_c·t'_c)        dt_c = s·(1-ε)·w_c·(lse - x_c)
class CrossEntropyBackward : public Node {
 public:
  Geom g;
  bool prob = false;
  double eps = 0;
  Reduction reduction = Reduction::Mean;
  double divisor = 1;
  int64_t ignore_index = -100;
  SavedTensor x, target;  // contiguous logits; int64 indices or float probabilities
  Tensor lse, weight;     // [P] float64, internal; [C] constant or undefined

  std::string name() const override { return "CrossEntropyBackward"; }
  void release() override {
    x.reset();
    target.reset();
    lse = Tensor();
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
      const T* px = xs.data_ptr<T>();
      const double* pl = lse.data_ptr<double>();
      const T* pw = weight.defined() ? weight.data_ptr<T>() : nullptr;
      const T* pg = reduced ? nullptr : gin.data_ptr<T>();
      const double gs = reduced ? gin.item() / divisor : 0.0;
      T* ogx = need_x ? gx.data_ptr<T>() : nullptr;
      T* ogt = need_t ? gt.data_ptr<T>() : nullptr;
      const int64_t C = g.C, S = g.S;
      const T e = static_cast<T>(eps), ec = static_cast<T>(eps / static_cast<double>(C));
      T W = 0;
      for (int64_t c = 0; c < C; ++c) W += pw ? pw[c] : T(1);
      const int64_t* py = prob ? nullptr : ts.data_ptr<int64_t>();
      const T* pt = prob ? ts.data_ptr<T>() : nullptr;
      cpu::parallel_for(
          g.P(), std::max<int64_t>(1, cpu::kParallelGrain / C), [&](int64_t b, int64_t en) {
            for (int64_t p = b; p < en; ++p) {
              const int64_t base = (p / S) * C * S + p % S;
              const T* row = px + base;
              const double l = pl[p];
              const T s = static_cast<T>(pg ? static_cast<double>(pg[p]) : gs);
              if (!prob) {
                const int64_t y = py[p];
                if (y == ignore_index) {
                  if (ogx)
                    for (int64_t c = 0; c < C; ++c) ogx[base + c * S] = 0;
                  continue;
                }
                const T a = s * (1 - e) * (pw ? pw[y] : T(1)), bb = s * ec;
                for (int64_t c = 0; c < C; ++c) {
                  const T pc = std::exp(static_cast<T>(row[c * S] - l));
                  ogx[base + c * S] =
                      a * (pc - (c == y ? T(1) : T(0))) + bb * (W * pc - (pw ? pw[c] : T(1)));
                }
              } else {
                const T* trow = pt + base;
                T wt = 0;  // Σ_k w_k·t'_k
                for (int64_t c = 0; c < C; ++c)
                  wt += (pw ? pw[c] : T(1)) * ((1 - e) * trow[c * S] + ec);
                for (int64_t c = 0; c < C; ++c) {
                  const T wc = pw ? pw[c] : T(1);
                  if (ogx) {
                    const T pc = std::exp(static_cast<T>(row[c * S] - l));
                    ogx[base + c * S] = s * (pc * wt - wc * ((1 - e) * trow[c * S] + ec));
                  }
                  if (ogt) ogt[base + c * S] = s * (1 - e) * wc * static_cast<T>(l - row[c * S]);
                }
              }
            }
          });
    });
    if (prob) return {gx, gt};
    return {gx};
  }
};

}  // namespace

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
  const Tensor tgt = prob ? (target.dtype() == dt ? target : target.to(dt)) : target;
  const Tensor xs = contiguous_raw(input), ts = contiguous_raw(tgt);
  const Tensor w = class_weight(opts.weight, g, dt, nm);
  if (!prob) check_targets(ts, g, opts.ignore_index, nm);

  const bool reduced = opts.reduction != Reduction::None;
  Tensor out = make_tensor(reduced ? Shape{} : g.per_position, dt);
  Tensor lse = make_tensor(Shape{g.P()}, kFloat64);
  double divisor = 1;
  SN_DISPATCH_FLOAT(dt, nm, [&] {
    using T = scalar_t;
    const T* px = xs.data_ptr<T>();
    double* pl = lse.data_ptr<double>();
    logsumexp_kernel<T>(px, g, pl);
    const T* pw = w.defined() ? w.data_ptr<T>() : nullptr;
    const int64_t C = g.C, S = g.S;
    const double e = opts.label_smoothing, ec = e / static_cast<double>(C);
    const int64_t* py = prob ? nullptr : ts.data_ptr<int64_t>();
    const T* pt = prob ? ts.data_ptr<T>() : nullptr;
    // loss of position p (double), and its weight in the mean's denominator
    auto position = [&](int64_t p, double& wy) -> double {
      const int64_t base = (p / S) * C * S + p % S;
      const T* row = px + base;
      const double l = pl[p];
      if (!prob) {
        const int64_t y = py[p];
        if (y == opts.ignore_index) {
          wy = 0;
          return 0;
        }
        wy = pw ? pw[y] : 1.0;
        double v = (1 - e) * wy * (l - row[y * S]);
        if (e > 0) {
          double sm = 0;
          for (int64_t c = 0; c < C; ++c) sm += (pw ? pw[c] : 1.0) * (l - row[c * S]);
          v += ec * sm;
        }
        return v;
      }
      wy = 1;
      const T* trow = pt + base;
      double v = 0;
      for (int64_t c = 0; c < C; ++c)
        v += (pw ? pw[c] : 1.0) * ((1 - e) * trow[c * S] + ec) * (l - row[c * S]);
      return v;
    };
    T* po = out.data_ptr<T>();
    if (!reduced) {
      cpu::parallel_for(g.P(), std::max<int64_t>(1, cpu::kParallelGrain / C),
                        [&](int64_t b, int64_t en) {
                          double wy;
                          for (int64_t p = b; p < en; ++p) po[p] = static_cast<T>(position(p, wy));
                        });
      return;
    }
    const double total = detail::chunked_sum(g.P(), [&](int64_t p) {
      double wy;
      return position(p, wy);
    });
    if (opts.reduction == Reduction::Mean) {
      if (prob) {
        divisor = static_cast<double>(g.P());
      } else {
        divisor = detail::chunked_sum(g.P(), [&](int64_t p) {
          const int64_t y = py[p];
          return y == opts.ignore_index ? 0.0 : (pw ? static_cast<double>(pw[y]) : 1.0);
        });
      }
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
    node->lse = lse;
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
