// Pooling: max_pool1d/2d (argmax indices kept inside the Backward node), avg_pool1d/2d and
// adaptive_avg_pool2d, forward and Backward side by side. Every kernel works plane by plane
// ([N·C] planes of H×W, 1-d pools use H = 1) and spreads planes over the threads.
// No pooling with return_indices / unpooling / fractional or LP pooling here.
#include <cmath>
#include <cstring>
#include <limits>

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

// Geometry of one pooling call over NC planes of H×W (1-d pooling: H = KH = 1).
struct PoolGeom {
  int64_t NC, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw;
  int64_t in_plane() const { return H * W; }
  // 2×2 windows, stride 2, no padding/dilation, inside the input: the fast paths
  bool k2() const {
    return KH == 2 && KW == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && dh == 1 && dw == 1 &&
           2 * OH <= H && 2 * OW <= W;
  }
  int64_t out_plane() const { return OH * OW; }
};

// Runs f(plane_begin, plane_end) over the planes, in parallel when there is enough work.
template <typename F>
void for_planes(const PoolGeom& g, int64_t cost_per_plane, F&& f) {
  const int64_t grain =
      std::max<int64_t>(1, cpu::kParallelGrain / std::max<int64_t>(1, cost_per_plane));
  if (omp_in_parallel()) {
    f(int64_t{0}, g.NC);
    return;
  }
  cpu::parallel_for(g.NC, grain, f);
}

struct PoolArgs {
  std::vector<int64_t> kernel, stride, padding, dilation;
  bool ceil_mode = false;
};

// Checks the pooling arguments for `sd` spatial dims of x (batched [N, C, ...]) and returns the
// geometry.
PoolGeom pool_geometry(const char* op, int sd, const Tensor& x, const PoolArgs& a) {
  for (int d = 0; d < sd; ++d) {
    SN_CHECK(a.kernel[d] >= 1, ValueError, op, ": kernel_size must be positive (got ",
             Shape(a.kernel), ")");
    SN_CHECK(a.stride[d] >= 1, ValueError, op, ": stride must be positive (got ", Shape(a.stride),
             ")");
    SN_CHECK(a.dilation[d] >= 1, ValueError, op, ": dilation must be positive (got ",
             Shape(a.dilation), ")");
    SN_CHECK(a.padding[d] >= 0 && 2 * a.padding[d] <= a.kernel[d], ValueError, op,
             ": padding must be between 0 and half the kernel size (got padding ", Shape(a.padding),
             " for kernel ", Shape(a.kernel), ")");
  }
  Shape in_sp(x.shape().begin() + 2, x.shape().end()), padded, window;
  for (int d = 0; d < sd; ++d) {
    padded.push_back(in_sp[d] + 2 * a.padding[d]);
    window.push_back(a.dilation[d] * (a.kernel[d] - 1) + 1);
  }
  for (int d = 0; d < sd; ++d)
    SN_CHECK(window[d] <= padded[d], ShapeError, op, ": kernel ", Shape(a.kernel),
             window != Shape(a.kernel) ? detail::concat(" (dilated ", window, ")") : std::string(),
             " is larger than the padded input ", padded, " (input ", in_sp, ", padding ",
             Shape(a.padding), ")");
  PoolGeom g{};
  g.NC = x.shape()[0] * x.shape()[1];
  const bool two = sd == 2;
  g.H = two ? in_sp[0] : 1;
  g.W = in_sp[sd - 1];
  g.KH = two ? a.kernel[0] : 1;
  g.KW = a.kernel[sd - 1];
  g.sh = two ? a.stride[0] : 1;
  g.sw = a.stride[sd - 1];
  g.ph = two ? a.padding[0] : 0;
  g.pw = a.padding[sd - 1];
  g.dh = two ? a.dilation[0] : 1;
  g.dw = a.dilation[sd - 1];
  g.OH = convops::window_out_size(g.H, g.ph, g.ph, g.KH, g.sh, g.dh, a.ceil_mode);
  g.OW = convops::window_out_size(g.W, g.pw, g.pw, g.KW, g.sw, g.dw, a.ceil_mode);
  return g;
}

