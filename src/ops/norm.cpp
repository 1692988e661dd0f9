// Normalisation ops with fused forward and backward kernels: batch_norm (per channel over N and
// the spatial dims, running statistics updated in place), layer_norm (over trailing dims) and
// group_norm (per sample over channel groups). Statistics are accumulated in double. Backwards
// are first-order only (no double backward). No instance/local response norm here.
#include <cmath>

#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "ops/conv_common.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/ops.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;
using detail::make_tensor;

namespace {

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// Checks an optional per-feature tensor (weight, bias, running stats) against `shape`.
void check_param(const Tensor& p, const Shape& shape, const Tensor& x, const char* op,
                 const char* what) {
  if (!p.defined()) return;
  SN_CHECK(p.shape() == shape, ShapeError, op, ": ", what, " must be ", shape, " for input ",
           x.shape(), " (got ", p.shape(), ")");
  SN_CHECK(p.dtype() == x.dtype(), DTypeError, op, ": dtype mismatch (input ", x.dtype(), ", ",
           what, " ", p.dtype(), "); hint: convert one with .to()");
}

// ============================================================== batch norm
// x viewed as [N, C, S]: channel c owns N rows of S contiguous elements.
struct BnGeom {
  int64_t N, C, S;
  int64_t M() const { return N * S; }
};

template <typename F>
void bn_for_channel(const BnGeom& g, int64_t c, F&& f) {  // f(row offset)
  for (int64_t n = 0; n < g.N; ++n) f((n * g.C + c) * g.S);
}

int bn_threads(const BnGeom& g) {
  return convops::team_size(g.C, 4.0 * static_cast<double>(g.N * g.C * g.S));
}

// y = (x - mean)·invstd·w + b, channel by channel. With `training` the mean and the biased
// variance come from x (var_unbiased gets the unbiased one); otherwise mean/invstd hold the
// running statistics' values on entry.
template <typename T>
void bn_forward(const BnGeom& g, const T* x, const T* w, const T* b, T* y, bool training,
                double eps, std::vector<double>& mean, std::vector<double>& invstd,
                std::vector<double>& var_unbiased) {
  const double M = static_cast<double>(g.M());
  if (training && g.S == 1) {
    // [N, C]: channels are contiguous within a row, so accumulate whole rows at once
    std::vector<double> s(g.C, 0.0), ss(g.C, 0.0);
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t c = 0; c < g.C; ++c) s[c] += x[n * g.C + c];
    for (int64_t c = 0; c < g.C; ++c) mean[c] = s[c] / M;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t c = 0; c < g.C; ++c) {
        const double d = x[n * g.C + c] - mean[c];
        ss[c] += d * d;
      }
    for (int64_t c = 0; c < g.C; ++c) {
      invstd[c] = 1.0 / std::sqrt(ss[c] / M + eps);
      var_unbiased[c] = ss[c] / (M - 1);
    }
  } else if (training) {
    const int nt = bn_threads(g);
#pragma omp parallel num_threads(nt) if (nt > 1)
    cpu::with_level([&] {
#pragma omp for schedule(static)
      for (int64_t c = 0; c < g.C; ++c) {
        double s = 0;
        bn_for_channel(g, c, [&](int64_t off) {
          s += convops::sum_of(g.S, [&](int64_t i) { return static_cast<double>(x[off + i]); });
        });
        const double mu = s / M;
        double ss = 0;
        bn_for_channel(g, c, [&](int64_t off) {
          ss += convops::sum_of(g.S, [&](int64_t i) {
            const double d = x[off + i] - mu;
            return d * d;
          });
        });
        mean[c] = mu;
        invstd[c] = 1.0 / std::sqrt(ss / M + eps);
        var_unbiased[c] = g.M() > 1 ? ss / (M - 1) : 0.0;
      }
    });
  }
  // y = x·scale + shift per channel
  std::vector<T> scale(g.C), shift(g.C);
  for (int64_t c = 0; c < g.C; ++c) {
    const double sc = invstd[c] * (w ? static_cast<double>(w[c]) : 1.0);
    scale[c] = static_cast<T>(sc);
    shift[c] = static_cast<T>((b ? static_cast<double>(b[c]) : 0.0) - mean[c] * sc);
  }
  const T* sc = scale.data();
  const T* sh = shift.data();
  const int64_t rows = g.N * g.C;
  if (g.S == 1) {
    cpu::parallel_for(g.N, std::max<int64_t>(1, cpu::kParallelGrain / std::max<int64_t>(g.C, 1)),
                      [&](int64_t n0, int64_t n1) {
                        for (int64_t n = n0; n < n1; ++n)
                          for (int64_t c = 0; c < g.C; ++c)
                            y[n * g.C + c] = x[n * g.C + c] * sc[c] + sh[c];
                      });
    return;
  }
  cpu::parallel_for(rows, std::max<int64_t>(1, cpu::kParallelGrain / g.S),
                    [&](int64_t r0, int64_t r1) {
                      for (int64_t r = r0; r < r1; ++r) {
                        const T a = sc[r % g.C], bb = sh[r % g.C];
                        const T* xr = x + r * g.S;
                        T* yr = y + r * g.S;
                        for (int64_t i = 0; i < g.S; ++i) yr[i] = xr[i] * a + bb;
                      }
                    });
}

