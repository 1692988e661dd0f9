// The AVX2 sgemm (see sgemm_avx2.h). Loop nest, outermost first:
//   jc: columns of C in panels of up to kNC      (a packed B panel, kc × nc, stays in L3)
//   pc: the K dimension in blocks of up to kKC   (C is accumulated across these blocks)
//   ic: rows of C in blocks of up to kMC         (a packed A block, mc × kc, stays in L2)
//   jr: 16-column slivers of the B panel         (one sliver, kc × 16, stays in L1)
//   ir: 6-row slivers of the A block (4-row ones → the micro-kernel: a 6×16 (4×16) tile of C in
//       where 6 does not divide the rows)           12 (8) ymm accumulators, kc rank-1 updates
// Packing lays every sliver out in the order the kernel reads it, zero-padded to full tiles,
// so the kernel never branches on edges; partial tiles are stored through a small buffer.
// With several threads N (or M) is split into contiguous ranges, one per thread, whichever
// makes the operand every thread packs in full the smaller one: no two threads write the same
// C elements, and the K order of every element is the same at any thread count, so results do
// not depend on it.
#include "backend/cpu/sgemm_avx2.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "backend/cpu/isa_region.h"
#include "sinapsis/core/error.h"

namespace sn::cpu {

// Everything from here to SN_ISA_END below is compiled for AVX2 + FMA (isa.h's SN_ISA_AVX2), on a
// baseline build too; it runs only when cpu::level() says the CPU has them. The headers above
// stay baseline, so no AVX2 code ends up in inline functions other files share.
SN_ISA_BEGIN(SN_ISA_AVX2)
namespace {

constexpr int kMR = 6, kNR = 16;
constexpr int64_t kKC = 320;   // K block: a 16-column B sliver is kc·64 bytes (20 KiB) in L1
constexpr int64_t kMC = 132;   // rows per A block: 132·320·4 = 165 KiB in L2
constexpr int64_t kNC = 2048;  // columns per B panel: ≤ 2.6 MiB in L3

// A growable 64-byte aligned scratch buffer, one per thread and operand.
struct Scratch {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> p;
  size_t n = 0;
  float* get(size_t need) {
    if (need > n) {
      const size_t bytes = (need * sizeof(float) + 63) / 64 * 64;
      float* q = static_cast<float*>(std::aligned_alloc(64, bytes));
      SN_CHECK(q != nullptr, Error, "matmul: out of memory for a ", bytes, "-byte packing buffer");
      p.reset(q);
      n = need;
    }
    return p.get();
  }
};

// How the rows of an A block are cut into slivers: 6-row slivers, and 4-row ones where 6 does
// not divide the rows (128 = 20·6 + 2·4), so that a batch of 128 wastes no padded rows.
struct Sliver {
  int64_t row;  // first row, relative to the block
  int h;        // kernel height: 6 or 4
  int m;        // rows that exist (m < h only for the last sliver)
};
int plan_slivers(int64_t mc, Sliver* out) {
  int64_t n6 = mc / kMR;
  const int rem = static_cast<int>(mc % kMR);
  int n = 0;
  int64_t row = 0;
  auto add = [&](int h, int m) {
    out[n++] = {row, h, m};
    row += m;
  };
  if (rem == 2 && n6 >= 1) {
    for (int64_t i = 0; i + 1 < n6; ++i) add(6, 6);
    add(4, 4);
    add(4, 4);
  } else {
    for (int64_t i = 0; i < n6; ++i) add(6, 6);
    if (rem == 5)
      add(6, 5);
    else if (rem > 0)
      add(4, rem);
  }
  return n;
}
constexpr int kMaxSlivers = static_cast<int>(kMC / 4) + 2;

// d[k·ldd + r] = rows[r][k] for r, k < 8: an 8×8 transpose through registers (d 32-byte
// aligned, ldd a multiple of 8)
inline void transpose8(const float* const* rows, float* d, int64_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(rows[0]), r1 = _mm256_loadu_ps(rows[1]),
               r2 = _mm256_loadu_ps(rows[2]), r3 = _mm256_loadu_ps(rows[3]),
               r4 = _mm256_loadu_ps(rows[4]), r5 = _mm256_loadu_ps(rows[5]),
               r6 = _mm256_loadu_ps(rows[6]), r7 = _mm256_loadu_ps(rows[7]);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
               t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
               t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_store_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_store_ps(d + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_store_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_store_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_store_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_store_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_store_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_store_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// A full sliver of h (6 or 4) rows of a row-major A: 8 k at a time through an 8×8 transpose;
// each k's h values are written with an 8-wide store whose extra lanes the next k (or, after
// the last, the scalar tail, the next sliver or the buffer's slack) overwrites.
inline void pack_rows_h(const float* const* s, int h, int64_t kc, float* d) {
  const float* rows[8];
  for (int r = 0; r < 8; ++r) rows[r] = r < h ? s[r] : s[0];
  alignas(32) float tmp[64];
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    const float* rk[8];
    for (int r = 0; r < 8; ++r) rk[r] = rows[r] + k;
    transpose8(rk, tmp, 8);
    for (int q = 0; q < 8; ++q) _mm256_storeu_ps(d + (k + q) * h, _mm256_load_ps(tmp + q * 8));
  }
  for (; k < kc; ++k)
    for (int r = 0; r < h; ++r) d[k * h + r] = s[r][k];
}

// op(A)[i0 : i0+mc, k0 : k0+kc] → one sliver after another, sliver j at dst + row_j·kc laid
// out as [k][r] with h rows (missing rows zero)
void pack_a(bool ta, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t kc,
            const Sliver* plan, int nsl, float* dst) {
  for (int j = 0; j < nsl; ++j) {
    const int64_t ir = plan[j].row;
    const int h = plan[j].h, m = plan[j].m;
    float* d = dst + ir * kc;
    if (!ta) {  // rows of A are contiguous in k: gather one value from each row
      const float* s[8];
      for (int r = 0; r < 8; ++r) s[r] = A + (i0 + ir + std::min(r, m - 1)) * lda + k0;
      if (m == h) {
        pack_rows_h(s, h, kc, d);
      } else {
        for (int64_t k = 0; k < kc; ++k)
          for (int r = 0; r < h; ++r) d[k * h + r] = r < m ? s[r][k] : 0.f;
      }
    } else {  // op(A)[i, k] = A[k·lda + i]: neighbours per k
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = A + (k0 + k) * lda + i0 + ir;
        for (int r = 0; r < h; ++r) d[k * h + r] = r < m ? s[r] : 0.f;
      }
    }
  }
}

// op(B)[k0 : k0+kc, j0 : j0+nc] → slivers of kNR columns: dst[sliver][k][c]
void pack_b(bool tb, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
            float* dst) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int n = static_cast<int>(std::min<int64_t>(kNR, nc - jr));
    float* d = dst + jr * kc;
    if (!tb) {  // B row-major [K, N]: 16 neighbours per k
      const float* s = B + k0 * ldb + j0 + jr;
      if (n == kNR) {
        for (int64_t k = 0; k < kc; ++k) {
          _mm256_store_ps(d + k * kNR, _mm256_loadu_ps(s + k * ldb));
          _mm256_store_ps(d + k * kNR + 8, _mm256_loadu_ps(s + k * ldb + 8));
        }
      } else {
        for (int64_t k = 0; k < kc; ++k)
          for (int c = 0; c < kNR; ++c) d[k * kNR + c] = c < n ? s[k * ldb + c] : 0.f;
      }
    } else {  // op(B)[k, j] = B[j·ldb + k] (a weight [out, in] read as its transpose)
      const float* s = B + (j0 + jr) * ldb + k0;
      if (n == kNR) {
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
          const float* lo[8];
          const float* hi[8];
          for (int c = 0; c < 8; ++c) {
            lo[c] = s + c * ldb + k;
            hi[c] = s + (c + 8) * ldb + k;
          }
          transpose8(lo, d + k * kNR, kNR);
          transpose8(hi, d + k * kNR + 8, kNR);
        }
        for (; k < kc; ++k)
          for (int c = 0; c < kNR; ++c) d[k * kNR + c] = s[c * ldb + k];
      } else {
        for (int64_t k = 0; k < kc; ++k)
          for (int c = 0; c < kNR; ++c) d[k * kNR + c] = c < n ? s[c * ldb + k] : 0.f;
      }
    }
  }
}

