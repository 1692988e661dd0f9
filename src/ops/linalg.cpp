// matmul (NumPy semantics), mm, dot, outer and the fused linear layer op, all on the backend's
// GEMM. Batched matmul folds batch dims into one GEMM when the right operand is 2-D.
#include "backend/backend.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;
using detail::make_tensor;

namespace {

// a [..., M, K] · b [..., K, N] with both >= 2-D, no autograd.
Tensor matmul_raw(const Tensor& a, const Tensor& b) {
  backend::Backend& be = backend::for_inputs("matmul", {&a, &b});
  const Device dev = a.device();
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  const int64_t N = b.shape()[b.dim() - 1];
  if (a.dim() == 2 && b.dim() == 2) {
    Tensor c = make_tensor(Shape{M, N}, a.dtype(), dev);
    be.gemm(a, b, c, 1.0, 0.0);
    return c;
  }
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  if (b.dim() == 2) {
    // fold the batch of a into rows: one big GEMM
    Tensor a2 = detail::contiguous_raw(a);
    Tensor af = detail::make_view(a2, Shape{ba.numel() * M, K}, Shape{K, 1}, a2.offset());
    Tensor c = make_tensor(Shape{ba.numel() * M, N}, a.dtype(), dev);
    be.gemm(af, b, c, 1.0, 0.0);
    Shape out = ba;
    out.push_back(M);
    out.push_back(N);
    return detail::make_view(c, out, contiguous_strides(out), 0);
  }
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  Shape sa = batch, sb = batch, out = batch;
  sa.push_back(M);
  sa.push_back(K);
  sb.push_back(K);
  sb.push_back(N);
  out.push_back(M);
  out.push_back(N);
  Tensor ea = detail::expand_raw(a, sa), eb = detail::expand_raw(b, sb);
  Tensor c = make_tensor(out, a.dtype(), dev);
  const int64_t nb = batch.numel();
  const int nd = batch.size();
  for (int64_t i = 0; i < nb; ++i) {
    int64_t rem = i, oa = ea.offset(), ob = eb.offset();
    for (int d = nd - 1; d >= 0; --d) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      oa += idx * ea.strides()[d];
      ob += idx * eb.strides()[d];
    }
    Tensor ai =
        detail::make_view(ea, Shape{M, K}, Shape{ea.strides()[nd], ea.strides()[nd + 1]}, oa);
    Tensor bi =
        detail::make_view(eb, Shape{K, N}, Shape{eb.strides()[nd], eb.strides()[nd + 1]}, ob);
    Tensor ci = detail::make_view(c, Shape{M, N}, Shape{N, 1}, i * M * N);
    be.gemm(ai, bi, ci, 1.0, 0.0);
  }
  return c;
}

Tensor mT(const Tensor& t) { return t.transpose(-1, -2); }

// C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC (each summed back over broadcast batch dims)
class MatmulBackward : public Node {
 public:
  SavedTensor a, b;
  Shape a_shape, b_shape;
  std::string name() const override { return "MatmulBackward"; }
  void release() override {
    a.reset();
    b.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor ga, gb;
    if (next_edges[0].valid()) ga = sum_to(matmul_raw(g, mT(b.get("matmul"))), a_shape);
    if (next_edges[1].valid()) {
      Tensor as = a.get("matmul");
      if (b_shape.size() == 2 && as.dim() > 2) {
        // fold the batch: dB = A2ᵀ·G2 with A2 [B·M, K], G2 [B·M, N]
        Tensor a2 = detail::contiguous_raw(as).reshape(Shape{-1, as.shape()[as.dim() - 1]});
        Tensor g2 = detail::contiguous_raw(g).reshape(Shape{-1, g.shape()[g.dim() - 1]});
        gb = matmul_raw(a2.t(), g2);
      } else {
        gb = sum_to(matmul_raw(mT(as), g), b_shape);
      }
    }
    return {ga, gb};
  }
};

Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  Tensor out = matmul_raw(a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = std::make_shared<MatmulBackward>();
    node->a_shape = a.shape();
    node->b_shape = b.shape();
    if (b.requires_grad()) node->a = SavedTensor(a);
    if (a.requires_grad()) node->b = SavedTensor(b);
    connect(node, {&a, &b}, {&out});
  }
  return out;
}

