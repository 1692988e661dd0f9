// rnn_layer: one recurrent layer and direction (RNN tanh/relu, LSTM with optional projection,
// GRU) over a whole sequence as ONE autograd node: the input projection of all steps is one
// GEMM, each step one GEMM for h·W_hhᵀ, and gates + state update are fused loops, forward and
// backward. Saved for backward: the activated gates, the states (h, c) before every step and,
// with a projection, the unprojected outputs — nothing per gate. No double backward.
#include "sinapsis/ops/rnn.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_packed.h"
#include "backend/cpu/loops.h"
#include "backend/cpu/vec_math.h"
#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "ops/conv_common.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::connect;
using detail::make_tensor;

int64_t rnn_gate_count(RnnKind kind) {
  switch (kind) {
    case RnnKind::LSTM:
      return 4;
    case RnnKind::GRU:
      return 3;
    default:
      return 1;
  }
}

namespace {

// Dimension legend: T steps, B batch, I input features, H hidden units, P = proj_size or H
// (the size of h), G gates per unit (G·H = GH columns of the gate matrices).
struct Dims {
  int64_t T, B, I, H, P, G;
  int64_t GH() const { return G * H; }
};

// A [rows, cols] row-major view of a contiguous buffer starting at element `off`.
Tensor mat(const Tensor& buf, int64_t rows, int64_t cols, int64_t off) {
  return detail::make_view(buf, Shape{rows, cols}, Shape{cols, 1}, buf.offset() + off);
}
// Wᵀ as a view: the GEMM reads it transposed, no copy.
Tensor tr(const Tensor& w) {
  return detail::make_view(w, Shape{w.shape()[1], w.shape()[0]},
                           Shape{w.strides()[1], w.strides()[0]}, w.offset());
}

// Runs f(b) for every batch row, split over threads when the step is big enough to pay,
// compiled for the CPU's level (cpu::with_level).
template <typename F>
void for_rows(int64_t B, double work, F&& f) {
  const int nt = convops::team_size(B, work);
  if (nt <= 1) {
    cpu::with_level([&] {
      for (int64_t b = 0; b < B; ++b) f(b);
    });
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t b = 0; b < B; ++b) cpu::with_level([&] { f(b); });
}

// Buffers live in time order. Hb [T+1, B, P] (and Cb [T+1, B, H]) hold the state before every
// step plus the final one: forward reads slot t and writes t+1 (h0 in slot 0), reverse reads t+1
// and writes t (h0 in slot T). Either way slots [rd0, rd0 + T) are "h before step t" in time
// order, which makes dW_hh one GEMM over all steps.
struct Slots {
  int64_t T;
  bool reverse;
  int64_t rd(int64_t t) const { return reverse ? t + 1 : t; }
  int64_t wr(int64_t t) const { return reverse ? t : t + 1; }
  int64_t first() const { return reverse ? T : 0; }  // where the initial state goes
  int64_t last() const { return reverse ? 0 : T; }   // where the final state ends up
  int64_t rd0() const { return reverse ? 1 : 0; }
  int64_t time(int64_t s) const { return reverse ? T - 1 - s : s; }  // step s of processing
};

struct Saved {
  Tensor gates;  // [T·B, GH] activated gates (LSTM i f g o; GRU r z n; RNN h')
  Tensor hb;     // [T+1, B, P]
  Tensor cb;     // [T+1, B, H] LSTM
  Tensor m;      // [T·B, H] LSTM with projection: o·tanh(c) before W_hr
  Tensor ghn;    // [T·B, H] GRU: h·W_hnᵀ + b_hn (what r multiplied)
};

// lens[b] = the length of sequence b (T for all when not given).
std::vector<int64_t> read_lengths(const Tensor& lengths, const Dims& d, const char* name) {
  std::vector<int64_t> lens(d.B, d.T);
  if (!lengths.defined()) return lens;
  SN_CHECK(lengths.dtype() == kInt64, DTypeError, name, ": lengths must be int64 (got ",
           lengths.dtype(), ")");
  SN_CHECK(lengths.dim() == 1 && lengths.shape()[0] == d.B, ShapeError, name, ": lengths must be [",
           d.B, "], one per sequence of the batch (got ", lengths.shape(), ")");
  const Tensor l = lengths.contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  for (int64_t b = 0; b < d.B; ++b) {
    SN_CHECK(p[b] >= 1, ValueError, name, ": sequence ", b, " has length ", p[b],
             "; every length must be at least 1");
    SN_CHECK(p[b] <= d.T, ValueError, name, ": sequence ", b, " has length ", p[b],
             ", longer than the input's ", d.T, " steps");
    lens[b] = p[b];
  }
  return lens;
}

// ---------------------------------------------------------------- forward
// The per-row pieces, each a simple loop with at most one transcendental so that the compiler
// inlines vec_math and vectorises it (one loop doing all five gates does neither).
template <typename T>
void sigmoid_inplace(T* p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = cpu::vsigmoid(p[j]);
}
template <typename T>
void tanh_inplace(T* p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = cpu::vtanh(p[j]);
}
// c' = f·c + i·g;  out = o·tanh c'  (gates already activated, laid out i f g o)
template <typename T>
void lstm_state(const T* __restrict g, const T* __restrict cp, T* __restrict cn, T* __restrict out,
                int64_t H) {
  for (int64_t j = 0; j < H; ++j) cn[j] = g[H + j] * cp[j] + g[j] * g[2 * H + j];
  for (int64_t j = 0; j < H; ++j) out[j] = g[3 * H + j] * cpu::vtanh(cn[j]);
}
// GRU: g holds the input part [a_r a_z a_n] and becomes [r z n]; gh = h·W_hhᵀ, bh = b_hh (or
// null); gn receives h·W_hnᵀ + b_hn; hn = (1 - z)·n + z·h.
template <typename T>
void gru_step(T* __restrict g, const T* __restrict gh, const T* __restrict bh,
              const T* __restrict hp, T* __restrict gn, T* __restrict hn, int64_t H) {
  if (bh) {
    for (int64_t j = 0; j < 2 * H; ++j) g[j] += gh[j] + bh[j];
    for (int64_t j = 0; j < H; ++j) gn[j] = gh[2 * H + j] + bh[2 * H + j];
  } else {
    for (int64_t j = 0; j < 2 * H; ++j) g[j] += gh[j];
    for (int64_t j = 0; j < H; ++j) gn[j] = gh[2 * H + j];
  }
  sigmoid_inplace(g, 2 * H);
  T* n = g + 2 * H;
  for (int64_t j = 0; j < H; ++j) n[j] += g[j] * gn[j];
  tanh_inplace(n, H);
  for (int64_t j = 0; j < H; ++j) hn[j] = (T(1) - g[H + j]) * n[j] + g[H + j] * hp[j];
}

// c = a·b + beta·c for one step: through the packed kernel when `pb` holds b (float32, many
// steps), else cpu::gemm. a and c are row-major views.
template <typename T>
void step_gemm(const Tensor& a, const Tensor& b, const Tensor& c, double beta,
               const cpu::PackedB* pb) {
  if constexpr (std::is_same_v<T, float>) {
    if (pb) {
      cpu::gemm_packed(a.data_ptr<float>(), a.strides()[0], *pb, c.data_ptr<float>(),
                       c.strides()[0], a.shape()[0], static_cast<float>(beta), cpu::num_threads());
      return;
    }
  }
  cpu::gemm(a, b, c, 1.0, beta);
}
// Whether the per-step products of a T-step sequence go through a packed weight.
template <typename T>
bool use_packed(int64_t steps) {
  return std::is_same_v<T, float> && steps > 1 && cpu::packed_gemm_available();
}

template <typename T>
void forward_kernel(RnnKind kind, const Dims& d, const Slots& sl, const Tensor& x2,
                    const RnnWeights& w, const Tensor& bias_i, const Tensor& bias_h,
                    const std::vector<int64_t>& lens, Saved& sv, const Tensor& y) {
  const int64_t B = d.B, H = d.H, P = d.P, GH = d.GH();
  const bool proj = w.w_hr.defined();
  // input projection of every step: gates = x·W_ihᵀ + bias_i
  Tensor gates = make_tensor(Shape{d.T * B, GH}, x2.dtype());
  if (!cpu::gemm_bias(x2, tr(w.w_ih), gates, bias_i)) {
    // the bias into every row, then gates += x·W_ihᵀ (a row copy loop: copy_raw would fork
    // threads for what is a memcpy per row)
    const T* bi = bias_i.data_ptr<T>();
    T* g = gates.data_ptr<T>();
    for (int64_t r = 0; r < d.T * B; ++r) std::memcpy(g + r * GH, bi, sizeof(T) * GH);
    cpu::gemm(x2, tr(w.w_ih), gates, 1.0, 1.0);
  }
  T* G = gates.data_ptr<T>();
  T* Hb = sv.hb.data_ptr<T>();
  T* Cb = sv.cb.defined() ? sv.cb.data_ptr<T>() : nullptr;
  T* Y = y.data_ptr<T>();
  T* M = proj ? sv.m.data_ptr<T>() : nullptr;
  T* GHN = sv.ghn.defined() ? sv.ghn.data_ptr<T>() : nullptr;
  const T* bh = bias_h.defined() ? bias_h.data_ptr<T>() : nullptr;  // GRU: b_hh
  Tensor gh;  // GRU: h·W_hhᵀ of the current step
  if (kind == RnnKind::GRU) gh = make_tensor(Shape{B, GH}, x2.dtype());
  const double work = 30.0 * static_cast<double>(B * GH);
  const Tensor whh_t = tr(w.w_hh);
  cpu::PackedB packed;
  if (use_packed<T>(d.T)) packed = cpu::PackedB(whh_t);
  const cpu::PackedB* pw = use_packed<T>(d.T) ? &packed : nullptr;

  for (int64_t s = 0; s < d.T; ++s) {
    const int64_t t = sl.time(s), rd = sl.rd(t), wr = sl.wr(t);
    Tensor gt = mat(gates, B, GH, t * B * GH);
    Tensor hprev = mat(sv.hb, B, P, rd * B * P);
    if (kind == RnnKind::GRU)
      step_gemm<T>(hprev, whh_t, gh, 0.0, pw);
    else
      step_gemm<T>(hprev, whh_t, gt, 1.0, pw);  // gates_t += h·W_hhᵀ
    const T* GHs = gh.defined() ? gh.data_ptr<T>() : nullptr;
    for_rows(B, work, [&](int64_t b) {
      T* g = G + (t * B + b) * GH;
      const T* hp = Hb + (rd * B + b) * P;
      T* hn = Hb + (wr * B + b) * P;
      T* yo = Y + (t * B + b) * P;
      const bool active = t < lens[b];
      if (kind == RnnKind::LSTM) {
        const T* cp = Cb + (rd * B + b) * H;
        T* cn = Cb + (wr * B + b) * H;
        T* mo = proj ? M + (t * B + b) * H : nullptr;
        if (!active) {
          std::memcpy(cn, cp, sizeof(T) * H);
          if (proj) std::memset(mo, 0, sizeof(T) * H);
          return;  // h and y of inactive rows are set below
        }
        T* dst = proj ? mo : hn;
        sigmoid_inplace(g, 2 * H);      // i, f
        tanh_inplace(g + 2 * H, H);     // g
        sigmoid_inplace(g + 3 * H, H);  // o
        lstm_state(g, cp, cn, dst, H);
        if (!proj) std::memcpy(yo, hn, sizeof(T) * P);
      } else if (kind == RnnKind::GRU) {
        if (!active) return;
        const T* ghr = GHs + b * GH;
        T* gn = GHN + (t * B + b) * H;
        gru_step(g, ghr, bh, hp, gn, hn, H);
        std::memcpy(yo, hn, sizeof(T) * P);
      } else {
        if (!active) return;
        if (kind == RnnKind::Tanh) {
          tanh_inplace(g, H);
        } else {
          for (int64_t j = 0; j < H; ++j) g[j] = g[j] <= T(0) ? T(0) : g[j];  // NaN stays
        }
        std::memcpy(hn, g, sizeof(T) * H);
        std::memcpy(yo, g, sizeof(T) * H);
      }
    });
    if (proj)  // h' = m·W_hrᵀ for the whole batch; inactive rows are fixed up just below
      cpu::gemm(mat(sv.m, B, H, t * B * H), tr(w.w_hr), mat(sv.hb, B, P, wr * B * P));
    for (int64_t b = 0; b < B; ++b) {
      T* yo = Y + (t * B + b) * P;
      T* hn = Hb + (wr * B + b) * P;
      if (t >= lens[b]) {  // past the end: the state rides along, the output is zero
        std::memcpy(hn, Hb + (rd * B + b) * P, sizeof(T) * P);
        std::memset(yo, 0, sizeof(T) * P);
      } else if (proj) {
        std::memcpy(yo, hn, sizeof(T) * P);
      }
    }
  }
  sv.gates = gates;
}

// The backward rows (formulas above RnnBackward), restrict-qualified so they vectorise.
// LSTM: th = tanh c (in the da_o slot of ai, overwritten here), dm = dE/dm, dc carried in place.
template <typename T>
void lstm_backward_row(const T* __restrict g, const T* th, const T* __restrict cp,
                       const T* __restrict dm, T* __restrict dc, T* ai, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
    const T t = th[j], dmj = dm[j];
    const T dcj = dc[j] + dmj * o * (T(1) - t * t);
    ai[j] = dcj * gg * i * (T(1) - i);
    ai[H + j] = dcj * cp[j] * f * (T(1) - f);
    ai[2 * H + j] = dcj * i * (T(1) - gg * gg);
    ai[3 * H + j] = dmj * t * o * (T(1) - o);
    dc[j] = dcj * f;
  }
}
// GRU: dh is replaced by its direct part dh·z.
template <typename T>
void gru_backward_row(const T* __restrict g, const T* __restrict hp, const T* __restrict gn,
                      T* __restrict dh, T* __restrict ai, T* __restrict ah, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = g[j], z = g[H + j], n = g[2 * H + j];
    const T dhj = dh[j];
    const T dan = dhj * (T(1) - z) * (T(1) - n * n);
    const T dar = dan * gn[j] * r * (T(1) - r);
    const T daz = dhj * (hp[j] - n) * z * (T(1) - z);
    ai[j] = dar;
    ai[H + j] = daz;
    ai[2 * H + j] = dan;
    ah[j] = dar;
    ah[H + j] = daz;
    ah[2 * H + j] = dan * r;
    dh[j] = dhj * z;
  }
}

