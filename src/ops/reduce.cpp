// Reductions (sum, mean, var/std, max/min with indices, amax/amin, argmax/argmin, logsumexp),
// sum_to (the single place broadcast gradients are reduced) and fused softmax/log_softmax.
// Reductions read the input through its strides: no permute-and-copy.
#include <cmath>
#include <limits>

#include "backend/backend.h"
#include "backend/cpu/loops.h"
#include "backend/cpu/reduce.h"
#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;
using cpu::acc_type;
using cpu::for_reduced;
using cpu::geometry;
using cpu::ReduceGeom;
using detail::make_tensor;

namespace {

std::vector<bool> dim_mask(const Tensor& a, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> m(a.dim(), dims.empty());
  for (int64_t d : dims) {
    const int w = wrap_dim(d, a.dim(), op);
    SN_CHECK(!m[w] || dims.empty(), ShapeError, op, ": dim ", w, " appears more than once");
    m[w] = true;
  }
  return m;
}

Shape reduced_shape(const Tensor& a, const std::vector<bool>& m, bool keepdim) {
  Shape s;
  for (int i = 0; i < a.dim(); ++i) {
    if (!m[i])
      s.push_back(a.shape()[i]);
    else if (keepdim)
      s.push_back(1);
  }
  return s;
}

Tensor sum_raw(const Tensor& a, const std::vector<bool>& m, bool keepdim, const char* nm) {
  backend::Backend& be = backend::for_inputs(nm, {&a});
  const DType out_dt = is_floating(a.dtype()) ? a.dtype() : kInt64;
  Tensor out = make_tensor(reduced_shape(a, m, keepdim), out_dt, a.device());
  be.sum(out, a, m);
  return out;
}

// sum: dx = g expanded back over the reduced dims (scaled by 1/N for mean)
class SumBackward : public Node {
 public:
  Shape in_shape, kept_shape;  // kept_shape: output shape with keepdim
  double scale;
  const char* nm;
  SumBackward(const char* n, double s) : scale(s), nm(n) {}
  std::string name() const override { return nm; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor g = grads[0].reshape(kept_shape);
    if (scale != 1.0) g = mul(g, scale);
    return {g.expand(in_shape).contiguous()};
  }
};

Tensor sum_impl(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, bool is_mean) {
  const char* nm = is_mean ? "mean" : "sum";
  SN_CHECK(a.defined(), ValueError, nm, ": input tensor is undefined");
  const std::vector<bool> m = dim_mask(a, dims, nm);
  Tensor out = sum_raw(a, m, keepdim, nm);
  int64_t n = 1;
  for (int i = 0; i < a.dim(); ++i)
    if (m[i]) n *= a.shape()[i];
  if (is_mean) {
    SN_CHECK(is_floating(a.dtype()), DTypeError, "mean: expected a floating-point tensor, got ",
             a.dtype(), "; hint: convert with .to(sn::kFloat32)");
    NoGradGuard ng;
    out = mul(out, 1.0 / static_cast<double>(n));
  }
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<SumBackward>(is_mean ? "MeanBackward" : "SumBackward",
                                              is_mean ? 1.0 / static_cast<double>(n) : 1.0);
    node->in_shape = a.shape();
    node->kept_shape = reduced_shape(a, m, true);
    connect(node, {&a}, {&out});
  }
  return out;
}

// ---- max / min along one dim, with indices
template <typename T, bool IsMax>
void argext_kernel(const Tensor& a, int dim, const Tensor& vals, const Tensor& idx) {
  std::vector<bool> m(a.dim(), false);
  m[dim] = true;
  const ReduceGeom g = geometry(a, m);
  const T* pa = static_cast<const T*>(a.raw_data());
  T* pv = vals.defined() ? static_cast<T*>(vals.raw_data()) : nullptr;
  int64_t* pi = static_cast<int64_t*>(idx.raw_data());
  const int64_t R = a.shape()[dim], sd = a.strides()[dim];
  const Shape out_strides = contiguous_strides(g.kept_shape);
  cpu::strided_loop<2>(g.kept_shape, {&g.kept_strides, &out_strides},
                       [&](const int64_t* off, const int64_t* st, int64_t n) {
                         for (int64_t i = 0; i < n; ++i) {
                           const T* base = pa + off[0] + i * st[0];
                           T best = base[0];
                           int64_t bi = 0;
                           for (int64_t r = 1; r < R; ++r) {
                             const T v = base[r * sd];
                             if (best != best) break;  // NaN wins
                             if (v != v || (IsMax ? v > best : v < best)) {
                               best = v;
                               bi = r;
                             }
                           }
                           if (pv) pv[off[1] + i * st[1]] = best;
                           pi[off[1] + i * st[1]] = bi;
                         }
                       });
}

