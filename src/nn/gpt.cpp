// nn::GPT and its block: char_lm.py's GPT (nanoGPT layout) on the fused attention op, with the
// key/value cache for generation. The sampler (temperature, top-k/p) lives with the text code.
#include "sinapsis/nn/gpt.h"

#include <cmath>

#include "sinapsis/nn/init.h"
#include "sinapsis/ops/attention.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace {

void check_options(const GPTOptions& o) {
  SN_CHECK(o.vocab_size > 0, ValueError, "GPT: vocab_size must be positive (got ", o.vocab_size,
           ")");
  SN_CHECK(o.n_layer > 0 && o.n_head > 0 && o.n_embd > 0 && o.block_size > 0, ValueError,
           "GPT: n_layer, n_head, n_embd and block_size must be positive (got ", o.n_layer, ", ",
           o.n_head, ", ", o.n_embd, ", ", o.block_size, ")");
  SN_CHECK(o.n_embd % o.n_head == 0, ValueError, "GPT: n_embd (", o.n_embd,
           ") must be a multiple of n_head (", o.n_head, ")");
  SN_CHECK(o.dropout >= 0.0 && o.dropout < 1.0, ValueError, "GPT: dropout must be in [0, 1) (got ",
           o.dropout, ")");
}

LayerNormOptions ln_options(const GPTOptions& o) { return {.eps = 1e-5, .bias = o.bias}; }

}  // namespace

// ============================================================== block
GPTBlock::GPTBlock(const GPTOptions& o) : o_(o) {
  const int64_t C = o.n_embd;
  const LinearOptions lo{.bias = o.bias};
  ln_1_ = register_module("ln_1", LayerNorm(C, ln_options(o)));
  c_attn_ = register_module("c_attn", Linear(C, 3 * C, lo));
  c_proj_ = register_module("c_proj", Linear(C, C, lo));
  ln_2_ = register_module("ln_2", LayerNorm(C, ln_options(o)));
  c_fc_ = register_module("c_fc", Linear(C, 4 * C, lo));
  mlp_proj_ = register_module("mlp_proj", Linear(4 * C, C, lo));
  resid_dropout_ = register_module("resid_dropout", Dropout(o.dropout));
}

// q, k, v [B, H, T, hd] as views of c_attn's output [B, T, 3C]; with a cache, k and v are the
// cached ones with these T appended, and the causal mask aligns to the bottom-right (query i
// at absolute position T_past + i sees keys 0 ... T_past + i).
Tensor GPTBlock::attend(const Tensor& x, Tensor* k_cache, Tensor* v_cache) {
  const int64_t B = x.size(0), T = x.size(1), C = o_.n_embd, H = o_.n_head, hd = C / H;
  // split (one backward node that concatenates the three gradients), not three narrows (each
  // would zero-fill a [B, T, 3C] gradient and the engine would add them up)
  std::vector<Tensor> qkv = split((*c_attn_)(x), C, 2);
  auto heads = [&](const Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };
  Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  if (k_cache) {
    if (k_cache->defined() && k_cache->size(2) > 0) {
      k = cat({*k_cache, k}, 2);
      v = cat({*v_cache, v}, 2);
    } else {
      k = k.contiguous();
      v = v.contiguous();
    }
    *k_cache = k;
    *v_cache = v;
  }
  const double p = is_training() ? o_.dropout : 0.0;
  Tensor y = scaled_dot_product_attention(q, k, v, {.is_causal = true, .dropout = p});
  y = y.transpose(1, 2).reshape({B, T, C});
  y = (*c_proj_)(y);
  return (*resid_dropout_)(y);
}

Tensor GPTBlock::forward(const Tensor& x) {
  Tensor h = add(x, attend((*ln_1_)(x), nullptr, nullptr));
  Tensor m = (*mlp_proj_)(gelu((*c_fc_)((*ln_2_)(h)), o_.gelu_tanh));
  return add(h, (*resid_dropout_)(m));
}

Tensor GPTBlock::forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache) {
  Tensor h = add(x, attend((*ln_1_)(x), &k_cache, &v_cache));
  Tensor m = (*mlp_proj_)(gelu((*c_fc_)((*ln_2_)(h)), o_.gelu_tanh));
  return add(h, (*resid_dropout_)(m));
}

