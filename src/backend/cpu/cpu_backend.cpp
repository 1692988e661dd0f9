// The CPU backend: the Backend interface over the CPU kernels (map.h's strided maps, vec_math.h,
// gemm.cpp). Memory is the caching allocator's (core/allocator.h). The forward and backward
// formulas of the unary maps sit here as kernels; each op's file repeats its formula above its
// Backward node, where a reader looks for it.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "backend/backend.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/map.h"
#include "backend/cpu/reduce.h"
#include "backend/cpu/vec_math.h"
#include "core/allocator.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/core/cpu.h"

namespace sn::backend {

namespace {

using BOp = BinaryOp;

template <typename T>
inline T times(T x, T y) {
  if constexpr (std::is_same_v<T, bool>)
    return x && y;
  else
    return x * y;
}

// ---- unary kernels: forward body over `x` (params p0, p1), backward body over g, x, y
#define SN_UNARY_KERNELS(id, FWD, BWD)                                                             \
  void id##_fwd(const Tensor& out, const Tensor& in, double q0, double q1) {                       \
    SN_DISPATCH_FLOAT(in.dtype(), #id, [&] {                                                       \
      using T = scalar_t;                                                                          \
      [[maybe_unused]] const T p0 = static_cast<T>(q0), p1 = static_cast<T>(q1);                   \
      cpu::map1<T, T>(out, in, [=](T x) { return static_cast<T>(FWD); });                          \
    });                                                                                            \
  }                                                                                                \
  void id##_bwd(const Tensor& gx, const Tensor& gt, const Tensor& xt, const Tensor& yt, double q0, \
                double q1) {                                                                       \
    SN_DISPATCH_FLOAT(gt.dtype(), #id, [&] {                                                       \
      using T = scalar_t;                                                                          \
      [[maybe_unused]] const T p0 = static_cast<T>(q0), p1 = static_cast<T>(q1);                   \
      cpu::map3<T, T, T, T>(gx, gt, xt, yt, [=](T g, [[maybe_unused]] T x, [[maybe_unused]] T y) { \
        return static_cast<T>(BWD);                                                                \
      });                                                                                          \
    });                                                                                            \
  }

constexpr double kSqrt2OverPi = 0.79788456080286535588;

// float32 exp/tanh/erf/sigmoid come from vec_math.h, which vectorises (libm does not)
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
// y = -x: dx = -g
SN_UNARY_KERNELS(neg, -x, -g)
// y = |x|: dx = g·sign(x)
SN_UNARY_KERNELS(abs, std::abs(x), x > T(0) ? g : (x < T(0) ? -g : T(0)))
// y = x²: dx = 2x·g
SN_UNARY_KERNELS(square, x* x, T(2) * x * g)

using FwdFn = void (*)(const Tensor&, const Tensor&, double, double);
using BwdFn = void (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, double, double);
struct UnaryKernels {
  FwdFn fwd;
  BwdFn bwd;
};
// In UnaryOp order.
constexpr UnaryKernels kUnary[] = {
    {exp_fwd, exp_bwd},
    {log_fwd, log_bwd},
    {sqrt_fwd, sqrt_bwd},
    {rsqrt_fwd, rsqrt_bwd},
    {sin_fwd, sin_bwd},
    {cos_fwd, cos_bwd},
    {sigmoid_fwd, sigmoid_bwd},
    {tanh_fwd, tanh_bwd},
    {relu_fwd, relu_bwd},
    {leaky_relu_fwd, leaky_relu_bwd},
    {elu_fwd, elu_bwd},
    {gelu_fwd, gelu_bwd},
    {gelu_tanh_fwd, gelu_tanh_bwd},
    {silu_fwd, silu_bwd},
    {softplus_fwd, softplus_bwd},
    {step_fwd, step_bwd},
    {clamp_fwd, clamp_bwd},
    {neg_fwd, neg_bwd},
    {abs_fwd, abs_bwd},
    {square_fwd, square_bwd},
};
static_assert(std::size(kUnary) == static_cast<size_t>(UnaryOp::kCount));

