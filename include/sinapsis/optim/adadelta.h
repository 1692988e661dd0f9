// Adadelta: step sizes from running averages of squared gradients and squared updates (no
// hand-tuned lr needed; lr scales the update), with PyTorch 1.13 semantics. One fused kernel.
#pragma once
#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;  // in [0, 1]
  double eps = 1e-6;
  double weight_decay = 0.0;
  bool maximize = false;
};

// v = ρ·v + (1 − ρ)·g²;  Δ = √(u + eps) / √(v + eps) · g;  u = ρ·u + (1 − ρ)·Δ²;  p −= lr·Δ
class Adadelta : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    AdadeltaOptions options;
  };
  explicit Adadelta(std::vector<Tensor> params, AdadeltaOptions options = {});
  explicit Adadelta(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, AdadeltaOptions options);
  const AdadeltaOptions& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  std::vector<AdadeltaOptions> options_;
};

}  // namespace sn::optim
