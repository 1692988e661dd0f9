// Optimizer: the base every optimizer shares - parameter groups (each with its own options),
// per-parameter state, zero_grad, step()/step(closure), and a state_dict made of plain named
// tensors and numbers so checkpoints can store it. It knows no update rule (sgd.h, adam.h, ...)
// and no nn::Module: it works on leaf tensors and their .grad().
#pragma once
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::optim {

// Re-evaluates the model and returns the loss. It should zero the gradients, compute the loss
// and call backward(); step(closure) runs it with grad mode on.
using Closure = std::function<Tensor()>;

// An optimizer's state as plain data (what a checkpoint stores). Keys:
//   scalars["groups"]                number of parameter groups
//   scalars["group.<g>.params"]      number of parameters in group g
//   scalars["group.<g>.<option>"]    every option of group g as a number (bools 0/1, enums by
//                                    index), e.g. "group.0.lr", "group.1.beta1"
//   scalars["state.<i>.step"]        updates applied to parameter i, where i counts the
//                                    parameters of all groups in order (PyTorch's numbering)
//   tensors["state.<i>.<buffer>"]    a state buffer of parameter i, e.g. "state.3.exp_avg"
// LBFGS adds "lbfgs.*" entries (its history). The tensors are copies: later steps do not change
// a state already taken. load_state_dict checks every key, count and shape.
struct OptimizerState {
  std::string optimizer;  // the class that wrote it, e.g. "Adam"
  std::map<std::string, Tensor> tensors;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;  // copies would share state buffers
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) noexcept = default;
  Optimizer& operator=(Optimizer&&) noexcept = default;

  const std::string& name() const { return name_; }

  // One update of every parameter that has a gradient (the others are skipped). With a closure,
  // the closure runs first (grad mode on) and its loss is returned; otherwise an undefined
  // Tensor. The update itself runs under NoGradGuard.
  virtual Tensor step(const Closure& closure = nullptr);
  // Clears every parameter's gradient: drops it (set_to_none) or fills it with zeros.
  void zero_grad(bool set_to_none = true);

  size_t num_param_groups() const { return groups_.size(); }
  const std::vector<Tensor>& params(size_t group) const;
  std::vector<Tensor> parameters() const;  // all groups, in order

  // Learning rate of a group; set_lr(lr) sets every group (what schedulers use).
  double lr(size_t group = 0) const;
  void set_lr(double lr);
  void set_lr(size_t group, double lr);

  // Every option by name, as a number ("lr", "momentum", "beta1", "nesterov" as 0/1, ...), so
  // schedulers and checkpoints need not know the optimizer's type. set_option validates.
  std::vector<std::string> option_names() const;
  bool has_option(const std::string& name) const;
  double option(size_t group, const std::string& name) const;
  void set_option(size_t group, const std::string& name, double value);

  OptimizerState state_dict() const;
  // Restores a state taken from an optimizer of the same type over parameters of the same
  // shapes and grouping. All or nothing: on error nothing is changed.
  void load_state_dict(const OptimizerState& state);

 protected:
  struct ParamState {
    double step = 0;
    std::vector<Tensor> buffers;  // indexed like buffer_names; undefined until first needed
  };

  Optimizer(std::string name, std::vector<std::string> buffer_names);

  // Appends a group after checking its tensors (defined, floating point, leaf, not already
  // optimized). The derived class appends the group's options right after.
  void add_group(std::vector<Tensor> params);
  // The update rule; called by step() under NoGradGuard.
  virtual void update() = 0;
  // The options of group g as (name, number) pairs, always in the same order.
  virtual std::vector<std::pair<std::string, double>> group_options(size_t g) const = 0;
  // Sets some options of group g (names already checked), validating the result.
  virtual void set_group_options(size_t g, const std::map<std::string, double>& values) = 0;
  // Extra (non per-parameter) state; the default has none and rejects unknown keys.
  virtual void save_extra(OptimizerState& state) const;
  virtual void load_extra(const OptimizerState& state, const std::vector<std::string>& keys);

  // The state buffer `slot` of a parameter, created on first use filled with `init`.
  Tensor& buffer(ParamState& st, size_t slot, const Tensor& param, double init = 0.0);
  // Reads one option out of a values map when present (for set_group_options).
  static void take(const std::map<std::string, double>& values, const char* name, double& out);
  static void take(const std::map<std::string, double>& values, const char* name, bool& out);
  static void take(const std::map<std::string, double>& values, const char* name, int64_t& out);

  std::vector<std::vector<Tensor>> groups_;
  std::vector<std::vector<ParamState>> state_;  // parallel to groups_

 private:
  std::string name_;
  std::vector<std::string> buffer_names_;
};

}  // namespace sn::optim
