// conv1d / conv2d: forward and Backward side by side, samples spread over the threads and
// per-thread scratch buffers reused across calls. Two paths, by geometry:
//  - stride 1 ("extended rows", ConvGeom::ext), per sample: zero-padded input planes; with few
//    channels the direct kernels of conv_direct.h do the forward pass and dW, otherwise im2col +
//    GEMM;
//  - the rest (strided, 1x1, padding too wide for extended rows): im2col of a chunk of samples
//    side by side, so the forward pass, dx and dW are each one GEMM over the chunk (a 1x1 conv of
//    one sample reads x itself).
// dx is always a GEMM (Wᵀ·dy) + col2im. Bias and the optional ReLU are fused into one pass over
// the output. conv1d runs as conv2d with H = 1. Also holds IntArgs/Padding and the helpers of
// conv_common.h. conv_transpose2d reuses the same kernels: its forward pass is conv's dx, its dx
// is conv's forward pass, its dW is conv's dW.
#include <cblas.h>

#include <array>
#include <cstring>

#include "backend/cpu/isa.h"
#include "backend/cpu/sgemm_avx2.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "ops/conv_common.h"
#include "ops/conv_direct.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;
using detail::make_tensor;

// ============================================================== options
std::vector<int64_t> IntArgs::per_dim(int n, const char* op, const char* what) const {
  if (v_.size() == 1) return std::vector<int64_t>(n, v_[0]);
  if (static_cast<int>(v_.size()) == n) return v_;
  SN_THROW(ValueError, op, ": ", what, " needs 1 or ", n, " values (got ", Shape(v_), ")");
}

Padding::Padding(const char* mode) {
  const std::string m = mode ? mode : "";
  if (m == "same")
    same_ = true;
  else
    SN_CHECK(m == "valid", ValueError,
             "padding: expected a number, a list of numbers, \"same\" or ", "\"valid\" (got \"", m,
             "\")");
}

// ============================================================== shared helpers
namespace convops {

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (cpu::sgemm_avx2_preferred()) {
    cpu::sgemm_avx2(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr,
                    cpu::num_threads());
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
          int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, alpha, A, lda, B, ldb, beta, C, ldc);
}

bool check_input(const Tensor& x, int spatial, const char* op, const char* layout) {
  SN_CHECK(x.defined(), ValueError, op, ": input tensor is undefined");
  SN_CHECK(x.dim() == spatial + 2 || x.dim() == spatial + 1, ShapeError, op, ": expected a ",
           spatial + 2, "-D input ", layout, " (or ", spatial + 1,
           "-D without the batch dim), got ", x.shape());
  SN_CHECK(is_floating(x.dtype()), DTypeError, op, ": expected a floating-point input, got ",
           x.dtype(), "; hint: convert with .to(sn::kFloat32)");
  return x.dim() == spatial + 2;
}

}  // namespace convops

namespace {

using convops::scratch;
using convops::team_size;

// Geometry of one conv2d call (conv1d has H = KH = 1). Sizes per group: Cg input channels, Og
// output channels, K = Cg·KH·KW rows of the im2col matrix, P = OH·OW output positions.
struct ConvGeom {
  int64_t N, C, H, W, O, KH, KW, OH, OW;
  int64_t sh, sw, ph, pw, dh, dw;  // stride, padding before (top/left), dilation
  int64_t ph_hi, pw_hi;            // padding after (bottom/right); differs only for "same"
  int64_t G, Cg, Og, K, P, HW;
  bool direct;  // 1x1, stride 1, no padding: the input already is the im2col matrix
  // Stride 1 runs on "extended rows": the input is copied once into zero-padded planes
  // [C, Hp, Wp], and the GEMM computes OH rows of Wp outputs (the last Wp - OW of each row are
  // junk and dropped). Then every im2col row is ONE contiguous copy of PE = OH·Wp elements instead
  // of OH short ones, and the adjoint (col2im) is one contiguous add per row.
  bool ext;
  int64_t Hp, Wp, PE, plane, slack;  // plane = Hp·Wp; slack: zeros read past the last plane
  int64_t ldo, ldd;  // row lengths of the extended output / dy buffers (room for tile overrun)
  // Extended path with few channels: the direct kernels of conv_direct.h replace im2col + GEMM
  // for the forward pass and the weight gradient.
  bool use_direct;
};

// Sum of n values in 16 independent partial sums (vectorisable), finished in double.
template <typename T>
double sum_n(const T* p, int64_t n) {
  T acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) acc[k] += p[i + k];
  double s = 0;
  for (int k = 0; k < 16; ++k) s += acc[k];
  for (; i < n; ++i) s += p[i];
  return s;
}

// ---- extended-row path (stride 1) ----
// xp [C, Hp, Wp] + slack zeros: x [C, H, W] with the zero padding materialised.
template <typename T>
void pad_planes(const T* x, T* xp, const ConvGeom& g) {
  if (g.Hp == g.H && g.Wp == g.W) {
    std::memcpy(xp, x, g.C * g.HW * sizeof(T));
  } else {
    for (int64_t c = 0; c < g.C; ++c) {
      T* d = xp + c * g.plane;
      const T* s = x + c * g.HW;
      std::fill(d, d + g.ph * g.Wp, T(0));
      for (int64_t ih = 0; ih < g.H; ++ih) {
        T* row = d + (ih + g.ph) * g.Wp;
        std::fill(row, row + g.pw, T(0));
        std::copy(s + ih * g.W, s + (ih + 1) * g.W, row + g.pw);
        std::fill(row + g.pw + g.W, row + g.Wp, T(0));
      }
      std::fill(d + (g.ph + g.H) * g.Wp, d + g.plane, T(0));
    }
  }
  std::fill(xp + g.C * g.plane, xp + g.C * g.plane + g.slack, T(0));
}

// col [K, PE]: row (c, kh, kw) = xp_c[kh·dh·Wp + kw·dw + j] for j < PE (xp: this group's planes).
template <typename T>
void im2col_ext(const T* xp, T* col, const ConvGeom& g) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        std::memcpy(col + ((c * g.KH + kh) * g.KW + kw) * g.PE,
                    xp + c * g.plane + kh * g.dh * g.Wp + kw * g.dw, g.PE * sizeof(T));
}

