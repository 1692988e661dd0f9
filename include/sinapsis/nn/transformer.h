// Attention and transformer layers as PyTorch 1.13 defines them — MultiheadAttention,
// TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder —
// with the same parameter names, layouts and defaults, so a PyTorch state_dict (saved as
// safetensors) loads with load_state_dict and gives the same outputs. The attention arithmetic
// itself is the op sn::scaled_dot_product_attention; these modules add the projections, masks,
// residuals and norms. The nn.Transformer wrapper (encoder + decoder) is left out.
//
// MASKS: two conventions, on purpose the ones PyTorch uses in each place.
//   * The modules here (PyTorch 1.13's nn.MultiheadAttention and nn.Transformer*): a bool mask's
//     true means "masked OUT" (this query may not look at this key; this key is padding); a
//     float mask is ADDED to the attention scores (0 = allowed, -inf = masked out).
//   * The function sn::scaled_dot_product_attention (PyTorch 2's function of that name): a bool
//     mask's true means "takes part"; a float mask is added.
//   So a causal mask for these modules is "key after query" = true:
//     Tensor causal = sn::gt(sn::arange(T).unsqueeze(0), sn::arange(T).unsqueeze(1));  // [T, T]
//   or simply set `causal` (a sinapsis extension, see MultiheadAttentionOptions).
//   attn_mask is [L, S] (every batch and head) or [N·num_heads, L, S] (PyTorch's layout: batch
//   major, then head); key_padding_mask is [N, S] ([S] for an unbatched input).
//   Unlike PyTorch 1.13 (which gives NaN), a query whose keys are all masked out attends to
//   nothing: its attention output is 0 (so the module output is out_proj's bias), its weights are
//   0 and no NaN reaches any gradient.
//
// Shapes: L target (query) length, S source (key) length, N batch, E embed_dim. Inputs are
// [L, N, E] (batch_first = false, PyTorch's default), [N, L, E] (batch_first = true) or [L, E]
// (unbatched).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

#include "sinapsis/nn/layers.h"
#include "sinapsis/nn/module.h"
#include "sinapsis/nn/value.h"

