// Typed elementwise maps over the strided loop: out = f(in...), all operands already expanded
// to out's shape. Fast paths for the contiguous and scalar-broadcast inner loops so the
// compiler vectorises them.
#pragma once
#include "backend/cpu/loops.h"
#include "sinapsis/core/tensor.h"

namespace sn::cpu {

template <typename To, typename Ta, typename F>
void map1(const Tensor& out, const Tensor& a, F f) {
  To* po = static_cast<To*>(out.raw_data());
  const Ta* pa = static_cast<const Ta*>(a.raw_data());
  if (out.is_contiguous() && a.is_contiguous()) {
    parallel_for(out.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) po[i] = f(pa[i]);
    });
    return;
  }
  strided_loop<2>(out.shape(), {&out.strides(), &a.strides()},
                  [&](const int64_t* off, const int64_t* st, int64_t n) {
                    To* o = po + off[0];
                    const Ta* x = pa + off[1];
                    if (st[0] == 1 && st[1] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]]);
                    }
                  });
}

template <typename To, typename Ta, typename Tb, typename F>
void map2(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  To* po = static_cast<To*>(out.raw_data());
  const Ta* pa = static_cast<const Ta*>(a.raw_data());
  const Tb* pb = static_cast<const Tb*>(b.raw_data());
  if (out.is_contiguous() && a.is_contiguous() && b.is_contiguous()) {
    parallel_for(out.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]);
    });
    return;
  }
  strided_loop<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()},
                  [&](const int64_t* off, const int64_t* st, int64_t n) {
                    To* o = po + off[0];
                    const Ta* x = pa + off[1];
                    const Tb* y = pb + off[2];
                    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
                    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                      const Tb yv = *y;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
                    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
                      const Ta xv = *x;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]], y[i * st[2]]);
                    }
                  });
}

template <typename To, typename Ta, typename Tb, typename Tc, typename F>
void map3(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  To* po = static_cast<To*>(out.raw_data());
  const Ta* pa = static_cast<const Ta*>(a.raw_data());
  const Tb* pb = static_cast<const Tb*>(b.raw_data());
  const Tc* pc = static_cast<const Tc*>(c.raw_data());
  if (out.is_contiguous() && a.is_contiguous() && b.is_contiguous() && c.is_contiguous()) {
    parallel_for(out.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i], pc[i]);
    });
    return;
  }
  strided_loop<4>(out.shape(), {&out.strides(), &a.strides(), &b.strides(), &c.strides()},
                  [&](const int64_t* off, const int64_t* st, int64_t n) {
                    To* o = po + off[0];
                    const Ta* x = pa + off[1];
                    const Tb* y = pb + off[2];
                    const Tc* z = pc + off[3];
                    for (int64_t i = 0; i < n; ++i)
                      o[i * st[0]] = f(x[i * st[1]], y[i * st[2]], z[i * st[3]]);
                  });
}

}  // namespace sn::cpu
