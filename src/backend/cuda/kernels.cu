// The CUDA backend's kernels: one thread per output element over a coalesced strided geometry
// (grid-stride loops), for copies, fills, elementwise maps, reductions and softmax. Plain
// reference kernels, correct for any layout and dtype; the fast paths (vectorised contiguous
// loads, block reductions) are the next step. The formulas are the CPU kernels'
// (src/backend/cpu/cpu_backend.cpp), with the same NaN conventions.
#include <cstdint>
#include <type_traits>

#include "backend/cuda/kernels.h"

namespace sn::cuda {

namespace {

constexpr int kThreads = 256;

inline int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 65535 ? (b < 1 ? 1 : b) : 65535);
}

template <int N>
__device__ inline void offsets(const Geom& g, int64_t i, int64_t* off) {
#pragma unroll
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = g.nd - 1; d >= 0; --d) {
    const int64_t idx = i % g.size[d];
    i /= g.size[d];
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] += idx * g.stride[k][d];
  }
}

#define SN_GRID_LOOP(i, n)                                                               \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// ---- dtype dispatch on the host
template <typename F>
void dispatch(DT dt, F&& f) {
  switch (dt) {
    case DT::Bool:
      f(bool{});
      break;
    case DT::Int64:
      f(int64_t{});
      break;
    case DT::Float32:
      f(float{});
      break;
    case DT::Float64:
      f(double{});
      break;
  }
}
template <typename F>
void dispatch_float(DT dt, F&& f) {
  if (dt == DT::Float32)
    f(float{});
  else
    f(double{});
}

// ---- copy / fill
template <typename To, typename From>
__global__ void copy_k(To* dst, const From* src, Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[2];
    offsets<2>(g, i, off);
    dst[off[0]] = static_cast<To>(src[off[1]]);
  }
}
template <typename T>
__global__ void fill_k(T* dst, T v, Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[1];
    offsets<1>(g, i, off);
    dst[off[0]] = v;
  }
}

// ---- binary
template <typename T>
__device__ inline T arith(int op, T x, T y, T al) {
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {
      case 0:  // add (bool promotes to int64 before reaching here)
      case 5:  // maximum
        return x || y;
      case 2:  // mul
      case 6:  // minimum
        return x && y;
      default:
        return x;
    }
  } else {
    switch (op) {
      case 0:
        return static_cast<T>(x + al * y);
      case 1:
        return static_cast<T>(x - al * y);
      case 2:
        return static_cast<T>(x * y);
      case 3:
        return static_cast<T>(x / y);
      case 4:
        return static_cast<T>(pow(static_cast<double>(x), static_cast<double>(y)));
      case 5:
        return x != x ? x : (x > y ? x : y);
      case 6:
        return x != x ? x : (x < y ? x : y);
    }
    return x;
  }
}
template <>
__device__ inline float arith<float>(int op, float x, float y, float al) {
  switch (op) {
    case 0:
      return x + al * y;
    case 1:
      return x - al * y;
    case 2:
      return x * y;
    case 3:
      return x / y;
    case 4:
      return powf(x, y);
    case 5:
      return x != x ? x : (x > y ? x : y);
    case 6:
      return x != x ? x : (x < y ? x : y);
  }
  return x;
}
template <typename T>
__device__ inline bool compare(int op, T x, T y) {
  switch (op) {
    case 7:
      return x == y;
    case 8:
      return x != y;
    case 9:
      return x < y;
    case 10:
      return x <= y;
    case 11:
      return x > y;
    case 12:
      return x >= y;
    case 13:
      return static_cast<bool>(x) && static_cast<bool>(y);
    case 14:
      return static_cast<bool>(x) || static_cast<bool>(y);
  }
  return false;
}
template <typename T>
__global__ void arith_k(int op, T* out, const T* a, const T* b, T al, Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[3];
    offsets<3>(g, i, off);
    out[off[0]] = arith<T>(op, a[off[1]], b[off[2]], al);
  }
}
template <typename T>
__global__ void compare_k(int op, bool* out, const T* a, const T* b, Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[3];
    offsets<3>(g, i, off);
    out[off[0]] = compare<T>(op, a[off[1]], b[off[2]]);
  }
}

