// Loss functions: the functional forms in sn::loss (value and gradient match PyTorch 1.13) and
// small callable loss objects (MSELoss, CrossEntropyLoss, ...) for code that takes a loss as a
// value; the objects are also visible as sn::nn::MSELoss etc. for PyTorch users. Losses are not
// Modules: they take (input, target), and hold no parameters.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "sinapsis/core/tensor.h"

namespace sn::loss {

// None keeps one loss per element (per sample for cross_entropy/nll_loss); Mean and Sum reduce
// to a 0-d tensor. BatchMean (kl_div only) is the sum divided by the batch size, the
// mathematically correct KL divergence per sample.
enum class Reduction { None, Mean, Sum, BatchMean };

// Options: fields in this order, so designated initializers read
// `{.weight = w, .label_smoothing = 0.1, .reduction = loss::Reduction::Sum}`.
struct Options {
  Reduction reduction = Reduction::Mean;
};
struct HuberOptions {
  double delta = 1.0;  // where the loss turns from quadratic to linear
  Reduction reduction = Reduction::Mean;
};
struct SmoothL1Options {
  double beta = 1.0;  // huber / beta; beta = 0 is plain L1
  Reduction reduction = Reduction::Mean;
};
struct BCEOptions {
  Tensor weight = {};  // broadcastable to the input: a rescaling weight per element
  Reduction reduction = Reduction::Mean;
};
struct BCEWithLogitsOptions {
  Tensor weight = {};      // broadcastable to the input
  Tensor pos_weight = {};  // weight of positive examples, broadcastable (usually [C])
  Reduction reduction = Reduction::Mean;
};
struct CrossEntropyOptions {
  Tensor weight = {};            // [C] class weights
  int64_t ignore_index = -100;   // class-index targets equal to this add nothing
  double label_smoothing = 0.0;  // in [0, 1]: targets become (1-ε)·y + ε/C
  Reduction reduction = Reduction::Mean;
};
struct NLLOptions {
  Tensor weight = {};  // [C]
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};
struct KLDivOptions {
  Reduction reduction = Reduction::Mean;
  bool log_target = false;  // the target is given as log-probabilities
};

// ---- regression (input and target of the same shape) ----
// (x - y)²
Tensor mse(const Tensor& input, const Tensor& target, Options opts = {});
// |x - y|
Tensor l1(const Tensor& input, const Tensor& target, Options opts = {});
// ½d² where |d| < δ, else δ(|d| - ½δ), d = x - y
Tensor huber(const Tensor& input, const Tensor& target, HuberOptions opts = {});
// ½d²/β where |d| < β, else |d| - ½β
Tensor smooth_l1(const Tensor& input, const Tensor& target, SmoothL1Options opts = {});

// ---- binary classification ----
// On probabilities p in [0, 1]: -w·(y·log p + (1-y)·log(1-p)), each log clamped at -100 as
// PyTorch, so p = 0 or 1 gives a finite loss.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, BCEOptions opts = {});
// On logits x, computed stably: -w·(pw·y·log σ(x) + (1-y)·log(1-σ(x))).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        BCEWithLogitsOptions opts = {});

// ---- multi-class ----
// Logits [N, C] or [N, C, d...] (or [C] for one sample). The target is either int64 class
// indices [N, d...] or float probabilities / one-hot of the input's shape. One fused, stable
// log-softmax + NLL kernel; its backward is (softmax - target), scaled.
Tensor cross_entropy(const Tensor& input, const Tensor& target, CrossEntropyOptions opts = {});
// On log-probabilities (e.g. from log_softmax): -w[y]·input[y]; mean divides by Σ w[y].
Tensor nll_loss(const Tensor& input, const Tensor& target, NLLOptions opts = {});
// KL(target ‖ input) pointwise with the input as log-probabilities: y·(log y - x) (0 where
// y = 0), or e^y·(y - x) with log_target.
Tensor kl_div(const Tensor& input, const Tensor& target, KLDivOptions opts = {});

const char* reduction_name(Reduction r);

// ---------------------------------------------------------------------------------------------
// Loss objects: `loss::CrossEntropyLoss ce({.label_smoothing = 0.1}); auto l = ce(logits, y);`
class Loss {
 public:
  virtual ~Loss() = default;
  virtual Tensor forward(const Tensor& input, const Tensor& target) const = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) const {
    return forward(input, target);
  }
  virtual std::string to_string() const = 0;  // "CrossEntropyLoss(reduction=mean)"
};

class MSELoss : public Loss {
 public:
  explicit MSELoss(Options opts = {}) : opts_(opts) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  Options opts_;
};

class L1Loss : public Loss {
 public:
  explicit L1Loss(Options opts = {}) : opts_(opts) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  Options opts_;
};

class HuberLoss : public Loss {
 public:
  explicit HuberLoss(HuberOptions opts = {}) : opts_(opts) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  HuberOptions opts_;
};

class SmoothL1Loss : public Loss {
 public:
  explicit SmoothL1Loss(SmoothL1Options opts = {}) : opts_(opts) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  SmoothL1Options opts_;
};

class BCELoss : public Loss {
 public:
  explicit BCELoss(BCEOptions opts = {}) : opts_(std::move(opts)) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  BCEOptions opts_;
};

class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(BCEWithLogitsOptions opts = {}) : opts_(std::move(opts)) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  BCEWithLogitsOptions opts_;
};

class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions opts = {}) : opts_(std::move(opts)) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  CrossEntropyOptions opts_;
};

class NLLLoss : public Loss {
 public:
  explicit NLLLoss(NLLOptions opts = {}) : opts_(std::move(opts)) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  NLLOptions opts_;
};

class KLDivLoss : public Loss {
 public:
  explicit KLDivLoss(KLDivOptions opts = {}) : opts_(opts) {}
  Tensor forward(const Tensor& input, const Tensor& target) const override;
  std::string to_string() const override;

 private:
  KLDivOptions opts_;
};

}  // namespace sn::loss

// PyTorch users look for the loss classes in nn.
namespace sn::nn {
using loss::BCELoss;
using loss::BCEWithLogitsLoss;
using loss::CrossEntropyLoss;
using loss::HuberLoss;
using loss::KLDivLoss;
using loss::L1Loss;
using loss::MSELoss;
using loss::NLLLoss;
using loss::SmoothL1Loss;
}  // namespace sn::nn
