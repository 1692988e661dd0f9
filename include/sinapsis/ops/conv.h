// Convolution, pooling and normalisation ops for convolutional networks: conv1d/conv2d (im2col +
// GEMM, optional fused bias + ReLU), conv_transpose2d, max/avg/adaptive pooling, batch/layer/group
// norm with fused backward kernels. Free functions on tensors; the nn layers (nn::Conv2d, ...) wrap
// these and own the parameters and running statistics.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn {

// A per-spatial-dimension argument (stride, dilation, kernel size, ...): one number for every
// spatial dim, or one number per dim. `.stride = 2` and `.stride = {2, 1}` both work.
class IntArgs {
 public:
  IntArgs() = default;
  IntArgs(int v) : v_{v} {}
  IntArgs(int64_t v) : v_{v} {}
  IntArgs(std::initializer_list<int64_t> v) : v_(v) {}
  IntArgs(std::vector<int64_t> v) : v_(std::move(v)) {}
  bool empty() const { return v_.empty(); }
  const std::vector<int64_t>& values() const { return v_; }
  // The value for each of `n` spatial dims. Throws ValueError naming `op` and `what` unless there
  // are 1 or n values.
  std::vector<int64_t> per_dim(int n, const char* op, const char* what) const;

 private:
  std::vector<int64_t> v_;
};

// Convolution padding: numbers (as IntArgs, zeros added on both sides), or "same" (output as large
// as the input; stride 1 only; an odd total goes to the end, as PyTorch) or "valid" (no padding).
class Padding {
 public:
  Padding() = default;
  Padding(int v) : values_(v) {}
  Padding(int64_t v) : values_(v) {}
  Padding(std::initializer_list<int64_t> v) : values_(v) {}
  Padding(std::vector<int64_t> v) : values_(std::move(v)) {}
  Padding(const char* mode);  // "same" or "valid"; anything else throws ValueError
  bool same() const { return same_; }
  const IntArgs& values() const { return values_; }

 private:
  IntArgs values_ = 0;
  bool same_ = false;
};

struct ConvOptions {
  IntArgs stride = 1;
  Padding padding = 0;
  IntArgs dilation = 1;
  int64_t groups = 1;
  // Fuses a ReLU into the output: y = max(conv(x) + b, 0) in the same pass as the bias.
  bool relu = false;
};

// x [N, C, L] (or unbatched [C, L]), weight [O, C/groups, K], bias [O] or undefined.
// Output [N, O, L_out], L_out = (L + pad_lo + pad_hi - dilation·(K - 1) - 1) / stride + 1.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              ConvOptions opts = {});
// x [N, C, H, W] (or unbatched [C, H, W]), weight [O, C/groups, KH, KW], bias [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              ConvOptions opts = {});
// conv2d with the ReLU fused (same as opts.relu = true).
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                   ConvOptions opts = {});

// ---- transposed convolution ----
struct ConvTransposeOptions {
  IntArgs stride = 1;
  IntArgs padding = 0;  // dilation·(k - 1) - padding zeros are added on both sides of the input
  IntArgs output_padding = 0;  // extra rows/columns at the end; less than stride or dilation
  IntArgs dilation = 1;
  int64_t groups = 1;
};
// The adjoint (backward-data) of conv2d: x [N, C_in, H, W] (or unbatched [C_in, H, W]), weight
// [C_in, C_out/groups, KH, KW] (PyTorch's layout: the conv2d weight of the reverse map), bias
// [C_out] or undefined. Output [N, C_out, H_out, W_out],
// H_out = (H - 1)·stride - 2·padding + dilation·(KH - 1) + output_padding + 1 (W alike).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        ConvTransposeOptions opts = {});

// ---- pooling: inputs [N, C, *spatial] or unbatched [C, *spatial] ----
struct MaxPoolOptions {
  IntArgs stride = {};  // empty: the kernel size
  IntArgs padding = 0;  // implicit -inf padding, at most half the kernel
  IntArgs dilation = 1;
  bool ceil_mode = false;  // round the output size up (a window must start inside the input)
};
struct AvgPoolOptions {
  IntArgs stride = {};  // empty: the kernel size
  IntArgs padding = 0;  // zero padding, at most half the kernel
  bool ceil_mode = false;
  bool count_include_pad = true;  // divide by the window size including the padding (PyTorch)
};

// Maximum over each window; the gradient goes to the (first) maximal element. NaN propagates.
Tensor max_pool1d(const Tensor& x, IntArgs kernel_size, MaxPoolOptions opts = {});
Tensor max_pool2d(const Tensor& x, IntArgs kernel_size, MaxPoolOptions opts = {});
Tensor avg_pool1d(const Tensor& x, IntArgs kernel_size, AvgPoolOptions opts = {});
Tensor avg_pool2d(const Tensor& x, IntArgs kernel_size, AvgPoolOptions opts = {});
// Averages over windows chosen so the output is output_size ([OH, OW], or one number for both):
// window i spans [floor(i·H/OH), ceil((i+1)·H/OH)). output_size 1 is global average pooling.
Tensor adaptive_avg_pool2d(const Tensor& x, IntArgs output_size);

// ---- normalisation ----
struct BatchNormOptions {
  bool training = false;  // true: normalise with batch statistics and update the running ones
  double momentum = 0.1;  // running = (1 - momentum)·running + momentum·batch
  double eps = 1e-5;
};
// x [N, C] or [N, C, *]; statistics per channel C over every other dim. Training normalises with
// the biased batch variance and updates running_mean/running_var in place (if defined) with the
// unbiased one, as PyTorch; eval mode normalises with running_mean/running_var. weight (gamma)
// and bias (beta) are [C] or undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  BatchNormOptions opts = {});
// Normalises over the trailing dims given by normalized_shape (x's last dims must equal it);
// weight and bias have shape normalized_shape or are undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// x [N, C, *]: statistics per sample over each group of C/num_groups channels; weight and bias
// are per channel [C] or undefined.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace sn
