// Typed elementwise maps over the strided loop: out = f(in...), all operands already expanded
// to out's shape. Fast paths for the contiguous and scalar-broadcast inner loops so the
// compiler vectorises them; outputs too big for the cache are written with streaming stores.
// The maps do not promote dtypes or broadcast: callers pass operands of the final shape.
#pragma once
#include <cstdint>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "backend/cpu/loops.h"
#include "sinapsis/core/tensor.h"

namespace sn::cpu {

// Contiguous outputs of at least this many bytes are written with non-temporal stores: they
// cannot stay in the cache anyway (with their inputs they exceed the 32 MiB L3), and skipping
// the read-for-ownership of every output line cuts the memory traffic of a binary op by a
// quarter. Smaller outputs use ordinary stores so the next op finds them in cache.
inline constexpr int64_t kStreamBytes = int64_t{16} << 20;

// Writes po[i] = g(i) for i in [b, e). With `stream`, values are computed into a small buffer
// in L1 by the same vectorised loop, then copied out with non-temporal stores.
template <typename To, typename G>
inline void store_range(To* po, int64_t b, int64_t e, bool stream, const G& g_in) {
  // A local copy of the functor, whose captured values (a kernel's parameters, e.g. leaky_relu's
  // slope) the compiler then knows no store to po can change: read through a reference they
  // must be reloaded after every store, and the loop stays scalar (leaky_relu ran 8x slower).
  G g = g_in;
#if defined(__AVX__) || defined(__SSE2__)
  if (stream) {
#if defined(__AVX__)
    using Vec = __m256i;
#else
    using Vec = __m128i;
#endif
    constexpr int64_t kVec = static_cast<int64_t>(sizeof(Vec) / sizeof(To));
    constexpr int64_t kChunk = 1024 / static_cast<int64_t>(sizeof(To));
    int64_t i = b;
    for (; i < e && reinterpret_cast<uintptr_t>(po + i) % sizeof(Vec) != 0; ++i) po[i] = g(i);
    alignas(64) To tmp[kChunk];
    for (; i + kChunk <= e; i += kChunk) {
      for (int64_t j = 0; j < kChunk; ++j) tmp[j] = g(i + j);
      for (int64_t j = 0; j < kChunk; j += kVec) {
#if defined(__AVX__)
        _mm256_stream_si256(reinterpret_cast<Vec*>(po + i + j),
                            _mm256_load_si256(reinterpret_cast<const Vec*>(tmp + j)));
#else
        _mm_stream_si128(reinterpret_cast<Vec*>(po + i + j),
                         _mm_load_si128(reinterpret_cast<const Vec*>(tmp + j)));
#endif
      }
    }
    for (; i < e; ++i) po[i] = g(i);
    _mm_sfence();  // streaming stores are weakly ordered: publish them before the join
    return;
  }
#else
  (void)stream;
#endif
  for (int64_t i = b; i < e; ++i) po[i] = g(i);
}

// po[i] = g(i) over [0, n), split across threads.
template <typename To, typename G>
inline void contiguous_map(To* po, int64_t n, G g) {
  const bool stream = n * static_cast<int64_t>(sizeof(To)) >= kStreamBytes;
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) { store_range(po, b, e, stream, g); });
}

template <typename To, typename Ta, typename F>
void map1(const Tensor& out, const Tensor& a, F f) {
  To* po = static_cast<To*>(out.raw_data());
  const Ta* pa = static_cast<const Ta*>(a.raw_data());
  if (out.is_contiguous() && a.is_contiguous()) {
    contiguous_map(po, out.numel(), [&, f](int64_t i) { return f(pa[i]); });
    return;
  }
  strided_loop<2>(out.shape(), {&out.strides(), &a.strides()},
                  [&](const int64_t* off, const int64_t* st, int64_t n) {
                    To* o = po + off[0];
                    const Ta* x = pa + off[1];
                    if (st[0] == 1 && st[1] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]]);
                    }
                  });
}

template <typename To, typename Ta, typename Tb, typename F>
void map2(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  To* po = static_cast<To*>(out.raw_data());
  const Ta* pa = static_cast<const Ta*>(a.raw_data());
  const Tb* pb = static_cast<const Tb*>(b.raw_data());
  if (out.is_contiguous() && a.is_contiguous() && b.is_contiguous()) {
    contiguous_map(po, out.numel(), [&, f](int64_t i) { return f(pa[i], pb[i]); });
    return;
  }
  strided_loop<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()},
                  [&](const int64_t* off, const int64_t* st, int64_t n) {
                    To* o = po + off[0];
                    const Ta* x = pa + off[1];
                    const Tb* y = pb + off[2];
                    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
                    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                      const Tb yv = *y;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
                    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
                      const Ta xv = *x;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]], y[i * st[2]]);
                    }
                  });
}

// One contiguous output run of map3 whose inputs step by SA/SB/SC (1, or 0 for a broadcast
// operand): compile-time strides let the compiler vectorise it.
template <int SA, int SB, int SC, typename To, typename Ta, typename Tb, typename Tc, typename F>
inline void inner3(To* o, const Ta* x, const Tb* y, const Tc* z, int64_t n, F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * SA], y[i * SB], z[i * SC]);
}

template <typename To, typename Ta, typename Tb, typename Tc, typename F>
void map3(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  To* po = static_cast<To*>(out.raw_data());
  const Ta* pa = static_cast<const Ta*>(a.raw_data());
  const Tb* pb = static_cast<const Tb*>(b.raw_data());
  const Tc* pc = static_cast<const Tc*>(c.raw_data());
  if (out.is_contiguous() && a.is_contiguous() && b.is_contiguous() && c.is_contiguous()) {
    contiguous_map(po, out.numel(), [&, f](int64_t i) { return f(pa[i], pb[i], pc[i]); });
    return;
  }
  strided_loop<4>(out.shape(), {&out.strides(), &a.strides(), &b.strides(), &c.strides()},
                  [&](const int64_t* off, const int64_t* st, int64_t n) {
                    To* o = po + off[0];
                    const Ta* x = pa + off[1];
                    const Tb* y = pb + off[2];
                    const Tc* z = pc + off[3];
                    if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1)
                      inner3<1, 1, 1>(o, x, y, z, n, f);
                    else if (st[0] == 1 && st[1] == 1 && st[2] == 0 && st[3] == 1)
                      inner3<1, 0, 1>(o, x, y, z, n, f);  // where(mask, scalar, x)
                    else if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 0)
                      inner3<1, 1, 0>(o, x, y, z, n, f);  // where(mask, x, scalar)
                    else
                      for (int64_t i = 0; i < n; ++i)
                        o[i * st[0]] = f(x[i * st[1]], y[i * st[2]], z[i * st[3]]);
                  });
}

}  // namespace sn::cpu
