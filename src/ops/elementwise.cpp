// Elementwise ops: binary (broadcasting, dtype promotion), scalar, comparisons, unary math and
// activations, where/clamp/masked_fill, plus the in-place Tensor methods and raw copy/cast/fill.
// Each op's Backward sits beside its forward with the formula above it. Broadcast gradients are
// reduced only through sum_to().
#include <cmath>
#include <cstring>

#include "backend/cpu/map.h"
#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;

// ============================================================== raw helpers
namespace detail {
void copy_raw(const Tensor& dst, const Tensor& src) {
  Tensor s = expand_raw(src, dst.shape());
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && s.is_contiguous()) {
    if (dst.nbytes() && dst.raw_data() != s.raw_data())
      std::memcpy(dst.raw_data(), s.raw_data(), dst.nbytes());
    return;
  }
  SN_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using To = scalar_t;
    SN_DISPATCH_ALL(src.dtype(), "copy", [&] {
      cpu::map1<To, scalar_t>(dst, s, [](scalar_t v) { return static_cast<To>(v); });
    });
  });
}
void fill_raw(const Tensor& dst, double value) {
  SN_DISPATCH_ALL(dst.dtype(), "fill", [&] {
    const scalar_t v = static_cast<scalar_t>(value);
    if (dst.is_contiguous()) {
      scalar_t* p = static_cast<scalar_t*>(dst.raw_data());
      cpu::parallel_for(dst.numel(), cpu::kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) p[i] = v;
      });
    } else {
      cpu::map1<scalar_t, scalar_t>(dst, dst, [v](scalar_t) { return v; });
    }
  });
}
Tensor contiguous_raw(const Tensor& src) {
  if (src.is_contiguous()) return src;
  Tensor out = make_tensor(src.shape(), src.dtype());
  copy_raw(out, src);
  return out;
}
Tensor cast_raw(const Tensor& src, DType dtype, bool force_copy) {
  if (src.dtype() == dtype && !force_copy) return src;
  Tensor out = make_tensor(src.shape(), dtype);
  copy_raw(out, src);
  return out;
}
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

template <typename T>
inline T times(T x, T y) {
  if constexpr (std::is_same_v<T, bool>)
    return x && y;
  else
    return x * y;
}

// Computes op on a and b (already of dtype `dt` and expanded to `shape`) into a new tensor.
Tensor bin_kernel(Bin op, const Tensor& a, const Tensor& b, DType dt, const Shape& shape,
                  double alpha) {
  const bool cmp = op >= Bin::Eq;
  Tensor out = make_tensor(shape, cmp ? kBool : dt);
  Tensor ea = expand_raw(a, shape), eb = expand_raw(b, shape);
  SN_DISPATCH_ALL(dt, bin_name(op), [&] {
    using T = scalar_t;
    const T al = static_cast<T>(alpha);
    switch (op) {
      case Bin::Add:
        if (alpha == 1.0)
          cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return static_cast<T>(x + y); });
        else
          cpu::map2<T, T, T>(out, ea, eb, [al](T x, T y) { return static_cast<T>(x + al * y); });
        break;
      case Bin::Sub:
        cpu::map2<T, T, T>(out, ea, eb, [al](T x, T y) { return static_cast<T>(x - al * y); });
        break;
      case Bin::Mul:
        cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return times(x, y); });
        break;
      case Bin::Div:
        if constexpr (std::is_integral_v<T>)
          SN_THROW(DTypeError, "div: integer division is not supported; convert to float first");
        else
          cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return x / y; });
        break;
      case Bin::Pow:
        cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return static_cast<T>(std::pow(x, y)); });
        break;
      case Bin::Max:
        cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return x != x ? x : (x > y ? x : y); });
        break;
      case Bin::Min:
        cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return x != x ? x : (x < y ? x : y); });
        break;
      case Bin::Eq:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x == y; });
        break;
      case Bin::Ne:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x != y; });
        break;
      case Bin::Lt:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x < y; });
        break;
      case Bin::Le:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x <= y; });
        break;
      case Bin::Gt:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x > y; });
        break;
      case Bin::Ge:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x >= y; });
        break;
      case Bin::And:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x && y; });
        break;
      case Bin::Or:
        cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x || y; });
        break;
    }
  });
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
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), nm);
  DType dt = promote(a.dtype(), b.dtype());
  if (op == Bin::Div && !is_floating(dt)) dt = kFloat32;
  if ((op == Bin::Add || op == Bin::Sub) && dt == kBool) dt = kInt64;
  const Tensor ca = detail::cast_raw(a, dt), cb = detail::cast_raw(b, dt);
  Tensor out = bin_kernel(op, ca, cb, dt, shape, alpha);
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
  const Tensor ca = detail::cast_raw(a, dt);
  Tensor out = make_tensor(a.shape(), dt);
  SN_DISPATCH_NUMERIC(dt, nm, [&] {
    using T = scalar_t;
    const T v = static_cast<T>(s);
    switch (op) {
      case Sc::Add:
        cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(x + v); });
        break;
      case Sc::Mul:
        cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(x * v); });
        break;
      case Sc::RSub:
        cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(v - x); });
        break;
      case Sc::RDiv:
        cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(v / x); });
        break;
      case Sc::Pow:
        if (s == 2.0)
          cpu::map1<T, T>(out, ca, [](T x) { return static_cast<T>(x * x); });
        else
          cpu::map1<T, T>(out, ca, [s](T x) { return static_cast<T>(std::pow(x, s)); });
        break;
      case Sc::RPow:
        cpu::map1<T, T>(out, ca, [s](T x) { return static_cast<T>(std::pow(s, x)); });
        break;
    }
  });
  if (any_requires_grad({&a})) {
    auto node = std::make_shared<ScalarBackward>(op, s);
    if (op == Sc::RDiv || op == Sc::Pow) node->a = SavedTensor(ca);
    connect(node, {&a}, {&out});
    if (op == Sc::RDiv || op == Sc::RPow) node->y = SavedTensor(out);
  }
  return out;
}

