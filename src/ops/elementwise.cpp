// Elementwise ops: binary (broadcasting, dtype promotion), scalar, comparisons, unary math and
// activations, where/clamp/masked_fill, plus the in-place Tensor methods. The kernels run on the
// inputs' backend (backend/backend.h): one dispatch per op call.
// Each op's Backward sits beside its forward with the formula above it. Broadcast gradients are
// reduced only through sum_to().
#include <cmath>
#include <cstring>

#include "backend/backend.h"
#include "backend/cpu/map.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;

// ============================================================== raw helpers
namespace detail {
void check_inplace(const Tensor& t, const char* op) {
  SN_CHECK(t.defined(), ValueError, op, ": tensor is undefined");
  if (!autograd::grad_enabled() || !t.requires_grad()) return;
  if (t.is_leaf())
    SN_THROW(AutogradError, op, ": a leaf tensor that requires grad (shape ", t.shape(),
             ") cannot be modified in place while recording; hint: wrap the update in "
             "sn::NoGradGuard");
  SN_THROW(AutogradError, op, ": in-place change of a tensor that is part of a graph (shape ",
           t.shape(), ") is not supported; hint: use the out-of-place op");
}
}  // namespace detail

using detail::expand_raw;
using detail::make_tensor;

// ============================================================== binary ops
namespace {

enum class Bin { Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge, And, Or };

const char* bin_name(Bin op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum",     "minimum",   "eq",
                                "ne",  "lt",  "le",  "gt",  "ge",  "logical_and", "logical_or"};
  return names[static_cast<int>(op)];
}

// Computes op on a and b (already of dtype `dt`) broadcast to `shape`, into a new tensor on
// their backend.
Tensor bin_kernel(backend::Backend& be, Bin op, const Tensor& a, const Tensor& b, DType dt,
                  const Shape& shape, double alpha) {
  Tensor out = make_tensor(shape, op >= Bin::Eq ? kBool : dt, a.device());
  be.binary(static_cast<backend::BinaryOp>(op), out, expand_raw(a, shape), expand_raw(b, shape),
            alpha);
  return out;
}

// Shared Backward node for the differentiable binary ops.
// add: da = g, db = alpha·g        sub: da = g, db = -alpha·g
// mul: da = g·b, db = g·a          div: da = g/b, db = -g·a/b²
// pow: da = g·y·b/a (= g·b·a^(b-1)), db = g·y·ln a
// maximum/minimum: the gradient goes to the larger/smaller input, split in half on ties (with a
// NaN, the result, to both)
class BinaryBackward : public Node {
 public:
  Bin op;
  double alpha = 1.0;
  SavedTensor a, b, y;
  Shape a_shape, b_shape;
  BinaryBackward(Bin o, double al) : op(o), alpha(al) {}
  std::string name() const override {
    static const char* n[] = {"AddBackward", "SubBackward",     "MulBackward",    "DivBackward",
                              "PowBackward", "MaximumBackward", "MinimumBackward"};
    return n[static_cast<int>(op)];
  }
  void release() override {
    a.reset();
    b.reset();
    y.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    const bool na = next_edges[0].valid(), nb = next_edges[1].valid();
    Tensor ga, gb;
    const char* nm = bin_name(op);
    switch (op) {
      case Bin::Add:
      case Bin::Sub:
        if (na) ga = g;
        if (nb) gb = (alpha == 1.0 && op == Bin::Add) ? g : mul(g, op == Bin::Add ? alpha : -alpha);
        break;
      case Bin::Mul:
        if (na) ga = mul(g, b.get(nm));
        if (nb) gb = mul(g, a.get(nm));
        break;
      case Bin::Div: {
        Tensor bb = b.get(nm);
        if (na) ga = div(g, bb);
        if (nb) gb = neg(div(mul(g, y.get(nm)), bb));
        break;
      }
      case Bin::Pow: {
        Tensor aa = a.get(nm), bb = b.get(nm);
        // as PyTorch: a zero exponent contributes 0 (not 0·a⁻¹ = nan at a = 0), and a zero base
        // with a non-negative exponent has db = 0 (the limit of b·0^b·ln 0)
        if (na) ga = where(ne(bb, 0.0), mul(g, mul(bb, pow(aa, sub(bb, 1.0)))), 0.0);
        if (nb) {
          Tensor gy = mul(g, mul(y.get(nm), log(aa)));
          gb = where(logical_or(ne(aa, 0.0), lt(bb, 0.0)), gy, 0.0);
        }
        break;
      }
      case Bin::Max:
      case Bin::Min: {
        Tensor aa = a.get(nm), bb = b.get(nm);
        Tensor tie = eq(aa, bb);
        Tensor half = where(tie, mul(g, 0.5), g);
        // masked where the input loses, as PyTorch: a NaN on either side (the NaN is the
        // result) loses nowhere, so both inputs get the whole gradient there
        Tensor a_loses = op == Bin::Max ? lt(aa, bb) : gt(aa, bb);
        Tensor b_loses = op == Bin::Max ? gt(aa, bb) : lt(aa, bb);
        if (na) ga = where(a_loses, zeros_like(half), half);
        if (nb) gb = where(b_loses, zeros_like(half), half);
        break;
      }
      default:
        SN_ASSERT(false, "not differentiable");
    }
    if (ga.defined()) ga = sum_to(ga, a_shape);
    if (gb.defined()) gb = sum_to(gb, b_shape);
    return {ga, gb};
  }
};