// The adjoint of im2col_ext, as a gather: dxp_c[i] = Σ_(kh,kw) col[(c, kh, kw), i - off(kh, kw)],
// off = kh·dh·Wp + kw·dw. Writes (does not accumulate into) this group's planes. Gathering avoids
// the read-after-write stalls of adding shifted, overlapping rows into one buffer. col rows are
// laid out by col_ext_layout: zeros before and after each row make every read a whole vector.
// Junk columns of col are zero (dy is zero there), so the positions they reach get nothing.
// (-Wpsabi: see conv_direct.h)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
template <typename T, int VB>
void col2im_ext(const T* col, int64_t front, int64_t ldc, T* dxp, const ConvGeom& g) {
  using V = typename convdirect::Vec<T, VB>::type;
  constexpr int L = convdirect::Vec<T, VB>::L;
  for (int64_t c = 0; c < g.Cg; ++c) {
    const T* rows = col + c * g.KH * g.KW * ldc + front;
    T* d = dxp + c * g.plane;
    // four output vectors at a time: four independent add chains
    for (int64_t i0 = 0; i0 < g.plane; i0 += 4 * L) {
      V a0 = V{}, a1 = V{}, a2 = V{}, a3 = V{};
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const T* r = rows + kh * g.KW * ldc + i0 - kh * g.dh * g.Wp;
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const T* q = r + kw * (ldc - g.dw);
          a0 += convdirect::vload<V>(q);
          a1 += convdirect::vload<V>(q + L);
          a2 += convdirect::vload<V>(q + 2 * L);
          a3 += convdirect::vload<V>(q + 3 * L);
        }
      }
      // may run up to 4·L - 1 past the plane: into the next plane (written after this one) or
      // the slack after the last
      convdirect::vstore(d + i0, a0);
      convdirect::vstore(d + i0 + L, a1);
      convdirect::vstore(d + i0 + 2 * L, a2);
      convdirect::vstore(d + i0 + 3 * L, a3);
    }
  }
}

#pragma GCC diagnostic pop

// Row layout of the dcol buffer col2im_ext reads: `front` zeros, PE values, zeros up to ldc.
inline void col_ext_layout(const ConvGeom& g, int64_t& front, int64_t& ldc) {
  front = (g.KH - 1) * g.dh * g.Wp + (g.KW - 1) * g.dw;
  ldc = front + (g.plane + 63) / 64 * 64;
}

// ---- im2col path (strided, 1x1, wide padding) ----
// First and one-past-last output index o with 0 <= start + o·stride < in.
inline void valid_range(int64_t start, int64_t stride, int64_t in, int64_t out, int64_t& lo,
                        int64_t& hi) {
  lo = start >= 0 ? 0 : (-start + stride - 1) / stride;
  hi = start >= in ? 0 : (in - start + stride - 1) / stride;
  hi = std::min(hi, out);
  lo = std::min(lo, hi);
}

// col [K, P] (row stride ldc): row (c, kh, kw) holds x[c, oh·sh - ph + kh·dh, ow·sw - pw + kw·dw]
// (0 outside). ldc > P puts the columns of several samples side by side.
template <typename T>
void im2col(const T* x, T* col, int64_t ldc, const ConvGeom& g) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* dst = col + ((c * g.KH + kh) * g.KW + kw) * ldc;
        const int64_t iw0 = kw * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(iw0, g.sw, g.W, g.OW, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh, dst += g.OW) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) {
            for (int64_t ow = 0; ow < g.OW; ++ow) dst[ow] = T(0);
            continue;
          }
          const T* src = x + (c * g.H + ih) * g.W + iw0;
          for (int64_t ow = 0; ow < lo; ++ow) dst[ow] = T(0);
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * g.sw];
          for (int64_t ow = hi; ow < g.OW; ++ow) dst[ow] = T(0);
        }
      }
}

// The adjoint of im2col: dx[c, ih, iw] += col[(c, kh, kw), (oh, ow)] for every tap reading it.
template <typename T>
void col2im(const T* col, int64_t ldc, T* dx, const ConvGeom& g) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* src = col + ((c * g.KH + kh) * g.KW + kw) * ldc;
        const int64_t iw0 = kw * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(iw0, g.sw, g.W, g.OW, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh, src += g.OW) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* drow = dx + (c * g.H + ih) * g.W + iw0;
          for (int64_t ow = lo; ow < hi; ++ow) drow[ow * g.sw] += src[ow];
        }
      }
}

double conv_flops(const ConvGeom& g) { return 2.0 * g.N * g.O * g.P * g.K; }

// y [O, OH, OW] = act(out[o·ldo + oh·rs + ow] + b[o]): bias and ReLU in one pass. `out` has
// channel stride ldo and row stride rs (Wp on the extended path, OW otherwise; out may be y).
// Output rows are short (LeNet: 28 and 10), so when out is a separate buffer each row runs a
// whole number of vectors: the extra values land in later rows of y, which are written after,
// and no scalar tail loop runs (the last rows of the sample stay exact).
template <typename T>
void conv_epilogue(const T* out, int64_t ldo, int64_t rs, T* y, const T* b, bool relu,
                   const ConvGeom& g) {
  if (out == y) {  // in place (rows contiguous): one pass per channel
    for (int64_t o = 0; o < g.O; ++o) {
      const T bo = b ? b[o] : T(0);
      T* d = y + o * g.P;
      if (relu)
        for (int64_t i = 0; i < g.P; ++i) d[i] = std::max(d[i] + bo, T(0));
      else
        for (int64_t i = 0; i < g.P; ++i) d[i] += bo;
    }
    return;
  }
  const int64_t wide = (g.OW + 15) / 16 * 16;
  for (int64_t o = 0; o < g.O; ++o) {
    const T bo = b ? b[o] : T(0);
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const T* __restrict s = out + o * ldo + oh * rs;
      T* __restrict d = y + (o * g.OH + oh) * g.OW;
      const int64_t n = (o * g.OH + oh) * g.OW + wide <= g.O * g.P ? wide : g.OW;
      if (relu)
        for (int64_t ow = 0; ow < n; ++ow) d[ow] = std::max(s[ow] + bo, T(0));
      else
        for (int64_t ow = 0; ow < n; ++ow) d[ow] = s[ow] + bo;
    }
  }
}

// d[0, n) = s[0, n), masked to 0 where y <= 0 when y is given (the fused ReLU); then
// d[valid, w) = 0. n may exceed valid (whole vectors, the extra values are junk for later rows
// or the zeroed columns to overwrite).
template <typename T>
void dy_row(const T* __restrict s, const T* __restrict y, T* __restrict d, int64_t valid, int64_t n,
            int64_t w) {
  if (y)
    for (int64_t i = 0; i < n; ++i) {
      const T v = s[i];                // loaded unconditionally so the select vectorises
      d[i] = y[i] <= T(0) ? T(0) : v;  // NaN passes, as relu
    }
  else
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  for (int64_t i = valid; i < w; ++i) d[i] = T(0);
}

// Output channels per direct-kernel block: at most kFwdMaxRows (forward) / 6 (weight gradient),
// blocks as even as possible so no block is left with one or two channels.
inline int64_t block_size(int64_t n, int64_t most) {
  const int64_t blocks = (n + most - 1) / most;
  return (n + blocks - 1) / blocks;
}

// Tap offsets into one group's padded planes: koff[(c, kh, kw)] = c·plane + kh·dh·Wp + kw·dw,
// plus 8 zero entries (a weight-gradient tile reads up to 8 taps past the last one).
std::vector<int64_t> tap_offsets(const ConvGeom& g) {
  std::vector<int64_t> koff(g.K + 8, 0);
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        koff[(c * g.KH + kh) * g.KW + kw] = c * g.plane + kh * g.dh * g.Wp + kw * g.dw;
  return koff;
}

