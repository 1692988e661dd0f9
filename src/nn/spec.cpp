// JSON model specs -> nn::Module, with shapes inferred by running each new layer on zeros as it
// is added (so every layer type infers its sizes the same way), and the named presets.
// New layer types add one entry to layer_table().
#include "sinapsis/nn/spec.h"

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/allocator.h"
#include "core/json_read.h"
#include "nn/spec_internal.h"
#include "sinapsis/autograd/node.h"
#include "sinapsis/nn/autoencoder.h"
#include "sinapsis/nn/conv.h"
#include "sinapsis/nn/graph.h"
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

// A problem with one field, already named by its path: not wrapped again with the layer.
class SpecError : public ValueError {
 public:
  using ValueError::ValueError;
};

struct Ctx {
  int index = 0;           // running layer number, for errors
  DType dtype = kFloat32;  // of the zeros the next layer is probed with (int64: token ids)
};

// The layer being built: its path in the spec ("layers[3].body[0]"), type and declared keys,
// for the field helpers' messages (set by build_list; blocks nest, so it is saved and restored).
struct Current {
  std::string where = "spec", type;
  const std::vector<std::string>* keys = nullptr;
};
thread_local Current t_cur;

// Every integer in a spec must fit here: sizes beyond 2^31 are not a model this library can
// train, and bounding them keeps every product of two of them far from int64 overflow.
constexpr int64_t kMaxSpecInt = 2147483647;
// A spec is a few kilobytes; blocks nest two JSON levels each (object, list).
constexpr size_t kMaxSpecBytes = 16 << 20;
constexpr int kMaxSpecDepth = 64;

std::shared_ptr<Module> build_list(const json& layers, Shape& shape, Ctx& ctx, json& normalised,
                                   const std::string& where);

std::string field(const char* key) { return t_cur.where + "." + key; }
void declared(const char* key) {
  // A builder reading a key its table entry does not list is a bug here, not the user's: the
  // unknown-key check and docs/model-spec.md both go by the list.
  bool ok = false;
  if (t_cur.keys)
    for (const auto& k : *t_cur.keys) ok = ok || k == key;
  SN_ASSERT(ok, "spec: ", t_cur.type, " reads \"", key, "\" but its layer_table() entry omits it");
}

double num(const json& j, const char* key, double dflt) {
  declared(key);
  return sn::detail::json_double<SpecError>(j, key, dflt, t_cur.where);
}
int64_t integer(const json& j, const char* key, int64_t dflt) {
  declared(key);
  const int64_t v = sn::detail::json_int<SpecError>(j, key, dflt, t_cur.where);
  SN_CHECK(v >= -kMaxSpecInt && v <= kMaxSpecInt, SpecError, field(key), " is ", v, ", beyond the ",
           kMaxSpecInt, " a size in a model spec may be");
  return v;
}
// A size that must be > 0: required when dflt < 0.
int64_t positive(const json& j, const char* key, int64_t dflt = -1) {
  SN_CHECK(dflt > 0 || j.contains(key), SpecError, t_cur.where, " (", t_cur.type, ") needs \"", key,
           "\" (an integer > 0)");
  const int64_t v = integer(j, key, dflt);
  SN_CHECK(v > 0, SpecError, field(key), " must be > 0 (got ", v, ")");
  return v;
}
// A count of stacked layers (num_layers, n_layer): building 2^31 of them would take hours even
// when each is small enough for the memory limit.
constexpr int64_t kMaxStack = 1000;
int64_t stack_count(const json& j, const char* key, int64_t dflt) {
  const int64_t v = positive(j, key, dflt);
  SN_CHECK(v <= kMaxStack, SpecError, field(key), " is ", v, ", more than the ", kMaxStack,
           " stacked layers a spec may ask for");
  return v;
}

bool boolean(const json& j, const char* key, bool dflt) {
  declared(key);
  return sn::detail::json_bool<SpecError>(j, key, dflt, t_cur.where);
}
std::string str(const json& j, const char* key, const std::string& dflt) {
  declared(key);
  return sn::detail::json_string<SpecError>(j, key, dflt, t_cur.where);
}
// One of `allowed` (the first is the default).
std::string choice(const json& j, const char* key, const std::vector<std::string>& allowed) {
  const std::string v = str(j, key, allowed[0]);
  for (const auto& a : allowed)
    if (a == v) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
  SN_THROW(SpecError, field(key), " must be one of ", list, " (got \"", sn::detail::cut_text(v),
           "\")");
}