// The fused batch-norm backward (formulas on BatchNormBackward); dx, dw, db may be null.
template <typename T>
void bn_backward(const BnGeom& g, bool training, const T* px, const T* pw, const T* pg,
                 const std::vector<double>& mean, const std::vector<double>& invstd, T* pdx, T* pdw,
                 T* pdb) {
  const int nt = bn_threads(g);
  const double inv_m = 1.0 / static_cast<double>(g.M());
  if (g.S == 1) {
    // [N, C]: channels are contiguous within a row; sums over whole rows at once
    std::vector<double> sdy(g.C, 0.0), sdyx(g.C, 0.0);
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t c = 0; c < g.C; ++c) {
        const double gv = pg[n * g.C + c];
        sdy[c] += gv;
        sdyx[c] += gv * (px[n * g.C + c] - mean[c]);
      }
    std::vector<T> kk(g.C), bc(g.C), a0(g.C);
    for (int64_t c = 0; c < g.C; ++c) {
      sdyx[c] *= invstd[c];
      if (pdw) pdw[c] = static_cast<T>(sdyx[c]);
      if (pdb) pdb[c] = static_cast<T>(sdy[c]);
      const double k = invstd[c] * (pw ? static_cast<double>(pw[c]) : 1.0);
      const double a = training ? k * sdy[c] * inv_m : 0.0;
      const double b = training ? k * sdyx[c] * inv_m * invstd[c] : 0.0;
      kk[c] = static_cast<T>(k);
      bc[c] = static_cast<T>(b);
      a0[c] = static_cast<T>(a - mean[c] * b);
    }
    if (pdx)
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t c = 0; c < g.C; ++c)
          pdx[n * g.C + c] = kk[c] * pg[n * g.C + c] - (px[n * g.C + c] * bc[c] + a0[c]);
    return;
  }
#pragma omp parallel num_threads(nt) if (nt > 1)
  cpu::with_level([&] {
#pragma omp for schedule(static)
    for (int64_t c = 0; c < g.C; ++c) {
      const double mu = mean[c], is = invstd[c];
      double sdy = 0, sdyx = 0;
      bn_for_channel(g, c, [&](int64_t off) {
        sdy += convops::sum_of(g.S, [&](int64_t i) { return static_cast<double>(pg[off + i]); });
        sdyx += convops::sum_of(
            g.S, [&](int64_t i) { return static_cast<double>(pg[off + i]) * (px[off + i] - mu); });
      });
      sdyx *= is;  // Σ dy·xhat
      if (pdw) pdw[c] = static_cast<T>(sdyx);
      if (pdb) pdb[c] = static_cast<T>(sdy);
      if (!pdx) continue;
      const double k = is * (pw ? static_cast<double>(pw[c]) : 1.0);
      if (training) {
        // dx = k·dy - k·mean(dy) - k·xhat·mean(dy·xhat), with xhat = (x - mu)·is
        // in T: dx = kk·dy - (x·bc + (a - mu·bc)), one fused multiply-add chain per element
        const double a = k * sdy * inv_m, bcoef = k * sdyx * inv_m * is;
        const T kk = static_cast<T>(k), bc = static_cast<T>(bcoef),
                a0 = static_cast<T>(a - mu * bcoef);
        bn_for_channel(g, c, [&](int64_t off) {
          for (int64_t i = 0; i < g.S; ++i)
            pdx[off + i] = kk * pg[off + i] - (px[off + i] * bc + a0);
        });
      } else {
        const T kk = static_cast<T>(k);
        bn_for_channel(g, c, [&](int64_t off) {
          for (int64_t i = 0; i < g.S; ++i) pdx[off + i] = pg[off + i] * kk;
        });
      }
    }
  });
}