// The weights regrouped for fwd_block: per group and output block of mr channels, [K][mr].
template <typename T>
std::vector<T> pack_weights(const T* w, const ConvGeom& g, int64_t mr) {
  std::vector<T> p(g.O * g.K);
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t o0 = 0; o0 < g.Og; o0 += mr) {
      const int64_t m = std::min(mr, g.Og - o0);
      T* dst = p.data() + (grp * g.Og + o0) * g.K;
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t i = 0; i < m; ++i) dst[k * m + i] = w[(grp * g.Og + o0 + i) * g.K + k];
    }
  return p;
}

// dw = Σ_t part_w[t] and db = Σ_t part_b[t] (when wanted) over the nt per-thread partial sums
// of a conv backward, of wsize and O values each, added in thread order (deterministic).
template <typename T>
void add_partials(const std::vector<T>& part_w, int64_t wsize, T* dw,
                  const std::vector<double>& part_b, int64_t O, T* db, int nt) {
  if (dw) {
    std::copy(part_w.begin(), part_w.begin() + wsize, dw);
    for (int t = 1; t < nt; ++t)
      for (int64_t i = 0; i < wsize; ++i) dw[i] += part_w[t * wsize + i];
  }
  if (db)
    for (int64_t o = 0; o < O; ++o) {
      double s = 0;
      for (int t = 0; t < nt; ++t) s += part_b[t * O + o];
      db[o] = static_cast<T>(s);
    }
}

// ---- im2col path: the samples of a chunk side by side ----
// A chunk's im2col matrix is [K, nb·P], sample b in columns [b·P, (b + 1)·P), so every product
// is one GEMM over nb·P columns instead of nb thin ones (a DCGAN layer at 7x7 has P = 49). Chunks
// aim at kColsTarget columns: wider ones gained nothing (their column buffer leaves the cache:
// 64 samples of a 7x7 layer at once ran 1.6x slower than 5 at a time), and a layer with P near
// the target stays per sample, since scattering the chunk's output back to [n, o, p] order
// costs more there than the wider GEMM saves. Also bounded by kColsCap values per thread.
constexpr int64_t kColsTarget = 256;
constexpr int64_t kColsCap = int64_t{1} << 20;  // 4 MiB of float32

// Samples per chunk for one thread's `count` samples: as few chunks as those bounds allow, of
// even sizes (64 samples at most 20 a chunk: 4 chunks of 16, not 20 + 20 + 20 + 4).
inline int64_t cols_chunk(const ConvGeom& g, int64_t count) {
  count = std::max<int64_t>(count, 1);
  const int64_t most = std::clamp<int64_t>(
      std::min(kColsTarget / g.P, kColsCap / std::max<int64_t>(g.K * g.P, 1)), 1, count);
  const int64_t chunks = (count + most - 1) / most;
  return (count + chunks - 1) / chunks;
}

// d[0, n) = act(s[0, n) + bias): the forward epilogue of one channel of one sample.
template <typename T>
void bias_act(const T* __restrict s, T* __restrict d, int64_t n, T bias, bool relu) {
  if (relu)
    for (int64_t i = 0; i < n; ++i) d[i] = std::max(s[i] + bias, T(0));
  else
    for (int64_t i = 0; i < n; ++i) d[i] = s[i] + bias;
}

// y [N, O, P] = W · im2col(x) (+ bias, then ReLU) on the im2col path: per chunk of nb samples
// and group, out_g [Og, nb·P] = W_g · col_g, then scattered to y's [n, o, p] order with the bias
// and ReLU. A chunk of one sample writes y directly (and a 1x1 conv reads x directly).
template <typename T>
void conv_forward_cols(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, bool relu) {
  const int nt = team_size(g.N, conv_flops(g));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = nt > 1 ? omp_get_thread_num() : 0;
    const int64_t n_begin = g.N * t / nt, n_end = g.N * (t + 1) / nt;
    const int64_t chunk = cols_chunk(g, n_end - n_begin);
    T* col = chunk > 1 || !g.direct ? scratch<T>(1, g.K * chunk * g.P) : nullptr;
    T* ob = chunk > 1 ? scratch<T>(2, g.O * chunk * g.P) : nullptr;
    // compiled for the CPU's level (cpu::with_level): the copies around the GEMMs vectorise
    for (int64_t n0 = n_begin; n0 < n_end; n0 += chunk)
      cpu::with_level([&] {
        const int64_t nb = std::min(chunk, n_end - n0), ld = nb * g.P;
        T* yn = y + n0 * g.O * g.P;
        T* out = nb == 1 ? yn : ob;  // [O, ld]
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const T* xg = x + n0 * g.C * g.HW + grp * g.Cg * g.HW;
          const T* c = xg;
          if (nb > 1 || !g.direct) {
            for (int64_t s = 0; s < nb; ++s) im2col(xg + s * g.C * g.HW, col + s * g.P, ld, g);
            c = col;
          }
          convops::gemm(false, false, g.Og, ld, g.K, T(1), w + grp * g.Og * g.K, g.K, c, ld, T(0),
                        out + grp * g.Og * ld, ld);
        }
        if (nb == 1) {
          if (b || relu) conv_epilogue(yn, g.P, g.OW, yn, b, relu, g);
          return;
        }
        for (int64_t s = 0; s < nb; ++s)
          for (int64_t o = 0; o < g.O; ++o)
            bias_act(ob + o * ld + s * g.P, yn + (s * g.O + o) * g.P, g.P, b ? b[o] : T(0), relu);
      });
  }
}

