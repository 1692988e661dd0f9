// CSV datasets: a header row, numeric feature columns, one target column chosen by name.
// Classification targets (text or integer labels) become int64 class indices with the mapping
// kept; regression targets become float32. Quoted fields are supported, multi-line ones are not.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "sinapsis/data/dataset.h"

namespace sn::data {

enum class CsvTask { Classification, Regression };

struct CsvOptions {
  std::string target = {};  // name of the target column (required)
  CsvTask task = CsvTask::Classification;
  std::vector<std::string> features = {};  // feature columns in this order; empty: all but target
  char delimiter = ',';
};

// x: float32 [F] per example (features in order); y: int64 class index (classification) or
// float32 [1] (regression, so a batch [B, 1] matches a Linear(F, 1) output).
// Every parse problem is an IOError naming file, line and column:
//   iris.csv:14: column 'petal_width' (4): cannot read "abc" as a number
class CsvDataset : public TensorDataset {
 public:
  static std::shared_ptr<CsvDataset> load(const std::string& path, const CsvOptions& opts);
  // The same from text in memory; `name` stands for the file name in errors.
  static std::shared_ptr<CsvDataset> parse(std::string_view text, const CsvOptions& opts,
                                           const std::string& name = "<memory>");

  const std::vector<std::string>& feature_names() const { return features_; }
  const std::string& target_name() const { return target_; }
  CsvTask task() const { return task_; }
  // Classification: label text of each class index. Integer labels are ordered by value,
  // text labels alphabetically, so the mapping does not depend on row order.
  const std::vector<std::string>& classes() const { return classes_; }
  int64_t num_classes() const { return static_cast<int64_t>(classes_.size()); }
  // The class index of a label; ValueError for a label not in the file.
  int64_t class_index(const std::string& label) const;
  std::string name() const override;

  CsvDataset(Tensor x, Tensor y, std::vector<std::string> features, std::string target,
             CsvTask task, std::vector<std::string> classes, std::string file);

 private:
  std::vector<std::string> features_;
  std::string target_;
  CsvTask task_;
  std::vector<std::string> classes_;
  std::string file_;
};

}  // namespace sn::data