Shape pooled_shape(const Tensor& x, int sd, const PoolGeom& g) {
  Shape s{x.shape()[0], x.shape()[1]};
  if (sd == 2) s.push_back(g.OH);
  s.push_back(g.OW);
  return s;
}

// Runs `impl` on x with a batch dim (adding and removing one for unbatched input).
template <typename F>
Tensor with_batch(const Tensor& x, int sd, const char* op, F&& impl) {
  const bool batched = convops::check_input(x, sd, op, sd == 1 ? "[N, C, L]" : "[N, C, H, W]");
  if (!batched) return impl(x.unsqueeze(0)).squeeze(0);
  return impl(x);
}

// ============================================================== max pooling
// One output row of 2×2 / stride 2 max pooling with argmax, branch-free so it vectorises: the
// same first-maximum / NaN-wins rule as the general loop, in the order r0[2j], r0[2j+1], r1[2j],
// r1[2j+1]. base: flat index of r0[0]; W: input row length.
template <typename T>
void k2_row(const T* __restrict r0, const T* __restrict r1, T* __restrict y, int32_t* __restrict ix,
            int64_t n, int32_t base, int32_t W) {
  for (int64_t j = 0; j < n; ++j) {
    const T a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
    const int32_t i = base + static_cast<int32_t>(2 * j);
    T m = a;
    int32_t mi = i;
    bool t = b > m || b != b;
    m = t ? b : m;
    mi = t ? i + 1 : mi;
    t = c > m || c != c;
    m = t ? c : m;
    mi = t ? i + W : mi;
    t = d > m || d != d;
    m = t ? d : m;
    mi = t ? i + W + 1 : mi;
    y[j] = m;
    ix[j] = mi;
  }
}

// k2_row without the argmax (no gradient recorded).
template <typename T>
void k2_row_values(const T* __restrict r0, const T* __restrict r1, T* __restrict y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
    T m = a;
    m = b > m || b != b ? b : m;
    m = c > m || c != c ? c : m;
    m = d > m || d != d ? d : m;
    y[j] = m;
  }
}

template <typename T>
void max_pool_forward(const PoolGeom& g, const T* x, T* y, int32_t* idx) {
  const bool k2 = g.k2();
  for_planes(g, g.out_plane() * g.KH * g.KW, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.in_plane();
      T* yp = y + p * g.out_plane();
      int32_t* ip = idx ? idx + p * g.out_plane() : nullptr;
      if (k2) {
        // the common 2×2 / stride 2 case: four loads per output, no bounds checks. Rows are
        // short (LeNet: 14 and 5 outputs), so each row runs a whole number of vectors (`wide`)
        // where that stays inside this thread's output planes and the input: the extra outputs
        // land in later rows, which are written afterwards, and no scalar tail loop runs.
        const int64_t wide = (g.OW + 15) / 16 * 16;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const T* r0 = xp + 2 * oh * g.W;
          const T* r1 = r0 + g.W;
          const int64_t out_at = p * g.out_plane() + oh * g.OW;
          const int64_t in_at = p * g.in_plane() + (2 * oh + 1) * g.W;
          const bool spill =
              out_at + wide <= e * g.out_plane() && in_at + 2 * wide <= g.NC * g.in_plane();
          const int64_t n = spill ? wide : g.OW;
          if (ip)
            k2_row(r0, r1, yp + oh * g.OW, ip + oh * g.OW, n, static_cast<int32_t>(2 * oh * g.W),
                   static_cast<int32_t>(g.W));
          else
            k2_row_values(r0, r1, yp + oh * g.OW, n);
        }
        continue;
      }
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t h0 = oh * g.sh - g.ph;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t w0 = ow * g.sw - g.pw;
          T m = -std::numeric_limits<T>::infinity();
          int64_t mi = -1;
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            const int64_t ih = h0 + kh * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              const int64_t iw = w0 + kw * g.dw;
              if (iw < 0 || iw >= g.W) continue;
              const T v = xp[ih * g.W + iw];
              if (mi < 0) mi = ih * g.W + iw;  // an all -inf window points at its first element
              if (v > m || std::isnan(v)) {
                m = v;
                mi = ih * g.W + iw;
              }
            }
          }
          yp[oh * g.OW + ow] = m;
          if (ip) ip[oh * g.OW + ow] = static_cast<int32_t>(mi);
        }
      }
    }
  });
}

