// The CUDA backend: the Backend interface on NVIDIA GPUs. Memory comes from a caching
// allocator per device (freed blocks are kept in size classes and reused, as in PyTorch, so a
// training step stops calling cudaMalloc/cudaFree); every kernel and copy runs on one stream per
// device, so reusing a freed block is ordered after the kernels that used it. GEMM is cuBLAS
// (TF32 only when sn::set_allow_tf32(true)); the other kernels are in kernels.cu. Built only
// with the CMake option SN_CUDA (cmake/cuda.cmake); registry.cpp installs it.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/kernels.h"
#include "core/tensor_internal.h"

namespace sn::backend {

namespace {

using cuda::DT;

#define SN_CUDA_CHECK(call)                                                               \
  do {                                                                                    \
    const cudaError_t err_ = (call);                                                      \
    if (err_ != cudaSuccess)                                                              \
      SN_THROW(DeviceError, "cuda: ", #call, " failed: ", cudaGetErrorString(err_), " (", \
               cudaGetErrorName(err_), ")");                                              \
  } while (0)
#define SN_CUBLAS_CHECK(call)                                                          \
  do {                                                                                 \
    const cublasStatus_t st_ = (call);                                                 \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                  \
      SN_THROW(DeviceError, "cuda: ", #call, " failed: ", cublasGetStatusString(st_)); \
  } while (0)

DT dt_of(DType d) { return static_cast<DT>(static_cast<int>(d)); }
void* ptr(const Tensor& t) { return t.impl()->data(); }

// The elementwise geometry of `out` and its operands (already expanded to out's shape): size-1
// dims dropped, neighbouring dims merged where every operand is contiguous across them.
cuda::Geom geom(const Tensor& out, std::initializer_list<const Tensor*> ops) {
  cuda::Geom g;
  const int n = static_cast<int>(ops.size());
  const Tensor* t[4];
  int k = 0;
  for (const Tensor* o : ops) t[k++] = o;
  g.n = out.numel();
  const Shape& shape = out.shape();
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (g.nd > 0) {
      bool merge = true;
      for (int j = 0; j < n; ++j)
        if (g.stride[j][g.nd - 1] != t[j]->strides()[d] * shape[d]) merge = false;
      if (merge) {
        g.size[g.nd - 1] *= shape[d];
        for (int j = 0; j < n; ++j) g.stride[j][g.nd - 1] = t[j]->strides()[d];
        continue;
      }
    }
    g.size[g.nd] = shape[d];
    for (int j = 0; j < n; ++j) g.stride[j][g.nd] = t[j]->strides()[d];
    ++g.nd;
  }
  return g;
}

// A caching allocator for one device: blocks rounded up to 512 bytes (to a power of two's
// quarter steps above 1 MiB), freed blocks kept per size and reused.
class CachingAllocator {
 public:
  void* alloc(size_t nbytes, int device) {
    const size_t sz = round(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& list = free_[sz];
      if (!list.empty()) {
        void* p = list.back();
        list.pop_back();
        cached_ -= sz;
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, sz);
    if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
      (void)cudaGetLastError();
      empty();
      err = cudaMalloc(&p, sz);
    }
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      SN_THROW(DeviceError, "cuda: cannot allocate ", nbytes, " bytes on cuda:", device, ": ",
               cudaGetErrorString(err));
    }
    return p;
  }
  void free(void* p, size_t nbytes) {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t sz = round(nbytes);
    free_[sz].push_back(p);
    cached_ += sz;
  }
  void empty() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [sz, list] : free_)
      for (void* p : list) cudaFree(p);
    free_.clear();
    cached_ = 0;
  }
  size_t cached() const { return cached_; }

 private:
  static size_t round(size_t n) {
    if (n <= (size_t{1} << 20)) return (std::max<size_t>(n, 1) + 511) / 512 * 512;
    size_t p = size_t{1} << 20;
    while (p < n) p <<= 1;
    const size_t q = p / 8;  // eighths of the power of two at or above n
    return (n + q - 1) / q * q;
  }
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

struct PerDevice {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  bool tf32 = false;
  CachingAllocator allocator;
};

class CudaBackend final : public Backend {
 public:
  DeviceType type() const override { return DeviceType::CUDA; }
  const char* name() const override { return "cuda"; }

