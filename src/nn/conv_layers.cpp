// Conv, transposed conv, upsampling, pooling and normalisation layers and the ResNet / inception
// blocks (nn/conv.h): the parameters, buffers, boundary checks and PyTorch-style reprs around the
// ops in ops/conv.h.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/activation.h"
#include "sinapsis/nn/conv.h"
#include "sinapsis/nn/init.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace {
std::string tuple(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  if (v.size() == 1) os << ",";
  os << ")";
  return os.str();
}
std::string args(const IntArgs& a, int n) {
  std::vector<int64_t> v = a.values();
  if (v.size() == 1 && n > 1) v.assign(n, v[0]);
  return tuple(v);
}
std::string spatial(int dims) { return dims == 1 ? "L" : "H, W"; }
// kernel, stride and padding always; dilation and ceil_mode when not the defaults
std::string max_pool_repr(const IntArgs& k, const MaxPoolOptions& o, int n) {
  std::string s = "kernel_size=" + args(k, n) +
                  ", stride=" + args(o.stride.empty() ? k : o.stride, n) +
                  ", padding=" + args(o.padding, n);
  std::vector<int64_t> d = o.dilation.values();
  if (std::any_of(d.begin(), d.end(), [](int64_t v) { return v != 1; }))
    s += ", dilation=" + args(o.dilation, n);
  if (o.ceil_mode) s += ", ceil_mode=True";
  return s;
}

// What a convolution and a transposed one share: positive channel counts, groups that divide
// both, `dims` positive kernel sizes (returned), and the weight, [lead, other / groups, k...]
// (conv: [out, in/g]; transposed: [in, out/g], PyTorch's layouts).
std::vector<int64_t> conv_kernel(const char* nm, int dims, int64_t in, int64_t out, int64_t groups,
                                 const IntArgs& kernel) {
  SN_CHECK(in > 0 && out > 0, ValueError, nm, ": channel counts must be positive (got ", in, " → ",
           out, ")");
  SN_CHECK(groups > 0 && in % groups == 0 && out % groups == 0, ValueError, nm, ": groups ", groups,
           " must divide both in_channels ", in, " and out_channels ", out);
  std::vector<int64_t> k = kernel.per_dim(dims, nm, "kernel_size");
  for (int64_t v : k)
    SN_CHECK(v > 0, ValueError, nm, ": kernel size must be positive (got ", tuple(k), ")");
  return k;
}
Shape conv_weight_shape(int64_t lead, int64_t other, int64_t groups,
                        const std::vector<int64_t>& kernel) {
  Shape ws{lead, other / groups};
  for (int64_t k : kernel) ws.push_back(k);
  return ws;
}
// PyTorch's _ConvNd.reset_parameters: fan_in from the weight's dims 1.. for either layout
void reset_conv(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)});
  if (bias.defined()) {
    const double fan_in = static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first);
    const double bound = 1.0 / std::sqrt(fan_in);
    init::uniform_(bias, -bound, bound);
  }
}
void check_conv_input(const std::string& label, const Tensor& x, int dims, int64_t in) {
  if (x.dim() != dims + 2 || x.size(1) != in) {
    SN_THROW(ShapeError, label, ": expected input [N, ", in, ", ", spatial(dims), "], got ",
             x.shape(), x.dim() == dims + 1 ? "; hint: add a batch dim with unsqueeze(0)" : "");
  }
}
std::string conv_brief(const std::string& type, int64_t in, int64_t out,
                       const std::vector<int64_t>& kernel) {
  std::ostringstream os;
  os << type << "(" << in << " → " << out << ", ";
  for (size_t i = 0; i < kernel.size(); ++i) os << (i ? "×" : "") << kernel[i];
  os << ")";
  return os.str();
}
}  // namespace