Tensor binary(Bin op, const Tensor& a, const Tensor& b, double alpha = 1.0) {
  const char* nm = bin_name(op);
  SN_CHECK(a.defined() && b.defined(), ValueError, nm, ": an input tensor is undefined");
  backend::Backend& be = backend::for_inputs(nm, {&a, &b});
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), nm);
  DType dt = promote(a.dtype(), b.dtype());
  if (op == Bin::Div && !is_floating(dt)) dt = kFloat32;
  if ((op == Bin::Add || op == Bin::Sub) && dt == kBool) dt = kInt64;
  const Tensor ca = detail::cast_raw(a, dt), cb = detail::cast_raw(b, dt);
  Tensor out = bin_kernel(be, op, ca, cb, dt, shape, alpha);
  if (op < Bin::Eq && any_requires_grad({&a, &b})) {
    SN_CHECK(is_floating(dt), DTypeError, nm, ": gradients need floating-point tensors (got ", dt,
             ")");
    auto node = std::make_shared<BinaryBackward>(op, alpha);
    node->a_shape = a.shape();
    node->b_shape = b.shape();
    const bool na = a.requires_grad(), nb = b.requires_grad();
    if ((op == Bin::Mul && nb) || op == Bin::Pow || op == Bin::Max || op == Bin::Min)
      node->a = SavedTensor(ca);
    if ((op == Bin::Mul && na) || op == Bin::Div || op == Bin::Pow || op == Bin::Max ||
        op == Bin::Min)
      node->b = SavedTensor(cb);
    connect(node, {&a, &b}, {&out});
    if ((op == Bin::Div && nb) || (op == Bin::Pow && nb)) node->y = SavedTensor(out);
  }
  return out;
}

// Result dtype of (tensor op scalar): a float scalar turns an integer tensor into float32.
DType scalar_result(DType t, double s) {
  if (is_floating(t)) return t;
  if (std::floor(s) != s) return kFloat32;
  return t == kBool ? kInt64 : t;
}

enum class Sc { Add, Mul, RSub, RDiv, Pow, RPow };

// Backward of tensor-scalar ops.
// add: da = g       mul: da = s·g        rsub (s - a): da = -g
// rdiv (s / a): da = -g·y/a       pow (a^s): da = g·s·a^(s-1)     rpow (s^a): da = g·y·ln s
class ScalarBackward : public Node {
 public:
  Sc op;
  double s;
  SavedTensor a, y;
  ScalarBackward(Sc o, double sv) : op(o), s(sv) {}
  std::string name() const override {
    static const char* n[] = {"AddBackward",  "MulBackward", "RsubBackward",
                              "RdivBackward", "PowBackward", "PowBackward"};
    return n[static_cast<int>(op)];
  }
  void release() override {
    a.reset();
    y.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    switch (op) {
      case Sc::Add:
        return {g};
      case Sc::Mul:
        return {mul(g, s)};
      case Sc::RSub:
        return {neg(g)};
      case Sc::RDiv:
        return {neg(div(mul(g, y.get("rdiv")), a.get("rdiv")))};
      case Sc::Pow:
        if (s == 0.0) return {zeros_like(g)};
        if (s == 2.0) return {mul(g, mul(a.get("pow"), 2.0))};
        return {mul(g, mul(pow(a.get("pow"), s - 1.0), s))};
      case Sc::RPow:
        return {mul(g, mul(y.get("pow"), std::log(s)))};
    }
    return {};
  }
};

