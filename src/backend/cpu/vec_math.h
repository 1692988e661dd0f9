// The CPU's one vector-math library: vectorisable float32 exp, tanh, sigmoid, erf and GELU for
// the elementwise kernels, and exp of x <= 0, a stable sigmoid, log and log1p for the loss
// kernels: branch-free polynomial code that GCC turns into SIMD inside the map loops, where the
// libm calls stay scalar. float64 (and the integer types) go to <cmath> unchanged: gradcheck runs
// in float64. Without AVX-512 masking GCC vectorises these loops only under -fno-trapping-math (set
// in CMakeLists.txt): the clamps make branches that it may not if-convert otherwise. Accuracy
// (checked in tests/backend/vec_math_test.cpp): exp, sigmoid within 2 ulp; tanh within 3 ulp; erf
// within 4e-7 absolute and 2e-6 relative; GELU within 2e-7·(1 + |x|), its derivative within 3e-7·(1
// + |x|).
#pragma once
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace sn::cpu {

namespace vm {

inline float from_bits(int32_t u) { return std::bit_cast<float>(u); }

// 2^n for an integer n in [-126, 127], built from the exponent bits.
inline float pow2i(int32_t n) { return from_bits((n + 127) << 23); }

// The core of every float32 exp here: x = n·ln2 + r with n = round(x·log2 e) (by the 1.5·2^23
// trick: std::floor does not vectorise) and |r| <= ln2/2 (ln2 split in two for precision), then
// e^r by a degree-6 polynomial (Cephes expf coefficients). Returns e^r and sets n; the caller
// applies 2^n. x must be finite and clamped to the caller's range (|n| <= 150).
inline float exp_reduced(float x, float& n) {
  n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.0f;
}

// e^x. Range reduction x = n·ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r
// (Cephes expf coefficients) and the scale 2^n applied in two halves, so results down to the
// subnormal range come out right. NaN in, NaN out; large x gives inf, very negative x gives 0.
inline float exp(float x) {
  constexpr float kHi = 88.72283935546875f, kLo = -103.97208f;
  float xc = x > kHi ? kHi : x;
  xc = xc < kLo ? kLo : xc;
  xc = xc == xc ? xc : 0.0f;  // keep NaN out of the integer conversion below
  float n;
  const float y = exp_reduced(xc, n);
  const int32_t ni = static_cast<int32_t>(n), n1 = ni >> 1;  // 2^n = 2^n1 · 2^(n - n1)
  const float res = y * pow2i(n1) * pow2i(ni - n1);
  const float big = x > kHi ? INFINITY : res;
  const float out = x < kLo ? 0.0f : big;
  return x == x ? out : x;
}

// tanh x: an odd polynomial for |x| < 0.625 (Cephes tanhf), 1 - 2/(e^{2|x|} + 1) beyond.
inline float tanh(float x) {
  const float a = std::fabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = std::copysign(p * z * x + x, x);  // keeps tanh(-0) = -0
  const float t = 1.0f - 2.0f / (vm::exp(2.0f * a) + 1.0f);
  const float large = std::copysign(t, x);
  const float out = a < 0.625f ? small : large;
  return x == x ? out : x;
}

// σ(x) = 1 / (1 + e^-x); exp(-x) = inf for very negative x gives exactly 0.
inline float sigmoid(float x) { return 1.0f / (1.0f + vm::exp(-x)); }

// e^v for v <= 0, without exp()'s overflow and NaN handling and with v < -87 taken as -87
// (a result below 1.7e-38 instead of a subnormal or 0): the Gaussian factor inside erf/GELU,
// where such a value is multiplied away.
inline float exp_nonpos(float v) {
  float vc = v < -87.0f ? -87.0f : v;
  vc = vc == vc ? vc : 0.0f;
  float n;
  return exp_reduced(vc, n) * pow2i(static_cast<int32_t>(n));
}

// erf(u) to 1.5e-7 absolute by Abramowitz-Stegun 7.1.26 alone (no small-|u| series: GELU needs
// absolute, not relative, accuracy), and the factor e^{-u²} it is built on.
inline float erf_abs(float u, float& gauss) {
  const float a = std::fabs(u);
  gauss = exp_nonpos(-u * u);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  return std::copysign(1.0f - q * t * gauss, u);
}

// erf x: the Taylor series to x^19 for |x| < 0.8, and beyond the Abramowitz-Stegun 7.1.26
// form 1 - t·P(t)·e^{-x²}, t = 1/(1 + p|x|) (absolute error 1.5e-7).
inline float erf(float x) {
  const float a = std::fabs(x);
  const float z = x * x;
  // 2/√π · Σ (-1)^n x^(2n+1) / (n!·(2n+1)), n = 0 ... 9
  float s = -1.0f / 6894720.0f;
  s = s * z + 1.0f / 685440.0f;
  s = s * z - 1.0f / 75600.0f;
  s = s * z + 1.0f / 9360.0f;
  s = s * z - 1.0f / 1320.0f;
  s = s * z + 1.0f / 216.0f;
  s = s * z - 1.0f / 42.0f;
  s = s * z + 1.0f / 10.0f;
  s = s * z - 1.0f / 3.0f;
  s = s * z + 1.0f;
  const float small = 1.12837916709551257f * x * s;
  float gauss;
  const float large = erf_abs(x, gauss);
  const float out = a < 0.8f ? small : large;
  return x == x ? out : x;
}

// GELU (exact form) x·Φ(x), Φ(x) = (1 + erf(x/√2))/2; error within 2e-7·(1 + |x|).
inline float gelu(float x) {
  float gauss;
  const float e = erf_abs(x * 0.70710678118654752f, gauss);
  const float y = 0.5f * x * (1.0f + e);
  return x == x ? y : x;
}
// dGELU/dx = Φ(x) + x·φ(x), φ(x) = e^{-x²/2}/√(2π): one exponential serves both terms.
inline float gelu_grad(float x) {
  float gauss;
  const float e = erf_abs(x * 0.70710678118654752f, gauss);
  const float d = 0.5f * (1.0f + e) + x * 0.39894228040143267794f * gauss;
  return x == x ? d : x;
}

// c ? a : b on the bits. GCC keeps a plain ?: as a branch when one side holds a division (it
// may trap), and a branch stops the loop from vectorising; masks do not.
inline float pick(bool c, float a, float b) {
  const int32_t m = -static_cast<int32_t>(c);
  return std::bit_cast<float>((std::bit_cast<int32_t>(a) & m) | (std::bit_cast<int32_t>(b) & ~m));
}

// e^x for x <= 0 (softmax arguments x - max, and e^-|x|, in the loss kernels): exp_reduced
// with a single 2^n scale and no overflow path, about half the work of the general exp. Unlike
// exp_nonpos above, below -87.3 (e^x < FLT_MIN) gives 0 and NaN stays NaN.
inline float exp_neg(float x) {
  const bool nan = x != x;
  const float xc = pick(nan | (x < -87.3f), -87.3f, x);  // keeps the int conversion defined
  float n;
  const float y = exp_reduced(xc, n);
  const float v = y * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return pick(nan, x, pick(x < -87.3f, 0.0f, v));
}

// σ(x) from z = e^-|x| <= 1 (the losses' sigmoid: accurate for x << 0, where sigmoid() above
// is 1/(1 + e^-x)): 1/(1+z) for x >= 0, z/(1+z) below (no cancellation for x << 0).
inline float sigmoid_stable(float x) {
  const float z = exp_neg(-std::fabs(x));
  const float s = 1.0f / (1.0f + z);
  return pick(x >= 0, s, z * s);
}

// 2·atanh(r) = log((1+r)/(1-r)) for |r| <= 1/3, to r^15 (error < 1e-8 relative).
inline float atanh2(float r) {
  const float z = r * r;
  float p = 1.0f / 15;
  p = p * z + 1.0f / 13;
  p = p * z + 1.0f / 11;
  p = p * z + 1.0f / 9;
  p = p * z + 1.0f / 7;
  p = p * z + 1.0f / 5;
  p = p * z + 1.0f / 3;
  p = p * z + 1.0f;
  return 2.0f * r * p;
}

// log x: x = 2^e·m with m in [√½, √2), log m = 2·atanh((m-1)/(m+1)). Subnormals are scaled
// into the normal range first; 0 gives -inf, negatives and NaN give NaN, inf gives inf.
inline float log(float x) {
  const bool tiny = x < FLT_MIN;
  const float xs = tiny ? x * 8388608.0f : x;  // · 2^23
  const int32_t bits = std::bit_cast<int32_t>(xs);
  int32_t e = ((bits >> 23) & 0xff) - 127 - (tiny ? 23 : 0);
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = big ? e + 1 : e;
  const float r = (m - 1.0f) / (m + 1.0f);  // m - 1 is exact here (Sterbenz)
  const float fe = static_cast<float>(e);
  float res = fe * 0.693145752f + (atanh2(r) + fe * 1.42860677e-6f);  // ln 2 split hi + lo
  res = pick(x == 0, -INFINITY, res);
  res = pick(x == INFINITY, INFINITY, res);
  return pick((x < 0) | (x != x), NAN, res);
}

// log(1 + u) for u >= -1, accurate for tiny u: 2·atanh(u/(2+u)) while that ratio stays within
// ±1/3 (u in [-0.5, 1]), log(1 + u) beyond (where 1 + u loses nothing that matters).
inline float log1p(float u) {
  const bool mid = (u >= -0.5f) & (u <= 1.0f);
  const float small = atanh2(u / (2.0f + (mid ? u : 0.0f)));
  const float large = vm::log(1.0f + u);
  return pick(mid, small, large);
}

}  // namespace vm

// Typed front ends: float32 takes the vectorisable code, other types <cmath>.
template <typename T>
inline T vexp(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::exp(x);
  else
    return std::exp(x);
}
template <typename T>
inline T vtanh(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::tanh(x);
  else
    return std::tanh(x);
}
template <typename T>
inline T verf(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::erf(x);
  else
    return std::erf(x);
}
// GELU and its derivative; float64 keeps the libm formulas (exact to rounding).
template <typename T>
inline T vgelu(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::gelu(x);
  else
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
}
template <typename T>
inline T vgelu_grad(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return vm::gelu_grad(x);
  } else {
    return T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440))) +
           x * T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
  }
}
template <typename T>
inline T vsigmoid(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return vm::sigmoid(x);
  } else {
    return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
  }
}

// The losses' front ends (float32 vectorised, float64 <cmath>).
template <typename T>
inline T vexp_neg(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::exp_neg(x);
  else
    return std::exp(x);
}
template <typename T>
inline T vsigmoid_stable(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return vm::sigmoid_stable(x);
  } else {
    const T z = std::exp(-std::abs(x));
    return x >= 0 ? 1 / (1 + z) : z / (1 + z);
  }
}
template <typename T>
inline T vlog(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::log(x);
  else
    return std::log(x);
}
template <typename T>
inline T vlog1p(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::log1p(x);
  else
    return std::log1p(x);
}

}  // namespace sn::cpu