// An integer or a list of integers, each >= `min`.
IntArgs int_args(const json& j, const char* key, IntArgs dflt, int64_t min = 1) {
  declared(key);
  if (!j.contains(key)) return dflt;
  const json& a = j[key];
  auto one = [&](const json& e) {
    SN_CHECK(sn::detail::json_fits_int64(e), SpecError, field(key),
             " must be an integer or a list of integers (got ", sn::detail::json_brief(a), ")");
    const int64_t v = e.get<int64_t>();
    SN_CHECK(v >= min && v <= kMaxSpecInt, SpecError, field(key), " must hold integers in [", min,
             ", ", kMaxSpecInt, "] (got ", sn::detail::json_brief(a), ")");
    return v;
  };
  if (!a.is_array()) return IntArgs(one(a));
  SN_CHECK(!a.empty() && a.size() <= 3, SpecError, field(key), " must hold 1 to 3 integers (got ",
           sn::detail::json_brief(a), ")");
  std::vector<int64_t> v;
  for (auto& e : a) v.push_back(one(e));
  return IntArgs(v);
}
Padding padding_arg(const json& j) {
  declared("padding");
  if (j.contains("padding") && j["padding"].is_string())
    return Padding(choice(j, "padding", {"valid", "same"}).c_str());
  IntArgs a = int_args(j, "padding", 0, 0);
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
// PyTorch's defaults, except batch_first: a spec's batch is always dim 0.
TransformerLayerOptions transformer_options(const json& l) {
  const std::string act = choice(l, "activation", {"relu", "gelu"});
  return {.dim_feedforward = positive(l, "dim_feedforward", 2048),
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
  const int64_t hidden = positive(l, "hidden_size");
  if (in.size() != 3)
    SN_THROW(ShapeError, type, " gets ", shape_n(in),
             ": expected [N, T, features], a sequence per example");
  const int64_t have = in.back(), want = integer(l, "input_size", have);
  if (want != have)
    SN_THROW(ShapeError, type, "(", want, " → ", hidden, ") gets ", shape_n(in),
             ": expected [N, T, ", want, "]; hint: drop \"input_size\" to infer it");
  l["input_size"] = have;
  const int64_t layers = stack_count(l, "num_layers", 1);
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
  const std::string nl = choice(l, "nonlinearity", {"tanh", "relu"});
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
struct LayerType {
  std::vector<std::string> keys;  // the options it takes, besides "type" and "name"
  Builder build;
};

template <typename M>
LayerType plain() {
  return {{}, [](json&, const Shape&, Ctx&) -> std::shared_ptr<Module> {
            return std::make_shared<M>();
          }};
}

ConvLayerOptions conv_options(const json& l) {
  return {.stride = int_args(l, "stride", 1),
          .padding = padding_arg(l),
          .dilation = int_args(l, "dilation", 1),
          .groups = positive(l, "groups", 1),
          .bias = boolean(l, "bias", true)};
}
const std::vector<std::string> kConvKeys = {"out",      "kernel", "stride", "padding",
                                            "dilation", "groups", "bias"};
const std::vector<std::string> kPoolKeys = {"kernel", "stride", "padding"};
const std::vector<std::string> kTransformerKeys = {
    "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps", "norm_first", "causal"};
const std::vector<std::string> kRecurrentKeys = {
    "hidden_size", "input_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"};
std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::map<std::string, LayerType>& layer_table() {
  static const std::map<std::string, LayerType> table = {
      {"Linear",
       {{"in", "out", "bias"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t out = positive(l, "out");
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
        }}},
      {"Embedding",
       {{"num_embeddings", "embedding_dim"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          const int64_t n = positive(l, "num_embeddings"), d = positive(l, "embedding_dim");
          return std::make_shared<Embedding>(n, d);
        }}},
      {"Flatten",
       {{"start_dim", "end_dim"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<Flatten>(integer(l, "start_dim", 1), integer(l, "end_dim", -1));
        }}},
      {"Unflatten",
       {{"dim", "sizes"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          declared("sizes");
          SN_CHECK(l.contains("sizes"), SpecError, t_cur.where,
                   " (Unflatten) needs \"sizes\" (a list, one entry may be -1)");
          const json& a = l["sizes"];
          SN_CHECK(a.is_array() && !a.empty() && a.size() <= 8, SpecError, field("sizes"),
                   " must be a list of 1 to 8 integers (got ", sn::detail::json_brief(a), ")");
          std::vector<int64_t> sizes;
          for (const json& e : a) {
            SN_CHECK(sn::detail::json_fits_int64(e) && e.get<int64_t>() >= -1 &&
                         e.get<int64_t>() != 0 && e.get<int64_t>() <= kMaxSpecInt,
                     SpecError, field("sizes"), " must hold integers in [1, ", kMaxSpecInt,
                     "] or -1 (got ", sn::detail::json_brief(a), ")");
            sizes.push_back(e.get<int64_t>());
          }
          return std::make_shared<Unflatten>(integer(l, "dim", 1), sizes);
        }}},
      {"ConvTranspose2d",
       {{"out", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "bias"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t out = positive(l, "out");
          SN_CHECK(l.contains("kernel"), SpecError, t_cur.where,
                   " (ConvTranspose2d) needs \"kernel\"");
          return std::make_shared<ConvTranspose2d>(
              channels(in, "ConvTranspose2d"), out, int_args(l, "kernel", 1),
              ConvTransposeLayerOptions{.stride = int_args(l, "stride", 1),
                                        .padding = int_args(l, "padding", 0, 0),
                                        .output_padding = int_args(l, "output_padding", 0, 0),
                                        .groups = positive(l, "groups", 1),
                                        .bias = boolean(l, "bias", true),
                                        .dilation = int_args(l, "dilation", 1)});
        }}},
      {"Upsample",
       {{"size", "scale_factor", "mode", "align_corners"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          UpsampleOptions o{.mode = choice(l, "mode", {"nearest", "bilinear"}),
                            .align_corners = boolean(l, "align_corners", false)};
          if (l.contains("size")) o.size = int_args(l, "size", IntArgs()).values();
          declared("scale_factor");
          if (l.contains("scale_factor")) {
            const json& s = l["scale_factor"];
            const std::vector<json> v =
                s.is_array() ? std::vector<json>(s.begin(), s.end()) : std::vector<json>{s};
            SN_CHECK(!v.empty() && v.size() <= 2, SpecError, field("scale_factor"),
                     " must be a number or a list of two (got ", sn::detail::json_brief(s), ")");
            for (const json& e : v) {
              SN_CHECK(e.is_number() && e.get<double>() > 0 && e.get<double>() <= kMaxSpecInt,
                       SpecError, field("scale_factor"), " must hold numbers in (0, ", kMaxSpecInt,
                       "] (got ", sn::detail::json_brief(s), ")");
              o.scale_factor.push_back(e.get<double>());
            }
          }
          SN_CHECK(o.size.empty() != o.scale_factor.empty(), SpecError, t_cur.where,
                   " (Upsample) needs one of \"size\" and \"scale_factor\"");
          return std::make_shared<Upsample>(o);
        }}},
      {"Identity", plain<Identity>()},
      // a general graph of ONNX-semantics nodes (nn::Graph, graph.h): what `sinapsis import`
      // makes of an ONNX model that is not a chain of the layers here
      {"Graph",
       {{"inputs", "outputs", "tensors", "constants", "nodes"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          for (const char* k : {"inputs", "outputs", "tensors", "constants", "nodes"}) declared(k);
          return std::make_shared<Graph>(l.dump());
        }}},
      {"Dropout",
       {{"p"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<Dropout>(num(l, "p", 0.5));
        }}},
      {"GaussianNoise",
       {{"std"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<GaussianNoise>(num(l, "std", 0.1));
        }}},
      {"MaskNoise",
       {{"p"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<MaskNoise>(num(l, "p", 0.25));
        }}},
      {"GaussianLatent",
       {{"in", "out"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t out = positive(l, "out");
          const int64_t have = in.back(), want = integer(l, "in", have);
          if (want != have)
            SN_THROW(ShapeError, "GaussianLatent(", want, " → ", out, ") gets ", shape_n(in),
                     ": expected [N, ", want, "]",
                     in.size() > 2 ? "; hint: did you forget Flatten?"
                                   : "; hint: drop \"in\" to infer it");
          l["in"] = have;
          return std::make_shared<GaussianLatent>(have, out);
        }}},
      {"Step", plain<Step>()},
      {"Sigmoid", plain<Sigmoid>()},
      {"Tanh", plain<Tanh>()},
      {"ReLU", plain<ReLU>()},
      {"SiLU", plain<SiLU>()},
      {"LeakyReLU",
       {{"negative_slope"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<LeakyReLU>(num(l, "negative_slope", 0.01));
        }}},
      {"ELU",
       {{"alpha"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<ELU>(num(l, "alpha", 1.0));
        }}},
      {"GELU",
       {{"approximate"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<GELU>(choice(l, "approximate", {"none", "tanh"}) == "tanh");
        }}},
      {"Softplus",
       {{"beta", "threshold"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<Softplus>(num(l, "beta", 1.0), num(l, "threshold", 20.0));
        }}},
      {"Softmax",
       {{"dim"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<Softmax>(integer(l, "dim", -1));
        }}},
      {"LogSoftmax",
       {{"dim"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<LogSoftmax>(integer(l, "dim", -1));
        }}},
      {"LayerNorm",
       {{"features", "eps", "bias"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t f = positive(l, "features", in.back());
          l["features"] = f;
          return std::make_shared<LayerNorm>(
              f, LayerNormOptions{.eps = num(l, "eps", 1e-5), .bias = boolean(l, "bias", true)});
        }}},
      {"Conv1d",
       {kConvKeys,
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t out = positive(l, "out");
          SN_CHECK(l.contains("kernel"), SpecError, t_cur.where, " (Conv1d) needs \"kernel\"");
          return std::make_shared<Conv1d>(channels(in, "Conv1d"), out, int_args(l, "kernel", 1),
                                          conv_options(l));
        }}},
      {"Conv2d",
       {kConvKeys,
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t out = positive(l, "out");
          SN_CHECK(l.contains("kernel"), SpecError, t_cur.where, " (Conv2d) needs \"kernel\"");
          return std::make_shared<Conv2d>(channels(in, "Conv2d"), out, int_args(l, "kernel", 1),
                                          conv_options(l));
        }}},
      {"MaxPool1d",
       {kPoolKeys,
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<MaxPool1d>(
              int_args(l, "kernel", 2), MaxPoolOptions{.stride = int_args(l, "stride", IntArgs()),
                                                       .padding = int_args(l, "padding", 0, 0)});
        }}},
      {"MaxPool2d",
       {kPoolKeys,
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<MaxPool2d>(
              int_args(l, "kernel", 2), MaxPoolOptions{.stride = int_args(l, "stride", IntArgs()),
                                                       .padding = int_args(l, "padding", 0, 0)});
        }}},
      {"AvgPool2d",
       {kPoolKeys,
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<AvgPool2d>(
              int_args(l, "kernel", 2), AvgPoolOptions{.stride = int_args(l, "stride", IntArgs()),
                                                       .padding = int_args(l, "padding", 0, 0)});
        }}},
      {"AdaptiveAvgPool2d",
       {{"output"},
        [](json& l, const Shape&, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<AdaptiveAvgPool2d>(int_args(l, "output", 1));
        }}},
      {"BatchNorm1d",
       {{"eps", "momentum"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<BatchNorm1d>(
              channels(in, "BatchNorm1d"),
              BatchNormLayerOptions{.eps = num(l, "eps", 1e-5),
                                    .momentum = num(l, "momentum", 0.1)});
        }}},
      {"BatchNorm2d",
       {{"eps", "momentum"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<BatchNorm2d>(
              channels(in, "BatchNorm2d"),
              BatchNormLayerOptions{.eps = num(l, "eps", 1e-5),
                                    .momentum = num(l, "momentum", 0.1)});
        }}},
      {"GroupNorm",
       {{"groups", "eps"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          return std::make_shared<GroupNorm>(positive(l, "groups", 1), channels(in, "GroupNorm"),
                                             num(l, "eps", 1e-5));
        }}},
      {"ResNetBlock",
       {{"out", "stride"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t c = channels(in, "ResNetBlock");
          return std::make_shared<ResNetBlock>(c, positive(l, "out", c), positive(l, "stride", 1));
        }}},
      {"Inception",
       {{"c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          InceptionOptions o;
          o.c1 = positive(l, "c1", o.c1);
          o.c3_reduce = positive(l, "c3_reduce", o.c3_reduce);
          o.c3 = positive(l, "c3", o.c3);
          o.c5_reduce = positive(l, "c5_reduce", o.c5_reduce);
          o.c5 = positive(l, "c5", o.c5);
          o.pool_proj = positive(l, "pool_proj", o.pool_proj);
          return std::make_shared<Inception>(channels(in, "Inception"), o);
        }}},
      // attention: per example [T, E] (batch first, as every spec input); self-attention
      {"MultiheadAttention",
       {{"num_heads", "dropout", "bias", "causal"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t e = sequence_features(in, "MultiheadAttention");
          const int64_t heads = positive(l, "num_heads");
          return std::make_shared<MultiheadAttention>(
              e, heads,
              MultiheadAttentionOptions{.dropout = num(l, "dropout", 0.0),
                                        .bias = boolean(l, "bias", true),
                                        .batch_first = true,
                                        .need_weights = false,
                                        .causal = boolean(l, "causal", false)});
        }}},
      {"TransformerEncoderLayer",
       {kTransformerKeys,
        [](json& l, const Shape& in, Ctx&) -> std::
                                               shared_ptr<Module> {
                                                 const int64_t d = sequence_features(
                                                     in, "TransformerEncoderLayer");
                                                 return std::make_shared<TransformerEncoderLayer>(
                                                     d, positive(l, "nhead"),
                                                     transformer_options(l));
                                               }}},
      {"TransformerEncoder",
       {plus(kTransformerKeys, {"num_layers", "norm"}),
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          const int64_t d = sequence_features(in, "TransformerEncoder");
          const int64_t n = stack_count(l, "num_layers", -1);
          const TransformerLayerOptions o = transformer_options(l);
          return std::make_shared<TransformerEncoder>(
              TransformerEncoderLayer(d, positive(l, "nhead"), o), n,
              boolean(l, "norm", false) ? ModulePtr(LayerNorm(d, {.eps = o.layer_norm_eps}))
                                        : ModulePtr());
        }}},
      {"RNN",
       {plus(kRecurrentKeys, {"nonlinearity"}),
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          return recurrent_layer("RNN", l, in);
        }}},
      {"LSTM",
       {plus(kRecurrentKeys, {"proj_size"}),
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          return recurrent_layer("LSTM", l, in);
        }}},
      {"GRU",
       {kRecurrentKeys,
        [](json& l, const Shape& in,
           Ctx&) -> std::shared_ptr<Module> { return recurrent_layer("GRU", l, in); }}},
      {"GPT",
       {{"vocab_size", "n_layer", "n_head", "n_embd", "block_size", "dropout", "bias",
         "tie_weights", "gelu"},
        [](json& l, const Shape& in, Ctx&) -> std::shared_ptr<Module> {
          // token ids [N, T] in, logits [N, T, vocab_size] out (nn::GPT, gpt.h)
          SN_CHECK(in.size() == 2, ShapeError, "GPT gets ", shape_n(in),
                   " but needs token ids [N, T]; hint: \"input\" is [T]");
          GPTOptions o;
          o.vocab_size = positive(l, "vocab_size");
          o.n_layer = stack_count(l, "n_layer", o.n_layer);
          o.n_head = positive(l, "n_head", o.n_head);
          o.n_embd = positive(l, "n_embd", o.n_embd);
          o.block_size = positive(l, "block_size", std::max<int64_t>(in[1], o.block_size));
          o.dropout = num(l, "dropout", o.dropout);
          o.bias = boolean(l, "bias", o.bias);
          o.tie_weights = boolean(l, "tie_weights", o.tie_weights);
          o.gelu_tanh = choice(l, "gelu", {"none", "tanh"}) == "tanh";
          SN_CHECK(in[1] <= o.block_size, ShapeError, "GPT(block_size ", o.block_size, ") gets ",
                   shape_n(in), ": ", in[1], " tokens exceed block_size");
          l["vocab_size"] = o.vocab_size;
          l["n_layer"] = o.n_layer;
          l["n_head"] = o.n_head;
          l["n_embd"] = o.n_embd;
          l["block_size"] = o.block_size;
          l["dropout"] = o.dropout;
          l["bias"] = o.bias;
          l["tie_weights"] = o.tie_weights;
          return std::make_shared<GPT>(o);
        }}},
      {"Sequential",
       {{"layers"},
        [](json& l, const Shape& in,
           Ctx& ctx) -> std::
                         shared_ptr<Module> {
                           declared("layers");
                           SN_CHECK(l.contains("layers"), SpecError, t_cur.where,
                                    " (Sequential) needs a \"layers\" list");
                           Shape s = in;
                           json norm = json::array();
                           auto m = build_list(l["layers"], s, ctx, norm, t_cur.where + ".layers");
                           l["layers"] = norm;
                           return m;
                         }}},
      {"Residual",
       {{"body", "shortcut"},
        [](json& l, const Shape& in,
           Ctx& ctx) -> std::
                         shared_ptr<Module> {
                           declared("body");
                           declared("shortcut");
                           SN_CHECK(l.contains("body"), SpecError, t_cur.where,
                                    " (Residual) needs a \"body\" list of layers");
                           const std::string where = t_cur.where;
                           Shape s = in;
                           json norm = json::array();
                           auto body = build_list(l["body"], s, ctx, norm, where + ".body");
                           l["body"] = norm;
                           ModulePtr shortcut;
                           if (l.contains("shortcut")) {
                             Shape s2 = in;
                             json norm2 = json::array();
                             shortcut = ModulePtr(
                                 build_list(l["shortcut"], s2, ctx, norm2, where + ".shortcut"));
                             l["shortcut"] = norm2;
                           }
                           return std::make_shared<Residual>(ModulePtr(body), shortcut);
                         }}},
      {"Parallel",
       {{"branches", "dim"},
        [](json& l, const Shape& in,
           Ctx& ctx) -> std::
                         shared_ptr<Module> {
                           declared("branches");
                           const std::string where = t_cur.where;
                           SN_CHECK(
                               l.contains("branches") && l["branches"].is_array() &&
                                   !l["branches"].empty(),
                               SpecError, where,
                               " (Parallel) needs a non-empty \"branches\" list of layer lists");
                           const int64_t dim = integer(l, "dim", 1);
                           std::vector<ModulePtr> branches;
                           json norm = json::array();
                           for (size_t i = 0; i < l["branches"].size(); ++i) {
                             Shape s = in;
                             json nb = json::array();
                             branches.emplace_back(
                                 build_list(l["branches"][i], s, ctx, nb,
                                            where + ".branches[" + std::to_string(i) + "]"));
                             norm.push_back(nb);
                           }
                           l["branches"] = norm;
                           return std::make_shared<Parallel>(branches, dim);
                         }}},
  };
  return table;
}

