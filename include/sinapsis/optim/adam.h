// Adam (optionally AMSGrad, L2 weight decay added to the gradient) and AdamW (decoupled weight
// decay: p ← p·(1 − lr·wd) before the Adam step), with PyTorch 1.13 semantics. Both share one
// fused per-element kernel; they differ only in how weight decay enters.
#pragma once
#include <utility>

#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};  // each in [0, 1)
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2: added to the gradient
  bool amsgrad = false;
  bool maximize = false;
};

struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: shrinks the weights directly
  bool amsgrad = false;
  bool maximize = false;
};

namespace detail {
// What Adam and AdamW share: groups of parameters with their options, the option plumbing and
// the update loop over one fused kernel. Decoupled picks where weight decay enters (AdamW).
// Defined in adam.cpp for the two instantiations below.
template <typename Options, bool Decoupled>
class AdamFamily : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    Options options;
  };
  explicit AdamFamily(std::vector<Tensor> params, Options options = {});
  explicit AdamFamily(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, Options options);
  const Options& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  static const char* kind() { return Decoupled ? "AdamW" : "Adam"; }
  std::vector<Options> options_;
};
}  // namespace detail

// m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  v̂max = max(v̂max, v) (AMSGrad)
// p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
class Adam : public detail::AdamFamily<AdamOptions, false> {
 public:
  using AdamFamily::AdamFamily;
};

// Adam with decoupled weight decay: p ← p·(1 − lr·wd) before the Adam step.
class AdamW : public detail::AdamFamily<AdamWOptions, true> {
 public:
  using AdamFamily::AdamFamily;
};

}  // namespace sn::optim