// y = max over each window: dx[idx] += dy (the gradient goes to the recorded argmax only)
class MaxPoolBackward : public Node {
 public:
  const char* nm;
  PoolGeom geom;
  Shape x_shape;
  std::vector<int32_t> idx;  // [NC, OH·OW], per plane
  explicit MaxPoolBackward(const char* n) : nm(n) {}
  std::string name() const override { return nm; }
  void release() override { std::vector<int32_t>().swap(idx); }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    SN_CHECK(!idx.empty() || geom.NC * geom.out_plane() == 0, AutogradError, nm,
             ": trying to backward through the graph a second time (its saved tensors were freed "
             "after the first backward); hint: pass retain_graph = true to the first backward");
    Tensor dy = detail::contiguous_raw(grads[0]);
    Tensor dx = make_tensor(x_shape, dy.dtype());
    SN_DISPATCH_FLOAT(dy.dtype(), nm, [&] {
      using T = scalar_t;
      const T* gp = dy.data_ptr<T>();
      T* dp = dx.data_ptr<T>();
      const PoolGeom& g = geom;
      for_planes(g, g.in_plane() + g.out_plane(), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
          T* d = dp + p * g.in_plane();
          const T* gg = gp + p * g.out_plane();
          const int32_t* ip = idx.data() + p * g.out_plane();
          std::fill(d, d + g.in_plane(), T(0));
          for (int64_t o = 0; o < g.out_plane(); ++o)
            if (ip[o] >= 0) d[ip[o]] += gg[o];
        }
      });
    });
    return {dx};
  }
};

Tensor max_pool_impl(const char* op, int sd, const Tensor& x, const IntArgs& kernel,
                     const MaxPoolOptions& o) {
  return with_batch(x, sd, op, [&](const Tensor& xb) {
    PoolArgs a;
    a.kernel = kernel.per_dim(sd, op, "kernel_size");
    a.stride = o.stride.empty() ? a.kernel : o.stride.per_dim(sd, op, "stride");
    a.padding = o.padding.per_dim(sd, op, "padding");
    a.dilation = o.dilation.per_dim(sd, op, "dilation");
    a.ceil_mode = o.ceil_mode;
    const PoolGeom g = pool_geometry(op, sd, xb, a);
    SN_CHECK(g.in_plane() < (int64_t{1} << 31), ShapeError, op, ": planes of ", g.in_plane(),
             " elements are too large (input ", xb.shape(), "; at most 2^31 - 1 per plane)");
    Tensor xc = detail::contiguous_raw(xb);
    Tensor out = make_tensor(pooled_shape(xb, sd, g), xb.dtype());
    const bool rec = any_requires_grad({&xb});
    std::shared_ptr<MaxPoolBackward> node;
    if (rec) {
      node = std::make_shared<MaxPoolBackward>(sd == 1 ? "MaxPool1dBackward" : "MaxPool2dBackward");
      node->geom = g;
      node->x_shape = xb.shape();
      node->idx.resize(g.NC * g.out_plane());
    }
    SN_DISPATCH_FLOAT(xb.dtype(), op, [&] {
      using T = scalar_t;
      max_pool_forward<T>(g, xc.data_ptr<T>(), out.data_ptr<T>(), rec ? node->idx.data() : nullptr);
    });
    if (rec) connect(node, {&xb}, {&out});
    return out;
  });
}

// ============================================================== average pooling
// Window of output (oh, ow) clipped to the input, and the divisor PyTorch uses for it: the window
// size including padding (clipped to the padded input) or only the valid elements.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  double inv;
};
inline AvgWindow avg_window(const PoolGeom& g, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = std::min(h0 + g.KH, g.H + g.ph), w1 = std::min(w0 + g.KW, g.W + g.pw);
  const int64_t padded_count = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.H);
  w1 = std::min(w1, g.W);
  const int64_t count = count_include_pad ? padded_count : (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, count > 0 ? 1.0 / static_cast<double>(count) : 0.0};
}

