// scaled_dot_product_attention: PyTorch 1.13.1 golden values (forward and every gradient,
// float64 and float32; tests/golden/gen_attention.py), finite-difference gradchecks (causal,
// bool and float masks, padding rows, non-contiguous, 3-D and 4-D, dropout), equality with the
// composed matmul/softmax reference, and the error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "conv/conv_helpers.h"
#include "sinapsis/ops/attention.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;

const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/attention.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/attention.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

// The composed reference: the same function from matmul, masked_fill and softmax.
Tensor reference(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  const int64_t L = q.size(-2), S = k.size(-2);
  const double scale = o.scale ? *o.scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor s = mul(matmul(q, k.transpose(-2, -1)), scale);
  Tensor visible = ones({L, S}, {.dtype = kBool});
  if (o.is_causal) {
    Tensor i = arange(L, {.dtype = kInt64}).unsqueeze(1), j = arange(S, {.dtype = kInt64});
    visible = le(sub(j.unsqueeze(0), i), static_cast<double>(S - L));
  }
  if (o.attn_mask.defined() && o.attn_mask.dtype() == kBool)
    visible = logical_and(visible, o.attn_mask);
  else if (o.attn_mask.defined())
    s = add(s, o.attn_mask);
  s = masked_fill(s, logical_not(visible), -INFINITY);
  Tensor row_ok = gt(amax(s, {-1}, true), -INFINITY);
  s = where(row_ok, s, 0.0);
  return matmul(mul(softmax(s, -1), row_ok), v);
}

void run_golden(DType dt) {
  const auto& cases = golden()["sdpa"];
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + " " + dtype_name(dt));
    Tensor q = from_json(c["q"], dt, true), k = from_json(c["k"], dt, true),
           v = from_json(c["v"], dt, true);
    AttentionOptions o;
    o.is_causal = c["causal"].get<bool>();
    if (c.contains("scale")) o.scale = c["scale"].get<double>();
    if (c.contains("mask")) {
      Tensor m = from_json(c["mask"], kFloat64);
      std::vector<double> md = m.to_vector();
      for (int64_t i : c["mask_neginf"].get<std::vector<int64_t>>()) md[i] = -INFINITY;
      m = tensor(md, m.shape(), {.dtype = kFloat64});
      o.attn_mask = m.to(c["mask_bool"].get<bool>() ? kBool : dt);
    }
    Tensor y = scaled_dot_product_attention(q, k, v, o);
    const double rt = dt == kFloat64 ? 1e-9 : 2e-4, at = dt == kFloat64 ? 1e-10 : 2e-5;
    EXPECT_TRUE(close(y, from_json(c["y"], kFloat64), rt, at));
    y.backward(from_json(c["gy"], dt));
    EXPECT_TRUE(close(q.grad(), from_json(c["dq"], kFloat64), rt, at));
    EXPECT_TRUE(close(k.grad(), from_json(c["dk"], kFloat64), rt, at));
    EXPECT_TRUE(close(v.grad(), from_json(c["dv"], kFloat64), rt, at));
  }
}

TEST(Attention, GoldenFloat64) { run_golden(kFloat64); }
TEST(Attention, GoldenFloat32) { run_golden(kFloat32); }

Tensor rnd(const Shape& s, DType dt = kFloat64) { return randn(s, {.dtype = dt}); }

void expect_gradcheck(const std::vector<Tensor>& inputs, const AttentionOptions& base,
                      bool mask_is_input = false, uint64_t dropout_seed = 0) {
  auto fn = [&](const std::vector<Tensor>& xs) {
    AttentionOptions o = base;
    if (mask_is_input) o.attn_mask = xs[3];
    if (dropout_seed) manual_seed(dropout_seed);  // the same dropout mask on every evaluation
    return scaled_dot_product_attention(xs[0], xs[1], xs[2], o);
  };
  std::vector<Tensor> ins;
  for (const Tensor& t : inputs) ins.push_back(t.detach().clone().requires_grad_(true));
  autograd::GradcheckResult r = autograd::gradcheck(fn, ins);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Attention, GradcheckPlain3D) {
  manual_seed(1);
  expect_gradcheck({rnd({2, 3, 4}), rnd({2, 5, 4}), rnd({2, 5, 3})}, {});
}

