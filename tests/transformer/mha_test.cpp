// MultiheadAttention: parameters and init as PyTorch, finite-difference gradchecks (masks,
// padding, kdim/vdim, batch_first, bias_kv/zero_attn, both attention paths), fully masked
// queries, the Value interface and the errors for bad shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/nn/init.h"
#include "sinapsis/nn/transformer.h"
#include "transformer/helpers.h"

namespace sn::test {
namespace {

using nn::MultiheadAttention;

Tensor leaf(const Shape& s) { return randn(s, {.dtype = kFloat64}).requires_grad_(true); }

// gives every parameter random values (the init leaves the biases at zero)
void randomize(nn::Module& m) {
  NoGradGuard ng;
  for (auto& p : m.parameters()) p.copy_(mul(randn(p.shape(), {.dtype = p.dtype()}), 0.5));
}

std::vector<std::string> names(const nn::Module& m) {
  std::vector<std::string> out;
  for (auto& [k, v] : m.state_dict()) out.push_back(k);
  return out;
}

TEST(MultiheadAttention, ParametersAndInitAsPyTorch) {
  manual_seed(0);
  MultiheadAttention a(16, 4);
  EXPECT_EQ(names(a), (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                "out_proj.bias"}));
  EXPECT_EQ(a.in_proj_weight().shape(), (Shape{48, 16}));
  EXPECT_EQ(a.in_proj_bias().shape(), (Shape{48}));
  // xavier_uniform on [48, 16]: bound √(6 / (16 + 48))
  const double bound = std::sqrt(6.0 / 64.0);
  EXPECT_LE(amax(abs(a.in_proj_weight()), {0, 1}).item(), bound);
  EXPECT_GT(amax(abs(a.in_proj_weight()), {0, 1}).item(), 0.8 * bound);
  EXPECT_EQ(sum(abs(a.in_proj_bias())).item(), 0.0);
  EXPECT_EQ(sum(abs(a.out_proj().bias())).item(), 0.0);
  // out_proj.weight keeps a Linear's init: U(±1/√16)
  EXPECT_LE(amax(abs(a.out_proj().weight()), {0, 1}).item(), 0.25);

  MultiheadAttention b(8, 2, {.bias = false, .add_bias_kv = true, .kdim = 5, .vdim = 3});
  EXPECT_EQ(names(b), (std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight",
                                                "bias_k", "bias_v", "out_proj.weight"}));
  EXPECT_EQ(b.k_proj_weight().shape(), (Shape{8, 5}));
  EXPECT_EQ(b.v_proj_weight().shape(), (Shape{8, 3}));
  EXPECT_EQ(b.bias_k().shape(), (Shape{1, 1, 8}));
  EXPECT_FALSE(b.packed());
  EXPECT_EQ(a.to_string(),
            "MultiheadAttention(\n  embed_dim=16, num_heads=4\n  (out_proj): "
            "Linear(in_features=16, out_features=16, bias=True)\n)");
}

TEST(MultiheadAttention, GradcheckSelfAttentionWithMasksAndPadding) {
  manual_seed(1);
  MultiheadAttention a(4, 2);
  a.to(kFloat64);
  randomize(a);
  const Tensor x = leaf({3, 2, 4});  // [L, N, E]
  // causal as a bool mask (true = masked out), and the last key of batch 1 is padding
  const Tensor causal = gt(arange(3).unsqueeze(0), arange(3).unsqueeze(1));
  const Tensor pad = tensor(std::vector<int64_t>{0, 0, 0, 0, 0, 1}, {2, 3}).to(kBool);
  for (bool weights : {true, false}) {
    SCOPED_TRACE(weights ? "composed (need_weights)" : "fast path");
    EXPECT_TRUE(module_gradcheck(
        a,
        [&] {
          auto [y, w] = a.forward(
              x, x, x, {.key_padding_mask = pad, .attn_mask = causal, .need_weights = weights});
          return weights ? cat({y.flatten(), w.flatten()}) : y;
        },
        {x}));
  }
}

TEST(MultiheadAttention, GradcheckCrossAttentionKdimVdimBatchFirstFloatMask) {
  manual_seed(2);
  MultiheadAttention a(4, 2, {.kdim = 3, .vdim = 5, .batch_first = true});
  a.to(kFloat64);
  randomize(a);
  const Tensor q = leaf({2, 3, 4}), k = leaf({2, 4, 3}), v = leaf({2, 4, 5});
  Tensor mask = randn({4, 3, 4}, {.dtype = kFloat64});  // [N·H, L, S], added
  mask.set({1, 2, 0}, -INFINITY);
  EXPECT_TRUE(module_gradcheck(a,
                               [&] {
                                 auto [y, w] = a.forward(
                                     q, k, v, {.attn_mask = mask, .average_attn_weights = false});
                                 EXPECT_EQ(w.shape(), (Shape{2, 2, 3, 4}));
                                 return cat({y.flatten(), w.flatten()});
                               },
                               {q, k, v}));
}

