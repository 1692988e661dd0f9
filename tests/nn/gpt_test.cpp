// nn::GPT: char_lm.py's GPT saved as safetensors (tests/golden/gen_gpt.py) loads by its PyTorch
// names and gives PyTorch's logits, loss and gradients; generation with the key/value cache
// gives the logits of recomputing the whole context; the block size is enforced; the
// sinusoidal positional encoding and LayerNorm without bias.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sinapsis/sinapsis.h"
#include "test_util.h"

namespace sn {
namespace {

using nn::GPT;
using nn::GPTOptions;

const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/gpt.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/gpt.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

Tensor from_json(const nlohmann::json& e) {
  return tensor(e.at("data").get<std::vector<double>>(),
                Shape(e.at("shape").get<std::vector<int64_t>>()), {.dtype = kFloat64});
}

Tensor ids(const nlohmann::json& data, const nlohmann::json& shape) {
  return tensor(data.get<std::vector<int64_t>>(), Shape(shape.get<std::vector<int64_t>>()));
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  return max(abs(sub(a.to(kFloat64), b.to(kFloat64)))).item();
}

GPT golden_model(DType dt) {
  const auto& g = golden();
  GPT model({.vocab_size = g["vocab_size"].get<int64_t>(),
             .n_layer = g["n_layer"].get<int64_t>(),
             .n_head = g["n_head"].get<int64_t>(),
             .n_embd = g["n_embd"].get<int64_t>(),
             .block_size = g["block_size"].get<int64_t>()});
  model.to(dt);
  io::Checkpoint ck = io::load(std::string(SN_SOURCE_DIR) + "/tests/golden/gpt.safetensors");
  nn::StateDict sd;
  for (auto& [name, t] : ck.tensors) sd.insert(name, t);
  model.load_state_dict(sd);  // strict: every name of char_lm.py's state_dict, nothing else
  return model;
}

void check_against_torch(DType dt, double tol) {
  const auto& g = golden();
  GPT model = golden_model(dt);
  Tensor x = ids(g["x"], g["x_shape"]), y = ids(g["y"], g["x_shape"]);
  Tensor logits = model(x);
  EXPECT_LT(max_abs_diff(logits, from_json(g["logits"])), tol);
  Tensor loss =
      loss::cross_entropy(logits.reshape({-1, g["vocab_size"].get<int64_t>()}), y.reshape({-1}));
  EXPECT_NEAR(loss.item(), g["loss"].get<double>(), tol);
  loss.backward();
  auto params = model.named_parameters();
  for (auto& [name, expected] : g["grads"].items()) {
    SCOPED_TRACE(name);
    bool found = false;
    for (auto& [n, p] : params)
      if (n == name) {
        found = true;
        EXPECT_LT(max_abs_diff(p.grad(), from_json(expected)), tol);
      }
    EXPECT_TRUE(found);
  }
  Tensor s = ids(g["short"], g["short_shape"]);
  EXPECT_LT(max_abs_diff(model(s), from_json(g["short_logits"])), tol);
}

TEST(GPT, CharLmWeightsGiveTorchLogitsLossAndGradsFloat64) { check_against_torch(kFloat64, 1e-9); }
TEST(GPT, CharLmWeightsGiveTorchLogitsLossAndGradsFloat32) { check_against_torch(kFloat32, 2e-4); }

TEST(GPT, ParameterNamesAreCharLmsAndHeadIsTied) {
  GPT model({.vocab_size = 7, .n_layer = 2, .n_head = 2, .n_embd = 8, .block_size = 5});
  std::vector<std::string> names;
  for (auto& [n, p] : model.named_parameters()) names.push_back(n);
  const std::vector<std::string> want{"wte.weight",        "wpe.weight",          "h.0.ln_1.weight",
                                      "h.0.c_attn.weight", "h.0.c_proj.weight",   "h.0.ln_2.weight",
                                      "h.0.c_fc.weight",   "h.0.mlp_proj.weight", "h.1.ln_1.weight",
                                      "h.1.c_attn.weight", "h.1.c_proj.weight",   "h.1.ln_2.weight",
                                      "h.1.c_fc.weight",   "h.1.mlp_proj.weight", "ln_f.weight"};
  EXPECT_EQ(names, want);
  EXPECT_EQ(model.block_size(), 5);
  // the tied head: the logits' gradient reaches wte.weight through both uses
  Tensor logits = model(tensor(std::vector<int64_t>{1, 2, 3}, {1, 3}));
  EXPECT_EQ(logits.shape(), Shape({1, 3, 7}));
  // untied, with biases: lm_head and .bias entries appear
  GPT untied({.vocab_size = 7,
              .n_layer = 1,
              .n_head = 2,
              .n_embd = 8,
              .bias = true,
              .tie_weights = false});
  auto sd = untied.state_dict();
  EXPECT_TRUE(sd.contains("lm_head.weight"));
  EXPECT_TRUE(sd.contains("lm_head.bias"));
  EXPECT_TRUE(sd.contains("h.0.ln_1.bias"));
  EXPECT_TRUE(sd.contains("h.0.c_attn.bias"));
}

TEST(GPT, InitFollowsCharLm) {
  manual_seed(3);
  GPT model({.vocab_size = 50, .n_layer = 4, .n_head = 4, .n_embd = 64, .block_size = 32});
  auto sd = model.state_dict();
  auto stdev = [](const Tensor& t) { return std::sqrt(var(t.to(kFloat64)).item()); };
  EXPECT_NEAR(stdev(sd.at("wte.weight")), 0.02, 0.002);
  EXPECT_NEAR(stdev(sd.at("h.0.c_fc.weight")), 0.02, 0.002);
  EXPECT_NEAR(stdev(sd.at("h.0.mlp_proj.weight")), 0.02 / std::sqrt(8.0), 0.0007);
  EXPECT_NEAR(stdev(sd.at("h.2.c_proj.weight")), 0.02 / std::sqrt(8.0), 0.0007);
  EXPECT_TRUE(equal(sd.at("ln_f.weight"), ones({64})));
}

TEST(GPT, CachedGenerationGivesTheLogitsOfTheWholeContext) {
  manual_seed(5);
  GPT model({.vocab_size = 11, .n_layer = 2, .n_head = 2, .n_embd = 16, .block_size = 9});
  model.to(kFloat64);
  for (auto& p : model.parameters()) {  // larger weights than the init, so attention matters
    NoGradGuard ng;
    p.copy_(mul(randn(p.shape(), {.dtype = kFloat64}), 0.3));
  }
  model.eval();
  NoGradGuard ng;
  Tensor idx = randint(0, 11, {2, 9});
  Tensor full = model(idx);
  // prefill 4 tokens, then one token at a time
  std::vector<Tensor> caches;
  Tensor first = model.forward_cached(idx.narrow(1, 0, 4), caches);
  ASSERT_EQ(caches.size(), 4u);
  EXPECT_EQ(caches[0].shape(), Shape({2, 2, 4, 8}));
  EXPECT_LT(max_abs_diff(first, full.narrow(1, 0, 4)), 1e-12);
  for (int64_t t = 4; t < 9; ++t) {
    Tensor step = model.forward_cached(idx.narrow(1, t, 1), caches);
    EXPECT_LT(max_abs_diff(step, full.narrow(1, t, 1)), 1e-12) << "position " << t;
  }
  EXPECT_EQ(caches[3].shape(), Shape({2, 2, 9, 8}));
  // the same through call() and the Value convention
  nn::Value v = model.call({idx.narrow(1, 0, 6)});
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[1].shape(), Shape({2, 2, 6, 8}));
  std::vector<Tensor> next{idx.narrow(1, 6, 3)};
  for (size_t i = 1; i < v.size(); ++i) next.push_back(v[i]);
  nn::Value v2 = model.call(nn::Value(next));
  EXPECT_LT(max_abs_diff(v2[0], full.narrow(1, 6, 3)), 1e-12);
  EXPECT_EQ(v2[4].shape(), Shape({2, 2, 9, 8}));
  // two new tokens at once after a cache
  std::vector<Tensor> c2;
  model.forward_cached(idx.narrow(1, 0, 5), c2);
  Tensor two = model.forward_cached(idx.narrow(1, 5, 2), c2);
  EXPECT_LT(max_abs_diff(two, full.narrow(1, 5, 2)), 1e-12);
}

TEST(GPT, BlockSizeAndInputErrors) {
  GPT model({.vocab_size = 5, .n_layer = 1, .n_head = 1, .n_embd = 4, .block_size = 3});
  auto msg = [](auto&& f) { return sn::test::error_of(f); };
  EXPECT_NE(msg([&] {
              model(zeros({1, 4}, {.dtype = kInt64}));
            }).find("4 positions exceed block_size 3"),
            std::string::npos);
  std::vector<Tensor> caches;
  model.forward_cached(zeros({1, 2}, {.dtype = kInt64}), caches);
  EXPECT_NE(msg([&] {
              model.forward_cached(zeros({1, 2}, {.dtype = kInt64}), caches);
            }).find("(cached 2 + new 2)"),
            std::string::npos);
  EXPECT_NE(msg([&] { model(zeros({1, 2})); }).find("token ids must be int64"), std::string::npos);
  EXPECT_NE(msg([&] { model(zeros({2}, {.dtype = kInt64})); }).find("expected token ids [B, T]"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              model(full({1, 2}, 7, {.dtype = kInt64}));
            }).find("out of range"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              GPT({.vocab_size = 5, .n_head = 3, .n_embd = 8});
            }).find("n_embd (8) must be a multiple of n_head (3)"),
            std::string::npos);
  EXPECT_NE(msg([&] { GPT(GPTOptions{}); }).find("vocab_size must be positive"), std::string::npos);
}