Tensor cmp_scalar(Bin op, const Tensor& a, double s) {
  Tensor sv = full(Shape{}, s, {.dtype = scalar_result(a.dtype(), s)});
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

// One Backward node for every unary op: dx = g · f'(x, y), computed by a fused kernel.
using UnaryBwdFn = void (*)(const Tensor& gx, const Tensor& g, const Tensor& x, const Tensor& y,
                            const double* p);
class UnaryBackward : public Node {
 public:
  const char* nm;
  UnaryBwdFn fn;
  double p[2];
  SavedTensor x, y;
  UnaryBackward(const char* n, UnaryBwdFn f, double p0, double p1) : nm(n), fn(f), p{p0, p1} {}
  std::string name() const override { return nm; }
  void release() override {
    x.reset();
    y.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    Tensor g = grads[0];
    Tensor xs = x.defined() ? x.get(nm) : Tensor();
    Tensor ys = y.defined() ? y.get(nm) : Tensor();
    Tensor gx = make_tensor(g.shape(), g.dtype());
    fn(gx, g, xs.defined() ? xs : g, ys.defined() ? ys : g, p);
    return {gx};
  }
};

struct UnarySpec {
  const char* name;
  const char* node_name;
  bool float_only;  // integer inputs are converted to float32 first
  bool save_x, save_y;
};

template <typename FwdT>
Tensor unary(const UnarySpec& spec, const Tensor& a, FwdT fwd, UnaryBwdFn bwd, double p0 = 0,
             double p1 = 0) {
  SN_CHECK(a.defined(), ValueError, spec.name, ": input tensor is undefined");
  DType dt = a.dtype();
  if (spec.float_only && !is_floating(dt)) dt = kFloat32;
  if (!spec.float_only && dt == kBool) dt = kInt64;
  const Tensor ca = detail::cast_raw(a, dt);
  Tensor out = make_tensor(a.shape(), dt);
  fwd(out, ca);
  if (bwd && any_requires_grad({&a})) {
    auto node = std::make_shared<UnaryBackward>(spec.node_name, bwd, p0, p1);
    if (spec.save_x) node->x = SavedTensor(ca);
    connect(node, {&a}, {&out});
    if (spec.save_y) node->y = SavedTensor(out);
  }
  return out;
}

// Defines the forward kernel (body over `x`, params p0/p1) and the backward kernel
// (body over g, x, y) of a float unary op.
#define SN_UNARY_KERNELS(id, FWD, BWD)                                                             \
  [[maybe_unused]] void id##_fwd(const Tensor& out, const Tensor& in, double q0, double q1) {      \
    SN_DISPATCH_FLOAT(in.dtype(), #id, [&] {                                                       \
      using T = scalar_t;                                                                          \
      [[maybe_unused]] const T p0 = static_cast<T>(q0), p1 = static_cast<T>(q1);                   \
      cpu::map1<T, T>(out, in, [=](T x) { return static_cast<T>(FWD); });                          \
    });                                                                                            \
  }                                                                                                \
  [[maybe_unused]] void id##_bwd(const Tensor& gx, const Tensor& gt, const Tensor& xt,             \
                                 const Tensor& yt, const double* q) {                              \
    SN_DISPATCH_FLOAT(gt.dtype(), #id, [&] {                                                       \
      using T = scalar_t;                                                                          \
      [[maybe_unused]] const T p0 = static_cast<T>(q[0]), p1 = static_cast<T>(q[1]);               \
      cpu::map3<T, T, T, T>(gx, gt, xt, yt, [=](T g, [[maybe_unused]] T x, [[maybe_unused]] T y) { \
        return static_cast<T>(BWD);                                                                \
      });                                                                                          \
    });                                                                                            \
  }

