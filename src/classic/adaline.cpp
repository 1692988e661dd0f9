// ADALINE with the Widrow–Hoff / LMS rule (see sinapsis/classic/adaline.h). Online updates are
// a plain loop; (mini-)batches average the same correction with a matmul.
#include "sinapsis/classic/adaline.h"

#include <algorithm>
#include <cmath>

#include "classic/data.h"
#include "sinapsis/ops/ops.h"

namespace sn::classic {

Adaline::Adaline(int64_t num_features) {
  SN_CHECK(num_features >= 1, ValueError, "Adaline: needs at least one feature (got ", num_features,
           ")");
  w_ = zeros({num_features + 1}, {.dtype = kFloat64});
}

Adaline::Adaline(const Tensor& initial_weights) {
  SN_CHECK(initial_weights.defined() && initial_weights.dim() == 1 && initial_weights.numel() >= 2,
           ShapeError, "Adaline: initial weights must be 1-D [features + 1] with w0 first (got ",
           initial_weights.defined() ? initial_weights.shape() : Shape{}, ")");
  w_ = initial_weights.detach().to(kFloat64).contiguous().clone();
  detail::check_finite(w_, "Adaline", "the initial weights");
}

Tensor Adaline::predict(const Tensor& x) const {
  Tensor xb = detail::with_bias(detail::features(x, "Adaline::predict", w_.numel() - 1));
  return matmul(xb, w_);
}

Tensor Adaline::classify(const Tensor& x, Encoding encoding) const {
  Tensor fires = step(predict(x)).to(kFloat64);
  return encoding == Encoding::Binary ? fires : fires * 2.0 - 1.0;
}

AdalineReport Adaline::fit(const Tensor& x, const Tensor& t, const AdalineOptions& options) {
  const char* op = "Adaline::fit";
  detail::check_options(op, options.lr, options.max_epochs);
  SN_CHECK(options.mode != UpdateMode::MiniBatch || options.batch_size >= 1, ValueError, op,
           ": batch_size must be at least 1 (got ", options.batch_size, ")");
  Tensor xb = detail::with_bias(detail::features(x, op, w_.numel() - 1));
  Tensor tt = detail::targets(t, xb.size(0), op);
  const int64_t n = xb.size(0), d1 = xb.size(1);
  const double* px = xb.data_ptr<double>();
  const double* pt = tt.data_ptr<double>();
  double* w = w_.data_ptr<double>();

  AdalineReport report;
  const double start_mse = mean_squared_error(matmul(xb, w_), tt);
  for (int64_t epoch = 1; epoch <= options.max_epochs; ++epoch) {
    if (options.mode == UpdateMode::Online) {
      // E = ½(t − y)², ∂E/∂w = −(t − y)·x̃, so w ← w + η·(t − y)·x̃ after each sample
      for (int64_t i : detail::sample_order(n, options.shuffle)) {
        const double* xi = px + i * d1;
        double y = 0.0;
        for (int64_t j = 0; j < d1; ++j) y += w[j] * xi[j];
        const double err = pt[i] - y;
        for (int64_t j = 0; j < d1; ++j) w[j] += options.lr * err * xi[j];
      }
    } else {
      // the same correction averaged over a batch B: w ← w + η/|B|·x̃_Bᵀ(t_B − x̃_B·w)
      const int64_t bs = options.mode == UpdateMode::Batch ? n : std::min(options.batch_size, n);
      std::vector<int64_t> order =
          detail::sample_order(n, options.shuffle && options.mode == UpdateMode::MiniBatch);
      for (int64_t b = 0; b < n; b += bs) {
        const int64_t e = std::min(n, b + bs);
        Tensor xs = detail::gather_rows(xb, order, b, e), ts = detail::gather_rows(tt, order, b, e);
        Tensor err = ts - matmul(xs, w_);
        w_.add_(matmul(err, xs), options.lr / static_cast<double>(e - b));
      }
    }
    const double mse = mean_squared_error(matmul(xb, w_), tt);
    report.epochs = epoch;
    if (detail::diverging(mse, start_mse)) {
      report.diverged = true;
      report.mse.push_back(mse);
      break;
    }
    const bool settled =
        !report.mse.empty() && std::abs(report.mse.back() - mse) < options.tolerance;
    report.mse.push_back(mse);
    if (settled) {
      report.converged = true;
      break;
    }
  }
  return report;
}

}  // namespace sn::classic