Tensor scalar_op(Sc op, const Tensor& a, double s) {
  static const char* names[] = {"add", "mul", "rsub", "rdiv", "pow", "pow"};
  const char* nm = names[static_cast<int>(op)];
  SN_CHECK(a.defined(), ValueError, nm, ": input tensor is undefined");
  DType dt = scalar_result(a.dtype(), s);
  if ((op == Sc::RDiv || op == Sc::RPow) && !is_floating(dt)) dt = kFloat32;
  backend::Backend& be = backend::for_inputs(nm, {&a});
  const Tensor ca = detail::cast_raw(a, dt);
  Tensor out = make_tensor(a.shape(), dt, a.device());
  be.scalar(static_cast<backend::ScalarOp>(op), out, ca, s);
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<ScalarBackward>(op, s);
    if (op == Sc::RDiv || op == Sc::Pow) node->a = SavedTensor(ca);
    connect(node, {&a}, {&out});
    if (op == Sc::RDiv || op == Sc::RPow) node->y = SavedTensor(out);
  }
  return out;
}

Tensor cmp_scalar(Bin op, const Tensor& a, double s) {
  Tensor sv = full(Shape{}, s, {.dtype = scalar_result(a.dtype(), s), .device = a.device()});
  return binary(op, a, sv);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, double alpha) { return binary(Bin::Add, a, b, alpha); }
