// nn::Graph (graph.h): a description of tensors, constants and ONNX-semantics nodes, checked once
// when built and run node by node; each value is freed after its last use. The op kernels are
// compositions of sinapsis ops (so gradients flow), except Erf, Shape arithmetic on int64 and the
// comparison ops, which carry no gradient. ONNX files themselves are src/onnx/import.cpp's.
#include "sinapsis/nn/graph.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/json_read.h"
#include "nn/graph_ops.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/ops.h"
#include "sinapsis/ops/rnn.h"

namespace sn::nn {

using json = nlohmann::json;

namespace detail {

namespace {

int64_t ai(const json& a, const char* k, int64_t d) {
  if (!a.contains(k)) return d;
  SN_CHECK(sn::detail::json_fits_int64(a[k]), ValueError, "attribute ", k,
           " must be an integer (got ", sn::detail::json_brief(a[k]), ")");
  return a[k].get<int64_t>();
}
double af(const json& a, const char* k, double d) {
  if (!a.contains(k)) return d;
  SN_CHECK(a[k].is_number(), ValueError, "attribute ", k, " must be a number (got ",
           sn::detail::json_brief(a[k]), ")");
  return a[k].get<double>();
}
std::string as(const json& a, const char* k, const std::string& d) {
  if (!a.contains(k)) return d;
  SN_CHECK(a[k].is_string(), ValueError, "attribute ", k, " must be a string (got ",
           sn::detail::json_brief(a[k]), ")");
  return a[k].get<std::string>();
}
bool has(const json& a, const char* k) { return a.contains(k); }
std::vector<int64_t> aints(const json& a, const char* k, std::vector<int64_t> d = {}) {
  if (!a.contains(k)) return d;
  SN_CHECK(a[k].is_array() && a[k].size() <= 64, ValueError, "attribute ", k,
           " must be a list of integers (got ", sn::detail::json_brief(a[k]), ")");
  std::vector<int64_t> v;
  for (const json& e : a[k]) {
    SN_CHECK(sn::detail::json_fits_int64(e), ValueError, "attribute ", k,
             " must be a list of integers (got ", sn::detail::json_brief(a[k]), ")");
    v.push_back(e.get<int64_t>());
  }
  return v;
}
std::vector<std::string> astrs(const json& a, const char* k) {
  std::vector<std::string> v;
  if (!a.contains(k)) return v;
  SN_CHECK(a[k].is_array(), ValueError, "attribute ", k, " must be a list of strings");
  for (const json& e : a[k]) {
    SN_CHECK(e.is_string(), ValueError, "attribute ", k, " must be a list of strings");
    v.push_back(e.get<std::string>());
  }
  return v;
}

std::vector<int64_t> ints_of(const Tensor& t, const char* what) {
  SN_CHECK(t.defined(), ValueError, what, " is missing");
  SN_CHECK(t.dim() <= 1, ShapeError, what, " must be a list of integers (got shape ", t.shape(),
           ")");
  SN_CHECK(t.numel() <= 4096, ShapeError, what, " holds ", t.numel(), " values");
  return t.to_vector_as<int64_t>();
}
int64_t wrap(int64_t axis, int64_t rank, const char* what) {
  SN_CHECK(axis >= -rank && axis < rank, ValueError, what, " ", axis, " is out of range for rank ",
           rank);
  return axis < 0 ? axis + rank : axis;
}
Tensor in_at(const std::vector<Tensor>& in, size_t i) { return i < in.size() ? in[i] : Tensor(); }
Tensor need(const std::vector<Tensor>& in, size_t i) {
  SN_CHECK(i < in.size() && in[i].defined(), ValueError, "input ", i, " is missing");
  return in[i];
}
int64_t checked_numel(const std::vector<int64_t>& s, const char* what) {
  int64_t n = 1;
  for (int64_t d : s) {
    SN_CHECK(d >= 0, ShapeError, what, ": a negative size (", d, ")");
    SN_CHECK(d == 0 || n <= kMaxGraphElements / d, ShapeError, what, ": the shape ", Shape(s),
             " holds more than ", kMaxGraphElements, " elements");
    n *= d;
  }
  return n;
}

DType onnx_dtype(int64_t code) {
  switch (code) {
    case 1:
      return kFloat32;
    case 11:
      return kFloat64;
    case 6:
    case 7:
      return kInt64;  // int32 is held as int64
    case 9:
      return kBool;
    default:
      SN_THROW(ValueError, "ONNX data type ", code, " is not supported");
  }
}
DType dtype_named(const std::string& s) {
  if (s == "float32") return kFloat32;
  if (s == "float64") return kFloat64;
  if (s == "int64") return kInt64;
  if (s == "bool") return kBool;
  SN_THROW(ValueError, "unknown dtype \"", sn::detail::cut_text(s), "\"");
}

// int64 arithmetic (shape math) in float64, which is exact below 2^53; Div truncates as ONNX.
Tensor binary(const std::string& op, Tensor a, Tensor b) {
  const bool ints = a.dtype() == kInt64 && b.dtype() == kInt64;
  if (ints) {
    a = a.to(kFloat64);
    b = b.to(kFloat64);
  } else if (a.dtype() != b.dtype()) {
    b = b.to(a.dtype());
  }
  Tensor y;
  if (op == "Add")
    y = add(a, b);
  else if (op == "Sub")
    y = sub(a, b);
  else if (op == "Mul")
    y = mul(a, b);
  else if (op == "Div")
    y = div(a, b);
  else if (op == "Pow")
    y = b.dim() == 0 || b.numel() == 1 ? pow(a, b.item()) : pow(a, b);
  else if (op == "Max")
    y = maximum(a, b);
  else if (op == "Min")
    y = minimum(a, b);
  return ints ? y.to(kInt64) : y;
}

Tensor erf_no_grad(const Tensor& x) {
  Tensor c = x.to(kFloat64).contiguous();
  std::vector<double> v = c.to_vector();
  for (double& e : v) e = std::erf(e);
  return tensor(v, x.shape()).to(x.dtype());
}

// Pads [b1, b2, ..., e1, e2, ...] for `k` spatial dims from auto_pad or the pads attribute.
std::vector<int64_t> spatial_pads(const json& a, const Tensor& x,
                                  const std::vector<int64_t>& kernel,
                                  const std::vector<int64_t>& stride,
                                  const std::vector<int64_t>& dil) {
  const size_t k = kernel.size();
  SN_CHECK(stride.size() == k && dil.size() == k, ValueError, "strides and dilations need ", k,
           " values (got ", Shape(stride), " and ", Shape(dil), ")");
  for (size_t i = 0; i < k; ++i)
    SN_CHECK(kernel[i] >= 1 && stride[i] >= 1 && dil[i] >= 1, ValueError,
             "kernel, strides and dilations must be >= 1 (got ", Shape(kernel), ", ", Shape(stride),
             ", ", Shape(dil), ")");
  const std::string ap = as(a, "auto_pad", "NOTSET");
  std::vector<int64_t> pads(2 * k, 0);
  if (ap == "NOTSET") {
    pads = aints(a, "pads", pads);
    SN_CHECK(pads.size() == 2 * k, ValueError, "pads has ", pads.size(), " values, expected ",
             2 * k);
  } else if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    for (size_t i = 0; i < k; ++i) {
      const int64_t in = x.size(static_cast<int64_t>(2 + i));
      const int64_t out = (in + stride[i] - 1) / stride[i];
      const int64_t total =
          std::max<int64_t>((out - 1) * stride[i] + (kernel[i] - 1) * dil[i] + 1 - in, 0);
      const int64_t small = total / 2;
      pads[i] = ap == "SAME_UPPER" ? small : total - small;
      pads[i + k] = total - pads[i];
    }
  } else {
    SN_CHECK(ap == "VALID", ValueError, "auto_pad \"", sn::detail::cut_text(ap), "\" is unknown");
  }
  for (int64_t p : pads) SN_CHECK(p >= 0, ValueError, "pads must be >= 0 (got ", Shape(pads), ")");
  return pads;
}
bool symmetric(const std::vector<int64_t>& pads) {
  const size_t k = pads.size() / 2;
  for (size_t i = 0; i < k; ++i)
    if (pads[i] != pads[i + k]) return false;
  return true;
}
// sn::pad's order: (begin, end) pairs from the last dim
std::vector<int64_t> torch_pads(const std::vector<int64_t>& pads) {
  const size_t k = pads.size() / 2;
  std::vector<int64_t> p;
  for (size_t i = k; i-- > 0;) {
    p.push_back(pads[i]);
    p.push_back(pads[i + k]);
  }
  return p;
}

Tensor conv(const std::vector<Tensor>& in, const json& a) {
  const Tensor x = need(in, 0), w = need(in, 1), b = in_at(in, 2);
  SN_CHECK(w.dim() == 3 || w.dim() == 4, ShapeError,
           "only 1-D and 2-D convolutions are supported (weight ", w.shape(), ")");
  SN_CHECK(x.dim() == w.dim(), ShapeError, "input ", x.shape(), " does not fit weight ", w.shape());
  const size_t k = static_cast<size_t>(w.dim() - 2);
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  const auto stride = aints(a, "strides", std::vector<int64_t>(k, 1));
  const auto dil = aints(a, "dilations", std::vector<int64_t>(k, 1));
  SN_CHECK(stride.size() == k && dil.size() == k, ValueError, "strides/dilations need ", k,
           " values");
  auto pads = spatial_pads(a, x, kernel, stride, dil);
  SN_CHECK(ai(a, "group", 1) >= 1, ValueError, "group must be >= 1 (got ", ai(a, "group", 1), ")");
  Tensor xi = x;
  if (!symmetric(pads)) {
    xi = pad(x, torch_pads(pads));
    std::fill(pads.begin(), pads.end(), 0);
  }
  ConvOptions o{.stride = IntArgs(stride),
                .padding = Padding(std::vector<int64_t>(pads.begin(), pads.begin() + k)),
                .dilation = IntArgs(dil),
                .groups = ai(a, "group", 1)};
  return k == 1 ? conv1d(xi, w, b, o) : conv2d(xi, w, b, o);
}

Tensor conv_transpose(const std::vector<Tensor>& in, const json& a) {
  const Tensor x = need(in, 0), w = need(in, 1), b = in_at(in, 2);
  SN_CHECK(w.dim() == 4, ShapeError, "only 2-D transposed convolutions are supported (weight ",
           w.shape(), ")");
  SN_CHECK(!has(a, "output_shape") && as(a, "auto_pad", "NOTSET") == "NOTSET", ValueError,
           "output_shape and auto_pad are not supported; give pads");
  const auto stride = aints(a, "strides", {1, 1}), dil = aints(a, "dilations", {1, 1});
  const auto pads = aints(a, "pads", {0, 0, 0, 0});
  const auto opad = aints(a, "output_padding", {0, 0});
  SN_CHECK(pads.size() == 4 && symmetric(pads), ValueError,
           "only symmetric pads are supported (got ", Shape(pads), ")");
  SN_CHECK(ai(a, "group", 1) >= 1, ValueError, "group must be >= 1 (got ", ai(a, "group", 1), ")");
  return conv_transpose2d(x, w, b,
                          {.stride = IntArgs(stride),
                           .padding = IntArgs({pads[0], pads[1]}),
                           .output_padding = IntArgs(opad),
                           .dilation = IntArgs(dil),
                           .groups = ai(a, "group", 1)});
}

Tensor pool(const std::string& op, const std::vector<Tensor>& in, const json& a) {
  const Tensor x = need(in, 0);
  SN_CHECK(x.dim() == 3 || x.dim() == 4, ShapeError,
           "only 1-D and 2-D pooling is supported (input ", x.shape(), ")");
  const size_t k = static_cast<size_t>(x.dim() - 2);
  const auto kernel = aints(a, "kernel_shape");
  SN_CHECK(kernel.size() == k, ValueError, "kernel_shape needs ", k, " values (got ", Shape(kernel),
           ")");
  const auto stride = aints(a, "strides", std::vector<int64_t>(k, 1));
  const auto dil = aints(a, "dilations", std::vector<int64_t>(k, 1));
  const auto pads = spatial_pads(a, x, kernel, stride, dil);
  SN_CHECK(symmetric(pads), ValueError, "only symmetric pads are supported (got ", Shape(pads),
           ")");
  const IntArgs p(std::vector<int64_t>(pads.begin(), pads.begin() + k));
  const bool ceil = ai(a, "ceil_mode", 0) != 0;
  if (op == "MaxPool") {
    MaxPoolOptions o{
        .stride = IntArgs(stride), .padding = p, .dilation = IntArgs(dil), .ceil_mode = ceil};
    return k == 1 ? max_pool1d(x, IntArgs(kernel), o) : max_pool2d(x, IntArgs(kernel), o);
  }
  for (int64_t d : dil) SN_CHECK(d == 1, ValueError, "AveragePool with dilations is not supported");
  AvgPoolOptions o{.stride = IntArgs(stride),
                   .padding = p,
                   .ceil_mode = ceil,
                   .count_include_pad = ai(a, "count_include_pad", 0) != 0};
  return k == 1 ? avg_pool1d(x, IntArgs(kernel), o) : avg_pool2d(x, IntArgs(kernel), o);
}

std::vector<int64_t> axes_of(const std::vector<Tensor>& in, size_t i, const json& a) {
  if (has(a, "axes")) return aints(a, "axes");
  if (i < in.size() && in[i].defined()) return ints_of(in[i], "axes");
  return {};
}

Tensor reduce(const std::string& op, const std::vector<Tensor>& in, const json& a) {
  const Tensor x = need(in, 0);
  const bool keep = ai(a, "keepdims", 1) != 0;
  std::vector<int64_t> axes = axes_of(in, 1, a);
  if (axes.empty()) {
    if (ai(a, "noop_with_empty_axes", 0) != 0) return x;
    axes.resize(static_cast<size_t>(x.dim()));
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (auto& ax : axes) ax = wrap(ax, x.dim(), "axis");
  if (op == "ReduceMean") return mean(x, axes, keep);
  if (op == "ReduceSum") return sum(x, axes, keep);
  if (op == "ReduceMax") return amax(x, axes, keep);
  return amin(x, axes, keep);
}

Tensor gather_op(const std::vector<Tensor>& in, const json& a) {
  const Tensor data = need(in, 0), idx = need(in, 1);
  const int64_t axis = wrap(ai(a, "axis", 0), data.dim(), "axis");
  const int64_t n = data.size(axis);
  std::vector<int64_t> iv = idx.to_vector_as<int64_t>();
  for (int64_t& v : iv) {
    SN_CHECK(v >= -n && v < n, IndexError, "index ", v, " is out of range for size ", n);
    if (v < 0) v += n;
  }
  Tensor y = index_select(data, axis, tensor(iv, Shape{static_cast<int64_t>(iv.size())}));
  Shape out;
  for (int64_t i = 0; i < axis; ++i) out.push_back(data.size(i));
  for (int64_t d : idx.shape()) out.push_back(d);
  for (int64_t i = axis + 1; i < data.dim(); ++i) out.push_back(data.size(i));
  return y.reshape(out);
}

Tensor slice_op(const std::vector<Tensor>& in, const json& a) {
  Tensor y = need(in, 0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (has(a, "starts")) {  // opset < 10
    starts = aints(a, "starts");
    ends = aints(a, "ends");
    axes = aints(a, "axes");
  } else {
    starts = ints_of(need(in, 1), "starts");
    ends = ints_of(need(in, 2), "ends");
    if (in_at(in, 3).defined()) axes = ints_of(in[3], "axes");
    if (in_at(in, 4).defined()) steps = ints_of(in[4], "steps");
  }
  SN_CHECK(starts.size() == ends.size(), ValueError, "starts and ends differ in length");
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  SN_CHECK(axes.size() == starts.size() && steps.size() == starts.size(), ValueError,
           "starts, ends, axes and steps differ in length");
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t ax = wrap(axes[i], y.dim(), "axis"), n = y.size(ax);
    SN_CHECK(steps[i] > 0, ValueError, "only positive steps are supported (got ", steps[i], ")");
    auto clampi = [n](int64_t v) {
      if (v < 0) v = v < -n ? 0 : v + n;
      return std::min(v, n);
    };
    const int64_t s = clampi(starts[i]), e = std::max(clampi(ends[i]), s);
    y = y.slice(ax, s, e, steps[i]);
  }
  return y;
}

Tensor expand_op(const Tensor& x, const std::vector<int64_t>& target) {
  const size_t r = std::max(static_cast<size_t>(x.dim()), target.size());
  std::vector<int64_t> xs(r, 1), out(r, 1);
  for (size_t i = 0; i < static_cast<size_t>(x.dim()); ++i)
    xs[r - x.dim() + i] = x.size(static_cast<int64_t>(i));
  for (size_t i = 0; i < target.size(); ++i) out[r - target.size() + i] = target[i];
  for (size_t i = 0; i < r; ++i) {
    if (out[i] == 1) out[i] = xs[i];
    SN_CHECK(xs[i] == 1 || xs[i] == out[i], ShapeError, "cannot expand ", x.shape(), " to ",
             Shape(target));
  }
  checked_numel(out, "Expand");
  return x.reshape(Shape(xs)).expand(Shape(out));
}

// ONNX's recurrent layers: W [D, G·H, I], R [D, G·H, H], B [D, 2·G·H] in ONNX's gate order,
// reordered to PyTorch's for rnn_layer (LSTM iofc -> ifgo, GRU zrh -> rzn).
std::vector<Tensor> recurrent(const std::string& op, const std::vector<Tensor>& in, const json& a,
                              size_t n_out) {
  Tensor x = need(in, 0);
  const Tensor W = need(in, 1), R = need(in, 2), B = in_at(in, 3), lens = in_at(in, 4);
  const Tensor h0 = in_at(in, 5), c0 = in_at(in, 6);
  SN_CHECK(!in_at(in, 7).defined(), ValueError, "LSTM peepholes (input P) are not supported");
  SN_CHECK(!has(a, "clip"), ValueError, "clip is not supported");
  SN_CHECK(ai(a, "input_forget", 0) == 0, ValueError, "input_forget is not supported");
  const int64_t H = ai(a, "hidden_size", -1);
  const std::string dir = as(a, "direction", "forward");
  const int64_t D = dir == "bidirectional" ? 2 : 1;
  SN_CHECK(dir == "forward" || dir == "reverse" || dir == "bidirectional", ValueError,
           "direction \"", sn::detail::cut_text(dir), "\" is unknown");
  const int64_t layout = ai(a, "layout", 0);
  SN_CHECK(x.dim() == 3, ShapeError, "X must be [T, N, I] (got ", x.shape(), ")");
  if (layout == 1) x = x.transpose(0, 1);
  RnnKind kind = op == "LSTM" ? RnnKind::LSTM : op == "GRU" ? RnnKind::GRU : RnnKind::Tanh;
  const auto acts = astrs(a, "activations");
  if (op == "RNN") {
    const std::string act = acts.empty() ? "Tanh" : acts[0];
    SN_CHECK(act == "Tanh" || act == "Relu", ValueError, "RNN activation ", act,
             " is not supported (Tanh or Relu)");
    kind = act == "Relu" ? RnnKind::ReLU : RnnKind::Tanh;
  } else {
    const std::vector<std::string> dflt = op == "LSTM"
                                              ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                              : std::vector<std::string>{"Sigmoid", "Tanh"};
    for (size_t i = 0; i < acts.size(); ++i)
      SN_CHECK(acts[i] == dflt[i % dflt.size()], ValueError,
               "only the default activations are supported (got ", acts[i], ")");
  }
  if (op == "GRU")
    SN_CHECK(ai(a, "linear_before_reset", 0) == 1, ValueError,
             "GRU with linear_before_reset=0 is not supported (PyTorch's GRU has 1)");
  const int64_t G = rnn_gate_count(kind);
  SN_CHECK(H > 0 && W.dim() == 3 && W.size(0) == D && W.size(1) == G * H && R.dim() == 3 &&
               R.size(0) == D && R.size(1) == G * H && R.size(2) == H,
           ShapeError, op, " weights W ", W.shape(), " R ", R.shape(), " do not fit hidden_size ",
           H, " and ", D, " direction(s)");
  SN_CHECK(!B.defined() || (B.dim() == 2 && B.size(0) == D && B.size(1) == 2 * G * H), ShapeError,
           op, " bias B ", B.defined() ? B.shape() : Shape{}, " must be [", D, ", ", 2 * G * H,
           "]");
  const std::vector<int64_t> order = op == "LSTM"  ? std::vector<int64_t>{0, 2, 3, 1}
                                     : op == "GRU" ? std::vector<int64_t>{1, 0, 2}
                                                   : std::vector<int64_t>{0};
  auto reorder = [&](const Tensor& t) {  // [G·H, ...] gate blocks
    std::vector<Tensor> parts;
    for (int64_t g : order) parts.push_back(t.narrow(0, g * H, H));
    return parts.size() == 1 ? t : cat(parts, 0);
  };
  Tensor lengths;
  if (lens.defined()) {
    std::vector<int64_t> lv = lens.to_vector_as<int64_t>();
    if (!std::all_of(lv.begin(), lv.end(), [&](int64_t v) { return v == x.size(0); }))
      lengths = lens.to(kInt64);
  }
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < D; ++d) {
    RnnWeights w{.w_ih = reorder(W[d]), .w_hh = reorder(R[d])};
    if (B.defined()) {
      w.b_ih = reorder(B[d].narrow(0, 0, G * H));
      w.b_hh = reorder(B[d].narrow(0, G * H, G * H));
    }
    const bool rev = dir == "reverse" || d == 1;
    RnnLayerOutput o = rnn_layer(kind, x, h0.defined() ? h0[d] : Tensor(),
                                 c0.defined() ? c0[d] : Tensor(), w, lengths, rev, op.c_str());
    ys.push_back(o.y);
    hs.push_back(o.h_n);
    if (o.c_n.defined()) cs.push_back(o.c_n);
  }
  Tensor y = stack(ys, 1);  // [T, D, N, H]
  if (layout == 1) y = y.permute({2, 0, 1, 3});
  Tensor yh = stack(hs, 0), yc = cs.empty() ? Tensor() : stack(cs, 0);
  if (layout == 1) {
    yh = yh.transpose(0, 1);
    if (yc.defined()) yc = yc.transpose(0, 1);
  }
  std::vector<Tensor> out{y, yh, yc};
  out.resize(std::min<size_t>(n_out, op == "LSTM" ? 3 : 2));
  return out;
}

using Kernel = std::function<std::vector<Tensor>(const std::vector<Tensor>&, const json&, size_t)>;
std::vector<Tensor> one(Tensor t) { return {std::move(t)}; }

const std::map<std::string, Kernel>& kernels() {
  static const std::map<std::string, Kernel> k = [] {
    std::map<std::string, Kernel> m;
    auto unary = [&m](const char* name, Tensor (*f)(const Tensor&)) {
      m[name] = [f](const std::vector<Tensor>& in, const json&, size_t) {
        return one(f(need(in, 0)));
      };
    };
    unary("Relu", relu);
    unary("Sigmoid", sigmoid);
    unary("Tanh", tanh);
    unary("Exp", exp);
    unary("Log", log);
    unary("Sqrt", sqrt);
    unary("Neg", neg);
    unary("Abs", abs);
    unary("Erf", erf_no_grad);
    unary("Not", logical_not);
    m["Reciprocal"] = [](const auto& in, const json&, size_t) {
      return one(rdiv(need(in, 0), 1.0));
    };
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow"})
      m[op] = [op = std::string(op)](const auto& in, const json&, size_t) {
        return one(binary(op, need(in, 0), need(in, 1)));
      };
    for (const char* op : {"Sum", "Max", "Min"})
      m[op] = [op = std::string(op)](const auto& in, const json&, size_t) {
        Tensor y = need(in, 0);
        for (size_t i = 1; i < in.size(); ++i) y = binary(op == "Sum" ? "Add" : op, y, need(in, i));
        return one(y);
      };
    m["Identity"] = [](const auto& in, const json&, size_t) { return one(need(in, 0)); };
    m["Dropout"] = [](const auto& in, const json& a, size_t n) {
      SN_CHECK(ai(a, "training_mode", 0) == 0 && (!in_at(in, 2).defined() || in[2].item() == 0),
               ValueError, "Dropout in training mode is not supported");
      std::vector<Tensor> out{need(in, 0)};
      if (n > 1) out.push_back(ones(in[0].shape(), {.dtype = kBool}));
      return out;
    };
    m["LeakyRelu"] = [](const auto& in, const json& a, size_t) {
      return one(leaky_relu(need(in, 0), af(a, "alpha", 0.01)));
    };
    m["Elu"] = [](const auto& in, const json& a, size_t) {
      return one(elu(need(in, 0), af(a, "alpha", 1.0)));
    };
    m["Softplus"] = [](const auto& in, const json&, size_t) { return one(softplus(need(in, 0))); };
    m["Gelu"] = [](const auto& in, const json& a, size_t) {
      const std::string ap = as(a, "approximate", "none");
      SN_CHECK(ap == "none" || ap == "tanh", ValueError, "approximate \"", ap, "\" is unknown");
      return one(gelu(need(in, 0), ap == "tanh"));
    };
    m["Softmax"] = [](const auto& in, const json& a, size_t) {
      return one(softmax(need(in, 0), ai(a, "axis", -1)));
    };
    m["LogSoftmax"] = [](const auto& in, const json& a, size_t) {
      return one(log_softmax(need(in, 0), ai(a, "axis", -1)));
    };
    m["Clip"] = [](const auto& in, const json& a, size_t) {
      std::optional<double> lo, hi;
      if (has(a, "min")) lo = af(a, "min", 0);
      if (has(a, "max")) hi = af(a, "max", 0);
      if (in_at(in, 1).defined()) lo = in[1].item();
      if (in_at(in, 2).defined()) hi = in[2].item();
      return one(clamp(need(in, 0), lo, hi));
    };
    m["MatMul"] = [](const auto& in, const json&, size_t) {
      return one(matmul(need(in, 0), need(in, 1)));
    };
    m["Gemm"] = [](const auto& in, const json& a, size_t) {
      Tensor A = need(in, 0), B = need(in, 1), C = in_at(in, 2);
      SN_CHECK(A.dim() == 2 && B.dim() == 2, ShapeError, "Gemm needs 2-D A and B (got ", A.shape(),
               " and ", B.shape(), ")");
      if (ai(a, "transA", 0)) A = A.t();
      const double alpha = af(a, "alpha", 1.0), beta = af(a, "beta", 1.0);
      if (ai(a, "transB", 0) && alpha == 1.0 && beta == 1.0 && (!C.defined() || C.dim() == 1))
        return one(linear(A, B, C));
      if (ai(a, "transB", 0)) B = B.t();
      Tensor y = matmul(A, B);
      if (alpha != 1.0) y = y * alpha;
      if (C.defined()) y = y + (beta != 1.0 ? C * beta : C);
      return one(y);
    };
    m["Conv"] = [](const auto& in, const json& a, size_t) { return one(conv(in, a)); };
    m["ConvTranspose"] = [](const auto& in, const json& a, size_t) {
      return one(conv_transpose(in, a));
    };
    m["MaxPool"] = [](const auto& in, const json& a, size_t n) {
      SN_CHECK(n <= 1, ValueError, "MaxPool's Indices output is not supported");
      return one(pool("MaxPool", in, a));
    };
    m["AveragePool"] = [](const auto& in, const json& a, size_t) {
      return one(pool("AveragePool", in, a));
    };
    for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"})
      m[op] = [op = std::string(op)](const auto& in, const json&, size_t) {
        const Tensor x = need(in, 0);
        SN_CHECK(x.dim() >= 3, ShapeError, "input must be [N, C, ...] (got ", x.shape(), ")");
        std::vector<int64_t> dims;
        for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
        return one(op == "GlobalAveragePool" ? mean(x, dims, true) : amax(x, dims, true));
      };
    m["BatchNormalization"] = [](const auto& in, const json& a, size_t n) {
      SN_CHECK(ai(a, "training_mode", 0) == 0 && n <= 1, ValueError,
               "BatchNormalization in training mode is not supported");
      return one(batch_norm(need(in, 0), need(in, 3), need(in, 4), need(in, 1), need(in, 2),
                            {.training = false, .eps = af(a, "epsilon", 1e-5)}));
    };
    m["LayerNormalization"] = [](const auto& in, const json& a, size_t n) {
      SN_CHECK(n <= 1, ValueError,
               "LayerNormalization's Mean and InvStdDev outputs are not supported");
      const Tensor x = need(in, 0);
      const int64_t axis = wrap(ai(a, "axis", -1), x.dim(), "axis");
      const Shape ns(x.shape().begin() + axis, x.shape().end());
      auto fit = [&](const Tensor& t) {
        if (!t.defined()) return t;
        SN_CHECK(t.numel() == ns.numel(), ShapeError, "scale/bias ", t.shape(),
                 " do not fit the normalised shape ", ns);
        return t.reshape(ns);
      };
      return one(layer_norm(x, ns, fit(need(in, 1)), fit(in_at(in, 2)), af(a, "epsilon", 1e-5)));
    };
    m["Flatten"] = [](const auto& in, const json& a, size_t) {
      const Tensor x = need(in, 0);
      const int64_t r = x.dim(), ax = ai(a, "axis", 1);
      SN_CHECK(ax >= -r && ax <= r, ValueError, "axis ", ax, " is out of range for rank ", r);
      const int64_t axis = ax < 0 ? ax + r : ax;
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= x.size(i);
      return one(x.reshape({outer, inner}));
    };
    m["Reshape"] = [](const auto& in, const json& a, size_t) {
      const Tensor x = need(in, 0);
      std::vector<int64_t> s = ints_of(need(in, 1), "shape");
      SN_CHECK(s.size() <= static_cast<size_t>(kMaxDims), ShapeError, "shape ", s.size(), " dims");
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == 0 && ai(a, "allowzero", 0) == 0) {
          SN_CHECK(i < static_cast<size_t>(x.dim()), ShapeError, "shape ", Shape(s), " copies dim ",
                   i, " of ", x.shape());
          s[i] = x.size(static_cast<int64_t>(i));
        }
      return one(x.reshape(Shape(s)));
    };
    m["Transpose"] = [](const auto& in, const json& a, size_t) {
      const Tensor x = need(in, 0);
      std::vector<int64_t> perm = aints(a, "perm");
      if (perm.empty())
        for (int64_t i = x.dim() - 1; i >= 0; --i) perm.push_back(i);
      return one(x.permute(perm));
    };
    m["Concat"] = [](const auto& in, const json& a, size_t) {
      std::vector<Tensor> ts;
      for (const auto& t : in)
        if (t.defined()) ts.push_back(t);
      SN_CHECK(!ts.empty(), ValueError, "no inputs");
      return one(cat(ts, wrap(ai(a, "axis", 0), ts[0].dim(), "axis")));
    };
    m["Split"] = [](const auto& in, const json& a, size_t n) {
      const Tensor x = need(in, 0);
      const int64_t axis = wrap(ai(a, "axis", 0), x.dim(), "axis");
      std::vector<int64_t> sizes = has(a, "split")          ? aints(a, "split")
                                   : in_at(in, 1).defined() ? ints_of(in[1], "split")
                                                            : std::vector<int64_t>{};
      if (sizes.empty()) {
        SN_CHECK(n > 0 && x.size(axis) % static_cast<int64_t>(n) == 0, ShapeError, "cannot split ",
                 x.shape(), " into ", n, " equal parts along axis ", axis);
        sizes.assign(n, x.size(axis) / static_cast<int64_t>(n));
      }
      return split(x, sizes, axis);
    };
    m["Shape"] = [](const auto& in, const json& a, size_t) {
      const Tensor x = need(in, 0);
      const int64_t r = x.dim();
      auto clampi = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
      const int64_t s = clampi(ai(a, "start", 0)), e = clampi(ai(a, "end", r));
      std::vector<int64_t> v;
      for (int64_t i = s; i < e; ++i) v.push_back(x.size(i));
      return one(tensor(v, Shape{static_cast<int64_t>(v.size())}));
    };
    m["Size"] = [](const auto& in, const json&, size_t) {
      return one(full({}, static_cast<double>(need(in, 0).numel()), {.dtype = kInt64}));
    };
    m["Gather"] = [](const auto& in, const json& a, size_t) { return one(gather_op(in, a)); };
    m["Slice"] = [](const auto& in, const json& a, size_t) { return one(slice_op(in, a)); };
    m["Unsqueeze"] = [](const auto& in, const json& a, size_t) {
      Tensor y = need(in, 0);
      std::vector<int64_t> axes = axes_of(in, 1, a);
      const int64_t r = y.dim() + static_cast<int64_t>(axes.size());
      for (auto& ax : axes) ax = wrap(ax, r, "axis");
      std::sort(axes.begin(), axes.end());
      for (int64_t ax : axes) y = y.unsqueeze(ax);
      return one(y);
    };
    m["Squeeze"] = [](const auto& in, const json& a, size_t) {
      Tensor y = need(in, 0);
      std::vector<int64_t> axes = axes_of(in, 1, a);
      if (axes.empty()) return one(y.squeeze());
      for (auto& ax : axes) ax = wrap(ax, y.dim(), "axis");
      std::sort(axes.rbegin(), axes.rend());
      for (int64_t ax : axes) {
        SN_CHECK(y.size(ax) == 1, ShapeError, "cannot squeeze axis ", ax, " of ", y.shape());
        y = y.squeeze(ax);
      }
      return one(y);
    };
    m["Expand"] = [](const auto& in, const json&, size_t) {
      return one(expand_op(need(in, 0), ints_of(need(in, 1), "shape")));
    };
    m["ConstantOfShape"] = [](const auto& in, const json& a, size_t) {
      const std::vector<int64_t> s = ints_of(need(in, 0), "shape");
      checked_numel(s, "ConstantOfShape");
      return one(
          full(Shape(s), af(a, "value", 0.0), {.dtype = dtype_named(as(a, "dtype", "float32"))}));
    };
    m["Cast"] = [](const auto& in, const json& a, size_t) {
      return one(need(in, 0).to(onnx_dtype(ai(a, "to", 1))));
    };
    m["Range"] = [](const auto& in, const json&, size_t) {
      const Tensor s = need(in, 0);
      const double start = s.item(), limit = need(in, 1).item(), delta = need(in, 2).item();
      SN_CHECK(delta != 0 && std::isfinite(start) && std::isfinite(limit) && std::isfinite(delta),
               ValueError, "Range(", start, ", ", limit, ", ", delta, ") is not a range");
      const double n = std::max(std::ceil((limit - start) / delta), 0.0);
      SN_CHECK(n <= static_cast<double>(kMaxGraphElements), ShapeError, "Range of ", n,
               " elements");
      if (n == 0) return one(empty(Shape{0}, {.dtype = s.dtype()}));
      return one(arange(start, start + n * delta - delta / 2, delta, {.dtype = s.dtype()}));
    };
    m["Where"] = [](const auto& in, const json&, size_t) {
      Tensor c = need(in, 0), x = need(in, 1), y = need(in, 2);
      if (y.dtype() != x.dtype()) y = y.to(x.dtype());
      return one(where(c.dtype() == kBool ? c : c.to(kBool), x, y));
    };
    for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
      m[op] = [op = std::string(op)](const auto& in, const json&, size_t) {
        Tensor x = need(in, 0), y = need(in, 1);
        if (x.dtype() != y.dtype()) y = y.to(x.dtype());
        if (op == "Equal") return one(eq(x, y));
        if (op == "Less") return one(lt(x, y));
        if (op == "Greater") return one(gt(x, y));
        if (op == "LessOrEqual") return one(le(x, y));
        return one(ge(x, y));
      };
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"})
      m[op] = [op = std::string(op)](const auto& in, const json& a, size_t) {
        return one(reduce(op, in, a));
      };
    for (const char* op : {"LSTM", "GRU", "RNN"})
      m[op] = [op = std::string(op)](const auto& in, const json& a, size_t n) {
        return recurrent(op, in, a, n);
      };
    return m;
  }();
  return k;
}

}  // namespace