// ============================================================== model
GPT::GPT(const GPTOptions& options) : o_(options) {
  check_options(o_);
  const int64_t C = o_.n_embd;
  wte_ = register_module("wte", Embedding(o_.vocab_size, C));
  wpe_ = register_module("wpe", Embedding(o_.block_size, C));
  drop_ = register_module("drop", Dropout(o_.dropout));
  Sequential blocks;
  for (int64_t i = 0; i < o_.n_layer; ++i) blocks.append(GPTBlock(o_));
  h_ = register_module("h", std::move(blocks));
  ln_f_ = register_module("ln_f", LayerNorm(C, ln_options(o_)));
  if (!o_.tie_weights)
    lm_head_ = register_module("lm_head", Linear(C, o_.vocab_size, LinearOptions{.bias = o_.bias}));
  // char_lm.py: every 2-D parameter N(0, 0.02), the residual projections 0.02/√(2·n_layer)
  const double resid_std = 0.02 / std::sqrt(2.0 * static_cast<double>(o_.n_layer));
  for (auto& [name, p] : named_parameters()) {
    auto ends = [&n = name](const std::string& s) {  // clang 14 cannot capture a binding
      return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0;
    };
    if (p.dim() == 2)
      init::normal_(p, 0.0, ends("c_proj.weight") || ends("mlp_proj.weight") ? resid_std : 0.02);
    else if (ends(".bias"))
      init::zeros_(p);
  }
}

GPTBlock& GPT::block(int64_t i) const { return h_->at<GPTBlock>(i); }

Tensor GPT::embed(const Tensor& idx, int64_t start) {
  SN_CHECK(idx.dim() == 2, ShapeError, label(), ": expected token ids [B, T], got ", idx.shape());
  SN_CHECK(idx.dtype() == kInt64, DTypeError, label(), ": token ids must be int64, got ",
           idx.dtype(), "; hint: convert with .to(sn::kInt64)");
  const int64_t T = idx.size(1);
  SN_CHECK(
      start + T <= o_.block_size, ValueError, label(), ": ", start + T,
      " positions exceed block_size ", o_.block_size,
      start > 0 ? " (cached " + std::to_string(start) + " + new " + std::to_string(T) + ")" : "",
      "; hint: keep the last block_size tokens (a sliding context) or start a new cache");
  Tensor pos =
      arange(static_cast<double>(start), static_cast<double>(start + T), 1.0, {.dtype = kInt64});
  return (*drop_)(add((*wte_)(idx), (*wpe_)(pos)));
}

Tensor GPT::head(const Tensor& x) {
  Tensor y = (*ln_f_)(x);
  return lm_head_ ? (*lm_head_)(y) : linear(y, wte_->weight());
}

Tensor GPT::forward(const Tensor& idx) {
  Tensor x = embed(idx, 0);
  for (int64_t i = 0; i < o_.n_layer; ++i) x = block(i)(x);
  return head(x);
}

Tensor GPT::forward_cached(const Tensor& idx, std::vector<Tensor>& caches) {
  const size_t n = static_cast<size_t>(2 * o_.n_layer);
  SN_CHECK(caches.empty() || caches.size() == n, ValueError, label(), ": expected ", n,
           " cache tensors (k and v per layer) or none, got ", caches.size());
  int64_t past = 0;
  if (!caches.empty()) {
    const int64_t B = idx.dim() >= 1 ? idx.size(0) : -1, hd = o_.n_embd / o_.n_head;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& c = caches[i];
      SN_CHECK(c.defined() && c.dim() == 4 && c.size(0) == B && c.size(1) == o_.n_head &&
                   c.size(3) == hd && c.size(2) == caches[0].size(2),
               ShapeError, label(), ": cache ", i, " must be [", B, ", ", o_.n_head, ", T_past, ",
               hd, "] like the others, got ",
               c.defined() ? c.shape().str() : std::string("undefined"));
    }
    past = caches[0].size(2);
  } else {
    caches.assign(n, Tensor());
  }
  Tensor x = embed(idx, past);
  for (int64_t i = 0; i < o_.n_layer; ++i)
    x = block(i).forward_cached(x, caches[2 * i], caches[2 * i + 1]);
  return head(x);
}

Value GPT::forward_multi(const Value& in) {
  SN_CHECK(in.has(0), ValueError, label(), ": called with no token ids");
  std::vector<Tensor> caches = in.rest(1);
  if (caches.size() == 1 && !caches[0].defined()) caches.clear();
  Tensor logits = forward_cached(in[0], caches);
  std::vector<Tensor> out{logits};
  out.insert(out.end(), caches.begin(), caches.end());
  return Value(std::move(out));
}

std::string GPT::extra_repr() const {
  return "vocab_size=" + std::to_string(o_.vocab_size) + ", n_layer=" + std::to_string(o_.n_layer) +
         ", n_head=" + std::to_string(o_.n_head) + ", n_embd=" + std::to_string(o_.n_embd) +
         ", block_size=" + std::to_string(o_.block_size) +
         ", bias=" + (o_.bias ? "True" : "False") +
         ", tie_weights=" + (o_.tie_weights ? "True" : "False");
}
std::string GPT::brief() const {
  return "GPT(" + std::to_string(o_.n_layer) + " x " + std::to_string(o_.n_embd) + ", vocab " +
         std::to_string(o_.vocab_size) + ")";
}

}  // namespace sn::nn