namespace sn::nn {

struct MultiheadAttentionOptions {
  double dropout = 0.0;        // on the attention weights, in training only
  bool bias = true;            // in_proj_bias and out_proj.bias
  bool add_bias_kv = false;    // learned bias_k, bias_v [1, 1, E] appended to the keys/values
  bool add_zero_attn = false;  // a zero key/value appended (after bias_kv), as PyTorch
  int64_t kdim = 0;            // key features; 0 = embed_dim
  int64_t vdim = 0;            // value features; 0 = embed_dim
  bool batch_first = false;
  // What call() returns and averages (forward(q, k, v, ...) takes them per call instead).
  bool need_weights = true;
  bool average_attn_weights = true;
  // sinapsis extension: every call also masks out the keys after each query (GPT-style
  // self-attention; needs L == S). PyTorch 1.13 has no such option: pass an attn_mask there.
  bool causal = false;
};

// The per-call arguments of MultiheadAttention::forward(query, key, value, args).
struct AttentionCall {
  Tensor key_padding_mask{};  // [N, S] / [S]: bool true = this key is padding; float = added
  Tensor attn_mask{};         // [L, S] or [N·heads, L, S]: bool true = masked out; float = added
  bool need_weights = true;
  bool average_attn_weights = true;  // weights [N, L, S] (mean over heads) or [N, heads, L, S]
  bool causal = false;               // added to the module's own `causal` option
};

// Multi-head attention (Vaswani et al.), PyTorch 1.13's nn.MultiheadAttention:
//   q = query·Wqᵀ + bq, k = key·Wkᵀ + bk, v = value·Wvᵀ + bv, split into heads of E/heads dims;
//   head_h = softmax(q_h·k_hᵀ/√(E/heads) + mask)·v_h;  out = concat(heads)·Woᵀ + bo.
// Parameters, in PyTorch's order: in_proj_weight [3E, E] (when kdim == vdim == E) or
// q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]; in_proj_bias [3E];
// bias_k, bias_v [1, 1, E] (add_bias_kv); out_proj (a Linear: out_proj.weight, out_proj.bias).
// Init as PyTorch: xavier_uniform_ on the input projections, zero biases, out_proj.weight as a
// Linear's, bias_k/bias_v xavier_normal_.
// Without need_weights the fused attention op does the work; with it the composed path
// (matmul, softmax) that can return the probabilities, as PyTorch.
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, MultiheadAttentionOptions opts = {});

  // (attn_output [like query], attn_weights or an undefined tensor without need_weights).
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const AttentionCall& args = {});
  // Self-attention output of x (query = key = value = x), no weights, no masks but `causal`.
  Tensor forward(const Tensor& x) override;
  // {query, key, value, key_padding_mask, attn_mask} -> {attn_output, attn_weights}; key and
  // value may be left out (or undefined) for self-attention, the masks too. The weights slot is
  // undefined when options().need_weights is false.
  Value forward_multi(const Value& in) override;

  std::string type_name() const override { return "MultiheadAttention"; }
  std::string extra_repr() const override;
  std::string brief() const override;

  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  int64_t head_dim() const { return embed_dim_ / num_heads_; }
  const MultiheadAttentionOptions& options() const { return opts_; }
  MultiheadAttentionOptions& options() { return opts_; }     // need_weights etc. may change
  bool packed() const { return in_proj_weight_.defined(); }  // kdim == vdim == E
  const Tensor& in_proj_weight() const { return in_proj_weight_; }
  const Tensor& q_proj_weight() const { return q_proj_weight_; }
  const Tensor& k_proj_weight() const { return k_proj_weight_; }
  const Tensor& v_proj_weight() const { return v_proj_weight_; }
  const Tensor& in_proj_bias() const { return in_proj_bias_; }
  const Tensor& bias_k() const { return bias_k_; }
  const Tensor& bias_v() const { return bias_v_; }
  Linear& out_proj() const { return *out_proj_; }
  void reset_parameters();

 private:
  int64_t embed_dim_, num_heads_, kdim_, vdim_;
  MultiheadAttentionOptions opts_;
  Tensor in_proj_weight_, q_proj_weight_, k_proj_weight_, v_proj_weight_, in_proj_bias_;
  Tensor bias_k_, bias_v_;
  std::shared_ptr<Linear> out_proj_;
};

enum class TransformerActivation { ReLU, GELU };

// The options of TransformerEncoderLayer and TransformerDecoderLayer (PyTorch's defaults).
struct TransformerLayerOptions {
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  TransformerActivation activation = TransformerActivation::ReLU;
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x)))
  bool causal = false;      // sinapsis extension: the self-attention is causal on every call
};

// PyTorch 1.13's nn.TransformerEncoderLayer: self-attention then a feed-forward block
// (linear1 -> activation -> dropout -> linear2), each with dropout, a residual and a LayerNorm.
//   post-norm: x = norm1(x + sa(x)); x = norm2(x + ff(x))
//   pre-norm:  x = x + sa(norm1(x)); x = x + ff(norm2(x))
// Children (state_dict names): self_attn, linear1, dropout, linear2, norm1, norm2, dropout1,
// dropout2.
class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions opts = {});
  Tensor forward(const Tensor& src) override;
  Tensor forward(const Tensor& src, const Tensor& src_mask,
                 const Tensor& src_key_padding_mask = Tensor());
  // {src, src_mask, src_key_padding_mask} -> {y, src_mask, src_key_padding_mask}: the masks ride
  // along (the value convention), so layers chain in a Sequential.
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "TransformerEncoderLayer"; }
  std::string extra_repr() const override;
  std::string brief() const override;
  // A deep copy: same options, the same parameter values in storage of its own (PyTorch's
  // copy.deepcopy, which TransformerEncoder uses to make its layers).
  std::shared_ptr<TransformerEncoderLayer> clone() const;

  int64_t d_model() const { return d_model_; }
  int64_t nhead() const { return nhead_; }
  const TransformerLayerOptions& options() const { return opts_; }
  MultiheadAttention& self_attn() const { return *self_attn_; }
  Linear& linear1() const { return *linear1_; }
  Linear& linear2() const { return *linear2_; }
  LayerNorm& norm1() const { return *norm1_; }
  LayerNorm& norm2() const { return *norm2_; }

 private:
  int64_t d_model_, nhead_;
  TransformerLayerOptions opts_;
  std::shared_ptr<MultiheadAttention> self_attn_;
  std::shared_ptr<Linear> linear1_, linear2_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
};

