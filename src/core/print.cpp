// PyTorch-style printing: tensor([[1., 2.],
//         [3., 4.]], requires_grad=true). Large tensors are summarised with "...".
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "sinapsis/autograd/node.h"
#include "sinapsis/core/tensor.h"

namespace sn {

namespace {
struct Fmt {
  bool floating = false, integral_values = true, sci = false;
  int precision = 4;
  size_t width = 1;
};

std::string fmt_value(double v, const Fmt& f, DType dt) {
  std::ostringstream os;
  if (dt == kBool) return v != 0 ? "true" : "false";
  if (!f.floating) {
    os << static_cast<int64_t>(v);
    return os.str();
  }
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (f.sci) {
    os << std::scientific << std::setprecision(f.precision) << v;
  } else if (f.integral_values) {
    os << std::fixed << std::setprecision(0) << v << '.';
  } else {
    os << std::fixed << std::setprecision(f.precision) << v;
  }
  return os.str();
}

constexpr int64_t kSummarize = 1000, kEdge = 3;

void print_rec(std::ostream& os, const std::vector<double>& vals, const Shape& shape, int d,
               int64_t base, const Shape& st, const Fmt& f, DType dt, int indent, bool summarize) {
  if (shape.size() == 0) {
    os << fmt_value(vals[0], f, dt);
    return;
  }
  os << '[';
  const int64_t n = shape[d];
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdge && i == kEdge) {
      os << "...";
      i = n - kEdge - 1;
      if (d + 1 < shape.size()) os << ",\n" << std::string(indent + d + 1, ' ');
      else os << ", ";
      continue;
    }
    if (d + 1 == shape.size()) {
      std::string s = fmt_value(vals[base + i * st[d]], f, dt);
      os << std::string(f.width > s.size() ? f.width - s.size() : 0, ' ') << s;
      if (i + 1 < n) os << ", ";
    } else {
      print_rec(os, vals, shape, d + 1, base + i * st[d], st, f, dt, indent, summarize);
      if (i + 1 < n) {
        os << ',' << std::string(shape.size() - d - 1, '\n') << std::string(indent + d + 1, ' ');
      }
    }
  }
  os << ']';
}
}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::vector<double> vals = to_vector();
  Fmt f;
  f.floating = is_floating_point();
  double amax = 0, amin_nz = INFINITY;
  for (double v : vals) {
    if (!std::isfinite(v)) continue;
    if (v != std::floor(v)) f.integral_values = false;
    amax = std::max(amax, std::abs(v));
    if (v != 0) amin_nz = std::min(amin_nz, std::abs(v));
  }
  if (f.floating && !vals.empty() && (amax >= 1e8 || (amin_nz < 1e-4 && !f.integral_values)))
    f.sci = true;
  const bool summarize = numel() > kSummarize;
  for (double v : vals) f.width = std::max(f.width, fmt_value(v, f, dtype()).size());
  std::ostringstream os;
  os << "tensor(";
  if (numel() == 0 && dim() > 0) {
    os << "[]";
    if (dim() > 1 || shape()[0] != 0) os << ", size=" << shape();
  } else {
    print_rec(os, vals, shape(), 0, 0, contiguous_strides(shape()), f, dtype(), 7, summarize);
  }
  if (dtype() == kFloat64) os << ", dtype=float64";  // as PyTorch: the defaults go unsaid
  if (grad_fn())
    os << ", grad_fn=<" << grad_fn()->name() << ">";
  else if (requires_grad())
    os << ", requires_grad=true";
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace sn