Tensor sub(const Tensor& a, const Tensor& b, double alpha) { return binary(Bin::Sub, a, b, alpha); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(Bin::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(Bin::Div, a, b); }
Tensor pow(const Tensor& a, const Tensor& e) { return binary(Bin::Pow, a, e); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(Bin::Max, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(Bin::Min, a, b); }
Tensor add(const Tensor& a, double s) { return scalar_op(Sc::Add, a, s); }
Tensor sub(const Tensor& a, double s) { return scalar_op(Sc::Add, a, -s); }
Tensor rsub(const Tensor& a, double s) { return scalar_op(Sc::RSub, a, s); }
Tensor mul(const Tensor& a, double s) { return scalar_op(Sc::Mul, a, s); }
Tensor div(const Tensor& a, double s) {
  if (!is_floating(a.dtype())) return scalar_op(Sc::Mul, a.to(kFloat32), 1.0 / s);
  return scalar_op(Sc::Mul, a, 1.0 / s);
}
Tensor rdiv(const Tensor& a, double s) { return scalar_op(Sc::RDiv, a, s); }
Tensor pow(const Tensor& a, double e) { return scalar_op(Sc::Pow, a, e); }
Tensor pow(double base, const Tensor& e) { return scalar_op(Sc::RPow, e, base); }

Tensor eq(const Tensor& a, const Tensor& b) { return binary(Bin::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary(Bin::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary(Bin::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary(Bin::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary(Bin::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary(Bin::Ge, a, b); }
Tensor eq(const Tensor& a, double s) { return cmp_scalar(Bin::Eq, a, s); }
Tensor ne(const Tensor& a, double s) { return cmp_scalar(Bin::Ne, a, s); }
Tensor lt(const Tensor& a, double s) { return cmp_scalar(Bin::Lt, a, s); }
Tensor le(const Tensor& a, double s) { return cmp_scalar(Bin::Le, a, s); }
Tensor gt(const Tensor& a, double s) { return cmp_scalar(Bin::Gt, a, s); }
Tensor ge(const Tensor& a, double s) { return cmp_scalar(Bin::Ge, a, s); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary(Bin::And, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary(Bin::Or, a, b); }
Tensor logical_not(const Tensor& a) { return eq(a.to(kBool), 0.0); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (broadcast_shapes(a.shape(), b.shape(), "allclose") != a.shape()) return false;
  NoGradGuard ng;
  Tensor x = a.to(kFloat64), y = b.to(kFloat64);
  Tensor ok = le(abs(sub(x, y)), add(mul(abs(y), rtol), atol));
  return sum(logical_not(ok).to(kInt64)).item() == 0;
}
bool equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  NoGradGuard ng;
  return sum(ne(a, b).to(kInt64)).item() == 0;
}

// ============================================================== unary ops
namespace {

// One Backward node for every float unary op: dx = g · f'(x, y), one fused kernel on the
// gradient's backend (the formulas: below, and as kernels in each backend).
using backend::UnaryOp;
class UnaryBackward : public Node {
 public:
  const char* nm;
  UnaryOp op;
  double p[2];
  SavedTensor x, y;
  UnaryBackward(const char* n, UnaryOp o, double p0, double p1) : nm(n), op(o), p{p0, p1} {}
  std::string name() const override { return nm; }
  void release() override {
    x.reset();
    y.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor g = grads[0];
    Tensor xs = x.defined() ? x.get(nm) : Tensor();
    Tensor ys = y.defined() ? y.get(nm) : Tensor();
    backend::Backend& be = backend::for_inputs(nm, {&g, &xs, &ys});
    Tensor gx = make_tensor(g.shape(), g.dtype(), g.device());
    be.unary_backward(op, gx, g, xs.defined() ? xs : g, ys.defined() ? ys : g, p[0], p[1]);
    return {gx};
  }
};

struct UnarySpec {
  const char* name;
  const char* node_name;
  bool float_only;  // integer inputs are converted to float32 first
  bool save_x, save_y;
};

Tensor unary(const UnarySpec& spec, const Tensor& a, UnaryOp op, bool differentiable = true,
             double p0 = 0, double p1 = 0) {
  SN_CHECK(a.defined(), ValueError, spec.name, ": input tensor is undefined");
  backend::Backend& be = backend::for_inputs(spec.name, {&a});
  DType dt = a.dtype();
  if (spec.float_only && !is_floating(dt)) dt = kFloat32;
  if (!spec.float_only && dt == kBool) dt = kInt64;
  const Tensor ca = detail::cast_raw(a, dt);
  Tensor out = make_tensor(a.shape(), dt, a.device());
  be.unary(op, out, ca, p0, p1);
  if (differentiable && any_requires_grad({&a})) {
    auto node = std::make_shared<UnaryBackward>(spec.node_name, op, p0, p1);
    if (spec.save_x) node->x = SavedTensor(ca);
    connect(node, {&a}, {&out});
    if (spec.save_y) node->y = SavedTensor(out);
  }
  return out;
}

// Numeric (int-capable) unary kernels for integer inputs of relu, clamp, neg, abs, square, sign
// (CPU only: integer maps are not part of the backend interface yet).
template <typename F>
void numeric_map(const Tensor& out, const Tensor& in, const char* nm, F f) {
  SN_DISPATCH_NUMERIC(in.dtype(), nm, [&] {
    using T = scalar_t;
    cpu::map1<T, T>(out, in, [&](T x) { return static_cast<T>(f(x)); });
  });
}

}  // namespace

// y = e^x: dx = g·y
Tensor exp(const Tensor& a) {
  return unary({"exp", "ExpBackward", true, false, true}, a, UnaryOp::Exp);
}
// y = ln x: dx = g / x
Tensor log(const Tensor& a) {
  return unary({"log", "LogBackward", true, true, false}, a, UnaryOp::Log);
}
// y = √x: dx = g / (2y)
Tensor sqrt(const Tensor& a) {
  return unary({"sqrt", "SqrtBackward", true, false, true}, a, UnaryOp::Sqrt);
}
// y = x^(-1/2): dx = -g·y³/2
Tensor rsqrt(const Tensor& a) {
  return unary({"rsqrt", "RsqrtBackward", true, false, true}, a, UnaryOp::Rsqrt);
}
// y = sin x: dx = g·cos x
Tensor sin(const Tensor& a) {
  return unary({"sin", "SinBackward", true, true, false}, a, UnaryOp::Sin);
}
// y = cos x: dx = -g·sin x
Tensor cos(const Tensor& a) {
  return unary({"cos", "CosBackward", true, true, false}, a, UnaryOp::Cos);
}
// y = σ(x): dx = g·y·(1 - y)
Tensor sigmoid(const Tensor& a) {
  return unary({"sigmoid", "SigmoidBackward", true, false, true}, a, UnaryOp::Sigmoid);
}
// y = tanh x: dx = g·(1 - y²)
Tensor tanh(const Tensor& a) {
  return unary({"tanh", "TanhBackward", true, false, true}, a, UnaryOp::Tanh);
}
// y = x·σ(x): dx = g·σ(x)·(1 + x(1 - σ(x)))
Tensor silu(const Tensor& a) {
  return unary({"silu", "SiluBackward", true, true, false}, a, UnaryOp::Silu);
}
// Heaviside step: y = [x > 0]; its derivative is zero almost everywhere
Tensor step(const Tensor& a) {
  return unary({"step", "StepBackward", true, false, false}, a, UnaryOp::Step);
}
// y = max(x, 0): dx = g·[y > 0] (NaN propagates both ways, as PyTorch)
Tensor relu(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "relu",
                [](auto x) { return x > 0 ? x : decltype(x)(0); });
    return out;
  }
  return unary({"relu", "ReluBackward", true, false, true}, a, UnaryOp::Relu);
}
// y = x·Φ(x): dx = g·(Φ(x) + x·φ(x)); with the tanh approximation y = x/2·(1 + tanh u),
// u = k(x + 0.044715x³): dx = g·(½(1 + t) + ½x(1 - t²)·k(1 + 3·0.044715x²))
Tensor gelu(const Tensor& a, bool tanh_approximation) {
  return unary({"gelu", "GeluBackward", true, true, false}, a,
               tanh_approximation ? UnaryOp::GeluTanh : UnaryOp::Gelu);
}
// y = x if x > 0 else slope·x: dx = g·(x > 0 ? 1 : slope)
Tensor leaky_relu(const Tensor& a, double slope) {
  return unary({"leaky_relu", "LeakyReluBackward", true, true, false}, a, UnaryOp::LeakyRelu, true,
               slope);
}
// y = x if x > 0 else α(e^x - 1): dx = g if x > 0 else g·(y + α)
Tensor elu(const Tensor& a, double alpha) {
  return unary({"elu", "EluBackward", true, true, true}, a, UnaryOp::Elu, true, alpha);
}
// y = ln(1 + e^(βx))/β (x when βx > threshold): dx = g·σ(βx) (g when βx > threshold)
Tensor softplus(const Tensor& a, double beta, double threshold) {
  SN_CHECK(beta > 0, ValueError, "softplus: beta must be positive (got ", beta, ")");
  return unary({"softplus", "SoftplusBackward", true, true, false}, a, UnaryOp::Softplus, true,
               beta, threshold);
}
// y = clamp(x, lo, hi): dx = g where lo <= x <= hi (NaN stays NaN, its gradient is 0)
Tensor clamp(const Tensor& a, std::optional<double> lo, std::optional<double> hi) {
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  SN_CHECK(!(l > h), ValueError, "clamp: min ", l, " is greater than max ", h);
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "clamp", [&](auto x) {
      using T = decltype(x);
      return lo && x < *lo ? static_cast<T>(*lo) : (hi && x > *hi ? static_cast<T>(*hi) : x);
    });
    return out;
  }
  return unary({"clamp", "ClampBackward", true, true, false}, a, UnaryOp::Clamp, true, l, h);
}
// y = -x: dx = -g
Tensor neg(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "neg", [](auto x) { return -x; });
    return out;
  }
  return unary({"neg", "NegBackward", true, false, false}, a, UnaryOp::Neg);
}
// y = |x|: dx = g·sign(x)
Tensor abs(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "abs",
                [](auto x) { return x < 0 ? -x : x; });
    return out;
  }
  return unary({"abs", "AbsBackward", true, true, false}, a, UnaryOp::Abs);
}
// y = x²: dx = 2x·g
Tensor square(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "square", [](auto x) { return x * x; });
    return out;
  }
  return unary({"square", "PowBackward", true, true, false}, a, UnaryOp::Square);
}
Tensor sign(const Tensor& a) {
  Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
  numeric_map(out, detail::cast_raw(a, out.dtype()), "sign", [](auto x) {
    using T = decltype(x);
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  });
  return out;
}

