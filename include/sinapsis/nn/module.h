// nn::Module: the base of every layer and model — named parameters, buffers and child modules,
// train/eval, state_dict, printing and a Keras-style summary. Also ModulePtr (how containers
// take ownership) and StateDict. The layers themselves live in layers.h, activation.h and
// container.h; this file deliberately holds no math.
#pragma once
#include <concepts>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/nn/value.h"

namespace sn::nn {

class Module;

// ---------------------------------------------------------------------------------------------
// How modules are held.
//
// A layer is an ordinary C++ object: `nn::Linear fc(4, 2); fc(x);`. Containers and parents own
// their children through std::shared_ptr<Module>. ModulePtr is the argument type that makes
// this painless: it is made either from a module VALUE (a temporary such as `nn::ReLU()`, moved
// into a new shared_ptr) or from an existing std::shared_ptr (shared, e.g. for weight tying).
//
//   auto model = nn::Sequential({nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 10)});
//   model(x);  model.parameters();  model[0];  model.at<nn::Linear>(0).weight();
//
// Modules cannot be copied (a copy would silently share or duplicate weights); pass them by
// reference, or hold them in a shared_ptr. A named lvalue is moved in with std::move.
class ModulePtr {
 public:
  ModulePtr() = default;
  template <typename M>
  requires std::derived_from<M, Module> ModulePtr(M&& module)
      : ptr_(std::make_shared<M>(std::move(module))) {}  // NOLINT: implicit
  template <typename M>
  requires std::derived_from<M, Module> ModulePtr(std::shared_ptr<M> module)
      : ptr_(std::move(module)) {}  // NOLINT: implicit

  Module* get() const { return ptr_.get(); }
  Module* operator->() const { return ptr_.get(); }
  Module& operator*() const { return *ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }
  const std::shared_ptr<Module>& shared() const { return ptr_; }
  operator std::shared_ptr<Module>() const { return ptr_; }  // NOLINT: implicit

 private:
  std::shared_ptr<Module> ptr_;
};

// ---------------------------------------------------------------------------------------------
// Name -> tensor, in insertion order (registration order for a model), like PyTorch's
// OrderedDict. Lookup by name is O(1).
class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;
  void insert(std::string key, Tensor value);  // replaces the value of an existing key
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  const Tensor& at(const std::string& key) const;  // IndexError naming the key when absent
  Tensor& operator[](const std::string& key);      // inserts an undefined tensor when absent
  bool erase(const std::string& key);
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
};

// What a non-strict load_state_dict skipped.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the model, not in the dict
  std::vector<std::string> unexpected_keys;  // in the dict, not in the model
};

// Called after a module's forward: (module, input, output).
using ForwardHook = std::function<void(Module&, const Tensor&, const Tensor&)>;

// ---------------------------------------------------------------------------------------------
// The base class. A user model subclasses it, registers its parts in the constructor and
// overrides forward:
//
//   struct Net : nn::Module {
//     std::shared_ptr<nn::Linear> fc1, fc2;
//     Net() {
//       fc1 = register_module("fc1", nn::Linear(4, 8));   // returns std::shared_ptr<Linear>
//       fc2 = register_module("fc2", nn::Linear(8, 1));
//     }
//     Tensor forward(const Tensor& x) override { return (*fc2)(sn::relu((*fc1)(x))); }
//   };
//
// Call children through operator() (not ->forward) so forward hooks and summary() see them.
class Module {
 public:
  virtual ~Module();

  // The computation. The default throws: a module meant to be called must override it.
  virtual Tensor forward(const Tensor& x);
  // forward(x), plus any forward hooks (none by default: one branch of overhead).
  Tensor operator()(const Tensor& x) {
    if (hooks_.empty()) [[likely]]
      return forward(x);
    return call_with_hooks(x);
  }
  // Several tensors in and out (see value.h): item 0 is the data, the rest is state. The
  // default runs forward(in[0]) and passes the other items through unchanged, so one-tensor
  // layers carry a recurrent layer's state along. A module with several inputs or outputs
  // (LSTM: {x, h0, c0} -> {y, h_n, c_n}) overrides this AND forward (its main output alone).
  virtual Value forward_multi(const Value& in);
  // forward_multi(in), plus any forward hooks (they see item 0 of the input and the output).
  Value call(const Value& in);