// ============================================================== ConvNd
ConvNd::ConvNd(int dims, int64_t in, int64_t out, IntArgs kernel, ConvLayerOptions opts)
    : dims_(dims), in_(in), out_(out), opts_(std::move(opts)) {
  kernel_ = conv_kernel(dims == 1 ? "Conv1d" : "Conv2d", dims, in, out, opts_.groups, kernel);
  weight_ = register_parameter("weight", empty(conv_weight_shape(out, in, opts_.groups, kernel_)));
  if (opts_.bias) bias_ = register_parameter("bias", empty(Shape{out}));
  reset_parameters();
}
void ConvNd::reset_parameters() { reset_conv(weight_, bias_); }
Tensor ConvNd::forward(const Tensor& x) {
  check_conv_input(label(), x, dims_, in_);
  ConvOptions co{.stride = opts_.stride,
                 .padding = opts_.padding,
                 .dilation = opts_.dilation,
                 .groups = opts_.groups};
  try {
    return dims_ == 1 ? conv1d(x, weight_, bias_, co) : conv2d(x, weight_, bias_, co);
  } catch (const ShapeError& e) {
    SN_THROW(ShapeError, label(), ": ", e.what());
  }
}
std::string ConvNd::extra_repr() const {
  std::ostringstream os;
  os << in_ << ", " << out_ << ", kernel_size=" << tuple(kernel_)
     << ", stride=" << args(opts_.stride, dims_);
  if (opts_.padding.same())
    os << ", padding=same";
  else if (opts_.padding.values().values() != std::vector<int64_t>{0})
    os << ", padding=" << args(opts_.padding.values(), dims_);
  if (opts_.dilation.values() != std::vector<int64_t>{1})
    os << ", dilation=" << args(opts_.dilation, dims_);
  if (opts_.groups != 1) os << ", groups=" << opts_.groups;
  if (!opts_.bias) os << ", bias=False";
  return os.str();
}
std::string ConvNd::brief() const { return conv_brief(type_name(), in_, out_, kernel_); }

// ============================================================== ConvTranspose2d
ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, IntArgs kernel,
                                 ConvTransposeLayerOptions opts)
    : in_(in), out_(out), opts_(std::move(opts)) {
  const char* nm = "ConvTranspose2d";
  kernel_ = conv_kernel(nm, 2, in, out, opts_.groups, kernel);
  const std::vector<int64_t> s = opts_.stride.per_dim(2, nm, "stride"),
                             d = opts_.dilation.per_dim(2, nm, "dilation"),
                             op = opts_.output_padding.per_dim(2, nm, "output_padding");
  for (int i = 0; i < 2; ++i)
    SN_CHECK(op[i] >= 0 && (op[i] < s[i] || op[i] < d[i]), ValueError, nm,
             ": output_padding must be smaller than stride or dilation (got output_padding ",
             tuple(op), ", stride ", tuple(s), ", dilation ", tuple(d), ")");
  weight_ = register_parameter("weight", empty(conv_weight_shape(in, out, opts_.groups, kernel_)));
  if (opts_.bias) bias_ = register_parameter("bias", empty(Shape{out}));
  reset_parameters();
}
void ConvTranspose2d::reset_parameters() { reset_conv(weight_, bias_); }
Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_conv_input(label(), x, 2, in_);
  ConvTransposeOptions co{.stride = opts_.stride,
                          .padding = opts_.padding,
                          .output_padding = opts_.output_padding,
                          .dilation = opts_.dilation,
                          .groups = opts_.groups};
  try {
    return conv_transpose2d(x, weight_, bias_, co);
  } catch (const ShapeError& e) {
    SN_THROW(ShapeError, label(), ": ", e.what());
  }
}
std::string ConvTranspose2d::extra_repr() const {
  // PyTorch's order: padding, dilation, output_padding, groups, bias when not the defaults
  std::ostringstream os;
  os << in_ << ", " << out_ << ", kernel_size=" << tuple(kernel_)
     << ", stride=" << args(opts_.stride, 2);
  auto nondefault = [](const IntArgs& a, int64_t v) {
    for (int64_t x : a.values())
      if (x != v) return true;
    return false;
  };
  if (nondefault(opts_.padding, 0)) os << ", padding=" << args(opts_.padding, 2);
  if (nondefault(opts_.dilation, 1)) os << ", dilation=" << args(opts_.dilation, 2);
  if (nondefault(opts_.output_padding, 0))
    os << ", output_padding=" << args(opts_.output_padding, 2);
  if (opts_.groups != 1) os << ", groups=" << opts_.groups;
  if (!opts_.bias) os << ", bias=False";
  return os.str();
}
std::string ConvTranspose2d::brief() const { return conv_brief(type_name(), in_, out_, kernel_); }