// Gradients of conv_forward on the im2col path, given dy [N, O, P] (masked by the fused ReLU's
// output y when given). Per chunk of nb samples: dyb [O, nb·P] holds the chunk's (masked) dy
// side by side, then per group
//   dW_g += dyb_g · col_gᵀ (one GEMM over nb·P),  dcol = W_gᵀ · dyb_g,  dx_n = col2im(dcol_n).
// dx, dw, db may each be null; x may be null when dw is. Per-thread partial sums of dW and db are
// added up after the loop (deterministic for a given thread count).
template <typename T>
void conv_backward_cols(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, T* dx,
                        T* dw, T* db) {
  const int nt = team_size(g.N, conv_flops(g) * ((dx != nullptr) + (dw != nullptr)));
  const int64_t wsize = g.O * g.K;
  std::vector<T> part_w(dw ? nt * wsize : 0, T(0));
  std::vector<double> part_b(db ? nt * g.O : 0, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = nt > 1 ? omp_get_thread_num() : 0;
    T* pw = dw ? part_w.data() + t * wsize : nullptr;
    double* pb = db ? part_b.data() + t * g.O : nullptr;
    const int64_t n_begin = g.N * t / nt, n_end = g.N * (t + 1) / nt;
    const int64_t chunk = cols_chunk(g, n_end - n_begin);
    T* col = (dw || dx) && (chunk > 1 || !g.direct) ? scratch<T>(1, g.K * chunk * g.P) : nullptr;
    T* dyb = chunk > 1 || y ? scratch<T>(2, g.O * chunk * g.P) : nullptr;
    for (int64_t n0 = n_begin; n0 < n_end; n0 += chunk)
      cpu::with_level([&] {
        const int64_t nb = std::min(chunk, n_end - n0), ld = nb * g.P;
        const T* d = dy + n0 * g.O * g.P;  // [O, ld]: dy itself for a chunk of one without ReLU
        if (nb > 1 || y) {
          for (int64_t s = 0; s < nb; ++s)
            for (int64_t o = 0; o < g.O; ++o) {
              const int64_t r = ((n0 + s) * g.O + o) * g.P;
              dy_row(dy + r, y ? y + r : nullptr, dyb + o * ld + s * g.P, g.P, g.P, g.P);
            }
          d = dyb;
        }
        if (pb)
          for (int64_t o = 0; o < g.O; ++o) pb[o] += sum_n(d + o * ld, ld);
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const T* dyg = d + grp * g.Og * ld;
          const T* wg = w + grp * g.Og * g.K;
          const bool in_place = nb == 1 && g.direct;  // a 1x1 conv's im2col is x itself
          if (pw) {
            const T* xg = x + n0 * g.C * g.HW + grp * g.Cg * g.HW;
            const T* c = xg;
            if (!in_place) {
              for (int64_t s = 0; s < nb; ++s) im2col(xg + s * g.C * g.HW, col + s * g.P, ld, g);
              c = col;
            }
            // dW_g [Og, K] += dy_g [Og, ld] · colᵀ [ld, K]
            convops::gemm(false, true, g.Og, g.K, ld, T(1), dyg, ld, c, ld, T(1),
                          pw + grp * g.Og * g.K, g.K);
          }
          if (dx) {
            T* dxg = dx + n0 * g.C * g.HW + grp * g.Cg * g.HW;
            // dcol [K, ld] = W_gᵀ [K, Og] · dy_g [Og, ld]; dx = col2im(dcol)
            if (in_place) {
              convops::gemm(true, false, g.K, g.P, g.Og, T(1), wg, g.K, dyg, ld, T(0), dxg, g.P);
              continue;
            }
            convops::gemm(true, false, g.K, ld, g.Og, T(1), wg, g.K, dyg, ld, T(0), col, ld);
            for (int64_t s = 0; s < nb; ++s) {
              T* dxs = dxg + s * g.C * g.HW;
              std::fill(dxs, dxs + g.Cg * g.HW, T(0));
              col2im(col + s * g.P, ld, dxs, g);
            }
          }
        }
      });
  }
  add_partials(part_w, wsize, dw, part_b, g.O, db, nt);
}

// ---- extended-row path (stride 1) ----
// y [N, O, P] = W · im2col(x) (+ bias, then ReLU), per sample and group; the im2col path above
// for the other geometries.
template <typename T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, bool relu) {
  if (!g.ext) {
    conv_forward_cols(g, x, w, b, y, relu);
    return;
  }
  const int nt = team_size(g.N, conv_flops(g));
  const int64_t mr = block_size(g.Og, convdirect::fwd_max_rows(cpu::vector_bytes()));
  const std::vector<int64_t> koff = g.use_direct ? tap_offsets(g) : std::vector<int64_t>();
  const std::vector<T> wp = g.use_direct ? pack_weights(w, g, mr) : std::vector<T>();
  // the kernels are compiled for the CPU's vector width inside the parallel region (isa.h)
#pragma omp parallel num_threads(nt) if (nt > 1)
  cpu::with_vector_bytes([&](auto vb) {
    constexpr int VB = decltype(vb)::value;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      const T* xn = x + n * g.C * g.HW;
      T* yn = y + n * g.O * g.P;
      T* xp = scratch<T>(0, g.C * g.plane + g.slack);
      T* oe = scratch<T>(2, g.O * g.ldo);
      pad_planes(xn, xp, g);
      if (g.use_direct) {
        for (int64_t grp = 0; grp < g.G; ++grp)
          for (int64_t o0 = 0; o0 < g.Og; o0 += mr) {
            const int64_t m = std::min(mr, g.Og - o0);
            convdirect::fwd_block<T, VB>(static_cast<int>(m), wp.data() + (grp * g.Og + o0) * g.K,
                                         xp + grp * g.Cg * g.plane, koff.data(), g.K,
                                         oe + (grp * g.Og + o0) * g.ldo, g.ldo, g.PE);
          }
      } else {
        T* col = scratch<T>(1, g.K * g.PE);
        for (int64_t grp = 0; grp < g.G; ++grp) {
          im2col_ext(xp + grp * g.Cg * g.plane, col, g);
          convops::gemm(false, false, g.Og, g.PE, g.K, T(1), w + grp * g.Og * g.K, g.K, col, g.PE,
                        T(0), oe + grp * g.Og * g.ldo, g.ldo);
        }
      }
      conv_epilogue(oe, g.ldo, g.Wp, yn, b, relu, g);
    }
  });
}

// Gradients of conv_forward given dy [N, O, P]; y (the fused-ReLU output) masks dy when given.
// dx, dw, db may each be null (not needed); x may be null when dw is. dx needs no initialisation.
// The extended-row path here, per sample; the im2col path in conv_backward_cols.
template <typename T>
void conv_backward(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, T* dx, T* dw,
                   T* db) {
  if (!g.ext) {
    conv_backward_cols(g, x, w, y, dy, dx, dw, db);
    return;
  }
  const int nt = team_size(g.N, conv_flops(g) * ((dx != nullptr) + (dw != nullptr)));
  const int64_t wsize = g.O * g.K;
  // dy as the GEMMs and kernels read it: rows of OH·Wp with zero junk columns, each channel's row
  // padded to ldd
  const int64_t rs = g.Wp;
  const int64_t ldd = g.ldd;
  const int64_t wide = (g.OW + 15) / 16 * 16;
  // samples per weight-gradient pass of the direct kernel (sums stay in registers across them)
  // many output channels: the weight gradient vectorised over them (wgrad_ovec), into a
  // transposed per-thread buffer dwt [G][ceil(Og / L)][K][L]
  const int64_t L = cpu::vector_bytes() / static_cast<int64_t>(sizeof(T));
  const bool ovec = g.use_direct && dw && g.Og >= 12 && convdirect::wgrad_ovec_supports(g.KW);
  const int64_t nob = (g.Og + L - 1) / L, tsize = ovec ? g.G * nob * g.K * L : 0;
  std::vector<int64_t> rows(g.Cg * g.KH);
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh) rows[c * g.KH + kh] = c * g.plane + kh * g.dh * g.Wp;
  std::vector<T> part_t(nt * tsize, T(0));
  const int64_t chunk = g.use_direct && dw && !ovec ? std::clamp<int64_t>(1024 / ldd, 1, 8) : 1;
  const int64_t mr = block_size(g.Og, g.Og <= 6 ? 6 : 4);
  const std::vector<int64_t> koff = g.use_direct ? tap_offsets(g) : std::vector<int64_t>();
  const int64_t xs = g.C * g.plane + g.slack;  // one sample's padded planes
  // per-thread partial sums of dW and db, added up after the loop (no atomics, deterministic for
  // a given thread count)
  std::vector<T> part_w(dw && !ovec ? nt * wsize : 0, T(0));
  std::vector<double> part_b(db ? nt * g.O : 0, 0.0);
  // the kernels are compiled for the CPU's vector width inside the parallel region (isa.h)
