// The metric meters. Each update copies the batch's outputs and targets to doubles once (a few
// thousand numbers per batch) and counts in plain loops; the model's tensors are never written
// and no autograd history is recorded.
#include "sinapsis/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "sinapsis/autograd/node.h"

namespace sn::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> values_of(const Tensor& t) {
  NoGradGuard ng;
  return t.detach().to_vector();
}

// Predicted classes of `output` ([N, C] scores, or [N] / [N, 1] binary) and the number of
// classes (2 for binary outputs).
struct Predictions {
  std::vector<int64_t> cls;
  int64_t num_classes = 0;
};

Predictions predictions(const char* op, const Tensor& output, double threshold) {
  SN_CHECK(output.defined(), ValueError, op, ": the output is undefined");
  const Shape& s = output.shape();
  Predictions p;
  const std::vector<double> v = values_of(output);
  if (s.size() == 2 && s[1] >= 2) {
    const int64_t n = s[0], c = s[1];
    p.num_classes = c;
    p.cls.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < c; ++j)
        if (v[i * c + j] > v[i * c + best]) best = j;
      p.cls[static_cast<size_t>(i)] = best;
    }
    return p;
  }
  SN_CHECK(s.size() == 1 || (s.size() == 2 && s[1] == 1), ShapeError, op,
           ": the output must be [N, C] class scores or [N] / [N, 1] binary scores (got ", s, ")");
  p.num_classes = 2;
  p.cls.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) p.cls[i] = v[i] > threshold ? 1 : 0;
  return p;
}

// Target classes for `n` examples of `num_classes`: [N] / [N, 1] indices, or [N, C] one-hot or
// probabilities (argmax).
std::vector<int64_t> labels(const char* op, const Tensor& target, int64_t n, int64_t num_classes) {
  SN_CHECK(target.defined(), ValueError, op, ": the target is undefined (unlabelled data)");
  const Shape& s = target.shape();
  const std::vector<double> v = values_of(target);
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (s.size() == 2 && s[0] == n && s[1] == num_classes && num_classes >= 2) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < num_classes; ++j)
        if (v[i * num_classes + j] > v[i * num_classes + best]) best = j;
      out[static_cast<size_t>(i)] = best;
    }
    return out;
  }
  SN_CHECK((s.size() == 1 && s[0] == n) || (s.size() == 2 && s[0] == n && s[1] == 1), ShapeError,
           op, ": target shape ", s, " does not fit ", n, " examples of ", num_classes,
           " classes (expected [", n, "] class indices or [", n, ", ", num_classes, "])");
  for (int64_t i = 0; i < n; ++i) {
    const double y = v[static_cast<size_t>(i)];
    SN_CHECK(std::isfinite(y) && y == std::floor(y) && y >= 0 && y < num_classes, IndexError, op,
             ": target ", y, " of example ", i, " is not a class index in [0, ", num_classes, ")");
    out[static_cast<size_t>(i)] = static_cast<int64_t>(y);
  }
  return out;
}

Shape strip_trailing_ones(Shape s) {
  while (!s.empty() && s.back() == 1) s.pop_back();
  return s;
}

// (output - target) element pairs for the regression meters.
void regression_pairs(const char* op, const Tensor& output, const Tensor& target,
                      std::vector<double>& o, std::vector<double>& t) {
  SN_CHECK(output.defined() && target.defined(), ValueError, op,
           ": output and target must be defined");
  SN_CHECK(output.shape() == target.shape() ||
               strip_trailing_ones(output.shape()) == strip_trailing_ones(target.shape()),
           ShapeError, op, ": output shape ", output.shape(), " and target shape ", target.shape(),
           " differ");
  o = values_of(output);
  t = values_of(target);
}

double ratio(int64_t a, int64_t b) {
  return b == 0 ? kNaN : static_cast<double>(a) / static_cast<double>(b);
}

}  // namespace

Metric::~Metric() = default;

// ---------------------------------------------------------------- Accuracy

void Accuracy::update(const Tensor& output, const Tensor& target) {
  const Predictions p = predictions("accuracy", output, threshold_);
  const int64_t n = static_cast<int64_t>(p.cls.size());
  const std::vector<int64_t> y = labels("accuracy", target, n, p.num_classes);
  for (int64_t i = 0; i < n; ++i) correct_ += p.cls[i] == y[i] ? 1 : 0;
  total_ += n;
}
double Accuracy::value() const { return ratio(correct_, total_); }

// ---------------------------------------------------------------- TopKAccuracy