template <typename T>
void avg_pool_forward(const PoolGeom& g, const T* x, T* y, bool cip) {
  for_planes(g, g.out_plane() * g.KH * g.KW, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.in_plane();
      T* yp = y + p * g.out_plane();
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow wd = avg_window(g, oh, ow, cip);
          T s = 0;
          for (int64_t ih = wd.h0; ih < wd.h1; ++ih)
            for (int64_t iw = wd.w0; iw < wd.w1; ++iw) s += xp[ih * g.W + iw];
          yp[oh * g.OW + ow] = static_cast<T>(s * wd.inv);
        }
    }
  });
}

// y = Σ_window x / divisor: dx[window] += dy / divisor
class AvgPoolBackward : public Node {
 public:
  const char* nm;
  PoolGeom geom;
  Shape x_shape;
  bool count_include_pad = true;
  explicit AvgPoolBackward(const char* n) : nm(n) {}
  std::string name() const override { return nm; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    Tensor dy = detail::contiguous_raw(grads[0]);
    Tensor dx = make_tensor(x_shape, dy.dtype());
    SN_DISPATCH_FLOAT(dy.dtype(), nm, [&] {
      using T = scalar_t;
      const T* gp = dy.data_ptr<T>();
      T* dp = dx.data_ptr<T>();
      const PoolGeom& g = geom;
      for_planes(g, g.out_plane() * g.KH * g.KW + g.in_plane(), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
          T* d = dp + p * g.in_plane();
          const T* gg = gp + p * g.out_plane();
          std::fill(d, d + g.in_plane(), T(0));
          for (int64_t oh = 0; oh < g.OH; ++oh)
            for (int64_t ow = 0; ow < g.OW; ++ow) {
              const AvgWindow wd = avg_window(g, oh, ow, count_include_pad);
              const T v = static_cast<T>(gg[oh * g.OW + ow] * wd.inv);
              for (int64_t ih = wd.h0; ih < wd.h1; ++ih)
                for (int64_t iw = wd.w0; iw < wd.w1; ++iw) d[ih * g.W + iw] += v;
            }
        }
      });
    });
    return {dx};
  }
};

Tensor avg_pool_impl(const char* op, int sd, const Tensor& x, const IntArgs& kernel,
                     const AvgPoolOptions& o) {
  return with_batch(x, sd, op, [&](const Tensor& xb) {
    PoolArgs a;
    a.kernel = kernel.per_dim(sd, op, "kernel_size");
    a.stride = o.stride.empty() ? a.kernel : o.stride.per_dim(sd, op, "stride");
    a.padding = o.padding.per_dim(sd, op, "padding");
    a.dilation = std::vector<int64_t>(sd, 1);
    a.ceil_mode = o.ceil_mode;
    const PoolGeom g = pool_geometry(op, sd, xb, a);
    Tensor xc = detail::contiguous_raw(xb);
    Tensor out = make_tensor(pooled_shape(xb, sd, g), xb.dtype());
    SN_DISPATCH_FLOAT(xb.dtype(), op, [&] {
      using T = scalar_t;
      avg_pool_forward<T>(g, xc.data_ptr<T>(), out.data_ptr<T>(), o.count_include_pad);
    });
    if (any_requires_grad({&xb})) {
      auto node =
          std::make_shared<AvgPoolBackward>(sd == 1 ? "AvgPool1dBackward" : "AvgPool2dBackward");
      node->geom = g;
      node->x_shape = xb.shape();
      node->count_include_pad = o.count_include_pad;
      connect(node, {&xb}, {&out});
    }
    return out;
  });
}

// ============================================================== adaptive average pooling
// Output cell i of n over an input of size `in` averages [floor(i·in/n), ceil((i+1)·in/n)).
inline int64_t ad_start(int64_t i, int64_t in, int64_t n) { return (i * in) / n; }
inline int64_t ad_end(int64_t i, int64_t in, int64_t n) { return ((i + 1) * in + n - 1) / n; }