#pragma omp parallel num_threads(nt) if (nt > 1)
  cpu::with_vector_bytes([&](auto vb) {
    constexpr int VB = decltype(vb)::value;
    const int t = nt > 1 ? omp_get_thread_num() : 0;
    T* pw = dw && !ovec ? part_w.data() + t * wsize : nullptr;
    double* pb = db ? part_b.data() + t * g.O : nullptr;
    T* dyb = scratch<T>(2, chunk * g.O * ldd);
    T* col = dw && !g.use_direct ? scratch<T>(1, g.K * g.PE) : nullptr;
    T* xp = dw ? scratch<T>(0, chunk * xs) : nullptr;
    T* dxp = dx ? scratch<T>(3, xs) : nullptr;
    int64_t cfront = 0, cld = 0;
    col_ext_layout(g, cfront, cld);
    // the GEMM writes only the middle of each row: the zero margins survive every sample
    T* dcol = dx ? scratch<T>(4, g.K * cld) : nullptr;
    if (dcol) std::fill(dcol, dcol + g.K * cld, T(0));
    // this thread's samples, in chunks
    const int64_t n_begin = g.N * t / nt, n_end = g.N * (t + 1) / nt;
    for (int64_t n0 = n_begin; n0 < n_end; n0 += chunk) {
      const int64_t nb = std::min(chunk, n_end - n0);
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t n = n0 + b;
        const T* dyn = dy + n * g.O * g.P;
        {
          const T* yn = y ? y + n * g.O * g.P : nullptr;
          T* base = dyb + b * g.O * ldd;
          for (int64_t o = 0; o < g.O; ++o) {
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const int64_t r = (o * g.OH + oh) * g.OW;
              // whole vectors where the reads stay inside dy (and y) and the writes inside this
              // sample's block (later rows and the zero fill overwrite the extra values)
              const bool spill = o * ldd + oh * rs + wide <= g.O * ldd &&
                                 (n * g.O * g.P + r + wide) <= g.N * g.O * g.P;
              dy_row(dyn + r, yn ? yn + r : nullptr, base + o * ldd + oh * rs, g.OW,
                     spill ? wide : g.OW, rs);
            }
            std::fill(base + o * ldd + g.OH * rs, base + (o + 1) * ldd, T(0));
          }
          dyn = base;
        }
        if (pb)
          for (int64_t o = 0; o < g.O; ++o) pb[o] += sum_n(dyn + o * ldd, ldd);
        const T* xn = x ? x + n * g.C * g.HW : nullptr;
        T* xpb = xp ? xp + b * xs : nullptr;
        if (xpb) pad_planes(xn, xpb, g);
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const T* dyg = dyn + grp * g.Og * ldd;
          const T* wg = w + grp * g.Og * g.K;
          if (pw && !g.use_direct) {
            im2col_ext(xpb + grp * g.Cg * g.plane, col, g);
            // dW_g [Og, K] += dy_g [Og, PE] · colᵀ [PE, K]
            convops::gemm(false, true, g.Og, g.K, g.PE, T(1), dyg, ldd, col, g.PE, T(1),
                          pw + grp * g.Og * g.K, g.K);
          }
          if (dx) {
            // dcol [K, PE] = W_gᵀ [K, Og] · dy_g [Og, PE]; dx = col2im(dcol)
            convops::gemm(true, false, g.K, g.PE, g.Og, T(1), wg, g.K, dyg, ldd, T(0),
                          dcol + cfront, cld);
            col2im_ext<T, VB>(dcol, cfront, cld, dxp + grp * g.Cg * g.plane, g);
          }
        }
        if (dxp) {
          // crop the padding away
          T* dxn = dx + n * g.C * g.HW;
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t ih = 0; ih < g.H; ++ih) {
              const T* s = dxp + c * g.plane + (ih + g.ph) * g.Wp + g.pw;
              std::copy(s, s + g.W, dxn + (c * g.H + ih) * g.W);
            }
        }
      }
      if (ovec) {
        // dy of this sample transposed to [G][nob][P][L] (ReLU-masked, zero lanes past Og)
        T* dyt = scratch<T>(5, g.G * nob * g.P * L);
        const int64_t n = n0;
        const T* dyn = dy + n * g.O * g.P;
        const T* yn = y ? y + n * g.O * g.P : nullptr;
        for (int64_t grp = 0; grp < g.G; ++grp)
          for (int64_t ob = 0; ob < nob; ++ob) {
            T* blk = dyt + (grp * nob + ob) * g.P * L;
            for (int64_t l = 0; l < L; ++l) {
              const int64_t o = ob * L + l;
              if (o >= g.Og) {
                for (int64_t q = 0; q < g.P; ++q) blk[q * L + l] = T(0);
                continue;
              }
              const T* src = dyn + (grp * g.Og + o) * g.P;
              const T* ys = yn ? yn + (grp * g.Og + o) * g.P : nullptr;
              for (int64_t q = 0; q < g.P; ++q)
                blk[q * L + l] = ys && ys[q] <= T(0) ? T(0) : src[q];
            }
            convdirect::wgrad_ovec<T, VB>(g.KW, xp + grp * g.Cg * g.plane, rows.data(), g.Cg * g.KH,
                                          g.dw, blk, g.OH, g.OW, g.sh * g.Wp, g.sw,
                                          part_t.data() + t * tsize + (grp * nob + ob) * g.K * L);
          }
      } else if (pw && g.use_direct)
        for (int64_t grp = 0; grp < g.G; ++grp)
          for (int64_t o0 = 0; o0 < g.Og; o0 += mr) {
            const int64_t m = std::min(mr, g.Og - o0);
            convdirect::wgrad_block<T, VB>(static_cast<int>(m), dyb + (grp * g.Og + o0) * ldd, ldd,
                                           g.O * ldd, xp + grp * g.Cg * g.plane, xs, koff.data(),
                                           g.K, static_cast<int>(nb), ldd,
                                           pw + (grp * g.Og + o0) * g.K, g.K);
          }
    }
  });
  if (ovec) {
    // dw[grp·Og + o][k] = Σ_threads dwt[grp][o / L][k][o % L]
    for (int64_t grp = 0; grp < g.G; ++grp)
      for (int64_t o = 0; o < g.Og; ++o)
        for (int64_t k = 0; k < g.K; ++k) {
          T v = 0;
          for (int t = 0; t < nt; ++t)
            v += part_t[t * tsize + ((grp * nob + o / L) * g.K + k) * L + o % L];
          dw[(grp * g.Og + o) * g.K + k] = v;
        }
  }
  add_partials(part_w, wsize, ovec ? nullptr : dw, part_b, g.O, db, nt);
}