TopKAccuracy::TopKAccuracy(int64_t k) : k_(k) {
  SN_CHECK(k >= 1, ValueError, "TopKAccuracy: k must be at least 1 (got ", k, ")");
}
std::string TopKAccuracy::name() const { return "top" + std::to_string(k_) + "_accuracy"; }

void TopKAccuracy::update(const Tensor& output, const Tensor& target) {
  SN_CHECK(output.defined(), ValueError, "top_k_accuracy: the output is undefined");
  const Shape& s = output.shape();
  SN_CHECK(s.size() == 2, ShapeError,
           "top_k_accuracy: the output must be [N, C] class scores (got ", s, ")");
  const int64_t n = s[0], c = s[1];
  SN_CHECK(k_ <= c, ValueError, "top_k_accuracy: k = ", k_, " exceeds the number of classes (", c,
           ")");
  const std::vector<double> v = values_of(output);
  const std::vector<int64_t> y = labels("top_k_accuracy", target, n, c);
  for (int64_t i = 0; i < n; ++i) {
    const double score = v[i * c + y[i]];
    int64_t above = 0;  // classes scored strictly higher than the true one
    for (int64_t j = 0; j < c; ++j) above += v[i * c + j] > score ? 1 : 0;
    correct_ += above < k_ ? 1 : 0;
  }
  total_ += n;
}
double TopKAccuracy::value() const { return ratio(correct_, total_); }

// ---------------------------------------------------------------- ConfusionMatrix

ConfusionMatrix::ConfusionMatrix(int64_t num_classes, std::vector<std::string> class_names,
                                 double threshold)
    : n_(num_classes), names_(std::move(class_names)), threshold_(threshold) {
  SN_CHECK(n_ >= 2, ValueError, "ConfusionMatrix: num_classes must be at least 2 (got ", n_, ")");
  SN_CHECK(names_.empty() || static_cast<int64_t>(names_.size()) == n_, ValueError,
           "ConfusionMatrix: got ", names_.size(), " class names for ", n_, " classes");
  reset();
}

void ConfusionMatrix::reset() {
  row_.assign(static_cast<size_t>(n_), 0);
  col_.assign(static_cast<size_t>(n_), 0);
  cells_.clear();
  total_ = 0;
}

std::unique_ptr<Metric> ConfusionMatrix::clone() const {
  return std::make_unique<ConfusionMatrix>(n_, names_, threshold_);
}

void ConfusionMatrix::update(const Tensor& output, const Tensor& target) {
  const Predictions p = predictions("confusion_matrix", output, threshold_);
  SN_CHECK(p.num_classes == n_, ShapeError, "confusion_matrix: the output has ", p.num_classes,
           " classes (shape ", output.shape(), ") but the matrix has ", n_);
  const int64_t n = static_cast<int64_t>(p.cls.size());
  const std::vector<int64_t> y = labels("confusion_matrix", target, n, n_);
  for (int64_t i = 0; i < n; ++i) {
    ++cells_[y[i] * n_ + p.cls[i]];
    ++row_[static_cast<size_t>(y[i])];
    ++col_[static_cast<size_t>(p.cls[i])];
  }
  total_ += n;
}

int64_t ConfusionMatrix::count(int64_t t, int64_t p) const {
  SN_CHECK(t >= 0 && t < n_ && p >= 0 && p < n_, IndexError, "ConfusionMatrix::count: class (", t,
           ", ", p, ") out of range for ", n_, " classes");
  auto it = cells_.find(t * n_ + p);
  return it == cells_.end() ? 0 : it->second;
}

int64_t ConfusionMatrix::total() const { return total_; }

double ConfusionMatrix::accuracy() const {
  int64_t diag = 0;
  for (const auto& [cell, k] : cells_)
    if (cell / n_ == cell % n_) diag += k;
  return ratio(diag, total());
}

double ConfusionMatrix::recall(int64_t c) const { return ratio(count(c, c), support(c)); }

double ConfusionMatrix::precision(int64_t c) const {
  return ratio(count(c, c), col_[static_cast<size_t>(c)]);
}

double ConfusionMatrix::f1(int64_t c) const {
  const double p = precision(c), r = recall(c);
  if (std::isnan(p) || std::isnan(r)) return kNaN;
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

int64_t ConfusionMatrix::support(int64_t c) const {
  SN_CHECK(c >= 0 && c < n_, IndexError, "ConfusionMatrix::support: class ", c,
           " out of range for ", n_, " classes");
  return row_[static_cast<size_t>(c)];
}

double ConfusionMatrix::value() const {
  double sum = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < n_; ++c) {
    const double r = recall(c);
    if (std::isnan(r)) continue;
    sum += r;
    ++present;
  }
  return present == 0 ? kNaN : sum / static_cast<double>(present);
}

