// Rosenblatt's perceptron rule (see sinapsis/classic/perceptron.h). The online rule is a plain
// loop over samples; the batch rule sums the same corrections over the epoch with one matmul.
#include "sinapsis/classic/perceptron.h"

#include <cmath>

#include "classic/data.h"
#include "sinapsis/ops/ops.h"

namespace sn::classic {

namespace {
void check_binary(const Tensor& t, const char* op) {
  const double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    SN_CHECK(p[i] == 0.0 || p[i] == 1.0, ValueError, op,
             ": targets must be 0 or 1 for a step unit (got ", p[i], " at index ", i,
             "); hint: map bipolar targets with (t + 1) / 2");
}
}  // namespace

Perceptron::Perceptron(int64_t num_features) {
  SN_CHECK(num_features >= 1, ValueError, "Perceptron: needs at least one feature (got ",
           num_features, ")");
  w_ = zeros({num_features + 1}, {.dtype = kFloat64});
}

Perceptron::Perceptron(const Tensor& initial_weights) {
  SN_CHECK(initial_weights.defined() && initial_weights.dim() == 1 && initial_weights.numel() >= 2,
           ShapeError, "Perceptron: initial weights must be 1-D [features + 1] with w0 first (got ",
           initial_weights.defined() ? initial_weights.shape() : Shape{}, ")");
  w_ = initial_weights.detach().to(kFloat64).contiguous().clone();
  detail::check_finite(w_, "Perceptron", "the initial weights");
}

Tensor Perceptron::net_input(const Tensor& x) const {
  Tensor xb = detail::with_bias(detail::features(x, "Perceptron::net_input", num_features()));
  return matmul(xb, w_);
}

Tensor Perceptron::predict(const Tensor& x) const { return step(net_input(x)).to(kFloat64); }

PerceptronReport Perceptron::fit(const Tensor& x, const Tensor& t,
                                 const PerceptronOptions& options) {
  const char* op = "Perceptron::fit";
  detail::check_options(op, options.lr, options.max_epochs);
  SN_CHECK(options.mode != UpdateMode::MiniBatch, ValueError, op,
           ": the perceptron rule runs online or in batch (got mini-batch)");
  Tensor xb = detail::with_bias(detail::features(x, op, num_features()));
  Tensor tt = detail::targets(t, xb.size(0), op);
  check_binary(tt, op);
  const int64_t n = xb.size(0), d1 = xb.size(1);
  const double* px = xb.data_ptr<double>();
  const double* pt = tt.data_ptr<double>();
  double* w = w_.data_ptr<double>();

  PerceptronReport report;
  for (int64_t epoch = 1; epoch <= options.max_epochs; ++epoch) {
    int64_t mistakes = 0;
    if (options.mode == UpdateMode::Online) {
      // o = step(w·x̃); on a mistake w ← w + η·(t − o)·x̃, before the next sample is seen
      for (int64_t i : detail::sample_order(n, options.shuffle)) {
        const double* xi = px + i * d1;
        double net = 0.0;
        for (int64_t j = 0; j < d1; ++j) net += w[j] * xi[j];
        const double err = pt[i] - (net > 0.0 ? 1.0 : 0.0);
        if (err == 0.0) continue;
        ++mistakes;
        for (int64_t j = 0; j < d1; ++j) w[j] += options.lr * err * xi[j];
      }
    } else {
      // every sample is judged by the epoch's starting weights; w ← w + η·Σ (t − o)·x̃
      Tensor err = tt - step(matmul(xb, w_)).to(kFloat64);
      const double* pe = err.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) mistakes += pe[i] != 0.0;
      if (mistakes) w_.add_(matmul(err, xb), options.lr);
    }
    report.errors.push_back(mistakes);
    report.weights.push_back(w_.clone());
    report.epochs = epoch;
    if (mistakes == 0) {
      report.converged = true;
      break;
    }
  }
  return report;
}

}  // namespace sn::classic