// ---- with a scalar: add, mul, rsub, rdiv, pow, rpow
template <typename T>
__global__ void scalar_k(int op, T* out, const T* in, double s, Geom g) {
  const T v = static_cast<T>(s);
  SN_GRID_LOOP(i, g.n) {
    int64_t off[2];
    offsets<2>(g, i, off);
    const T x = in[off[1]];
    T r = x;
    switch (op) {
      case 0:
        r = static_cast<T>(x + v);
        break;
      case 1:
        r = static_cast<T>(x * v);
        break;
      case 2:
        r = static_cast<T>(v - x);
        break;
      case 3:
        r = static_cast<T>(v / x);
        break;
      case 4:
        r = s == 2.0 ? static_cast<T>(x * x) : static_cast<T>(pow(static_cast<double>(x), s));
        break;
      case 5:
        r = static_cast<T>(pow(s, static_cast<double>(x)));
        break;
    }
    out[off[0]] = r;
  }
}

template <typename T>
__global__ void where_k(T* out, const bool* c, const T* a, const T* b, Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[4];
    offsets<4>(g, i, off);
    out[off[0]] = c[off[1]] ? a[off[2]] : b[off[3]];
  }
}

// ---- unary maps (UnaryOp order); float and double
// Device math by type: float calls the f-suffixed functions, double the plain ones.
namespace dm {
#define SN_DM(name)                                              \
  __device__ inline float name(float x) { return ::name##f(x); } \
  __device__ inline double name(double x) { return ::name(x); }
SN_DM(exp)
SN_DM(log)
SN_DM(sqrt)
SN_DM(sin)
SN_DM(cos)
SN_DM(tanh)
SN_DM(erf)
SN_DM(log1p)
SN_DM(fabs)
#undef SN_DM
}  // namespace dm

template <typename T>
__device__ inline T sigm(T x) {
  return x >= T(0) ? T(1) / (T(1) + dm::exp(-x)) : dm::exp(x) / (T(1) + dm::exp(x));
}
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <typename T>
__device__ inline T unary_f(int op, T x, T p0, T p1) {
  switch (op) {
    case 0:
      return dm::exp(x);
    case 1:
      return dm::log(x);
    case 2:
      return dm::sqrt(x);
    case 3:
      return T(1) / dm::sqrt(x);
    case 4:
      return dm::sin(x);
    case 5:
      return dm::cos(x);
    case 6:
      return sigm(x);
    case 7:
      return dm::tanh(x);
    case 8:
      return x <= T(0) ? T(0) : x;
    case 9:
      return x > T(0) ? x : p0 * x;
    case 10:
      return x > T(0) ? x : p0 * (dm::exp(x) - T(1));
    case 11:
      return T(0.5) * x * (T(1) + dm::erf(x * T(kInvSqrt2)));
    case 12:
      return T(0.5) * x * (T(1) + dm::tanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
    case 13:
      return x * sigm(x);
    case 14:
      return x * p0 > p1 ? x : dm::log1p(dm::exp(x * p0)) / p0;
    case 15:
      return x > T(0) ? T(1) : T(0);
    case 16:
      return x < p0 ? p0 : (x > p1 ? p1 : x);
    case 17:
      return -x;
    case 18:
      return dm::fabs(x);
    case 19:
      return x * x;
  }
  return x;
}
template <typename T>
__device__ inline T unary_b(int op, T g, T x, T y, T p0, T p1) {
  switch (op) {
    case 0:
      return g * y;
    case 1:
      return g / x;
    case 2:
      return g / (T(2) * y);
    case 3:
      return T(-0.5) * g * y * y * y;
    case 4:
      return g * dm::cos(x);
    case 5:
      return -g * dm::sin(x);
    case 6:
      return g * y * (T(1) - y);
    case 7:
      return g * (T(1) - y * y);
    case 8:
      return y <= T(0) ? T(0) : g;
    case 9:
      return x > T(0) ? g : p0 * g;
    case 10:
      return x <= T(0) ? g * (y + p0) : g;
    case 11:
      return g * (T(0.5) * (T(1) + dm::erf(x * T(kInvSqrt2))) +
                  x * T(kInvSqrt2Pi) * dm::exp(T(-0.5) * x * x));
    case 12: {
      const T t = dm::tanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x));
      return g * (T(0.5) * (T(1) + t) +
                  T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * x * x));
    }
    case 13: {
      const T s = sigm(x);
      return g * s * (T(1) + x * (T(1) - s));
    }
    case 14:
      return x * p0 > p1 ? g : g * sigm(x * p0);
    case 15:
      return T(0) * g;
    case 16:
      return (x >= p0 && x <= p1) ? g : T(0);
    case 17:
      return -g;
    case 18:
      return x > T(0) ? g : (x < T(0) ? -g : T(0));
    case 19:
      return T(2) * x * g;
  }
  return g;
}
template <typename T>
__global__ void unary_k(int op, T* out, const T* in, T p0, T p1, Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[2];
    offsets<2>(g, i, off);
    out[off[0]] = unary_f<T>(op, in[off[1]], p0, p1);
  }
}
template <typename T>
__global__ void unary_bwd_k(int op, T* gx, const T* gg, const T* x, const T* y, T p0, T p1,
                            Geom g) {
  SN_GRID_LOOP(i, g.n) {
    int64_t off[4];
    offsets<4>(g, i, off);
    gx[off[0]] = unary_b<T>(op, gg[off[1]], x[off[2]], y[off[3]], p0, p1);
  }
}