// max/min along dim: dx = g scattered to the position of the chosen element
class IndexReduceBackward : public Node {
 public:
  Shape in_shape;
  int dim;
  bool keepdim;
  SavedTensor idx;
  const char* nm;
  explicit IndexReduceBackward(const char* n) : nm(n) {}
  std::string name() const override { return nm; }
  void release() override { idx.reset(); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor g = grads[0], ix = idx.get(nm);
    if (!keepdim) {
      g = g.unsqueeze(dim);
      ix = ix.unsqueeze(dim);
    }
    return {scatter_add(zeros(in_shape, {.dtype = g.dtype()}), dim, ix, g)};
  }
};

std::pair<Tensor, Tensor> extreme_dim(const Tensor& a, int64_t dim, bool keepdim, bool is_max) {
  const char* nm = is_max ? "max" : "min";
  SN_CHECK(a.defined(), ValueError, nm, ": input tensor is undefined");
  if (a.dim() == 0) return {a.clone(), zeros(Shape{}, {.dtype = kInt64})};
  const int d = wrap_dim(dim, a.dim(), nm);
  SN_CHECK(a.shape()[d] > 0, ShapeError, nm, ": cannot reduce over an empty dim ", d, " (shape ",
           a.shape(), ")");
  std::vector<bool> m(a.dim(), false);
  m[d] = true;
  const Shape os = reduced_shape(a, m, keepdim);
  Tensor vals = make_tensor(os, a.dtype()), idx = make_tensor(os, kInt64);
  SN_DISPATCH_ALL(a.dtype(), nm, [&] {
    if (is_max)
      argext_kernel<scalar_t, true>(a, d, vals, idx);
    else
      argext_kernel<scalar_t, false>(a, d, vals, idx);
  });
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<IndexReduceBackward>(is_max ? "MaxBackward" : "MinBackward");
    node->in_shape = a.shape();
    node->dim = d;
    node->keepdim = keepdim;
    node->idx = SavedTensor(idx);
    connect(node, {&a}, {&vals});
  }
  return {vals, idx};
}

// amax/amin over dims: dx = g·[x == y] / (number of ties), as PyTorch (a NaN result: 0/0, NaN).
// max()/min() of everything (`evenly`): the same, but a NaN result's gradient is shared among
// the NaN inputs (PyTorch's evenly_distribute_backward).
class AmaxBackward : public Node {
 public:
  Shape kept_shape;
  SavedTensor x, y;
  std::vector<int64_t> dims;
  bool evenly = false;
  std::string name() const override { return "AmaxBackward"; }
  void release() override {
    x.reset();
    y.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor xs = x.get("amax"), ys = y.get("amax").reshape(kept_shape);
    Tensor hit = eq(xs, ys);
    if (evenly && ys.numel() == 1 && std::isnan(ys.item())) hit = ne(xs, xs);
    Tensor mask = hit.to(grads[0].dtype());
    Tensor count = sum(mask, dims, true);
    return {mul(div(mask, count), grads[0].reshape(kept_shape))};
  }
};

Tensor amax_impl(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, bool is_max,
                 bool evenly = false) {
  const char* nm = is_max ? "amax" : "amin";
  SN_CHECK(a.defined(), ValueError, nm, ": input tensor is undefined");
  SN_CHECK(a.numel() > 0, ShapeError, nm, ": cannot reduce an empty tensor (shape ", a.shape(),
           ")");
  const std::vector<bool> m = dim_mask(a, dims, nm);
  std::vector<int64_t> all_dims;
  for (int i = 0; i < a.dim(); ++i)
    if (m[i]) all_dims.push_back(i);
  Tensor out = make_tensor(reduced_shape(a, m, keepdim), a.dtype());
  const ReduceGeom g = geometry(a, m);
  SN_DISPATCH_ALL(a.dtype(), nm, [&] {
    using T = scalar_t;
    const T* pa = static_cast<const T*>(a.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    const Shape out_strides = contiguous_strides(g.kept_shape);
    cpu::strided_loop<2>(g.kept_shape, {&g.kept_strides, &out_strides},
                         [&](const int64_t* off, const int64_t* st, int64_t n) {
                           for (int64_t i = 0; i < n; ++i) {
                             const T* base = pa + off[0] + i * st[0];
                             T best = base[0];
                             for_reduced(g, [&](int64_t o) {
                               const T v = base[o];
                               if (v != v || (is_max ? v > best : v < best))
                                 best = (best != best) ? best : v;
                             });
                             po[off[1] + i * st[1]] = best;
                           }
                         });
  });
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<AmaxBackward>();
    node->kept_shape = reduced_shape(a, m, true);
    node->x = SavedTensor(a);
    node->y = SavedTensor(out);
    node->dims = all_dims;
    node->evenly = evenly;
    connect(node, {&a}, {&out});
  }
  return out;
}

