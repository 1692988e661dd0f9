// JSON model specs -> nn::Module, with shapes inferred by running each new layer on zeros as it
// is added (so every layer type infers its sizes the same way), and the named presets.
// New layer types add one entry to layer_table().
#include "sinapsis/nn/spec.h"

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/file_util.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/conv.h"
#include "sinapsis/nn/nn.h"
#include "sinapsis/nn/transformer.h"
#include "sinapsis/ops/ops.h"

namespace sn::nn {

using json = nlohmann::json;

namespace {

std::string shape_n(const Shape& s) {  // [N, 784]: the batch shown as N
  std::ostringstream os;
  os << "[N";
  for (int i = 1; i < s.size(); ++i) os << ", " << s[i];
  os << "]";
  return os.str();
}

struct Ctx {
  int index = 0;           // running layer number, for errors
  DType dtype = kFloat32;  // of the zeros the next layer is probed with (int64: token ids)
};

std::shared_ptr<Module> build_list(const json& layers, Shape& shape, Ctx& ctx, json& normalised,
                                   const std::string& where);

double num(const json& j, const char* key, double dflt) {
  if (!j.contains(key)) return dflt;
  SN_CHECK(j[key].is_number(), ValueError, "model spec: \"", key, "\" must be a number (got ",
           j[key].dump(), ")");
  return j[key].get<double>();
}
int64_t integer(const json& j, const char* key, int64_t dflt) {
  if (!j.contains(key)) return dflt;
  SN_CHECK(j[key].is_number_integer(), ValueError, "model spec: \"", key,
           "\" must be an integer (got ", j[key].dump(), ")");
  return j[key].get<int64_t>();
}
bool boolean(const json& j, const char* key, bool dflt) {
  if (!j.contains(key)) return dflt;
  SN_CHECK(j[key].is_boolean(), ValueError, "model spec: \"", key, "\" must be true or false");
  return j[key].get<bool>();
}

IntArgs int_args(const json& j, const char* key, IntArgs dflt) {
  if (!j.contains(key)) return dflt;
  if (j[key].is_number_integer()) return IntArgs(j[key].get<int64_t>());
  SN_CHECK(j[key].is_array(), ValueError, "model spec: \"", key,
           "\" must be an integer or a list of integers (got ", j[key].dump(), ")");
  std::vector<int64_t> v;
  for (auto& e : j[key]) {
    SN_CHECK(e.is_number_integer(), ValueError, "model spec: \"", key,
             "\" must hold integers (got ", j[key].dump(), ")");
    v.push_back(e.get<int64_t>());
  }
  return IntArgs(v);
}
Padding padding_arg(const json& j) {
  if (j.contains("padding") && j["padding"].is_string())
    return Padding(j["padding"].get<std::string>().c_str());
  IntArgs a = int_args(j, "padding", 0);
  return Padding(a.values());
}
int64_t channels(const Shape& in, const char* type) {
  SN_CHECK(in.size() >= 2, ShapeError, type, " gets [N] but needs [N, C, ...]");
  return in[1];
}

// The feature size of a sequence input [N, T, E] (attention and transformer layers).
int64_t sequence_features(const Shape& in, const char* type) {
  SN_CHECK(in.size() == 3, ShapeError, type, " gets ", shape_n(in),
           " but needs a sequence [N, T, E]; hint: the spec's \"input\" is [T, E] per example");
  return in[2];
}
int64_t nhead(const json& l, const char* type) {
  const int64_t h = integer(l, "nhead", -1);
  SN_CHECK(h > 0, ValueError, "model spec: ", type, " needs \"nhead\" > 0");
  return h;
}
// PyTorch's defaults, except batch_first: a spec's batch is always dim 0.
TransformerLayerOptions transformer_options(const json& l) {
  const std::string act = l.value("activation", std::string("relu"));
  SN_CHECK(act == "relu" || act == "gelu", ValueError,
           "model spec: \"activation\" must be \"relu\" or \"gelu\" (got \"", act, "\")");
  return {.dim_feedforward = integer(l, "dim_feedforward", 2048),
          .dropout = num(l, "dropout", 0.1),
          .activation = act == "gelu" ? TransformerActivation::GELU : TransformerActivation::ReLU,
          .layer_norm_eps = num(l, "layer_norm_eps", 1e-5),
          .batch_first = true,
          .norm_first = boolean(l, "norm_first", false),
          .causal = boolean(l, "causal", false)};
}

// RNN / LSTM / GRU: the spec's input is batch-major ([N, T, features]), so batch_first
// defaults to true here (PyTorch's module default is false; the spec writes the value it used).
std::shared_ptr<Module> recurrent_layer(const std::string& type, json& l, const Shape& in) {
  const int64_t hidden = integer(l, "hidden_size", -1);
  SN_CHECK(hidden > 0, ValueError, "model spec: ", type, " needs \"hidden_size\" > 0");
  if (in.size() != 3)
    SN_THROW(ShapeError, type, " gets ", shape_n(in),
             ": expected [N, T, features], a sequence per example");
  const int64_t have = in.back(), want = integer(l, "input_size", have);
  if (want != have)
    SN_THROW(ShapeError, type, "(", want, " → ", hidden, ") gets ", shape_n(in),
             ": expected [N, T, ", want, "]; hint: drop \"input_size\" to infer it");
  l["input_size"] = have;
  const int64_t layers = integer(l, "num_layers", 1);
  const bool bias = boolean(l, "bias", true), bf = boolean(l, "batch_first", true);
  const bool bi = boolean(l, "bidirectional", false);
  const double dropout = num(l, "dropout", 0.0);
  l["batch_first"] = bf;
  if (type == "LSTM")
    return std::make_shared<LSTM>(have, hidden,
                                  LSTMOptions{.num_layers = layers,
                                              .bias = bias,
                                              .batch_first = bf,
                                              .dropout = dropout,
                                              .bidirectional = bi,
                                              .proj_size = integer(l, "proj_size", 0)});
  if (type == "GRU")
    return std::make_shared<GRU>(have, hidden,
                                 GRUOptions{.num_layers = layers,
                                            .bias = bias,
                                            .batch_first = bf,
                                            .dropout = dropout,
                                            .bidirectional = bi});
  const std::string nl = l.value("nonlinearity", std::string("tanh"));
  return std::make_shared<RNN>(have, hidden,
                               RNNOptions{.num_layers = layers,
                                          .bias = bias,
                                          .batch_first = bf,
                                          .dropout = dropout,
                                          .bidirectional = bi,
                                          .nonlinearity = nl});
}

// Builds one layer given the current input shape (batch dim included, size 1). May fill in
// inferred options in `layer`.
using Builder = std::function<std::shared_ptr<Module>(json& layer, const Shape& in, Ctx& ctx)>;

const std::map<std::string, Builder>& layer_table() {
  static const std::map<std::string, Builder> table = {
      {"Linear",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t out = integer(l, "out", -1);
         SN_CHECK(out > 0, ValueError, "model spec: Linear needs \"out\" > 0");
         const int64_t have = in.back();
         const int64_t want = integer(l, "in", have);
         if (want != have) {
           SN_THROW(ShapeError, "Linear(", want, " → ", out, ") gets ", shape_n(in),
                    ": expected [N, ", want, "]",
                    in.size() > 2 ? "; hint: did you forget Flatten?"
                                  : "; hint: drop \"in\" to infer it");
         }
         l["in"] = have;
         return std::make_shared<Linear>(have, out,
                                         LinearOptions{.bias = boolean(l, "bias", true)});
       }},
      {"Embedding",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         const int64_t n = integer(l, "num_embeddings", -1), d = integer(l, "embedding_dim", -1);
         SN_CHECK(n > 0 && d > 0, ValueError,
                  "model spec: Embedding needs \"num_embeddings\" > 0 and \"embedding_dim\" > 0");
         return std::make_shared<Embedding>(n, d);
       }},
      {"Flatten",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Flatten>(integer(l, "start_dim", 1), integer(l, "end_dim", -1));
       }},
      {"Unflatten",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         SN_CHECK(l.contains("sizes") && l["sizes"].is_array(), ValueError,
                  "model spec: Unflatten needs \"sizes\" (a list, one entry may be -1)");
         return std::make_shared<Unflatten>(integer(l, "dim", 1),
                                            int_args(l, "sizes", IntArgs()).values());
       }},
      {"Identity",
       [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Identity>();
       }},
      {"Dropout",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Dropout>(num(l, "p", 0.5));
       }},
      {"Step",
       [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Step>();
       }},
      {"Sigmoid",
       [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Sigmoid>();
       }},
      {"Tanh",
       [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Tanh>();
       }},
      {"ReLU",
       [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<ReLU>();
       }},
      {"SiLU",
       [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<SiLU>();
       }},
      {"LeakyReLU",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<LeakyReLU>(num(l, "negative_slope", 0.01));
       }},
      {"ELU",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<ELU>(num(l, "alpha", 1.0));
       }},
      {"GELU",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         const std::string a = l.value("approximate", std::string("none"));
         SN_CHECK(a == "none" || a == "tanh", ValueError,
                  "model spec: GELU \"approximate\" must be \"none\" or \"tanh\" (got \"", a,
                  "\")");
         return std::make_shared<GELU>(a == "tanh");
       }},
      {"Softplus",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Softplus>(num(l, "beta", 1.0), num(l, "threshold", 20.0));
       }},
      {"Softmax",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<Softmax>(integer(l, "dim", -1));
       }},
      {"LogSoftmax",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<LogSoftmax>(integer(l, "dim", -1));
       }},
      {"LayerNorm",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t f = integer(l, "features", in.back());
         l["features"] = f;
         return std::make_shared<LayerNorm>(
             f, LayerNormOptions{.eps = num(l, "eps", 1e-5), .bias = boolean(l, "bias", true)});
       }},
      {"Conv1d",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t out = integer(l, "out", -1);
         SN_CHECK(out > 0 && l.contains("kernel"), ValueError,
                  "model spec: Conv1d needs \"out\" and \"kernel\"");
         return std::make_shared<Conv1d>(channels(in, "Conv1d"), out, int_args(l, "kernel", 1),
                                         ConvLayerOptions{.stride = int_args(l, "stride", 1),
                                                          .padding = padding_arg(l),
                                                          .dilation = int_args(l, "dilation", 1),
                                                          .groups = integer(l, "groups", 1),
                                                          .bias = boolean(l, "bias", true)});
       }},
      {"Conv2d",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t out = integer(l, "out", -1);
         SN_CHECK(out > 0 && l.contains("kernel"), ValueError,
                  "model spec: Conv2d needs \"out\" and \"kernel\"");
         return std::make_shared<Conv2d>(channels(in, "Conv2d"), out, int_args(l, "kernel", 1),
                                         ConvLayerOptions{.stride = int_args(l, "stride", 1),
                                                          .padding = padding_arg(l),
                                                          .dilation = int_args(l, "dilation", 1),
                                                          .groups = integer(l, "groups", 1),
                                                          .bias = boolean(l, "bias", true)});
       }},
      {"ConvTranspose2d",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t out = integer(l, "out", -1);
         SN_CHECK(out > 0 && l.contains("kernel"), ValueError,
                  "model spec: ConvTranspose2d needs \"out\" and \"kernel\"");
         return std::make_shared<ConvTranspose2d>(
             channels(in, "ConvTranspose2d"), out, int_args(l, "kernel", 1),
             ConvTransposeLayerOptions{.stride = int_args(l, "stride", 1),
                                       .padding = int_args(l, "padding", 0),
                                       .output_padding = int_args(l, "output_padding", 0),
                                       .groups = integer(l, "groups", 1),
                                       .bias = boolean(l, "bias", true),
                                       .dilation = int_args(l, "dilation", 1)});
       }},
      {"Upsample",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         UpsampleOptions o{.mode = l.value("mode", std::string("nearest")),
                           .align_corners = boolean(l, "align_corners", false)};
         if (l.contains("size")) o.size = int_args(l, "size", IntArgs()).values();
         if (l.contains("scale_factor")) {
           const json& s = l["scale_factor"];
           SN_CHECK(s.is_number() || s.is_array(), ValueError,
                    "model spec: Upsample \"scale_factor\" must be a number or a list of two");
           o.scale_factor =
               s.is_number() ? std::vector<double>{s.get<double>()} : s.get<std::vector<double>>();
         }
         SN_CHECK(o.size.empty() != o.scale_factor.empty(), ValueError,
                  "model spec: Upsample needs one of \"size\" and \"scale_factor\"");
         return std::make_shared<Upsample>(o);
       }},
      {"MaxPool1d",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<MaxPool1d>(
             int_args(l, "kernel", 2), MaxPoolOptions{.stride = int_args(l, "stride", IntArgs()),
                                                      .padding = int_args(l, "padding", 0)});
       }},
      {"MaxPool2d",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<MaxPool2d>(
             int_args(l, "kernel", 2), MaxPoolOptions{.stride = int_args(l, "stride", IntArgs()),
                                                      .padding = int_args(l, "padding", 0)});
       }},
      {"AvgPool2d",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<AvgPool2d>(
             int_args(l, "kernel", 2), AvgPoolOptions{.stride = int_args(l, "stride", IntArgs()),
                                                      .padding = int_args(l, "padding", 0)});
       }},
      {"AdaptiveAvgPool2d",
       [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<AdaptiveAvgPool2d>(int_args(l, "output", 1));
       }},
      {"BatchNorm1d",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<BatchNorm1d>(
             channels(in, "BatchNorm1d"),
             BatchNormLayerOptions{.eps = num(l, "eps", 1e-5),
                                   .momentum = num(l, "momentum", 0.1)});
       }},
      {"BatchNorm2d",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<BatchNorm2d>(
             channels(in, "BatchNorm2d"),
             BatchNormLayerOptions{.eps = num(l, "eps", 1e-5),
                                   .momentum = num(l, "momentum", 0.1)});
       }},
      {"GroupNorm",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         return std::make_shared<GroupNorm>(integer(l, "groups", 1), channels(in, "GroupNorm"),
                                            num(l, "eps", 1e-5));
       }},
      {"ResNetBlock",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t c = channels(in, "ResNetBlock");
         return std::make_shared<ResNetBlock>(c, integer(l, "out", c), integer(l, "stride", 1));
       }},
      {"Inception",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         InceptionOptions o;
         o.c1 = integer(l, "c1", o.c1);
         o.c3_reduce = integer(l, "c3_reduce", o.c3_reduce);
         o.c3 = integer(l, "c3", o.c3);
         o.c5_reduce = integer(l, "c5_reduce", o.c5_reduce);
         o.c5 = integer(l, "c5", o.c5);
         o.pool_proj = integer(l, "pool_proj", o.pool_proj);
         return std::make_shared<Inception>(channels(in, "Inception"), o);
       }},
      // attention: per example [T, E] (batch first, as every spec input); self-attention
      {"MultiheadAttention",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t e = sequence_features(in, "MultiheadAttention");
         const int64_t heads = integer(l, "num_heads", -1);
         SN_CHECK(heads > 0, ValueError, "model spec: MultiheadAttention needs \"num_heads\" > 0");
         return std::make_shared<MultiheadAttention>(
             e, heads,
             MultiheadAttentionOptions{.dropout = num(l, "dropout", 0.0),
                                       .bias = boolean(l, "bias", true),
                                       .batch_first = true,
                                       .need_weights = false,
                                       .causal = boolean(l, "causal", false)});
       }},
      {"TransformerEncoderLayer",
       [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
         const int64_t d = sequence_features(in, "TransformerEncoderLayer");
         return std::make_shared<TransformerEncoderLayer>(d, nhead(l, "TransformerEncoderLayer"),
                                                          transformer_options(l));
       }},
      {"TransformerEncoder",
       [](json& l, const Shape& in,
          Ctx&) -> std::
                    shared_ptr<Module> {
                      const int64_t d = sequence_features(in, "TransformerEncoder");
                      const int64_t n = integer(l, "num_layers", -1);
                      SN_CHECK(n > 0, ValueError,
                               "model spec: TransformerEncoder needs \"num_layers\" > 0");
                      const TransformerLayerOptions o = transformer_options(l);
                      return std::make_shared<TransformerEncoder>(
                          TransformerEncoderLayer(d, nhead(l, "TransformerEncoder"), o), n,
                          boolean(l, "norm", false)
                              ? ModulePtr(LayerNorm(d, {.eps = o.layer_norm_eps}))
                              : ModulePtr());
                    }},
      {"RNN",
       [](json& l, const Shape& in,
          Ctx&) -> std::shared_ptr<Module> { return recurrent_layer("RNN", l, in); }},
      {"LSTM",
       [](json& l, const Shape& in,
          Ctx&) -> std::shared_ptr<Module> { return recurrent_layer("LSTM", l, in); }},
      {"GRU",
       [](json& l, const Shape& in,
          Ctx&) -> std::shared_ptr<Module> { return recurrent_layer("GRU", l, in); }},
      {"GPT",
       [](json& l, const Shape& in, Ctx&)
           -> std::
               shared_ptr<Module> {
                 // token ids [N, T] in, logits [N, T, vocab_size] out (nn::GPT, gpt.h)
                 SN_CHECK(in.size() == 2, ShapeError, "GPT gets ", shape_n(in),
                          " but needs token ids [N, T]; hint: \"input\" is [T]");
                 GPTOptions o;
                 o.vocab_size = integer(l, "vocab_size", -1);
                 SN_CHECK(o.vocab_size > 0, ValueError, "model spec: GPT needs \"vocab_size\" > 0");
                 o.n_layer = integer(l, "n_layer", o.n_layer);
                 o.n_head = integer(l, "n_head", o.n_head);
                 o.n_embd = integer(l, "n_embd", o.n_embd);
                 o.block_size = integer(l, "block_size", std::max<int64_t>(in[1], o.block_size));
                 o.dropout = num(l, "dropout", o.dropout);
                 o.bias = boolean(l, "bias", o.bias);
                 o.tie_weights = boolean(l, "tie_weights", o.tie_weights);
                 const std::string a = l.value("gelu", std::string("none"));
                 SN_CHECK(a == "none" || a == "tanh", ValueError,
                          "model spec: GPT \"gelu\" must be \"none\" or \"tanh\" (got \"", a,
                          "\")");
                 o.gelu_tanh = a == "tanh";
                 SN_CHECK(in[1] <= o.block_size, ShapeError, "GPT(block_size ", o.block_size,
                          ") gets ", shape_n(in), ": ", in[1], " tokens exceed block_size");
                 l["vocab_size"] = o.vocab_size;
                 l["n_layer"] = o.n_layer;
                 l["n_head"] = o.n_head;
                 l["n_embd"] = o.n_embd;
                 l["block_size"] = o.block_size;
                 l["dropout"] = o.dropout;
                 l["bias"] = o.bias;
                 l["tie_weights"] = o.tie_weights;
                 return std::make_shared<GPT>(o);
               }},
      {"Sequential",
       [](json& l, const Shape& in,
          Ctx& ctx) -> std::
                        shared_ptr<Module> {
                          SN_CHECK(l.contains("layers") && l["layers"].is_array(), ValueError,
                                   "model spec: Sequential needs a \"layers\" list");
                          Shape s = in;
                          json norm = json::array();
                          auto m = build_list(l["layers"], s, ctx, norm, "Sequential");
                          l["layers"] = norm;
                          return m;
                        }},
      {"Residual",
       [](json& l, const Shape& in,
          Ctx& ctx) -> std::
                        shared_ptr<Module> {
                          SN_CHECK(l.contains("body") && l["body"].is_array(), ValueError,
                                   "model spec: Residual needs a \"body\" list of layers");
                          Shape s = in;
                          json norm = json::array();
                          auto body = build_list(l["body"], s, ctx, norm, "Residual body");
                          l["body"] = norm;
                          ModulePtr shortcut;
                          if (l.contains("shortcut")) {
                            Shape s2 = in;
                            json norm2 = json::array();
                            shortcut = ModulePtr(
                                build_list(l["shortcut"], s2, ctx, norm2, "Residual shortcut"));
                            l["shortcut"] = norm2;
                          }
                          return std::make_shared<Residual>(ModulePtr(body), shortcut);
                        }},
      {"Parallel",
       [](json& l, const Shape& in, Ctx& ctx)
           -> std::
               shared_ptr<Module> {
                 SN_CHECK(
                     l.contains("branches") && l["branches"].is_array() && !l["branches"].empty(),
                     ValueError,
                     "model spec: Parallel needs a non-empty \"branches\" list of layer lists");
                 std::vector<ModulePtr> branches;
                 json norm = json::array();
                 for (auto& b : l["branches"]) {
                   Shape s = in;
                   json nb = json::array();
                   branches.emplace_back(build_list(b, s, ctx, nb, "Parallel branch"));
                   norm.push_back(nb);
                 }
                 l["branches"] = norm;
                 return std::make_shared<Parallel>(branches, integer(l, "dim", 1));
               }},
  };
  return table;
}

