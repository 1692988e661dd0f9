// Shared by the optim tests: the golden file (tests/golden/optim.json, from gen_optim.py), the
// fixed regression problem written in sn ops, optimizer construction from a JSON case, and a
// tolerance comparison that names the failing element.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sinapsis/sinapsis.h"

namespace optim_test {

using nlohmann::json;
namespace so = sn::optim;

inline const json& golden() {
  static const json j = [] {
    std::ifstream f(SN_SOURCE_DIR "/tests/golden/optim.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/optim.json");
    return json::parse(f);
  }();
  return j;
}

inline sn::DType dtype_of(const std::string& name) {
  return name == "float32" ? sn::kFloat32 : sn::kFloat64;
}

inline sn::Tensor from_json(const json& values, const sn::Shape& shape, sn::DType dt) {
  return sn::tensor(values.get<std::vector<double>>(), shape, {.dtype = dt});
}

// The problem of gen_optim.py: loss = mean((X·Wᵀ + b − Y)²), data in the golden file.
struct Regression {
  sn::Tensor X, Y, W, b;
  explicit Regression(sn::DType dt) {
    const json& p = golden()["problem"];
    const int64_t n = p["N"], in = p["IN"], out = p["OUT"];
    X = from_json(p["X"], {n, in}, dt);
    Y = from_json(p["Y"], {n, out}, dt);
    W = from_json(p["W0"], {out, in}, dt).requires_grad_();
    b = from_json(p["b0"], {out}, dt).requires_grad_();
  }
  sn::Tensor loss(double sign = 1.0) const {
    sn::Tensor r = sn::matmul(X, W.t()) + b - Y;
    return sign * sn::mean(r * r);
  }
};

inline double opt_num(const json& o, const char* key, double fallback) {
  return o.contains(key) ? o[key].get<double>() : fallback;
}
inline bool opt_bool(const json& o, const char* key, bool fallback) {
  return o.contains(key) ? o[key].get<bool>() : fallback;
}

// Typed options from a JSON object with sinapsis option names; defaults are the structs' own.
inline so::SGDOptions sgd_options(const json& o) {
  so::SGDOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .momentum = opt_num(o, "momentum", d.momentum),
          .dampening = opt_num(o, "dampening", d.dampening),
          .weight_decay = opt_num(o, "weight_decay", d.weight_decay),
          .nesterov = opt_bool(o, "nesterov", d.nesterov),
          .maximize = opt_bool(o, "maximize", d.maximize)};
}
inline so::AdamOptions adam_options(const json& o) {
  so::AdamOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .betas = {opt_num(o, "beta1", d.betas.first), opt_num(o, "beta2", d.betas.second)},
          .eps = opt_num(o, "eps", d.eps),
          .weight_decay = opt_num(o, "weight_decay", d.weight_decay),
          .amsgrad = opt_bool(o, "amsgrad", d.amsgrad),
          .maximize = opt_bool(o, "maximize", d.maximize)};
}
inline so::AdamWOptions adamw_options(const json& o) {
  so::AdamWOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .betas = {opt_num(o, "beta1", d.betas.first), opt_num(o, "beta2", d.betas.second)},
          .eps = opt_num(o, "eps", d.eps),
          .weight_decay = opt_num(o, "weight_decay", d.weight_decay),
          .amsgrad = opt_bool(o, "amsgrad", d.amsgrad),
          .maximize = opt_bool(o, "maximize", d.maximize)};
}
inline so::AdagradOptions adagrad_options(const json& o) {
  so::AdagradOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .lr_decay = opt_num(o, "lr_decay", d.lr_decay),
          .weight_decay = opt_num(o, "weight_decay", d.weight_decay),
          .initial_accumulator_value =
              opt_num(o, "initial_accumulator_value", d.initial_accumulator_value),
          .eps = opt_num(o, "eps", d.eps),
          .maximize = opt_bool(o, "maximize", d.maximize)};
}
inline so::AdadeltaOptions adadelta_options(const json& o) {
  so::AdadeltaOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .rho = opt_num(o, "rho", d.rho),
          .eps = opt_num(o, "eps", d.eps),
          .weight_decay = opt_num(o, "weight_decay", d.weight_decay),
          .maximize = opt_bool(o, "maximize", d.maximize)};
}
inline so::RMSpropOptions rmsprop_options(const json& o) {
  so::RMSpropOptions d;
  return {.lr = opt_num(o, "lr", d.lr),
          .alpha = opt_num(o, "alpha", d.alpha),
          .eps = opt_num(o, "eps", d.eps),
          .weight_decay = opt_num(o, "weight_decay", d.weight_decay),
          .momentum = opt_num(o, "momentum", d.momentum),
          .centered = opt_bool(o, "centered", d.centered),
          .maximize = opt_bool(o, "maximize", d.maximize)};
}