std::vector<Tensor> run_graph_op(const std::string& op, const std::vector<Tensor>& inputs,
                                 const json& attrs, size_t n_outputs) {
  auto it = kernels().find(op);
  SN_CHECK(it != kernels().end(), ValueError, "unknown op ", op);
  SN_CHECK(attrs.is_object() || attrs.is_null(), ValueError, "attributes must be an object");
  const json a = attrs.is_null() ? json::object() : attrs;
  try {
    return it->second(inputs, a, n_outputs);
  } catch (const json::exception& e) {
    SN_THROW(ValueError, "bad attribute (", e.what(), ")");
  }
}

bool graph_op_known(const std::string& op) { return kernels().count(op) != 0; }

}  // namespace detail

// ---------------------------------------------------------------------------------------------

namespace {

struct GNode {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  json attrs;
};

// A value name's slot: graph input k, tensor/constant k, or node output.
constexpr size_t kMaxGraphNodes = 100000;

}  // namespace

struct Graph::Impl {
  json desc;
  std::vector<std::string> inputs, outputs;
  std::vector<std::pair<std::string, Tensor>> values;  // tensors and constants by value name
  std::vector<GNode> nodes;
  std::vector<std::vector<std::string>> free_after;  // per node: values dead after it
};

namespace {

std::vector<std::string> str_list(const json& j, const char* key, const std::string& where,
                                  bool allow_empty_names) {
  SN_CHECK(j.contains(key) && j[key].is_array(), ValueError, where, ".", key,
           " must be a list of names");
  std::vector<std::string> v;
  for (const json& e : j[key]) {
    SN_CHECK(e.is_string() && (allow_empty_names || !e.get<std::string>().empty()), ValueError,
             where, ".", key, " must hold names (got ", sn::detail::json_brief(e), ")");
    v.push_back(e.get<std::string>());
  }
  return v;
}

Shape shape_field(const json& t, const std::string& where) {
  SN_CHECK(t.contains("shape") && t["shape"].is_array() && t["shape"].size() <= kMaxDims,
           ValueError, where, ".shape must be a list of at most ", kMaxDims, " sizes");
  std::vector<int64_t> s;
  for (const json& d : t["shape"]) {
    SN_CHECK(sn::detail::json_fits_int64(d) && d.get<int64_t>() >= 0, ValueError, where,
             ".shape must hold sizes >= 0 (got ", sn::detail::json_brief(t["shape"]), ")");
    s.push_back(d.get<int64_t>());
  }
  detail::checked_numel(s, where.c_str());
  return Shape(s);
}

// A state-dict key for a value name: '.' is the module separator, so it becomes '_'.
std::string key_for(const std::string& name) {
  std::string k = name;
  for (char& c : k)
    if (c == '.') c = '_';
  return k;
}

}  // namespace

