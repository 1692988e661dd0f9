// Datasets: the Dataset interface (size, get, get_batch), TensorDataset over in-memory tensors,
// Subset, and seeded random splits. Datasets are shared, immutable and read from the loader's
// prefetch thread, so get()/get_batch() must be safe to call concurrently.
// File formats (IDX, CSV, MNIST JSON) and transforms live in their own headers.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::data {

// One example, or a batch of them (x and y then have a leading batch dim).
// y is undefined for unlabelled data.
struct Example {
  Tensor x;
  Tensor y;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example i, 0 <= i < size(); IndexError otherwise.
  virtual Example get(int64_t i) const = 0;
  // The examples at `indices` stacked along a new dim 0. The default stacks get(i); datasets
  // with their data in one tensor override it with a single gather.
  virtual Example get_batch(const std::vector<int64_t>& indices) const;
  // Short description for errors and summaries, e.g. "TensorDataset(60000)".
  virtual std::string name() const = 0;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// Examples are the rows (dim 0) of x and y. The tensors are detached and made contiguous once,
// so get() returns views and get_batch() copies rows with memcpy.
class TensorDataset : public Dataset {
 public:
  // y may be undefined (unlabelled). x and y must have the same size along dim 0.
  explicit TensorDataset(Tensor x, Tensor y = Tensor());
  int64_t size() const override;
  Example get(int64_t i) const override;
  Example get_batch(const std::vector<int64_t>& indices) const override;
  std::string name() const override;
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }

 private:
  Tensor x_, y_;
};

std::shared_ptr<TensorDataset> tensor_dataset(Tensor x, Tensor y = Tensor());

// The examples of `base` at `indices` (in that order).
class Subset : public Dataset {
 public:
  Subset(DatasetPtr base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t i) const override;
  Example get_batch(const std::vector<int64_t>& indices) const override;
  std::string name() const override;
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  DatasetPtr base_;
  std::vector<int64_t> indices_;
};

// A permutation of 0..n-1. With a seed it comes from a private generator (same seed, same
// permutation, whatever else drew random numbers); without one it draws from sn's global
// generator (see sn::manual_seed).
std::vector<int64_t> permutation(int64_t n, std::optional<uint64_t> seed = std::nullopt);

// Splits into disjoint random subsets. `lengths` are either counts summing to size() or
// fractions summing to 1 (the remainder of the rounding goes to the first parts, as PyTorch).
std::vector<DatasetPtr> random_split(const DatasetPtr& ds, const std::vector<double>& lengths,
                                     std::optional<uint64_t> seed = std::nullopt);

struct TrainValidation {
  DatasetPtr train;
  DatasetPtr validation;
};
// Holds out round(validation_fraction * size()) random examples for validation.
TrainValidation train_validation_split(const DatasetPtr& ds, double validation_fraction,
                                       std::optional<uint64_t> seed = std::nullopt);

}  // namespace sn::data