struct Store {
  float alpha, beta;  // beta applies in the first K block; later blocks add to C
  bool first, last;   // first / last K block (the bias is added in the last)
};

// C[0:m, 0:n] = alpha·acc + beta·C (+ bias) for a tile's m × n corner (acc: 2 vectors a row).
inline void store_tile(const __m256* acc, int m, int n, float* c, int64_t ldc, const Store& st,
                       const float* bias) {
  const bool full = n == kNR;
  const bool read_c = !(st.first && st.beta == 0.f);
  alignas(32) float tile[kMR * kNR];
  float* out = full ? c : tile;
  const int64_t ld = full ? ldc : kNR;
  if (!full && read_c)
    for (int r = 0; r < m; ++r) std::memcpy(tile + r * kNR, c + r * ldc, n * sizeof(float));
  __m256 vb0 = _mm256_setzero_ps(), vb1 = vb0;
  const bool add_bias = st.last && bias != nullptr;
  if (add_bias) {
    alignas(32) float bb[kNR] = {};
    std::memcpy(bb, bias, n * sizeof(float));
    vb0 = _mm256_load_ps(bb);
    vb1 = _mm256_load_ps(bb + 8);
  }
  const __m256 va = _mm256_set1_ps(st.alpha), vbeta = _mm256_set1_ps(st.first ? st.beta : 1.f);
  for (int r = 0; r < m; ++r) {
    float* o = out + r * ld;
    __m256 x0 = _mm256_mul_ps(va, acc[2 * r]), x1 = _mm256_mul_ps(va, acc[2 * r + 1]);
    if (read_c) {
      x0 = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(o), x0);
      x1 = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(o + 8), x1);
    }
    if (add_bias) {
      x0 = _mm256_add_ps(x0, vb0);
      x1 = _mm256_add_ps(x1, vb1);
    }
    _mm256_storeu_ps(o, x0);
    _mm256_storeu_ps(o + 8, x1);
  }
  if (!full)
    for (int r = 0; r < m; ++r) std::memcpy(c + r * ldc, tile + r * kNR, n * sizeof(float));
}