TEST(MultiheadAttention, GradcheckBiasKvZeroAttnUnbatchedNoBias) {
  manual_seed(3);
  MultiheadAttention a(4, 2, {.bias = false, .add_bias_kv = true, .add_zero_attn = true});
  a.to(kFloat64);
  randomize(a);
  const Tensor q = leaf({3, 4}), k = leaf({2, 4}), v = leaf({2, 4});  // unbatched [L, E]
  const Tensor pad = tensor(std::vector<int64_t>{1, 0}, {2}).to(kBool);
  for (bool weights : {true, false}) {
    EXPECT_TRUE(module_gradcheck(a,
                                 [&] {
                                   auto [y, w] = a.forward(
                                       q, k, v, {.key_padding_mask = pad, .need_weights = weights});
                                   if (weights) {
                                     EXPECT_EQ(w.shape(), (Shape{3, 4}));  // S + bias_kv + zero key
                                   }
                                   return weights ? cat({y.flatten(), w.flatten()}) : y;
                                 },
                                 {q, k, v}));
  }
}

TEST(MultiheadAttention, FullyMaskedQueryGivesTheOutputBiasAndNoNaN) {
  manual_seed(4);
  MultiheadAttention a(4, 2);
  a.to(kFloat64);
  randomize(a);
  Tensor x = leaf({3, 1, 4});
  Tensor mask = zeros({3, 3}, {.dtype = kBool});
  for (int j = 0; j < 3; ++j) mask.set({1, j}, 1);  // query 1 sees nothing
  for (bool weights : {true, false}) {
    auto [y, w] = a.forward(x, x, x, {.attn_mask = mask, .need_weights = weights});
    EXPECT_TRUE(close(y[1][0], a.out_proj().bias(), 0, 1e-15));
    if (weights) {
      EXPECT_EQ(sum(abs(w[0][1])).item(), 0.0);
    }
    sum(y).backward();
    EXPECT_TRUE(std::isfinite(sum(x.grad()).item()));
    for (auto& p : a.parameters()) EXPECT_TRUE(std::isfinite(sum(p.grad()).item()));
    x.zero_grad();
    a.zero_grad();
  }
  EXPECT_TRUE(
      module_gradcheck(a, [&] { return a.forward(x, x, x, {.attn_mask = mask}).first; }, {x}));
}

TEST(MultiheadAttention, BothPathsAndTheCausalOptionAgree) {
  manual_seed(5);
  MultiheadAttention a(8, 2, {.batch_first = true});
  randomize(a);
  const Tensor x = randn({2, 5, 8});
  const Tensor causal = gt(arange(5).unsqueeze(0), arange(5).unsqueeze(1));
  const Tensor with_w = a.forward(x, x, x, {.attn_mask = causal}).first;
  const Tensor fast = a.forward(x, x, x, {.attn_mask = causal, .need_weights = false}).first;
  const Tensor flag = a.forward(x, x, x, {.need_weights = false, .causal = true}).first;
  const Tensor flag_w = a.forward(x, x, x, {.causal = true}).first;
  EXPECT_TRUE(close(fast, with_w, 1e-5, 1e-6));
  EXPECT_TRUE(close(flag, with_w, 1e-5, 1e-6));
  EXPECT_TRUE(close(flag_w, with_w, 1e-5, 1e-6));
  // a float mask of 0 / -inf is the same mask
  const Tensor fmask = masked_fill(zeros({5, 5}), causal, -INFINITY);
  EXPECT_TRUE(close(a.forward(x, x, x, {.attn_mask = fmask}).first, with_w, 1e-5, 1e-6));
  // the module option
  a.options().causal = true;
  EXPECT_TRUE(close(a(x), with_w, 1e-5, 1e-6));
  // the first query sees only itself: weights row 0 = [1, 0, 0, 0, 0] in every batch
  auto w = a.forward(x, x, x).second;
  EXPECT_NEAR(w.at({1, 0, 0}), 1.0, 1e-6);
  EXPECT_NEAR(sum(w[1][0]).item(), 1.0, 1e-6);
}

TEST(MultiheadAttention, ValueInterfaceAndSelfAttentionForward) {
  manual_seed(6);
  MultiheadAttention a(8, 4);
  randomize(a);
  const Tensor x = randn({4, 3, 8});
  const auto [y, w] = a.forward(x, x, x);
  EXPECT_TRUE(close(a(x), y, 1e-5, 1e-6));
  nn::Value out = a.call({x});  // key and value default to the query
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(close(out[0], y, 1e-5, 1e-6));
  EXPECT_TRUE(close(out[1], w, 1e-5, 1e-6));
  EXPECT_EQ(out[1].shape(), (Shape{3, 4, 4}));  // [N, L, S], averaged over heads
  a.options().need_weights = false;
  out = a.call({x, x, x, Tensor(), Tensor()});
  EXPECT_FALSE(out[1].defined());
  // padding in slot 3: batch 0's last two keys
  Tensor pad = zeros({3, 4}, {.dtype = kBool});
  pad.set({0, 2}, 1);
  pad.set({0, 3}, 1);
  a.options().need_weights = true;
  out = a.call({x, x, x, pad});
  EXPECT_EQ(out[1].at({0, 0, 3}), 0.0);
  EXPECT_GT(out[1].at({1, 0, 3}), 0.0);
}

