// The transformer layers of PyTorch 1.13 (TransformerEncoderLayer, TransformerDecoderLayer) and
// their stacks (TransformerEncoder, TransformerDecoder), built from MultiheadAttention, Linear,
// LayerNorm and Dropout children with PyTorch's names. No fused kernels of their own: the
// attention op and the fused LayerNorm do the heavy lifting. No nested-tensor fast path.
#include <sstream>

#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/container.h"
#include "sinapsis/nn/transformer.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

namespace {

MultiheadAttentionOptions attn_options(const TransformerLayerOptions& o, bool causal) {
  // the layers never ask their attention for the weights (PyTorch: need_weights=False)
  return {
      .dropout = o.dropout, .batch_first = o.batch_first, .need_weights = false, .causal = causal};
}

Tensor activate(const Tensor& x, TransformerActivation a) {
  return a == TransformerActivation::GELU ? gelu(x) : relu(x);
}

std::string layer_repr(int64_t d, int64_t h, const TransformerLayerOptions& o) {
  std::ostringstream os;
  os << "d_model=" << d << ", nhead=" << h << ", dim_feedforward=" << o.dim_feedforward
     << ", dropout=" << o.dropout
     << ", activation=" << (o.activation == TransformerActivation::GELU ? "gelu" : "relu");
  if (o.layer_norm_eps != 1e-5) os << ", layer_norm_eps=" << o.layer_norm_eps;
  if (o.batch_first) os << ", batch_first=True";
  if (o.norm_first) os << ", norm_first=True";
  if (o.causal) os << ", causal=True";
  return os.str();
}

void check_layer(const char* who, int64_t d, int64_t h, const TransformerLayerOptions& o) {
  SN_CHECK(d > 0 && h > 0 && o.dim_feedforward > 0, ValueError, who,
           ": d_model, nhead and dim_feedforward must be positive (got ", d, ", ", h, ", ",
           o.dim_feedforward, ")");
  SN_CHECK(d % h == 0, ValueError, who, ": d_model ", d, " is not divisible by nhead ", h);
  SN_CHECK(o.dropout >= 0.0 && o.dropout <= 1.0, ValueError, who,
           ": dropout must be in [0, 1] (got ", o.dropout, ")");
  SN_CHECK(o.layer_norm_eps > 0, ValueError, who, ": layer_norm_eps must be positive (got ",
           o.layer_norm_eps, ")");
}

// The self-/cross-attention output alone, through call() so hooks on the attention see it.
Tensor attend(MultiheadAttention& a, const Tensor& x, const Tensor& mem, const Tensor& mask,
              const Tensor& key_padding_mask) {
  return a.call(Value{x, mem, mem, key_padding_mask, mask})[0];
}

// Slot i of a value, undefined when absent.
Tensor slot(const Value& in, size_t i) { return in.has(i) ? in[i] : Tensor(); }

// Copies every parameter and buffer value of `from` into `to` (same structure), and the mode.
template <typename M>
std::shared_ptr<M> deep_copy(const M& from, std::shared_ptr<M> to) {
  NoGradGuard ng;
  StateDict copies;
  for (const auto& [name, t] : from.state_dict()) copies.insert(name, t.detach().clone());
  to->to(from.parameters().front().dtype());
  to->load_state_dict(copies);
  to->train(from.is_training());
  return to;
}

}  // namespace

// ============================================================== TransformerEncoderLayer
TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead,
                                                 TransformerLayerOptions opts)
    : d_model_(d_model), nhead_(nhead), opts_(opts) {
  check_layer("TransformerEncoderLayer", d_model, nhead, opts);
  // PyTorch's registration order (and so state_dict order)
  self_attn_ = register_module("self_attn",
                               MultiheadAttention(d_model, nhead, attn_options(opts, opts.causal)));
  linear1_ = register_module("linear1", Linear(d_model, opts.dim_feedforward));
  dropout_ = register_module("dropout", Dropout(opts.dropout));
  linear2_ = register_module("linear2", Linear(opts.dim_feedforward, d_model));
  norm1_ = register_module("norm1", LayerNorm(d_model, {.eps = opts.layer_norm_eps}));
  norm2_ = register_module("norm2", LayerNorm(d_model, {.eps = opts.layer_norm_eps}));
  dropout1_ = register_module("dropout1", Dropout(opts.dropout));
  dropout2_ = register_module("dropout2", Dropout(opts.dropout));
}