// What a model may allocate while it is built (parameters and the probe runs on zeros): half
// the machine's memory. A spec asking for more fails naming the layer, before allocating.
std::atomic<size_t> g_budget{0};  // 0: the default
size_t build_budget() {
  const size_t b = g_budget.load();
  return b ? b : sn::detail::half_physical_memory();
}

std::string bytes_text(size_t n) {
  std::ostringstream os;
  os.precision(3);
  if (n >= (size_t{1} << 30))
    os << static_cast<double>(n) / static_cast<double>(size_t{1} << 30) << " GiB";
  else
    os << static_cast<double>(n) / static_cast<double>(size_t{1} << 20) << " MiB";
  return os.str();
}

std::shared_ptr<Module> build_list(const json& layers, Shape& shape, Ctx& ctx, json& normalised,
                                   const std::string& where) {
  SN_CHECK(layers.is_array(), SpecError, where, " must be a list of layers (got ",
           sn::detail::json_brief(layers), ")");
  const Current outer = t_cur;
  struct Restore {
    const Current& saved;
    ~Restore() { t_cur = saved; }
  } restore{outer};
  auto seq = std::make_shared<Sequential>();
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& raw = layers[i];
    const std::string here = where + "[" + std::to_string(i) + "]";
    json l = raw;
    SN_CHECK(l.is_object(), SpecError, here, " must be an object with a \"type\" (got ",
             sn::detail::json_brief(raw), ")");
    SN_CHECK(l.contains("type"), SpecError, here, " has no \"type\" (got ",
             sn::detail::json_brief(raw), ")");
    SN_CHECK(l["type"].is_string(), SpecError, here, ".type must be a string (got ",
             sn::detail::json_brief(l["type"]), ")");
    const std::string type = l["type"].get<std::string>();
    const auto& table = layer_table();
    auto it = table.find(type);
    if (it == table.end()) {
      std::vector<std::string> names;
      std::string known;
      for (auto& [k, v] : table) {
        names.push_back(k);
        known += (known.empty() ? "" : ", ") + k;
      }
      const std::string near = sn::detail::nearest_key(type, names);
      SN_THROW(SpecError, here, " has unknown type \"", sn::detail::cut_text(type), "\"",
               near.empty() ? "" : "; did you mean \"" + near + "\"?", " (known: ", known, ")");
    }
    std::vector<std::string> valid = {"type", "name"};
    valid.insert(valid.end(), it->second.keys.begin(), it->second.keys.end());
    sn::detail::check_keys<SpecError>(l, valid, here + " (" + type + ")");
    if (l.contains("name"))
      SN_CHECK(l["name"].is_string(), SpecError, here, ".name must be a string (got ",
               sn::detail::json_brief(l["name"]), ")");
    t_cur = {here, type, &it->second.keys};
    const int my_index = ctx.index++;
    std::shared_ptr<Module> m;
    try {
      m = it->second.build(l, shape, ctx);
    } catch (const sn::detail::AllocationLimitError& e) {
      SN_THROW(SpecError, here, " (", type, ") would take ", bytes_text(e.requested), " at once (",
               bytes_text(e.used), " before it), more than the ", bytes_text(e.limit),
               " a model may take to build (half the memory); hint: check its sizes");
    } catch (const ShapeError& e) {
      if (std::string(e.what()).rfind("layer ", 0) == 0) throw;  // a nested layer's, named
      SN_THROW(ShapeError, "layer ", my_index, " ", e.what());
    } catch (const SpecError&) {
      throw;
    } catch (const ValueError& e) {  // the module's own check, e.g. groups that do not divide
      SN_THROW(SpecError, here, " (", type, "): ", e.what());
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
    } catch (const sn::detail::AllocationLimitError& e) {
      SN_THROW(SpecError, here, " (", type, ") gets ", shape_n(shape), ": running it once takes ",
               bytes_text(e.requested), " at once (", bytes_text(e.used),
               " before it), more than the ", bytes_text(e.limit),
               " a model may take to build (half the memory); hint: check \"input\" and the "
               "layer's sizes");
    } catch (const Error& e) {
      SN_THROW(ShapeError, "layer ", my_index, " ", m->brief(), " gets ", shape_n(shape), ": ",
               e.what(),
               shape.size() > 2 && type == "Linear" ? "; hint: did you forget Flatten?" : "");
    }
    shape = y.shape();
    ctx.dtype = y.dtype();
    if (l.contains("name")) {
      seq->append(l["name"].get<std::string>(), ModulePtr(m));
    } else {
      seq->append(ModulePtr(m));
    }
    normalised.push_back(l);
  }
  return seq;
}

