// Private to src/train: what fit() and fit_steps() do when a loss turns NaN or Inf with
// stop_on_nonfinite set: find the first op with a non-finite output and the parameters that
// are already non-finite, for a DivergenceError that says where the run went wrong.
#pragma once
#include <functional>
#include <string>

#include "sinapsis/nn/module.h"
#include "sinapsis/train/history.h"

namespace sn::train::detail {

// Thrown by the training closure instead of backpropagating a non-finite or blown-up loss;
// caught by the loop, which then diagnoses and stops. Not an sn::Error: it never leaves
// src/train. `blowup` is empty for a non-finite loss, else the rule it broke.
struct NonFiniteLoss {
  double loss;
  std::string blowup;
};

// The finite blow-up rule of FitOptions::blowup_factor. The reference is the larger of the
// first epoch's loss in the history a run resumes from and the first loss check() sees.
class BlowupGuard {
 public:
  BlowupGuard(double factor, const History& before);
  // Throws NonFiniteLoss for a non-finite loss or one above factor x reference; the first loss
  // it sees sets (or raises) the reference.
  void check(double loss);

 private:
  double factor_;
  double reference_;
  bool seen_first_ = false;
};

// Three significant digits ("1.05", "7.81e+28"): a blown-up loss and its reference in messages.
std::string short_number(double v);

// "the largest parameter magnitude: 3.1e+29 (fc.weight)": where a finite blow-up shows.
std::string largest_parameter(const nn::Module& model);

// "the first op with a non-finite output is LogBackward (nan, shape [2, 2])" and the
// parameters and inputs that are already non-finite. `forward` runs the model and the loss on
// the failing batch again; it runs here under anomaly mode with gradients recorded. Without
// `forward`: "non-finite parameters: fc.weight, ..." only.
std::string diagnose_nonfinite(nn::Module& model, const Tensor& inputs,
                               const std::function<void()>& forward);

// True when every parameter of the model is finite.
bool parameters_finite(const nn::Module& model);

}  // namespace sn::train::detail