// sa(x) = dropout1(self_attn(x, x, x)); ff(x) = dropout2(linear2(dropout(act(linear1(x)))))
Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask,
                                        const Tensor& src_key_padding_mask) {
  SN_CHECK(src.defined() && (src.dim() == 3 || src.dim() == 2) && src.shape().back() == d_model_,
           ShapeError, label(), ": src must be ", opts_.batch_first ? "[N, S, " : "[S, N, ",
           d_model_, "] or unbatched [S, ", d_model_, "], got ",
           src.defined() ? src.shape() : Shape{});
  auto sa = [&](const Tensor& x) {
    return (*dropout1_)(attend(*self_attn_, x, x, src_mask, src_key_padding_mask));
  };
  auto ff = [&](const Tensor& x) {
    return (*dropout2_)((*linear2_)((*dropout_)(activate((*linear1_)(x), opts_.activation))));
  };
  Tensor x = src;
  if (opts_.norm_first) {
    x = add(x, sa((*norm1_)(x)));
    x = add(x, ff((*norm2_)(x)));
  } else {
    x = (*norm1_)(add(x, sa(x)));
    x = (*norm2_)(add(x, ff(x)));
  }
  return x;
}

Tensor TransformerEncoderLayer::forward(const Tensor& src) { return forward(src, Tensor()); }

Value TransformerEncoderLayer::forward_multi(const Value& in) {
  SN_CHECK(in.has(0) && in.size() <= 3, ValueError, label(),
           ": call() takes {src, src_mask, src_key_padding_mask} (src at least), got ", in.size(),
           " items");
  return in.with_first(forward(in[0], slot(in, 1), slot(in, 2)));
}

std::string TransformerEncoderLayer::extra_repr() const {
  return layer_repr(d_model_, nhead_, opts_);
}
std::string TransformerEncoderLayer::brief() const {
  return "TransformerEncoderLayer(" + std::to_string(d_model_) +
         ", heads=" + std::to_string(nhead_) + ")";
}

std::shared_ptr<TransformerEncoderLayer> TransformerEncoderLayer::clone() const {
  return deep_copy(*this, std::make_shared<TransformerEncoderLayer>(d_model_, nhead_, opts_));
}

// ============================================================== TransformerDecoderLayer
TransformerDecoderLayer::TransformerDecoderLayer(int64_t d_model, int64_t nhead,
                                                 TransformerLayerOptions opts)
    : d_model_(d_model), nhead_(nhead), opts_(opts) {
  check_layer("TransformerDecoderLayer", d_model, nhead, opts);
  self_attn_ = register_module("self_attn",
                               MultiheadAttention(d_model, nhead, attn_options(opts, opts.causal)));
  multihead_attn_ = register_module("multihead_attn",
                                    MultiheadAttention(d_model, nhead, attn_options(opts, false)));
  linear1_ = register_module("linear1", Linear(d_model, opts.dim_feedforward));
  dropout_ = register_module("dropout", Dropout(opts.dropout));
  linear2_ = register_module("linear2", Linear(opts.dim_feedforward, d_model));
  norm1_ = register_module("norm1", LayerNorm(d_model, {.eps = opts.layer_norm_eps}));
  norm2_ = register_module("norm2", LayerNorm(d_model, {.eps = opts.layer_norm_eps}));
  norm3_ = register_module("norm3", LayerNorm(d_model, {.eps = opts.layer_norm_eps}));
  dropout1_ = register_module("dropout1", Dropout(opts.dropout));
  dropout2_ = register_module("dropout2", Dropout(opts.dropout));
  dropout3_ = register_module("dropout3", Dropout(opts.dropout));
}

// sa = dropout1(self_attn(x, x, x)); ca = dropout2(multihead_attn(x, mem, mem)); ff as encoder's
// with dropout3.
Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory,
                                        const Tensor& tgt_mask, const Tensor& memory_mask,
                                        const Tensor& tgt_key_padding_mask,
                                        const Tensor& memory_key_padding_mask) {
  const char* layout = opts_.batch_first ? "[N, " : "[";
  const char* rest = opts_.batch_first ? ", " : ", N, ";
  SN_CHECK(tgt.defined() && (tgt.dim() == 3 || tgt.dim() == 2) && tgt.shape().back() == d_model_,
           ShapeError, label(), ": tgt must be ", layout, "T", rest, d_model_,
           "] or unbatched [T, ", d_model_, "], got ", tgt.defined() ? tgt.shape() : Shape{});
  SN_CHECK(memory.defined() && memory.dim() == tgt.dim() && memory.shape().back() == d_model_,
           ShapeError, label(), ": memory must be ", layout, "S", rest, d_model_, "]",
           tgt.dim() == 2 ? " (unbatched like tgt)" : "", ", got ",
           memory.defined() ? memory.shape() : Shape{}, " (tgt ", tgt.shape(), ")");
  auto sa = [&](const Tensor& x) {
    return (*dropout1_)(attend(*self_attn_, x, x, tgt_mask, tgt_key_padding_mask));
  };
  auto ca = [&](const Tensor& x) {
    return (*dropout2_)(attend(*multihead_attn_, x, memory, memory_mask, memory_key_padding_mask));
  };
  auto ff = [&](const Tensor& x) {
    return (*dropout3_)((*linear2_)((*dropout_)(activate((*linear1_)(x), opts_.activation))));
  };
  Tensor x = tgt;
  if (opts_.norm_first) {
    x = add(x, sa((*norm1_)(x)));
    x = add(x, ca((*norm2_)(x)));
    x = add(x, ff((*norm3_)(x)));
  } else {
    x = (*norm1_)(add(x, sa(x)));
    x = (*norm2_)(add(x, ca(x)));
    x = (*norm3_)(add(x, ff(x)));
  }
  return x;
}