Tensor ConfusionMatrix::matrix() const {
  SN_CHECK(n_ <= kMaxMatrixClasses, ValueError, "ConfusionMatrix::matrix: ", n_,
           " classes would take ", n_, "² counts (at most ", kMaxMatrixClasses,
           " classes); hint: count(), top_classes()");
  std::vector<int64_t> dense(static_cast<size_t>(n_ * n_), 0);
  for (const auto& [cell, k] : cells_) dense[static_cast<size_t>(cell)] = k;
  return tensor(dense, Shape{n_, n_});
}

std::string ConfusionMatrix::label(int64_t c) const {
  return names_.empty() ? std::to_string(c) : names_[static_cast<size_t>(c)];
}

std::vector<int64_t> ConfusionMatrix::top_classes(int64_t k) const {
  std::vector<int64_t> order(static_cast<size_t>(n_));
  for (int64_t c = 0; c < n_; ++c) order[static_cast<size_t>(c)] = c;
  k = std::clamp<int64_t>(k, 0, n_);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return row_[a] != row_[b] ? row_[a] > row_[b] : a < b;
  });
  order.resize(static_cast<size_t>(k));
  return order;
}

namespace {
std::string percent(double v) {
  if (std::isnan(v)) return std::string("-");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v);
  return std::string(buf);
}
}  // namespace

std::string ConfusionMatrix::to_string() const {
  std::ostringstream os;
  if (n_ > kMaxTableClasses) {
    // the cells off the diagonal with the most examples: what a table would have shown
    std::vector<std::pair<int64_t, int64_t>> off;  // (count, cell)
    for (const auto& [cell, k] : cells_)
      if (cell / n_ != cell % n_) off.emplace_back(k, cell);
    const size_t shown = std::min<size_t>(off.size(), 10);
    std::partial_sort(off.begin(), off.begin() + static_cast<std::ptrdiff_t>(shown), off.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first : a.second < b.second;
                      });
    os << "confusion matrix: " << n_ << " classes, too many for a table (at most "
       << kMaxTableClasses << "); the most frequent confusions (true -> predicted):\n";
    for (size_t i = 0; i < shown; ++i)
      os << "  " << label(off[i].second / n_) << " -> " << label(off[i].second % n_) << ": "
         << off[i].first << "\n";
    if (off.empty()) os << "  none\n";
    os << "accuracy " << percent(accuracy()) << " of " << total() << ", balanced accuracy "
       << percent(value()) << "\n";
    return os.str();
  }
  std::vector<std::string> labels(static_cast<size_t>(n_));
  for (int64_t c = 0; c < n_; ++c) labels[static_cast<size_t>(c)] = label(c);
  size_t w = 6;  // "recall"
  for (const auto& l : labels) w = std::max(w, l.size());
  for (const auto& [cell, k] : cells_) w = std::max(w, std::to_string(k).size());
  auto pad = [&](const std::string& s) {
    return std::string(w + 2 - std::min(w + 2, s.size()), ' ') + s;
  };
  os << "confusion matrix (rows: true class, columns: predicted)\n" << pad("");
  for (const auto& l : labels) os << pad(l);
  os << pad("recall") << "\n";
  for (int64_t t = 0; t < n_; ++t) {
    os << pad(labels[static_cast<size_t>(t)]);
    for (int64_t p = 0; p < n_; ++p) os << pad(std::to_string(count(t, p)));
    os << pad(percent(recall(t))) << "\n";
  }
  os << pad("precision");
  for (int64_t p = 0; p < n_; ++p) os << pad(percent(precision(p)));
  os << "\n"
     << "accuracy " << percent(accuracy()) << " of " << total() << ", balanced accuracy "
     << percent(value()) << "\n";
  return os.str();
}

