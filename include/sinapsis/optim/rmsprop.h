// RMSprop: gradient divided by a running RMS of recent gradients, optionally centered and with
// momentum, with PyTorch 1.13 semantics. One fused kernel.
#pragma once
#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // smoothing constant of the squared-gradient average
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;  // divide by the estimated variance instead of the raw second moment
  bool maximize = false;
};

// v = α·v + (1 − α)·g²;  c = α·c + (1 − α)·g (centered);  d = √(v − c²) + eps
// buf = momentum·buf + g/d, p −= lr·buf (momentum)  or  p −= lr·g/d
class RMSprop : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    RMSpropOptions options;
  };
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});
  explicit RMSprop(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, RMSpropOptions options);
  const RMSpropOptions& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  std::vector<RMSpropOptions> options_;
};

}  // namespace sn::optim
