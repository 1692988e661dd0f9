// Direct (im2col-free) convolution micro-kernels for stride-1 convolutions with few channels,
// private to conv.cpp. They work on "extended rows" (see ConvGeom in conv.cpp): the input is a
// zero-padded plane stack xp, and im2col row k of the convolution is the contiguous run
// xp[koff[k] + j], so a tap is a vector load at a fixed offset instead of a copy.
// Vectors are GCC/Clang vector extensions as wide as the target's registers (64 bytes with
// AVX-512, 32 with AVX/AVX2, 16 otherwise), register-blocked: the tile shapes below keep the
// accumulators within the register file (32 vector registers with AVX-512, 16 without), since a
// tile that spills runs many times slower.
#pragma once
#include <cstdint>
#include <cstring>

namespace sn::convdirect {

#if defined(__AVX512F__)
inline constexpr int kVecBytes = 64;
inline constexpr int kVecRegs = 32;
#elif defined(__AVX__)
inline constexpr int kVecBytes = 32;
inline constexpr int kVecRegs = 16;
#else
inline constexpr int kVecBytes = 16;
inline constexpr int kVecRegs = 16;
#endif

template <typename T>
struct Vec {
  static constexpr int L = kVecBytes / sizeof(T);
  typedef T type __attribute__((vector_size(kVecBytes)));
};
template <typename T>
inline typename Vec<T>::type vload(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void vstore(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof v);
}

// Widest column tile (in elements) any forward tile writes: callers pad rows and slack by it.
template <typename T>
constexpr int64_t kMaxTile = 6 * Vec<T>::L;

// Forward tile: out[m][j] = Σ_k w[k·MR + m] · xp[koff[k] + j] for m < MR, j < NV·L.
// MR·NV accumulators stay in registers; each tap costs NV loads and MR·NV FMAs.
template <typename T, int MR, int NV>
void fwd_tile(const T* w, const T* xp, const int64_t* koff, int64_t K, T* out, int64_t ldo) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::L;
  V acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = V{};
  for (int64_t k = 0; k < K; ++k) {
    const T* s = xp + koff[k];
    V xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = vload(s + v * L);
    for (int m = 0; m < MR; ++m) {
      const T wk = w[k * MR + m];
      for (int v = 0; v < NV; ++v) acc[m][v] += wk * xv[v];
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) vstore(out + m * ldo + v * L, acc[m][v]);
}

// Vectors per forward tile row for mr output channels: MR·NV accumulators + NV inputs + one
// broadcast weight fit the registers (MR·NV <= 24 with 32 registers, <= 12 with 16).
constexpr int fwd_tile_vecs(int mr) {
  if constexpr (kVecRegs >= 32) return mr <= 4 ? 6 : mr <= 6 ? 4 : 3;
  return mr <= 1 ? 6 : mr <= 2 ? 4 : mr <= 4 ? 3 : mr <= 6 ? 2 : 1;
}

// Output channels per forward block: 8 with 32 registers; with 16, eight channels leave room for
// one vector per row (nine loads per eight FMAs), and blocks of 4 (three vectors a row, seven
// loads per twelve FMAs) ran LeNet's conv2 forward ~20% faster on AMD Zen 3.
inline constexpr int kFwdMaxRows = kVecRegs >= 32 ? 8 : 4;

// Columns one forward tile with MR output channels covers.
template <typename T>
constexpr int64_t fwd_tile_cols(int mr) {
  return fwd_tile_vecs(mr) * Vec<T>::L;
}

// out[m][0, ncols) for mr <= 8 output channels (w packed [K][mr]); may write up to
// fwd_tile_cols - 1 columns past ncols and read as far past xp's runs.
template <typename T>
void fwd_block(int mr, const T* w, const T* xp, const int64_t* koff, int64_t K, T* out, int64_t ldo,
               int64_t ncols) {
  const int64_t step = fwd_tile_cols<T>(mr);
  for (int64_t j = 0; j < ncols; j += step) {
    switch (mr) {
      case 1:
        fwd_tile<T, 1, fwd_tile_vecs(1)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 2:
        fwd_tile<T, 2, fwd_tile_vecs(2)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 3:
        fwd_tile<T, 3, fwd_tile_vecs(3)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 4:
        fwd_tile<T, 4, fwd_tile_vecs(4)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 5:
        fwd_tile<T, 5, fwd_tile_vecs(5)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 6:
        fwd_tile<T, 6, fwd_tile_vecs(6)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 7:
        fwd_tile<T, 7, fwd_tile_vecs(7)>(w, xp + j, koff, K, out + j, ldo);
        break;
      default:
        fwd_tile<T, 8, fwd_tile_vecs(8)>(w, xp + j, koff, K, out + j, ldo);
        break;
    }
  }
}

// Weight-gradient tile: dw[m·ldw + k] += Σ_j dy[m·ldd + j] · xp[koff[k] + j] for m < MR, k < KB,
// j < ncols (a multiple of L; dy is zero on junk columns). Accumulates across `nb` samples
// (dy and xp advance by dy_bs / x_bs) before the horizontal sums.
template <typename T, int MR, int KB>
void wgrad_tile(const T* dy, int64_t ldd, int64_t dy_bs, const T* xp, int64_t x_bs,
                const int64_t* koff, int nb, int64_t ncols, T* dw, int64_t ldw, int kvalid) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::L;
  V acc[MR][KB];
  for (int m = 0; m < MR; ++m)
    for (int k = 0; k < KB; ++k) acc[m][k] = V{};
  for (int b = 0; b < nb; ++b) {
    const T* d = dy + b * dy_bs;
    const T* x = xp + b * x_bs;
    for (int64_t j = 0; j < ncols; j += L) {
      V dv[MR], xv[KB];
      for (int m = 0; m < MR; ++m) dv[m] = vload(d + m * ldd + j);
      for (int k = 0; k < KB; ++k) xv[k] = vload(x + koff[k] + j);
      for (int m = 0; m < MR; ++m)
        for (int k = 0; k < KB; ++k) acc[m][k] += dv[m] * xv[k];
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int k = 0; k < KB && k < kvalid; ++k) {
      T s = 0;
      for (int l = 0; l < L; ++l) s += acc[m][k][l];
      dw[m * ldw + k] += s;
    }
}

// Taps per weight-gradient tile for mr output channels: MR·KB accumulators + KB inputs + the dy
// vectors fit the registers (MR·KB + MR + KB <= 30 with 32 registers, MR·KB + KB + 1 <= 16 with
// 16, where the dy vectors stream through one register).
constexpr int wgrad_tile_taps(int mr) {
  if constexpr (kVecRegs >= 32) return mr <= 2 ? 8 : mr <= 4 ? 5 : mr <= 6 ? 3 : 2;
  return mr <= 1 ? 7 : mr <= 2 ? 5 : mr <= 4 ? 3 : mr <= 6 ? 2 : 1;
}

// dw[m][k] += ... for mr <= 8 channels and all K taps; koff must hold K + 8 entries (a tile
// reads whole blocks; extra entries point at valid memory and their sums are dropped).
template <typename T>
void wgrad_block(int mr, const T* dy, int64_t ldd, int64_t dy_bs, const T* xp, int64_t x_bs,
                 const int64_t* koff, int64_t K, int nb, int64_t ncols, T* dw, int64_t ldw) {
  const int kb = wgrad_tile_taps(mr);
  for (int64_t k = 0; k < K; k += kb) {
    const int kv = static_cast<int>(K - k);
    const int64_t* ko = koff + k;
    T* d = dw + k;
    switch (mr) {
      case 1:
        wgrad_tile<T, 1, wgrad_tile_taps(1)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      case 2:
        wgrad_tile<T, 2, wgrad_tile_taps(2)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      case 3:
        wgrad_tile<T, 3, wgrad_tile_taps(3)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      case 4:
        wgrad_tile<T, 4, wgrad_tile_taps(4)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      case 5:
        wgrad_tile<T, 5, wgrad_tile_taps(5)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      case 6:
        wgrad_tile<T, 6, wgrad_tile_taps(6)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      case 7:
        wgrad_tile<T, 7, wgrad_tile_taps(7)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
      default:
        wgrad_tile<T, 8, wgrad_tile_taps(8)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d, ldw, kv);
        break;
    }
  }
}