// ============================================================== Upsample
Upsample::Upsample(UpsampleOptions opts) : opts_(std::move(opts)) {
  // the op's option checks (ValueError), run once on a tiny input so a bad layer fails when it
  // is built; an output too small for this input (ShapeError) may be fine for real ones
  NoGradGuard ng;
  try {
    upsample2d(zeros({1, 1, 2, 2}), opts_);
  } catch (const ShapeError&) {
  }
}
Tensor Upsample::forward(const Tensor& x) {
  try {
    return upsample2d(x, opts_);
  } catch (const ShapeError& e) {
    SN_THROW(ShapeError, label(), ": ", e.what());
  }
}
std::string Upsample::extra_repr() const {
  // PyTorch 1.13: scale_factor=2.0 (or size=(4, 5)), mode=nearest
  std::ostringstream os;
  auto py_float = [](double v) {
    std::ostringstream f;
    f << v;
    std::string s = f.str();
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  };
  if (!opts_.scale_factor.empty()) {
    os << "scale_factor=";
    if (opts_.scale_factor.size() == 1) {
      os << py_float(opts_.scale_factor[0]);
    } else {
      os << "(" << py_float(opts_.scale_factor[0]) << ", " << py_float(opts_.scale_factor[1])
         << ")";
    }
  } else {
    os << "size=" << (opts_.size.size() == 1 ? std::to_string(opts_.size[0]) : tuple(opts_.size));
  }
  os << ", mode=" << opts_.mode;
  return os.str();
}

// ============================================================== pooling
static void check_spatial(const Module& m, const Tensor& x, int dims) {
  SN_CHECK(x.dim() == dims + 2, ShapeError, m.label(), ": expected input [N, C, ", spatial(dims),
           "], got ", x.shape());
}
Tensor MaxPool1d::forward(const Tensor& x) {
  check_spatial(*this, x, 1);
  return max_pool1d(x, k_, opts_);
}
std::string MaxPool1d::extra_repr() const { return max_pool_repr(k_, opts_, 1); }
Tensor MaxPool2d::forward(const Tensor& x) {
  check_spatial(*this, x, 2);
  return max_pool2d(x, k_, opts_);
}
std::string MaxPool2d::extra_repr() const { return max_pool_repr(k_, opts_, 2); }
Tensor AvgPool2d::forward(const Tensor& x) {
  check_spatial(*this, x, 2);
  return avg_pool2d(x, k_, opts_);
}
std::string AvgPool2d::extra_repr() const {
  std::string s = "kernel_size=" + args(k_, 2) +
                  ", stride=" + args(opts_.stride.empty() ? k_ : opts_.stride, 2) +
                  ", padding=" + args(opts_.padding, 2);
  if (opts_.ceil_mode) s += ", ceil_mode=True";
  if (!opts_.count_include_pad) s += ", count_include_pad=False";
  return s;
}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  check_spatial(*this, x, 2);
  return adaptive_avg_pool2d(x, out_);
}
std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + args(out_, 2); }