std::shared_ptr<Module> build_list(const json& layers, Shape& shape, Ctx& ctx, json& normalised,
                                   const std::string& where) {
  SN_CHECK(layers.is_array(), ValueError, "model spec: ", where, " must be a list of layers");
  auto seq = std::make_shared<Sequential>();
  for (const json& raw : layers) {
    json l = raw;
    SN_CHECK(l.is_object() && l.contains("type") && l["type"].is_string(), ValueError,
             "model spec: layer ", ctx.index, " must be an object with a \"type\" (got ",
             raw.dump(), ")");
    const std::string type = l["type"].get<std::string>();
    const auto& table = layer_table();
    auto it = table.find(type);
    if (it == table.end()) {
      std::string known;
      for (auto& [k, v] : table) known += (known.empty() ? "" : ", ") + k;
      SN_THROW(ValueError, "model spec: layer ", ctx.index, " has unknown type \"", type,
               "\" (known: ", known, ")");
    }
    const int my_index = ctx.index++;
    std::shared_ptr<Module> m;
    try {
      m = it->second(l, shape, ctx);
    } catch (const ShapeError& e) {
      SN_THROW(ShapeError, "layer ", my_index, " ", e.what());
    }
    // infer the output shape by running the layer on zeros
    Tensor y;
    try {
      NoGradGuard ng;
      const bool was = m->is_training();
      m->eval();
      // layers that look tokens up take int64 ids whatever "input_dtype" says (0 is a valid id)
      const bool ids = type == "GPT" || type == "Embedding";
      y = (*m)(zeros(shape, {.dtype = ids ? kInt64 : ctx.dtype}));
      m->train(was);
    } catch (const Error& e) {
      SN_THROW(ShapeError, "layer ", my_index, " ", m->brief(), " gets ", shape_n(shape), ": ",
               e.what(),
               shape.size() > 2 && type == "Linear" ? "; hint: did you forget Flatten?" : "");
    }
    shape = y.shape();
    ctx.dtype = y.dtype();
    if (l.contains("name")) {
      SN_CHECK(l["name"].is_string(), ValueError, "model spec: layer ", my_index,
               " \"name\" must be a string");
      seq->append(l["name"].get<std::string>(), ModulePtr(m));
    } else {
      seq->append(ModulePtr(m));
    }
    normalised.push_back(l);
  }
  return seq;
}

}  // namespace