constexpr double kSqrt2OverPi = 0.79788456080286535588;

// float32 exp/tanh/erf/sigmoid come from backend/cpu/vec_math.h, which vectorises (libm does not)
using cpu::verf;
using cpu::vexp;
using cpu::vtanh;
template <typename T>
inline T sigm(T x) {
  return cpu::vsigmoid(x);
}

// y = e^x: dx = g·y
SN_UNARY_KERNELS(exp, vexp(x), g* y)
// y = ln x: dx = g / x
SN_UNARY_KERNELS(log, std::log(x), g / x)
// y = √x: dx = g / (2y)
SN_UNARY_KERNELS(sqrt, std::sqrt(x), g / (T(2) * y))
// y = x^(-1/2): dx = -g·y³/2
SN_UNARY_KERNELS(rsqrt, T(1) / std::sqrt(x), T(-0.5) * g * y * y * y)
// y = sin x: dx = g·cos x
SN_UNARY_KERNELS(sin, std::sin(x), g* std::cos(x))
// y = cos x: dx = -g·sin x
SN_UNARY_KERNELS(cos, std::cos(x), -g* std::sin(x))
// y = σ(x): dx = g·y·(1 - y)
SN_UNARY_KERNELS(sigmoid, sigm(x), g* y*(T(1) - y))
// y = tanh x: dx = g·(1 - y²)
SN_UNARY_KERNELS(tanh, vtanh(x), g*(T(1) - y * y))
// y = max(x, 0): dx = g·[y > 0]. NaN propagates both ways, as PyTorch: relu(NaN) = NaN and its
// gradient passes (PyTorch's threshold_backward masks only where y <= 0)
SN_UNARY_KERNELS(relu, x <= T(0) ? T(0) : x, y <= T(0) ? T(0) : g)
// y = x if x > 0 else slope·x: dx = g·(x > 0 ? 1 : slope)
SN_UNARY_KERNELS(leaky_relu, x > T(0) ? x : p0 * x, x > T(0) ? g : p0 * g)
// y = x if x > 0 else α(e^x - 1): dx = g if x > 0 else g·(y + α) (at NaN: g, as PyTorch)
SN_UNARY_KERNELS(elu, x > T(0) ? x : p0 * (vexp(x) - T(1)), x <= T(0) ? g * (y + p0) : g)
// y = x·Φ(x): dx = g·(Φ(x) + x·φ(x))
SN_UNARY_KERNELS(gelu, cpu::vgelu(x), g* cpu::vgelu_grad(x))
// y = x/2·(1 + tanh u), u = k(x + 0.044715x³): dx = g·(½(1 + t) + ½x(1 - t²)·k(1 + 3·0.044715x²))
SN_UNARY_KERNELS(gelu_tanh,
                 T(0.5) * x * (T(1) + vtanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x))),
                 g*([](T v) {
                   const T t = vtanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v));
                   return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * T(kSqrt2OverPi) *
                                                    (T(1) + T(3 * 0.044715) * v * v);
                 })(x))
