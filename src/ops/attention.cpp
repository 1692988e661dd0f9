// Fused scaled dot-product attention: forward and backward CPU kernels in the
// FlashAttention-2 scheme (query tiles against key tiles, online softmax;
// forward keeps only each row's log-sum-exp and backward recomputes the weights
// tile by tile), one OpenMP task per (batch, head). The composed matmul/softmax
// version stays in the tests as the reference. Not here: the module-level masks
// of PyTorch 1.13 (MultiheadAttention converts them).
#include "sinapsis/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "backend/cpu/loops.h"
#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::connect;
using detail::make_tensor;

namespace {

// Dimension legend: BH = batch·heads (the flattened batch dims), L queries, S
// keys, E the query/key width, Ev the value width. Tiles: BQ query rows against
// BK keys.
constexpr int64_t BQ = 32, BK = 32;

struct Geom {
  int64_t BH = 0, L = 0, S = 0, E = 0, Ev = 0;
  double scale = 1.0;
  bool causal = false;
  double keep = 1.0;  // 1 - dropout
  uint64_t seed = 0;  // dropout stream (one draw from sn's generator per call)
  bool dropout = false;
  // last key that query i may see (inclusive) under the causal mask
  int64_t causal_last(int64_t i) const { return S - L + i; }
};

// The attention mask as seen by the kernels: element (bh, i, j) is at
// data[off[bh] + i·sl + j·ss] (strides 0 where it broadcasts). kind: 0 none, 1
// bool (true = takes part), 2 additive.
struct MaskRef {
  int kind = 0;
  const void* data = nullptr;
  std::vector<int64_t> off;
  int64_t sl = 0, ss = 0;
};

// Element offset of each flattened batch index (all dims but the last two) of
// `t`.
std::vector<int64_t> batch_offsets(const Tensor& t) {
  const int nd = t.dim();
  int64_t count = 1;
  for (int d = 0; d < nd - 2; ++d) count *= t.shape()[d];
  std::vector<int64_t> off(count, 0);
  for (int64_t b = 0; b < count; ++b) {
    int64_t rest = b, o = 0;
    for (int d = nd - 3; d >= 0; --d) {
      o += (rest % t.shape()[d]) * t.strides()[d];
      rest /= t.shape()[d];
    }
    off[b] = o;
  }
  return off;
}

// Expands `m` (bool, or float of the inputs' dtype; contiguous) to [batch...,
// L, S].
MaskRef mask_ref(const Tensor& m, const Shape& full) {
  MaskRef r;
  if (!m.defined()) return r;
  r.kind = m.dtype() == kBool ? 1 : 2;
  Tensor e = detail::expand_raw(m, full);
  r.data = e.raw_data();
  const int nd = full.size();
  r.sl = e.strides()[nd - 2];
  r.ss = e.strides()[nd - 1];
  r.off = batch_offsets(e);
  return r;
}

// A matrix per (batch, head) inside a tensor [batch..., R, C] whose last dim is
// contiguous: row i of head bh starts at base + off[bh] + i·ld. q, k, v may so
// be strided views (the heads of a [B, T, 3C] projection) and are read in
// place, without a copy.
template <typename T>
struct Rows {
  T* base = nullptr;
  std::vector<int64_t> off;
  int64_t ld = 0;
  T* at(int64_t bh) const { return base + off[bh]; }
};
template <typename T>
Rows<T> rows_of(const Tensor& t) {
  Rows<T> r;
  r.base = static_cast<T*>(t.raw_data());
  r.off = batch_offsets(t);
  r.ld = t.strides()[t.dim() - 2];
  return r;
}
// t itself when its last dim is contiguous, else a contiguous copy.
Tensor last_dim_dense(const Tensor& t) {
  return t.size(-1) <= 1 || t.stride(-1) == 1 ? t : detail::contiguous_raw(t);
}
// A new [.., R, C] tensor; [B, H, R, C] laid out as [B, R, H, C] (returned as
// that view) when `like` is so laid out: a [B, T, H, hd] head split stays free
// to merge back.
Tensor alloc_like(const Tensor& like, const Shape& shape, DType dt) {
  if (shape.size() == 4 && like.dim() == 4 && like.shape() == shape && shape[1] > 1 &&
      like.stride(1) < like.stride(2)) {
    Tensor t = make_tensor(Shape{shape[0], shape[2], shape[1], shape[3]}, dt);
    return detail::make_view(
        t, shape, Shape{shape[2] * shape[1] * shape[3], shape[3], shape[1] * shape[3], 1}, 0);
  }
  return make_tensor(shape, dt);
}

// Counter-based dropout: element (bh, i, j) is kept iff hash(seed + index) <
// keep, so backward regenerates the same mask without storing it, whatever the
// thread split.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
inline bool dropout_keeps(const Geom& g, int64_t bh, int64_t i, int64_t j) {
  const uint64_t idx = (static_cast<uint64_t>(bh) * g.L + i) * g.S + j;
  const double u = static_cast<double>(mix64(g.seed + idx) >> 11) * 0x1.0p-53;
  return u < g.keep;
}

template <typename T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

// Key range a query tile [i0, i0 + m) needs: [0, end).
inline int64_t key_end(const Geom& g, int64_t i0, int64_t m) {
  if (!g.causal) return g.S;
  return std::clamp<int64_t>(g.causal_last(i0 + m - 1) + 1, 0, g.S);
}

// C[M][N] = (accumulate ? C : 0) + A·B with B row-major [K][N] (row stride
// ldb), C row stride ldc, and A(i, k) = ta ? A[k·lda + i] : A[i·lda + k]: the
// tile products of both kernels. float: 4 rows x 32 columns of accumulators in
// registers (GCC vector types, so AVX-512 or AVX2 in with_level's clones); double
// (gradcheck) and the column tails: plain loops.
// The 64-byte vectors below never cross a function boundary once inlined; on the baseline build
// GCC notes that passing them by value would differ from an AVX-512 build's ABI: not an issue.
#pragma GCC diagnostic ignored "-Wpsabi"
template <typename T>
void tile_gemm(bool accumulate, int64_t M, int64_t N, int64_t K, const T* __restrict A, int64_t lda,
               bool ta, const T* __restrict B, int64_t ldb, T* __restrict C, int64_t ldc) {
  auto a_at = [&](int64_t i, int64_t k) { return ta ? A[k * lda + i] : A[i * lda + k]; };
  int64_t j_done = 0;
  if constexpr (std::is_same_v<T, float>) {
    typedef float v16 __attribute__((vector_size(64)));
    auto ld = [](const float* p) {
      v16 v;
      std::memcpy(&v, p, sizeof v);
      return v;
    };
    auto st = [](float* p, v16 v) { std::memcpy(p, &v, sizeof v); };
    j_done = N / 32 * 32;
    for (int64_t i0 = 0; i0 < M; i0 += 4) {
      const int64_t mr = std::min<int64_t>(4, M - i0);
      int64_t rows[4];
      for (int r = 0; r < 4; ++r) rows[r] = i0 + std::min<int64_t>(r, mr - 1);
      for (int64_t j0 = 0; j0 < j_done; j0 += 32) {
        v16 c[4][2];
        for (int r = 0; r < 4; ++r) {
          c[r][0] = accumulate ? ld(C + rows[r] * ldc + j0) : v16{};
          c[r][1] = accumulate ? ld(C + rows[r] * ldc + j0 + 16) : v16{};
        }
        for (int64_t k = 0; k < K; ++k) {
          const v16 b0 = ld(B + k * ldb + j0), b1 = ld(B + k * ldb + j0 + 16);
          for (int r = 0; r < 4; ++r) {
            const float a = a_at(rows[r], k);
            c[r][0] += a * b0;
            c[r][1] += a * b1;
          }
        }
        for (int r = 0; r < mr; ++r) {
          st(C + rows[r] * ldc + j0, c[r][0]);
          st(C + rows[r] * ldc + j0 + 16, c[r][1]);
        }
      }
    }
  }
  if (j_done == N) return;
  for (int64_t i = 0; i < M; ++i) {
    T* __restrict cr = C + i * ldc;
    if (!accumulate)
      for (int64_t j = j_done; j < N; ++j) cr[j] = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const T a = a_at(i, k);
      const T* __restrict br = B + k * ldb;
      for (int64_t j = j_done; j < N; ++j) cr[j] += a * br[j];
    }
  }
}