// An optimizer of `kind` over W and b, grouped as the JSON case says (group params name "W"/"b").
inline std::unique_ptr<so::Optimizer> make_optimizer(const std::string& kind, const json& groups,
                                                     const sn::Tensor& W, const sn::Tensor& b) {
  auto params_of = [&](const json& g) {
    std::vector<sn::Tensor> ps;
    for (const auto& n : g["params"]) ps.push_back(n == "W" ? W : b);
    return ps;
  };
  std::unique_ptr<so::Optimizer> opt;
  for (size_t i = 0; i < groups.size(); ++i) {
    const json& g = groups[i];
    const json& o = g["options"];
    auto ps = params_of(g);
    // the first group goes through the constructor, later ones through add_param_group
    if (kind == "SGD") {
      if (!opt)
        opt = std::make_unique<so::SGD>(ps, sgd_options(o));
      else
        static_cast<so::SGD&>(*opt).add_param_group(ps, sgd_options(o));
    } else if (kind == "Adam") {
      if (!opt)
        opt = std::make_unique<so::Adam>(ps, adam_options(o));
      else
        static_cast<so::Adam&>(*opt).add_param_group(ps, adam_options(o));
    } else if (kind == "AdamW") {
      if (!opt)
        opt = std::make_unique<so::AdamW>(ps, adamw_options(o));
      else
        static_cast<so::AdamW&>(*opt).add_param_group(ps, adamw_options(o));
    } else if (kind == "Adagrad") {
      if (!opt)
        opt = std::make_unique<so::Adagrad>(ps, adagrad_options(o));
      else
        static_cast<so::Adagrad&>(*opt).add_param_group(ps, adagrad_options(o));
    } else if (kind == "Adadelta") {
      if (!opt)
        opt = std::make_unique<so::Adadelta>(ps, adadelta_options(o));
      else
        static_cast<so::Adadelta&>(*opt).add_param_group(ps, adadelta_options(o));
    } else if (kind == "RMSprop") {
      if (!opt)
        opt = std::make_unique<so::RMSprop>(ps, rmsprop_options(o));
      else
        static_cast<so::RMSprop&>(*opt).add_param_group(ps, rmsprop_options(o));
    } else {
      ADD_FAILURE() << "unknown optimizer kind " << kind;
      return nullptr;
    }
  }
  return opt;
}

// |got − want| <= rtol·|want| + atol for every element; reports the first few failures.
inline void expect_close(const std::vector<double>& got, const json& want, double rtol, double atol,
                         const std::string& what) {
  const auto w = want.get<std::vector<double>>();
  ASSERT_EQ(got.size(), w.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < w.size() && failures < 5; ++i) {
    const double tol = rtol * std::fabs(w[i]) + atol;
    if (!(std::fabs(got[i] - w[i]) <= tol)) {
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", PyTorch " << w[i] << " (diff "
                    << got[i] - w[i] << ", tol " << tol << ")";
      ++failures;
    }
  }
}

inline std::vector<double> values(const sn::Tensor& t) { return t.to_vector(); }

// Bitwise equality of two tensors' values (same dtype and shape).
inline bool same_values(const sn::Tensor& a, const sn::Tensor& b) {
  return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

}  // namespace optim_test