// y = xhat·w + b, xhat = (x - mean)·invstd, M = N·S values per channel:
//   db = Σ dy,  dw = Σ dy·xhat,
//   training: dx = w·invstd·(dy - db/M - xhat·dw/M)  (mean and var depend on x)
//   eval:     dx = w·invstd·dy                        (running statistics are constants)
class BatchNormBackward : public Node {
 public:
  BnGeom geom;
  Shape x_shape;
  bool training = true, has_w = false, has_b = false;
  SavedTensor x, w;
  std::vector<double> mean, invstd;
  std::string name() const override { return "BatchNormBackward"; }
  void release() override {
    x.reset();
    w.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const size_t nin = 1 + has_w + has_b;
    if (!grads[0].defined()) return std::vector<Tensor>(nin);
    const bool need_x = next_edges[0].valid();
    const bool need_w = has_w && next_edges[1].valid();
    const bool need_b = has_b && next_edges[has_w ? 2 : 1].valid();
    Tensor xs = x.get("BatchNormBackward"), ws = has_w ? w.get("BatchNormBackward") : Tensor();
    Tensor dy = detail::contiguous_raw(grads[0]);
    const DType dt = xs.dtype();
    Tensor dx = need_x ? make_tensor(x_shape, dt) : Tensor();
    Tensor dw = need_w ? make_tensor(Shape{geom.C}, dt) : Tensor();
    Tensor db = need_b ? make_tensor(Shape{geom.C}, dt) : Tensor();
    SN_DISPATCH_FLOAT(dt, "batch_norm", [&] {
      using T = scalar_t;
      bn_backward<T>(geom, training, xs.data_ptr<T>(), ptr_or_null<T>(ws), dy.data_ptr<T>(), mean,
                     invstd, need_x ? dx.data_ptr<T>() : nullptr,
                     need_w ? dw.data_ptr<T>() : nullptr, need_b ? db.data_ptr<T>() : nullptr);
    });
    std::vector<Tensor> out{dx};
    if (has_w) out.push_back(dw);
    if (has_b) out.push_back(db);
    return out;
  }
};

// ============================================================== row norms (layer, group)
// R rows of L contiguous elements, each normalised over itself. The affine parameters repeat:
// element j of row r uses parameter (r % groups)·(L / rep) + j / rep. layer_norm: groups = 1,
// rep = 1; group_norm: groups = G, rep = spatial size.
struct RowGeom {
  int64_t R, L, groups, rep, P;  // P: number of affine parameters
};

template <typename T>
void row_norm_forward(const RowGeom& g, const T* x, const T* w, const T* b, T* y, double eps,
                      std::vector<double>& mean, std::vector<double>& rstd) {
  const int nt = convops::team_size(g.R, 5.0 * static_cast<double>(g.R * g.L));
  const int64_t blocks = g.L / g.rep;
#pragma omp parallel num_threads(nt) if (nt > 1)
  cpu::with_level([&] {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < g.R; ++r) {
      const T* xr = x + r * g.L;
      T* yr = y + r * g.L;
      const double mu =
          convops::sum_of(g.L, [&](int64_t j) { return static_cast<double>(xr[j]); }) /
          static_cast<double>(g.L);
      const double ss = convops::sum_of(g.L, [&](int64_t j) {
        const double d = xr[j] - mu;
        return d * d;
      });
      const double rs = 1.0 / std::sqrt(ss / static_cast<double>(g.L) + eps);
      mean[r] = mu;
      rstd[r] = rs;
      const T m = static_cast<T>(mu), s = static_cast<T>(rs);
      const int64_t pbase = (r % g.groups) * blocks;
      if (g.rep == 1) {
        // one parameter per element (layer norm; group norm without spatial dims)
        const T* wr = w ? w + pbase : nullptr;
        const T* br = b ? b + pbase : nullptr;
        for (int64_t j = 0; j < g.L; ++j) {
          const T xh = (xr[j] - m) * s;
          yr[j] = (wr ? xh * wr[j] : xh) + (br ? br[j] : T(0));
        }
        continue;
      }
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const double scale = rs * (w ? static_cast<double>(w[pbase + cb]) : 1.0);
        const T sc = static_cast<T>(scale);
        const T sh = static_cast<T>((b ? static_cast<double>(b[pbase + cb]) : 0.0) - mu * scale);
        const int64_t j0 = cb * g.rep;
        for (int64_t i = 0; i < g.rep; ++i) yr[j0 + i] = xr[j0 + i] * sc + sh;
      }
    }
  });
}