TEST(MultiheadAttention, DropoutOnlyInTraining) {
  manual_seed(7);
  MultiheadAttention a(8, 2, {.dropout = 0.5});
  const Tensor x = randn({5, 2, 8});
  a.eval();
  EXPECT_TRUE(equal(a(x), a(x)));
  a.train();
  auto [y1, w1] = a.forward(x, x, x);
  EXPECT_FALSE(allclose(y1, a.forward(x, x, x).first));
  // dropped probabilities are 0, kept ones are scaled by 2: per-head rows no longer sum to 1
  const auto w = a.forward(x, x, x, {.average_attn_weights = false}).second.to_vector();
  int zeros_seen = 0;
  for (double e : w) zeros_seen += e == 0.0;
  EXPECT_GT(zeros_seen, 0);
}

TEST(MultiheadAttention, ErrorsNameTheModuleAndShapes) {
  MultiheadAttention a(8, 2);
  const Tensor x = zeros({5, 2, 8});
  EXPECT_EQ(
      error_of([&] {
        a(zeros({5, 2, 6}));
      }),
      "MultiheadAttention(8, heads=2): query must have 8 features (embed_dim), got [5, 2, 6]");
  EXPECT_EQ(error_of([&] { a(zeros({8})); }),
            "MultiheadAttention(8, heads=2): query must be [L, N, 8] or unbatched [L, 8], got [8]");
  EXPECT_EQ(
      error_of([&] {
        a.forward(x, zeros({4, 3, 8}), zeros({4, 3, 8}));
      }),
      "MultiheadAttention(8, heads=2): key and value must have the batch size of query and "
      "the same length (sequence first), got query [5, 2, 8], key [4, 3, 8], value [4, 3, 8]");
  EXPECT_EQ(
      error_of([&] {
        a.forward(x, zeros({4, 2, 8}), zeros({3, 2, 8}));
      }),
      "MultiheadAttention(8, heads=2): key and value must have the batch size of query and "
      "the same length (sequence first), got query [5, 2, 8], key [4, 2, 8], value [3, 2, 8]");
  EXPECT_EQ(error_of([&] {
              a.forward(x, x, x, {.attn_mask = zeros({5, 4})});
            }),
            "MultiheadAttention(8, heads=2): a 2-D attn_mask must be [L, S] = [5, 5], got [5, 4]");
  EXPECT_EQ(error_of([&] {
              a.forward(x, x, x, {.attn_mask = zeros({2, 5, 5})});
            }),
            "MultiheadAttention(8, heads=2): a 3-D attn_mask must be [N·num_heads, L, S] = [4, 5, "
            "5], got [2, 5, 5]");
  EXPECT_EQ(error_of([&] {
              a.forward(x, x, x, {.key_padding_mask = zeros({5, 2}, {.dtype = kBool})});
            }),
            "MultiheadAttention(8, heads=2): key_padding_mask must be [N, S] = [2, 5], got [5, 2]");
  EXPECT_EQ(error_of([&] {
              a.forward(x, x, x, {.attn_mask = zeros({5, 5}, {.dtype = kInt64})});
            }),
            "MultiheadAttention(8, heads=2): attn_mask must be bool (true = masked out) or "
            "floating point (added), got int64");
  EXPECT_EQ(error_of([&] {
              a(zeros({5, 2, 8}, {.dtype = kFloat64}));
            }),
            "MultiheadAttention(8, heads=2): expected float32 query, key and value, got float64, "
            "float64, float64");
  EXPECT_EQ(error_of([&] {
              a.forward(zeros({5, 8}), x, x);
            }),
            "MultiheadAttention(8, heads=2): query, key and value must all be batched (3-D) or all "
            "unbatched (2-D), got query [5, 8], key [5, 2, 8], value [5, 2, 8]");
  MultiheadAttention kv(8, 2, {.kdim = 3, .vdim = 4, .batch_first = true});
  EXPECT_EQ(error_of([&] {
              kv.forward(zeros({2, 5, 8}), zeros({2, 4, 4}), zeros({2, 4, 4}));
            }),
            "MultiheadAttention(8, heads=2): key must have 3 features (kdim), got [2, 4, 4]");
  EXPECT_EQ(error_of([&] {
              kv.forward(zeros({2, 5, 8}), zeros({2, 4, 3}), zeros({2, 4, 3}));
            }),
            "MultiheadAttention(8, heads=2): value must have 4 features (vdim), got [2, 4, 3]");
  EXPECT_EQ(error_of([&] { MultiheadAttention(10, 4); }),
            "MultiheadAttention: embed_dim 10 is not divisible by num_heads 4");
  EXPECT_EQ(error_of([&] {
              a.forward(zeros({5, 2, 8}), zeros({4, 2, 8}), zeros({4, 2, 8}), {.causal = true});
            }),
            "MultiheadAttention(8, heads=2): a causal mask needs as many queries as keys, got L "
            "= 5, S = 4");
}

}  // namespace
}  // namespace sn::test