template <typename T>
void adaptive_avg_forward(const PoolGeom& g, const T* x, T* y) {
  for_planes(g, g.in_plane() + g.out_plane(), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.in_plane();
      T* yp = y + p * g.out_plane();
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t h0 = ad_start(oh, g.H, g.OH), h1 = ad_end(oh, g.H, g.OH);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t w0 = ad_start(ow, g.W, g.OW), w1 = ad_end(ow, g.W, g.OW);
          double s = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) s += xp[ih * g.W + iw];
          yp[oh * g.OW + ow] = static_cast<T>(s / static_cast<double>((h1 - h0) * (w1 - w0)));
        }
      }
    }
  });
}

// y = mean over each adaptive window: dx[window] += dy / window size
class AdaptiveAvgPoolBackward : public Node {
 public:
  PoolGeom geom;
  Shape x_shape;
  std::string name() const override { return "AdaptiveAvgPool2dBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    Tensor dy = detail::contiguous_raw(grads[0]);
    Tensor dx = make_tensor(x_shape, dy.dtype());
    SN_DISPATCH_FLOAT(dy.dtype(), "adaptive_avg_pool2d", [&] {
      using T = scalar_t;
      const T* gp = dy.data_ptr<T>();
      T* dp = dx.data_ptr<T>();
      const PoolGeom& g = geom;
      for_planes(g, g.in_plane() + g.out_plane(), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
          T* d = dp + p * g.in_plane();
          const T* gg = gp + p * g.out_plane();
          std::fill(d, d + g.in_plane(), T(0));
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const int64_t h0 = ad_start(oh, g.H, g.OH), h1 = ad_end(oh, g.H, g.OH);
            for (int64_t ow = 0; ow < g.OW; ++ow) {
              const int64_t w0 = ad_start(ow, g.W, g.OW), w1 = ad_end(ow, g.W, g.OW);
              const T v = gg[oh * g.OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
              for (int64_t ih = h0; ih < h1; ++ih)
                for (int64_t iw = w0; iw < w1; ++iw) d[ih * g.W + iw] += v;
            }
          }
        }
      });
    });
    return {dx};
  }
};

}  // namespace

Tensor max_pool1d(const Tensor& x, IntArgs kernel_size, MaxPoolOptions opts) {
  return max_pool_impl("max_pool1d", 1, x, kernel_size, opts);
}
Tensor max_pool2d(const Tensor& x, IntArgs kernel_size, MaxPoolOptions opts) {
  return max_pool_impl("max_pool2d", 2, x, kernel_size, opts);
}
Tensor avg_pool1d(const Tensor& x, IntArgs kernel_size, AvgPoolOptions opts) {
  return avg_pool_impl("avg_pool1d", 1, x, kernel_size, opts);
}
Tensor avg_pool2d(const Tensor& x, IntArgs kernel_size, AvgPoolOptions opts) {
  return avg_pool_impl("avg_pool2d", 2, x, kernel_size, opts);
}

Tensor adaptive_avg_pool2d(const Tensor& x, IntArgs output_size) {
  const char* op = "adaptive_avg_pool2d";
  return with_batch(x, 2, op, [&](const Tensor& xb) {
    const std::vector<int64_t> os = output_size.per_dim(2, op, "output_size");
    SN_CHECK(os[0] >= 1 && os[1] >= 1, ValueError, op, ": output_size must be positive (got ",
             Shape(os), ")");
    SN_CHECK(xb.shape()[2] >= 1 && xb.shape()[3] >= 1, ShapeError, op, ": input ", xb.shape(),
             " has an empty spatial dim");
    PoolGeom g{};
    g.NC = xb.shape()[0] * xb.shape()[1];
    g.H = xb.shape()[2];
    g.W = xb.shape()[3];
    g.OH = os[0];
    g.OW = os[1];
    Tensor xc = detail::contiguous_raw(xb);
    Tensor out = make_tensor(Shape{xb.shape()[0], xb.shape()[1], g.OH, g.OW}, xb.dtype());
    SN_DISPATCH_FLOAT(xb.dtype(), op, [&] {
      using T = scalar_t;
      adaptive_avg_forward<T>(g, xc.data_ptr<T>(), out.data_ptr<T>());
    });
    if (any_requires_grad({&xb})) {
      auto node = std::make_shared<AdaptiveAvgPoolBackward>();
      node->geom = g;
      node->x_shape = xb.shape();
      connect(node, {&xb}, {&out});
    }
    return out;
  });
}

}  // namespace sn
