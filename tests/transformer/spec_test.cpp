// Attention and transformer layers in JSON model specs: sizes inferred from the [T, E] input,
// PyTorch's options and names, the causal option, and errors for non-sequence inputs.
#include <gtest/gtest.h>

#include "sinapsis/nn/spec.h"
#include "sinapsis/nn/transformer.h"
#include "transformer/helpers.h"

namespace sn::test {
namespace {

TEST(TransformerSpec, LayersBuildFromJson) {
  manual_seed(0);
  auto m = nn::build_model(R"({
    "input": [6, 8],
    "layers": [
      {"type": "MultiheadAttention", "num_heads": 2, "causal": true, "name": "attn"},
      {"type": "TransformerEncoderLayer", "nhead": 2, "dim_feedforward": 16, "dropout": 0,
       "activation": "gelu", "norm_first": true, "causal": true},
      {"type": "TransformerEncoder", "nhead": 4, "num_layers": 2, "dim_feedforward": 12,
       "norm": true, "causal": true},
      {"type": "Linear", "out": 3}
    ]})");
  EXPECT_EQ(m.output_shape, (Shape{6, 3}));
  auto keys = m.module->state_dict().keys();
  EXPECT_EQ(keys[0], "attn.in_proj_weight");
  EXPECT_EQ(keys[4], "1.self_attn.in_proj_weight");
  EXPECT_EQ(keys[16], "2.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(keys[keys.size() - 3], "2.norm.bias");
  auto& seq = dynamic_cast<nn::Sequential&>(*m.module);
  auto& attn = seq.at<nn::MultiheadAttention>(0);
  EXPECT_TRUE(attn.options().batch_first);
  EXPECT_TRUE(attn.options().causal);
  auto& layer = seq.at<nn::TransformerEncoderLayer>(1);
  EXPECT_EQ(layer.options().activation, nn::TransformerActivation::GELU);
  EXPECT_TRUE(layer.options().norm_first);
  EXPECT_EQ(layer.options().dropout, 0.0);
  EXPECT_EQ(seq.at<nn::TransformerEncoder>(2).num_layers(), 2);
  EXPECT_EQ(seq.at<nn::TransformerEncoder>(2).layer(1).options().dropout, 0.1);  // PyTorch's
  // causal end to end: the first position's output ignores the later positions
  m.module->eval();
  Tensor x = randn({2, 6, 8});
  const Tensor a = (*m.module)(x);
  x.set({0, 5, 0}, 7.0);
  const Tensor b = (*m.module)(x);
  EXPECT_TRUE(close(a.narrow(1, 0, 5), b.narrow(1, 0, 5), 1e-5, 1e-6));
  EXPECT_FALSE(close(a.narrow(1, 5, 1), b.narrow(1, 5, 1), 1e-5, 1e-6));
  // the normalised spec rebuilds the same model
  EXPECT_EQ(nn::build_model(m.spec).module->state_dict().keys(), keys);
}

TEST(TransformerSpec, ErrorsForNonSequencesAndMissingOptions) {
  EXPECT_EQ(error_of([] {
              nn::build_model(R"({"input": [8], "layers": [
                {"type": "MultiheadAttention", "num_heads": 2}]})");
            }),
            "layer 0 MultiheadAttention gets [N, 8] but needs a sequence [N, T, E]; hint: the "
            "spec's \"input\" is [T, E] per example");
  EXPECT_EQ(error_of([] {
              nn::build_model(R"({"input": [4, 8], "layers": [
                {"type": "TransformerEncoderLayer"}]})");
            }),
            "model spec: layers[0] (TransformerEncoderLayer) needs \"nhead\" (an integer > 0)");
  EXPECT_EQ(error_of([] {
              nn::build_model(R"({"input": [4, 8], "layers": [
                {"type": "TransformerEncoderLayer", "nhead": 2, "activation": "tanh"}]})");
            }),
            "model spec: layers[0].activation must be one of \"relu\", \"gelu\" (got \"tanh\")");
}

}  // namespace
}  // namespace sn::test