// s[r][c] = scale·Q[i0 + r]·K[j0 + c] (+ mask), -inf where masked, for an m x n
// tile (row stride BK). Kt is K transposed, [E][S].
template <typename T>
void tile_scores(const Geom& g, const MaskRef& mk, int64_t bh, const T* Q, int64_t ldq, const T* Kt,
                 int64_t i0, int64_t m, int64_t j0, int64_t n, T* s) {
  tile_gemm<T>(false, m, n, g.E, Q + i0 * ldq, ldq, false, Kt + j0, g.S, s, BK);
  const T sc = static_cast<T>(g.scale);
  for (int64_t r = 0; r < m; ++r) {
    T* __restrict sr = s + r * BK;
    for (int64_t c = 0; c < n; ++c) sr[c] *= sc;
    const int64_t i = i0 + r;
    if (mk.kind == 1) {
      const bool* mb = static_cast<const bool*>(mk.data) + mk.off[bh] + i * mk.sl + j0 * mk.ss;
      for (int64_t c = 0; c < n; ++c) sr[c] = mb[c * mk.ss] ? sr[c] : kNegInf<T>;
    } else if (mk.kind == 2) {
      const T* mf = static_cast<const T*>(mk.data) + mk.off[bh] + i * mk.sl + j0 * mk.ss;
      for (int64_t c = 0; c < n; ++c) sr[c] += mf[c * mk.ss];
    }
    if (g.causal) {
      const int64_t first_out = std::max<int64_t>(g.causal_last(i) + 1 - j0, 0);
      for (int64_t c = first_out; c < n; ++c) sr[c] = kNegInf<T>;
    }
  }
}