// y = x·σ(x): dx = g·σ(x)·(1 + x(1 - σ(x)))
SN_UNARY_KERNELS(silu, x* sigm(x), g* sigm(x) * (T(1) + x * (T(1) - sigm(x))))
// y = ln(1 + e^(βx))/β (x when βx > threshold): dx = g·σ(βx) (g when βx > threshold)
SN_UNARY_KERNELS(softplus, x* p0 > p1 ? x : std::log1p(std::exp(x * p0)) / p0,
                 x* p0 > p1 ? g : g * sigm(x * p0))
// Heaviside step: y = [x > 0]; its derivative is zero almost everywhere
SN_UNARY_KERNELS(step, x > T(0) ? T(1) : T(0), T(0) * g)
// y = clamp(x, lo, hi): dx = g where lo <= x <= hi (NaN stays NaN, its gradient is 0: PyTorch)
SN_UNARY_KERNELS(clamp, x < p0 ? p0 : (x > p1 ? p1 : x), (x >= p0 && x <= p1) ? g : T(0))

// Numeric (int-capable) unary kernels: neg, abs, square, sign.
template <typename F>
void numeric_map(const Tensor& out, const Tensor& in, const char* nm, F f) {
  SN_DISPATCH_NUMERIC(in.dtype(), nm, [&] {
    using T = scalar_t;
    cpu::map1<T, T>(out, in, [&](T x) { return static_cast<T>(f(x)); });
  });
}
// y = -x: dx = -g
SN_UNARY_KERNELS(neg, -x, -g)
// y = |x|: dx = g·sign(x)
SN_UNARY_KERNELS(abs, std::abs(x), x > T(0) ? g : (x < T(0) ? -g : T(0)))
// y = x²: dx = 2x·g
SN_UNARY_KERNELS(square, x* x, T(2) * x * g)

#define SN_FWD(id) [](const Tensor& o, const Tensor& i) { id##_fwd(o, i, 0, 0); }

}  // namespace

