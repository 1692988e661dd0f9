// PyTorch 1.13.1 golden values for MultiheadAttention and the transformer layers and stacks:
// each case's state_dict (PyTorch's names, loaded strictly, so every name and shape must match),
// its inputs and masks, the outputs and the gradients of sum(y·gy) [+ sum(weights·gw)] with
// respect to the inputs and every parameter. Checked in float64 tightly and float32 loosely.
#include <gtest/gtest.h>

#include "sinapsis/nn/transformer.h"
#include "transformer/helpers.h"

namespace sn::test {
namespace {

using nlohmann::json;

nn::TransformerLayerOptions layer_options(const json& c) {
  return {.dim_feedforward = c["dim_feedforward"].get<int64_t>(),
          .dropout = 0.0,
          .activation = c["activation"] == "gelu" ? nn::TransformerActivation::GELU
                                                  : nn::TransformerActivation::ReLU,
          .layer_norm_eps = c["layer_norm_eps"].get<double>(),
          .batch_first = c["batch_first"].get<bool>(),
          .norm_first = c["norm_first"].get<bool>()};
}

std::shared_ptr<nn::Module> build(const json& c) {
  const std::string type = c["type"];
  if (type == "MultiheadAttention")
    return std::make_shared<nn::MultiheadAttention>(
        c["embed_dim"].get<int64_t>(), c["num_heads"].get<int64_t>(),
        nn::MultiheadAttentionOptions{.dropout = 0.0,
                                      .bias = c["bias"].get<bool>(),
                                      .add_bias_kv = c["add_bias_kv"].get<bool>(),
                                      .add_zero_attn = c["add_zero_attn"].get<bool>(),
                                      .kdim = c["kdim"].get<int64_t>(),
                                      .vdim = c["vdim"].get<int64_t>(),
                                      .batch_first = c["batch_first"].get<bool>()});
  const int64_t d = c["d_model"], h = c["nhead"];
  if (type == "TransformerEncoderLayer")
    return std::make_shared<nn::TransformerEncoderLayer>(d, h, layer_options(c));
  if (type == "TransformerDecoderLayer")
    return std::make_shared<nn::TransformerDecoderLayer>(d, h, layer_options(c));
  if (type == "TransformerEncoder")
    return std::make_shared<nn::TransformerEncoder>(
        nn::TransformerEncoderLayer(d, h, layer_options(c)), c["num_layers"].get<int64_t>(),
        nn::LayerNorm(d));
  if (type == "TransformerDecoder")
    return std::make_shared<nn::TransformerDecoder>(
        nn::TransformerDecoderLayer(d, h, layer_options(c)), c["num_layers"].get<int64_t>(),
        nn::LayerNorm(d));
  throw std::runtime_error("unknown golden type " + type);
}

// Runs the case's module on `in` (by name): the outputs by name.
std::map<std::string, Tensor> run(nn::Module& m, const json& c, std::map<std::string, Tensor>& in) {
  const std::string type = c["type"];
  auto get = [&](const char* k) { return in.count(k) ? in[k] : Tensor(); };
  if (type == "MultiheadAttention") {
    auto& a = dynamic_cast<nn::MultiheadAttention&>(m);
    const Tensor q = in["query"];
    const bool self = c["self_attn"].get<bool>();
    auto [y, w] = a.forward(q, self ? q : in["key"], self ? q : in["value"],
                            {.key_padding_mask = get("key_padding_mask"),
                             .attn_mask = get("attn_mask"),
                             .need_weights = c["need_weights"].get<bool>(),
                             .average_attn_weights = c["average_attn_weights"].get<bool>()});
    std::map<std::string, Tensor> out{{"y", y}};
    if (w.defined()) out["weights"] = w;
    return out;
  }
  if (type == "TransformerEncoderLayer")
    return {{"y", dynamic_cast<nn::TransformerEncoderLayer&>(m).forward(
                      in["src"], get("src_mask"), get("src_key_padding_mask"))}};
  if (type == "TransformerEncoder")
    return {{"y", dynamic_cast<nn::TransformerEncoder&>(m).forward(in["src"], get("src_mask"),
                                                                   get("src_key_padding_mask"))}};
  auto args = [&](auto& dec) {
    return dec.forward(in["tgt"], in["memory"], get("tgt_mask"), get("memory_mask"),
                       get("tgt_key_padding_mask"), get("memory_key_padding_mask"));
  };
  if (type == "TransformerDecoderLayer")
    return {{"y", args(dynamic_cast<nn::TransformerDecoderLayer&>(m))}};
  return {{"y", args(dynamic_cast<nn::TransformerDecoder&>(m))}};
}

class Golden : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(Golden, ForwardAndBackwardMatchPyTorch) {
  const auto& [name, dtype] = GetParam();
  const json c = golden_case(name);
  auto m = build(c);
  m->to(dtype);
  m->load_state_dict(golden_state_dict(name));  // strict: names and shapes as PyTorch's
  m->train();                                   // as the generator (dropout 0)
  const double rtol = dtype == kFloat64 ? 1e-9 : 2e-4, atol = dtype == kFloat64 ? 1e-11 : 2e-5;
  std::map<std::string, Tensor> in;
  for (const auto& k : c["inputs"]) {
    Tensor t = golden_tensor(name, "in/" + k.get<std::string>()).clone();  // own leaf
    if (t.is_floating_point()) t = t.to(dtype);
    if (t.is_floating_point() && k.get<std::string>().find("mask") == std::string::npos)
      t.requires_grad_(true);
    in[k] = t;
  }
  const auto out = run(*m, c, in);
  ASSERT_EQ(out.size(), c["outputs"].size());
  Tensor loss = zeros({}, {.dtype = dtype});
  for (const auto& k : c["outputs"]) {
    const std::string key = k;
    ASSERT_TRUE(out.count(key)) << key;
    EXPECT_TRUE(close(out.at(key), golden_tensor(name, "out/" + key), rtol, atol)) << key;
    loss = add(loss, sum(mul(out.at(key), golden_tensor(name, "gout/" + key).to(dtype))));
  }
  loss.backward();
  for (auto& [k, t] : in) {
    if (t.requires_grad()) {
      EXPECT_TRUE(close(t.grad(), golden_tensor(name, "grad/in/" + k), rtol, atol)) << "d" << k;
    }
  }
  for (const auto& [k, p] : m->named_parameters())
    EXPECT_TRUE(close(p.grad(), golden_tensor(name, "grad/" + k), rtol, atol)) << "d" << k;
}

INSTANTIATE_TEST_SUITE_P(Transformer, Golden,
                         ::testing::Combine(::testing::ValuesIn(golden_case_names()),
                                            ::testing::Values(kFloat64, kFloat32)),
                         [](const auto& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) == kFloat64 ? "_f64" : "_f32");
                         });

// The Value path (call) gives what forward gives, for a masked cross-attention case.
TEST(GoldenCall, MultiheadAttentionCallMatchesForward) {
  const std::string name = "mha_cross_masks_per_head";
  const json c = golden_case(name);
  auto m = build(c);
  m->to(kFloat64);
  m->load_state_dict(golden_state_dict(name));
  auto& a = dynamic_cast<nn::MultiheadAttention&>(*m);
  a.options().average_attn_weights = false;
  const nn::Value out =
      a.call({golden_tensor(name, "in/query"), golden_tensor(name, "in/key"),
              golden_tensor(name, "in/value"), golden_tensor(name, "in/key_padding_mask"),
              golden_tensor(name, "in/attn_mask")});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(close(out[0], golden_tensor(name, "out/y"), 1e-9, 1e-11));
  EXPECT_TRUE(close(out[1], golden_tensor(name, "out/weights"), 1e-9, 1e-11));
}

}  // namespace
}  // namespace sn::test