// ---------------------------------------------------------------- backward
// Per step t (processing order reversed), with dh = dy_t + dh carried from step t+1:
//  LSTM (m = o·tanh c, h = m or m·W_hrᵀ):  dm = dh (or dh·W_hr; dW_hr += dhᵀ·m)
//     dc = dc_carry + dm·o·(1 - tanh²c);  do = dm·tanh c;  di = dc·g;  dg = dc·i;  df = dc·c_prev
//     gate pre-activations: da_i = di·i(1-i), da_f = df·f(1-f), da_g = dg·(1-g²), da_o = do·o(1-o)
//     dc_prev = dc·f;  dh_prev = da·W_hh
//  GRU (h' = (1-z)·n + z·h, n = tanh(a_n + r·hn), hn = h·W_hnᵀ + b_hn):
//     dn = dh·(1-z);  dz = dh·(h - n);  da_n = dn·(1-n²);  dr = da_n·hn
//     da_r = dr·r(1-r);  da_z = dz·z(1-z)
//     input side  dA_i = [da_r, da_z, da_n];  hidden side  dA_h = [da_r, da_z, da_n·r]
//     dh_prev = dh·z + dA_h·W_hh
//  RNN: da = dh·(1 - h'²) (tanh) or dh·[h' > 0] (relu);  dh_prev = da·W_hh
// Past a sequence's end the step is the identity: dh and dc pass through, dy is ignored.
// Then over all steps at once: dx = dA_i·W_ih, dW_ih = dA_iᵀ·x, dW_hh = dA_hᵀ·h_prev,
// db_ih = Σ dA_i, db_hh = Σ dA_h (dA_h = dA_i for LSTM and RNN).
class RnnBackward : public Node {
 public:
  RnnKind kind;
  Dims d;
  Slots sl{0, false};
  std::vector<int64_t> lens;
  Saved sv;
  SavedTensor x2, w_ih, w_hh, w_hr;
  bool has_bias = false;

