// MultiheadAttention (PyTorch 1.13's nn.MultiheadAttention): the input projections, the masks
// (PyTorch 1.13's module convention: bool true = masked out, float = added), heads, the output
// projection. The attention itself has two paths: the fused op (sn::scaled_dot_product_attention)
// when the probabilities are not wanted, the composed matmul/softmax when they are (as PyTorch).
// The transformer layers built on it are in transformer.cpp.
#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>

#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/init.h"
#include "sinapsis/nn/transformer.h"
#include "sinapsis/ops/attention.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace detail_attention {

// Dims: N batch, H heads, L queries, S keys, D head_dim.
struct Heads {
  Tensor q, k, v;  // [N, H, L, D], [N, H, S, D], [N, H, S, D]
};

// Inverted dropout on the probabilities (the same rule as nn::Dropout).
Tensor dropout(const Tensor& p, double rate) {
  if (rate <= 0.0) return p;
  if (rate >= 1.0) return mul(p, 0.0);
  const double keep = 1.0 - rate;
  const Tensor mask =
      mul(lt(rand(p.shape(), {.dtype = p.dtype()}), keep).to(p.dtype()), 1.0 / keep);
  return mul(p, mask);
}

// True when some row of scores [..., S] is -inf everywhere (every key masked out).
bool any_dead_row(const Tensor& row_max) {
  const Tensor m = row_max.to(kFloat64).contiguous();
  const double* p = m.data_ptr<double>();
  for (int64_t i = 0; i < m.numel(); ++i)
    if (p[i] == -std::numeric_limits<double>::infinity()) return true;
  return false;
}

// The composed reference: probs = softmax(q·kᵀ/√D + mask), out = dropout(probs)·v.
// mask: additive float, broadcastable to [N, H, L, S], or undefined. A query whose scores are
// all -inf gets zero probabilities (PyTorch 1.13 gives NaN there): its scores are replaced by 0
// before the softmax and its probabilities by 0 after it, so no NaN reaches the gradients.
// Returns (out [N, H, L, D], probs [N, H, L, S]); the probabilities after dropout, as PyTorch.
std::pair<Tensor, Tensor> composed(const Heads& h, const Tensor& mask, double dropout_p) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(h.q.shape().back()));
  Tensor scores = matmul(mul(h.q, scale), h.k.transpose(-2, -1));  // [N, H, L, S]
  Tensor alive;
  if (mask.defined()) {
    scores = add(scores, mask);
    Tensor row_max;
    {
      NoGradGuard ng;
      row_max = amax(scores.detach(), {-1}, true);  // [N, H, L, 1]
    }
    if (any_dead_row(row_max)) {
      alive = ne(row_max, -std::numeric_limits<double>::infinity());
      scores = where(alive, scores, 0.0);
    }
  }
  Tensor probs = softmax(scores, -1);
  if (alive.defined()) probs = where(alive, probs, 0.0);
  probs = dropout(probs, dropout_p);
  return {matmul(probs, h.v), probs};
}

// The fast path (no probabilities returned): the fused op, which keeps no L×S matrix. The mask
// is additive (float, -inf = masked out), so the op's bool convention never comes into it.
// `causal` (given only without another mask): keys after the query are masked out.
Tensor fused(const Heads& h, const Tensor& mask, bool causal, double dropout_p) {
  return scaled_dot_product_attention(
      h.q, h.k, h.v, {.attn_mask = mask, .is_causal = causal, .dropout = dropout_p});
}

}  // namespace detail_attention

namespace {

using detail_attention::Heads;

const double kNegInf = -std::numeric_limits<double>::infinity();

std::string shape_str(const Tensor& t) {
  std::ostringstream os;
  os << t.shape();
  return os.str();
}

// A mask as an additive float tensor: bool true -> -inf, false -> 0; float as is.
Tensor additive(const Tensor& m, DType dtype) {
  if (m.dtype() == kBool) return masked_fill(zeros(m.shape(), {.dtype = dtype}), m, kNegInf);
  return m.dtype() == dtype ? m : m.to(dtype);
}

}  // namespace

