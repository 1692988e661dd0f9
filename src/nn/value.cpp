// nn::Value's checked accessors (the type itself is in value.h).
#include "sinapsis/nn/value.h"

#include "sinapsis/core/error.h"

namespace sn::nn {

const Tensor& Value::operator[](size_t i) const {
  SN_CHECK(i < items_.size(), IndexError, "Value: item ", i, " is out of range for ", items_.size(),
           " item", items_.size() == 1 ? "" : "s");
  return items_[i];
}

const Tensor& Value::tensor(const char* who) const {
  SN_CHECK(items_.size() == 1, ValueError, who, ": expected one tensor, got ", items_.size(),
           "; hint: take item 0 with [0], or call forward_multi/call for several");
  return items_[0];
}

std::vector<Tensor> Value::rest(size_t from) const {
  if (from >= items_.size()) return {};
  return std::vector<Tensor>(items_.begin() + static_cast<std::ptrdiff_t>(from), items_.end());
}

Value Value::with_first(Tensor first) const {
  Value out = *this;
  if (out.items_.empty())
    out.items_.push_back(std::move(first));
  else
    out.items_[0] = std::move(first);
  return out;
}

}  // namespace sn::nn