// y = conv(x, W) + b (ReLU optional):
//   dx = col2im(Wᵀ · dy'),  dW = Σ_n dy'_n · im2col(x_n)ᵀ,  db = Σ_{n,p} dy',
//   where dy' = dy · [y > 0] with the fused ReLU, else dy.
class ConvBackward : public Node {
 public:
  const char* nm;
  ConvGeom geom;
  Shape x_shape, w_shape;
  bool has_bias = false, relu = false;
  SavedTensor x, w, y;  // x, w contiguous; y only with the fused ReLU
  explicit ConvBackward(const char* n) : nm(n) {}
  std::string name() const override { return nm; }
  void release() override {
    x.reset();
    w.reset();
    y.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const size_t nin = has_bias ? 3 : 2;
    if (!grads[0].defined()) return std::vector<Tensor>(nin);
    const bool need_x = next_edges[0].valid(), need_w = next_edges[1].valid();
    const bool need_b = has_bias && next_edges[2].valid();
    Tensor ws = w.get(nm);
    Tensor xs = need_w ? x.get(nm) : Tensor(), ys = relu ? y.get(nm) : Tensor();
    const DType dt = ws.dtype();
    Tensor dy = detail::contiguous_raw(grads[0]);
    Tensor dx = need_x ? make_tensor(x_shape, dt) : Tensor();
    Tensor dw = need_w ? make_tensor(w_shape, dt) : Tensor();
    Tensor db = need_b ? make_tensor(Shape{geom.O}, dt) : Tensor();
    SN_DISPATCH_FLOAT(dt, nm, [&] {
      using T = scalar_t;
      conv_backward<T>(geom, need_w ? xs.data_ptr<T>() : nullptr, ws.data_ptr<T>(),
                       relu ? ys.data_ptr<T>() : nullptr, dy.data_ptr<T>(),
                       need_x ? dx.data_ptr<T>() : nullptr, need_w ? dw.data_ptr<T>() : nullptr,
                       need_b ? db.data_ptr<T>() : nullptr);
    });
    if (has_bias) return {dx, dw, db};
    return {dx, dw};
  }
};

// The fields of g that follow from the sizes, stride, dilation, padding (ph_hi and pw_hi set) and
// output size: the im2col sizes and the path choice.
void finish_geom(ConvGeom& g) {
  g.K = g.Cg * g.KH * g.KW;
  g.P = g.OH * g.OW;
  g.HW = g.H * g.W;
  g.direct = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
             g.ph_hi == 0 && g.pw_hi == 0;
  g.Hp = g.H + g.ph + g.ph_hi;
  g.Wp = g.W + g.pw + g.pw_hi;
  g.plane = g.Hp * g.Wp;
  g.PE = g.OH * g.Wp;
  // tiles may run past the last position by up to one tile width (kMaxTile), reading zeros
  g.slack = g.dw * (g.KW - 1) + convdirect::kMaxTile<float>;
  g.ldo = g.PE + convdirect::kMaxTile<float>;
  g.ldd = (g.PE + 15) / 16 * 16;
  // extended rows pay Wp / OW times the GEMM work: worth it while the junk is at most half
  g.ext = !g.direct && g.sh == 1 && g.sw == 1 && 2 * (g.Wp - g.OW) <= g.OW;
  // direct kernels: no cache blocking over K, so only for small channel counts
  g.use_direct = g.ext && g.Og <= 32 && g.K <= 1024;
}

// The geometry of a conv2d over x [N, C, H, W] with O output channels in G groups, a KH×KW
// kernel, stride s, dilation d and padding lo (top/left) and hi (bottom/right), as {h, w} pairs.
ConvGeom make_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t G, int64_t KH,
                   int64_t KW, std::array<int64_t, 2> s, std::array<int64_t, 2> d,
                   std::array<int64_t, 2> lo, std::array<int64_t, 2> hi) {
  ConvGeom g{};
  g.N = N;
  g.C = C;
  g.O = O;
  g.G = G;
  g.Cg = C / G;
  g.Og = O / G;
  g.H = H;
  g.W = W;
  g.KH = KH;
  g.KW = KW;
  g.sh = s[0];
  g.sw = s[1];
  g.dh = d[0];
  g.dw = d[1];
  g.ph = lo[0];
  g.pw = lo[1];
  const int64_t phi = hi[0], pwi = hi[1];
  g.OH = (g.H + g.ph + phi - g.dh * (g.KH - 1) - 1) / g.sh + 1;
  g.OW = (g.W + g.pw + pwi - g.dw * (g.KW - 1) - 1) / g.sw + 1;
  g.ph_hi = phi;
  g.pw_hi = pwi;
  finish_geom(g);
  return g;
}

// "[a, b]" for the spatial part of a shape, for error messages.
Shape spatial_of(const Shape& s, int from) { return Shape(s.begin() + from, s.end()); }

