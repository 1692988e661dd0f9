// gradcheck: compares the analytic gradient (backward) with central finite differences in
// float64 and reports the worst element. Inputs are converted to float64 copies first.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  int input = -1;           // which input holds the worst element
  int64_t element = -1;     // flat index of the worst element
  double analytic = 0.0;
  double numeric = 0.0;
  double abs_error = 0.0;
  double rel_error = 0.0;   // |a - n| / max(|a|, |n|, tiny)
  std::string message;      // human-readable summary
};

// fn maps the inputs to one output tensor (any shape; a random projection makes it scalar).
// Inputs that do not require grad are held fixed.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, GradcheckOptions opts = {});

}  // namespace sn::autograd