// ============================================================== where / masked_fill
// out = cond ? a : b: da = sum_to(cond ? g : 0), db = sum_to(cond ? 0 : g)
class WhereBackward : public Node {
 public:
  SavedTensor cond;
  Shape a_shape, b_shape;
  std::string name() const override { return "WhereBackward"; }
  void release() override { cond.reset(); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor c = cond.get("where");
    Tensor z = zeros(Shape{}, {.dtype = g.dtype(), .device = g.device()});
    Tensor ga, gb;
    if (next_edges[0].valid()) ga = sum_to(where(c, g, z), a_shape);
    if (next_edges[1].valid()) gb = sum_to(where(c, z, g), b_shape);
    return {ga, gb};
  }
};

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  SN_CHECK(cond.defined() && a.defined() && b.defined(), ValueError,
           "where: an input is undefined");
  SN_CHECK(cond.dtype() == kBool, DTypeError, "where: condition must be bool (got ", cond.dtype(),
           "); hint: build it with a comparison such as x > 0");
  backend::Backend& be = backend::for_inputs("where", {&cond, &a, &b});
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const DType dt = promote(a.dtype(), b.dtype());
  Tensor ca = detail::cast_raw(a, dt), cb = detail::cast_raw(b, dt);
  Tensor out = make_tensor(shape, dt, a.device());
  be.where(out, expand_raw(cond, shape), expand_raw(ca, shape), expand_raw(cb, shape));
  if (any_requires_grad({&a, &b})) {
    auto node = std::make_shared<WhereBackward>();
    node->cond = SavedTensor(cond);
    node->a_shape = a.shape();
    node->b_shape = b.shape();
    connect(node, {&a, &b}, {&out});
  }
  return out;
}
Tensor where(const Tensor& cond, const Tensor& a, double b) {
  return where(cond, a,
               full(Shape{}, b, {.dtype = scalar_result(a.dtype(), b), .device = a.device()}));
}
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  SN_CHECK(mask.dtype() == kBool, DTypeError, "masked_fill: mask must be bool (got ", mask.dtype(),
           ")");
  SN_CHECK(broadcast_shapes(a.shape(), mask.shape(), "masked_fill") == a.shape(), ShapeError,
           "masked_fill: mask of shape ", mask.shape(), " does not broadcast to the input shape ",
           a.shape());
  return where(mask, full(Shape{}, value, {.dtype = a.dtype(), .device = a.device()}), a);
}