  int device_count() const override {
    std::call_once(count_once_, [this] {
      int n = 0;
      const cudaError_t err = cudaGetDeviceCount(&n);
      if (err != cudaSuccess) {
        (void)cudaGetLastError();
        count_ = 0;
        reason_ = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err) + " (" +
                  cudaGetErrorName(err) + ")";
      } else {
        count_ = std::min(n, kMaxDevices);
        if (n == 0) reason_ = "cudaGetDeviceCount: no CUDA device";
      }
      devices_.resize(static_cast<size_t>(count_));
      for (auto& d : devices_) d = std::make_unique<PerDevice>();
    });
    return count_;
  }
  std::string unavailable_reason() const override {
    device_count();
    return reason_;
  }

  void* alloc(size_t nbytes, Device d) override { return dev(d).allocator.alloc(nbytes, d.index); }
  void free(void* p, size_t nbytes, Device d) override {
    if (d.index < static_cast<int>(devices_.size())) devices_[d.index]->allocator.free(p, nbytes);
  }
  void copy_to_host(void* dst, const void* src, size_t n, Device d) override {
    if (!n) return;
    PerDevice& pd = dev(d);
    SN_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, pd.stream));
    SN_CUDA_CHECK(cudaStreamSynchronize(pd.stream));
  }
  void copy_from_host(void* dst, const void* src, size_t n, Device d) override {
    if (!n) return;
    PerDevice& pd = dev(d);
    SN_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, pd.stream));
    SN_CUDA_CHECK(cudaStreamSynchronize(pd.stream));  // the host buffer may go right after
  }
  void synchronize(Device d) override { SN_CUDA_CHECK(cudaStreamSynchronize(dev(d).stream)); }

  void copy(const Tensor& dst, const Tensor& src) override {
    Tensor s = detail::expand_raw(src, dst.shape());
    PerDevice& pd = dev(dst.device());
    if (dst.dtype() == src.dtype() && dst.is_contiguous() && s.is_contiguous()) {
      if (dst.nbytes() && ptr(dst) != ptr(s))
        SN_CUDA_CHECK(
            cudaMemcpyAsync(ptr(dst), ptr(s), dst.nbytes(), cudaMemcpyDeviceToDevice, pd.stream));
      return;
    }
    cuda::copy(ptr(dst), dt_of(dst.dtype()), ptr(s), dt_of(src.dtype()), geom(dst, {&dst, &s}),
               pd.stream);
    check_launch();
  }
  void fill(const Tensor& dst, double v) override {
    cuda::fill(ptr(dst), dt_of(dst.dtype()), v, geom(dst, {&dst}), dev(dst.device()).stream);
    check_launch();
  }
  void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
              double alpha) override {
    if (op == BinaryOp::Div && !is_floating(a.dtype()))
      SN_THROW(DTypeError, "div: integer division is not supported; convert to float first");
    cuda::binary(static_cast<int>(op), ptr(out), ptr(a), ptr(b), dt_of(a.dtype()), alpha,
                 geom(out, {&out, &a, &b}), dev(out.device()).stream);
    check_launch();
  }
  void scalar(ScalarOp op, const Tensor& out, const Tensor& in, double s) override {
    cuda::scalar(static_cast<int>(op), ptr(out), ptr(in), dt_of(in.dtype()), s,
                 geom(out, {&out, &in}), dev(out.device()).stream);
    check_launch();
  }
  void where(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b) override {
    cuda::where(ptr(out), ptr(c), ptr(a), ptr(b), dt_of(out.dtype()), geom(out, {&out, &c, &a, &b}),
                dev(out.device()).stream);
    check_launch();
  }
  void unary(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1) override {
    SN_CHECK(is_floating(in.dtype()), DTypeError, unary_name(op),
             ": expected a floating-point tensor, got ", in.dtype());
    cuda::unary(static_cast<int>(op), ptr(out), ptr(in), dt_of(in.dtype()), p0, p1,
                geom(out, {&out, &in}), dev(out.device()).stream);
    check_launch();
  }
  void unary_backward(UnaryOp op, const Tensor& gx, const Tensor& g, const Tensor& x,
                      const Tensor& y, double p0, double p1) override {
    cuda::unary_backward(static_cast<int>(op), ptr(gx), ptr(g), ptr(x), ptr(y), dt_of(g.dtype()),
                         p0, p1, geom(gx, {&gx, &g, &x, &y}), dev(gx.device()).stream);
    check_launch();
  }

  void sum(const Tensor& out, const Tensor& a, const std::vector<bool>& reduce) override {
    cuda::Reduce r;
    r.K = 1;
    r.R = 1;
    for (int i = 0; i < a.dim(); ++i) {
      const int64_t n = a.shape()[i];
      if (reduce[i]) {
        if (n == 1) continue;
        r.red_size[r.red_nd] = n;
        r.red_stride[r.red_nd++] = a.strides()[i];
        r.R *= n;
      } else {
        r.kept_size[r.kept_nd] = n;
        r.kept_stride[r.kept_nd++] = a.strides()[i];
        r.K *= n;
      }
    }
    if (r.R == 0 || a.numel() == 0) {  // an empty sum is zero
      fill(out, 0.0);
      return;
    }
    cuda::sum(ptr(out), ptr(a), dt_of(a.dtype()), r, dev(out.device()).stream);
    check_launch();
  }
  void softmax(const Tensor& out, const Tensor& a, int dim, bool log) override {
    cuda::Rows r;
    r.rows = 1;
    for (int i = 0; i < a.dim(); ++i) {
      if (i == dim) continue;
      r.size[r.nd] = a.shape()[i];
      r.stride_in[r.nd] = a.strides()[i];
      r.stride_out[r.nd++] = out.strides()[i];
      r.rows *= a.shape()[i];
    }
    r.R = a.shape()[dim];
    r.sa = a.strides()[dim];
    r.so = out.strides()[dim];
    cuda::softmax(ptr(out), ptr(a), dt_of(a.dtype()), log, r, dev(out.device()).stream);
    check_launch();
  }

  // Row-major C [M, N] = A [M, K] · B [K, N] is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS gets B first.
  void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta) override {
    SN_CHECK(is_floating(C.dtype()), DTypeError, "matmul: not implemented on ", C.device(), " for ",
             C.dtype(), " (floating-point only)");
    const int64_t M = C.shape()[0], N = C.shape()[1], K = A.shape()[1];
    if (M == 0 || N == 0) return;
    PerDevice& pd = dev(C.device());
    const Operand a = operand(A), b = operand(B);
    set_math_mode(pd);
    if (C.dtype() == kFloat32) {
      const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
      SN_CUBLAS_CHECK(cublasSgemm(pd.blas, b.op, a.op, static_cast<int>(N), static_cast<int>(M),
                                  static_cast<int>(K), &al, static_cast<const float*>(ptr(b.t)),
                                  static_cast<int>(b.ld), static_cast<const float*>(ptr(a.t)),
                                  static_cast<int>(a.ld), &be, static_cast<float*>(ptr(C)),
                                  static_cast<int>(N)));
    } else {
      SN_CUBLAS_CHECK(cublasDgemm(pd.blas, b.op, a.op, static_cast<int>(N), static_cast<int>(M),
                                  static_cast<int>(K), &alpha, static_cast<const double*>(ptr(b.t)),
                                  static_cast<int>(b.ld), static_cast<const double*>(ptr(a.t)),
                                  static_cast<int>(a.ld), &beta, static_cast<double*>(ptr(C)),
                                  static_cast<int>(N)));
    }
  }

  std::vector<std::pair<std::string, std::string>> properties(Device d) const override {
    std::vector<std::pair<std::string, std::string>> out;
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d.index) != cudaSuccess) {
      (void)cudaGetLastError();
      return out;
    }
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    char mem[64];
    std::snprintf(mem, sizeof mem, "%.1f GiB", static_cast<double>(p.totalGlobalMem) / (1 << 30));
    out.emplace_back("name", p.name);
    out.emplace_back("compute capability", std::to_string(p.major) + "." + std::to_string(p.minor));
    out.emplace_back("memory", mem);
    out.emplace_back("multiprocessors", std::to_string(p.multiProcessorCount));
    out.emplace_back("driver", ver(driver));
    out.emplace_back("runtime", ver(runtime));
    return out;
  }

 private:
  struct Operand {
    Tensor t;
    cublasOperation_t op;
    int64_t ld;
  };
  // A 2-D view as cuBLAS takes it (column-major): a row-major view is the transpose already
  // (N), a column-major one needs T; anything else is made contiguous first.
  Operand operand(const Tensor& x) {
    const int64_t r = x.shape()[0], c = x.shape()[1];
    const int64_t s0 = x.strides()[0], s1 = x.strides()[1];
    if ((s1 == 1 || c == 1) && s0 >= std::max<int64_t>(c, 1)) return {x, CUBLAS_OP_N, s0};
    if ((s0 == 1 || r == 1) && s1 >= std::max<int64_t>(r, 1)) return {x, CUBLAS_OP_T, s1};
    Tensor cx = detail::contiguous_raw(x);
    return {cx, CUBLAS_OP_N, std::max<int64_t>(c, 1)};
  }
  void set_math_mode(PerDevice& pd) {
    const bool want = allow_tf32();
    if (want == pd.tf32) return;
    SN_CUBLAS_CHECK(
        cublasSetMathMode(pd.blas, want ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    pd.tf32 = want;
  }
  static void check_launch() { SN_CUDA_CHECK(cudaGetLastError()); }

  // The device's stream and cuBLAS handle (made on first use), with it made current.
  PerDevice& dev(Device d) const {
    SN_CHECK(d.index >= 0 && d.index < device_count(), DeviceError, "cuda: ", d,
             " is not available");
    PerDevice& pd = *devices_[d.index];
    thread_local int current = -1;
    if (current != d.index) {
      SN_CUDA_CHECK(cudaSetDevice(d.index));
      current = d.index;
    }
    std::call_once(pd_once_[d.index], [&] {
      SN_CUDA_CHECK(cudaStreamCreateWithFlags(&pd.stream, cudaStreamNonBlocking));
      SN_CUBLAS_CHECK(cublasCreate(&pd.blas));
      SN_CUBLAS_CHECK(cublasSetStream(pd.blas, pd.stream));
      SN_CUBLAS_CHECK(cublasSetMathMode(pd.blas, CUBLAS_DEFAULT_MATH));
    });
    return pd;
  }

  mutable std::once_flag count_once_;
  mutable int count_ = 0;
  mutable std::string reason_;
  mutable std::vector<std::unique_ptr<PerDevice>> devices_;
  static constexpr int kMaxDevices = 64;
  mutable std::once_flag pd_once_[kMaxDevices];
};

}  // namespace

// Never destroyed: tensors in static objects may free their memory at exit, after any static
// backend object would have been.
Backend* cuda_backend() {
  static CudaBackend* b = new CudaBackend;
  return b;
}

}  // namespace sn::backend