class CpuBackend final : public Backend {
 public:
  DeviceType type() const override { return DeviceType::CPU; }
  const char* name() const override { return "cpu"; }
  int device_count() const override { return 1; }
  std::vector<std::pair<std::string, std::string>> properties(Device) const override {
    std::string model = "unknown";
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("model name", 0) == 0) {
        const size_t c = line.find(':');
        const size_t b = c == std::string::npos ? c : line.find_first_not_of(" \t", c + 1);
        if (b != std::string::npos) model = line.substr(b);
        break;
      }
    return {{"name", model},
            {"cores", std::to_string(omp_get_num_procs())},
            {"threads", std::to_string(get_num_threads())},
            {"kernels", cpu_kernels()},
            {"gemm", "OpenBLAS (float32/float64)"}};
  }
  void* alloc(size_t nbytes, Device) override { return detail::alloc_buffer(nbytes); }
  void free(void* p, size_t nbytes, Device) override { detail::free_buffer(p, nbytes); }
  void copy_to_host(void* dst, const void* src, size_t nbytes, Device) override {
    if (nbytes) std::memcpy(dst, src, nbytes);
  }
  void copy_from_host(void* dst, const void* src, size_t nbytes, Device) override {
    if (nbytes) std::memcpy(dst, src, nbytes);
  }

  void copy(const Tensor& dst, const Tensor& src) override {
    Tensor s = detail::expand_raw(src, dst.shape());
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

  void fill(const Tensor& dst, double value) override {
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

  void binary(BOp op, const Tensor& out, const Tensor& ea, const Tensor& eb,
              double alpha) override {
    SN_DISPATCH_ALL(ea.dtype(), binary_name(op), [&] {
      using T = scalar_t;
      const T al = static_cast<T>(alpha);
      switch (op) {
        case BOp::Add:
          if (alpha == 1.0)
            cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return static_cast<T>(x + y); });
          else
            cpu::map2<T, T, T>(out, ea, eb, [al](T x, T y) { return static_cast<T>(x + al * y); });
          break;
        case BOp::Sub:
          cpu::map2<T, T, T>(out, ea, eb, [al](T x, T y) { return static_cast<T>(x - al * y); });
          break;
        case BOp::Mul:
          cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return times(x, y); });
          break;
        case BOp::Div:
          if constexpr (std::is_integral_v<T>)
            SN_THROW(DTypeError, "div: integer division is not supported; convert to float first");
          else
            cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return x / y; });
          break;
        case BOp::Pow:
          cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return static_cast<T>(std::pow(x, y)); });
          break;
        case BOp::Max:
          cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return x != x ? x : (x > y ? x : y); });
          break;
        case BOp::Min:
          cpu::map2<T, T, T>(out, ea, eb, [](T x, T y) { return x != x ? x : (x < y ? x : y); });
          break;
        case BOp::Eq:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x == y; });
          break;
        case BOp::Ne:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x != y; });
          break;
        case BOp::Lt:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x < y; });
          break;
        case BOp::Le:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x <= y; });
          break;
        case BOp::Gt:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x > y; });
          break;
        case BOp::Ge:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x >= y; });
          break;
        case BOp::And:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x && y; });
          break;
        case BOp::Or:
          cpu::map2<bool, T, T>(out, ea, eb, [](T x, T y) { return x || y; });
          break;
      }
    });
  }

  void scalar(ScalarOp op, const Tensor& out, const Tensor& ca, double s) override {
    static const char* names[] = {"add", "mul", "rsub", "rdiv", "pow", "pow"};
    SN_DISPATCH_NUMERIC(ca.dtype(), names[static_cast<int>(op)], [&] {
      using T = scalar_t;
      const T v = static_cast<T>(s);
      switch (op) {
        case ScalarOp::Add:
          cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(x + v); });
          break;
        case ScalarOp::Mul:
          cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(x * v); });
          break;
        case ScalarOp::RSub:
          cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(v - x); });
          break;
        case ScalarOp::RDiv:
          cpu::map1<T, T>(out, ca, [v](T x) { return static_cast<T>(v / x); });
          break;
        case ScalarOp::Pow:
          if (s == 2.0)
            cpu::map1<T, T>(out, ca, [](T x) { return static_cast<T>(x * x); });
          else
            cpu::map1<T, T>(out, ca, [s](T x) { return static_cast<T>(std::pow(x, s)); });
          break;
        case ScalarOp::RPow:
          cpu::map1<T, T>(out, ca, [s](T x) { return static_cast<T>(std::pow(s, x)); });
          break;
      }
    });
  }

  void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) override {
    SN_DISPATCH_ALL(out.dtype(), "where", [&] {
      using T = scalar_t;
      cpu::map3<T, bool, T, T>(out, cond, a, b, [](bool c, T x, T y) { return c ? x : y; });
    });
  }
  void unary(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1) override {
    kUnary[static_cast<int>(op)].fwd(out, in, p0, p1);
  }
  void unary_backward(UnaryOp op, const Tensor& gx, const Tensor& g, const Tensor& x,
                      const Tensor& y, double p0, double p1) override {
    kUnary[static_cast<int>(op)].bwd(gx, g, x, y, p0, p1);
  }

  void sum(const Tensor& out, const Tensor& a, const std::vector<bool>& reduce) override {
    cpu::sum(out, a, reduce);
  }
  void softmax(const Tensor& out, const Tensor& a, int dim, bool log) override {
    cpu::softmax(out, a, dim, log);
  }

  void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta) override {
    cpu::gemm(A, B, C, alpha, beta);
  }
  bool gemm_bias(const Tensor& A, const Tensor& B, const Tensor& C, const Tensor& bias) override {
    return cpu::gemm_bias(A, B, C, bias);
  }
};

}  // namespace

Backend& cpu() {
  static CpuBackend b;
  return b;
}

}  // namespace sn::backend
