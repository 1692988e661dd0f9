// SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay
// and maximize, with PyTorch 1.13 semantics (the first momentum step sets buf = grad).
// Online, mini-batch and full-batch training are this same optimizer fed different batches.
#pragma once
#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2 penalty added to the gradient
  bool nesterov = false;      // needs momentum > 0 and dampening == 0
  bool maximize = false;      // ascend instead of descend
};

// g = ±grad + wd·p;  buf = g (first step) or momentum·buf + (1 − dampening)·g;
// g = g + momentum·buf (Nesterov) or buf;  p −= lr·g
class SGD : public Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    SGDOptions options;
  };
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  explicit SGD(std::vector<Group> groups);
  void add_param_group(std::vector<Tensor> params, SGDOptions options);
  const SGDOptions& options(size_t group = 0) const;

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;

 private:
  std::vector<SGDOptions> options_;
};

}  // namespace sn::optim