BuiltModel build(const std::string& spec_json, const Shape& input_shape) {
  json spec = sn::detail::parse_json(spec_json, "",
                                     {.max_bytes = kMaxSpecBytes, .max_depth = kMaxSpecDepth});
  SN_CHECK(spec.is_object(), ValueError, "the top level must be an object with \"layers\" (got ",
           sn::detail::json_brief(spec), ")");
  sn::detail::check_keys(spec, {"name", "input", "input_dtype", "layers"}, "the top level");
  SN_CHECK(spec.contains("layers"), ValueError, "missing \"layers\"");
  Shape in = input_shape;
  if (in.empty()) {
    SN_CHECK(spec.contains("input") && spec["input"].is_array(), ValueError,
             "missing \"input\" (the shape of one example, e.g. [1, 28, 28])");
    SN_CHECK(spec["input"].size() <= 8, ValueError, "\"input\" has ", spec["input"].size(),
             " dimensions, at most 8 are allowed");
    for (auto& d : spec["input"]) {
      SN_CHECK(
          sn::detail::json_fits_int64(d) && d.get<int64_t>() > 0 && d.get<int64_t>() <= kMaxSpecInt,
          ValueError, "\"input\" must hold integers in [1, ", kMaxSpecInt, "] (got ",
          sn::detail::json_brief(spec["input"]), ")");
      in.push_back(d.get<int64_t>());
    }
  }
  if (spec.contains("name"))
    SN_CHECK(spec["name"].is_string(), ValueError, "\"name\" must be a string (got ",
             sn::detail::json_brief(spec["name"]), ")");
  Shape shape = in;
  shape.insert(0, 1);
  Ctx ctx;
  if (spec.contains("input_dtype")) {
    const json& d = spec["input_dtype"];
    SN_CHECK(d == "float32" || d == "int64", ValueError,
             "\"input_dtype\" must be \"float32\" or \"int64\" (token ids; got ",
             sn::detail::json_brief(d), ")");
    ctx.dtype = d == "int64" ? kInt64 : kFloat32;
  }
  json norm = json::array();
  sn::detail::AllocationLimit limit(build_budget());
  auto model = build_list(spec["layers"], shape, ctx, norm, "layers");
  spec["layers"] = norm;
  spec["input"] = in.vec();
  BuiltModel out;
  out.module = model;
  out.input_shape = in;
  out.output_shape = Shape(shape.begin() + 1, shape.end());
  out.spec = spec.dump(2);
  return out;
}

}  // namespace