// ============================================================== construction
MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads,
                                       MultiheadAttentionOptions opts)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      kdim_(opts.kdim > 0 ? opts.kdim : embed_dim),
      vdim_(opts.vdim > 0 ? opts.vdim : embed_dim),
      opts_(opts) {
  SN_CHECK(embed_dim > 0 && num_heads > 0, ValueError,
           "MultiheadAttention: embed_dim and num_heads must be positive (got ", embed_dim, ", ",
           num_heads, ")");
  SN_CHECK(embed_dim % num_heads == 0, ValueError, "MultiheadAttention: embed_dim ", embed_dim,
           " is not divisible by num_heads ", num_heads);
  SN_CHECK(opts.kdim >= 0 && opts.vdim >= 0, ValueError,
           "MultiheadAttention: kdim and vdim must be positive (0 = embed_dim; got ", opts.kdim,
           ", ", opts.vdim, ")");
  SN_CHECK(opts.dropout >= 0.0 && opts.dropout <= 1.0, ValueError,
           "MultiheadAttention: dropout must be in [0, 1] (got ", opts.dropout, ")");
  const int64_t E = embed_dim;
  // registration order = PyTorch's state_dict order
  if (kdim_ == E && vdim_ == E) {
    in_proj_weight_ = register_parameter("in_proj_weight", empty(Shape{3 * E, E}));
  } else {
    q_proj_weight_ = register_parameter("q_proj_weight", empty(Shape{E, E}));
    k_proj_weight_ = register_parameter("k_proj_weight", empty(Shape{E, kdim_}));
    v_proj_weight_ = register_parameter("v_proj_weight", empty(Shape{E, vdim_}));
  }
  if (opts.bias) in_proj_bias_ = register_parameter("in_proj_bias", empty(Shape{3 * E}));
  if (opts.add_bias_kv) {
    bias_k_ = register_parameter("bias_k", empty(Shape{1, 1, E}));
    bias_v_ = register_parameter("bias_v", empty(Shape{1, 1, E}));
  }
  out_proj_ = register_module("out_proj", Linear(E, E, {.bias = opts.bias}));
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {
  if (packed()) {
    init::xavier_uniform_(in_proj_weight_);
  } else {
    init::xavier_uniform_(q_proj_weight_);
    init::xavier_uniform_(k_proj_weight_);
    init::xavier_uniform_(v_proj_weight_);
  }
  if (in_proj_bias_.defined()) {
    init::zeros_(in_proj_bias_);
    init::zeros_(out_proj_->bias());
  }
  if (bias_k_.defined()) {
    init::xavier_normal_(bias_k_);
    init::xavier_normal_(bias_v_);
  }
}

std::string MultiheadAttention::extra_repr() const {
  std::ostringstream os;
  os << "embed_dim=" << embed_dim_ << ", num_heads=" << num_heads_;
  if (!packed()) os << ", kdim=" << kdim_ << ", vdim=" << vdim_;
  if (opts_.dropout > 0) os << ", dropout=" << opts_.dropout;
  if (!opts_.bias) os << ", bias=False";
  if (opts_.add_bias_kv) os << ", add_bias_kv=True";
  if (opts_.add_zero_attn) os << ", add_zero_attn=True";
  if (opts_.batch_first) os << ", batch_first=True";
  if (opts_.causal) os << ", causal=True";
  return os.str();
}

std::string MultiheadAttention::brief() const {
  return "MultiheadAttention(" + std::to_string(embed_dim_) +
         ", heads=" + std::to_string(num_heads_) + ")";
}

// ============================================================== forward
std::pair<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key,
                                                      const Tensor& value,
                                                      const AttentionCall& args) {
  const int64_t E = embed_dim_, H = num_heads_, D = E / H;
  const char* layout = opts_.batch_first ? "[N, L, " : "[L, N, ";
  // ---- check the inputs, naming this module and the shapes
  SN_CHECK(query.defined() && key.defined() && value.defined(), ValueError, label(),
           ": query, key and value must all be given");
  SN_CHECK(query.dim() == 3 || query.dim() == 2, ShapeError, label(), ": query must be ", layout, E,
           "] or unbatched [L, ", E, "], got ", query.shape());
  const bool batched = query.dim() == 3;
  SN_CHECK(key.dim() == query.dim() && value.dim() == query.dim(), ShapeError, label(),
           ": query, key and value must all be batched (3-D) or all unbatched (2-D), got query ",
           query.shape(), ", key ", key.shape(), ", value ", value.shape());
  SN_CHECK(query.shape().back() == E, ShapeError, label(), ": query must have ", E,
           " features (embed_dim), got ", query.shape());
  SN_CHECK(key.shape().back() == kdim_, ShapeError, label(), ": key must have ", kdim_,
           " features (kdim), got ", key.shape());
  SN_CHECK(value.shape().back() == vdim_, ShapeError, label(), ": value must have ", vdim_,
           " features (vdim), got ", value.shape());
  const Tensor& w0 = packed() ? in_proj_weight_ : q_proj_weight_;
  SN_CHECK(query.dtype() == w0.dtype() && key.dtype() == w0.dtype() && value.dtype() == w0.dtype(),
           DTypeError, label(), ": expected ", w0.dtype(), " query, key and value, got ",
           query.dtype(), ", ", key.dtype(), ", ", value.dtype());
  // batch-first views: [N, L, E], [N, S, kdim], [N, S, vdim]
  auto bf = [&](const Tensor& t) {
    if (!batched) return t.unsqueeze(0);
    return opts_.batch_first ? t : t.transpose(0, 1);
  };
  const Tensor q_in = bf(query), k_in = bf(key), v_in = bf(value);
  const int64_t N = q_in.shape()[0], L = q_in.shape()[1], S = k_in.shape()[1];
  SN_CHECK(k_in.shape()[0] == N && v_in.shape()[0] == N && v_in.shape()[1] == S, ShapeError,
           label(), ": key and value must have the batch size of query and the same length (",
           opts_.batch_first ? "batch_first" : "sequence first", "), got query ", query.shape(),
           ", key ", key.shape(), ", value ", value.shape());

  // ---- masks -> one additive float mask broadcastable to [N, H, L, S'] (S' = S + extra keys)
  const DType dt = w0.dtype();
  Tensor mask;
  if (args.attn_mask.defined()) {
    const Tensor& m = args.attn_mask;
    SN_CHECK(m.dtype() == kBool || m.is_floating_point(), DTypeError, label(),
             ": attn_mask must be bool (true = masked out) or floating point (added), got ",
             m.dtype());
    if (m.dim() == 2) {
      SN_CHECK(m.shape() == Shape({L, S}), ShapeError, label(),
               ": a 2-D attn_mask must be [L, S] = [", L, ", ", S, "], got ", m.shape());
      mask = additive(m, dt).reshape(Shape{1, 1, L, S});
    } else if (m.dim() == 3) {
      SN_CHECK(m.shape() == Shape({N * H, L, S}), ShapeError, label(),
               ": a 3-D attn_mask must be [N·num_heads, L, S] = [", N * H, ", ", L, ", ", S,
               "], got ", m.shape());
      mask = additive(m, dt).reshape(Shape{N, H, L, S});
    } else {
      SN_THROW(ShapeError, label(), ": attn_mask must be [L, S] or [N·num_heads, L, S], got ",
               m.shape());
    }
  }
  if (args.key_padding_mask.defined()) {
    const Tensor& m = args.key_padding_mask;
    SN_CHECK(m.dtype() == kBool || m.is_floating_point(), DTypeError, label(),
             ": key_padding_mask must be bool (true = padding) or floating point (added), got ",
             m.dtype());
    const Shape want = batched ? Shape{N, S} : Shape{S};
    SN_CHECK(m.shape() == want, ShapeError, label(), ": key_padding_mask must be ",
             batched ? "[N, S] = " : "[S] = ", want, ", got ", m.shape());
    Tensor kp = additive(m, dt).reshape(Shape{N, 1, 1, S});
    mask = mask.defined() ? add(mask, kp) : kp;
  }
  const bool causal = opts_.causal || args.causal;
  if (causal) {
    SN_CHECK(L == S, ShapeError, label(),
             ": a causal mask needs as many queries as keys, got L = ", L, ", S = ", S);
  }
  const bool causal_only = causal && !mask.defined();
  if (causal && (mask.defined() || args.need_weights || opts_.add_bias_kv || opts_.add_zero_attn)) {
    // key j > query i is masked out
    const Tensor c = gt(arange(S).unsqueeze(0), arange(L).unsqueeze(1));
    Tensor cm = additive(c, dt).reshape(Shape{1, 1, L, S});
    mask = mask.defined() ? add(mask, cm) : cm;
  }

  // ---- projections
  Tensor q, k, v;  // [N, L, E], [N, S, E], [N, S, E]
  if (packed()) {
    if (query.is_same(key) && key.is_same(value)) {  // self-attention: one GEMM
      const auto qkv = split(linear(q_in, in_proj_weight_, in_proj_bias_), E, -1);
      q = qkv[0], k = qkv[1], v = qkv[2];
    } else {
      const auto w = split(in_proj_weight_, E, 0);
      std::vector<Tensor> b(3);
      if (in_proj_bias_.defined()) b = split(in_proj_bias_, E, 0);
      q = linear(q_in, w[0], b[0]);
      k = linear(k_in, w[1], b[1]);
      v = linear(v_in, w[2], b[2]);
    }
  } else {
    std::vector<Tensor> b(3);
    if (in_proj_bias_.defined()) b = split(in_proj_bias_, E, 0);
    q = linear(q_in, q_proj_weight_, b[0]);
    k = linear(k_in, k_proj_weight_, b[1]);
    v = linear(v_in, v_proj_weight_, b[2]);
  }
  int64_t extra = 0;  // keys appended: bias_k/bias_v, then a zero key
  if (bias_k_.defined()) {
    k = cat({k, add(zeros(Shape{N, 1, E}, {.dtype = dt}), bias_k_)}, 1);
    v = cat({v, add(zeros(Shape{N, 1, E}, {.dtype = dt}), bias_v_)}, 1);
    ++extra;
  }
  auto heads = [&](const Tensor& t) {  // [N, T, E] -> [N, H, T, D]
    return t.reshape(Shape{N, t.shape()[1], H, D}).permute({0, 2, 1, 3});
  };
  Heads h{heads(q), heads(k), heads(v)};
  if (opts_.add_zero_attn) {
    const Tensor z = zeros(Shape{N, H, 1, D}, {.dtype = dt});
    h.k = cat({h.k, z}, 2);
    h.v = cat({h.v, z}, 2);
    ++extra;
  }
  if (extra > 0 && mask.defined()) mask = pad(mask, {0, extra});  // the added keys take part

  // ---- attention
  const double p = is_training() ? opts_.dropout : 0.0;
  Tensor out, weights;  // [N, H, L, D], [N, H, L, S']
  if (args.need_weights) {
    std::tie(out, weights) = detail_attention::composed(h, mask, p);
  } else {
    out = detail_attention::fused(h, mask, causal_only, p);
  }
  // [N, H, L, D] -> [N, L, E] -> out_proj -> the caller's layout
  Tensor y = (*out_proj_)(out.permute({0, 2, 1, 3}).reshape(Shape{N, L, E}));
  if (!batched)
    y = y.squeeze(0);
  else if (!opts_.batch_first)
    y = y.transpose(0, 1);
  if (weights.defined()) {
    if (args.average_attn_weights) weights = mean(weights, {1});  // [N, L, S']
    if (!batched) weights = weights.squeeze(0);
  }
  return {y, weights};
}

Tensor MultiheadAttention::forward(const Tensor& x) {
  return forward(x, x, x, {.need_weights = false}).first;
}

Value MultiheadAttention::forward_multi(const Value& in) {
  SN_CHECK(in.has(0), ValueError, label(),
           ": call() needs {query, key, value, key_padding_mask, attn_mask} (query at least)");
  const Tensor& q = in[0];
  const Tensor k = in.has(1) ? in[1] : q;
  const Tensor v = in.has(2) ? in[2] : (in.has(1) ? in[1] : q);
  SN_CHECK(in.size() <= 5, ValueError, label(),
           ": call() takes {query, key, value, key_padding_mask, attn_mask}, got ", in.size(),
           " items");
  AttentionCall args;
  if (in.has(3)) args.key_padding_mask = in[3];
  if (in.has(4)) args.attn_mask = in[4];
  args.need_weights = opts_.need_weights;
  args.average_attn_weights = opts_.average_attn_weights;
  auto [y, w] = forward(q, k, v, args);
  return Value{y, w};
}

}  // namespace sn::nn
