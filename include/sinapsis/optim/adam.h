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

// m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  v̂max = max(v̂max, v) (AMSGrad)
// p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
class Adam : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    AdamOptions options;
  };
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  explicit Adam(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, AdamOptions options);
  const AdamOptions& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  std::vector<AdamOptions> options_;
};

class AdamW : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    AdamWOptions options;
  };
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  explicit AdamW(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, AdamWOptions options);
  const AdamWOptions& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  std::vector<AdamWOptions> options_;
};

}  // namespace sn::optim
