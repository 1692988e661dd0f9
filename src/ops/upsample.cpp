// upsample2d: nearest and bilinear resizing, forward and Backward side by side. Per output row
// and column the source indices and weights are computed once (PyTorch 1.13's formulas, in the
// input's precision), then every [H, W] plane is a gather (forward) or a scatter-add (backward);
// planes are spread over the threads, so the scatter needs no atomics.
#include <cmath>

#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "ops/conv_common.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/upsample.h"

namespace sn {

using autograd::any_requires_grad;
using autograd::connect;
using detail::make_tensor;

namespace {

struct UpGeom {
  int64_t NC, H, W, OH, OW;
  bool bilinear, align_corners;
  double scale_h, scale_w;  // the user's scale factors, or 0 when the size was given
};

// For one dim: output position o reads i0[o] with weight l0[o] and i1[o] with weight l1[o]
// (nearest: i1 = i0, l0 = 1, l1 = 0).
template <typename T>
struct Taps {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
};

template <typename T>
Taps<T> taps(int64_t in, int64_t out, double scale, bool bilinear, bool align_corners) {
  Taps<T> t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.l0.resize(out);
  t.l1.resize(out);
  if (!bilinear) {
    // PyTorch's nearest_idx: float arithmetic, with exact shortcuts for 1× and 2×
    const float s = scale > 0 ? static_cast<float>(1.0 / scale)
                              : static_cast<float>(in) / static_cast<float>(out);
    for (int64_t o = 0; o < out; ++o) {
      int64_t i = out == in       ? o
                  : out == 2 * in ? o >> 1
                                  : static_cast<int64_t>(std::floor(static_cast<float>(o) * s));
      i = std::min(i, in - 1);
      t.i0[o] = t.i1[o] = i;
      t.l0[o] = T(1);
      t.l1[o] = T(0);
    }
    return t;
  }
  // area_pixel_compute_scale / _source_index in T (float for float32, as PyTorch's opmath)
  T s;
  if (align_corners)
    s = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  else
    s = scale > 0 ? static_cast<T>(1.0 / scale) : static_cast<T>(in) / static_cast<T>(out);
  for (int64_t o = 0; o < out; ++o) {
    T src = align_corners ? s * static_cast<T>(o) : s * (static_cast<T>(o) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
    const int64_t i = std::min(static_cast<int64_t>(src), in - 1);
    const T lambda = std::min(src - static_cast<T>(i), T(1));
    t.i0[o] = i;
    t.i1[o] = i < in - 1 ? i + 1 : i;
    t.l1[o] = lambda;
    t.l0[o] = T(1) - lambda;
  }
  return t;
}

template <typename F>
void for_planes(int64_t planes, int64_t cost, F&& f) {
  if (omp_in_parallel()) return f(int64_t{0}, planes);
  cpu::parallel_for(planes, std::max<int64_t>(1, cpu::kParallelGrain / std::max<int64_t>(1, cost)),
                    f);
}

// y[o, p] = Σ over the (up to) four taps of x, weights l(h)·l(w).
template <typename T>
void up_forward(const UpGeom& g, const T* x, T* y) {
  const Taps<T> th = taps<T>(g.H, g.OH, g.scale_h, g.bilinear, g.align_corners);
  const Taps<T> tw = taps<T>(g.W, g.OW, g.scale_w, g.bilinear, g.align_corners);
  for_planes(g.NC, g.OH * g.OW * 4, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.H * g.W;
      T* yp = y + p * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const T* r0 = xp + th.i0[oh] * g.W;
        const T* r1 = xp + th.i1[oh] * g.W;
        const T a0 = th.l0[oh], a1 = th.l1[oh];
        T* yr = yp + oh * g.OW;
        if (!g.bilinear)
          for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = r0[tw.i0[ow]];
        else
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t w0 = tw.i0[ow], w1 = tw.i1[ow];
            yr[ow] = a0 * (tw.l0[ow] * r0[w0] + tw.l1[ow] * r0[w1]) +
                     a1 * (tw.l0[ow] * r1[w0] + tw.l1[ow] * r1[w1]);
          }
      }
    }
  });
}

// The adjoint: every output gradient goes back to its taps with the same weights.
template <typename T>
void up_backward(const UpGeom& g, const T* dy, T* dx) {
  const Taps<T> th = taps<T>(g.H, g.OH, g.scale_h, g.bilinear, g.align_corners);
  const Taps<T> tw = taps<T>(g.W, g.OW, g.scale_w, g.bilinear, g.align_corners);
  for_planes(g.NC, g.OH * g.OW * 4, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* xp = dx + p * g.H * g.W;
      std::fill(xp, xp + g.H * g.W, T(0));
      const T* yp = dy + p * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        T* r0 = xp + th.i0[oh] * g.W;
        T* r1 = xp + th.i1[oh] * g.W;
        const T a0 = th.l0[oh], a1 = th.l1[oh];
        const T* yr = yp + oh * g.OW;
        if (!g.bilinear)
          for (int64_t ow = 0; ow < g.OW; ++ow) r0[tw.i0[ow]] += yr[ow];
        else
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t w0 = tw.i0[ow], w1 = tw.i1[ow];
            const T v0 = a0 * yr[ow], v1 = a1 * yr[ow];
            r0[w0] += tw.l0[ow] * v0;
            r0[w1] += tw.l1[ow] * v0;
            r1[w0] += tw.l0[ow] * v1;
            r1[w1] += tw.l1[ow] * v1;
          }
      }
    }
  });
}

