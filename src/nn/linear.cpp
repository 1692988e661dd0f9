// Linear: the fully connected layer. forward goes straight to the fused sn::linear op (one GEMM,
// bias fused, no copies); the module only adds the boundary check that names the layer.
#include <cmath>

#include "sinapsis/nn/init.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

Linear::Linear(int64_t in_features, int64_t out_features, LinearOptions opts)
    : in_(in_features), out_(out_features) {
  SN_CHECK(in_features > 0 && out_features > 0, ValueError, "Linear: sizes must be positive (got ",
           in_features, " → ", out_features, ")");
  weight_ = register_parameter("weight", empty(Shape{out_features, in_features}));
  if (opts.bias) bias_ = register_parameter("bias", empty(Shape{out_features}));
  reset_parameters();
}

void Linear::reset_parameters() {
  // kaiming_uniform(a=√5) gives bound gain·√(3/fan_in) with gain √(2/6): exactly 1/√fan_in
  init::kaiming_uniform_(weight_, {.a = std::sqrt(5.0)});
  if (bias_.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
    init::uniform_(bias_, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() == 0 || x.shape().back() != in_) [[unlikely]]
    bad_input(x);
  if (x.dtype() != weight_.dtype()) [[unlikely]]
    SN_THROW(DTypeError, label(), ": expected a ", weight_.dtype(), " input, got ", x.dtype(),
             "; hint: convert the input with x.to(sn::",
             weight_.dtype() == kFloat64 ? "kFloat64" : "kFloat32", ")");
  return linear(x, weight_, bias_);
}

void Linear::bad_input(const Tensor& x) const {
  std::string hint;
  if (x.dim() > 2 && x.numel() / x.shape()[0] == in_)
    hint = "; hint: did you forget nn::Flatten() before this layer?";
  else if (x.dim() == 2 && x.shape()[0] == in_)
    hint = "; hint: the input looks transposed (rows must be samples)";
  SN_THROW(ShapeError, label(), ": expected input [*, ", in_, "], got ", x.shape(), hint);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=" + (bias_.defined() ? "True" : "False");
}

std::string Linear::brief() const {
  return "Linear(" + std::to_string(in_) + " → " + std::to_string(out_) + ")";
}

}  // namespace sn::nn
