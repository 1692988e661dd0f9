// Anomaly mode: the global switch and the NaN/Inf scans the engine runs when it is on. The
// scans walk any strided layout directly (no copies), since the tensors checked are often views.
// It does not keep creation stack traces as PyTorch does: the op's name and shape are the report.
#include <cmath>
#include <string>

#include "autograd/anomaly_internal.h"

namespace sn {

namespace autograd {
void set_anomaly_mode(bool on) { detail::g_anomaly_mode.store(on, std::memory_order_relaxed); }
bool anomaly_mode() { return detail::anomaly_on(); }
}  // namespace autograd

namespace detail {

std::atomic<bool> g_anomaly_mode{false};

namespace {

// 0: all finite, 1: a NaN, 2: an Inf (the first one found in row-major order).
template <typename T>
int scan(const Tensor& t) {
  const T* base = static_cast<const T*>(t.raw_data());
  const int64_t n = t.numel();
  if (n == 0) return 0;
  auto classify = [](T v) { return std::isnan(v) ? 1 : (std::isinf(v) ? 2 : 0); };
  if (t.is_contiguous()) {
    for (int64_t i = 0; i < n; ++i)
      if (int c = classify(base[i])) return c;
    return 0;
  }
  const int d = t.dim();
  const Shape& shape = t.shape();
  const Shape& strides = t.strides();
  std::vector<int64_t> idx(static_cast<size_t>(d), 0);
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (int c = classify(base[off])) return c;
    for (int j = d - 1; j >= 0; --j) {  // odometer increment of the multi-index
      if (++idx[j] < shape[j]) {
        off += strides[j];
        break;
      }
      off -= strides[j] * (shape[j] - 1);
      idx[j] = 0;
    }
  }
  return 0;
}

int nonfinite(const Tensor& t) {
  if (!t.defined()) return 0;
  switch (t.dtype()) {
    case kFloat32:
      return scan<float>(t);
    case kFloat64:
      return scan<double>(t);
    default:
      return 0;  // integer and bool tensors cannot hold NaN/Inf
  }
}

const char* kind(int c) { return c == 1 ? "nan" : "inf"; }

}  // namespace

void check_anomaly_outputs(const Node& node, Tensor* const* outs, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (int c = nonfinite(*outs[i])) {
      std::string which = n == 1 ? "its output" : "output " + std::to_string(i);
      SN_THROW(AnomalyError, "anomaly: ", node.name(), " produced ", kind(c), " in ", which,
               " (shape ", outs[i]->shape(), ")");
    }
  }
}

void check_anomaly_grads(const Node& node, const std::vector<Tensor>& grads) {
  for (size_t j = 0; j < grads.size(); ++j) {
    if (int c = nonfinite(grads[j]))
      SN_THROW(AnomalyError, "anomaly: ", node.name(), " produced ", kind(c),
               " in the gradient for input ", j, " (shape ", grads[j].shape(), ")");
  }
}

}  // namespace detail
}  // namespace sn