// PyTorch 1.13's nn.TransformerDecoderLayer: self-attention on the target, attention from the
// target to the encoder's output (memory), then the feed-forward block; residuals and norms as
// the encoder layer (norm1, norm2, norm3). Children: self_attn, multihead_attn, linear1,
// dropout, linear2, norm1, norm2, norm3, dropout1, dropout2, dropout3.
class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions opts = {});
  // Needs the memory: a ValueError that says to use call({tgt, memory, ...}).
  Tensor forward(const Tensor& tgt) override;
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(),
                 const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor());
  // {tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask}
  //   -> {y, memory, masks...} (everything after the data rides along).
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "TransformerDecoderLayer"; }
  std::string extra_repr() const override;
  std::string brief() const override;
  std::shared_ptr<TransformerDecoderLayer> clone() const;  // a deep copy, as the encoder's

  int64_t d_model() const { return d_model_; }
  int64_t nhead() const { return nhead_; }
  const TransformerLayerOptions& options() const { return opts_; }
  MultiheadAttention& self_attn() const { return *self_attn_; }
  MultiheadAttention& multihead_attn() const { return *multihead_attn_; }
  Linear& linear1() const { return *linear1_; }
  Linear& linear2() const { return *linear2_; }
  LayerNorm& norm1() const { return *norm1_; }
  LayerNorm& norm2() const { return *norm2_; }
  LayerNorm& norm3() const { return *norm3_; }

 private:
  int64_t d_model_, nhead_;
  TransformerLayerOptions opts_;
  std::shared_ptr<MultiheadAttention> self_attn_, multihead_attn_;
  std::shared_ptr<Linear> linear1_, linear2_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_, dropout3_;
  std::shared_ptr<LayerNorm> norm1_, norm2_, norm3_;
};

// PyTorch 1.13's nn.TransformerEncoder: num_layers deep copies of `layer` (each starts with
// `layer`'s weights, as PyTorch's deepcopy clones; they train apart) run in turn, then the
// optional final `norm` (usually a LayerNorm(d_model); pre-norm stacks need it). Children:
// layers (layers.0, layers.1, ...), norm.
//   TransformerEncoder enc(TransformerEncoderLayer(64, 4, {.dim_feedforward = 256}), 3,
//                          LayerNorm(64));
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayer& layer, int64_t num_layers,
                     ModulePtr norm = ModulePtr());
  Tensor forward(const Tensor& src) override;
  Tensor forward(const Tensor& src, const Tensor& mask,
                 const Tensor& src_key_padding_mask = Tensor());
  // {src, mask, src_key_padding_mask} -> {y, mask, src_key_padding_mask}
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "TransformerEncoder"; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  TransformerEncoderLayer& layer(int64_t i) const;

 private:
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers_;
  std::shared_ptr<Module> norm_;
};

// PyTorch 1.13's nn.TransformerDecoder: num_layers deep copies of `layer`, then `norm`.
class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerDecoderLayer& layer, int64_t num_layers,
                     ModulePtr norm = ModulePtr());
  Tensor forward(const Tensor& tgt) override;  // a ValueError: the decoder needs the memory
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(),
                 const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor());
  // {tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask}
  //   -> {y, memory, masks...}
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "TransformerDecoder"; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  TransformerDecoderLayer& layer(int64_t i) const;

 private:
  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers_;
  std::shared_ptr<Module> norm_;
};

}  // namespace sn::nn