// Weight gradient vectorised over output channels, for convs with many of them: the transposed
// gradient dwt[k][o] (o in lanes) += Σ_p x[k-th tap at position p] · dyt[p][o]. No horizontal
// sums and no junk columns. One call covers RB rows (c, kh) of the kernel, all KW taps of each:
// rows[r] points at row r's input (c·plane + kh·dh·Wp), dwt at its first tap's vector.
template <typename T, int KW, int RB, bool kUnitDilation>
void wgrad_ovec_tile(const T* xp, const int64_t* rows, int64_t dw, const T* dyt, int64_t OH,
                     int64_t OW, int64_t sh_wp, int64_t sw, T* dwt) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::L;
  V acc[RB][KW];
  for (int r = 0; r < RB; ++r)
    for (int k = 0; k < KW; ++k) acc[r][k] = vload(dwt + (r * KW + k) * L);
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* xrow = xp + oh * sh_wp;
    const T* d = dyt + oh * OW * L;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const V dv = vload(d + ow * L);
      const T* q = xrow + ow * sw;
      for (int r = 0; r < RB; ++r) {
        // with dilation 1 the KW taps are constant offsets from one pointer per row
        const T* qr = q + rows[r];
        for (int k = 0; k < KW; ++k) acc[r][k] += qr[kUnitDilation ? k : k * dw] * dv;
      }
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int k = 0; k < KW; ++k) vstore(dwt + (r * KW + k) * L, acc[r][k]);
}