  // ---- identity and printing ----
  // Class name, e.g. "Linear". The default demangles the C++ type, so user classes print
  // under their own name.
  virtual std::string type_name() const;
  // The inside of the parentheses in the PyTorch-style repr: "in_features=4, out_features=2,
  // bias=True". Empty by default.
  virtual std::string extra_repr() const { return ""; }
  // Short description used in error messages, e.g. "Linear(400 → 120)". Default: type_name().
  virtual std::string brief() const { return type_name(); }
  // Dotted path of this module inside the model it was registered into ("encoder.fc1"); empty
  // for a root.
  const std::string& path() const { return path_; }
  // brief() plus the path: "Linear(400 → 120) 'fc1'", the prefix of every layer error.
  std::string label() const;
  // The PyTorch-style tree: "Sequential(\n  (0): Linear(in_features=...)\n  ...\n)".
  std::string to_string() const;
  // Keras-style table (layer, output shape, parameter count, totals) found by running a
  // forward pass on zeros of `input_shape` (batch included) without recording gradients, in
  // eval mode (the modes are restored afterwards).
  std::string summary(const Shape& input_shape, DType dtype = kFloat32);

  // ---- registration (call from a subclass constructor) ----
  // Names must be non-empty, contain no '.', and be unique within the module.
  Tensor register_parameter(std::string name, Tensor value, bool requires_grad = true);
  // Buffers are state that is not trained (running statistics, masks). Non-persistent ones
  // are left out of state_dict.
  Tensor register_buffer(std::string name, Tensor value, bool persistent = true);
  template <typename M>
  requires std::derived_from<M, Module> std::shared_ptr<M> register_module(std::string name,
                                                                           M&& module) {
    auto p = std::make_shared<M>(std::move(module));
    add_child(std::move(name), p);
    return p;
  }
  template <typename M>
  requires std::derived_from<M, Module> std::shared_ptr<M> register_module(
      std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }

  // ---- traversal (registration order; a tensor or module shared by two parents once) ----
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  // This module (name "") and every descendant, depth first.
  std::vector<std::pair<std::string, Module*>> named_modules();
  // Number of parameter elements.
  int64_t num_parameters(bool trainable_only = false) const;

  // ---- modes and bulk operations ----
  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad(bool set_to_none = true);
  // fn on every descendant, then on this module (PyTorch's order).
  void apply(const std::function<void(Module&)>& fn);
  // Converts every floating-point parameter and buffer to `dtype` in place: tensors handed
  // out before stay valid and see the new data. Gradients are dropped.
  void to(DType dtype);
  // Moves every parameter and buffer (and any gradient) to `device` in place, as to(dtype).
  // An optimizer made afterwards keeps its state on the parameters' device.
  void to(Device device);
  void to(const char* device) { to(Device(device)); }

  // ---- checkpoints ----
  // Parameters and persistent buffers by dotted name, sharing storage with the model.
  StateDict state_dict() const;
  // Copies values in (converting dtype). Every missing, unexpected and shape-mismatched key is
  // reported in one ValueError; nothing is written unless the whole load succeeds. With
  // strict=false, missing and unexpected keys are returned instead (shape mismatches still
  // throw).
  LoadResult load_state_dict(const StateDict& dict, bool strict = true);

  // ---- hooks ----
  int add_forward_hook(ForwardHook hook);  // returns an id for remove_forward_hook
  void remove_forward_hook(int id);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

 protected:
  Module() = default;
  // Protected so a module cannot be sliced into a plain Module; subclasses stay movable,
  // which is what lets ModulePtr and register_module take temporaries.
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

 private:
  struct Slot {
    std::string name;
    Tensor value;
    bool persistent = true;  // buffers only
  };
  void add_child(std::string name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name, const char* what) const;
  void set_path(const std::string& path);
  Tensor call_with_hooks(const Tensor& x);
  void collect_tensors(const std::string& prefix, bool params, bool recurse, bool dedupe,
                       bool persistent_only, std::vector<std::pair<std::string, Tensor>>& out,
                       std::unordered_set<const TensorImpl*>& seen,
                       std::unordered_set<const Module*>& seen_modules) const;
  void repr_into(std::string& out, int indent) const;

  std::vector<Slot> params_;
  std::vector<Slot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  int next_hook_id_ = 0;
  bool training_ = true;
  std::string path_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace sn::nn
