// conv1d / conv2d: forward and Backward side by side. The algorithm is im2col + GEMM per sample
// (small GEMMs that stay in cache beat one big batched GEMM here), samples spread over the
// threads, each thread with its own reused im2col buffer. Bias and an optional ReLU are fused into
// one pass over each sample's output while it is still in cache. conv1d runs as conv2d with H = 1.
// Also holds IntArgs/Padding and the helpers in conv_common.h. No transposed convolution here.
#include <cblas.h>

#include <cstring>

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
  int64_t G, Cg, Og, K, P, HW;
  bool direct;  // 1x1, stride 1, no padding: the input already is the im2col matrix
};

// First and one-past-last output index o with 0 <= start + o·stride < in.
inline void valid_range(int64_t start, int64_t stride, int64_t in, int64_t out, int64_t& lo,
                        int64_t& hi) {
  lo = start >= 0 ? 0 : (-start + stride - 1) / stride;
  hi = start >= in ? 0 : (in - start + stride - 1) / stride;
  hi = std::min(hi, out);
  lo = std::min(lo, hi);
}

// col [K, P]: row (c, kh, kw) holds x[c, oh·sh - ph + kh·dh, ow·sw - pw + kw·dw] (0 outside).
template <typename T>
void im2col(const T* x, T* col, const ConvGeom& g) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* dst = col + ((c * g.KH + kh) * g.KW + kw) * g.P;
        const int64_t iw0 = kw * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(iw0, g.sw, g.W, g.OW, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh, dst += g.OW) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) {
            std::fill(dst, dst + g.OW, T(0));
            continue;
          }
          const T* src = x + (c * g.H + ih) * g.W;
          std::fill(dst, dst + lo, T(0));
          if (g.sw == 1) {
            if (hi > lo) std::memcpy(dst + lo, src + (iw0 + lo), (hi - lo) * sizeof(T));
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[iw0 + ow * g.sw];
          }
          std::fill(dst + hi, dst + g.OW, T(0));
        }
      }
}

// The adjoint of im2col: dx[c, ih, iw] += col[(c, kh, kw), (oh, ow)] for every tap reading it.
template <typename T>
void col2im(const T* col, T* dx, const ConvGeom& g) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* src = col + ((c * g.KH + kh) * g.KW + kw) * g.P;
        const int64_t iw0 = kw * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(iw0, g.sw, g.W, g.OW, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh, src += g.OW) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* drow = dx + (c * g.H + ih) * g.W;
          if (g.sw == 1) {
            for (int64_t ow = lo; ow < hi; ++ow) drow[iw0 + ow] += src[ow];
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) drow[iw0 + ow * g.sw] += src[ow];
          }
        }
      }
}

double conv_flops(const ConvGeom& g) { return 2.0 * g.N * g.O * g.P * g.K; }

// y [N, O, P] = W · im2col(x) (+ bias, then ReLU), per sample and group.
template <typename T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, bool relu) {
  const int nt = team_size(g.N, conv_flops(g));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < g.N; ++n) {
    T* col = g.direct ? nullptr : scratch<T>(0, g.K * g.P);
    T* yn = y + n * g.O * g.P;
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const T* xg = x + (n * g.C + grp * g.Cg) * g.HW;
      if (!g.direct) im2col(xg, col, g);
      convops::gemm(false, false, g.Og, g.P, g.K, T(1), w + grp * g.Og * g.K, g.K,
                    g.direct ? xg : col, g.P, T(0), yn + grp * g.Og * g.P, g.P);
    }
    if (b || relu)
      for (int64_t o = 0; o < g.O; ++o) {
        T* row = yn + o * g.P;
        const T bo = b ? b[o] : T(0);
        if (relu)
          for (int64_t p = 0; p < g.P; ++p) row[p] = std::max(row[p] + bo, T(0));
        else
          for (int64_t p = 0; p < g.P; ++p) row[p] += bo;
      }
  }
}