BuiltModel build_model(const std::string& spec_json, const Shape& input_shape) {
  json spec;
  try {
    spec = json::parse(spec_json);
  } catch (const json::exception& e) {
    SN_THROW(ValueError, "model spec: not valid JSON (", e.what(), ")");
  }
  SN_CHECK(spec.is_object(), ValueError,
           "model spec: the top level must be an object with \"layers\"");
  SN_CHECK(spec.contains("layers"), ValueError, "model spec: missing \"layers\"");
  Shape in = input_shape;
  if (in.empty()) {
    SN_CHECK(spec.contains("input") && spec["input"].is_array(), ValueError,
             "model spec: missing \"input\" (the shape of one example, e.g. [1, 28, 28])");
    for (auto& d : spec["input"]) {
      SN_CHECK(d.is_number_integer() && d.get<int64_t>() > 0, ValueError,
               "model spec: \"input\" must hold positive integers (got ", spec["input"].dump(),
               ")");
      in.push_back(d.get<int64_t>());
    }
  }
  Shape shape = in;
  shape.insert(0, 1);
  Ctx ctx;
  if (spec.contains("input_dtype")) {
    const json& d = spec["input_dtype"];
    SN_CHECK(d == "float32" || d == "int64", ValueError,
             "model spec: \"input_dtype\" must be \"float32\" or \"int64\" (token ids; got ",
             d.dump(), ")");
    ctx.dtype = d == "int64" ? kInt64 : kFloat32;
  }
  json norm = json::array();
  auto model = build_list(spec["layers"], shape, ctx, norm, "\"layers\"");
  spec["layers"] = norm;
  spec["input"] = in.vec();
  BuiltModel out;
  out.module = model;
  out.input_shape = in;
  out.output_shape = Shape(shape.begin() + 1, shape.end());
  out.spec = spec.dump(2);
  return out;
}