std::string ConfusionMatrix::report(int64_t max_classes) const {
  SN_CHECK(max_classes >= 0, ValueError, "ConfusionMatrix::report: max_classes must be >= 0 (got ",
           max_classes, ")");
  const bool cut = max_classes > 0 && n_ > max_classes;
  std::vector<int64_t> shown;
  if (cut) {
    shown = top_classes(max_classes);
  } else {
    shown.resize(static_cast<size_t>(n_));
    for (int64_t c = 0; c < n_; ++c) shown[static_cast<size_t>(c)] = c;
  }
  size_t w = 12;  // "weighted avg"
  for (int64_t c : shown) w = std::max(w, label(c).size());
  auto num = [](double v) {
    if (std::isnan(v)) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return std::string(buf);
  };
  auto row = [&](const std::string& name, double p, double r, double f, int64_t sup) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%*s  %9s  %9s  %9s  %7lld\n", static_cast<int>(w), name.c_str(),
                  num(p).c_str(), num(r).c_str(), num(f).c_str(), static_cast<long long>(sup));
    return std::string(buf);
  };
  std::ostringstream os;
  char head[160];
  std::snprintf(head, sizeof head, "%*s  %9s  %9s  %9s  %7s\n", static_cast<int>(w), "class",
                "precision", "recall", "f1", "support");
  os << head;
  for (int64_t c : shown) os << row(label(c), precision(c), recall(c), f1(c), support(c));
  if (cut)
    os << "(" << n_ - max_classes << " more classes with less support; the averages cover all "
       << n_ << ")\n";
  // averages over the classes where each value is defined; weights: the class's support
  double mp = 0, mr = 0, mf = 0, wp = 0, wr = 0, wf = 0;
  int64_t np = 0, nr = 0, nf = 0, wsp = 0, wsr = 0, wsf = 0;
  for (int64_t c = 0; c < n_; ++c) {
    const double p = precision(c), r = recall(c), f = f1(c);
    const int64_t s = support(c);
    if (!std::isnan(p)) mp += p, ++np, wp += p * s, wsp += s;
    if (!std::isnan(r)) mr += r, ++nr, wr += r * s, wsr += s;
    if (!std::isnan(f)) mf += f, ++nf, wf += f * s, wsf += s;
  }
  auto mean = [](double sum, int64_t n) { return n == 0 ? kNaN : sum / static_cast<double>(n); };
  os << row("macro avg", mean(mp, np), mean(mr, nr), mean(mf, nf), total())
     << row("weighted avg", mean(wp, wsp), mean(wr, wsr), mean(wf, wsf), total());
  return os.str();
}

// ---------------------------------------------------------------- regression

void MeanSquaredError::update(const Tensor& output, const Tensor& target) {
  std::vector<double> o, t;
  regression_pairs("mse", output, target, o, t);
  for (size_t i = 0; i < o.size(); ++i) sum_ += (o[i] - t[i]) * (o[i] - t[i]);
  count_ += static_cast<int64_t>(o.size());
}
double MeanSquaredError::value() const {
  return count_ == 0 ? kNaN : sum_ / static_cast<double>(count_);
}

void MeanAbsoluteError::update(const Tensor& output, const Tensor& target) {
  std::vector<double> o, t;
  regression_pairs("mae", output, target, o, t);
  for (size_t i = 0; i < o.size(); ++i) sum_ += std::abs(o[i] - t[i]);
  count_ += static_cast<int64_t>(o.size());
}
double MeanAbsoluteError::value() const {
  return count_ == 0 ? kNaN : sum_ / static_cast<double>(count_);
}

void MeanLoss::update(double batch_mean_loss, int64_t batch_size) {
  SN_CHECK(batch_size >= 1, ValueError, "MeanLoss: batch_size must be at least 1 (got ", batch_size,
           ")");
  sum_ += batch_mean_loss * static_cast<double>(batch_size);
  count_ += batch_size;
}
double MeanLoss::value() const { return count_ == 0 ? kNaN : sum_ / static_cast<double>(count_); }

// ---------------------------------------------------------------- by name

MetricPtr make_metric(const std::string& name) {
  if (name == "accuracy" || name == "acc") return std::make_shared<Accuracy>();
  if (name == "mse") return std::make_shared<MeanSquaredError>();
  if (name == "mae") return std::make_shared<MeanAbsoluteError>();
  const std::string top = "top", suffix = "_accuracy";
  if (name.size() > top.size() + suffix.size() && name.rfind(top, 0) == 0 &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const std::string k = name.substr(top.size(), name.size() - top.size() - suffix.size());
    if (k.size() <= 6 && k.find_first_not_of("0123456789") == std::string::npos)
      return std::make_shared<TopKAccuracy>(std::stoll(k));
  }
  const std::string cm = "confusion_matrix:";
  if (name.rfind(cm, 0) == 0) {
    const std::string k = name.substr(cm.size());
    if (!k.empty() && k.size() <= 6 && k.find_first_not_of("0123456789") == std::string::npos)
      return std::make_shared<ConfusionMatrix>(std::stoll(k));
  }
  SN_THROW(ValueError, "make_metric: unknown metric '", name,
           "' (known: accuracy, top<k>_accuracy, mse, mae, confusion_matrix:<num_classes>)");
}

}  // namespace sn::train