// Kernel rows per wgrad_ovec tile for kernel width kw: RB·KW accumulators plus the dy vector and
// one input broadcast fit the registers (<= 21 of 32, <= 14 of 16).
constexpr int wgrad_ovec_rows(int kw) {
  if constexpr (kVecRegs >= 32) return kw <= 2 ? 8 : kw <= 3 ? 6 : kw <= 4 ? 5 : kw <= 5 ? 4 : 3;
  return kw <= 1 ? 8 : kw <= 2 ? 6 : kw <= 3 ? 4 : kw <= 4 ? 3 : 2;
}

// Kernel widths wgrad_ovec handles (each an instantiation).
constexpr bool wgrad_ovec_supports(int64_t kw) { return kw >= 1 && kw <= 7; }

// All `nrows` kernel rows of one output-channel vector: dwt [nrows·KW][L] += ..., rows[r] as in
// wgrad_ovec_tile.
template <typename T>
void wgrad_ovec(int64_t KW, const T* xp, const int64_t* rows, int64_t nrows, int64_t dw,
                const T* dyt, int64_t OH, int64_t OW, int64_t sh_wp, int64_t sw, T* dwt) {
  constexpr int L = Vec<T>::L;
  auto run = [&]<int K, int RB>() {
    int64_t r = 0;
    if (dw == 1) {
      for (; r + RB <= nrows; r += RB)
        wgrad_ovec_tile<T, K, RB, true>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw, dwt + r * K * L);
      for (; r < nrows; ++r)
        wgrad_ovec_tile<T, K, 1, true>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw, dwt + r * K * L);
    } else {
      for (; r + RB <= nrows; r += RB)
        wgrad_ovec_tile<T, K, RB, false>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw, dwt + r * K * L);
      for (; r < nrows; ++r)
        wgrad_ovec_tile<T, K, 1, false>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw, dwt + r * K * L);
    }
  };
  switch (KW) {
    case 1:
      run.template operator()<1, wgrad_ovec_rows(1)>();
      break;
    case 2:
      run.template operator()<2, wgrad_ovec_rows(2)>();
      break;
    case 3:
      run.template operator()<3, wgrad_ovec_rows(3)>();
      break;
    case 4:
      run.template operator()<4, wgrad_ovec_rows(4)>();
      break;
    case 5:
      run.template operator()<5, wgrad_ovec_rows(5)>();
      break;
    case 6:
      run.template operator()<6, wgrad_ovec_rows(6)>();
      break;
    default:
      run.template operator()<7, wgrad_ovec_rows(7)>();
      break;
  }
}

}  // namespace sn::convdirect