// Shared by conv1d and conv2d: `sd` spatial dims (1 or 2), x batched.
Tensor conv_impl(const char* op, int sd, const Tensor& x, const Tensor& w, const Tensor& b,
                 const ConvOptions& o) {
  const char* wlayout = sd == 1 ? "[out_channels, in_channels / groups, K]"
                                : "[out_channels, in_channels / groups, KH, KW]";
  SN_CHECK(w.defined(), ValueError, op, ": weight tensor is undefined");
  SN_CHECK(w.dim() == sd + 2, ShapeError, op, ": weight must be ", sd + 2, "-D ", wlayout, " (got ",
           w.shape(), ")");
  SN_CHECK(w.dtype() == x.dtype(), DTypeError, op, ": dtype mismatch (input ", x.dtype(),
           ", weight ", w.dtype(), "); hint: convert one with .to()");
  SN_CHECK(o.groups >= 1, ValueError, op, ": groups must be at least 1 (got ", o.groups, ")");
  const int64_t O = w.shape()[0], Cg = w.shape()[1], C = x.shape()[1];
  for (int d = 0; d < w.dim(); ++d)
    SN_CHECK(w.shape()[d] >= 1, ShapeError, op, ": weight ", w.shape(), " has an empty dim");
  SN_CHECK(O % o.groups == 0, ValueError, op, ": groups (", o.groups,
           ") must divide the output channels (", O, ") of weight ", w.shape());
  SN_CHECK(C % o.groups == 0, ValueError, op, ": groups (", o.groups,
           ") must divide the input channels (", C, ") of input ", x.shape());
  if (C != Cg * o.groups) {
    std::string expect = sd == 1 ? detail::concat("[N, ", Cg * o.groups, ", L]")
                                 : detail::concat("[N, ", Cg * o.groups, ", H, W]");
    SN_THROW(
        ShapeError, op, ": expected input ", expect, " for weight ", w.shape(),
        o.groups > 1 ? detail::concat(" and groups ", o.groups) : std::string(), ", got ",
        x.shape(),
        Cg * o.groups != C && C == O ? "; hint: are the weight's first two dims swapped?" : "");
  }
  if (b.defined()) {
    SN_CHECK(b.dim() == 1 && b.shape()[0] == O, ShapeError, op, ": bias must be [", O,
             "] for weight ", w.shape(), " (got ", b.shape(), ")");
    SN_CHECK(b.dtype() == x.dtype(), DTypeError, op, ": dtype mismatch (input ", x.dtype(),
             ", bias ", b.dtype(), ")");
  }
  const std::vector<int64_t> stride = o.stride.per_dim(sd, op, "stride");
  const std::vector<int64_t> dil = o.dilation.per_dim(sd, op, "dilation");
  for (int d = 0; d < sd; ++d) {
    SN_CHECK(stride[d] >= 1, ValueError, op, ": stride must be positive (got ", Shape(stride), ")");
    SN_CHECK(dil[d] >= 1, ValueError, op, ": dilation must be positive (got ", Shape(dil), ")");
  }
  std::vector<int64_t> lo(sd), hi(sd);
  if (o.padding.same()) {
    for (int d = 0; d < sd; ++d) {
      SN_CHECK(stride[d] == 1, ValueError, op, ": padding \"same\" needs stride 1 (got ",
               Shape(stride), "); hint: give the padding as numbers");
      const int64_t total = dil[d] * (w.shape()[2 + d] - 1);
      lo[d] = total / 2;
      hi[d] = total - lo[d];
    }
  } else {
    lo = hi = o.padding.values().per_dim(sd, op, "padding");
    for (int d = 0; d < sd; ++d)
      SN_CHECK(lo[d] >= 0, ValueError, op, ": padding must be non-negative (got ", Shape(lo), ")");
  }
  Shape in_sp = spatial_of(x.shape(), 2), k_sp = spatial_of(w.shape(), 2), padded, dilated;
  for (int d = 0; d < sd; ++d) {
    padded.push_back(in_sp[d] + lo[d] + hi[d]);
    dilated.push_back(dil[d] * (k_sp[d] - 1) + 1);
  }
  for (int d = 0; d < sd; ++d)
    SN_CHECK(dilated[d] <= padded[d], ShapeError, op, ": kernel ", k_sp,
             dilated != k_sp ? detail::concat(" (dilated ", dilated, ")") : std::string(),
             " is larger than the padded input ", padded, " (input ", in_sp, ", padding ",
             Shape(lo), o.padding.same() ? detail::concat(" + ", Shape(hi)) : std::string(), ")");

  const int h = sd == 2 ? 0 : -1;  // index of the H dim among the spatial dims (-1: none)
  ConvGeom g = make_geom(
      x.shape()[0], C, h == 0 ? in_sp[0] : 1, in_sp[sd - 1], O, o.groups, h == 0 ? k_sp[0] : 1,
      k_sp[sd - 1], {h == 0 ? stride[0] : 1, stride[sd - 1]}, {h == 0 ? dil[0] : 1, dil[sd - 1]},
      {h == 0 ? lo[0] : 0, lo[sd - 1]}, {h == 0 ? hi[0] : 0, hi[sd - 1]});

  Shape out_shape{g.N, g.O};
  if (sd == 2) out_shape.push_back(g.OH);
  out_shape.push_back(g.OW);
  Tensor xc = detail::contiguous_raw(x), wc = detail::contiguous_raw(w);
  Tensor bc = b.defined() ? detail::contiguous_raw(b) : Tensor();
  Tensor out = make_tensor(out_shape, x.dtype());
  if (out.numel() > 0)
    SN_DISPATCH_FLOAT(x.dtype(), op, [&] {
      using T = scalar_t;
      conv_forward<T>(g, xc.data_ptr<T>(), wc.data_ptr<T>(),
                      bc.defined() ? bc.data_ptr<T>() : nullptr, out.data_ptr<T>(), o.relu);
    });

  const bool hb = b.defined();
  if (hb ? any_requires_grad({&x, &w, &b}) : any_requires_grad({&x, &w})) {
    auto node = std::make_shared<ConvBackward>(sd == 1 ? "Conv1dBackward" : "Conv2dBackward");
    node->geom = g;
    node->x_shape = x.shape();
    node->w_shape = w.shape();
    node->has_bias = hb;
    node->relu = o.relu;
    if (w.requires_grad()) node->x = SavedTensor(xc);
    node->w = SavedTensor(wc);  // the dx GEMM reads W; dW reads only x
    if (hb)
      connect(node, {&x, &w, &b}, {&out});
    else
      connect(node, {&x, &w}, {&out});
    if (o.relu) node->y = SavedTensor(out);
  }
  return out;
}

Tensor conv_entry(const char* op, int sd, const Tensor& x, const Tensor& w, const Tensor& b,
                  const ConvOptions& o) {
  const bool batched = convops::check_input(x, sd, op, sd == 1 ? "[N, C, L]" : "[N, C, H, W]");
  if (!batched) return conv_impl(op, sd, x.unsqueeze(0), w, b, o).squeeze(0);
  return conv_impl(op, sd, x, w, b, o);
}

// ============================================================== conv_transpose2d
// y = conv_transpose(x, W) + b is the backward-data of a conv2d c(z) = conv(z, W) over z of y's
// shape: y = cᵀ(x) = col2im(Wᵀ · x). So the forward pass is conv_backward's dx, and
//   dx = c(dy) = conv(dy, W),  dW = Σ_n x_n · im2col(dy_n)ᵀ (conv's dW with the roles of input
//   and output gradient swapped),  db = Σ_{n,p} dy.
// `g` is the geometry of that conv: input y [N, C_out, H_out, W_out], output x [N, C_in, H, W].
template <typename T>
void add_bias(T* y, const T* b, int64_t N, int64_t C, int64_t P) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      T* d = y + (n * C + c) * P;
      for (int64_t i = 0; i < P; ++i) d[i] += b[c];
    }
}

class ConvTranspose2dBackward : public Node {
 public:
  ConvGeom geom;
  Shape x_shape, w_shape;
  bool has_bias = false;
  SavedTensor x, w;  // contiguous; x only when W needs its gradient
  std::string name() const override { return "ConvTranspose2dBackward"; }
  void release() override {
    x.reset();
    w.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const char* nm = "ConvTranspose2dBackward";
    const size_t nin = has_bias ? 3 : 2;
    if (!grads[0].defined()) return std::vector<Tensor>(nin);
    const bool need_x = next_edges[0].valid(), need_w = next_edges[1].valid();
    const bool need_b = has_bias && next_edges[2].valid();
    Tensor ws = w.get(nm), xs = need_w ? x.get(nm) : Tensor();
    const DType dt = ws.dtype();
    Tensor dy = detail::contiguous_raw(grads[0]);
    Tensor dx = need_x ? make_tensor(x_shape, dt) : Tensor();
    Tensor dw = need_w ? make_tensor(w_shape, dt) : Tensor();
    Tensor db = need_b ? make_tensor(Shape{geom.C}, dt) : Tensor();
    const ConvGeom& g = geom;
    SN_DISPATCH_FLOAT(dt, nm, [&] {
      using T = scalar_t;
      if (need_x)
        conv_forward<T>(g, dy.data_ptr<T>(), ws.data_ptr<T>(), nullptr, dx.data_ptr<T>(), false);
      if (need_w)
        conv_backward<T>(g, dy.data_ptr<T>(), ws.data_ptr<T>(), nullptr, xs.data_ptr<T>(), nullptr,
                         dw.data_ptr<T>(), nullptr);
      if (need_b) {
        const T* d = dy.data_ptr<T>();
        T* out = db.data_ptr<T>();
        for (int64_t c = 0; c < g.C; ++c) {
          double s = 0;
          for (int64_t n = 0; n < g.N; ++n) s += sum_n(d + (n * g.C + c) * g.HW, g.HW);
          out[c] = static_cast<T>(s);
        }
      }
    });
    if (has_bias) return {dx, dw, db};
    return {dx, dw};
  }
};