TEST(Attention, GradcheckCausal4D) {
  manual_seed(2);
  expect_gradcheck({rnd({2, 2, 4, 3}), rnd({2, 2, 4, 3}), rnd({2, 2, 4, 2})}, {.is_causal = true});
  // L != S both ways: cached keys, and query rows that see nothing (zero output and gradient)
  expect_gradcheck({rnd({1, 2, 3, 3}), rnd({1, 2, 6, 3}), rnd({1, 2, 6, 2})}, {.is_causal = true});
  expect_gradcheck({rnd({2, 5, 3}), rnd({2, 3, 3}), rnd({2, 3, 2})}, {.is_causal = true});
}

TEST(Attention, GradcheckBoolMaskWithPaddingRow) {
  manual_seed(3);
  Tensor m = tensor(std::vector<int64_t>{1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0}, {3, 4}).to(kBool);
  expect_gradcheck({rnd({2, 3, 5}), rnd({2, 4, 5}), rnd({2, 4, 3})}, {.attn_mask = m});
  // key padding per batch element, broadcast over heads and queries, with causal
  Tensor pad = ones({2, 1, 1, 4}, {.dtype = kBool});
  pad.set({1, 0, 0, 3}, 0);
  pad.set({1, 0, 0, 2}, 0);
  expect_gradcheck({rnd({2, 2, 4, 3}), rnd({2, 2, 4, 3}), rnd({2, 2, 4, 3})},
                   {.attn_mask = pad, .is_causal = true});
}

TEST(Attention, GradcheckFloatMaskAlsoGetsAGradient) {
  manual_seed(4);
  Tensor fm = rnd({1, 3, 4});
  expect_gradcheck({rnd({2, 3, 2}), rnd({2, 4, 2}), rnd({2, 4, 3}), fm}, {}, true);
  // a -inf in a float mask is a masked-out key (no gradient input here)
  Tensor fm2 = rnd({3, 4});
  fm2.set({0, 1}, -INFINITY);
  expect_gradcheck({rnd({2, 3, 2}), rnd({2, 4, 2}), rnd({2, 4, 3})}, {.attn_mask = fm2});
}

TEST(Attention, GradcheckNonContiguousAndBroadcast) {
  manual_seed(5);
  // q, k, v as [B, H, T, hd] views of [B, T, H, hd] (the multi-head layout), and a scale
  Tensor q = rnd({2, 4, 2, 3}).transpose(1, 2), k = rnd({2, 5, 2, 3}).transpose(1, 2),
         v = rnd({2, 5, 2, 2}).transpose(1, 2);
  ASSERT_FALSE(q.is_contiguous());
  auto fn = [](const std::vector<Tensor>& xs) {
    return scaled_dot_product_attention(xs[0].transpose(1, 2), xs[1].transpose(1, 2),
                                        xs[2].transpose(1, 2), {.scale = 0.7});
  };
  std::vector<Tensor> ins{q.transpose(1, 2).contiguous().requires_grad_(true),
                          k.transpose(1, 2).contiguous().requires_grad_(true),
                          v.transpose(1, 2).contiguous().requires_grad_(true)};
  EXPECT_TRUE(autograd::gradcheck(fn, ins).ok);
  // keys and values shared by the batch (broadcast batch dims): gradients summed back
  expect_gradcheck({rnd({3, 2, 3, 2}), rnd({1, 2, 4, 2}), rnd({2, 4, 2})}, {.is_causal = true});
}