// ============================================================== batch norm
BatchNorm::BatchNorm(int64_t c, BatchNormLayerOptions opts, int min_dim, int max_dim)
    : c_(c), opts_(opts), min_dim_(min_dim), max_dim_(max_dim) {
  SN_CHECK(c > 0, ValueError, "BatchNorm: num_features must be positive (got ", c, ")");
  SN_CHECK(opts.eps > 0 && opts.momentum >= 0 && opts.momentum <= 1, ValueError,
           "BatchNorm: need eps > 0 and momentum in [0, 1] (got ", opts.eps, ", ", opts.momentum,
           ")");
  if (opts.affine) {
    weight_ = register_parameter("weight", ones(Shape{c}));
    bias_ = register_parameter("bias", zeros(Shape{c}));
  }
  if (opts.track_running_stats) {
    running_mean_ = register_buffer("running_mean", zeros(Shape{c}));
    running_var_ = register_buffer("running_var", ones(Shape{c}));
    num_batches_ = register_buffer("num_batches_tracked", zeros(Shape{}, {.dtype = kInt64}));
  }
}
Tensor BatchNorm::forward(const Tensor& x) {
  SN_CHECK(x.dim() >= min_dim_ && x.dim() <= max_dim_ && x.size(1) == c_, ShapeError, label(),
           ": expected input [N, ", c_,
           max_dim_ == 4 ? ", H, W]" : "] or [N, " + std::to_string(c_) + ", L]", ", got ",
           x.shape());
  const bool use_batch = is_training() || !opts_.track_running_stats;
  if (is_training() && opts_.track_running_stats) {
    NoGradGuard ng;
    num_batches_.add_(1.0);
  }
  if (reducer_ && use_batch) return synchronized_forward(x);
  // running_* are undefined without track_running_stats: batch statistics in both modes
  return batch_norm(x, running_mean_, running_var_, weight_, bias_,
                    {.training = use_batch, .momentum = opts_.momentum, .eps = opts_.eps});
}
// Training with statistics over every process, composed from differentiable ops so that
// backward follows through the reducer (whose backward sums the gradients across processes):
//   M = Σ_processes N·S,  mean = Σ x / M,  var = Σ (x - mean)² / M  (two reductions: no
//   cancellation in float32),  y = (x - mean)·rsqrt(var + eps)·w + b.
Tensor BatchNorm::synchronized_forward(const Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  std::vector<int64_t> bdims(static_cast<size_t>(x.dim()), 1);
  bdims[1] = c_;
  const Shape bshape(bdims);
  const double local = static_cast<double>(x.numel() / c_);
  // [2, C]: the sums and the element counts (constants) of this process
  Tensor first = reducer_(stack({sum(x, dims), full(Shape{c_}, local, {.dtype = x.dtype()})}));
  SN_CHECK(first.shape() == (Shape{2, c_}), ShapeError, label(),
           ": the statistics reducer must keep the shape [2, ", c_, "], got ", first.shape());
  const Tensor count = first.select(0, 1).detach();
  const Tensor mean = first.select(0, 0) / count;
  const Tensor centered = x - mean.reshape(bshape);
  const Tensor var =
      reducer_(sum(centered * centered, dims).reshape(Shape{1, c_})).select(0, 0) / count;
  Tensor y = centered * rsqrt(var + opts_.eps).reshape(bshape);
  if (weight_.defined()) y = y * weight_.reshape(bshape) + bias_.reshape(bshape);
  if (opts_.track_running_stats) {
    NoGradGuard ng;
    const double m = count.select(0, 0).item();
    const double mom = opts_.momentum;
    running_mean_.mul_(1 - mom).add_(mean.detach().to(running_mean_.dtype()) * mom);
    const double unbias = m > 1 ? m / (m - 1) : 1.0;
    running_var_.mul_(1 - mom).add_(var.detach().to(running_var_.dtype()) * (mom * unbias));
  }
  return y;
}

std::string BatchNorm::extra_repr() const {
  std::ostringstream os;
  os << c_ << ", eps=" << opts_.eps << ", momentum=" << opts_.momentum
     << ", affine=" << (opts_.affine ? "True" : "False")
     << ", track_running_stats=" << (opts_.track_running_stats ? "True" : "False");
  return os.str();
}
std::string BatchNorm::brief() const { return type_name() + "(" + std::to_string(c_) + ")"; }

