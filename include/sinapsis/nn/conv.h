// Convolutional layers as modules over the ops of sinapsis/ops/conv.h: Conv1d, Conv2d,
// ConvTranspose2d, Upsample, the pooling layers, BatchNorm1d/2d, GroupNorm, and two blocks:
// ResNet's basic block and an inception block. Init follows PyTorch. The math is the ops'; this
// file adds parameters, running statistics, train/eval behaviour and errors that name the layer.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "sinapsis/nn/container.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/ops/conv.h"
#include "sinapsis/ops/upsample.h"

namespace sn::nn {

struct ConvLayerOptions {
  IntArgs stride = 1;
  Padding padding = 0;  // numbers, or "same" / "valid"
  IntArgs dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

// x [N, C_in, L] or [N, C_in, H, W] -> [N, C_out, ...]. W [C_out, C_in/groups, k...] and b [C_out]
// ~ U(±1/√fan_in), fan_in = C_in/groups·Πk (PyTorch's default).
class ConvNd : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::string brief() const override;
  void reset_parameters();
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  int spatial_dims() const { return dims_; }
  const std::vector<int64_t>& kernel_size() const { return kernel_; }
  const ConvLayerOptions& options() const { return opts_; }

 protected:
  ConvNd(int dims, int64_t in, int64_t out, IntArgs kernel, ConvLayerOptions opts);
  int dims_;
  int64_t in_, out_;
  std::vector<int64_t> kernel_;
  ConvLayerOptions opts_;
  Tensor weight_, bias_;
};
class Conv1d : public ConvNd {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, IntArgs kernel_size, ConvLayerOptions opts = {})
      : ConvNd(1, in_channels, out_channels, std::move(kernel_size), std::move(opts)) {}
  std::string type_name() const override { return "Conv1d"; }
};
class Conv2d : public ConvNd {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, IntArgs kernel_size, ConvLayerOptions opts = {})
      : ConvNd(2, in_channels, out_channels, std::move(kernel_size), std::move(opts)) {}
  std::string type_name() const override { return "Conv2d"; }
};

// ConvLayerOptions' fields in PyTorch's positional order, plus output_padding; padding is
// numbers only ("same" has no meaning for a transposed conv). Not derived from
// ConvLayerOptions: a designated initializer cannot name a base's field, and
// `{.stride = 2, .output_padding = 1}` is how these layers are built. What reads the shared
// fields is shared instead (conv_layers.cpp: checks, weight layout, init, errors).
struct ConvTransposeLayerOptions {
  IntArgs stride = 1;
  IntArgs padding = 0;
  IntArgs output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  IntArgs dilation = 1;
};
// x [N, C_in, H, W] -> [N, C_out, H_out, W_out] (ops' conv_transpose2d). As PyTorch 1.13:
// weight [C_in, C_out/groups, KH, KW] and bias [C_out] ~ U(±1/√fan_in) with
// fan_in = C_out/groups·KH·KW (PyTorch computes it from the weight's second dim).
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, IntArgs kernel_size,
                  ConvTransposeLayerOptions opts = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  std::string brief() const override;
  void reset_parameters();
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  const std::vector<int64_t>& kernel_size() const { return kernel_; }
  const ConvTransposeLayerOptions& options() const { return opts_; }

 private:
  int64_t in_, out_;
  std::vector<int64_t> kernel_;
  ConvTransposeLayerOptions opts_;
  Tensor weight_, bias_;
};

// Resizes [N, C, H, W] images (ops' upsample2d): give a size or a scale factor, as PyTorch's
// nn.Upsample (mode "nearest" or "bilinear"; align_corners for bilinear).
class Upsample : public Module {
 public:
  explicit Upsample(UpsampleOptions opts);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Upsample"; }
  std::string extra_repr() const override;
  const UpsampleOptions& options() const { return opts_; }

 private:
  UpsampleOptions opts_;
};