BuiltModel build_model_file(const std::string& path, const Shape& input_shape) {
  // stat before open: a FIFO would block, /dev/zero would never end
  const std::string text = io::detail::read_file(path, "model spec", int64_t{64} << 20);
  try {
    return build_model(text, input_shape);
  } catch (const ValueError& e) {
    SN_THROW(ValueError, path, ": ", e.what());
  }
}

std::string preset_spec(const std::string& name, const Shape& input_shape, int64_t num_outputs) {
  json spec;
  spec["name"] = name;
  spec["input"] = input_shape.vec();
  if (name == "mlp") {
    // 784-512-256-10 with ReLU: the reference workload's model (shared/reference/mlp_train.py)
    spec["layers"] = json::array({{{"type", "Flatten"}},
                                  {{"type", "Linear"}, {"out", 512}},
                                  {{"type", "ReLU"}},
                                  {{"type", "Linear"}, {"out", 256}},
                                  {{"type", "ReLU"}},
                                  {{"type", "Linear"}, {"out", num_outputs}}});
  } else if (name == "lenet") {
    // LeNet-5-like, the shapes of shared/reference/cnn_train.py
    spec["layers"] = json::array({{{"type", "Conv2d"}, {"out", 6}, {"kernel", 5}, {"padding", 2}},
                                  {{"type", "ReLU"}},
                                  {{"type", "MaxPool2d"}, {"kernel", 2}},
                                  {{"type", "Conv2d"}, {"out", 16}, {"kernel", 5}},
                                  {{"type", "ReLU"}},
                                  {{"type", "MaxPool2d"}, {"kernel", 2}},
                                  {{"type", "Flatten"}},
                                  {{"type", "Linear"}, {"out", 120}},
                                  {{"type", "ReLU"}},
                                  {{"type", "Linear"}, {"out", 84}},
                                  {{"type", "ReLU"}},
                                  {{"type", "Linear"}, {"out", num_outputs}}});
  } else if (name == "resnet") {
    // a small ResNet for 28×28: stem, three basic blocks (16, 32/2, 64/2), global pooling
    spec["layers"] = json::array(
        {{{"type", "Conv2d"}, {"out", 16}, {"kernel", 3}, {"padding", 1}, {"bias", false}},
         {{"type", "BatchNorm2d"}},
         {{"type", "ReLU"}},
         {{"type", "ResNetBlock"}, {"out", 16}},
         {{"type", "ResNetBlock"}, {"out", 32}, {"stride", 2}},
         {{"type", "ResNetBlock"}, {"out", 64}, {"stride", 2}},
         {{"type", "AdaptiveAvgPool2d"}, {"output", 1}},
         {{"type", "Flatten"}},
         {{"type", "Linear"}, {"out", num_outputs}}});
  } else if (name == "linear") {
    spec["layers"] =
        json::array({{{"type", "Flatten"}}, {{"type", "Linear"}, {"out", num_outputs}}});
  } else if (name == "gpt" || name == "char-lstm" || name == "bigram") {
    // language models: input [block] token ids, num_outputs = the vocabulary
    SN_CHECK(input_shape.size() == 1, ValueError, "preset ", name,
             ": takes token windows [block] (got input ", input_shape, ")");
    spec["input_dtype"] = "int64";
    if (name == "gpt") {
      // nanoGPT's "baby" recipe (shared/reference/char_lm.py --model gpt)
      spec["layers"] = json::array({{{"type", "GPT"},
                                     {"vocab_size", num_outputs},
                                     {"block_size", input_shape[0]},
                                     {"n_layer", 4},
                                     {"n_head", 4},
                                     {"n_embd", 128},
                                     {"dropout", 0.0},
                                     {"bias", false}}});
    } else if (name == "char-lstm") {
      // shared/reference/char_lm.py --model lstm
      spec["layers"] = json::array(
          {{{"type", "Embedding"}, {"num_embeddings", num_outputs}, {"embedding_dim", 128}},
           {{"type", "LSTM"}, {"hidden_size", 256}, {"num_layers", 2}, {"batch_first", true}},
           {{"type", "Linear"}, {"out", num_outputs}}});
    } else {
      // a table of next-token logits: the smallest language model, for quick runs and tests
      spec["layers"] = json::array({{{"type", "Embedding"},
                                     {"num_embeddings", num_outputs},
                                     {"embedding_dim", num_outputs}}});
    }
  } else {
    std::string known;
    for (auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    SN_THROW(ValueError, "preset: unknown model \"", name, "\" (known: ", known, ")");
  }
  return spec.dump(2);
}

std::vector<std::string> preset_names() {
  return {"linear", "mlp", "lenet", "resnet", "gpt", "char-lstm", "bigram"};
}

std::vector<std::string> spec_layer_types() {
  std::vector<std::string> out;
  for (auto& [k, v] : layer_table()) out.push_back(k);
  return out;
}

}  // namespace sn::nn
