// Shared pieces of the train tests: small synthetic datasets, a temp directory, and models.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "sinapsis/sinapsis.h"

namespace sn::train::testing {

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("sn_train_" + std::string(info ? info->name() : "x") + "_" +
             std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// n points in 2-D, class 1 where x0 + x1 > 0, with a margin of `gap` around the line: linearly
// separable. Drawn from a private seed so tests do not depend on each other's draws.
inline std::shared_ptr<data::TensorDataset> separable_2d(int64_t n, uint64_t seed,
                                                         double gap = 0.3) {
  const std::string saved = rng_state();
  manual_seed(seed);
  std::vector<double> xs;
  std::vector<int64_t> ys;
  while (static_cast<int64_t>(ys.size()) < n) {
    const double a = random_uniform() * 4 - 2, b = random_uniform() * 4 - 2;
    const double s = a + b;
    if (std::abs(s) < gap) continue;
    xs.push_back(a);
    xs.push_back(b);
    ys.push_back(s > 0 ? 1 : 0);
  }
  set_rng_state(saved);
  return data::tensor_dataset(tensor(xs, Shape{n, 2}), tensor(ys, Shape{n}));
}

// 3-class data in 4-D labelled by a fixed random linear map (argmax of x·W).
inline std::shared_ptr<data::TensorDataset> three_class_4d(int64_t n, uint64_t seed) {
  const std::string saved = rng_state();
  manual_seed(seed);
  Tensor x = randn({n, 4});
  Tensor w = randn({4, 3});
  Tensor y = argmax(matmul(x, w), 1);
  set_rng_state(saved);
  return data::tensor_dataset(x, y);
}

inline Tensor cross_entropy_loss(const Tensor& out, const Tensor& y) {
  return loss::cross_entropy(out, y);
}

inline std::vector<double> flat_params(const nn::Module& m) {
  std::vector<double> out;
  for (const auto& p : m.parameters()) {
    auto v = p.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace sn::train::testing
