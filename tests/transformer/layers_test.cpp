// The transformer layers and stacks: PyTorch's parameter names, finite-difference gradchecks
// (post-/pre-norm, relu/gelu, masks, both batch layouts; dropout 0), clones, the Value interface
// (masks ride along, so layers chain in a Sequential) and the errors.
#include <gtest/gtest.h>

#include "sinapsis/nn/container.h"
#include "sinapsis/nn/transformer.h"
#include "transformer/helpers.h"

namespace sn::test {
namespace {

using nn::TransformerActivation;

Tensor leaf(const Shape& s) { return randn(s, {.dtype = kFloat64}).requires_grad_(true); }

void randomize(nn::Module& m) {
  NoGradGuard ng;
  for (auto& p : m.parameters()) p.add_(mul(randn(p.shape(), {.dtype = p.dtype()}), 0.3));
}

std::vector<std::string> names(const nn::Module& m) {
  std::vector<std::string> out;
  for (auto& [k, v] : m.state_dict()) out.push_back(k);
  return out;
}

TEST(TransformerLayers, ParameterNamesAsPyTorch) {
  nn::TransformerEncoderLayer enc(8, 2, {.dim_feedforward = 16});
  EXPECT_EQ(names(enc),
            (std::vector<std::string>{
                "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"}));
  EXPECT_EQ(enc.linear1().weight().shape(), (Shape{16, 8}));
  nn::TransformerDecoderLayer dec(8, 2, {.dim_feedforward = 16});
  const auto dn = names(dec);
  ASSERT_EQ(dn.size(), 18u);
  EXPECT_EQ(dn[4], "multihead_attn.in_proj_weight");
  EXPECT_EQ(dn[16], "norm3.weight");
  nn::TransformerEncoder stack(enc, 2, nn::LayerNorm(8));
  const auto sn_ = names(stack);
  ASSERT_EQ(sn_.size(), 26u);
  EXPECT_EQ(sn_[0], "layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(sn_[12], "layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(sn_[25], "norm.bias");
}

TEST(TransformerLayers, ClonesCopyTheWeightsIntoTheirOwnStorage) {
  manual_seed(1);
  nn::TransformerEncoderLayer enc(8, 2, {.dim_feedforward = 16});
  randomize(enc);
  nn::TransformerEncoder stack(enc, 2);
  for (int i = 0; i < 2; ++i) {
    const auto a = enc.state_dict(), b = stack.layer(i).state_dict();
    for (const auto& [k, v] : a) {
      EXPECT_TRUE(equal(v, b.at(k))) << k;
      EXPECT_FALSE(v.shares_storage(b.at(k))) << k;
    }
  }
  NoGradGuard ng;
  Tensor w0 = stack.layer(0).linear1().weight();
  w0.fill_(0.0);
  EXPECT_FALSE(equal(stack.layer(1).linear1().weight(), stack.layer(0).linear1().weight()));
  nn::TransformerEncoderLayer enc64(4, 2, {.dim_feedforward = 6});
  enc64.to(kFloat64);
  EXPECT_EQ(enc64.clone()->linear2().weight().dtype(), kFloat64);
}

struct LayerCase {
  bool norm_first;
  TransformerActivation act;
  bool batch_first;
};

class EncoderGradcheck : public ::testing::TestWithParam<LayerCase> {};

TEST_P(EncoderGradcheck, InputsAndEveryParameter) {
  const LayerCase lc = GetParam();
  manual_seed(11);
  nn::TransformerEncoderLayer enc(4, 2,
                                  {.dim_feedforward = 6,
                                   .dropout = 0.0,
                                   .activation = lc.act,
                                   .batch_first = lc.batch_first,
                                   .norm_first = lc.norm_first});
  enc.to(kFloat64);
  randomize(enc);
  const Tensor x = lc.batch_first ? leaf({2, 3, 4}) : leaf({3, 2, 4});
  const Tensor mask = masked_fill(zeros({3, 3}, {.dtype = kFloat64}),
                                  gt(arange(3).unsqueeze(0), arange(3).unsqueeze(1)), -INFINITY);
  Tensor pad = zeros({2, 3}, {.dtype = kBool});
  pad.set({1, 1}, 1);
  EXPECT_TRUE(module_gradcheck(enc, [&] { return enc.forward(x, mask, pad); }, {x}));
}

class DecoderGradcheck : public ::testing::TestWithParam<LayerCase> {};

TEST_P(DecoderGradcheck, InputsMemoryAndEveryParameter) {
  const LayerCase lc = GetParam();
  manual_seed(12);
  nn::TransformerDecoderLayer dec(4, 2,
                                  {.dim_feedforward = 5,
                                   .dropout = 0.0,
                                   .activation = lc.act,
                                   .batch_first = lc.batch_first,
                                   .norm_first = lc.norm_first});
  dec.to(kFloat64);
  randomize(dec);
  const Tensor t = lc.batch_first ? leaf({2, 3, 4}) : leaf({3, 2, 4});
  const Tensor m = lc.batch_first ? leaf({2, 2, 4}) : leaf({2, 2, 4});
  const Tensor tgt_mask = gt(arange(3).unsqueeze(0), arange(3).unsqueeze(1));
  Tensor mem_pad = zeros({2, 2}, {.dtype = kBool});
  mem_pad.set({0, 1}, 1);
  Tensor mem_mask = zeros({3, 2}, {.dtype = kFloat64});
  mem_mask.set({2, 0}, -0.7);
  EXPECT_TRUE(module_gradcheck(
      dec, [&] { return dec.forward(t, m, tgt_mask, mem_mask, Tensor(), mem_pad); }, {t, m}));
}

const LayerCase kLayerCases[] = {{false, TransformerActivation::ReLU, false},
                                 {true, TransformerActivation::GELU, false},
                                 {false, TransformerActivation::GELU, true},
                                 {true, TransformerActivation::ReLU, true}};
std::string layer_case_name(const ::testing::TestParamInfo<LayerCase>& i) {
  return std::string(i.param.norm_first ? "pre_norm" : "post_norm") +
         (i.param.act == TransformerActivation::GELU ? "_gelu" : "_relu") +
         (i.param.batch_first ? "_batch_first" : "_seq_first");
}
INSTANTIATE_TEST_SUITE_P(Transformer, EncoderGradcheck, ::testing::ValuesIn(kLayerCases),
                         layer_case_name);
INSTANTIATE_TEST_SUITE_P(Transformer, DecoderGradcheck, ::testing::ValuesIn(kLayerCases),
                         layer_case_name);

TEST(TransformerLayers, MasksRideAlongThroughASequential) {
  manual_seed(13);
  nn::TransformerEncoderLayer enc(8, 2, {.dim_feedforward = 16, .dropout = 0.0});
  randomize(enc);
  nn::TransformerEncoder stack(enc, 2, nn::LayerNorm(8));
  auto seq = nn::Sequential({stack.layer(0).clone(), stack.layer(1).clone(), nn::LayerNorm(8)});
  const Tensor x = randn({5, 2, 8});
  const Tensor mask = gt(arange(5).unsqueeze(0), arange(5).unsqueeze(1));
  Tensor pad = zeros({2, 5}, {.dtype = kBool});
  pad.set({0, 4}, 1);
  const nn::Value out = seq.call({x, mask, pad});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[1].is_same(mask));
  EXPECT_TRUE(out[2].is_same(pad));
  EXPECT_TRUE(close(out[0], stack.forward(x, mask, pad), 1e-5, 1e-6));
  EXPECT_TRUE(close(stack.call({x, mask, pad})[0], out[0], 1e-5, 1e-6));
  // without masks, forward(x) = call({x})
  EXPECT_TRUE(close(stack(x), stack.call({x})[0], 1e-6, 1e-7));

  nn::TransformerDecoderLayer dl(8, 2, {.dim_feedforward = 16, .dropout = 0.0});
  nn::TransformerDecoder dstack(dl, 2);
  const Tensor mem = randn({4, 2, 8});
  const nn::Value d = dstack.call({x, mem, mask});
  ASSERT_EQ(d.size(), 3u);
  EXPECT_TRUE(d[1].is_same(mem));
  EXPECT_TRUE(close(d[0], dstack.forward(x, mem, mask), 1e-6, 1e-7));
}

TEST(TransformerLayers, CausalOptionEqualsACausalMask) {
  manual_seed(14);
  nn::TransformerEncoderLayer enc(
      8, 2, {.dim_feedforward = 16, .dropout = 0.0, .batch_first = true, .causal = true});
  randomize(enc);
  const Tensor x = randn({2, 5, 8});
  const Tensor mask = gt(arange(5).unsqueeze(0), arange(5).unsqueeze(1));
  nn::TransformerEncoderLayer plain(8, 2,
                                    {.dim_feedforward = 16, .dropout = 0.0, .batch_first = true});
  plain.load_state_dict(enc.state_dict());
  EXPECT_TRUE(close(enc(x), plain.forward(x, mask), 1e-5, 1e-6));
  // the output at position t does not depend on later positions
  Tensor x2 = x.clone();
  x2.set({0, 4, 0}, 10.0);
  const Tensor a = enc(x), b = enc(x2);
  EXPECT_TRUE(close(a.narrow(1, 0, 4), b.narrow(1, 0, 4), 1e-6, 1e-7));
}

TEST(TransformerLayers, DropoutOnlyInTraining) {
  manual_seed(15);
  nn::TransformerEncoderLayer enc(8, 2, {.dim_feedforward = 16});  // dropout 0.1 as PyTorch
  const Tensor x = randn({5, 2, 8});
  EXPECT_FALSE(allclose(enc(x), enc(x)));
  enc.eval();
  EXPECT_TRUE(equal(enc(x), enc(x)));
}

TEST(TransformerLayers, ErrorsNameTheLayerAndShapes) {
  nn::TransformerEncoderLayer enc(8, 2, {.dim_feedforward = 16});
  EXPECT_EQ(error_of([&] {
              enc(zeros({5, 2, 6}));
            }),
            "TransformerEncoderLayer(8, heads=2): src must be [S, N, 8] or unbatched [S, 8], got "
            "[5, 2, 6]");
  EXPECT_EQ(error_of([&] {
              enc.forward(zeros({5, 2, 8}), zeros({4, 4}));
            }),
            "MultiheadAttention(8, heads=2) 'self_attn': a 2-D attn_mask must be [L, S] = [5, 5], "
            "got [4, 4]");
  nn::TransformerDecoderLayer dec(8, 2, {.dim_feedforward = 16, .batch_first = true});
  EXPECT_EQ(error_of([&] {
              dec.forward(zeros({2, 5, 8}), zeros({2, 4, 6}));
            }),
            "TransformerDecoderLayer(8, heads=2): memory must be [N, S, 8], got [2, 4, 6] (tgt "
            "[2, 5, 8])");
  EXPECT_EQ(error_of([&] {
              dec.forward(zeros({2, 5, 8}), zeros({3, 4, 8}));
            }),
            "MultiheadAttention(8, heads=2) 'multihead_attn': key and value must have the batch "
            "size of query and the same length (batch_first), got query [2, 5, 8], key [3, 4, 8], "
            "value [3, 4, 8]");
  EXPECT_NE(error_of([&] {
              dec(zeros({2, 5, 8}));
            }).find("needs the encoder's output"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { nn::TransformerEncoderLayer(10, 3); }),
            "TransformerEncoderLayer: d_model 10 is not divisible by nhead 3");
  EXPECT_EQ(error_of([&] { nn::TransformerEncoder(enc, 0); }),
            "TransformerEncoder: num_layers must be positive (got 0)");
}

}  // namespace
}  // namespace sn::test
