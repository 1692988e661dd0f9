// Private to src/train: what fit() and fit_steps() do when a loss turns NaN or Inf with
// stop_on_nonfinite set: find the first op with a non-finite output and the parameters that
// are already non-finite, for a DivergenceError that says where the run went wrong.
#pragma once
#include <functional>
#include <string>

#include "sinapsis/nn/module.h"

namespace sn::train::detail {

// Thrown by the training closure instead of backpropagating a non-finite loss; caught by the
// loop, which then diagnoses and stops. Not an sn::Error: it never leaves src/train.
struct NonFiniteLoss {
  double loss;
};

// "the first op with a non-finite output is LogBackward (nan, shape [2, 2])" and the
// parameters and inputs that are already non-finite. `forward` runs the model and the loss on
// the failing batch again; it runs here under anomaly mode with gradients recorded. Without
// `forward`: "non-finite parameters: fc.weight, ..." only.
std::string diagnose_nonfinite(nn::Module& model, const Tensor& inputs,
                               const std::function<void()>& forward);

// True when every parameter of the model is finite.
bool parameters_finite(const nn::Module& model);

}  // namespace sn::train::detail
