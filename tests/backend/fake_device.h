// A stand-in second device for the tests, on machines without a GPU: while a FakeDeviceGuard
// lives it is the CUDA backend (the previous one is restored after), so tensors say cuda:N. Its
// memory is host memory that CPU code still may not read (raw_data() refuses it, as it would a
// GPU's), and it runs every entry point of the Backend interface by handing CPU aliases of its
// buffers to the CPU backend. So it exercises the seam exactly where a real GPU backend sits:
// allocation, cross-device copies, the mixed-device check, and the ops that go through the
// interface versus those that still read memory on the CPU.
#pragma once
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "backend/backend.h"
#include "sinapsis/sinapsis.h"

namespace sn::test {

class FakeDevice final : public backend::Backend {
 public:
  DeviceType type() const override { return DeviceType::CUDA; }
  const char* name() const override { return "fake"; }
  int device_count() const override { return 2; }
  void* alloc(size_t nbytes, Device) override {
    live_bytes += nbytes;
    ++allocs;
    return std::aligned_alloc(64, (nbytes + 63) / 64 * 64 + 64);
  }
  void free(void* p, size_t nbytes, Device) override {
    live_bytes -= nbytes;
    std::free(p);
  }
  void copy_to_host(void* dst, const void* src, size_t n, Device) override {
    if (n) std::memcpy(dst, src, n);
  }
  void copy_from_host(void* dst, const void* src, size_t n, Device) override {
    if (n) std::memcpy(dst, src, n);
  }

  void copy(const Tensor& dst, const Tensor& src) override { cpu().copy(host(dst), host(src)); }
  void fill(const Tensor& dst, double v) override { cpu().fill(host(dst), v); }
  void binary(backend::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
              double alpha) override {
    cpu().binary(op, host(out), host(a), host(b), alpha);
  }
  void scalar(backend::ScalarOp op, const Tensor& out, const Tensor& in, double s) override {
    cpu().scalar(op, host(out), host(in), s);
  }
  void where(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b) override {
    cpu().where(host(out), host(c), host(a), host(b));
  }
  void unary(backend::UnaryOp op, const Tensor& out, const Tensor& in, double p0,
             double p1) override {
    cpu().unary(op, host(out), host(in), p0, p1);
  }
  void unary_backward(backend::UnaryOp op, const Tensor& gx, const Tensor& g, const Tensor& x,
                      const Tensor& y, double p0, double p1) override {
    cpu().unary_backward(op, host(gx), host(g), host(x), host(y), p0, p1);
  }
  void sum(const Tensor& out, const Tensor& a, const std::vector<bool>& reduce) override {
    cpu().sum(host(out), host(a), reduce);
  }
  void softmax(const Tensor& out, const Tensor& a, int dim, bool log) override {
    cpu().softmax(host(out), host(a), dim, log);
  }
  void gemm(const Tensor& A, const Tensor& B, const Tensor& C, double alpha, double beta) override {
    if (!has_gemm) missing("matmul", C);
    cpu().gemm(host(A), host(B), host(C), alpha, beta);
  }

  std::atomic<int64_t> live_bytes{0};
  std::atomic<int64_t> allocs{0};
  bool has_gemm = true;  // false: gemm is "not implemented" (the missing-op error)

 private:
  static backend::Backend& cpu() { return backend::cpu(); }
  // The same memory and geometry, labelled cpu (keeps the device storage alive).
  static Tensor host(const Tensor& t) {
    if (!t.defined()) return t;
    const auto& st = t.impl()->storage;
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(st->data(), st->nbytes(), kCPU, st);
    impl->shape = t.shape();
    impl->strides = t.strides();
    impl->offset = t.offset();
    impl->dtype = t.dtype();
    impl->refresh();
    return Tensor(std::move(impl));
  }
};

// Installs a FakeDevice as the CUDA backend for its lifetime.
class FakeDeviceGuard {
 public:
  FakeDeviceGuard() : prev_(backend::register_backend(DeviceType::CUDA, &dev)) {}
  ~FakeDeviceGuard() { backend::register_backend(DeviceType::CUDA, prev_); }
  FakeDeviceGuard(const FakeDeviceGuard&) = delete;
  FakeDeviceGuard& operator=(const FakeDeviceGuard&) = delete;
  FakeDevice dev;

 private:
  backend::Backend* prev_;
};

}  // namespace sn::test
