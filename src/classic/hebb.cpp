// The Hebb rule (see sinapsis/classic/hebb.h): one correlation update per sample presentation,
// recorded so a lecture table (sample, Δw, w) can be printed from the report.
#include "sinapsis/classic/hebb.h"

#include "classic/data.h"
#include "sinapsis/ops/ops.h"

namespace sn::classic {

namespace {
void check_encoded(const Tensor& t, Encoding enc, const char* op, const char* what) {
  const double lo = enc == Encoding::Binary ? 0.0 : -1.0;
  const double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    SN_CHECK(p[i] == lo || p[i] == 1.0, ValueError, op, ": ", what, " must be ", to_string(enc),
             " (got ", p[i], " at flat index ", i, ")",
             enc == Encoding::Bipolar && p[i] == 0.0
                 ? "; hint: 0/1 data needs the binary encoding (Encoding::Binary; --encoding "
                   "binary in the CLI)"
                 : "");
}
}  // namespace

Hebb::Hebb(int64_t num_features, HebbOptions options) : options_(options) {
  SN_CHECK(num_features >= 1, ValueError, "Hebb: needs at least one feature (got ", num_features,
           ")");
  detail::check_options("Hebb", options.lr, options.epochs);
  w_ = zeros({num_features + 1}, {.dtype = kFloat64});
}

Tensor Hebb::net_input(const Tensor& x) const {
  Tensor xb = detail::with_bias(detail::features(x, "Hebb::net_input", w_.numel() - 1));
  return matmul(xb, w_);
}

Tensor Hebb::predict(const Tensor& x) const {
  Tensor fires = step(net_input(x)).to(kFloat64);  // 1 where net > 0
  return options_.encoding == Encoding::Binary ? fires : fires * 2.0 - 1.0;
}

HebbReport Hebb::fit(const Tensor& x, const Tensor& y) {
  const char* op = "Hebb::fit";
  Tensor xb = detail::with_bias(detail::features(x, op, w_.numel() - 1));
  Tensor yy = detail::targets(y, xb.size(0), op);
  check_encoded(xb.narrow(1, 1, xb.size(1) - 1).contiguous(), options_.encoding, op, "x");
  check_encoded(yy, options_.encoding, op, "y");
  const int64_t n = xb.size(0), d1 = xb.size(1);
  const double* px = xb.data_ptr<double>();
  const double* py = yy.data_ptr<double>();
  double* w = w_.data_ptr<double>();
  const int64_t first = options_.bias ? 0 : 1;  // without a bias input w0 never changes

  HebbReport report;
  for (int64_t e = 0; e < options_.epochs; ++e) {
    for (int64_t i = 0; i < n; ++i) {
      // Δw = η·x·y: strengthen the weights of inputs that are active together with the output
      for (int64_t j = first; j < d1; ++j) w[j] += options_.lr * px[i * d1 + j] * py[i];
      report.weights.push_back(w_.clone());
    }
  }
  Tensor wrong = ne(predict(x), yy);
  report.errors = static_cast<int64_t>(wrong.to(kInt64).sum().item());
  return report;
}

}  // namespace sn::classic