// The R×16 micro-kernel (R = 6, or 4 for the rows 6 does not divide): kc rank-1 updates of a
// tile of C held in 2R ymm registers (with 2 for B and 1 broadcast: 15 of the 16), then stored.
// The accumulators are named variables, not an array indexed in a loop: with an array GCC kept
// them in memory and the kernel ran 3x slower.
template <int R>
void micro_kernel(int64_t kc, const float* __restrict pa, const float* __restrict pb, float* c,
                  int64_t ldc, int m, int n, const Store& st, const float* bias) {
  static_assert(R == 6 || R == 4);
  for (int r = 0; r < m; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
    // keep B in registers: GCC would otherwise fold the loads into all 12 FMAs, and 18 loads
    // per 12 FMAs make the loop load-bound (56 instead of ~90 GFLOP/s on Zen 3)
    __asm__("" : "+x"(b0), "+x"(b1));
    // A streams from L2: fetching 8 k ahead measured 1.5-2% faster than the hardware prefetcher
    _mm_prefetch(reinterpret_cast<const char*>(pa + 8 * R), _MM_HINT_T0);
    __m256 a = _mm256_broadcast_ss(pa);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(pa + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(pa + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(pa + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    if constexpr (R == 6) {
      a = _mm256_broadcast_ss(pa + 4);
      c40 = _mm256_fmadd_ps(a, b0, c40);
      c41 = _mm256_fmadd_ps(a, b1, c41);
      a = _mm256_broadcast_ss(pa + 5);
      c50 = _mm256_fmadd_ps(a, b0, c50);
      c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    pa += R;
    pb += kNR;
  }
  const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  store_tile(acc, m, n, c, ldc, st, bias);  // m <= R: rows 4 and 5 only when R = 6
}

// C[m0:m1, n0:n1] on the calling thread.
void sgemm_block(bool ta, bool tb, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias,
                 int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  static thread_local Scratch scratch_a, scratch_b;
  // equal K blocks (a multiple of 8 for the 8×8 transposes), equal M blocks (multiples of 6)
  const int64_t nkb = (K + kKC - 1) / kKC;
  const int64_t kcs = ((K + nkb - 1) / nkb + 7) / 8 * 8;
  const int64_t mlen = m1 - m0, nlen = n1 - n0;
  const int64_t nmb = (mlen + kMC - 1) / kMC;
  const int64_t mcs = ((mlen + nmb - 1) / nmb + kMR - 1) / kMR * kMR;
  const int64_t ncs = std::min<int64_t>(kNC, (nlen + kNR - 1) / kNR * kNR);
  float* pa = scratch_a.get(static_cast<size_t>((mcs + kMR) * kcs));
  Sliver plan[kMaxSlivers];
  float* pb = scratch_b.get(static_cast<size_t>(ncs * kcs));
  for (int64_t jc = n0; jc < n1; jc += kNC) {
    const int64_t nc = std::min(kNC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kcs) {
      const int64_t kc = std::min(kcs, K - pc);
      pack_b(tb, B, ldb, pc, jc, kc, nc, pb);
      const Store st{alpha, beta, pc == 0, pc + kc >= K};
      for (int64_t ic = m0; ic < m1; ic += mcs) {
        const int64_t mc = std::min(mcs, m1 - ic);
        const int nsl = plan_slivers(mc, plan);
        pack_a(ta, A, lda, ic, pc, kc, plan, nsl, pa);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int n = static_cast<int>(std::min<int64_t>(kNR, nc - jr));
          const float* bsl = pb + jr * kc;
          const float* bias_j = bias ? bias + jc + jr : nullptr;
          for (int j = 0; j < nsl; ++j) {
            const Sliver& sl = plan[j];
            float* c = C + (ic + sl.row) * ldc + jc + jr;
            if (sl.h == 6)
              micro_kernel<6>(kc, pa + sl.row * kc, bsl, c, ldc, sl.m, n, st, bias_j);
            else
              micro_kernel<4>(kc, pa + sl.row * kc, bsl, c, ldc, sl.m, n, st, bias_j);
          }
        }
      }
    }
  }
}

void sgemm_avx2_impl(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                     const float* bias, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // no products: C = beta·C (+ bias)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float& c = C[i * ldc + j];
        c = (beta == 0.f ? 0.f : beta * c) + (bias ? bias[j] : 0.f);
      }
    return;
  }
  // below ~2 MFLOP one thread is faster than waking the team; never more threads than tiles
  const double flops =
      2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  int nt = omp_in_parallel() ? 1 : std::max(threads, 1);
  const int64_t mt = (M + kMR - 1) / kMR, ntl = (N + kNR - 1) / kNR;
  // Each thread packs all of the operand along the dimension that is not split: split the one
  // whose other operand is smaller (A is M×K, B is K×N), if it has a tile for every thread.
  const bool split_n = ntl >= nt && (M <= N || mt < nt);
  nt = static_cast<int>(std::min<int64_t>(nt, split_n ? ntl : mt));
  if (nt <= 1 || flops < 2e6) {
    sgemm_block(ta, tb, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, 0, M, 0, N);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
    const int64_t units = split_n ? ntl : mt, step = split_n ? kNR : kMR;
    const int64_t u0 = units * t / T, u1 = units * (t + 1) / T;
    if (u1 > u0) {
      if (split_n)
        sgemm_block(ta, tb, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, 0, M, u0 * step,
                    std::min(N, u1 * step));
      else
        sgemm_block(ta, tb, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, u0 * step,
                    std::min(M, u1 * step), 0, N);
    }
  }
}

}  // namespace
SN_ISA_END

bool sgemm_avx2_available() { return level() >= CpuLevel::AVX2; }
// On AVX-512 CPUs OpenBLAS's wider kernels are faster.
bool sgemm_avx2_preferred() { return level() == CpuLevel::AVX2; }

void sgemm_avx2(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                const float* bias, int threads) {
  SN_CHECK(sgemm_avx2_available(), Error,
           "matmul: the AVX2 sgemm kernel needs a CPU with AVX2 and FMA (kernels at level ",
           cpu_level_name(level()), ")");
  sgemm_avx2_impl(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, threads);
}

}  // namespace sn::cpu
