// Metrics as "meters": reset() at the start of a pass, update() with each batch's model output
// and target, value() at any time for the running result. Accuracy, top-k accuracy, confusion
// matrix, MSE, MAE, and MeanLoss (a weighted running mean of per-batch losses). Meters read
// values only: they never record autograd history and never change the model.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::train {

// Targets accepted by the classification metrics:
//   output [N, C] (C >= 2, scores or probabilities; the predicted class is the argmax) with
//     target [N] class indices (any dtype holding integers) or [N, C] one-hot/probabilities
//     (argmax taken);
//   output [N] or [N, 1] (binary: predicted 1 when output > threshold) with target [N] or
//     [N, 1] holding 0/1.
class Metric {
 public:
  virtual ~Metric();
  // Key in History and logs, e.g. "accuracy"; fit adds "val_" for validation.
  virtual std::string name() const = 0;
  virtual void reset() = 0;
  virtual void update(const Tensor& output, const Tensor& target) = 0;
  // NaN before the first update.
  virtual double value() const = 0;
  // A fresh meter with the same settings (fit keeps one for training and one for validation).
  virtual std::unique_ptr<Metric> clone() const = 0;
};
using MetricPtr = std::shared_ptr<Metric>;

// Fraction of examples whose predicted class equals the target.
class Accuracy : public Metric {
 public:
  // `threshold` applies to binary outputs only: 0.5 for probabilities, 0 for logits.
  explicit Accuracy(double threshold = 0.5) : threshold_(threshold) {}
  std::string name() const override { return "accuracy"; }
  void reset() override { correct_ = total_ = 0; }
  void update(const Tensor& output, const Tensor& target) override;
  double value() const override;
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Accuracy>(threshold_); }
  int64_t correct() const { return correct_; }
  int64_t total() const { return total_; }

 private:
  double threshold_;
  int64_t correct_ = 0, total_ = 0;
};

// Fraction of examples whose target is among the k highest scores (output [N, C], k <= C).
// Ties at the k-th score count as hits.
class TopKAccuracy : public Metric {
 public:
  explicit TopKAccuracy(int64_t k);
  std::string name() const override;  // "top<k>_accuracy"
  void reset() override { correct_ = total_ = 0; }
  void update(const Tensor& output, const Tensor& target) override;
  double value() const override;
  std::unique_ptr<Metric> clone() const override { return std::make_unique<TopKAccuracy>(k_); }

 private:
  int64_t k_;
  int64_t correct_ = 0, total_ = 0;
};

// counts[t][p]: examples of true class t predicted as p. value() is the balanced accuracy (mean
// recall over the classes that occur); accuracy(), recall(), precision() and to_string() give
// the rest. Class indices outside [0, num_classes) throw IndexError.
class ConfusionMatrix : public Metric {
 public:
  explicit ConfusionMatrix(int64_t num_classes, std::vector<std::string> class_names = {},
                           double threshold = 0.5);
  std::string name() const override { return "balanced_accuracy"; }
  void reset() override;
  void update(const Tensor& output, const Tensor& target) override;
  double value() const override;
  std::unique_ptr<Metric> clone() const override;

  int64_t num_classes() const { return n_; }
  int64_t count(int64_t true_class, int64_t predicted_class) const;
  int64_t total() const;
  double accuracy() const;
  double recall(int64_t c) const;     // NaN when class c never occurs
  double precision(int64_t c) const;  // NaN when class c is never predicted
  // 2·P·R / (P + R); NaN when precision or recall is NaN, 0 when both are 0.
  double f1(int64_t c) const;
  int64_t support(int64_t c) const;  // examples whose true class is c
  const std::vector<std::string>& class_names() const { return names_; }
  // The counts as an int64 tensor [num_classes, num_classes] (rows: true class); ValueError
  // past kMaxMatrixClasses, where the dense matrix itself would be the problem (use count()).
  Tensor matrix() const;
  static constexpr int64_t kMaxMatrixClasses = 4096;
  // A table with row/column labels, per-class recall and precision, and the totals; past
  // kMaxTableClasses (a table nobody can read) the most frequent confusions instead.
  std::string to_string() const;
  static constexpr int64_t kMaxTableClasses = 30;
  // Per class: precision, recall, F1 and support, then the macro average (classes with a
  // defined value count equally) and the support-weighted average, as scikit-learn's
  // classification_report lays them out. Past max_classes rows (0: no limit), the classes with
  // the most support and a line saying how many more there are; the averages cover all.
  std::string report(int64_t max_classes = 50) const;
  // The `k` classes with the most support (ties: the lower index), most first.
  std::vector<int64_t> top_classes(int64_t k) const;

 private:
  std::string label(int64_t c) const;
  int64_t n_;
  std::vector<std::string> names_;
  double threshold_;
  // O(classes + examples), never classes²: 10^5 classes must not take 10^10 counters
  std::vector<int64_t> row_, col_;              // support and predictions per class
  std::unordered_map<int64_t, int64_t> cells_;  // true * n + predicted -> count (non-zero)
  int64_t total_ = 0;
};

// Mean squared error over all elements seen: sum((output - target)^2) / count. Shapes must be
// equal, or equal after dropping trailing size-1 dims ([N, 1] vs [N]).
class MeanSquaredError : public Metric {
 public:
  std::string name() const override { return "mse"; }
  void reset() override {
    sum_ = 0;
    count_ = 0;
  }
  void update(const Tensor& output, const Tensor& target) override;
  double value() const override;
  std::unique_ptr<Metric> clone() const override { return std::make_unique<MeanSquaredError>(); }

 private:
  double sum_ = 0;
  int64_t count_ = 0;
};

// Mean absolute error over all elements seen (same shape rules as MeanSquaredError).
class MeanAbsoluteError : public Metric {
 public:
  std::string name() const override { return "mae"; }
  void reset() override {
    sum_ = 0;
    count_ = 0;
  }
  void update(const Tensor& output, const Tensor& target) override;
  double value() const override;
  std::unique_ptr<Metric> clone() const override { return std::make_unique<MeanAbsoluteError>(); }

 private:
  double sum_ = 0;
  int64_t count_ = 0;
};

// Running mean of per-batch mean losses, weighted by batch size: the epoch loss fit reports.
// Not a Metric (it sees losses, not outputs).
class MeanLoss {
 public:
  void reset() {
    sum_ = 0;
    count_ = 0;
  }
  void update(double batch_mean_loss, int64_t batch_size = 1);
  double value() const;  // NaN before the first update
  int64_t count() const { return count_; }

 private:
  double sum_ = 0;
  int64_t count_ = 0;
};

// A metric from its name, for the CLI and model specs: "accuracy"/"acc", "top<k>_accuracy"
// (e.g. "top5_accuracy"), "mse", "mae", "confusion_matrix:<num_classes>". ValueError listing
// the known names otherwise.
MetricPtr make_metric(const std::string& name);

}  // namespace sn::train