Tensor exp(const Tensor& a) {
  return unary({"exp", "ExpBackward", true, false, true}, a, SN_FWD(exp), exp_bwd);
}
Tensor log(const Tensor& a) {
  return unary({"log", "LogBackward", true, true, false}, a, SN_FWD(log), log_bwd);
}
Tensor sqrt(const Tensor& a) {
  return unary({"sqrt", "SqrtBackward", true, false, true}, a, SN_FWD(sqrt), sqrt_bwd);
}
Tensor rsqrt(const Tensor& a) {
  return unary({"rsqrt", "RsqrtBackward", true, false, true}, a, SN_FWD(rsqrt), rsqrt_bwd);
}
Tensor sin(const Tensor& a) {
  return unary({"sin", "SinBackward", true, true, false}, a, SN_FWD(sin), sin_bwd);
}
Tensor cos(const Tensor& a) {
  return unary({"cos", "CosBackward", true, true, false}, a, SN_FWD(cos), cos_bwd);
}
Tensor sigmoid(const Tensor& a) {
  return unary({"sigmoid", "SigmoidBackward", true, false, true}, a, SN_FWD(sigmoid), sigmoid_bwd);
}
Tensor tanh(const Tensor& a) {
  return unary({"tanh", "TanhBackward", true, false, true}, a, SN_FWD(tanh), tanh_bwd);
}
Tensor silu(const Tensor& a) {
  return unary({"silu", "SiluBackward", true, true, false}, a, SN_FWD(silu), silu_bwd);
}
Tensor step(const Tensor& a) {
  return unary({"step", "StepBackward", true, false, false}, a, SN_FWD(step), step_bwd);
}
Tensor relu(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "relu",
                [](auto x) { return x > 0 ? x : decltype(x)(0); });
    return out;
  }
  return unary({"relu", "ReluBackward", true, false, true}, a, SN_FWD(relu), relu_bwd);
}
Tensor gelu(const Tensor& a, bool tanh_approximation) {
  if (tanh_approximation)
    return unary({"gelu", "GeluBackward", true, true, false}, a, SN_FWD(gelu_tanh), gelu_tanh_bwd);
  return unary({"gelu", "GeluBackward", true, true, false}, a, SN_FWD(gelu), gelu_bwd);
}
Tensor leaky_relu(const Tensor& a, double slope) {
  return unary(
      {"leaky_relu", "LeakyReluBackward", true, true, false}, a,
      [&](const Tensor& o, const Tensor& i) { leaky_relu_fwd(o, i, slope, 0); }, leaky_relu_bwd,
      slope);
}
Tensor elu(const Tensor& a, double alpha) {
  return unary(
      {"elu", "EluBackward", true, true, true}, a,
      [&](const Tensor& o, const Tensor& i) { elu_fwd(o, i, alpha, 0); }, elu_bwd, alpha);
}
Tensor softplus(const Tensor& a, double beta, double threshold) {
  SN_CHECK(beta > 0, ValueError, "softplus: beta must be positive (got ", beta, ")");
  return unary(
      {"softplus", "SoftplusBackward", true, true, false}, a,
      [&](const Tensor& o, const Tensor& i) { softplus_fwd(o, i, beta, threshold); }, softplus_bwd,
      beta, threshold);
}
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
  return unary(
      {"clamp", "ClampBackward", true, true, false}, a,
      [&](const Tensor& o, const Tensor& i) { clamp_fwd(o, i, l, h); }, clamp_bwd, l, h);
}
Tensor neg(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "neg", [](auto x) { return -x; });
    return out;
  }
  return unary({"neg", "NegBackward", true, false, false}, a, SN_FWD(neg), neg_bwd);
}
Tensor abs(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "abs",
                [](auto x) { return x < 0 ? -x : x; });
    return out;
  }
  return unary({"abs", "AbsBackward", true, true, false}, a, SN_FWD(abs), abs_bwd);
}
Tensor square(const Tensor& a) {
  if (!is_floating(a.dtype())) {
    Tensor out = make_tensor(a.shape(), a.dtype() == kBool ? kInt64 : a.dtype());
    numeric_map(out, detail::cast_raw(a, out.dtype()), "square", [](auto x) { return x * x; });
    return out;
  }
  return unary({"square", "PowBackward", true, true, false}, a, SN_FWD(square), square_bwd);
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
    Tensor z = zeros(Shape{}, {.dtype = g.dtype()});
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
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const DType dt = promote(a.dtype(), b.dtype());
  Tensor ca = detail::cast_raw(a, dt), cb = detail::cast_raw(b, dt);
  Tensor out = make_tensor(shape, dt);
  Tensor ec = expand_raw(cond, shape), ea = expand_raw(ca, shape), eb = expand_raw(cb, shape);
  SN_DISPATCH_ALL(dt, "where", [&] {
    using T = scalar_t;
    cpu::map3<T, bool, T, T>(out, ec, ea, eb, [](bool c, T x, T y) { return c ? x : y; });
  });
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
  return where(cond, a, full(Shape{}, b, {.dtype = scalar_result(a.dtype(), b)}));
}
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  SN_CHECK(mask.dtype() == kBool, DTypeError, "masked_fill: mask must be bool (got ", mask.dtype(),
           ")");
  SN_CHECK(broadcast_shapes(a.shape(), mask.shape(), "masked_fill") == a.shape(), ShapeError,
           "masked_fill: mask of shape ", mask.shape(), " does not broadcast to the input shape ",
           a.shape());
  return where(mask, full(Shape{}, value, {.dtype = a.dtype()}), a);
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
  Tensor o = detail::expand_raw(detail::cast_raw(other, self.dtype()), self.shape());
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
  Tensor r = rand(shape(), {.dtype = is_floating_point() ? dtype() : kFloat64});
  detail::copy_raw(*this, add(mul(r, hi - lo), lo));
  bump_version();
  return *this;
}
Tensor& Tensor::normal_(double mean, double std) {
  detail::check_inplace(*this, "normal_");
  Tensor r = randn(shape(), {.dtype = is_floating_point() ? dtype() : kFloat64});
  detail::copy_raw(*this, add(mul(r, std), mean));
  bump_version();
  return *this;
}

}  // namespace sn