// Row reductions written as 16 independent lanes, so that GCC vectorises them
// (a single running max or sum is a serial chain: floating-point max/add are
// not reassociated).
template <typename T>
T row_max(const T* __restrict x, int64_t n) {
  T lane[16];
  for (int l = 0; l < 16; ++l) lane[l] = kNegInf<T>;
  int64_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int l = 0; l < 16; ++l) lane[l] = x[c + l] > lane[l] ? x[c + l] : lane[l];
  T mx = kNegInf<T>;
  for (; c < n; ++c) mx = x[c] > mx ? x[c] : mx;
  for (int l = 0; l < 16; ++l) mx = lane[l] > mx ? lane[l] : mx;
  return mx;
}
// x[c] = e^{x[c] - m} in place; returns Σ x[c].
template <typename T>
T exp_sub_sum(T* __restrict x, int64_t n, T m) {
  T lane[16] = {};
  int64_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int l = 0; l < 16; ++l) {
      const T p = cpu::vexp<T>(x[c + l] - m);
      x[c + l] = p;
      lane[l] += p;
    }
  T sum = 0;
  for (; c < n; ++c) {
    x[c] = cpu::vexp<T>(x[c] - m);
    sum += x[c];
  }
  for (int l = 0; l < 16; ++l) sum += lane[l];
  return sum;
}

// A [rows][cols] row-major copy of src's transpose.
template <typename T>
void transpose_into(const T* __restrict src, int64_t rows, int64_t cols, int64_t ld,
                    T* __restrict dst) {
  constexpr int64_t kB = 16;  // 16 x 16 blocks: both sides stay in a few cache lines
  for (int64_t r0 = 0; r0 < rows; r0 += kB)
    for (int64_t c0 = 0; c0 < cols; c0 += kB) {
      const int64_t r1 = std::min(rows, r0 + kB), c1 = std::min(cols, c0 + kB);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * ld + c];
    }
}

