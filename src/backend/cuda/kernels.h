// The CUDA kernels of the CUDA backend, as plain launch functions over raw device pointers and
// small geometry structs: this header is shared by kernels.cu (nvcc) and cuda_backend.cpp (the
// host compiler), so nvcc never sees the library's headers. Every launch goes on `stream`;
// nothing here synchronises. Op codes are the backend enums' values (backend/backend.h).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace sn::cuda {

inline constexpr int kMaxDims = 12;  // sinapsis/core/shape.h

// sn::DType's values.
enum class DT : int { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

// An elementwise loop over one shape with up to four operands (0 = the output); strides in
// elements, dims already coalesced by the caller. Pointers point at each operand's first element.
struct Geom {
  int nd = 0;
  int64_t n = 0;  // elements
  int64_t size[kMaxDims] = {};
  int64_t stride[4][kMaxDims] = {};
};

// A reduction: K outputs (contiguous) over the kept dims, each summing R elements of the
// reduced dims; strides are the input's.
struct Reduce {
  int kept_nd = 0, red_nd = 0;
  int64_t K = 0, R = 0;
  int64_t kept_size[kMaxDims] = {}, kept_stride[kMaxDims] = {};
  int64_t red_size[kMaxDims] = {}, red_stride[kMaxDims] = {};
};

// Rows of a softmax: `rows` positions over the kept dims (input and output strides), each a
// row of R elements `sa` (input) and `so` (output) apart.
struct Rows {
  int nd = 0;
  int64_t rows = 0, R = 0, sa = 0, so = 0;
  int64_t size[kMaxDims] = {}, stride_in[kMaxDims] = {}, stride_out[kMaxDims] = {};
};

void copy(void* dst, DT dst_dt, const void* src, DT src_dt, const Geom& g, cudaStream_t s);
void fill(void* dst, DT dt, double value, const Geom& g, cudaStream_t s);
// op: backend::BinaryOp; comparisons (op >= 7) write bool
void binary(int op, void* out, const void* a, const void* b, DT dt, double alpha, const Geom& g,
            cudaStream_t s);
// op: backend::ScalarOp
void scalar(int op, void* out, const void* in, DT dt, double value, const Geom& g, cudaStream_t s);
void where(void* out, const void* cond, const void* a, const void* b, DT dt, const Geom& g,
           cudaStream_t s);
// op: backend::UnaryOp (float dtypes only)
void unary(int op, void* out, const void* in, DT dt, double p0, double p1, const Geom& g,
           cudaStream_t s);
void unary_backward(int op, void* gx, const void* g, const void* x, const void* y, DT dt, double p0,
                    double p1, const Geom& geom, cudaStream_t s);
// out dtype: dt for floats, int64 for int64 and bool
void sum(void* out, const void* a, DT dt, const Reduce& r, cudaStream_t s);
void softmax(void* out, const void* a, DT dt, bool log, const Rows& r, cudaStream_t s);

}  // namespace sn::cuda
