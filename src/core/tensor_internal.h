// Library-private tensor helpers: allocation and raw (non-recording) views, casts and copies.
// Ops build on these; user code uses the public Tensor API.
#pragma once
#include "sinapsis/core/tensor.h"

namespace sn::detail {

// A new contiguous tensor, uninitialised, on `device`.
Tensor make_tensor(const Shape& shape, DType dtype, Device device = kCPU);
// A view of base's storage with the given geometry; no autograd history.
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
// base expanded (stride 0) to shape, no history. Shapes must be broadcast-compatible.
Tensor expand_raw(const Tensor& base, const Shape& shape);
// Copy of src converted to dtype, on src's device (returns src itself if already that dtype and
// contiguous when `force_copy` is false).
Tensor cast_raw(const Tensor& src, DType dtype, bool force_copy = false);
Tensor contiguous_raw(const Tensor& src);
// dst[...] = src[...] with broadcasting of src and dtype conversion; across devices too.
// (These four live in src/backend/copy.cpp: core takes its copies from the backend, not ops.)
void copy_raw(const Tensor& dst, const Tensor& src);
void fill_raw(const Tensor& dst, double value);
// Throws AutogradError when an in-place write would corrupt autograd.
void check_inplace(const Tensor& t, const char* op);

}  // namespace sn::detail
