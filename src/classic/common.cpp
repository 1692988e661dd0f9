// Input checks and small metrics shared by the classic learners (see classic/data.h and
// sinapsis/classic/common.h). No learning rule lives here.
#include <algorithm>
#include <cmath>

#include "classic/data.h"
#include "sinapsis/classic/common.h"
#include "sinapsis/ops/ops.h"

namespace sn::classic {

const char* to_string(UpdateMode mode) {
  switch (mode) {
    case UpdateMode::Online:
      return "online";
    case UpdateMode::MiniBatch:
      return "mini-batch";
    case UpdateMode::Batch:
      return "batch";
  }
  return "?";
}
const char* to_string(Encoding encoding) {
  return encoding == Encoding::Binary ? "binary {0, 1}" : "bipolar {-1, 1}";
}

namespace {
void check_pair(const Tensor& p, const Tensor& t, const char* op) {
  SN_CHECK(p.defined() && t.defined(), ValueError, op, ": a tensor is undefined");
  SN_CHECK(p.numel() == t.numel() && p.numel() > 0, ShapeError, op,
           ": prediction and target must have the same number of elements (got ", p.shape(),
           " and ", t.shape(), ")");
}
}  // namespace

double mean_squared_error(const Tensor& prediction, const Tensor& target) {
  check_pair(prediction, target, "mean_squared_error");
  std::vector<double> p = prediction.to_vector(), t = target.to_vector();
  double s = 0.0;
  for (size_t i = 0; i < p.size(); ++i) s += (p[i] - t[i]) * (p[i] - t[i]);
  return s / static_cast<double>(p.size());
}

double r2_score(const Tensor& prediction, const Tensor& target) {
  check_pair(prediction, target, "r2_score");
  std::vector<double> p = prediction.to_vector(), t = target.to_vector();
  double mean = 0.0;
  for (double v : t) mean += v;
  mean /= static_cast<double>(t.size());
  double res = 0.0, tot = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    res += (p[i] - t[i]) * (p[i] - t[i]);
    tot += (t[i] - mean) * (t[i] - mean);
  }
  SN_CHECK(tot > 0.0, ValueError, "r2_score: the target is constant, so R² is undefined");
  return 1.0 - res / tot;
}

double accuracy(const Tensor& prediction, const Tensor& target) {
  check_pair(prediction, target, "accuracy");
  std::vector<double> p = prediction.to_vector(), t = target.to_vector();
  int64_t same = 0;
  for (size_t i = 0; i < p.size(); ++i) same += std::llround(p[i]) == std::llround(t[i]);
  return static_cast<double>(same) / static_cast<double>(p.size());
}

namespace detail {

void check_finite(const Tensor& t, const char* op, const char* what) {
  const double* p = t.data_ptr<double>();
  const int64_t cols = t.dim() == 2 ? t.size(1) : 1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (std::isfinite(p[i])) continue;
    if (t.dim() == 2)
      SN_THROW(ValueError, op, ": ", what, " contains a non-finite value (", p[i], " at row ",
               i / cols, ", column ", i % cols, ")");
    SN_THROW(ValueError, op, ": ", what, " contains a non-finite value (", p[i], " at index ", i,
             ")");
  }
}

Tensor features(const Tensor& x, const char* op, int64_t expect_d) {
  SN_CHECK(x.defined(), ValueError, op, ": x is undefined");
  SN_CHECK(x.dim() == 2, ShapeError, op, ": x must be 2-D [samples, features] (got ", x.shape(),
           ")", x.dim() == 1 ? "; hint: one feature per sample is x.unsqueeze(1)" : "");
  SN_CHECK(x.size(0) > 0 && x.size(1) > 0, ShapeError, op, ": x has no data (shape ", x.shape(),
           ")");
  SN_CHECK(expect_d < 0 || x.size(1) == expect_d, ShapeError, op, ": x has ", x.size(1),
           " features but the model has ", expect_d, " (shape ", x.shape(), ")");
  SN_CHECK(x.dtype() != kBool, DTypeError, op, ": x must be numeric (got bool)");
  Tensor c = x.detach().to(kFloat64).contiguous();
  if (c.is_same(x) || c.shares_storage(x)) c = c.clone();  // we may write into it later
  check_finite(c, op, "x");
  return c;
}

Tensor targets(const Tensor& t, int64_t n, const char* op) {
  SN_CHECK(t.defined(), ValueError, op, ": targets are undefined");
  const bool column = t.dim() == 2 && t.size(1) == 1;
  SN_CHECK(t.dim() == 1 || column, ShapeError, op, ": targets must be 1-D [samples] (got ",
           t.shape(), ")");
  SN_CHECK(t.size(0) == n, ShapeError, op, ": x has ", n, " samples but the targets have ",
           t.size(0), " (shape ", t.shape(), ")");
  Tensor c = t.detach().to(kFloat64).contiguous().reshape({n});
  if (c.shares_storage(t)) c = c.clone();
  check_finite(c, op, "the targets");
  return c;
}

Tensor with_bias(const Tensor& x) {
  return cat({ones({x.size(0), 1}, {.dtype = kFloat64}), x}, 1).contiguous();
}

void check_options(const char* op, double lr, int64_t epochs) {
  SN_CHECK(std::isfinite(lr) && lr > 0.0, ValueError, op,
           ": the learning rate must be positive and finite (got ", lr, ")");
  SN_CHECK(epochs >= 1, ValueError, op, ": the number of epochs must be at least 1 (got ", epochs,
           ")");
}

std::vector<int64_t> sample_order(int64_t n, bool shuffle) {
  if (shuffle) return randperm(n).to_vector_as<int64_t>();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  return idx;
}

bool diverging(double mse, double start_mse) {
  return !std::isfinite(mse) || mse > 1e6 * std::max(start_mse, 1e-12);
}

Tensor gather_rows(const Tensor& m, const std::vector<int64_t>& idx, int64_t begin, int64_t end) {
  const int64_t cols = m.dim() == 2 ? m.size(1) : 1;
  Shape shape = m.shape();
  shape[0] = end - begin;
  Tensor out = empty(shape, {.dtype = kFloat64});
  const double* src = m.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  for (int64_t r = begin; r < end; ++r) {
    const double* row = src + idx[static_cast<size_t>(r)] * cols;
    for (int64_t c = 0; c < cols; ++c) dst[(r - begin) * cols + c] = row[c];
  }
  return out;
}

}  // namespace detail
}  // namespace sn::classic