Tensor TransformerDecoderLayer::forward(const Tensor&) {
  SN_THROW(ValueError, label(),
           ": a decoder layer needs the encoder's output; hint: call({tgt, memory, tgt_mask, "
           "memory_mask, tgt_key_padding_mask, memory_key_padding_mask}) or forward(tgt, memory)");
}

Value TransformerDecoderLayer::forward_multi(const Value& in) {
  SN_CHECK(in.has(0) && in.has(1) && in.size() <= 6, ValueError, label(),
           ": call() takes {tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, "
           "memory_key_padding_mask} (tgt and memory at least), got ",
           in.size(), " items");
  return in.with_first(forward(in[0], in[1], slot(in, 2), slot(in, 3), slot(in, 4), slot(in, 5)));
}

std::string TransformerDecoderLayer::extra_repr() const {
  return layer_repr(d_model_, nhead_, opts_);
}
std::string TransformerDecoderLayer::brief() const {
  return "TransformerDecoderLayer(" + std::to_string(d_model_) +
         ", heads=" + std::to_string(nhead_) + ")";
}

std::shared_ptr<TransformerDecoderLayer> TransformerDecoderLayer::clone() const {
  return deep_copy(*this, std::make_shared<TransformerDecoderLayer>(d_model_, nhead_, opts_));
}

// ============================================================== stacks
TransformerEncoder::TransformerEncoder(const TransformerEncoderLayer& layer, int64_t num_layers,
                                       ModulePtr norm) {
  SN_CHECK(num_layers > 0, ValueError, "TransformerEncoder: num_layers must be positive (got ",
           num_layers, ")");
  auto list = register_module("layers", Sequential());
  for (int64_t i = 0; i < num_layers; ++i) {
    layers_.push_back(layer.clone());
    list->append(ModulePtr(layers_.back()));
  }
  if (norm) norm_ = register_module("norm", norm.shared());
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask,
                                   const Tensor& src_key_padding_mask) {
  Tensor x = src;
  for (auto& l : layers_) x = l->call(Value{x, mask, src_key_padding_mask})[0];
  return norm_ ? (*norm_)(x) : x;
}
Tensor TransformerEncoder::forward(const Tensor& src) { return forward(src, Tensor()); }

Value TransformerEncoder::forward_multi(const Value& in) {
  SN_CHECK(in.has(0) && in.size() <= 3, ValueError, label(),
           ": call() takes {src, mask, src_key_padding_mask} (src at least), got ", in.size(),
           " items");
  return in.with_first(forward(in[0], slot(in, 1), slot(in, 2)));
}

TransformerEncoderLayer& TransformerEncoder::layer(int64_t i) const {
  SN_CHECK(i >= 0 && i < num_layers(), IndexError, label(), ": layer ", i, " is out of range (",
           num_layers(), " layers)");
  return *layers_[i];
}

TransformerDecoder::TransformerDecoder(const TransformerDecoderLayer& layer, int64_t num_layers,
                                       ModulePtr norm) {
  SN_CHECK(num_layers > 0, ValueError, "TransformerDecoder: num_layers must be positive (got ",
           num_layers, ")");
  auto list = register_module("layers", Sequential());
  for (int64_t i = 0; i < num_layers; ++i) {
    layers_.push_back(layer.clone());
    list->append(ModulePtr(layers_.back()));
  }
  if (norm) norm_ = register_module("norm", norm.shared());
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                   const Tensor& memory_key_padding_mask) {
  Tensor x = tgt;
  for (auto& l : layers_)
    x = l->call(
        Value{x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask})[0];
  return norm_ ? (*norm_)(x) : x;
}

Tensor TransformerDecoder::forward(const Tensor&) {
  SN_THROW(ValueError, label(),
           ": a decoder needs the encoder's output; hint: call({tgt, memory, tgt_mask, "
           "memory_mask, tgt_key_padding_mask, memory_key_padding_mask}) or forward(tgt, memory)");
}

Value TransformerDecoder::forward_multi(const Value& in) {
  SN_CHECK(in.has(0) && in.has(1) && in.size() <= 6, ValueError, label(),
           ": call() takes {tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, "
           "memory_key_padding_mask} (tgt and memory at least), got ",
           in.size(), " items");
  return in.with_first(forward(in[0], in[1], slot(in, 2), slot(in, 3), slot(in, 4), slot(in, 5)));
}

TransformerDecoderLayer& TransformerDecoder::layer(int64_t i) const {
  SN_CHECK(i >= 0 && i < num_layers(), IndexError, label(), ": layer ", i, " is out of range (",
           num_layers(), " layers)");
  return *layers_[i];
}

}  // namespace sn::nn