// One row of the row-norm backward with a parameter per element (layer norm), branch-free inner
// loops so they vectorise: dx = rs·(dy·w - mean(dy·w) - xhat·mean(dy·w·xhat)); pdw/pdb (may be
// null) accumulate dy·xhat and dy.
template <typename T, bool kHasW>
void ln_row_backward(const T* __restrict x, const T* __restrict dy, const T* __restrict w,
                     double mu, double rs, int64_t L, T* __restrict dx, double* __restrict pdw,
                     double* __restrict pdb) {
  const T m = static_cast<T>(mu), s = static_cast<T>(rs);
  auto gw = [&](int64_t j) { return kHasW ? dy[j] * w[j] : dy[j]; };
  const double sd = convops::sum_of(L, [&](int64_t j) { return static_cast<double>(gw(j)); });
  const double sdx = convops::sum_of(L, [&](int64_t j) {
    return static_cast<double>(gw(j)) * static_cast<double>((x[j] - m) * s);
  });
  if (pdw)
    for (int64_t j = 0; j < L; ++j) {
      pdw[j] += static_cast<double>(dy[j]) * static_cast<double>((x[j] - m) * s);
      pdb[j] += static_cast<double>(dy[j]);
    }
  if (!dx) return;
  const double inv_l = 1.0 / static_cast<double>(L);
  const T a = static_cast<T>(sd * inv_l), bc = static_cast<T>(sdx * inv_l);
  for (int64_t j = 0; j < L; ++j) dx[j] = s * (gw(j) - a - (x[j] - m) * s * bc);
}