// Forward of one (batch, head): online softmax over key tiles.
//   per row: m = running max, l = running Σ e^{s - m}, acc = Σ e^{s - m}·z·v
//   (z: dropout/keep) out = acc / l, lse = m + log l; a row with no visible key
//   gives out = 0, lse = -inf.
template <typename T>
void attention_forward_bh(const Geom& g, const MaskRef& mk, int64_t bh, const Rows<const T>& q,
                          const Rows<const T>& k, const Rows<const T>& v, const Rows<T>& o, T* lse,
                          std::vector<T>& buf) {
  const T *Q = q.at(bh), *K = k.at(bh), *V = v.at(bh);
  T* O = o.at(bh);
  const int64_t E = g.E, Ev = g.Ev, S = g.S;
  buf.resize(E * S + BQ * BK + BQ * Ev + 2 * BQ);
  T* Kt = buf.data();
  T* s = Kt + E * S;
  T* acc = s + BQ * BK;
  T* mrow = acc + BQ * Ev;
  T* lrow = mrow + BQ;
  transpose_into(K, S, E, k.ld, Kt);
  const T inv_keep = g.keep > 0 ? static_cast<T>(1.0 / g.keep) : T(0);
  for (int64_t i0 = 0; i0 < g.L; i0 += BQ) {
    const int64_t m = std::min(BQ, g.L - i0);
    std::fill(acc, acc + m * Ev, T(0));
    std::fill(mrow, mrow + m, kNegInf<T>);
    std::fill(lrow, lrow + m, T(0));
    const int64_t jend = key_end(g, i0, m);
    for (int64_t j0 = 0; j0 < jend; j0 += BK) {
      const int64_t n = std::min(BK, jend - j0);
      tile_scores(g, mk, bh, Q, q.ld, Kt, i0, m, j0, n, s);
      for (int64_t r = 0; r < m; ++r) {
        T* __restrict sr = s + r * BK;
        const T m_new = std::max(mrow[r], row_max(sr, n));
        if (m_new == kNegInf<T>) {  // nothing visible yet: acc and l stay 0
          std::fill(sr, sr + n, T(0));
          continue;
        }
        const T alpha = cpu::vexp<T>(mrow[r] - m_new);
        const T sum = exp_sub_sum(sr, n, m_new);
        lrow[r] = lrow[r] * alpha + sum;
        mrow[r] = m_new;
        if (alpha != T(1)) {
          T* __restrict ar = acc + r * Ev;
          for (int64_t e = 0; e < Ev; ++e) ar[e] *= alpha;
        }
        if (g.dropout)
          for (int64_t c = 0; c < n; ++c)
            sr[c] = dropout_keeps(g, bh, i0 + r, j0 + c) ? sr[c] * inv_keep : T(0);
      }
      // acc += p·v over this key tile
      tile_gemm<T>(true, m, Ev, n, s, BK, false, V + j0 * v.ld, v.ld, acc, Ev);
    }
    for (int64_t r = 0; r < m; ++r) {
      T* __restrict orow = O + (i0 + r) * o.ld;
      const T* __restrict ar = acc + r * Ev;
      if (lrow[r] == T(0)) {
        std::fill(orow, orow + Ev, T(0));
        lse[i0 + r] = kNegInf<T>;
        continue;
      }
      const T inv = T(1) / lrow[r];
      for (int64_t e = 0; e < Ev; ++e) orow[e] = ar[e] * inv;
      lse[i0 + r] = mrow[r] + std::log(lrow[r]);
    }
  }
}

