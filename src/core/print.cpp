// PyTorch-style printing: tensor([[1., 2.],
//         [3., 4.]], requires_grad=true). Follows torch/_tensor_str.py: one formatter for the
// whole tensor (int / fixed / scientific mode, common width), rows wrapped at 80 columns, large
// tensors (> 1000 elements) summarised with "...". Not here: print options (they are fixed).
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "core/tensor_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/core/tensor.h"

namespace sn {

namespace {

constexpr int64_t kThreshold = 1000;  // more elements than this: summarise
constexpr int64_t kEdgeItems = 3;     // items kept at each edge of a summarised dim
constexpr int kLineWidth = 80;
constexpr int kPrecision = 4;

std::string printf_str(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, kPrecision, v);
  return buf;
}
std::string fixed_str(double v) { return printf_str("%.*f", v); }
std::string sci_str(double v) { return printf_str("%.*e", v); }
std::string int_str(double v) {  // "{:.0f}" then a '.' for finite values
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string s = buf;
  if (std::isfinite(v)) s += '.';
  return s;
}

// Picks one representation for every element, as PyTorch's _Formatter does: looks only at the
// finite non-zero values; integral floats print as "1.", a spread above 1000 or extreme
// magnitudes switch to scientific notation.
struct Formatter {
  DType dtype;
  bool floating;
  bool int_mode = true, sci_mode = false;
  size_t width = 1;

  Formatter(DType dt, const std::vector<double>& vals) : dtype(dt), floating(is_floating(dt)) {
    if (!floating) {
      for (double v : vals) width = std::max(width, raw(v).size());
      return;
    }
    double mn = INFINITY, mx = 0;
    bool any = false;
    for (double v : vals) {
      if (!std::isfinite(v) || v == 0) continue;
      any = true;
      mn = std::min(mn, std::abs(v));
      mx = std::max(mx, std::abs(v));
      if (v != std::ceil(v)) int_mode = false;
    }
    if (!any) return;
    if (int_mode)
      sci_mode = mx / mn > 1000.0 || mx > 1e8;
    else
      sci_mode = mx / mn > 1000.0 || mx > 1e8 || mn < 1e-4;
    for (double v : vals)
      if (std::isfinite(v) && v != 0) width = std::max(width, raw(v).size());
  }
  std::string raw(double v) const {
    if (dtype == kBool) return v != 0 ? "true" : "false";
    if (!floating) return std::to_string(static_cast<int64_t>(v));
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (sci_mode) return sci_str(v);
    if (int_mode) return int_str(v);
    return fixed_str(v);
  }
  std::string operator()(double v) const {
    std::string s = raw(v);
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
  }
};

// The tensor's elements read in place through its strides (a summarised print of a huge tensor
// touches only the edges it shows).
struct Values {
  Shape shape, strides;
  const void* data;
  DType dtype;
  double operator[](int64_t off) const {
    switch (dtype) {
      case kFloat32:
        return static_cast<const float*>(data)[off];
      case kFloat64:
        return static_cast<const double*>(data)[off];
      case kInt64:
        return static_cast<double>(static_cast<const int64_t*>(data)[off]);
      case kBool:
        return static_cast<const bool*>(data)[off] ? 1.0 : 0.0;
    }
    return 0.0;
  }
};

bool summarized_dim(int64_t n, bool summarize) { return summarize && n > 2 * kEdgeItems; }

// The elements the formatter looks at: all of them, or only the edges when summarising.
void collect(const Values& t, int d, int64_t base, bool summarize, std::vector<double>& out) {
  if (t.shape.size() == 0) {
    out.push_back(t[base]);
    return;
  }
  const int64_t n = t.shape[d];
  for (int64_t i = 0; i < n; ++i) {
    if (summarized_dim(n, summarize) && i == kEdgeItems) i = n - kEdgeItems;
    const int64_t off = base + i * t.strides[d];
    if (d + 1 == t.shape.size())
      out.push_back(t[off]);
    else
      collect(t, d + 1, off, summarize, out);
  }
}

std::string tensor_str(const Values& t, int d, int64_t base, int indent, bool summarize,
                       const Formatter& f) {
  const int nd = t.shape.size();
  if (nd == 0) return f(t[base]);
  const int64_t n = t.shape[d];
  std::vector<std::string> items;
  if (d + 1 == nd) {
    for (int64_t i = 0; i < n; ++i) {
      if (summarized_dim(n, summarize) && i == kEdgeItems) {
        items.push_back(" ...");
        i = n - kEdgeItems;
      }
      items.push_back(f(t[base + i * t.strides[d]]));
    }
    // wrap so that a line stays within kLineWidth (", " after each element)
    const int64_t per_line =
        std::max<int64_t>(1, (kLineWidth - indent) / static_cast<int64_t>(f.width + 2));
    std::string s = "[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0 && static_cast<int64_t>(i) % per_line == 0)
        s.append(",\n").append(indent + 1, ' ');
      else if (i > 0)
        s.append(", ");
      s += items[i];
    }
    return s + "]";
  }
  for (int64_t i = 0; i < n; ++i) {
    if (summarized_dim(n, summarize) && i == kEdgeItems) {
      items.push_back("...");
      i = n - kEdgeItems;
    }
    items.push_back(tensor_str(t, d + 1, base + i * t.strides[d], indent + 1, summarize, f));
  }
  std::string sep = ",";
  sep.append(nd - d - 1, '\n').append(indent + 1, ' ');
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s.append(i ? sep : "").append(items[i]);
  return s + "]";
}

// A CPU copy of a tensor on another device, without recording a graph.
Tensor detail_host_copy(const Tensor& t) {
  Tensor out = detail::make_tensor(t.shape(), t.dtype());
  detail::copy_raw(out, t);
  return out;
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  std::string body;
  if (numel() == 0) {
    // as NumPy: the shape is shown unless it is the plain empty vector
    if (dim() != 1) {
      std::string s = "size=(";
      for (int i = 0; i < dim(); ++i) s += (i ? ", " : "") + std::to_string(shape()[i]);
      suffixes.push_back(s + ")");
    }
    if (dtype() != kFloat32) suffixes.push_back(std::string("dtype=") + dtype_name(dtype()));
    body = "[]";
  } else {
    // the defaults (float32, int64, bool) go unsaid, as in PyTorch
    if (dtype() == kFloat64) suffixes.push_back("dtype=float64");
    const Tensor host = device().is_cpu() ? *this : detail_host_copy(*this);
    const Values t{host.shape(), host.strides(), host.raw_data(), dtype()};
    const bool summarize = numel() > kThreshold;
    std::vector<double> seen;
    collect(t, 0, 0, summarize, seen);
    const Formatter f(dtype(), seen);
    body = tensor_str(t, 0, 0, indent, summarize, f);
  }
  if (!device().is_cpu()) suffixes.push_back("device='" + device().str() + "'");
  if (grad_fn())
    suffixes.push_back("grad_fn=<" + grad_fn()->name() + ">");
  else if (requires_grad())
    suffixes.push_back("requires_grad=true");

  // a suffix that would overflow the line goes on its own line
  std::string s = prefix + body;
  const size_t nl = s.rfind('\n');
  size_t last_len = (nl == std::string::npos ? s.size() + 1 : s.size() - nl) + 1;
  for (const std::string& suf : suffixes) {
    if (last_len + suf.size() + 2 > static_cast<size_t>(kLineWidth)) {
      s.append(",\n").append(indent, ' ').append(suf);
      last_len = indent + suf.size();
    } else {
      s += ", " + suf;
      last_len += suf.size() + 2;
    }
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace sn