class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(IntArgs kernel_size, MaxPoolOptions opts = {})
      : k_(std::move(kernel_size)), opts_(std::move(opts)) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool1d"; }
  std::string extra_repr() const override;

 private:
  IntArgs k_;
  MaxPoolOptions opts_;
};
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(IntArgs kernel_size, MaxPoolOptions opts = {})
      : k_(std::move(kernel_size)), opts_(std::move(opts)) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  const IntArgs& kernel_size() const { return k_; }
  const MaxPoolOptions& options() const { return opts_; }

 private:
  IntArgs k_;
  MaxPoolOptions opts_;
};
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(IntArgs kernel_size, AvgPoolOptions opts = {})
      : k_(std::move(kernel_size)), opts_(std::move(opts)) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  const IntArgs& kernel_size() const { return k_; }
  const AvgPoolOptions& options() const { return opts_; }

 private:
  IntArgs k_;
  AvgPoolOptions opts_;
};
// Global pooling with output_size 1.
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(IntArgs output_size = 1) : out_(std::move(output_size)) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  const IntArgs& output_size() const { return out_; }

 private:
  IntArgs out_;
};

struct BatchNormLayerOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;               // learnable weight (ones) and bias (zeros)
  bool track_running_stats = true;  // running_mean / running_var / num_batches_tracked buffers
};
// Training: batch statistics, running ones updated; eval: running statistics. As PyTorch.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::string brief() const override;
  int64_t num_features() const { return c_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  const Tensor& weight() const { return weight_; }  // undefined without affine
  const Tensor& bias() const { return bias_; }
  const BatchNormLayerOptions& options() const { return opts_; }

  // Statistics over several processes (SyncBatchNorm; sn::distributed::convert_sync_batchnorm
  // sets it): a differentiable function that sums a [k, C] tensor of per-channel sums over the
  // processes. When set, training normalises with the mean and variance of the whole batch
  // across processes (the running statistics follow them, the same on every process); eval and
  // a null reducer are as before.
  using StatsReducer = std::function<Tensor(const Tensor&)>;
  void set_stats_reducer(StatsReducer reducer) { reducer_ = std::move(reducer); }
  bool synchronized() const { return static_cast<bool>(reducer_); }

 protected:
  BatchNorm(int64_t num_features, BatchNormLayerOptions opts, int min_dim, int max_dim);
  Tensor synchronized_forward(const Tensor& x);
  int64_t c_;
  BatchNormLayerOptions opts_;
  int min_dim_, max_dim_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_;
  StatsReducer reducer_;
};
class BatchNorm1d : public BatchNorm {  // [N, C] or [N, C, L]
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormLayerOptions opts = {})
      : BatchNorm(num_features, opts, 2, 3) {}
  std::string type_name() const override { return "BatchNorm1d"; }
};
class BatchNorm2d : public BatchNorm {  // [N, C, H, W]
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormLayerOptions opts = {})
      : BatchNorm(num_features, opts, 4, 4) {}
  std::string type_name() const override { return "BatchNorm2d"; }
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;
  int64_t num_groups() const { return groups_; }
  double eps() const { return eps_; }
  const Tensor& weight() const { return weight_; }  // undefined without affine
  const Tensor& bias() const { return bias_; }

 private:
  int64_t groups_, c_;
  double eps_;
  Tensor weight_, bias_;
};

// ResNet's basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both convs 3×3;
// the shortcut is a 1×1 conv + BN when the stride or channel count changes, else identity.
class ResNetBlock : public Module {
 public:
  ResNetBlock(int64_t in_channels, int64_t out_channels, int64_t stride = 1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResNetBlock"; }
  std::string extra_repr() const override;

 private:
  int64_t in_, out_, stride_;
  std::shared_ptr<Sequential> body_;
  std::shared_ptr<Module> shortcut_;
};

// GoogLeNet's inception block: four branches on the same input, concatenated on the channels:
// 1×1 conv; 1×1 then 3×3; 1×1 then 5×5; 3×3 max-pool then 1×1. ReLU after every conv.
struct InceptionOptions {
  int64_t c1 = 16;  // 1×1 branch
  int64_t c3_reduce = 16, c3 = 24;
  int64_t c5_reduce = 4, c5 = 8;
  int64_t pool_proj = 8;
};
class Inception : public Module {
 public:
  Inception(int64_t in_channels, InceptionOptions opts = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Inception"; }
  std::string extra_repr() const override;
  int64_t out_channels() const { return o_.c1 + o_.c3 + o_.c5 + o_.pool_proj; }

 private:
  int64_t in_;
  InceptionOptions o_;
  std::shared_ptr<Parallel> branches_;
};

}  // namespace sn::nn