// Backward of one (batch, head). With s = scale·q·kᵀ + mask, p = softmax(s) =
// e^{s - lse}, pd = p·z (z = dropout keep/keep-probability factor), out = pd·v:
//   dv = pdᵀ·dout,  dpd = dout·vᵀ,  dp = dpd·z,
//   ds = p ⊙ (dp - D) with D_i = Σ_j p_ij·dp_ij = dout_i·out_i,
//   dq = scale·ds·k,  dk = scale·dsᵀ·q,  dmask = ds.
// dQ, dK, dV, dM may be null (not needed); those given are written in full.
template <typename T>
void attention_backward_bh(const Geom& g, const MaskRef& mk, int64_t bh, const Rows<const T>& q,
                           const Rows<const T>& k, const Rows<const T>& v, const Rows<const T>& o,
                           const Rows<const T>& go, const T* lse, const Rows<T>* dq,
                           const Rows<T>* dk, const Rows<T>* dv, T* dM, std::vector<T>& buf) {
  const T *Q = q.at(bh), *K = k.at(bh), *V = v.at(bh), *O = o.at(bh), *dO = go.at(bh);
  T* dQ = dq ? dq->at(bh) : nullptr;
  T* dK = dk ? dk->at(bh) : nullptr;
  T* dV = dv ? dv->at(bh) : nullptr;
  const int64_t ldq = q.ld, ldk = k.ld, ldo = o.ld, ldgo = go.ld;
  const int64_t lddq = dq ? dq->ld : 0, lddk = dk ? dk->ld : 0, lddv = dv ? dv->ld : 0;
  const int64_t E = g.E, Ev = g.Ev, S = g.S, L = g.L;
  buf.resize(E * S + Ev * S + 2 * BQ * BK + BQ);
  T* Kt = buf.data();
  T* Vt = Kt + E * S;
  T* p = Vt + Ev * S;
  T* dp = p + BQ * BK;
  T* D = dp + BQ * BK;
  transpose_into(K, S, E, ldk, Kt);
  transpose_into(V, S, Ev, v.ld, Vt);
  // dQ, dK and dV are not cleared first: the first tile product that reaches a row writes it,
  // rows that no tile reaches are zeroed at the end
  // (a causal key range may end inside a tile and reach further rows of it later: k_rows[t]
  // counts the rows of key tile t written so far)
  const int64_t n_ktiles = (S + BK - 1) / BK;
  std::vector<int64_t> k_rows(static_cast<size_t>(n_ktiles), 0);
  auto zero_k_rows = [&](int64_t j_begin, int64_t j_end) {
    for (int64_t j = j_begin; j < j_end; ++j) {
      if (dK) std::fill_n(dK + j * lddk, E, T(0));
      if (dV) std::fill_n(dV + j * lddv, Ev, T(0));
    }
  };
  if (dM) std::fill(dM, dM + L * S, T(0));
  const T sc = static_cast<T>(g.scale);
  const T inv_keep = g.keep > 0 ? static_cast<T>(1.0 / g.keep) : T(0);
  for (int64_t i0 = 0; i0 < L; i0 += BQ) {
    const int64_t m = std::min(BQ, L - i0);
    for (int64_t r = 0; r < m; ++r) {
      const T* __restrict a = dO + (i0 + r) * ldgo;
      const T* __restrict b = O + (i0 + r) * ldo;
      T lane[16] = {}, d = 0;
      int64_t e = 0;
      for (; e + 16 <= Ev; e += 16)
        for (int l = 0; l < 16; ++l) lane[l] += a[e + l] * b[e + l];
      for (; e < Ev; ++e) d += a[e] * b[e];
      for (int l = 0; l < 16; ++l) d += lane[l];
      D[r] = d;
    }
    const int64_t jend = key_end(g, i0, m);
    for (int64_t j0 = 0; j0 < jend; j0 += BK) {
      const int64_t n = std::min(BK, jend - j0);
      tile_scores(g, mk, bh, Q, ldq, Kt, i0, m, j0, n, p);
      // dpd = dout·vᵀ for the tile
      tile_gemm<T>(false, m, n, Ev, dO + i0 * ldgo, ldgo, false, Vt + j0, S, dp, BK);
      for (int64_t r = 0; r < m; ++r) {
        T* __restrict pr = p + r * BK;
        T* __restrict dr = dp + r * BK;
        const T l = lse[i0 + r];
        if (l == kNegInf<T>) {  // no visible key: the row is a constant 0
          std::fill(pr, pr + n, T(0));
          std::fill(dr, dr + n, T(0));
          continue;
        }
        for (int64_t c = 0; c < n; ++c) pr[c] = cpu::vexp<T>(pr[c] - l);
        const T Di = D[r];
        if (g.dropout) {
          // p becomes the dropped weights pd (for dv); dr becomes ds
          for (int64_t c = 0; c < n; ++c) {
            const T z = dropout_keeps(g, bh, i0 + r, j0 + c) ? inv_keep : T(0);
            const T pc = pr[c];
            dr[c] = pc * (dr[c] * z - Di);
            pr[c] = pc * z;
          }
        } else {
          for (int64_t c = 0; c < n; ++c) dr[c] = pr[c] * (dr[c] - Di);
        }
        if (dM) {
          T* __restrict mr = dM + (i0 + r) * S + j0;
          for (int64_t c = 0; c < n; ++c) mr[c] = dr[c];
        }
        for (int64_t c = 0; c < n; ++c) dr[c] *= sc;  // from here on: scale·ds
      }
      int64_t& written = k_rows[j0 / BK];
      const bool k_acc = written > 0;
      if (k_acc && written < n) zero_k_rows(j0 + written, j0 + n);
      written = std::max(written, n);
      if (dV)
        tile_gemm<T>(k_acc, n, Ev, m, p, BK, true, dO + i0 * ldgo, ldgo, dV + j0 * lddv, lddv);
      if (dK) tile_gemm<T>(k_acc, n, E, m, dp, BK, true, Q + i0 * ldq, ldq, dK + j0 * lddk, lddk);
      if (dQ) tile_gemm<T>(j0 > 0, m, E, n, dp, BK, false, K + j0 * ldk, ldk, dQ + i0 * lddq, lddq);
    }
    if (dQ && jend == 0)
      for (int64_t r = 0; r < m; ++r) std::fill_n(dQ + (i0 + r) * lddq, E, T(0));
  }
  for (int64_t t = 0; t < n_ktiles; ++t) zero_k_rows(t * BK + k_rows[t], std::min(S, (t + 1) * BK));
}

