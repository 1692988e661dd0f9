// LBFGS: limited-memory BFGS with an optional strong-Wolfe line search (cubic interpolation and
// zoom), matching torch.optim.LBFGS 1.13. Full-batch only: step(closure) re-evaluates the loss
// many times. One parameter group; all parameters must share one floating dtype.
#pragma once
#include "sinapsis/optim/optimizer.h"

namespace sn::optim {

enum class LineSearch { None, StrongWolfe };

struct LBFGSOptions {
  double lr = 1.0;
  int64_t max_iter = 20;           // iterations per step()
  int64_t max_eval = -1;           // closure calls per step(); -1 means max_iter * 5 / 4
  double tolerance_grad = 1e-7;    // stop when max |grad| <= this
  double tolerance_change = 1e-9;  // stop when the loss or the step changes less than this
  int64_t history_size = 100;      // (s, y) pairs kept
  LineSearch line_search = LineSearch::None;  // None: fixed step lr
};

class LBFGS : public Optimizer {
 public:
  explicit LBFGS(std::vector<Tensor> params, LBFGSOptions options = {});
  const LBFGSOptions& options() const { return options_; }
  // Needs a closure; returns the loss of its first evaluation, as PyTorch does.
  Tensor step(const Closure& closure = nullptr) override;
  int64_t n_iter() const { return n_iter_; }          // iterations over all steps
  int64_t func_evals() const { return func_evals_; }  // closure calls over all steps

 protected:
  void update() override;
  std::vector<std::pair<std::string, double>> group_options(size_t g) const override;
  void set_group_options(size_t g, const std::map<std::string, double>& values) override;
  void save_extra(OptimizerState& state) const override;
  void load_extra(const OptimizerState& state, const std::vector<std::string>& keys) override;

 private:
  LBFGSOptions options_;
  // History and the last direction, as flat tensors in the parameters' dtype.
  Tensor d_, prev_flat_grad_;
  std::vector<Tensor> old_dirs_, old_stps_;    // y and s vectors, oldest first
  std::vector<double> ro_;                     // 1 / (yᵀs) for each pair
  double t_ = 0, h_diag_ = 1, prev_loss_ = 0;  // valid once n_iter_ > 0
  int64_t n_iter_ = 0, func_evals_ = 0;
};

}  // namespace sn::optim
