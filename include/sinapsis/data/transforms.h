// Transforms: functions Example -> Example, composable with `|` (left runs first), applied
// lazily by TransformDataset. Built-ins also have a batch form, so a loader over a transformed
// TensorDataset still gathers whole batches at once. No random augmentation here yet.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "sinapsis/data/dataset.h"

namespace sn::data {

class Transform {
 public:
  using Fn = std::function<Example(Example)>;
  // `one` maps one example; `batch`, when given, maps a batch (leading batch dim) the same way.
  Transform(std::string name, Fn one, Fn batch = nullptr);
  Example operator()(Example e) const { return one_(std::move(e)); }
  // On a batch; a transform without a batch form is applied example by example and restacked.
  Example apply_batch(Example b) const;
  bool has_batch_form() const { return static_cast<bool>(batch_); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Fn one_, batch_;
};

// `first | then`: applies first, then `then`.
Transform operator|(const Transform& first, const Transform& then);
Transform compose(const std::vector<Transform>& ts);

// x -> (x - mean) / std. Integer inputs become float32 first.
Transform normalize(double mean, double std);
// Per channel: x's first dim (of one example) has mean.size() channels, e.g. [C, H, W]; for
// 1-D examples (tabular rows) that is one mean and std per feature.
Transform normalize(std::vector<double> mean, std::vector<double> std);
// y (int64 class indices) -> one-hot rows of `dtype` (float32: ready for mse_loss).
Transform one_hot(int64_t num_classes, DType dtype = kFloat32);
// x -> 1-D (per example), e.g. [1, 28, 28] -> [784].
Transform flatten();
// Any function of one example; has no batch form (batches are restacked).
Transform lambda(Transform::Fn fn, std::string name = "lambda");

// `base` with `t` applied on every get()/get_batch().
class TransformDataset : public Dataset {
 public:
  TransformDataset(DatasetPtr base, Transform t);
  int64_t size() const override { return base_->size(); }
  Example get(int64_t i) const override;
  Example get_batch(const std::vector<int64_t>& indices) const override;
  std::string name() const override;

 private:
  DatasetPtr base_;
  Transform t_;
};

std::shared_ptr<TransformDataset> transform(DatasetPtr ds, Transform t);

}  // namespace sn::data