int attention_threads(const Geom& g) {
  const double work = static_cast<double>(g.BH) * g.L * g.S * (g.E + g.Ev);
  if (omp_in_parallel() || work < 1e5) return 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(cpu::num_threads(), g.BH)));
}

// Runs f(bh, buffer) for every (batch, head), one reusable scratch buffer per
// thread, compiled for the CPU's level (cpu::with_level: tile_gemm's vectors are
// AVX-512 or AVX2 there).
template <typename T, typename F>
void for_each_head(const Geom& g, F&& f) {
  const int nt = attention_threads(g);
  if (nt <= 1) {
    std::vector<T> buf;
    for (int64_t bh = 0; bh < g.BH; ++bh) cpu::with_level([&] { f(bh, buf); });
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    std::vector<T> buf;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < g.BH; ++bh) cpu::with_level([&] { f(bh, buf); });
  }
}

class ScaledDotProductAttentionBackward : public Node {
 public:
  Geom geom;
  Shape q_shape, k_shape, v_shape, mask_shape, full_q, full_k, full_v, full_m;
  SavedTensor q, k, v, out, mask;
  Tensor lse;  // [BH, L], internal
  bool mask_edge = false;
  std::string name() const override { return "ScaledDotProductAttentionBackward"; }
  void release() override {
    q.reset();
    k.reset();
    v.reset();
    out.reset();
    mask.reset();
    lse = Tensor();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const char* nm = "ScaledDotProductAttentionBackward";
    const size_t nin = 3 + (mask_edge ? 1 : 0);
    if (!grads[0].defined()) return std::vector<Tensor>(nin);
    Tensor qs = q.get(nm), ks = k.get(nm), vs = v.get(nm), os = out.get(nm);
    Tensor ms = mask.defined() ? mask.get(nm) : Tensor();
    Tensor dout = last_dim_dense(grads[0]);
    const DType dt = qs.dtype();
    const bool nq = next_edges[0].valid(), nk = next_edges[1].valid(), nv = next_edges[2].valid();
    const bool nm_ = mask_edge && next_edges[3].valid();
    // gradients in their input's layout when it is not broadcast (alloc_like)
    Tensor dq = nq ? alloc_like(qs, full_q, dt) : Tensor();
    Tensor dk = nk ? alloc_like(ks, full_k, dt) : Tensor();
    Tensor dv = nv ? alloc_like(vs, full_v, dt) : Tensor();
    Tensor dm = nm_ ? make_tensor(full_m, dt) : Tensor();
    const MaskRef mk = mask_ref(ms, full_m);
    const Geom& g = geom;
    SN_DISPATCH_FLOAT(dt, nm, [&] {
      using T = scalar_t;
      const Rows<const T> q = rows_of<const T>(detail::expand_raw(qs, full_q)),
                          k = rows_of<const T>(detail::expand_raw(ks, full_k)),
                          v = rows_of<const T>(detail::expand_raw(vs, full_v)),
                          o = rows_of<const T>(os), go = rows_of<const T>(dout);
      Rows<T> rdq, rdk, rdv;
      if (nq) rdq = rows_of<T>(dq);
      if (nk) rdk = rows_of<T>(dk);
      if (nv) rdv = rows_of<T>(dv);
      const T* LSE = lse.data_ptr<T>();
      T* pdm = nm_ ? dm.data_ptr<T>() : nullptr;
      for_each_head<T>(g, [&](int64_t bh, std::vector<T>& buf) {
        attention_backward_bh<T>(g, mk, bh, q, k, v, o, go, LSE + bh * g.L, nq ? &rdq : nullptr,
                                 nk ? &rdk : nullptr, nv ? &rdv : nullptr,
                                 pdm ? pdm + bh * g.L * g.S : nullptr, buf);
      });
    });
    if (nq && full_q != q_shape) dq = sum_to(dq, q_shape);
    if (nk && full_k != k_shape) dk = sum_to(dk, k_shape);
    if (nv && full_v != v_shape) dv = sum_to(dv, v_shape);
    if (nm_ && full_m != mask_shape) dm = sum_to(dm, mask_shape);
    std::vector<Tensor> res{dq, dk, dv};
    if (mask_edge) res.push_back(dm);
    return res;
  }
};