// ---- reductions
template <typename T>
struct Acc {
  using type = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
};
template <typename T>
using out_t = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;

__device__ inline int64_t decompose(const int64_t* size, const int64_t* stride, int nd, int64_t i) {
  int64_t off = 0;
  for (int d = nd - 1; d >= 0; --d) {
    off += (i % size[d]) * stride[d];
    i /= size[d];
  }
  return off;
}
template <typename T>
__global__ void sum_k(out_t<T>* out, const T* a, Reduce r) {
  SN_GRID_LOOP(k, r.K) {
    const T* base = a + decompose(r.kept_size, r.kept_stride, r.kept_nd, k);
    typename Acc<T>::type s = 0;
    for (int64_t j = 0; j < r.R; ++j) s += base[decompose(r.red_size, r.red_stride, r.red_nd, j)];
    out[k] = static_cast<out_t<T>>(s);
  }
}

// Few outputs over many elements each (a loss's mean, a full sum): one block per output, its
// threads striding over the reduced elements, then a tree in shared memory.
template <typename T>
__global__ void sum_block_k(out_t<T>* out, const T* a, Reduce r) {
  using A = typename Acc<T>::type;
  __shared__ A part[kThreads];
  const T* base = a + decompose(r.kept_size, r.kept_stride, r.kept_nd, blockIdx.x);
  A s = 0;
  for (int64_t j = threadIdx.x; j < r.R; j += blockDim.x)
    s += base[decompose(r.red_size, r.red_stride, r.red_nd, j)];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<out_t<T>>(part[0]);
}

template <typename T>
__global__ void softmax_k(T* out, const T* a, bool log_out, Rows r) {
  SN_GRID_LOOP(k, r.rows) {
    int64_t oa = 0, oo = 0, i = k;
    for (int d = r.nd - 1; d >= 0; --d) {
      const int64_t idx = i % r.size[d];
      i /= r.size[d];
      oa += idx * r.stride_in[d];
      oo += idx * r.stride_out[d];
    }
    const T* x = a + oa;
    T* y = out + oo;
    T mx = -INFINITY;
    for (int64_t j = 0; j < r.R; ++j) mx = x[j * r.sa] > mx ? x[j * r.sa] : mx;
    if (isinf(mx) && mx < 0) mx = 0;
    double s = 0;
    for (int64_t j = 0; j < r.R; ++j) s += static_cast<double>(dm::exp(x[j * r.sa] - mx));
    if (log_out) {
      const T ls = static_cast<T>(::log(s));
      for (int64_t j = 0; j < r.R; ++j) y[j * r.so] = (x[j * r.sa] - mx) - ls;
    } else {
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t j = 0; j < r.R; ++j) y[j * r.so] = dm::exp(x[j * r.sa] - mx) * inv;
    }
  }
}

}  // namespace