TEST(GPT, TrainsOnATinySequence) {
  // memorise one short sequence: the loss must fall far below ln(vocab)
  manual_seed(9);
  GPT model({.vocab_size = 8, .n_layer = 1, .n_head = 2, .n_embd = 16, .block_size = 8});
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  Tensor seq = tensor(std::vector<int64_t>{1, 3, 5, 7, 2, 4, 6, 0, 1}, {1, 9});
  Tensor x = seq.narrow(1, 0, 8), y = seq.narrow(1, 1, 8);
  double last = 0;
  for (int i = 0; i < 60; ++i) {
    opt.zero_grad();
    Tensor loss = loss::cross_entropy(model(x).reshape({-1, 8}), y.reshape({-1}));
    loss.backward();
    opt.step();
    last = loss.item();
  }
  EXPECT_LT(last, 0.2);
}

TEST(GPT, ModelSpecEntry) {
  nn::BuiltModel b = nn::build_model(
      R"({"input": [6], "layers": [{"type": "GPT", "vocab_size": 11, "n_layer": 1, "n_head": 2,
          "n_embd": 8, "block_size": 6}]})");
  EXPECT_EQ(b.output_shape, Shape({6, 11}));
  Tensor logits = (*b.module)(zeros({2, 6}, {.dtype = kInt64}));
  EXPECT_EQ(logits.shape(), Shape({2, 6, 11}));
  EXPECT_TRUE(b.module->state_dict().contains("0.h.0.c_attn.weight"));
  EXPECT_NE(b.spec.find("\"tie_weights\": true"), std::string::npos);
  EXPECT_THROW(nn::build_model(R"({"input": [8], "layers": [{"type": "GPT", "vocab_size": 5,
                                  "block_size": 4}]})"),
               ShapeError);
  EXPECT_THROW(nn::build_model(R"({"input": [4], "layers": [{"type": "GPT"}]})"), ValueError);
}