BuiltModel build_model(const std::string& spec_json, const Shape& input_shape,
                       const std::string& source) {
  // Every message names the spec: "model spec 'm.json': layers[2].out must be ...". Shape
  // errors keep their own text ("layer 3 Linear(400 → 120) gets ...") when no source is named.
  const std::string head = source.empty() ? "model spec: " : "model spec " + source + ": ";
  try {
    return build(spec_json, input_shape);
  } catch (const ShapeError& e) {
    if (source.empty()) throw;
    throw ShapeError(head + e.what());
  } catch (const ValueError& e) {
    throw ValueError(head + e.what());
  } catch (const IOError& e) {
    throw IOError(head + e.what());
  }
}

BuiltModel build_model_file(const std::string& path, const Shape& input_shape) {
  const std::string text =
      sn::detail::read_json_text(path, "model spec", {.max_bytes = kMaxSpecBytes});
  return build_model(text, input_shape, "'" + path + "'");
}

namespace {
// The autoencoder presets: an "encoder" and a "decoder" block (state dict names encoder.0.weight,
// ... as PyTorch's model of shared/reference/generative.py), the output of as many values as the
// input, through a final Sigmoid (pixels in [0, 1]; training fuses it into the BCE).
void autoencoder_preset(json& spec, const std::string& name, const Shape& in) {
  SN_CHECK(!in.empty(), ValueError, "preset ", name, ": needs the input shape of an example");
  const int64_t d = in.numel();
  auto block = [](const char* n, json layers) {
    return json{{"type", "Sequential"}, {"name", n}, {"layers", std::move(layers)}};
  };
  if (name == "conv-autoencoder") {
    // two stride-2 convs down to [32, H/4, W/4], a 32-value code, and back up through a
    // ConvTranspose2d (H/4 -> H/2) and a nearest Upsample + 3x3 conv (H/2 -> H)
    SN_CHECK(in.size() == 3 && in[1] % 4 == 0 && in[2] % 4 == 0, ValueError,
             "preset conv-autoencoder: takes images [C, H, W] with H and W divisible by 4 (got ",
             in, "); hint: --preset autoencoder takes any shape");
    const int64_t c = in[0], h = in[1] / 4, w = in[2] / 4;
    spec["layers"] = json::array(
        {block("encoder",
               {{{"type", "Conv2d"}, {"out", 16}, {"kernel", 3}, {"stride", 2}, {"padding", 1}},
                {{"type", "ReLU"}},
                {{"type", "Conv2d"}, {"out", 32}, {"kernel", 3}, {"stride", 2}, {"padding", 1}},
                {{"type", "ReLU"}},
                {{"type", "Flatten"}},
                {{"type", "Linear"}, {"out", 32}}}),
         block("decoder", {{{"type", "Linear"}, {"out", 32 * h * w}},
                           {{"type", "ReLU"}},
                           {{"type", "Unflatten"}, {"dim", 1}, {"sizes", {32, h, w}}},
                           {{"type", "ConvTranspose2d"},
                            {"out", 16},
                            {"kernel", 4},
                            {"stride", 2},
                            {"padding", 1}},
                           {{"type", "ReLU"}},
                           {{"type", "Upsample"}, {"scale_factor", 2}, {"mode", "nearest"}},
                           {{"type", "Conv2d"}, {"out", c}, {"kernel", 3}, {"padding", 1}},
                           {{"type", "Sigmoid"}}})});
    return;
  }
  // dense: generative.py --model ae, 784 -> 256 (ReLU) -> 32 -> 256 (ReLU) -> 784 (sigmoid);
  // the VAE puts a 2-D Gaussian latent (μ and log σ² heads) where the 32-value code was
  json code = name == "vae" ? json{{"type", "GaussianLatent"}, {"out", 2}}
                            : json{{"type", "Linear"}, {"out", 32}};
  spec["layers"] =
      json::array({{{"type", "Flatten"}},
                   block("encoder", {{{"type", "Linear"}, {"out", 256}}, {{"type", "ReLU"}}, code}),
                   block("decoder", {{{"type", "Linear"}, {"out", 256}},
                                     {{"type", "ReLU"}},
                                     {{"type", "Linear"}, {"out", d}},
                                     {{"type", "Sigmoid"}}})});
}
}  // namespace

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
  } else if (name == "autoencoder" || name == "vae" || name == "conv-autoencoder") {
    autoencoder_preset(spec, name, input_shape);
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
    SN_CHECK(!is_gan_preset(name), ValueError, "preset ", name,
             " is a generator-discriminator pair, not one model; hint: nn::gan_preset(\"", name,
             "\", image_shape)");
    std::string known;
    for (auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    SN_THROW(ValueError, "preset: unknown model \"", name, "\" (known: ", known, ")");
  }
  return spec.dump(2);
}

std::vector<std::string> preset_names() {
  return {"linear",    "mlp",    "lenet",       "resnet",           "gpt",
          "char-lstm", "bigram", "autoencoder", "conv-autoencoder", "vae"};
}

size_t detail::set_spec_memory_limit(size_t bytes) { return g_budget.exchange(bytes); }

std::vector<std::string> spec_layer_types() {
  std::vector<std::string> out;
  for (auto& [k, v] : layer_table()) out.push_back(k);
  return out;
}

std::vector<std::string> spec_layer_keys(const std::string& type) {
  auto it = layer_table().find(type);
  SN_CHECK(it != layer_table().end(), ValueError, "spec_layer_keys: unknown layer type \"", type,
           "\"");
  std::vector<std::string> out = {"type", "name"};
  out.insert(out.end(), it->second.keys.begin(), it->second.keys.end());
  return out;
}

}  // namespace sn::nn