// The fused row-norm backward (formulas on RowNormBackward); dx, dw, db may be null.
template <typename T>
void row_norm_backward(const RowGeom& g, const T* px, const T* pw, const T* pg,
                       const std::vector<double>& mean, const std::vector<double>& rstd, T* pdx,
                       T* out_dw, T* out_db) {
  const int64_t blocks = g.L / g.rep;
  const int nt = convops::team_size(g.R, 8.0 * static_cast<double>(g.R * g.L));
  const bool need_p = out_dw || out_db;
  // per-thread partial sums of dw and db (no atomics; summed in thread order below)
  std::vector<double> part(need_p ? 2 * nt * g.P : 0, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  cpu::with_level([&] {
    const int t = nt > 1 ? omp_get_thread_num() : 0;
    double* pdw = need_p ? part.data() + 2 * t * g.P : nullptr;
    double* pdb = need_p ? pdw + g.P : nullptr;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < g.R; ++r) {
      const T* xr = px + r * g.L;
      const T* gr = pg + r * g.L;
      const double mu = mean[r], rs = rstd[r];
      const double inv_l = 1.0 / static_cast<double>(g.L);
      T* dr = pdx ? pdx + r * g.L : nullptr;
      const int64_t pbase = (r % g.groups) * blocks;
      if (g.rep == 1) {
        // one parameter per element: every loop runs along the row
        if (pw)
          ln_row_backward<T, true>(xr, gr, pw + pbase, mu, rs, g.L, dr, pdw ? pdw + pbase : nullptr,
                                   pdb ? pdb + pbase : nullptr);
        else
          ln_row_backward<T, false>(xr, gr, nullptr, mu, rs, g.L, dr, pdw ? pdw + pbase : nullptr,
                                    pdb ? pdb + pbase : nullptr);
        continue;
      }
      double sd = 0, sdx = 0;  // Σ dxhat, Σ dxhat·xhat
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const double wv = pw ? static_cast<double>(pw[pbase + cb]) : 1.0;
        const int64_t j0 = cb * g.rep;
        // Σ dy and Σ dy·xhat over this block
        const double bd =
            convops::sum_of(g.rep, [&](int64_t i) { return static_cast<double>(gr[j0 + i]); });
        const double bdx = rs * convops::sum_of(g.rep, [&](int64_t i) {
                             return static_cast<double>(gr[j0 + i]) * (xr[j0 + i] - mu);
                           });
        sd += wv * bd;
        sdx += wv * bdx;
        if (pdw) {
          pdw[pbase + cb] += bdx;
          pdb[pbase + cb] += bd;
        }
      }
      if (!dr) continue;
      const double a = sd * inv_l, bc = sdx * inv_l;
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const double wv = pw ? static_cast<double>(pw[pbase + cb]) : 1.0;
        // dx = rs·wv·dy - rs·a - rs·bc·rs·(x - mu) = k·dy - (x·q + c0)
        const T k = static_cast<T>(rs * wv), q = static_cast<T>(rs * bc * rs),
                c0 = static_cast<T>(rs * a - rs * bc * rs * mu);
        const int64_t j0 = cb * g.rep;
        for (int64_t i = 0; i < g.rep; ++i) dr[j0 + i] = k * gr[j0 + i] - (xr[j0 + i] * q + c0);
      }
    }
  });
  if (need_p)
    for (int64_t p = 0; p < g.P; ++p) {
      double sw = 0, sb = 0;
      for (int t = 0; t < nt; ++t) {
        sw += part[2 * t * g.P + p];
        sb += part[(2 * t + 1) * g.P + p];
      }
      if (out_dw) out_dw[p] = static_cast<T>(sw);
      if (out_db) out_db[p] = static_cast<T>(sb);
    }
}

// Per row: y = xhat·w + b, xhat = (x - mean)·rstd over the row's L elements, dxhat = dy·w:
//   dx = rstd·(dxhat - mean(dxhat) - xhat·mean(dxhat·xhat))
//   dw = Σ_rows dy·xhat,  db = Σ_rows dy   (per parameter)
class RowNormBackward : public Node {
 public:
  const char* nm;
  const char* op;
  RowGeom geom;
  Shape x_shape, p_shape;
  bool has_w = false, has_b = false;
  SavedTensor x, w;
  std::vector<double> mean, rstd;
  RowNormBackward(const char* n, const char* o) : nm(n), op(o) {}
  std::string name() const override { return nm; }
  void release() override {
    x.reset();
    w.reset();
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const size_t nin = 1 + has_w + has_b;
    if (!grads[0].defined()) return std::vector<Tensor>(nin);
    const bool need_x = next_edges[0].valid();
    const bool need_w = has_w && next_edges[1].valid();
    const bool need_b = has_b && next_edges[has_w ? 2 : 1].valid();
    Tensor xs = x.get(nm), ws = has_w ? w.get(nm) : Tensor();
    Tensor dy = detail::contiguous_raw(grads[0]);
    const DType dt = xs.dtype();
    Tensor dx = need_x ? make_tensor(x_shape, dt) : Tensor();
    Tensor dw = need_w ? make_tensor(p_shape, dt) : Tensor();
    Tensor db = need_b ? make_tensor(p_shape, dt) : Tensor();
    SN_DISPATCH_FLOAT(dt, op, [&] {
      using T = scalar_t;
      row_norm_backward<T>(geom, xs.data_ptr<T>(), ptr_or_null<T>(ws), dy.data_ptr<T>(), mean, rstd,
                           need_x ? dx.data_ptr<T>() : nullptr, need_w ? dw.data_ptr<T>() : nullptr,
                           need_b ? db.data_ptr<T>() : nullptr);
    });
    std::vector<Tensor> out{dx};
    if (has_w) out.push_back(dw);
    if (has_b) out.push_back(db);
    return out;
  }
};

