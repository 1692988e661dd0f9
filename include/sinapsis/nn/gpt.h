// nn::GPT: a decoder-only transformer language model (token + learned position embeddings,
// pre-norm blocks with fused causal attention, final LayerNorm, head tied to the token
// embedding), exactly the architecture, initialisation and parameter names of
// shared/reference/char_lm.py --model gpt (nanoGPT's layout), so its saved state_dict loads as is.
// Sampling loops and tokenizers live elsewhere; this file holds the model and its key/value cache.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/nn/container.h"
#include "sinapsis/nn/layers.h"
#include "sinapsis/nn/module.h"

namespace sn::nn {

struct GPTOptions {
  int64_t vocab_size = 0;  // required (> 0)
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;     // a multiple of n_head
  int64_t block_size = 64;  // the longest context (learned positions)
  double dropout = 0.0;     // after the embeddings, on the attention weights and both residuals
  bool bias = false;        // biases in every Linear and LayerNorm (char_lm.py: none)
  bool tie_weights = true;  // logits = x·wteᵀ (char_lm.py); false: an own Linear "lm_head"
  bool gelu_tanh = false;   // the MLP's GELU: exact erf form (false, char_lm.py) or tanh approx.
};

// One pre-norm block, "h.<i>" in the parameter names:
//   x = x + drop(c_proj(attention(ln_1(x))))      c_attn: one Linear n_embd -> 3·n_embd (q, k, v)
//   x = x + drop(mlp_proj(GELU(c_fc(ln_2(x)))))    n_embd -> 4·n_embd -> n_embd
class GPTBlock : public Module {
 public:
  explicit GPTBlock(const GPTOptions& o);
  Tensor forward(const Tensor& x) override;  // x [B, T, C], causal attention over T
  // The same with a key/value cache [B, H, T_past, hd] (undefined: empty); k_cache and
  // v_cache are replaced by the caches with this call's T positions appended.
  Tensor forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache);
  std::string type_name() const override { return "GPTBlock"; }

 private:
  Tensor attend(const Tensor& x, Tensor* k_cache, Tensor* v_cache);
  GPTOptions o_;
  std::shared_ptr<LayerNorm> ln_1_, ln_2_;
  std::shared_ptr<Linear> c_attn_, c_proj_, c_fc_, mlp_proj_;
  std::shared_ptr<Dropout> resid_dropout_;
};

// Parameter names (PyTorch state_dict names of char_lm.py's GPT, loaded directly):
//   wte.weight [V, C], wpe.weight [block, C],
//   h.<i>.ln_1.weight, h.<i>.c_attn.weight [3C, C], h.<i>.c_proj.weight [C, C],
//   h.<i>.ln_2.weight, h.<i>.c_fc.weight [4C, C], h.<i>.mlp_proj.weight [C, 4C], ln_f.weight,
//   with bias = true also the matching .bias entries; with tie_weights = false lm_head.weight
//   [V, C] (+ lm_head.bias). nanoGPT names its MLP projection mlp.c_proj: rename it to load.
// Init: Linear and Embedding weights N(0, 0.02), c_proj and mlp_proj N(0, 0.02/√(2·n_layer)),
// biases 0, LayerNorm weight 1.
class GPT : public Module {
 public:
  explicit GPT(const GPTOptions& options);
  // idx [B, T] int64 token ids, T <= block_size -> logits [B, T, vocab]. No cache.
  Tensor forward(const Tensor& idx) override;
  // Generation with a key/value cache: `caches` holds 2·n_layer tensors (k_0, v_0, k_1, ...),
  // each [B, n_head, T_past, head_dim], or is empty for a fresh start. The new tokens take the
  // positions T_past ... T_past + T - 1 (T_past + T > block_size is an error) and attend to
  // the cached keys too; `caches` is replaced by the extended caches. Returns [B, T, vocab].
  Tensor forward_cached(const Tensor& idx, std::vector<Tensor>& caches);
  // The same through the Value convention (item 0 the data, the rest state):
  //   {idx}                   -> {logits, k_0, v_0, ..., k_{L-1}, v_{L-1}}   (a fresh cache)
  //   {idx, k_0, v_0, ...}    -> {logits, extended caches}                   (continues)
  // Caches are [B, n_head, T_total, head_dim]; T_total <= block_size.
  Value forward_multi(const Value& in) override;
  std::string type_name() const override { return "GPT"; }
  std::string extra_repr() const override;
  std::string brief() const override;

  const GPTOptions& options() const { return o_; }
  int64_t block_size() const { return o_.block_size; }
  int64_t vocab_size() const { return o_.vocab_size; }
  const Embedding& wte() const { return *wte_; }
  const Embedding& wpe() const { return *wpe_; }
  GPTBlock& block(int64_t i) const;

 private:
  Tensor embed(const Tensor& idx, int64_t start);
  Tensor head(const Tensor& x);
  GPTOptions o_;
  std::shared_ptr<Embedding> wte_, wpe_;
  std::shared_ptr<Dropout> drop_;
  std::shared_ptr<Sequential> h_;
  std::shared_ptr<LayerNorm> ln_f_;
  std::shared_ptr<Linear> lm_head_;
};

}  // namespace sn::nn