// x batched [N, C_in, H, W].
Tensor conv_transpose2d_impl(const Tensor& x, const Tensor& w, const Tensor& b,
                             const ConvTransposeOptions& o) {
  const char* op = "conv_transpose2d";
  SN_CHECK(w.defined(), ValueError, op, ": weight tensor is undefined");
  SN_CHECK(w.dim() == 4, ShapeError, op,
           ": weight must be 4-D [in_channels, out_channels / groups, KH, KW] (got ", w.shape(),
           ")");
  SN_CHECK(w.dtype() == x.dtype(), DTypeError, op, ": dtype mismatch (input ", x.dtype(),
           ", weight ", w.dtype(), "); hint: convert one with .to()");
  SN_CHECK(o.groups >= 1, ValueError, op, ": groups must be at least 1 (got ", o.groups, ")");
  for (int d = 0; d < 4; ++d)
    SN_CHECK(w.shape()[d] >= 1, ShapeError, op, ": weight ", w.shape(), " has an empty dim");
  const int64_t Cin = x.shape()[1], G = o.groups, Cout = w.shape()[1] * G;
  SN_CHECK(Cin % G == 0, ValueError, op, ": groups (", G, ") must divide the input channels (", Cin,
           ") of input ", x.shape());
  SN_CHECK(w.shape()[0] == Cin, ShapeError, op, ": expected input [N, ", w.shape()[0],
           ", H, W] for weight ", w.shape(),
           " ([in_channels, out_channels / groups, KH, KW]), got ", x.shape(),
           w.shape()[1] * G == Cin ? "; hint: are the weight's first two dims swapped?" : "");
  if (b.defined()) {
    SN_CHECK(b.dim() == 1 && b.shape()[0] == Cout, ShapeError, op, ": bias must be [", Cout,
             "] for weight ", w.shape(), G > 1 ? detail::concat(" and groups ", G) : std::string(),
             " (got ", b.shape(), ")");
    SN_CHECK(b.dtype() == x.dtype(), DTypeError, op, ": dtype mismatch (input ", x.dtype(),
             ", bias ", b.dtype(), ")");
  }
  const std::vector<int64_t> s = o.stride.per_dim(2, op, "stride");
  const std::vector<int64_t> d = o.dilation.per_dim(2, op, "dilation");
  const std::vector<int64_t> p = o.padding.per_dim(2, op, "padding");
  const std::vector<int64_t> op_ = o.output_padding.per_dim(2, op, "output_padding");
  for (int i = 0; i < 2; ++i) {
    SN_CHECK(s[i] >= 1, ValueError, op, ": stride must be positive (got ", Shape(s), ")");
    SN_CHECK(d[i] >= 1, ValueError, op, ": dilation must be positive (got ", Shape(d), ")");
    SN_CHECK(p[i] >= 0, ValueError, op, ": padding must be non-negative (got ", Shape(p), ")");
    SN_CHECK(op_[i] >= 0 && (op_[i] < s[i] || op_[i] < d[i]), ValueError, op,
             ": output_padding must be smaller than stride or dilation (got output_padding ",
             Shape(op_), ", stride ", Shape(s), ", dilation ", Shape(d), ")");
  }
  const int64_t H = x.shape()[2], W = x.shape()[3], KH = w.shape()[2], KW = w.shape()[3];
  const int64_t OH = (H - 1) * s[0] - 2 * p[0] + d[0] * (KH - 1) + op_[0] + 1;
  const int64_t OW = (W - 1) * s[1] - 2 * p[1] + d[1] * (KW - 1) + op_[1] + 1;
  SN_CHECK(OH >= 1 && OW >= 1, ShapeError, op, ": output would be empty ([", OH, ", ", OW,
           "]) for input ", x.shape(), ", weight ", w.shape(), ", padding ", Shape(p),
           "; hint: use less padding");
  // the conv whose adjoint this is: from y [N, Cout, OH, OW] to x [N, Cin, H, W]; its own output
  // size rule may give one more row/column when output_padding >= stride, so it is set to H, W
  ConvGeom g = make_geom(x.shape()[0], Cout, OH, OW, Cin, G, KH, KW, {s[0], s[1]}, {d[0], d[1]},
                         {p[0], p[1]}, {p[0], p[1]});
  g.OH = H;
  g.OW = W;
  finish_geom(g);

  Tensor xc = detail::contiguous_raw(x), wc = detail::contiguous_raw(w);
  Tensor bc = b.defined() ? detail::contiguous_raw(b) : Tensor();
  Tensor out = make_tensor(Shape{g.N, Cout, OH, OW}, x.dtype());
  if (out.numel() > 0) {
    SN_DISPATCH_FLOAT(x.dtype(), op, [&] {
      using T = scalar_t;
      if (x.numel() > 0)
        conv_backward<T>(g, nullptr, wc.data_ptr<T>(), nullptr, xc.data_ptr<T>(), out.data_ptr<T>(),
                         nullptr, nullptr);
      else
        std::fill(out.data_ptr<T>(), out.data_ptr<T>() + out.numel(), T(0));
      if (bc.defined()) add_bias(out.data_ptr<T>(), bc.data_ptr<T>(), g.N, Cout, OH * OW);
    });
  }
  const bool hb = b.defined();
  if (hb ? any_requires_grad({&x, &w, &b}) : any_requires_grad({&x, &w})) {
    auto node = std::make_shared<ConvTranspose2dBackward>();
    node->geom = g;
    node->x_shape = x.shape();
    node->w_shape = w.shape();
    node->has_bias = hb;
    if (w.requires_grad()) node->x = SavedTensor(xc);
    node->w = SavedTensor(wc);
    if (hb)
      connect(node, {&x, &w, &b}, {&out});
    else
      connect(node, {&x, &w}, {&out});
  }
  return out;
}
}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvOptions opts) {
  return conv_entry("conv1d", 1, x, weight, bias, opts);
}
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvOptions opts) {
  return conv_entry("conv2d", 2, x, weight, bias, opts);
}
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvOptions opts) {
  opts.relu = true;
  return conv_entry("conv2d", 2, x, weight, bias, opts);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        ConvTransposeOptions opts) {
  const bool batched = convops::check_input(x, 2, "conv_transpose2d", "[N, C, H, W]");
  if (!batched) return conv_transpose2d_impl(x.unsqueeze(0), weight, bias, opts).squeeze(0);
  return conv_transpose2d_impl(x, weight, bias, opts);
}

}  // namespace sn
