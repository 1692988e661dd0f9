// conv2d/conv1d against a naive reference (plain loops in double) over a seeded sweep of random
// geometries, so every internal path is checked with output and all three gradients: the
// extended-row direct kernels (every output-block size), extended rows with im2col + GEMM, the
// general strided im2col, the 1x1 shortcut, groups, asymmetric "same" padding, the fused ReLU,
// float32 and float64, one and two threads.
#include <gtest/gtest.h>

#include <random>

#include "conv/conv_helpers.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;

struct Geo {
  int64_t N, C, H, W, O, KH, KW, sh, sw, ph, pw, ph_hi, pw_hi, dh, dw, G;
  bool same = false, relu = false, bias = true;
  int64_t OH() const { return (H + ph + ph_hi - dh * (KH - 1) - 1) / sh + 1; }
  int64_t OW() const { return (W + pw + pw_hi - dw * (KW - 1) - 1) / sw + 1; }
};

// y = conv(x, w) + b (ReLU optional) and the gradients of sum(y · gy), all in double.
struct Ref {
  std::vector<double> y, dx, dw, db;
};
Ref reference(const Geo& g, const std::vector<double>& x, const std::vector<double>& w,
              const std::vector<double>& b, const std::vector<double>& gy) {
  const int64_t OH = g.OH(), OW = g.OW(), Cg = g.C / g.G, Og = g.O / g.G;
  Ref r;
  r.y.assign(g.N * g.O * OH * OW, 0.0);
  r.dx.assign(x.size(), 0.0);
  r.dw.assign(w.size(), 0.0);
  r.db.assign(g.O, 0.0);
  auto tap = [&](auto&& f) {
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t o = 0; o < g.O; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow)
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t kh = 0; kh < g.KH; ++kh)
                for (int64_t kw = 0; kw < g.KW; ++kw) {
                  const int64_t ih = oh * g.sh - g.ph + kh * g.dh,
                                iw = ow * g.sw - g.pw + kw * g.dw;
                  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                  const int64_t ci = (o / Og) * Cg + c;
                  f(((n * g.O + o) * OH + oh) * OW + ow, ((n * g.C + ci) * g.H + ih) * g.W + iw,
                    ((o * Cg + c) * g.KH + kh) * g.KW + kw);
                }
  };
  tap([&](int64_t yi, int64_t xi, int64_t wi) { r.y[yi] += w[wi] * x[xi]; });
  std::vector<double> g2 = gy;
  for (size_t i = 0; i < r.y.size(); ++i) {
    if (g.bias) r.y[i] += b[(i / (OH * OW)) % g.O];
    if (g.relu && r.y[i] <= 0) {
      r.y[i] = 0;
      g2[i] = 0;
    }
    r.db[(i / (OH * OW)) % g.O] += g2[i];
  }
  tap([&](int64_t yi, int64_t xi, int64_t wi) {
    r.dx[xi] += w[wi] * g2[yi];
    r.dw[wi] += x[xi] * g2[yi];
  });
  return r;
}

std::vector<double> random_vec(std::mt19937& rng, int64_t n) {
  std::normal_distribution<double> nd;
  std::vector<double> v(n);
  for (auto& e : v) e = static_cast<float>(nd(rng));  // float-representable
  return v;
}

void check(const Geo& g, std::mt19937& rng, DType dt, const std::string& what) {
  SCOPED_TRACE(what);
  const int64_t Cg = g.C / g.G;
  const auto xv = random_vec(rng, g.N * g.C * g.H * g.W),
             wv = random_vec(rng, g.O * Cg * g.KH * g.KW), bv = random_vec(rng, g.O),
             gyv = random_vec(rng, g.N * g.O * g.OH() * g.OW());
  const bool one_d = g.H == 1 && g.KH == 1 && g.ph == 0 && g.ph_hi == 0;
  Shape xs{g.N, g.C, g.H, g.W}, ws{g.O, Cg, g.KH, g.KW};
  if (one_d) xs = {g.N, g.C, g.W}, ws = {g.O, Cg, g.KW};
  Tensor x = tensor(xv, xs, {.dtype = kFloat64}).to(dt).requires_grad_(true);
  Tensor w = tensor(wv, ws, {.dtype = kFloat64}).to(dt).requires_grad_(true);
  Tensor b = g.bias ? tensor(bv, {g.O}, {.dtype = kFloat64}).to(dt).requires_grad_(true) : Tensor();
  ConvOptions o{.groups = g.G, .relu = g.relu};
  if (one_d) {
    o.stride = g.sw;
    o.dilation = g.dw;
    o.padding = g.same ? Padding("same") : Padding(g.pw);
  } else {
    o.stride = {g.sh, g.sw};
    o.dilation = {g.dh, g.dw};
    o.padding = g.same ? Padding("same") : Padding({g.ph, g.pw});
  }
  Tensor y = one_d ? conv1d(x, w, b, o) : conv2d(x, w, b, o);
  Shape ys = one_d ? Shape{g.N, g.O, g.OW()} : Shape{g.N, g.O, g.OH(), g.OW()};
  ASSERT_EQ(y.shape(), ys);
  y.backward(tensor(gyv, ys, {.dtype = kFloat64}).to(dt));
  const Ref r = reference(g, xv, wv, bv, gyv);
  const double tol = dt == kFloat64 ? 1e-10 : 1e-4;
  auto T = [](const std::vector<double>& v, const Shape& s) {
    return tensor(v, s, {.dtype = kFloat64});
  };
  EXPECT_TRUE(close(y, T(r.y, ys), tol, tol));
  EXPECT_TRUE(close(x.grad(), T(r.dx, xs), tol, tol));
  EXPECT_TRUE(close(w.grad(), T(r.dw, ws), tol, tol));
  if (g.bias) {
    EXPECT_TRUE(close(b.grad(), T(r.db, {g.O}), tol, tol));
  }
}