TEST(Attention, GradcheckDropout) {
  manual_seed(6);
  expect_gradcheck({rnd({2, 4, 3}), rnd({2, 5, 3}), rnd({2, 5, 2})}, {.dropout = 0.3}, false, 99);
}

TEST(Attention, EqualsComposedReference) {
  manual_seed(7);
  struct Case {
    Shape q, k, v;
    AttentionOptions o;
  };
  Tensor bm = gt(rand({1, 70, 130}), 0.3);
  Tensor fm = rnd({4, 1, 1, 130}, kFloat32);
  std::vector<Case> cases{
      {{2, 4, 64, 32}, {2, 4, 64, 32}, {2, 4, 64, 32}, {.is_causal = true}},
      {{3, 70, 16}, {3, 130, 16}, {3, 130, 8}, {.is_causal = true}},
      {{3, 70, 16}, {3, 130, 16}, {3, 130, 24}, {.attn_mask = bm}},
      {{4, 1, 5, 8}, {4, 1, 130, 8}, {4, 1, 130, 8}, {.attn_mask = fm, .scale = 0.2}},
      {{2, 1, 1, 32}, {2, 1, 65, 32}, {2, 1, 65, 32}, {.is_causal = true}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.q.str() + " " + c.k.str()));
    Tensor q = rnd(c.q, kFloat32).requires_grad_(true), k = rnd(c.k, kFloat32).requires_grad_(true),
           v = rnd(c.v, kFloat32).requires_grad_(true);
    Tensor y = scaled_dot_product_attention(q, k, v, c.o);
    Tensor gy = rnd(y.shape(), kFloat32);
    y.backward(gy);
    Tensor dq = q.grad(), dk = k.grad(), dv = v.grad();
    q.zero_grad();
    k.zero_grad();
    v.zero_grad();
    Tensor yr = reference(q, k, v, c.o);
    yr.backward(gy);
    EXPECT_TRUE(close(y, yr, 1e-4, 1e-5));
    EXPECT_TRUE(close(dq, q.grad(), 1e-3, 1e-4));
    EXPECT_TRUE(close(dk, k.grad(), 1e-3, 1e-4));
    EXPECT_TRUE(close(dv, v.grad(), 1e-3, 1e-4));
  }
}

TEST(Attention, HeadViewsOfAPackedProjection) {
  // q, k, v as [B, H, T, hd] views of one [B, T, 3C] tensor (what GPT and MHA pass): read in
  // place, the output laid out [B, T, H, hd] so that merging the heads back is free
  manual_seed(12);
  const int64_t B = 2, T = 37, H = 3, hd = 16, C = H * hd;
  Tensor qkv = randn({B, T, 3 * C}).requires_grad_(true);
  auto heads = [&](const Tensor& t, int64_t part) {
    return t.narrow(2, part * C, C).view({B, T, H, hd}).transpose(1, 2);
  };
  Tensor y = scaled_dot_product_attention(heads(qkv, 0), heads(qkv, 1), heads(qkv, 2),
                                          {.is_causal = true});
  EXPECT_TRUE(y.transpose(1, 2).is_contiguous());
  Tensor gy = randn(y.shape());
  y.backward(gy);
  Tensor g = qkv.grad();
  qkv.zero_grad();
  Tensor yr = reference(heads(qkv, 0), heads(qkv, 1), heads(qkv, 2), {.is_causal = true});
  yr.backward(gy);
  EXPECT_TRUE(close(y, yr, 1e-4, 1e-5));
  EXPECT_TRUE(close(g, qkv.grad(), 1e-3, 1e-4));
}

