// Direct (im2col-free) convolution micro-kernels for stride-1 convolutions with few channels,
// private to conv.cpp. They work on "extended rows" (see ConvGeom in conv.cpp): the input is a
// zero-padded plane stack xp, and im2col row k of the convolution is the contiguous run
// xp[koff[k] + j], so a tap is a vector load at a fixed offset instead of a copy.
// Vectors are GCC/Clang vector extensions VB bytes wide, VB the width of the level the kernels
// run at (64 with AVX-512, 32 with AVX2, 16 otherwise; cpu::with_vector_bytes picks it at run time
// and compiles the caller for that level), register-blocked: the tile shapes below keep the
// accumulators within the register file (32 vector registers with AVX-512, 16 without), since a
// tile that spills runs many times slower.
#pragma once
#include <cstdint>
#include <cstring>

// GCC notes that passing 32- and 64-byte vectors changes the ABI where AVX is not enabled: these
// kernels are inlined into one level's clone (cpu::with_vector_bytes), never called across levels
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace sn::convdirect {

// Vector registers at a vector width: 32 with AVX-512, 16 with AVX2 and SSE.
constexpr int vec_regs(int vb) { return vb >= 64 ? 32 : 16; }

template <typename T, int VB>
struct Vec {
  static constexpr int L = VB / sizeof(T);
  typedef T type __attribute__((vector_size(VB)));
};
template <typename V, typename T>
inline V vload(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T, typename V>
inline void vstore(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// Widest column tile (in elements) any forward tile writes at any level (six 64-byte vectors):
// callers pad rows and slack by it.
template <typename T>
constexpr int64_t kMaxTile = 6 * 64 / sizeof(T);

// Forward tile: out[m][j] = Σ_k w[k·MR + m] · xp[koff[k] + j] for m < MR, j < NV·L.
// MR·NV accumulators stay in registers; each tap costs NV loads and MR·NV FMAs.
template <typename T, int VB, int MR, int NV>
void fwd_tile(const T* w, const T* xp, const int64_t* koff, int64_t K, T* out, int64_t ldo) {
  using V = typename Vec<T, VB>::type;
  constexpr int L = Vec<T, VB>::L;
  V acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = V{};
  for (int64_t k = 0; k < K; ++k) {
    const T* s = xp + koff[k];
    V xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = vload<V>(s + v * L);
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
constexpr int fwd_tile_vecs(int vb, int mr) {
  if (vec_regs(vb) >= 32) return mr <= 4 ? 6 : mr <= 6 ? 4 : 3;
  return mr <= 1 ? 6 : mr <= 2 ? 4 : mr <= 4 ? 3 : mr <= 6 ? 2 : 1;
}

// Output channels per forward block: 8 with 32 registers; with 16, eight channels leave room for
// one vector per row (nine loads per eight FMAs), and blocks of 4 (three vectors a row, seven
// loads per twelve FMAs) ran LeNet's conv2 forward ~20% faster on AMD Zen 3.
constexpr int fwd_max_rows(int vb) { return vec_regs(vb) >= 32 ? 8 : 4; }

// Columns one forward tile with MR output channels covers.
template <typename T, int VB>
constexpr int64_t fwd_tile_cols(int mr) {
  return fwd_tile_vecs(VB, mr) * Vec<T, VB>::L;
}

// out[m][0, ncols) for mr <= 8 output channels (w packed [K][mr]); may write up to
// fwd_tile_cols - 1 columns past ncols and read as far past xp's runs.
template <typename T, int VB>
void fwd_block(int mr, const T* w, const T* xp, const int64_t* koff, int64_t K, T* out, int64_t ldo,
               int64_t ncols) {
  const int64_t step = fwd_tile_cols<T, VB>(mr);
  for (int64_t j = 0; j < ncols; j += step) {
    switch (mr) {
      case 1:
        fwd_tile<T, VB, 1, fwd_tile_vecs(VB, 1)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 2:
        fwd_tile<T, VB, 2, fwd_tile_vecs(VB, 2)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 3:
        fwd_tile<T, VB, 3, fwd_tile_vecs(VB, 3)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 4:
        fwd_tile<T, VB, 4, fwd_tile_vecs(VB, 4)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 5:
        fwd_tile<T, VB, 5, fwd_tile_vecs(VB, 5)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 6:
        fwd_tile<T, VB, 6, fwd_tile_vecs(VB, 6)>(w, xp + j, koff, K, out + j, ldo);
        break;
      case 7:
        fwd_tile<T, VB, 7, fwd_tile_vecs(VB, 7)>(w, xp + j, koff, K, out + j, ldo);
        break;
      default:
        fwd_tile<T, VB, 8, fwd_tile_vecs(VB, 8)>(w, xp + j, koff, K, out + j, ldo);
        break;
    }
  }
}

// Weight-gradient tile: dw[m·ldw + k] += Σ_j dy[m·ldd + j] · xp[koff[k] + j] for m < MR, k < KB,
// j < ncols (a multiple of L; dy is zero on junk columns). Accumulates across `nb` samples
// (dy and xp advance by dy_bs / x_bs) before the horizontal sums.
template <typename T, int VB, int MR, int KB>
void wgrad_tile(const T* dy, int64_t ldd, int64_t dy_bs, const T* xp, int64_t x_bs,
                const int64_t* koff, int nb, int64_t ncols, T* dw, int64_t ldw, int kvalid) {
  using V = typename Vec<T, VB>::type;
  constexpr int L = Vec<T, VB>::L;
  V acc[MR][KB];
  for (int m = 0; m < MR; ++m)
    for (int k = 0; k < KB; ++k) acc[m][k] = V{};
  for (int b = 0; b < nb; ++b) {
    const T* d = dy + b * dy_bs;
    const T* x = xp + b * x_bs;
    for (int64_t j = 0; j < ncols; j += L) {
      V dv[MR], xv[KB];
      for (int m = 0; m < MR; ++m) dv[m] = vload<V>(d + m * ldd + j);
      for (int k = 0; k < KB; ++k) xv[k] = vload<V>(x + koff[k] + j);
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
constexpr int wgrad_tile_taps(int vb, int mr) {
  if (vec_regs(vb) >= 32) return mr <= 2 ? 8 : mr <= 4 ? 5 : mr <= 6 ? 3 : 2;
  return mr <= 1 ? 7 : mr <= 2 ? 5 : mr <= 4 ? 3 : mr <= 6 ? 2 : 1;
}

// dw[m][k] += ... for mr <= 8 channels and all K taps; koff must hold K + 8 entries (a tile
// reads whole blocks; extra entries point at valid memory and their sums are dropped).
template <typename T, int VB>
void wgrad_block(int mr, const T* dy, int64_t ldd, int64_t dy_bs, const T* xp, int64_t x_bs,
                 const int64_t* koff, int64_t K, int nb, int64_t ncols, T* dw, int64_t ldw) {
  const int kb = wgrad_tile_taps(VB, mr);
  for (int64_t k = 0; k < K; k += kb) {
    const int kv = static_cast<int>(K - k);
    const int64_t* ko = koff + k;
    T* d = dw + k;
    switch (mr) {
      case 1:
        wgrad_tile<T, VB, 1, wgrad_tile_taps(VB, 1)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      case 2:
        wgrad_tile<T, VB, 2, wgrad_tile_taps(VB, 2)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      case 3:
        wgrad_tile<T, VB, 3, wgrad_tile_taps(VB, 3)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      case 4:
        wgrad_tile<T, VB, 4, wgrad_tile_taps(VB, 4)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      case 5:
        wgrad_tile<T, VB, 5, wgrad_tile_taps(VB, 5)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      case 6:
        wgrad_tile<T, VB, 6, wgrad_tile_taps(VB, 6)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      case 7:
        wgrad_tile<T, VB, 7, wgrad_tile_taps(VB, 7)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
      default:
        wgrad_tile<T, VB, 8, wgrad_tile_taps(VB, 8)>(dy, ldd, dy_bs, xp, x_bs, ko, nb, ncols, d,
                                                     ldw, kv);
        break;
    }
  }
}

// Weight gradient vectorised over output channels, for convs with many of them: the transposed
// gradient dwt[k][o] (o in lanes) += Σ_p x[k-th tap at position p] · dyt[p][o]. No horizontal
// sums and no junk columns. One call covers RB rows (c, kh) of the kernel, all KW taps of each:
// rows[r] points at row r's input (c·plane + kh·dh·Wp), dwt at its first tap's vector.
template <typename T, int VB, int KW, int RB, bool kUnitDilation>
void wgrad_ovec_tile(const T* xp, const int64_t* rows, int64_t dw, const T* dyt, int64_t OH,
                     int64_t OW, int64_t sh_wp, int64_t sw, T* dwt) {
  using V = typename Vec<T, VB>::type;
  constexpr int L = Vec<T, VB>::L;
  V acc[RB][KW];
  for (int r = 0; r < RB; ++r)
    for (int k = 0; k < KW; ++k) acc[r][k] = vload<V>(dwt + (r * KW + k) * L);
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* xrow = xp + oh * sh_wp;
    const T* d = dyt + oh * OW * L;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const V dv = vload<V>(d + ow * L);
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
constexpr int wgrad_ovec_rows(int vb, int kw) {
  if (vec_regs(vb) >= 32) return kw <= 2 ? 8 : kw <= 3 ? 6 : kw <= 4 ? 5 : kw <= 5 ? 4 : 3;
  return kw <= 1 ? 8 : kw <= 2 ? 6 : kw <= 3 ? 4 : kw <= 4 ? 3 : 2;
}

// Kernel widths wgrad_ovec handles (each an instantiation).
constexpr bool wgrad_ovec_supports(int64_t kw) { return kw >= 1 && kw <= 7; }

// All `nrows` kernel rows of one output-channel vector: dwt [nrows·KW][L] += ..., rows[r] as in
// wgrad_ovec_tile.
template <typename T, int VB>
void wgrad_ovec(int64_t KW, const T* xp, const int64_t* rows, int64_t nrows, int64_t dw,
                const T* dyt, int64_t OH, int64_t OW, int64_t sh_wp, int64_t sw, T* dwt) {
  constexpr int L = Vec<T, VB>::L;
  auto run = [&]<int K, int RB>() {
    int64_t r = 0;
    if (dw == 1) {
      for (; r + RB <= nrows; r += RB)
        wgrad_ovec_tile<T, VB, K, RB, true>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw,
                                            dwt + r * K * L);
      for (; r < nrows; ++r)
        wgrad_ovec_tile<T, VB, K, 1, true>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw,
                                           dwt + r * K * L);
    } else {
      for (; r + RB <= nrows; r += RB)
        wgrad_ovec_tile<T, VB, K, RB, false>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw,
                                             dwt + r * K * L);
      for (; r < nrows; ++r)
        wgrad_ovec_tile<T, VB, K, 1, false>(xp, rows + r, dw, dyt, OH, OW, sh_wp, sw,
                                            dwt + r * K * L);
    }
  };
  switch (KW) {
    case 1:
      run.template operator()<1, wgrad_ovec_rows(VB, 1)>();
      break;
    case 2:
      run.template operator()<2, wgrad_ovec_rows(VB, 2)>();
      break;
    case 3:
      run.template operator()<3, wgrad_ovec_rows(VB, 3)>();
      break;
    case 4:
      run.template operator()<4, wgrad_ovec_rows(VB, 4)>();
      break;
    case 5:
      run.template operator()<5, wgrad_ovec_rows(VB, 5)>();
      break;
    case 6:
      run.template operator()<6, wgrad_ovec_rows(VB, 6)>();
      break;
    default:
      run.template operator()<7, wgrad_ovec_rows(VB, 7)>();
      break;
  }
}

}  // namespace sn::convdirect

#pragma GCC diagnostic pop