Shape with_last2(Shape batch, int64_t a, int64_t b) {
  batch.push_back(a);
  batch.push_back(b);
  return batch;
}

Shape batch_of(const Tensor& t) {
  Shape s = t.shape();
  s.pop_back();
  s.pop_back();
  return s;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const char* op = "scaled_dot_product_attention";
  SN_CHECK(q.defined() && k.defined() && v.defined(), ValueError, op,
           ": query, key and value must be defined");
  SN_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, ShapeError, op,
           ": expected query [..., L, E], key [..., S, E] and value [..., S, "
           "Ev], got ",
           q.shape(), ", ", k.shape(), " and ", v.shape());
  SN_CHECK(is_floating(q.dtype()), DTypeError, op, ": expected a floating-point query, got ",
           q.dtype(), "; hint: convert with .to(sn::kFloat32)");
  SN_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), DTypeError, op,
           ": query, key and value must have one dtype (got ", q.dtype(), ", ", k.dtype(), ", ",
           v.dtype(), ")");
  const int64_t L = q.size(-2), E = q.size(-1), S = k.size(-2), Ev = v.size(-1);
  SN_CHECK(k.size(-1) == E, ShapeError, op, ": query ", q.shape(), " and key ", k.shape(),
           " must have the same last dim (", E, " != ", k.size(-1), ")");
  SN_CHECK(v.size(-2) == S, ShapeError, op, ": key ", k.shape(), " and value ", v.shape(),
           " must have the same number of positions (", S, " != ", v.size(-2), ")");
  SN_CHECK(E >= 1, ShapeError, op, ": query ", q.shape(), " has an empty feature dim");
  const Shape batch =
      broadcast_shapes(broadcast_shapes(batch_of(q), batch_of(k), op), batch_of(v), op);
  SN_CHECK(options.dropout >= 0.0 && options.dropout <= 1.0, ValueError, op,
           ": dropout must be in [0, 1] (got ", options.dropout, ")");
  const double scale = options.scale ? *options.scale : 1.0 / std::sqrt(static_cast<double>(E));
  SN_CHECK(std::isfinite(scale), ValueError, op, ": scale must be finite (got ", scale, ")");

  const DType dt = q.dtype();
  const Shape full_q = with_last2(batch, L, E), full_k = with_last2(batch, S, E),
              full_v = with_last2(batch, S, Ev), full_m = with_last2(batch, L, S);
  Tensor mask;  // bool, or float in dt; contiguous (broadcast through strides in
                // mask_ref)
  const Tensor& am = options.attn_mask;
  if (am.defined()) {
    SN_CHECK(am.dtype() == kBool || is_floating(am.dtype()), DTypeError, op,
             ": attn_mask must be bool (true = takes part) or floating (added "
             "to the scores), "
             "got ",
             am.dtype());
    SN_CHECK(am.dim() <= full_m.size(), ShapeError, op, ": attn_mask ", am.shape(),
             " is not broadcastable to the attention weights ", full_m);
    bool ok = true;
    for (int d = 1; d <= am.dim(); ++d) {
      const int64_t a = am.shape()[am.dim() - d], f = full_m[full_m.size() - d];
      ok = ok && (a == f || a == 1);
    }
    SN_CHECK(ok, ShapeError, op, ": attn_mask ", am.shape(),
             " is not broadcastable to the attention weights ", full_m, " (query ", q.shape(),
             ", key ", k.shape(), ")");
    mask = am.dtype() == kBool ? detail::contiguous_raw(am)
                               : detail::contiguous_raw(detail::cast_raw(am, dt));
  }

  Geom g;
  g.BH = batch.numel();
  g.L = L;
  g.S = S;
  g.E = E;
  g.Ev = Ev;
  g.scale = scale;
  g.causal = options.is_causal;
  g.keep = 1.0 - options.dropout;
  g.dropout = options.dropout > 0.0;
  if (g.dropout) g.seed = random_u64();

  // read in place when the last dim is contiguous (views such as [B, T, H,
  // hd].transpose(1, 2))
  Tensor qc = last_dim_dense(q), kc = last_dim_dense(k), vc = last_dim_dense(v);
  Tensor out = q.shape() == full_q ? alloc_like(q, with_last2(batch, L, Ev), dt)
                                   : make_tensor(with_last2(batch, L, Ev), dt);
  Tensor lse = make_tensor(Shape{g.BH, L}, dt);
  const MaskRef mk = mask_ref(mask, full_m);
  SN_DISPATCH_FLOAT(dt, op, [&] {
    using T = scalar_t;
    const Rows<const T> rq = rows_of<const T>(detail::expand_raw(qc, full_q)),
                        rk = rows_of<const T>(detail::expand_raw(kc, full_k)),
                        rv = rows_of<const T>(detail::expand_raw(vc, full_v));
    const Rows<T> ro = rows_of<T>(out);
    T* LSE = lse.data_ptr<T>();
    for_each_head<T>(g, [&](int64_t bh, std::vector<T>& buf) {
      attention_forward_bh<T>(g, mk, bh, rq, rk, rv, ro, LSE + bh * L, buf);
    });
  });

  const bool mask_grad = am.defined() && am.dtype() != kBool && am.requires_grad();
  const bool need = autograd::grad_enabled() &&
                    (q.requires_grad() || k.requires_grad() || v.requires_grad() || mask_grad);
  if (need) {
    auto node = std::make_shared<ScaledDotProductAttentionBackward>();
    node->geom = g;
    node->q_shape = q.shape();
    node->k_shape = k.shape();
    node->v_shape = v.shape();
    node->full_q = full_q;
    node->full_k = full_k;
    node->full_v = full_v;
    node->full_m = full_m;
    node->q = SavedTensor(qc);
    node->k = SavedTensor(kc);
    node->v = SavedTensor(vc);
    node->out = SavedTensor(out);
    if (mask.defined()) node->mask = SavedTensor(mask);
    node->lse = lse;
    node->mask_edge = mask_grad;
    if (mask_grad) node->mask_shape = am.shape();
    std::vector<const Tensor*> ins{&q, &k, &v};
    if (mask_grad) ins.push_back(&am);
    connect(node, ins, {&out});
  }
  return out;
}

}  // namespace sn