void check_matmul(const Tensor& a, const Tensor& b, const char* op) {
  SN_CHECK(a.defined() && b.defined(), ValueError, op, ": an input tensor is undefined");
  SN_CHECK(a.dtype() == b.dtype(), DTypeError, op, ": dtype mismatch (", a.dtype(), " and ",
           b.dtype(), "); hint: convert one with .to()");
  SN_CHECK(a.dim() >= 1 && b.dim() >= 1, ShapeError, op,
           ": both arguments need at least 1 dimension (shapes ", a.shape(), " and ", b.shape(),
           ")");
  SN_CHECK(a.dtype() != kBool, DTypeError, op, ": not supported for bool tensors");
  const int64_t ka = a.shape()[a.dim() - 1];
  const int64_t kb = b.dim() == 1 ? b.shape()[0] : b.shape()[b.dim() - 2];
  SN_CHECK(ka == kb, ShapeError, op, ": shapes ", a.shape(), " and ", b.shape(),
           " cannot be multiplied (", ka, " != ", kb, ")");
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_matmul(a, b, "matmul");
  if (a.dim() == 1 && b.dim() == 1) return dot(a, b);
  if (a.dim() == 1) return matmul_nd(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul_nd(a, b.unsqueeze(1)).squeeze(-1);
  if (a.dim() > 2 && b.dim() > 2) {
    Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
    broadcast_shapes(ba, bb, "matmul");
  }
  return matmul_nd(a, b);
}
Tensor mm(const Tensor& a, const Tensor& b) {
  SN_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, "mm: expects 2-D tensors (got shapes ",
           a.shape(), " and ", b.shape(), ")");
  check_matmul(a, b, "mm");
  return matmul_nd(a, b);
}
Tensor dot(const Tensor& a, const Tensor& b) {
  SN_CHECK(a.dim() == 1 && b.dim() == 1, ShapeError, "dot: expects 1-D tensors (got shapes ",
           a.shape(), " and ", b.shape(), ")");
  SN_CHECK(a.shape() == b.shape(), ShapeError, "dot: shapes ", a.shape(), " and ", b.shape(),
           " have different lengths (", a.shape()[0], " != ", b.shape()[0], ")");
  SN_CHECK(a.dtype() == b.dtype(), DTypeError, "dot: dtype mismatch (", a.dtype(), " and ",
           b.dtype(), ")");
  return sum(mul(a, b));
}
Tensor outer(const Tensor& a, const Tensor& b) {
  SN_CHECK(a.dim() == 1 && b.dim() == 1, ShapeError, "outer: expects 1-D tensors (got shapes ",
           a.shape(), " and ", b.shape(), ")");
  return mul(a.unsqueeze(1), b.unsqueeze(0));
}