Tensor row_norm(const char* op, const char* node_name, const Tensor& x, const RowGeom& g,
                const Shape& p_shape, const Tensor& weight, const Tensor& bias, double eps) {
  SN_CHECK(eps >= 0 && std::isfinite(eps), ValueError, op, ": eps must be finite and >= 0 (got ",
           eps, ")");
  Tensor xc = detail::contiguous_raw(x);
  Tensor wc = weight.defined() ? detail::contiguous_raw(weight) : Tensor();
  Tensor bc = bias.defined() ? detail::contiguous_raw(bias) : Tensor();
  Tensor out = make_tensor(x.shape(), x.dtype());
  std::vector<double> mean(g.R), rstd(g.R);
  SN_DISPATCH_FLOAT(x.dtype(), op, [&] {
    using T = scalar_t;
    row_norm_forward<T>(g, xc.data_ptr<T>(), ptr_or_null<T>(wc), ptr_or_null<T>(bc),
                        out.data_ptr<T>(), eps, mean, rstd);
  });
  std::vector<const Tensor*> ins{&x};
  if (weight.defined()) ins.push_back(&weight);
  if (bias.defined()) ins.push_back(&bias);
  if (autograd::grad_enabled() &&
      (x.requires_grad() || (weight.defined() && weight.requires_grad()) ||
       (bias.defined() && bias.requires_grad()))) {
    auto node = std::make_shared<RowNormBackward>(node_name, op);
    node->geom = g;
    node->x_shape = x.shape();
    node->p_shape = p_shape;
    node->has_w = weight.defined();
    node->has_b = bias.defined();
    node->x = SavedTensor(xc);
    if (weight.defined()) node->w = SavedTensor(wc);
    node->mean = std::move(mean);
    node->rstd = std::move(rstd);
    connect(node, ins, {&out});
  }
  return out;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, BatchNormOptions opts) {
  const char* op = "batch_norm";
  SN_CHECK(x.defined(), ValueError, op, ": input tensor is undefined");
  SN_CHECK(x.dim() >= 2, ShapeError, op, ": expected input [N, C] or [N, C, *], got ", x.shape());
  SN_CHECK(is_floating(x.dtype()), DTypeError, op, ": expected a floating-point input, got ",
           x.dtype(), "; hint: convert with .to(sn::kFloat32)");
  SN_CHECK(opts.eps >= 0 && std::isfinite(opts.eps), ValueError, op,
           ": eps must be finite and >= 0 (got ", opts.eps, ")");
  SN_CHECK(std::isfinite(opts.momentum), ValueError, op, ": momentum must be finite (got ",
           opts.momentum, ")");
  const int64_t N = x.shape()[0], C = x.shape()[1];
  SN_CHECK(running_mean.defined() == running_var.defined(), ValueError, op,
           ": give both running_mean and running_var, or neither");
  const Shape cs{C};
  check_param(running_mean, cs, x, op, "running_mean");
  check_param(running_var, cs, x, op, "running_var");
  check_param(weight, cs, x, op, "weight");
  check_param(bias, cs, x, op, "bias");
  BnGeom g{N, C, C > 0 && N > 0 ? x.numel() / (N * C) : 0};
  if (opts.training) {
    SN_CHECK(g.M() > 1, ValueError, op, ": expected more than 1 value per channel when training ",
             "(input ", x.shape(), "); hint: use a batch of 2 or more, or eval mode");
  } else {
    SN_CHECK(running_mean.defined(), ValueError, op,
             ": eval mode (training = false) needs running_mean and running_var");
  }
  if (opts.training && running_mean.defined()) {
    detail::check_inplace(running_mean, op);
    detail::check_inplace(running_var, op);
  }
  Tensor xc = detail::contiguous_raw(x);
  Tensor wc = weight.defined() ? detail::contiguous_raw(weight) : Tensor();
  Tensor bc = bias.defined() ? detail::contiguous_raw(bias) : Tensor();
  Tensor out = make_tensor(x.shape(), x.dtype());
  std::vector<double> mean(C), invstd(C), var_unbiased(C);
  if (!opts.training) {
    const std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector();
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = rm[c];
      invstd[c] = 1.0 / std::sqrt(rv[c] + opts.eps);
    }
  }
  SN_DISPATCH_FLOAT(x.dtype(), op, [&] {
    using T = scalar_t;
    bn_forward<T>(g, xc.data_ptr<T>(), ptr_or_null<T>(wc), ptr_or_null<T>(bc), out.data_ptr<T>(),
                  opts.training, opts.eps, mean, invstd, var_unbiased);
  });
  if (opts.training && running_mean.defined()) {
    // running = (1 - momentum)·running + momentum·batch (unbiased variance), written in place
    const std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector();
    std::vector<double> nm(C), nv(C);
    const double m = opts.momentum;
    for (int64_t c = 0; c < C; ++c) {
      nm[c] = (1 - m) * rm[c] + m * mean[c];
      nv[c] = (1 - m) * rv[c] + m * var_unbiased[c];
    }
    detail::copy_raw(running_mean, tensor(nm, cs, {.dtype = kFloat64}));
    detail::copy_raw(running_var, tensor(nv, cs, {.dtype = kFloat64}));
    running_mean.bump_version();
    running_var.bump_version();
  }
  const bool hw = weight.defined(), hb = bias.defined();
  if (autograd::grad_enabled() &&
      (x.requires_grad() || (hw && weight.requires_grad()) || (hb && bias.requires_grad()))) {
    auto node = std::make_shared<BatchNormBackward>();
    node->geom = g;
    node->x_shape = x.shape();
    node->training = opts.training;
    node->has_w = hw;
    node->has_b = hb;
    node->x = SavedTensor(xc);
    if (hw) node->w = SavedTensor(wc);
    node->mean = std::move(mean);
    node->invstd = std::move(invstd);
    std::vector<const Tensor*> ins{&x};
    if (hw) ins.push_back(&weight);
    if (hb) ins.push_back(&bias);
    connect(node, ins, {&out});
  }
  return out;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  SN_CHECK(x.defined(), ValueError, op, ": input tensor is undefined");
  SN_CHECK(is_floating(x.dtype()), DTypeError, op, ": expected a floating-point input, got ",
           x.dtype(), "; hint: convert with .to(sn::kFloat32)");
  const int nd = normalized_shape.size();
  SN_CHECK(nd >= 1, ValueError, op, ": normalized_shape must have at least one dim");
  bool match = x.dim() >= nd;
  for (int i = 0; match && i < nd; ++i) match = x.shape()[x.dim() - nd + i] == normalized_shape[i];
  SN_CHECK(match, ShapeError, op, ": normalized_shape ", normalized_shape,
           " does not match the last dims of input ", x.shape());
  check_param(weight, normalized_shape, x, op, "weight");
  check_param(bias, normalized_shape, x, op, "bias");
  const int64_t L = normalized_shape.numel();
  SN_CHECK(L >= 1, ShapeError, op, ": normalized_shape ", normalized_shape, " is empty");
  RowGeom g{x.numel() / L, L, 1, 1, L};
  return row_norm(op, "LayerNormBackward", x, g, normalized_shape, weight, bias, eps);
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "group_norm";
  SN_CHECK(x.defined(), ValueError, op, ": input tensor is undefined");
  SN_CHECK(x.dim() >= 2, ShapeError, op, ": expected input [N, C] or [N, C, *], got ", x.shape());
  SN_CHECK(is_floating(x.dtype()), DTypeError, op, ": expected a floating-point input, got ",
           x.dtype(), "; hint: convert with .to(sn::kFloat32)");
  const int64_t N = x.shape()[0], C = x.shape()[1];
  SN_CHECK(num_groups >= 1, ValueError, op, ": num_groups must be at least 1 (got ", num_groups,
           ")");
  SN_CHECK(C % num_groups == 0, ValueError, op, ": num_groups (", num_groups,
           ") must divide the channels (", C, ") of input ", x.shape());
  check_param(weight, Shape{C}, x, op, "weight");
  check_param(bias, Shape{C}, x, op, "bias");
  const int64_t S = C > 0 && N > 0 ? x.numel() / (N * C) : 0;
  const int64_t L = C / num_groups * S;
  SN_CHECK(L >= 1 || x.numel() == 0, ShapeError, op, ": input ", x.shape(), " has an empty dim");
  RowGeom g{N * num_groups, L, num_groups, S, C};
  if (x.numel() == 0) g = RowGeom{0, 1, num_groups, 1, C};
  return row_norm(op, "GroupNormBackward", x, g, Shape{C}, weight, bias, eps);
}

}  // namespace sn