GroupNorm::GroupNorm(int64_t groups, int64_t c, double eps, bool affine)
    : groups_(groups), c_(c), eps_(eps) {
  SN_CHECK(groups > 0 && c > 0 && c % groups == 0, ValueError, "GroupNorm: num_groups ", groups,
           " must divide num_channels ", c);
  if (affine) {
    weight_ = register_parameter("weight", ones(Shape{c}));
    bias_ = register_parameter("bias", zeros(Shape{c}));
  }
}
Tensor GroupNorm::forward(const Tensor& x) {
  SN_CHECK(x.dim() >= 2 && x.size(1) == c_, ShapeError, label(), ": expected input [N, ", c_,
           ", *], got ", x.shape());
  return group_norm(x, groups_, weight_, bias_, eps_);
}
std::string GroupNorm::extra_repr() const {
  std::ostringstream os;
  os << groups_ << ", " << c_ << ", eps=" << eps_
     << ", affine=" << (weight_.defined() ? "True" : "False");
  return os.str();
}

// ============================================================== blocks
ResNetBlock::ResNetBlock(int64_t in, int64_t out, int64_t stride)
    : in_(in), out_(out), stride_(stride) {
  SN_CHECK(stride >= 1, ValueError, "ResNetBlock: stride must be >= 1 (got ", stride, ")");
  body_ = register_module(
      "body",
      Sequential({{"conv1", Conv2d(in, out, 3, {.stride = stride, .padding = 1, .bias = false})},
                  {"bn1", BatchNorm2d(out)},
                  {"relu", ReLU()},
                  {"conv2", Conv2d(out, out, 3, {.padding = 1, .bias = false})},
                  {"bn2", BatchNorm2d(out)}}));
  if (stride != 1 || in != out)
    shortcut_ = register_module(
        "shortcut", Sequential({{"conv", Conv2d(in, out, 1, {.stride = stride, .bias = false})},
                                {"bn", BatchNorm2d(out)}}));
}
Tensor ResNetBlock::forward(const Tensor& x) {
  Tensor y = (*body_)(x);
  return relu(add(y, shortcut_ ? (*shortcut_)(x) : x));
}
std::string ResNetBlock::extra_repr() const {
  return std::to_string(in_) + ", " + std::to_string(out_) + ", stride=" + std::to_string(stride_);
}

Inception::Inception(int64_t in, InceptionOptions o) : in_(in), o_(o) {
  auto conv_relu = [](int64_t a, int64_t b, int64_t k) {
    return Sequential({ModulePtr(Conv2d(a, b, k, {.padding = k / 2})), ModulePtr(ReLU())});
  };
  branches_ = register_module(
      "branches",
      Parallel({ModulePtr(conv_relu(in, o.c1, 1)),
                ModulePtr(Sequential({ModulePtr(conv_relu(in, o.c3_reduce, 1)),
                                      ModulePtr(conv_relu(o.c3_reduce, o.c3, 3))})),
                ModulePtr(Sequential({ModulePtr(conv_relu(in, o.c5_reduce, 1)),
                                      ModulePtr(conv_relu(o.c5_reduce, o.c5, 5))})),
                ModulePtr(Sequential({ModulePtr(MaxPool2d(3, {.stride = 1, .padding = 1})),
                                      ModulePtr(conv_relu(in, o.pool_proj, 1))}))},
               1));
}
Tensor Inception::forward(const Tensor& x) {
  SN_CHECK(x.dim() == 4 && x.size(1) == in_, ShapeError, label(), ": expected input [N, ", in_,
           ", H, W], got ", x.shape());
  return (*branches_)(x);
}
std::string Inception::extra_repr() const {
  std::ostringstream os;
  os << in_ << " → " << out_channels() << " (1×1: " << o_.c1 << ", 3×3: " << o_.c3
     << ", 5×5: " << o_.c5 << ", pool: " << o_.pool_proj << ")";
  return os.str();
}

}  // namespace sn::nn
