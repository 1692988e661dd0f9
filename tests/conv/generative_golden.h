// The PyTorch golden file of the generative-model ops (tests/golden/generative.json, made by
// tests/golden/gen_generative.py): conv_transpose2d, upsample2d, reparameterize, gaussian_kl.
#pragma once
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace sn::testing {

inline const nlohmann::json& generative_golden() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/generative.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/generative.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

}  // namespace sn::testing