namespace {
// y = x·Wᵀ + b (x folded to [N, in]): dx = g·W, dW = gᵀ·x, db = Σ_rows g
class LinearBackward : public Node {
 public:
  SavedTensor x, w;
  Shape x_shape;
  bool has_bias;
  std::string name() const override { return "LinearBackward"; }
  void release() override {
    x.reset();
    w.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor g = detail::contiguous_raw(grads[0]);
    backend::Backend& be = backend::for_inputs("linear", {&g});
    const int64_t out_f = g.shape()[g.dim() - 1];
    Tensor g2 = detail::make_view(g, Shape{g.numel() / std::max<int64_t>(out_f, 1), out_f},
                                  Shape{out_f, 1}, g.offset());
    Tensor gx, gw, gb;
    if (next_edges[0].valid()) {
      Tensor ws = w.get("linear");
      gx = make_tensor(Shape{g2.shape()[0], ws.shape()[1]}, g.dtype(), g.device());
      be.gemm(g2, ws, gx, 1.0, 0.0);
      gx = gx.reshape(x_shape);
    }
    if (next_edges[1].valid()) {
      Tensor xs = x.get("linear");
      Tensor x2 = detail::contiguous_raw(xs);
      x2 = detail::make_view(x2, Shape{g2.shape()[0], x_shape[x_shape.size() - 1]},
                             Shape{x_shape[x_shape.size() - 1], 1}, x2.offset());
      gw = make_tensor(Shape{out_f, x2.shape()[1]}, g.dtype(), g.device());
      be.gemm(g2.t(), x2, gw, 1.0, 0.0);
    }
    if (has_bias && next_edges[2].valid()) gb = sum(g2, {0});
    if (has_bias) return {gx, gw, gb};
    return {gx, gw};
  }
};
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SN_CHECK(x.defined() && weight.defined(), ValueError, "linear: input or weight is undefined");
  backend::Backend& be = backend::for_inputs("linear", {&x, &weight, &bias});
  SN_CHECK(weight.dim() == 2, ShapeError, "linear: weight must be 2-D [out, in] (got ",
           weight.shape(), ")");
  SN_CHECK(x.dim() >= 1, ShapeError, "linear: input must have at least 1 dim (got ", x.shape(),
           ")");
  const int64_t in_f = weight.shape()[1], out_f = weight.shape()[0];
  SN_CHECK(x.shape()[x.dim() - 1] == in_f, ShapeError, "linear: input ", x.shape(),
           " cannot be multiplied with weight ", weight.shape(), " (", x.shape()[x.dim() - 1],
           " != ", in_f, ")");
  SN_CHECK(x.dtype() == weight.dtype(), DTypeError, "linear: dtype mismatch (input ", x.dtype(),
           ", weight ", weight.dtype(), ")");
  SN_CHECK(is_floating(x.dtype()), DTypeError, "linear: expected floating-point input, got ",
           x.dtype());
  if (bias.defined())
    SN_CHECK(bias.dim() == 1 && bias.shape()[0] == out_f && bias.dtype() == x.dtype(), ShapeError,
             "linear: bias must be [", out_f, "] of dtype ", x.dtype(), " (got ", bias.shape(), " ",
             bias.dtype(), ")");
  Tensor xc = detail::contiguous_raw(x);
  const int64_t rows = x.numel() / std::max<int64_t>(in_f, 1);
  Tensor x2 = detail::make_view(xc, Shape{rows, in_f}, Shape{in_f, 1}, xc.offset());
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor out = make_tensor(out_shape, x.dtype(), x.device());
  Tensor o2 = detail::make_view(out, Shape{rows, out_f}, Shape{out_f, 1}, 0);
  // Wᵀ as a view: the GEMM reads it transposed, no copy
  Tensor wt = detail::make_view(weight, Shape{in_f, out_f},
                                Shape{weight.strides()[1], weight.strides()[0]}, weight.offset());
  if (!bias.defined() || !be.gemm_bias(x2, wt, o2, bias)) {
    double beta = 0.0;
    if (bias.defined()) {  // the bias broadcast into C, then C += x·Wᵀ
      detail::copy_raw(o2, bias);
      beta = 1.0;
    }
    be.gemm(x2, wt, o2, 1.0, beta);
  }
  const bool hb = bias.defined();
  if (hb ? any_requires_grad({&x, &weight, &bias}) : any_requires_grad({&x, &weight})) {
    auto node = std::make_shared<LinearBackward>();
    node->x_shape = x.shape();
    node->has_bias = hb;
    if (weight.requires_grad()) node->x = SavedTensor(xc);
    if (x.requires_grad()) node->w = SavedTensor(weight);
    if (hb)
      connect(node, {&x, &weight, &bias}, {&out});
    else
      connect(node, {&x, &weight}, {&out});
  }
  return out;
}

}  // namespace sn