  std::string name() const override {
    switch (kind) {
      case RnnKind::LSTM:
        return "LstmBackward";
      case RnnKind::GRU:
        return "GruBackward";
      default:
        return "RnnBackward";
    }
  }
  void release() override {
    sv = Saved{};
    x2.reset();
    w_ih.reset();
    w_hh.reset();
    w_hr.reset();
  }

  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    std::vector<Tensor> out(8);
    SN_DISPATCH_FLOAT(sv.hb.dtype(), "rnn_layer backward", [&] { run<scalar_t>(grads, out); });
    return out;
  }

 private:
  template <typename T>
  void run(std::vector<Tensor>& grads, std::vector<Tensor>& out) {
    const int64_t B = d.B, H = d.H, P = d.P, GH = d.GH(), TB = d.T * d.B;
    const DType dt = sv.hb.dtype();
    const bool lstm = kind == RnnKind::LSTM, gru = kind == RnnKind::GRU;
    const bool proj = w_hr.defined();
    Tensor dy = grads[0].defined() ? detail::contiguous_raw(grads[0]) : Tensor();
    Tensor dh = make_tensor(Shape{B, P}, dt);  // dE/dh carried into the step being processed
    if (grads[1].defined())
      detail::copy_raw(dh, grads[1]);
    else
      detail::fill_raw(dh, 0.0);
    Tensor dc;
    if (lstm) {
      dc = make_tensor(Shape{B, H}, dt);
      if (grads.size() > 2 && grads[2].defined())
        detail::copy_raw(dc, grads[2]);
      else
        detail::fill_raw(dc, 0.0);
    }
    Tensor da_i = make_tensor(Shape{TB, GH}, dt);
    Tensor da_h = gru ? make_tensor(Shape{TB, GH}, dt) : da_i;
    Tensor dhs = proj ? make_tensor(Shape{TB, P}, dt) : Tensor();  // dh of every step (for dW_hr)
    Tensor dm = proj ? make_tensor(Shape{B, H}, dt) : Tensor();
    const Tensor whh = w_hh.get("rnn_layer"), whr = proj ? w_hr.get("rnn_layer") : Tensor();

    const T* G = sv.gates.data_ptr<T>();
    const T* Hb = sv.hb.data_ptr<T>();
    const T* Cb = lstm ? sv.cb.data_ptr<T>() : nullptr;
    const T* GHN = gru ? sv.ghn.data_ptr<T>() : nullptr;
    const T* DY = dy.defined() ? dy.data_ptr<T>() : nullptr;
    T* DH = dh.data_ptr<T>();
    T* DC = lstm ? dc.data_ptr<T>() : nullptr;
    T* DAI = da_i.data_ptr<T>();
    T* DAH = da_h.data_ptr<T>();
    T* DHS = proj ? dhs.data_ptr<T>() : nullptr;
    T* DM = proj ? dm.data_ptr<T>() : nullptr;
    const double work = 30.0 * static_cast<double>(B * GH);
    cpu::PackedB packed;
    if (use_packed<T>(d.T)) packed = cpu::PackedB(whh);
    const cpu::PackedB* pw = use_packed<T>(d.T) ? &packed : nullptr;

    for (int64_t s = d.T - 1; s >= 0; --s) {
      const int64_t t = sl.time(s), rd = sl.rd(t), wr = sl.wr(t);
      // dh += dy_t on the rows still inside their sequence
      if (DY)
        for (int64_t b = 0; b < B; ++b)
          if (t < lens[b]) {
            T* r = DH + b * P;
            const T* q = DY + (t * B + b) * P;
            for (int64_t j = 0; j < P; ++j) r[j] += q[j];
          }
      if (proj) {  // dm = dh·W_hr; the step's dh is kept for dW_hr
        for (int64_t b = 0; b < B; ++b) {
          T* row = DHS + (t * B + b) * P;
          if (t < lens[b])
            std::memcpy(row, DH + b * P, sizeof(T) * P);
          else
            std::memset(row, 0, sizeof(T) * P);
        }
        cpu::gemm(mat(dhs, B, P, t * B * P), whr, dm);
      }
      for_rows(B, work, [&](int64_t b) {
        const T* g = G + (t * B + b) * GH;
        T* ai = DAI + (t * B + b) * GH;
        T* ah = DAH + (t * B + b) * GH;
        T* dhr = DH + b * P;
        if (t >= lens[b]) {  // identity step: dh, dc pass through untouched
          std::memset(ai, 0, sizeof(T) * GH);
          if (gru) std::memset(ah, 0, sizeof(T) * GH);
          return;
        }
        if (lstm) {
          const T* c = Cb + (wr * B + b) * H;
          const T* cp = Cb + (rd * B + b) * H;
          const T* dmr = proj ? DM + b * H : dhr;
          T* dcr = DC + b * H;
          T* tho = ai + 3 * H;  // tanh c, kept in the o slot until da_o overwrites it
          for (int64_t j = 0; j < H; ++j) tho[j] = c[j];
          tanh_inplace(tho, H);
          lstm_backward_row(g, tho, cp, dmr, dcr, ai, H);
          std::memset(dhr, 0, sizeof(T) * P);  // h has no direct path to h_prev
        } else if (gru) {
          const T* hp = Hb + (rd * B + b) * P;
          const T* gn = GHN + (t * B + b) * H;
          gru_backward_row(g, hp, gn, dhr, ai, ah, H);
        } else {
          if (kind == RnnKind::Tanh) {
            for (int64_t j = 0; j < H; ++j) ai[j] = dhr[j] * (T(1) - g[j] * g[j]);
          } else {
            for (int64_t j = 0; j < H; ++j) ai[j] = g[j] <= T(0) ? T(0) : dhr[j];
          }
          std::memset(dhr, 0, sizeof(T) * P);
        }
      });
      // dh_prev = (direct part already in dh) + dA_h,t·W_hh
      step_gemm<T>(mat(da_h, B, GH, t * B * GH), whh, dh, 1.0, pw);
    }

    // 0 x, 1 h0, 2 c0, 3 w_ih, 4 w_hh, 5 b_ih, 6 b_hh, 7 w_hr
    if (next_edges[0].valid()) {
      Tensor dx = make_tensor(Shape{d.T, B, d.I}, dt);
      cpu::gemm(da_i, w_ih.get("rnn_layer"), mat(dx, TB, d.I, 0));
      out[0] = dx;
    }
    if (next_edges[1].valid()) out[1] = dh;
    if (lstm && next_edges[2].valid()) out[2] = dc;
    if (next_edges[3].valid()) {
      Tensor dw = make_tensor(Shape{GH, d.I}, dt);
      cpu::gemm(tr(da_i), x2.get("rnn_layer"), dw);
      out[3] = dw;
    }
    if (next_edges[4].valid()) {
      Tensor dw = make_tensor(Shape{GH, P}, dt);
      cpu::gemm(tr(da_h), mat(sv.hb, TB, P, sl.rd0() * B * P), dw);
      out[4] = dw;
    }
    if (has_bias && next_edges[5].valid()) out[5] = sum(da_i, {0});
    if (has_bias && next_edges[6].valid()) out[6] = sum(da_h, {0});
    if (proj && next_edges[7].valid()) {
      Tensor dw = make_tensor(Shape{P, H}, dt);
      cpu::gemm(tr(dhs), sv.m, dw);
      out[7] = dw;
    }
  }
};

