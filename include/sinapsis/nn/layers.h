// Basic layers: Linear, Identity, Flatten, Unflatten, Dropout, Embedding, LayerNorm. Each checks
// its input at the boundary and names itself in the error ("Linear(400 → 120) 'fc1': ...").
// Activations are in activation.h, containers in container.h; conv/pool layers live in their
// own headers.
#pragma once
#include <cstdint>
#include <vector>

#include "sinapsis/nn/module.h"

namespace sn::nn {

struct LinearOptions {
  bool bias = true;
};

// y = x·Wᵀ + b. x [*, in], W [out, in], b [out]. One GEMM with the bias fused (sn::linear).
// Init as PyTorch: W ~ kaiming_uniform(a = √5) = U(±1/√in), b ~ U(±1/√in).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, LinearOptions opts = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  std::string brief() const override;
  void reset_parameters();  // re-draws W and b from the global generator

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  const Tensor& weight() const { return weight_; }  // [out, in]
  const Tensor& bias() const { return bias_; }      // [out], undefined without bias

 private:
  [[noreturn]] void bad_input(const Tensor& x) const;
  int64_t in_, out_;
  Tensor weight_, bias_;
};

// Returns its input unchanged (a placeholder, e.g. a Residual shortcut).
class Identity : public Module {
 public:
  Identity() = default;
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

// Flattens dims [start_dim, end_dim] into one: [N, C, H, W] -> [N, C·H·W] by default.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  int64_t start_dim() const { return start_dim_; }
  int64_t end_dim() const { return end_dim_; }

 private:
  int64_t start_dim_, end_dim_;
};

// The inverse of Flatten: splits dim `dim` into `sizes` (one of them may be -1, inferred), as
// PyTorch's nn.Unflatten: [N, 64] with dim 1, sizes {4, 4, 4} -> [N, 4, 4, 4].
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, std::vector<int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Unflatten"; }
  std::string extra_repr() const override;

 private:
  int64_t dim_;
  std::vector<int64_t> sizes_;
};

// Inverted dropout: in training, zeroes each element with probability p and scales the rest
// by 1/(1-p), so eval needs no rescaling; in eval it returns the input. Draws from the global
// generator (sn::manual_seed makes it reproducible).
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p() const { return p_; }

 private:
  double p_;
};

// A lookup table: int64 indices of any shape -> their rows of W [num_embeddings, dim], output
// [*indices.shape, dim]. W ~ N(0, 1) as PyTorch.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  std::string brief() const override;
  int64_t num_embeddings() const { return num_; }
  int64_t embedding_dim() const { return dim_; }
  const Tensor& weight() const { return weight_; }

 private:
  int64_t num_, dim_;
  Tensor weight_;
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight (ones) and bias (zeros) of that shape
  bool bias = true;  // false: the weight only, no bias (PyTorch 2.1's bias=False; GPT-2 style)
};

// Normalises over the trailing dims given by `normalized_shape`:
// y = (x - mean) / √(var + eps) · weight + bias, var the population variance.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(const Shape& normalized_shape, LayerNormOptions opts = {});
  explicit LayerNorm(int64_t features, LayerNormOptions opts = {})
      : LayerNorm(Shape{features}, opts) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  std::string brief() const override;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Shape& normalized_shape() const { return shape_; }
  const LayerNormOptions& options() const { return opts_; }

 private:
  Shape shape_;
  LayerNormOptions opts_;
  Tensor weight_, bias_;
};

}  // namespace sn::nn
