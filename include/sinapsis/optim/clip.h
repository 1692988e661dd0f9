// Gradient clipping over a set of parameters: rescale so the total norm is at most max_norm,
// or clamp each element. PyTorch 1.13 semantics. Parameters without a gradient are skipped.
#pragma once
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::optim {

// Scales every gradient by min(1, max_norm / (total + 1e-6)), where total is the norm of all
// gradients taken together (norm_type p > 0, or INFINITY for the max). Returns total, before
// clipping. With error_if_nonfinite, a NaN/inf total throws ValueError and changes nothing.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace sn::optim
