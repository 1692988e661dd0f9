// Activation modules: each forwards to its op in sinapsis/ops/ops.h (where the Backward node
// and its formula live) and prints its hyper-parameters like PyTorch's repr.
#include "sinapsis/nn/activation.h"

#include <sstream>

#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace {
std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // PyTorch style: 1 -> 1.0
  return s;
}
}  // namespace

Tensor Step::forward(const Tensor& x) { return step(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
Tensor ELU::forward(const Tensor& x) { return elu(x, alpha_); }
Tensor GELU::forward(const Tensor& x) { return gelu(x, tanh_); }
Tensor SiLU::forward(const Tensor& x) { return silu(x); }
Tensor Softplus::forward(const Tensor& x) { return softplus(x, beta_, threshold_); }
// A dim that does not exist in the input is the usual mistake here: say which layer it was.
Tensor Softmax::forward(const Tensor& x) {
  if (x.dim() > 0 && (dim_ >= x.dim() || dim_ < -x.dim())) [[unlikely]]
    SN_THROW(IndexError, label(), ": dim ", dim_, " is out of range for an input of shape ",
             x.shape());
  return softmax(x, dim_);
}
Tensor LogSoftmax::forward(const Tensor& x) {
  if (x.dim() > 0 && (dim_ >= x.dim() || dim_ < -x.dim())) [[unlikely]]
    SN_THROW(IndexError, label(), ": dim ", dim_, " is out of range for an input of shape ",
             x.shape());
  return log_softmax(x, dim_);
}

std::string LeakyReLU::extra_repr() const { return "negative_slope=" + fmt(slope_); }
std::string ELU::extra_repr() const { return "alpha=" + fmt(alpha_); }
std::string GELU::extra_repr() const {
  return std::string("approximate='") + (tanh_ ? "tanh" : "none") + "'";
}
std::string Softplus::extra_repr() const {
  return "beta=" + fmt(beta_) + ", threshold=" + fmt(threshold_);
}
std::string Softmax::extra_repr() const { return "dim=" + std::to_string(dim_); }
std::string LogSoftmax::extra_repr() const { return "dim=" + std::to_string(dim_); }

}  // namespace sn::nn