void check_weight(const Tensor& t, const Shape& want, const Tensor& x, const char* name,
                  const char* what) {
  SN_CHECK(t.defined(), ValueError, name, ": ", what, " is undefined");
  SN_CHECK(t.shape() == want, ShapeError, name, ": ", what, " must be ", want, " (got ", t.shape(),
           ")");
  SN_CHECK(t.dtype() == x.dtype(), DTypeError, name, ": dtype mismatch (input ", x.dtype(), ", ",
           what, " ", t.dtype(), "); hint: convert one with .to()");
}

}  // namespace

RnnLayerOutput rnn_layer(RnnKind kind, const Tensor& x, const Tensor& h0, const Tensor& c0,
                         const RnnWeights& w, const Tensor& lengths, bool reverse,
                         const char* name) {
  SN_CHECK(x.defined(), ValueError, name, ": input is undefined");
  SN_CHECK(x.dim() == 3, ShapeError, name, ": input must be 3-D [T, B, I] (got ", x.shape(), ")");
  SN_CHECK(is_floating(x.dtype()), DTypeError, name, ": expected a floating-point input, got ",
           x.dtype());
  SN_CHECK(w.w_ih.defined() && w.w_ih.dim() == 2, ShapeError, name,
           ": weight_ih must be a 2-D tensor");
  const bool lstm = kind == RnnKind::LSTM;
  Dims d{};
  d.T = x.shape()[0];
  d.B = x.shape()[1];
  d.I = x.shape()[2];
  d.G = rnn_gate_count(kind);
  SN_CHECK(d.T > 0 && d.B > 0, ShapeError, name, ": input ", x.shape(),
           " has no steps or no sequences");
  SN_CHECK(w.w_ih.shape()[0] % d.G == 0, ShapeError, name, ": weight_ih ", w.w_ih.shape(),
           " must have ", d.G, "·hidden_size rows");
  d.H = w.w_ih.shape()[0] / d.G;
  SN_CHECK(!w.w_hr.defined() || lstm, ValueError, name, ": only LSTM has a projection weight");
  d.P = w.w_hr.defined() ? w.w_hr.shape()[0] : d.H;
  SN_CHECK(w.w_ih.shape()[1] == d.I, ShapeError, name, ": input ", x.shape(), " has ", d.I,
           " features, weight_ih ", w.w_ih.shape(), " expects ", w.w_ih.shape()[1]);
  check_weight(w.w_ih, Shape{d.GH(), d.I}, x, name, "weight_ih");
  check_weight(w.w_hh, Shape{d.GH(), d.P}, x, name, "weight_hh");
  if (w.w_hr.defined()) check_weight(w.w_hr, Shape{d.P, d.H}, x, name, "weight_hr");
  SN_CHECK(w.b_ih.defined() == w.b_hh.defined(), ValueError, name, ": give both biases or neither");
  if (w.b_ih.defined()) {
    check_weight(w.b_ih, Shape{d.GH()}, x, name, "bias_ih");
    check_weight(w.b_hh, Shape{d.GH()}, x, name, "bias_hh");
  }
  if (h0.defined()) {
    SN_CHECK(h0.shape() == Shape({d.B, d.P}), ShapeError, name, ": initial state h0 must be [", d.B,
             ", ", d.P, "] for input ", x.shape(), " (got ", h0.shape(), ")");
    SN_CHECK(h0.dtype() == x.dtype(), DTypeError, name, ": dtype mismatch (input ", x.dtype(),
             ", h0 ", h0.dtype(), ")");
  }
  if (c0.defined()) {
    SN_CHECK(lstm, ValueError, name, ": only LSTM takes a cell state c0");
    SN_CHECK(c0.shape() == Shape({d.B, d.H}), ShapeError, name, ": initial state c0 must be [", d.B,
             ", ", d.H, "] for input ", x.shape(), " (got ", c0.shape(), ")");
    SN_CHECK(c0.dtype() == x.dtype(), DTypeError, name, ": dtype mismatch (input ", x.dtype(),
             ", c0 ", c0.dtype(), ")");
  }
  const std::vector<int64_t> lens = read_lengths(lengths, d, name);
  const Slots sl{d.T, reverse};
  const DType dt = x.dtype();

  Tensor xc = detail::contiguous_raw(x);
  Tensor x2 = mat(xc, d.T * d.B, d.I, 0);
  // bias of the input GEMM: b_ih + b_hh folded (LSTM, RNN); GRU keeps b_hh for the step, since
  // r multiplies h·W_hnᵀ + b_hn.
  Tensor bias_i = make_tensor(Shape{d.GH()}, dt), bias_h;
  if (w.b_ih.defined()) {
    detail::copy_raw(bias_i, w.b_ih);
    if (kind == RnnKind::GRU) {
      bias_h = detail::contiguous_raw(w.b_hh);
    } else {
      Tensor bh = detail::contiguous_raw(w.b_hh);
      SN_DISPATCH_FLOAT(dt, name, [&] {
        scalar_t* p = bias_i.data_ptr<scalar_t>();
        const scalar_t* q = bh.data_ptr<scalar_t>();
        for (int64_t j = 0; j < d.GH(); ++j) p[j] += q[j];
      });
    }
  } else {
    detail::fill_raw(bias_i, 0.0);
  }

  Saved sv;
  sv.hb = make_tensor(Shape{d.T + 1, d.B, d.P}, dt);
  Tensor h_first = detail::make_view(sv.hb, Shape{d.B, d.P}, Shape{d.P, 1}, sl.first() * d.B * d.P);
  if (h0.defined())
    detail::copy_raw(h_first, h0);
  else
    detail::fill_raw(h_first, 0.0);
  if (lstm) {
    sv.cb = make_tensor(Shape{d.T + 1, d.B, d.H}, dt);
    Tensor c_first =
        detail::make_view(sv.cb, Shape{d.B, d.H}, Shape{d.H, 1}, sl.first() * d.B * d.H);
    if (c0.defined())
      detail::copy_raw(c_first, c0);
    else
      detail::fill_raw(c_first, 0.0);
  }
  if (w.w_hr.defined()) sv.m = make_tensor(Shape{d.T * d.B, d.H}, dt);
  if (kind == RnnKind::GRU) sv.ghn = make_tensor(Shape{d.T * d.B, d.H}, dt);

  RnnLayerOutput res;
  res.y = make_tensor(Shape{d.T, d.B, d.P}, dt);
  SN_DISPATCH_FLOAT(dt, name, [&] {
    forward_kernel<scalar_t>(kind, d, sl, x2, w, bias_i, bias_h, lens, sv, res.y);
  });
  // the final states are copies: the saved buffers must not be reachable from user code
  res.h_n = make_tensor(Shape{d.B, d.P}, dt);
  detail::copy_raw(res.h_n,
                   detail::make_view(sv.hb, Shape{d.B, d.P}, Shape{d.P, 1}, sl.last() * d.B * d.P));
  if (lstm) {
    res.c_n = make_tensor(Shape{d.B, d.H}, dt);
    detail::copy_raw(
        res.c_n, detail::make_view(sv.cb, Shape{d.B, d.H}, Shape{d.H, 1}, sl.last() * d.B * d.H));
  }

  if (autograd::any_requires_grad({&x, &h0, &c0, &w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &w.w_hr})) {
    auto node = std::make_shared<RnnBackward>();
    node->kind = kind;
    node->d = d;
    node->sl = sl;
    node->lens = lens;
    node->has_bias = w.b_ih.defined();
    if (!(kind == RnnKind::LSTM)) sv.cb = Tensor();
    node->sv = std::move(sv);
    if (w.w_ih.requires_grad()) node->x2 = SavedTensor(x2);
    node->w_ih = SavedTensor(w.w_ih);
    node->w_hh = SavedTensor(w.w_hh);
    if (w.w_hr.defined()) node->w_hr = SavedTensor(w.w_hr);
    if (lstm)
      connect(node, {&x, &h0, &c0, &w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &w.w_hr},
              {&res.y, &res.h_n, &res.c_n});
    else
      connect(node, {&x, &h0, &c0, &w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &w.w_hr},
              {&res.y, &res.h_n});
  }
  return res;
}

}  // namespace sn
