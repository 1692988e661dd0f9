// The PyTorch golden file of the autoencoder presets and the VAE loss
// (tests/golden/autoencoder.json, made by tests/golden/gen_autoencoder.py).
#pragma once
#include <sinapsis/sinapsis.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace sn::testing {

inline const nlohmann::json& autoencoder_golden() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/autoencoder.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/autoencoder.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

// {"shape": [...], "data": [...]} as a float64 tensor.
inline Tensor golden_tensor(const nlohmann::json& j) {
  return tensor(j["data"].get<std::vector<double>>(), Shape(j["shape"].get<std::vector<int64_t>>()),
                {.dtype = kFloat64});
}

}  // namespace sn::testing