TEST(Attention, FullyMaskedRowsAreZeroNotNaN) {
  Tensor q = randn({1, 2, 4}), k = randn({1, 3, 4}), v = randn({1, 3, 2});
  Tensor m = zeros({2, 3}, {.dtype = kBool});
  Tensor y = scaled_dot_product_attention(q, k, v, {.attn_mask = m});
  EXPECT_TRUE(equal(y, zeros({1, 2, 2})));
  Tensor f = full({2, 3}, -INFINITY);
  EXPECT_TRUE(equal(scaled_dot_product_attention(q, k, v, {.attn_mask = f}), zeros({1, 2, 2})));
  // no keys at all
  Tensor y0 = scaled_dot_product_attention(q, randn({1, 0, 4}), randn({1, 0, 2}));
  EXPECT_TRUE(equal(y0, zeros({1, 2, 2})));
}

TEST(Attention, CausalIsBottomRightAligned) {
  // one query over 4 cached keys sees all of them (the last row of the full causal product)
  manual_seed(8);
  Tensor q = randn({1, 4, 8}), k = randn({1, 4, 8}), v = randn({1, 4, 8});
  Tensor full_out = scaled_dot_product_attention(q, k, v, {.is_causal = true});
  Tensor last = scaled_dot_product_attention(q.narrow(1, 3, 1), k, v, {.is_causal = true});
  EXPECT_TRUE(close(last, full_out.narrow(1, 3, 1), 1e-6, 1e-6));
  Tensor two = scaled_dot_product_attention(q.narrow(1, 2, 2), k, v, {.is_causal = true});
  EXPECT_TRUE(close(two, full_out.narrow(1, 2, 2), 1e-6, 1e-6));
}

TEST(Attention, DropoutIsSeededAndUnbiased) {
  Tensor q = zeros({1, 1, 8}), k = zeros({1, 4000, 8}), v = ones({1, 4000, 1});
  manual_seed(11);
  Tensor a = scaled_dot_product_attention(q, k, v, {.dropout = 0.25});
  manual_seed(11);
  Tensor b = scaled_dot_product_attention(q, k, v, {.dropout = 0.25});
  EXPECT_TRUE(equal(a, b));
  // uniform weights 1/4000, each kept with 0.75 and scaled by 1/0.75: the mean stays 1
  EXPECT_NEAR(a.item(), 1.0, 0.05);
  EXPECT_NE(a.item(), 1.0);
  EXPECT_TRUE(equal(scaled_dot_product_attention(q, k, v, {.dropout = 1.0}), zeros({1, 1, 1})));
}

TEST(Attention, Errors) {
  Tensor q = randn({2, 3, 4}), k = randn({2, 5, 4}), v = randn({2, 5, 6});
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(q, randn({2, 5, 3}), v);
            })
                .find("scaled_dot_product_attention: query [2, 3, 4] and key [2, 5, 3] must have "
                      "the same last dim (4 != 3)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(q, k, randn({2, 4, 6}));
            }).find("key [2, 5, 4] and value [2, 4, 6] must have the same number of positions"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { scaled_dot_product_attention(randn({4}), k, v); }).find("expected query"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(randn({3, 3, 4}), k, v);
            }).find("scaled_dot_product_attention"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(q, k, v, {.attn_mask = ones({3, 4}, {.dtype = kBool})});
            }).find("attn_mask [3, 4] is not broadcastable to the attention weights [2, 3, 5]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(q, k, v, {.attn_mask = ones({3, 5}, {.dtype = kInt64})});
            }).find("attn_mask must be bool"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, k.to(kFloat64), v); }).find("one dtype"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(q, k, v, {.dropout = 1.5});
            }).find("dropout must be in [0, 1] (got 1.5)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              scaled_dot_product_attention(q.to(kInt64), k.to(kInt64), v.to(kInt64));
            }).find("floating-point"),
            std::string::npos);
}

TEST(Attention, NoGradModeRecordsNothing) {
  Tensor q = randn({1, 2, 4}, {.requires_grad = true});
  NoGradGuard ng;
  Tensor y = scaled_dot_product_attention(q, q, q);
  EXPECT_FALSE(y.requires_grad());
}

}  // namespace
}  // namespace sn