Graph::Graph(const std::string& description) : impl_(std::make_shared<Impl>()) {
  Impl& g = *impl_;
  g.desc = sn::detail::parse_json(description, "Graph", {.max_bytes = 64 << 20, .max_depth = 16});
  const json& d = g.desc;
  SN_CHECK(d.is_object(), ValueError, "Graph: the description must be an object");
  sn::detail::check_keys(d, {"type", "name", "inputs", "outputs", "tensors", "constants", "nodes"},
                         "Graph");
  g.inputs = str_list(d, "inputs", "Graph", false);
  g.outputs = str_list(d, "outputs", "Graph", false);
  SN_CHECK(!g.inputs.empty() && !g.outputs.empty(), ValueError,
           "Graph: needs at least one input and one output");
  std::set<std::string> defined(g.inputs.begin(), g.inputs.end());
  SN_CHECK(defined.size() == g.inputs.size(), ValueError, "Graph: an input is named twice");
  auto define = [&](const std::string& n, const std::string& where) {
    SN_CHECK(!n.empty() && defined.insert(n).second, ValueError, "Graph: ", where, " defines '",
             sn::detail::cut_text(n), "', which is already defined");
  };
  std::set<std::string> keys;
  if (d.contains("tensors")) {
    SN_CHECK(d["tensors"].is_array(), ValueError, "Graph: tensors must be a list");
    for (size_t i = 0; i < d["tensors"].size(); ++i) {
      const json& t = d["tensors"][i];
      const std::string where = "Graph tensors[" + std::to_string(i) + "]";
      SN_CHECK(t.is_object(), ValueError, where, " must be an object");
      sn::detail::check_keys(t, {"name", "shape", "dtype", "trainable"}, where);
      const std::string name = sn::detail::json_string(t, "name", "", where);
      define(name, where);
      const Shape s = shape_field(t, where);
      const DType dt = detail::dtype_named(sn::detail::json_string(t, "dtype", "float32", where));
      const bool trainable = sn::detail::json_bool(t, "trainable", dt == kFloat32, where);
      const std::string key = key_for(name);
      SN_CHECK(keys.insert(key).second, ValueError, where, ": the key '", key,
               "' is taken by another tensor");
      Tensor v = trainable ? register_parameter(key, zeros(s, {.dtype = dt}))
                           : register_buffer(key, zeros(s, {.dtype = dt}));
      g.values.emplace_back(name, v);
    }
  }
  if (d.contains("constants")) {
    SN_CHECK(d["constants"].is_array(), ValueError, "Graph: constants must be a list");
    for (size_t i = 0; i < d["constants"].size(); ++i) {
      const json& t = d["constants"][i];
      const std::string where = "Graph constants[" + std::to_string(i) + "]";
      SN_CHECK(t.is_object(), ValueError, where, " must be an object");
      sn::detail::check_keys(t, {"name", "shape", "dtype", "values"}, where);
      const std::string name = sn::detail::json_string(t, "name", "", where);
      define(name, where);
      const Shape s = shape_field(t, where);
      const DType dt = detail::dtype_named(sn::detail::json_string(t, "dtype", "float32", where));
      SN_CHECK(t.contains("values") && t["values"].is_array() &&
                   static_cast<int64_t>(t["values"].size()) == s.numel(),
               ValueError, where, ".values must be a list of ", s.numel(), " numbers");
      std::vector<double> v;
      for (const json& e : t["values"]) {
        SN_CHECK(e.is_number() || e.is_boolean(), ValueError, where, ".values must hold numbers");
        v.push_back(e.is_boolean() ? (e.get<bool>() ? 1.0 : 0.0) : e.get<double>());
      }
      Tensor c = dt == kInt64 ? tensor(t["values"].get<std::vector<int64_t>>(), s)
                              : tensor(v, s, {.dtype = kFloat64}).to(dt);
      g.values.emplace_back(name, c);
    }
  }
  SN_CHECK(d.contains("nodes") && d["nodes"].is_array() && d["nodes"].size() <= kMaxGraphNodes,
           ValueError, "Graph: nodes must be a list of at most ", kMaxGraphNodes, " nodes");
  for (size_t i = 0; i < d["nodes"].size(); ++i) {
    const json& n = d["nodes"][i];
    const std::string where = "Graph nodes[" + std::to_string(i) + "]";
    SN_CHECK(n.is_object(), ValueError, where, " must be an object");
    sn::detail::check_keys(n, {"op", "name", "inputs", "outputs", "attrs"}, where);
    GNode node;
    node.op = sn::detail::json_string(n, "op", "", where);
    node.name = sn::detail::json_string(n, "name", "", where);
    SN_CHECK(detail::graph_op_known(node.op), ValueError, where, " has unknown op \"",
             sn::detail::cut_text(node.op), "\"");
    node.inputs = str_list(n, "inputs", where, true);
    node.outputs = str_list(n, "outputs", where, false);
    node.attrs = n.contains("attrs") ? n["attrs"] : json::object();
    SN_CHECK(node.attrs.is_object(), ValueError, where, ".attrs must be an object");
    for (const auto& in : node.inputs)
      SN_CHECK(in.empty() || defined.count(in), ValueError, where, " (", node.op, ") reads '",
               sn::detail::cut_text(in),
               "' before anything defines it (nodes must be in topological order)");
    for (const auto& out : node.outputs) define(out, where);
    g.nodes.push_back(std::move(node));
  }
  for (const auto& o : g.outputs)
    SN_CHECK(defined.count(o), ValueError, "Graph: output '", sn::detail::cut_text(o),
             "' is not defined");
  // each node value dies after its last reader (graph outputs live to the end)
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs) last[in] = i;
  g.free_after.resize(g.nodes.size());
  std::set<std::string> keep(g.outputs.begin(), g.outputs.end());
  for (const auto& [name, t] : g.values) keep.insert(name);
  for (const auto& [name, i] : last)
    if (!keep.count(name) && !name.empty()) g.free_after[i].push_back(name);
}