std::string describe(const Geo& g) {
  return detail::concat("N=", g.N, " C=", g.C, " HxW=", g.H, "x", g.W, " O=", g.O, " k=", g.KH, "x",
                        g.KW, " s=", g.sh, ",", g.sw, " p=", g.ph, ",", g.pw, "/", g.ph_hi, ",",
                        g.pw_hi, " d=", g.dh, ",", g.dw, " G=", g.G, g.same ? " same" : "",
                        g.relu ? " relu" : "", g.bias ? "" : " nobias");
}

Geo random_geo(std::mt19937& rng) {
  auto U = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Geo g{};
  g.G = U(1, 3) == 3 ? 2 : 1;
  g.N = U(1, 3);
  g.C = g.G * U(1, 3);
  g.O = g.G * U(1, 12);  // output blocks of every size 1..8 in the direct kernels
  g.KH = U(1, 4);
  g.KW = U(1, 4);
  g.dh = U(1, 3) == 3 ? 2 : 1;
  g.dw = U(1, 3) == 3 ? 2 : 1;
  g.sh = U(1, 4) == 4 ? 2 : 1;
  g.sw = U(1, 4) == 4 ? 2 : 1;
  g.same = g.sh == 1 && g.sw == 1 && U(1, 4) == 4;
  if (g.same) {
    g.ph = g.dh * (g.KH - 1) / 2, g.ph_hi = g.dh * (g.KH - 1) - g.ph;
    g.pw = g.dw * (g.KW - 1) / 2, g.pw_hi = g.dw * (g.KW - 1) - g.pw;
  } else {
    g.ph = g.ph_hi = U(0, 2);
    g.pw = g.pw_hi = U(0, 2);
  }
  g.H = std::max<int64_t>(U(1, 9), g.dh * (g.KH - 1) + 1 - g.ph - g.ph_hi);
  g.W = std::max<int64_t>(U(1, 12), g.dw * (g.KW - 1) + 1 - g.pw - g.pw_hi);
  g.relu = U(0, 1);
  g.bias = U(0, 3) > 0;
  return g;
}

TEST(ConvPaths, RandomGeometriesMatchNaiveReference) {
  std::mt19937 rng(2024);
  for (int i = 0; i < 120; ++i) {
    const Geo g = random_geo(rng);
    check(g, rng, i % 2 ? kFloat32 : kFloat64, describe(g));
  }
}

TEST(ConvPaths, OneDimensional) {
  std::mt19937 rng(7);
  for (int i = 0; i < 30; ++i) {
    Geo g = random_geo(rng);
    g.H = 1, g.KH = 1, g.sh = 1, g.dh = 1, g.ph = g.ph_hi = 0;
    if (!g.same) g.pw_hi = g.pw;
    g.W = std::max<int64_t>(g.W, g.dw * (g.KW - 1) + 1 - g.pw - g.pw_hi);
    check(g, rng, i % 2 ? kFloat32 : kFloat64, "1d " + describe(g));
  }
}

TEST(ConvPaths, LargeChannelCountsUseGemmAndLeNetShapes) {
  std::mt19937 rng(3);
  // many output channels (extended rows with GEMM), many input taps (K > 1024), LeNet's layers
  check({2, 3, 6, 5, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, rng, kFloat32, "O=40");
  check({1, 120, 4, 5, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1}, rng, kFloat64, "K=1080");
  check({3, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, false, true}, rng, kFloat32, "lenet1");
  check({3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, false, true}, rng, kFloat32, "lenet2");
}

TEST(ConvPaths, ManyOutputChannelsEveryKernelWidth) {
  // the weight gradient vectorised over output channels: every kernel width, dilation, groups,
  // a partial channel vector
  std::mt19937 rng(11);
  for (int64_t kw = 1; kw <= 7; ++kw) {
    // 12..32 output channels per group take this kernel; 14 and 28 leave partial vectors
    const int64_t dw = kw % 2 ? 1 : 2, G = kw == 4 ? 2 : 1, O = G * (kw % 3 == 0 ? 28 : 14);
    Geo g{2, 2 * G, 5, dw * (kw - 1) + 3, O, 2, kw, 1, 1, 1, 0, 1, 0, 1, dw, G};
    g.relu = kw % 2 == 0;
    check(g, rng, kw % 2 ? kFloat32 : kFloat64, "ovec " + describe(g));
  }
}

TEST(ConvPaths, BatchesSplitIntoChunksOnTheIm2colPath) {
  // the im2col path runs chunks of samples side by side (at most 256 output columns, and 2^20
  // values of column buffer, per chunk): 7x7 outputs make chunks of up to 5 samples, the third
  // case's K·P = 211680 values chunks of up to 4; 9 and 12 samples leave shorter last chunks
  std::mt19937 rng(13);
  check({12, 4, 14, 14, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, false, true}, rng, kFloat32,
        "strided, groups, relu");
  check({9, 6, 8, 8, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, rng, kFloat64, "1x1");
  check({9, 270, 14, 14, 2, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1}, rng, kFloat32, "K·P near the cap");
}

TEST(ConvPaths, TwoThreadsGiveTheSameResults) {
  const int before = get_num_threads();
  set_num_threads(2);
  std::mt19937 rng(5);
  // enough work per call that the sample loop really splits over two threads
  check({8, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, false, true}, rng, kFloat32,
        "2 threads, direct");
  check({6, 4, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2}, rng, kFloat64, "2 threads, strided");
  set_num_threads(before);
}

}  // namespace
}  // namespace sn
