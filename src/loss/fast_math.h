// Vectorisable float32 exp (for arguments <= 0), sigmoid, log and log1p for the loss kernels:
// libm calls keep loops scalar. Branch-free (every path computed, then selected by masks), so
// GCC turns the loops into SIMD. float64 goes to <cmath> unchanged (gradcheck and the golden
// tests run in float64). Accuracy is checked against float64 in tests/loss/pointwise_test.cpp.
#pragma once
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "backend/cpu/vec_math.h"

namespace sn::loss::detail {

// c ? a : b on the bits. GCC keeps a plain ?: as a branch when one side holds a division (it
// may trap), and a branch stops the loop from vectorising; masks do not.
inline float pick(bool c, float a, float b) {
  const int32_t m = -static_cast<int32_t>(c);
  return std::bit_cast<float>((std::bit_cast<int32_t>(a) & m) | (std::bit_cast<int32_t>(b) & ~m));
}

// e^x for x <= 0 (softmax arguments x - max, and e^-|x|): the Cephes expf polynomial
// (vm::exp_reduced of backend/cpu/vec_math.h) with a single 2^n scale and no overflow path, about
// half the work of the general exp. Below -87.3 (e^x < FLT_MIN) gives 0; NaN stays NaN.
inline float exp_nonpos(float x) {
  const bool nan = x != x;
  const float xc = pick(nan | (x < -87.3f), -87.3f, x);  // keeps the int conversion defined
  float n;
  const float y = cpu::vm::exp_reduced(xc, n);
  const float v = y * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return pick(nan, x, pick(x < -87.3f, 0.0f, v));
}

// σ(x) from z = e^-|x| <= 1: 1/(1+z) for x >= 0, z/(1+z) below (no cancellation for x << 0).
inline float sigmoid_f(float x) {
  const float z = exp_nonpos(-std::fabs(x));
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
inline float vlog(float x) {
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
inline float vlog1p(float u) {
  const bool mid = (u >= -0.5f) & (u <= 1.0f);
  const float small = atanh2(u / (2.0f + (mid ? u : 0.0f)));
  const float large = vlog(1.0f + u);
  return pick(mid, small, large);
}

template <typename T>
inline T fexp_nonpos(T x) {
  if constexpr (std::is_same_v<T, float>)
    return exp_nonpos(x);
  else
    return std::exp(x);
}
template <typename T>
inline T fsigmoid(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return sigmoid_f(x);
  } else {
    const T z = std::exp(-std::abs(x));
    return x >= 0 ? 1 / (1 + z) : z / (1 + z);
  }
}
template <typename T>
inline T flog(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vlog(x);
  else
    return std::log(x);
}
template <typename T>
inline T flog1p(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vlog1p(x);
  else
    return std::log1p(x);
}

}  // namespace sn::loss::detail
