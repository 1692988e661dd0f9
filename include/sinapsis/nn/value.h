// nn::Value: what flows between modules when one tensor is not enough — a recurrent layer's
// (x, state) in and (y, state) out, attention's (query, key, value, masks). It is a small tuple of
// tensors, nothing more: no names, no nesting, no types other than Tensor. An undefined Tensor
// in a slot means "not given" (no initial state, no mask).
//
// The convention every module follows (Module::forward_multi): item 0 is the data, the items
// after it are state that rides along. A module that only knows one tensor transforms item 0 and
// passes the rest through unchanged, so Sequential(Embedding, LSTM, Linear) carries an LSTM's
// state through the layers around it without special cases:
//   model.call({tokens})          -> {logits, h_n, c_n}
//   model.call({tokens, h, c})    -> {logits, h_n', c_n'}   (continues from (h, c))
#pragma once
#include <cstddef>
#include <initializer_list>
#include <utility>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::nn {

class Value {
 public:
  Value() = default;
  Value(Tensor t) { items_.push_back(std::move(t)); }             // NOLINT: implicit, one tensor
  Value(std::vector<Tensor> items) : items_(std::move(items)) {}  // NOLINT: implicit
  Value(std::initializer_list<Tensor> items) : items_(items) {}

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Slot i; IndexError naming the size when out of range. The slot may hold an undefined
  // tensor ("not given"): test with has(i).
  const Tensor& operator[](size_t i) const;
  // True when slot i exists and holds a defined tensor.
  bool has(size_t i) const { return i < items_.size() && items_[i].defined(); }
  // The one tensor of a single-item value; ValueError naming `who` and the size otherwise.
  const Tensor& tensor(const char* who = "Value") const;
  const std::vector<Tensor>& items() const { return items_; }
  std::vector<Tensor>& items() { return items_; }
  // Items [from, size()): the state part of a (data, state...) value.
  std::vector<Tensor> rest(size_t from = 1) const;
  // This value with item 0 replaced: what a one-tensor module returns for (x, state...).
  Value with_first(Tensor first) const;
  void push_back(Tensor t) { items_.push_back(std::move(t)); }

 private:
  std::vector<Tensor> items_;
};

}  // namespace sn::nn
