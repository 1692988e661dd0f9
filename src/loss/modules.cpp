// The loss objects (MSELoss, CrossEntropyLoss, ...): each stores its options, calls the
// functional form and prints like PyTorch's repr. No math here.
#include <sstream>

#include "sinapsis/loss/loss.h"

namespace sn::loss {

namespace {
std::string red(Reduction r) { return std::string("reduction=") + reduction_name(r); }
std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

Tensor MSELoss::forward(const Tensor& x, const Tensor& y) const { return mse(x, y, opts_); }
Tensor L1Loss::forward(const Tensor& x, const Tensor& y) const { return l1(x, y, opts_); }
Tensor HuberLoss::forward(const Tensor& x, const Tensor& y) const { return huber(x, y, opts_); }
Tensor SmoothL1Loss::forward(const Tensor& x, const Tensor& y) const {
  return smooth_l1(x, y, opts_);
}
Tensor BCELoss::forward(const Tensor& x, const Tensor& y) const {
  return binary_cross_entropy(x, y, opts_);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& x, const Tensor& y) const {
  return binary_cross_entropy_with_logits(x, y, opts_);
}
Tensor CrossEntropyLoss::forward(const Tensor& x, const Tensor& y) const {
  return cross_entropy(x, y, opts_);
}
Tensor NLLLoss::forward(const Tensor& x, const Tensor& y) const { return nll_loss(x, y, opts_); }
Tensor KLDivLoss::forward(const Tensor& x, const Tensor& y) const { return kl_div(x, y, opts_); }

std::string MSELoss::to_string() const { return "MSELoss(" + red(opts_.reduction) + ")"; }
std::string L1Loss::to_string() const { return "L1Loss(" + red(opts_.reduction) + ")"; }
std::string HuberLoss::to_string() const {
  return "HuberLoss(delta=" + num(opts_.delta) + ", " + red(opts_.reduction) + ")";
}
std::string SmoothL1Loss::to_string() const {
  return "SmoothL1Loss(beta=" + num(opts_.beta) + ", " + red(opts_.reduction) + ")";
}
std::string BCELoss::to_string() const {
  return std::string("BCELoss(") + (opts_.weight.defined() ? "weight, " : "") +
         red(opts_.reduction) + ")";
}
std::string BCEWithLogitsLoss::to_string() const {
  return std::string("BCEWithLogitsLoss(") + (opts_.weight.defined() ? "weight, " : "") +
         (opts_.pos_weight.defined() ? "pos_weight, " : "") + red(opts_.reduction) + ")";
}
std::string CrossEntropyLoss::to_string() const {
  std::string s = "CrossEntropyLoss(";
  if (opts_.weight.defined()) s += "weight, ";
  if (opts_.ignore_index != -100) s += "ignore_index=" + std::to_string(opts_.ignore_index) + ", ";
  if (opts_.label_smoothing != 0) s += "label_smoothing=" + num(opts_.label_smoothing) + ", ";
  return s + red(opts_.reduction) + ")";
}
std::string NLLLoss::to_string() const {
  std::string s = "NLLLoss(";
  if (opts_.weight.defined()) s += "weight, ";
  if (opts_.ignore_index != -100) s += "ignore_index=" + std::to_string(opts_.ignore_index) + ", ";
  return s + red(opts_.reduction) + ")";
}
std::string KLDivLoss::to_string() const {
  return "KLDivLoss(" + red(opts_.reduction) + (opts_.log_target ? ", log_target=True" : "") + ")";
}

}  // namespace sn::loss