TEST(GPT, DropoutOnlyInTraining) {
  manual_seed(13);
  GPT model(
      {.vocab_size = 9, .n_layer = 1, .n_head = 2, .n_embd = 8, .block_size = 6, .dropout = 0.3});
  Tensor idx = randint(0, 9, {2, 6});
  Tensor a = model(idx), b = model(idx);
  EXPECT_FALSE(allclose(a, b));  // embedding, attention and residual dropout drawn each call
  a.sum().backward();            // and differentiable
  EXPECT_TRUE(model.wte().weight().grad().defined());
  model.eval();
  EXPECT_TRUE(equal(model(idx), model(idx)));
}

TEST(SinusoidalPositionalEncoding, MatchesTheFormula) {
  nn::SinusoidalPositionalEncoding pe(6, 10);
  EXPECT_TRUE(pe.state_dict().empty());
  Tensor x = zeros({2, 4, 6});
  Tensor y = pe(x);
  for (int64_t pos : {0, 3})
    for (int64_t i = 0; i < 6; i += 2) {
      const double a = pos / std::pow(10000.0, static_cast<double>(i) / 6);
      EXPECT_NEAR(y.at({1, pos, i}), std::sin(a), 1e-6);
      EXPECT_NEAR(y.at({1, pos, i + 1}), std::cos(a), 1e-6);
    }
  EXPECT_TRUE(equal(pe.forward_at(x.narrow(1, 0, 1), 3), y.narrow(1, 3, 1)));
  EXPECT_THROW(pe(zeros({1, 11, 6})), ValueError);
  EXPECT_THROW(pe(zeros({1, 2, 5})), ShapeError);
}

TEST(LayerNormNoBias, WeightOnly) {
  nn::LayerNorm ln(4, {.bias = false});
  EXPECT_EQ(ln.parameters().size(), 1u);
  EXPECT_FALSE(ln.bias().defined());
  EXPECT_NE(ln.to_string().find("bias=False"), std::string::npos);
  Tensor x = randn({3, 4});
  EXPECT_TRUE(allclose(ln(x), layer_norm(x, {4}, ln.weight(), Tensor(), 1e-5)));
}

}  // namespace
}  // namespace sn