// softmax:     dx = y·(g - Σ_dim g·y)
// log_softmax: dx = g - e^y·Σ_dim g
class SoftmaxBackward : public Node {
 public:
  int dim;
  bool log;
  SavedTensor y;
  SoftmaxBackward(int d, bool l) : dim(d), log(l) {}
  std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  void release() override { y.reset(); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor ys = y.get(log ? "log_softmax" : "softmax");
    if (log) return {sub(g, mul(exp(ys), sum(g, {dim}, true)))};
    return {mul(ys, sub(g, sum(mul(g, ys), {dim}, true)))};
  }
};

Tensor softmax_impl(const Tensor& a, int64_t dim, bool log) {
  const char* nm = log ? "log_softmax" : "softmax";
  SN_CHECK(a.defined(), ValueError, nm, ": input tensor is undefined");
  const int d = wrap_dim(dim, a.dim(), nm);
  const Tensor x = is_floating(a.dtype()) ? a : a.to(kFloat32);
  if (x.dim() == 0) {
    Tensor z = log ? zeros_like(x) : ones_like(x);
    if (any_requires_grad({&a})) return add(mul(x, 0.0), z);
    return z;
  }
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  backend::for_inputs(nm, {&x}).softmax(out, x, d, log);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<SoftmaxBackward>(d, log);
    connect(node, {&x}, {&out});
    node->y = SavedTensor(out);
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& a) { return sum_impl(a, {}, false, false); }
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  if (dims.empty()) return sum_impl(a, {}, keepdim, false);
  return sum_impl(a, dims, keepdim, false);
}
Tensor mean(const Tensor& a) { return sum_impl(a, {}, false, true); }
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_impl(a, dims, keepdim, true);
}
Tensor var(const Tensor& a, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  SN_CHECK(a.defined(), ValueError, "var: input tensor is undefined");
  const std::vector<bool> m = dim_mask(a, dims, "var");
  int64_t n = 1;
  for (int i = 0; i < a.dim(); ++i)
    if (m[i]) n *= a.shape()[i];
  std::vector<int64_t> all;
  for (int i = 0; i < a.dim(); ++i)
    if (m[i]) all.push_back(i);
  Tensor centered = sub(a, mean(a, all, true));
  return div(sum(square(centered), all, keepdim),
             static_cast<double>(std::max<int64_t>(n - correction, 0)));
}
Tensor std(const Tensor& a, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  return sqrt(var(a, dims, correction, keepdim));
}
Tensor max(const Tensor& a) { return amax_impl(a, {}, false, true, true); }
Tensor min(const Tensor& a) { return amax_impl(a, {}, false, false, true); }
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, false);
}
Tensor amax(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return amax_impl(a, dims, keepdim, true);
}
Tensor amin(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return amax_impl(a, dims, keepdim, false);
}
Tensor argmax(const Tensor& a) {
  NoGradGuard ng;
  return extreme_dim(a.reshape(Shape{-1}), 0, false, true).second;
}
Tensor argmin(const Tensor& a) {
  NoGradGuard ng;
  return extreme_dim(a.reshape(Shape{-1}), 0, false, false).second;
}
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim) {
  NoGradGuard ng;
  return extreme_dim(a, dim, keepdim, true).second;
}
Tensor argmin(const Tensor& a, int64_t dim, bool keepdim) {
  NoGradGuard ng;
  return extreme_dim(a, dim, keepdim, false).second;
}
Tensor logsumexp(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor m;
  {
    NoGradGuard ng;
    m = amax(a, dims, true);
    // a non-finite max cannot be subtracted (inf - inf = nan): shift by 0 instead, so all -inf
    // gives -inf and any +inf gives +inf, as PyTorch
    m = where(logical_or(eq(abs(m), INFINITY), ne(m, m)), zeros_like(m), m);
  }
  Tensor out = add(log(sum(exp(sub(a, m)), dims, true)), m);
  if (!keepdim) {
    const std::vector<bool> mask = dim_mask(a, dims, "logsumexp");
    out = out.reshape(reduced_shape(a, mask, false));
  }
  return out;
}
Tensor softmax(const Tensor& a, int64_t dim) { return softmax_impl(a, dim, false); }
Tensor log_softmax(const Tensor& a, int64_t dim) { return softmax_impl(a, dim, true); }

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int lead = a.dim() - shape.size();
  SN_CHECK(lead >= 0, ShapeError, "sum_to: cannot reduce shape ", a.shape(), " to ", shape);
  std::vector<int64_t> dims;
  for (int i = 0; i < a.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
    } else {
      const int64_t t = shape[i - lead];
      SN_CHECK(t == a.shape()[i] || t == 1, ShapeError, "sum_to: cannot reduce shape ", a.shape(),
               " to ", shape);
      if (t == 1 && a.shape()[i] != 1) dims.push_back(i);
    }
  }
  Tensor out = dims.empty() ? a : sum(a, dims, true);
  return out.reshape(shape);
}

}  // namespace sn
