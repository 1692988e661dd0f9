// Containers: Sequential (a chain, positional or named), Residual (x + f(x)), Parallel
// (branches on the same input, outputs concatenated: inception-style). They own their
// children through ModulePtr (see module.h) and add no parameters of their own.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "sinapsis/nn/module.h"

namespace sn::nn {

// Runs its children in order, each on the previous one's output.
//   nn::Sequential({nn::Linear(4, 8), nn::ReLU()})                  // children "0", "1"
//   nn::Sequential({{"fc1", nn::Linear(4, 8)}, {"act", nn::ReLU()}})  // named children
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> modules);
  Sequential(std::initializer_list<std::pair<std::string, ModulePtr>> named_modules);
  explicit Sequential(const std::vector<ModulePtr>& modules);

  Tensor forward(const Tensor& x) override;
  // Each child's call() on the previous one's output: a (data, state...) value flows through,
  // the state taken and given back by the layers that have one (see value.h).
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "Sequential"; }

  // Adds a module at the end, named by its position (or by `name`).
  Sequential& append(ModulePtr module);
  Sequential& append(std::string name, ModulePtr module);

  size_t size() const { return named_children().size(); }
  bool empty() const { return size() == 0; }
  // The i-th child; a negative i counts from the end. IndexError when out of range.
  Module& operator[](int64_t i) const { return *ptr(i); }
  Module& operator[](const std::string& name) const;
  std::shared_ptr<Module> ptr(int64_t i) const;
  // The i-th child as its concrete type; ValueError when it is another type.
  template <typename M>
  M& at(int64_t i) const {
    auto* m = dynamic_cast<M*>(ptr(i).get());
    if (!m) bad_cast(i, typeid(M).name());
    return *m;
  }

 private:
  [[noreturn]] void bad_cast(int64_t i, const char* wanted) const;
};

// y = body(x) + shortcut(x), shortcut = identity when not given (a ResNet block's projection
// otherwise). The two outputs must have the same shape.
class Residual : public Module {
 public:
  explicit Residual(ModulePtr body, ModulePtr shortcut = ModulePtr());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Residual"; }
  Module& body() const { return *body_; }

 private:
  std::shared_ptr<Module> body_, shortcut_;
};

// Every branch sees the same input; the outputs are concatenated along `dim` (channels, dim 1,
// by default), so they must agree on every other dim.
class Parallel : public Module {
 public:
  Parallel(std::initializer_list<ModulePtr> branches, int64_t dim = 1);
  explicit Parallel(const std::vector<ModulePtr>& branches, int64_t dim = 1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Parallel"; }
  std::string extra_repr() const override;
  Parallel& append(ModulePtr branch);
  size_t size() const { return named_children().size(); }
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

}  // namespace sn::nn