// ============================================================== in-place methods
Tensor& Tensor::zero_() { return fill_(0.0); }
Tensor& Tensor::fill_(double value) {
  detail::check_inplace(*this, "fill_");
  detail::fill_raw(*this, value);
  bump_version();
  return *this;
}
Tensor& Tensor::copy_(const Tensor& src) {
  detail::check_inplace(*this, "copy_");
  broadcast_shapes(src.shape(), shape(), "copy_");
  SN_CHECK(broadcast_shapes(src.shape(), shape(), "copy_") == shape(), ShapeError,
           "copy_: source shape ", src.shape(), " cannot be broadcast to ", shape());
  if (src.shares_storage(*this) && !src.is_same(*this))
    detail::copy_raw(*this, src.clone());
  else
    detail::copy_raw(*this, src);
  bump_version();
  return *this;
}
static void inplace_binary(Tensor& self, const Tensor& other, const char* op, int kind,
                           double alpha) {
  detail::check_inplace(self, op);
  const Shape bs = broadcast_shapes(self.shape(), other.shape(), op);
  SN_CHECK(bs == self.shape(), ShapeError, op, ": result shape ", bs,
           " does not fit the in-place target of shape ", self.shape());
  SN_CHECK(is_floating(self.dtype()) || !is_floating(other.dtype()), DTypeError, op,
           ": cannot write a ", other.dtype(), " result into a ", self.dtype(), " tensor");
  backend::Backend& be = backend::for_inputs(op, {&self, &other});
  Tensor o = detail::expand_raw(detail::cast_raw(other, self.dtype()), self.shape());
  if (is_floating(self.dtype())) {  // the backend's maps allow out to alias an input
    static constexpr backend::BinaryOp kOps[] = {backend::BinaryOp::Add, backend::BinaryOp::Mul,
                                                 backend::BinaryOp::Div};
    be.binary(kOps[kind], self, self, o, alpha);
    self.bump_version();
    return;
  }
  SN_DISPATCH_NUMERIC(self.dtype(), op, [&] {
    using T = scalar_t;
    const T al = static_cast<T>(alpha);
    if (kind == 0) {
      if (alpha == 1.0)
        cpu::map2<T, T, T>(self, self, o, [](T x, T y) { return static_cast<T>(x + y); });
      else
        cpu::map2<T, T, T>(self, self, o, [al](T x, T y) { return static_cast<T>(x + al * y); });
    } else if (kind == 1) {
      cpu::map2<T, T, T>(self, self, o, [](T x, T y) { return static_cast<T>(x * y); });
    } else {
      cpu::map2<T, T, T>(self, self, o, [](T x, T y) { return static_cast<T>(x / y); });
    }
  });
  self.bump_version();
}
Tensor& Tensor::add_(const Tensor& other, double alpha) {
  inplace_binary(*this, other, "add_", 0, alpha);
  return *this;
}
Tensor& Tensor::mul_(const Tensor& other) {
  inplace_binary(*this, other, "mul_", 1, 1.0);
  return *this;
}
Tensor& Tensor::div_(const Tensor& other) {
  inplace_binary(*this, other, "div_", 2, 1.0);
  return *this;
}
Tensor& Tensor::mul_(double s) {
  detail::check_inplace(*this, "mul_");
  if (is_floating_point()) {
    backend::for_inputs("mul_", {this}).scalar(backend::ScalarOp::Mul, *this, *this, s);
    bump_version();
    return *this;
  }
  SN_DISPATCH_NUMERIC(dtype(), "mul_", [&] {
    using T = scalar_t;
    const T v = static_cast<T>(s);
    cpu::map1<T, T>(*this, *this, [v](T x) { return static_cast<T>(x * v); });
  });
  bump_version();
  return *this;
}
Tensor& Tensor::add_(double s) {
  detail::check_inplace(*this, "add_");
  if (is_floating_point()) {
    backend::for_inputs("add_", {this}).scalar(backend::ScalarOp::Add, *this, *this, s);
    bump_version();
    return *this;
  }
  SN_DISPATCH_NUMERIC(dtype(), "add_", [&] {
    using T = scalar_t;
    const T v = static_cast<T>(s);
    cpu::map1<T, T>(*this, *this, [v](T x) { return static_cast<T>(x + v); });
  });
  bump_version();
  return *this;
}
Tensor& Tensor::clamp_(double lo, double hi) {
  detail::check_inplace(*this, "clamp_");
  SN_DISPATCH_NUMERIC(dtype(), "clamp_", [&] {
    using T = scalar_t;
    cpu::map1<T, T>(*this, *this, [lo, hi](T x) {
      return x < lo ? static_cast<T>(lo) : (x > hi ? static_cast<T>(hi) : x);
    });
  });
  bump_version();
  return *this;
}
Tensor& Tensor::uniform_(double lo, double hi) {
  detail::check_inplace(*this, "uniform_");
  Tensor r = rand(shape(), {.dtype = is_floating_point() ? dtype() : kFloat64, .device = device()});
  detail::copy_raw(*this, add(mul(r, hi - lo), lo));
  bump_version();
  return *this;
}
Tensor& Tensor::normal_(double mean, double std) {
  detail::check_inplace(*this, "normal_");
  Tensor r =
      randn(shape(), {.dtype = is_floating_point() ? dtype() : kFloat64, .device = device()});
  detail::copy_raw(*this, add(mul(r, std), mean));
  bump_version();
  return *this;
}

}  // namespace sn
