// CSV datasets: a header row, numeric feature columns, one target column chosen by name.
// Classification targets (text or integer labels) become int64 class indices with the mapping
// kept; regression targets become float32. Quoted fields are supported, multi-line ones are not.
// Columns are always found by their header name, so a file with the same columns in another
// order reads the same; every command (train, eval, predict) reads through this one reader.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "sinapsis/data/dataset.h"

namespace sn::data {

// Auto: regression when every label is a number and there are more than 20 distinct values or
// one of them is not an integer; classification otherwise (text labels always are).
enum class CsvTask { Classification, Regression, Auto };

struct CsvOptions {
  std::string target = {};  // name of the target column (required by CsvDataset)
  CsvTask task = CsvTask::Classification;
  std::vector<std::string> features = {};  // feature columns in this order; empty: all but target
  char delimiter = ',';
  // Classification against a fixed list of classes (those a model was trained with): each label
  // maps to its index in this list, whatever the file's own order or subset; labels not in it
  // are an error that lists them. Empty: the file's own classes.
  std::vector<std::string> classes = {};
};

// x: float32 [F] per example (features in order); y: int64 class index (classification) or
// float32 [1] (regression, so a batch [B, 1] matches a Linear(F, 1) output).
// Every parse problem is an IOError naming file, line and column:
//   iris.csv:14: column 'petal_width' (4): cannot read "abc" as a number
// Features must be finite float32 numbers (NaN, inf and 1e400 are errors); a target must be
// present and not NaN/inf (an empty or "NaN" label is an error, not a class).
class CsvDataset : public TensorDataset {
 public:
  static std::shared_ptr<CsvDataset> load(const std::string& path, const CsvOptions& opts);
  // The same from text in memory; `name` stands for the file name in errors.
  static std::shared_ptr<CsvDataset> parse(std::string_view text, const CsvOptions& opts,
                                           const std::string& name = "<memory>");

  const std::vector<std::string>& feature_names() const { return features_; }
  const std::string& target_name() const { return target_; }
  CsvTask task() const { return task_; }  // never Auto: what Auto resolved to
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

// Only the feature columns of a CSV, for prediction: float32 [N, F], columns found by header
// name (opts.features; empty: every column but opts.target). The target column and any other
// column may be there or not and are ignored; opts.task and opts.classes are not used. The same
// rules and errors as CsvDataset (finite numbers, line and column in every error).
Tensor read_csv_features(std::string_view text, const CsvOptions& opts,
                         const std::string& name = "<memory>");
Tensor load_csv_features(const std::string& path, const CsvOptions& opts);

}  // namespace sn::data