// Gradients of conv_forward given dy [N, O, P]; y (the fused-ReLU output) masks dy when given.
// dx, dw, db may each be null (not needed). dx needs no initialisation.
template <typename T>
void conv_backward(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, T* dx, T* dw,
                   T* db) {
  const int nt = team_size(g.N, conv_flops(g) * ((dx != nullptr) + (dw != nullptr)));
  const int64_t wsize = g.O * g.K;
  // per-thread partial sums of dW and db, added up after the loop (no atomics, deterministic for
  // a given thread count)
  std::vector<T> part_w(dw ? nt * wsize : 0, T(0));
  std::vector<double> part_b(db ? nt * g.O : 0, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = nt > 1 ? omp_get_thread_num() : 0;
    T* pw = dw ? part_w.data() + t * wsize : nullptr;
    double* pb = db ? part_b.data() + t * g.O : nullptr;
    T* col = (dw && !g.direct) ? scratch<T>(0, g.K * g.P) : nullptr;
    T* dcol = (dx && !g.direct) ? scratch<T>(1, g.K * g.P) : nullptr;
    T* masked = y ? scratch<T>(2, g.O * g.P) : nullptr;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      const T* dyn = dy + n * g.O * g.P;
      if (y) {
        const T* yn = y + n * g.O * g.P;
        for (int64_t i = 0; i < g.O * g.P; ++i) masked[i] = yn[i] > T(0) ? dyn[i] : T(0);
        dyn = masked;
      }
      if (pb)
        for (int64_t o = 0; o < g.O; ++o) {
          double s = 0;
          for (int64_t p = 0; p < g.P; ++p) s += dyn[o * g.P + p];
          pb[o] += s;
        }
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const T* dyg = dyn + grp * g.Og * g.P;
        const T* xg = x ? x + (n * g.C + grp * g.Cg) * g.HW : nullptr;
        const T* wg = w + grp * g.Og * g.K;
        if (pw) {
          if (!g.direct) im2col(xg, col, g);
          // dW_g [Og, K] += dy_g [Og, P] · colᵀ [P, K]
          convops::gemm(false, true, g.Og, g.K, g.P, T(1), dyg, g.P, g.direct ? xg : col, g.P, T(1),
                        pw + grp * g.Og * g.K, g.K);
        }
        if (dx) {
          T* dxg = dx + (n * g.C + grp * g.Cg) * g.HW;
          // dcol [K, P] = W_gᵀ [K, Og] · dy_g [Og, P]; dx = col2im(dcol)
          if (g.direct) {
            convops::gemm(true, false, g.K, g.P, g.Og, T(1), wg, g.K, dyg, g.P, T(0), dxg, g.P);
          } else {
            convops::gemm(true, false, g.K, g.P, g.Og, T(1), wg, g.K, dyg, g.P, T(0), dcol, g.P);
            std::fill(dxg, dxg + g.Cg * g.HW, T(0));
            col2im(dcol, dxg, g);
          }
        }
      }
    }
  }
  if (dw) {
    std::copy(part_w.begin(), part_w.begin() + wsize, dw);
    for (int t = 1; t < nt; ++t)
      for (int64_t i = 0; i < wsize; ++i) dw[i] += part_w[t * wsize + i];
  }
  if (db)
    for (int64_t o = 0; o < g.O; ++o) {
      double s = 0;
      for (int t = 0; t < nt; ++t) s += part_b[t * g.O + o];
      db[o] = static_cast<T>(s);
    }
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

  ConvGeom g{};
  g.N = x.shape()[0];
  g.C = C;
  g.O = O;
  g.G = o.groups;
  g.Cg = Cg;
  g.Og = O / o.groups;
  const int h = sd == 2 ? 0 : -1;  // index of the H dim among the spatial dims (-1: none)
  g.H = h == 0 ? in_sp[0] : 1;
  g.W = in_sp[sd - 1];
  g.KH = h == 0 ? k_sp[0] : 1;
  g.KW = k_sp[sd - 1];
  g.sh = h == 0 ? stride[0] : 1;
  g.sw = stride[sd - 1];
  g.dh = h == 0 ? dil[0] : 1;
  g.dw = dil[sd - 1];
  g.ph = h == 0 ? lo[0] : 0;
  g.pw = lo[sd - 1];
  const int64_t phi = h == 0 ? hi[0] : 0, pwi = hi[sd - 1];
  g.OH = (g.H + g.ph + phi - g.dh * (g.KH - 1) - 1) / g.sh + 1;
  g.OW = (g.W + g.pw + pwi - g.dw * (g.KW - 1) - 1) / g.sw + 1;
  g.K = g.Cg * g.KH * g.KW;
  g.P = g.OH * g.OW;
  g.HW = g.H * g.W;
  g.direct = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
             phi == 0 && pwi == 0;

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

}  // namespace sn