void copy(void* dst, DT dst_dt, const void* src, DT src_dt, const Geom& g, cudaStream_t s) {
  if (g.n == 0) return;
  dispatch(dst_dt, [&](auto to) {
    using To = decltype(to);
    dispatch(src_dt, [&](auto from) {
      using From = decltype(from);
      copy_k<To, From><<<blocks_for(g.n), kThreads, 0, s>>>(static_cast<To*>(dst),
                                                            static_cast<const From*>(src), g);
    });
  });
}

void fill(void* dst, DT dt, double value, const Geom& g, cudaStream_t s) {
  if (g.n == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    fill_k<T><<<blocks_for(g.n), kThreads, 0, s>>>(static_cast<T*>(dst), static_cast<T>(value), g);
  });
}

void binary(int op, void* out, const void* a, const void* b, DT dt, double alpha, const Geom& g,
            cudaStream_t s) {
  if (g.n == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    if (op >= 7)
      compare_k<T><<<blocks_for(g.n), kThreads, 0, s>>>(
          op, static_cast<bool*>(out), static_cast<const T*>(a), static_cast<const T*>(b), g);
    else
      arith_k<T>
          <<<blocks_for(g.n), kThreads, 0, s>>>(op, static_cast<T*>(out), static_cast<const T*>(a),
                                                static_cast<const T*>(b), static_cast<T>(alpha), g);
  });
}

void scalar(int op, void* out, const void* in, DT dt, double value, const Geom& g, cudaStream_t s) {
  if (g.n == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, bool>)
      scalar_k<T><<<blocks_for(g.n), kThreads, 0, s>>>(op, static_cast<T*>(out),
                                                       static_cast<const T*>(in), value, g);
  });
}

void where(void* out, const void* cond, const void* a, const void* b, DT dt, const Geom& g,
           cudaStream_t s) {
  if (g.n == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    where_k<T><<<blocks_for(g.n), kThreads, 0, s>>>(
        static_cast<T*>(out), static_cast<const bool*>(cond), static_cast<const T*>(a),
        static_cast<const T*>(b), g);
  });
}

void unary(int op, void* out, const void* in, DT dt, double p0, double p1, const Geom& g,
           cudaStream_t s) {
  if (g.n == 0) return;
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    unary_k<T><<<blocks_for(g.n), kThreads, 0, s>>>(op, static_cast<T*>(out),
                                                    static_cast<const T*>(in), static_cast<T>(p0),
                                                    static_cast<T>(p1), g);
  });
}

void unary_backward(int op, void* gx, const void* g, const void* x, const void* y, DT dt, double p0,
                    double p1, const Geom& geom, cudaStream_t s) {
  if (geom.n == 0) return;
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    unary_bwd_k<T><<<blocks_for(geom.n), kThreads, 0, s>>>(
        op, static_cast<T*>(gx), static_cast<const T*>(g), static_cast<const T*>(x),
        static_cast<const T*>(y), static_cast<T>(p0), static_cast<T>(p1), geom);
  });
}

void sum(void* out, const void* a, DT dt, const Reduce& r, cudaStream_t s) {
  if (r.K == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    if (r.K <= 4096 && r.R >= 4 * kThreads)
      sum_block_k<T><<<static_cast<int>(r.K), kThreads, 0, s>>>(static_cast<out_t<T>*>(out),
                                                                static_cast<const T*>(a), r);
    else
      sum_k<T><<<blocks_for(r.K), kThreads, 0, s>>>(static_cast<out_t<T>*>(out),
                                                    static_cast<const T*>(a), r);
  });
}

void softmax(void* out, const void* a, DT dt, bool log, const Rows& r, cudaStream_t s) {
  if (r.rows == 0 || r.R == 0) return;
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    softmax_k<T><<<blocks_for(r.rows), kThreads, 0, s>>>(static_cast<T*>(out),
                                                         static_cast<const T*>(a), log, r);
  });
}

}  // namespace sn::cuda
