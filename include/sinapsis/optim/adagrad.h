// Adagrad: per-coordinate step sizes from the running sum of squared gradients, with
// PyTorch 1.13 semantics (lr_decay, initial_accumulator_value, eps). One fused kernel.
#pragma once
#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;  // step size lr / (1 + (t − 1)·lr_decay)
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
};

// sum += g²;  p −= clr · g / (√sum + eps)
class Adagrad : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    AdagradOptions options;
  };
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions options = {});
  explicit Adagrad(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, AdagradOptions options);
  const AdagradOptions& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  std::vector<AdagradOptions> options_;
};

}  // namespace sn::optim
