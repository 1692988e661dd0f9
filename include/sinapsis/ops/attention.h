// Scaled dot-product attention as one fused op (forward and backward kernels), with the masks
// of PyTorch 2's torch.nn.functional.scaled_dot_product_attention. The module-level attention
// (MultiheadAttention, transformer layers) builds on it; their masks follow PyTorch 1.13's
// modules instead (true = masked out) and are converted there, not here.
#pragma once
#include <optional>

#include "sinapsis/core/tensor.h"

namespace sn {

struct AttentionOptions {
  // Broadcastable to [..., L, S]. bool: true = the key takes part (PyTorch 2's convention),
  // false = masked out. float (the inputs' dtype): added to the scores (-inf masks out).
  // Undefined = no mask. A float mask that requires grad gets a gradient.
  Tensor attn_mask{};
  // Causal mask aligned to the bottom-right corner: query i sees keys 0 ... S - L + i (with
  // L == S the usual lower triangle; with S > L the queries are the last L positions of a
  // sequence whose first S - L keys are cached, as in generation with a key/value cache).
  // Combined with attn_mask when both are given (a key must pass both).
  bool is_causal = false;
  // Dropout probability on the attention weights, in [0, 1], drawn from sn's generator (one
  // draw per call; the mask itself is regenerated from it in backward, never stored).
  // Applied whenever > 0: modules pass 0 in eval mode.
  double dropout = 0.0;
  // Multiplies q·kᵀ; default 1/sqrt(E).
  std::optional<double> scale{};
};

// softmax(q·kᵀ·scale + mask)·v for q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev].
// The batch dims (...) of q, k and v broadcast against each other. A query row whose keys are
// all masked out gives 0 (not NaN), and no gradient flows through it.
// The L x S weights are never kept: forward keeps each row's log-sum-exp and backward recomputes
// the weights tile by tile (memory linear in L + S per head). float32 and float64.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

}  // namespace sn
