// Shared vocabulary of the classic learners: how updates are batched, how targets are encoded,
// and two regression metrics. Every learner keeps its weights as one float64 vector with the
// bias first (w0), the way the lectures write x̃ = [1, x1, ..., xd].
#pragma once
#include <cstdint>

#include "sinapsis/core/tensor.h"

namespace sn::classic {

// How many samples one weight update sees.
enum class UpdateMode {
  Online,     // one sample at a time (stochastic / Widrow-Hoff / Rosenblatt's original rule)
  MiniBatch,  // batch_size samples at a time
  Batch,      // all samples: one update per epoch
};

// Two-valued targets: binary {0, 1} or bipolar {-1, 1}.
enum class Encoding { Binary, Bipolar };

const char* to_string(UpdateMode mode);
const char* to_string(Encoding encoding);

// mean((prediction - target)²) over all elements; shapes must match.
double mean_squared_error(const Tensor& prediction, const Tensor& target);
// Coefficient of determination 1 - SS_res / SS_tot (1 = perfect, 0 = as good as the mean).
double r2_score(const Tensor& prediction, const Tensor& target);
// Share of equal elements (labels compared as integers).
double accuracy(const Tensor& prediction, const Tensor& target);

}  // namespace sn::classic