// y = Σ_taps l_h·l_w·x[tap]  =>  dx[tap] += l_h·l_w·dy (nearest: one tap of weight 1).
class Upsample2dBackward : public Node {
 public:
  UpGeom geom;
  Shape x_shape;
  DType dt = kFloat32;
  std::string name() const override {
    return geom.bilinear ? "UpsampleBilinear2dBackward" : "UpsampleNearest2dBackward";
  }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    Tensor dy = detail::contiguous_raw(grads[0]);
    Tensor dx = make_tensor(x_shape, dt);
    SN_DISPATCH_FLOAT(dt, "upsample2d", [&] {
      using T = scalar_t;
      up_backward<T>(geom, dy.data_ptr<T>(), dx.data_ptr<T>());
    });
    return {dx};
  }
};

Tensor upsample_impl(const Tensor& x, const UpsampleOptions& o) {
  const char* op = "upsample2d";
  SN_CHECK(o.mode == "nearest" || o.mode == "bilinear", ValueError, op,
           ": mode must be \"nearest\" or \"bilinear\" (got \"", o.mode, "\")");
  SN_CHECK(!o.align_corners || o.mode == "bilinear", ValueError, op,
           ": align_corners applies to the bilinear mode only (mode \"", o.mode, "\")");
  SN_CHECK(o.size.empty() != o.scale_factor.empty(), ValueError, op,
           ": give exactly one of size and scale_factor (got size ", Shape(o.size),
           o.scale_factor.empty() ? ", no scale_factor" : ", and a scale_factor", ")");
  const int64_t H = x.shape()[2], W = x.shape()[3];
  UpGeom g{};
  g.NC = x.shape()[0] * x.shape()[1];
  g.H = H;
  g.W = W;
  g.bilinear = o.mode == "bilinear";
  g.align_corners = o.align_corners;
  if (!o.size.empty()) {
    SN_CHECK(o.size.size() <= 2, ValueError, op, ": size needs 1 or 2 values (got ", Shape(o.size),
             ")");
    g.OH = o.size[0];
    g.OW = o.size.back();
    SN_CHECK(g.OH >= 1 && g.OW >= 1, ValueError, op, ": size must be positive (got ", Shape(o.size),
             ")");
  } else {
    SN_CHECK(o.scale_factor.size() <= 2, ValueError, op, ": scale_factor needs 1 or 2 values");
    g.scale_h = o.scale_factor[0];
    g.scale_w = o.scale_factor.back();
    SN_CHECK(g.scale_h > 0 && g.scale_w > 0, ValueError, op,
             ": scale_factor must be positive (got ", g.scale_h, ", ", g.scale_w, ")");
    g.OH = static_cast<int64_t>(std::floor(static_cast<double>(H) * g.scale_h));
    g.OW = static_cast<int64_t>(std::floor(static_cast<double>(W) * g.scale_w));
    SN_CHECK(g.OH >= 1 && g.OW >= 1, ShapeError, op, ": output would be empty ([", g.OH, ", ", g.OW,
             "]) for input ", x.shape(), " and scale_factor ", g.scale_h, ", ", g.scale_w);
  }
  SN_CHECK(H >= 1 && W >= 1, ShapeError, op, ": input ", x.shape(), " has an empty spatial dim");
  Tensor xc = detail::contiguous_raw(x);
  Tensor out = make_tensor(Shape{x.shape()[0], x.shape()[1], g.OH, g.OW}, x.dtype());
  if (g.NC > 0)
    SN_DISPATCH_FLOAT(x.dtype(), op, [&] {
      using T = scalar_t;
      up_forward<T>(g, xc.data_ptr<T>(), out.data_ptr<T>());
    });
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<Upsample2dBackward>();
    node->geom = g;
    node->x_shape = x.shape();
    node->dt = x.dtype();
    connect(node, {&x}, {&out});
  }
  return out;
}

}  // namespace

Tensor upsample2d(const Tensor& x, const UpsampleOptions& opts) {
  const bool batched = convops::check_input(x, 2, "upsample2d", "[N, C, H, W]");
  // PyTorch reads a 3-D input as [N, C, L] (1-d resizing): refuse rather than guess
  SN_CHECK(batched, ShapeError, "upsample2d: expected a 4-D input [N, C, H, W], got ", x.shape(),
           "; hint: add a batch dim with unsqueeze(0)");
  return upsample_impl(x, opts);
}

}  // namespace sn
