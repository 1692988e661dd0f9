// The raw (non-recording) copy, fill and cast helpers of core/tensor_internal.h, on the
// backend of the tensors' device, and the copy between two devices (through host memory).
// core/ takes these from the backend layer, never from ops/.
#include "backend/backend.h"
#include "core/tensor_internal.h"

namespace sn::detail {

namespace {
// dst (on device D) = src (on device S != D): src made dense in dst's dtype and shape on S,
// the bytes moved, then scattered into dst's layout on D.
void copy_across(const Tensor& dst, const Tensor& src) {
  const Device S = src.device(), D = dst.device();
  backend::Backend& bs = backend::get(S, "to");
  backend::Backend& bd = backend::get(D, "to");
  Tensor s = src;
  if (s.shape() != dst.shape() || s.dtype() != dst.dtype() || !s.is_contiguous()) {
    s = make_tensor(dst.shape(), dst.dtype(), S);
    bs.copy(s, src);
  }
  Tensor d = dst.is_contiguous() ? dst : make_tensor(dst.shape(), dst.dtype(), D);
  const size_t n = d.nbytes();
  if (S.is_cpu()) {
    bd.copy_from_host(d.impl()->data(), s.impl()->data(), n, D);
  } else if (D.is_cpu()) {
    bs.copy_to_host(d.impl()->data(), s.impl()->data(), n, S);
  } else {
    Tensor h = make_tensor(dst.shape(), dst.dtype());
    bs.copy_to_host(h.impl()->data(), s.impl()->data(), n, S);
    bd.copy_from_host(d.impl()->data(), h.impl()->data(), n, D);
  }
  if (!d.is_same(dst)) bd.copy(dst, d);
}
}  // namespace

void copy_raw(const Tensor& dst, const Tensor& src) {
  if (dst.device() == src.device()) [[likely]]
    backend::get(dst.device(), "copy").copy(dst, src);
  else
    copy_across(dst, src);
}
void fill_raw(const Tensor& dst, double value) {
  backend::get(dst.device(), "fill").fill(dst, value);
}
Tensor contiguous_raw(const Tensor& src) {
  if (src.is_contiguous()) return src;
  Tensor out = make_tensor(src.shape(), src.dtype(), src.device());
  copy_raw(out, src);
  return out;
}
Tensor cast_raw(const Tensor& src, DType dtype, bool force_copy) {
  if (src.dtype() == dtype && !force_copy) return src;
  Tensor out = make_tensor(src.shape(), dtype, src.device());
  copy_raw(out, src);
  return out;
}

}  // namespace sn::detail
