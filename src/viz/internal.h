// Private pieces shared by the viz files: one engine backward observer fanned out to several
// listeners (graph recorders and traces may watch the same pass), the lookup of the tensor
// behind a graph node's output, and number/tensor/text formatting for DOT, SVG and traces.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sinapsis/autograd/node.h"
#include "sinapsis/core/tensor.h"
#include "sinapsis/viz/graph.h"

namespace sn::viz::detail {

using BackwardListener = std::function<void(const autograd::BackwardStep&)>;
// Registers a listener for every backward step (installs the engine observer while any exists).
int add_backward_listener(BackwardListener fn);
void remove_backward_listener(int id);

// Finds the tensor that is output `nr` of `node`: a leaf's own tensor (AccumulateGrad), a
// recorder's, one of the user's tensors, or one kept by retain_grad.
class TensorLookup {
 public:
  TensorLookup(const GraphRecorder* recorder, const std::vector<Tensor>& tensors);
  Tensor find(const Node* node, uint32_t nr) const;

 private:
  const GraphRecorder* recorder_;
  std::unordered_map<const Node*, std::vector<std::pair<uint32_t, Tensor>>> by_node_;
};

// "%.{precision}g" without trailing noise; integers print without a decimal point.
std::string format_number(double v, int precision);
// "2", "[1, 2, 3]", "[[1, 2], [3, 4]]", or "<[64, 10]>" when larger than max_elements.
std::string format_tensor(const Tensor& t, int precision, int64_t max_elements);
std::string shape_text(const Shape& s);  // "scalar" for 0-d, else "[2, 3]"
std::string xml_escape(const std::string& s);
// Concatenation by append: GCC 12 warns (-Wrestrict, a false positive) on "lit" + std::string.
template <typename... Parts>
std::string join(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}
std::string dot_escape(const std::string& s);

}  // namespace sn::viz::detail