Graph::~Graph() = default;

Value Graph::forward_multi(const Value& in) {
  Impl& g = *impl_;
  std::unordered_map<std::string, Tensor> v;
  for (const auto& [name, t] : g.values) v[name] = t;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    SN_CHECK(in.has(i), ValueError, "Graph: input ", i, " '", g.inputs[i], "' is not given (",
             in.size(), " given)");
    v[g.inputs[i]] = in[i];
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const GNode& n = g.nodes[i];
    std::vector<Tensor> args;
    for (const auto& a : n.inputs) args.push_back(a.empty() ? Tensor() : v.at(a));
    std::vector<Tensor> outs;
    try {
      outs = detail::run_graph_op(n.op, args, n.attrs, n.outputs.size());
    } catch (const Error& e) {
      std::ostringstream shapes;
      for (size_t k = 0; k < args.size(); ++k)
        shapes << (k ? ", " : "") << (args[k].defined() ? args[k].shape() : Shape{});
      SN_THROW(ShapeError, "Graph node '", n.name, "' (", n.op, ") on inputs ", shapes.str(), ": ",
               e.what());
    }
    SN_CHECK(outs.size() >= n.outputs.size(), ValueError, "Graph node '", n.name, "' (", n.op,
             ") gives ", outs.size(), " outputs, ", n.outputs.size(), " are named");
    for (size_t k = 0; k < n.outputs.size(); ++k) v[n.outputs[k]] = outs[k];
    for (const auto& dead : g.free_after[i]) v.erase(dead);
  }
  std::vector<Tensor> out;
  for (const auto& o : g.outputs) out.push_back(v.at(o));
  return Value(out);
}

Tensor Graph::forward(const Tensor& x) {
  SN_CHECK(impl_->inputs.size() == 1, ValueError, "Graph: takes ", impl_->inputs.size(),
           " inputs; call it with all of them (call/forward_multi)");
  return forward_multi(Value(x))[0];
}

std::string Graph::brief() const {
  return "Graph(" + std::to_string(impl_->nodes.size()) + " nodes)";
}

std::string Graph::extra_repr() const {
  std::map<std::string, int> count;
  for (const auto& n : impl_->nodes) ++count[n.op];
  std::ostringstream os;
  os << "nodes=" << impl_->nodes.size() << ", ops={";
  bool first = true;
  for (const auto& [op, c] : count) {
    os << (first ? "" : ", ") << op << ": " << c;
    first = false;
  }
  os << "}";
  return os.str();
}

std::string Graph::description() const { return impl_->desc.dump(); }

std::vector<std::string> Graph::ops() {
  std::vector<std::string> v;
  for (const auto& [k, f] : detail::kernels()) v.push_back(k);
  return v;
}

}  // namespace sn::nn
