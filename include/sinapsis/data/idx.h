// IDX files (the MNIST / Fashion-MNIST format: magic 00 00 <type> <ndim>, big-endian u32 dims,
// big-endian data), raw or gzip-compressed, and the Fashion-MNIST dataset found on the system.
// Only reading: there is no IDX writer.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinapsis/data/dataset.h"

namespace sn::data {

struct IdxOptions {
  // Result dtype; default: integer types -> int64, float -> float32, double -> float64.
  std::optional<DType> dtype = std::nullopt;
  // Every value is multiplied by this (e.g. 1/255 to bring bytes to [0, 1]); needs a floating
  // dtype unless it is 1.
  double scale = 1.0;
};

// Reads an IDX file (gzip detected by its magic bytes). A wrong magic, an unknown type code,
// more dims than sn supports, a size that does not match the data (truncated or trailing bytes)
// and corrupt gzip all raise IOError naming the file.
Tensor read_idx(const std::string& path, IdxOptions opts = {});
// The same from bytes in memory; `name` is used in error messages.
Tensor read_idx_bytes(std::string_view bytes, const std::string& name = "<memory>",
                      IdxOptions opts = {});

// Zalando's Fashion-MNIST: 28x28 grey images of 10 clothing classes, 60,000 for training and
// 10,000 for testing. x is float32 [1, 28, 28] in [0, 1], y is an int64 class index.
// Files are looked for in: `dir` if given, $SN_FASHION_MNIST_DIR, the Debian package
// dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, then `dpkg -L`).
class FashionMnist {
 public:
  static std::shared_ptr<TensorDataset> train(const std::string& dir = "");
  static std::shared_ptr<TensorDataset> test(const std::string& dir = "");
  // The directory that would be used; IOError with an install hint when there is none.
  static std::string find_dir(const std::string& dir = "");
  // Class names, by index: "T-shirt/top", "Trouser", ...
  static const std::vector<std::string>& classes();
};

}  // namespace sn::data
