// nn::Value and the several-tensors path through modules: Module::call / forward_multi, the
// default that lets state ride along through one-tensor layers, Sequential chaining, hooks and
// the errors.
#include <gtest/gtest.h>

#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace {

using namespace sn;

using sn::test::error_of;

// A toy recurrent layer: {x, s} -> {x + s, s + x} (zero state when none is given), forward(x)
// gives the output alone. The shape of every stateful layer: both entry points overridden.
struct Accumulate : nn::Module {
  nn::Value forward_multi(const nn::Value& in) override {
    const Tensor& x = in[0];
    Tensor s = in.has(1) ? in[1] : zeros_like(x);
    Tensor y = add(x, s);
    return {y, y};
  }
  Tensor forward(const Tensor& x) override { return forward_multi(nn::Value(x))[0]; }
};

TEST(Value, HoldsOneOrSeveralTensors) {
  nn::Value one = ones({2});
  EXPECT_EQ(one.size(), 1u);
  EXPECT_EQ(one.tensor().numel(), 2);
  nn::Value three{ones({1}), Tensor(), zeros({3})};
  EXPECT_EQ(three.size(), 3u);
  EXPECT_TRUE(three.has(0));
  EXPECT_FALSE(three.has(1));  // an undefined slot is "not given"
  EXPECT_FALSE(three.has(7));
  EXPECT_EQ(three.rest().size(), 2u);
  EXPECT_EQ(three.rest(5).size(), 0u);
  EXPECT_EQ(three.with_first(ones({4}))[0].numel(), 4);
  EXPECT_EQ(three.with_first(ones({4}))[2].numel(), 3);
  EXPECT_EQ(error_of([&] { (void)three[3]; }), "Value: item 3 is out of range for 3 items");
  EXPECT_NE(error_of([&] { (void)three.tensor("LSTM"); }).find("LSTM: expected one tensor, got 3"),
            std::string::npos);
}

TEST(Value, OneTensorModulesPassTheStateThrough) {
  nn::Linear fc(3, 2);
  Tensor x = randn({4, 3});
  Tensor h = randn({1, 4, 5});
  nn::Value out = fc.call({x, h});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(allclose(out[0], fc(x)));
  EXPECT_TRUE(out[1].is_same(h));  // untouched, not copied
  EXPECT_NE(error_of([&] {
              fc.call({Tensor(), h});
            }).find("called with no input tensor"),
            std::string::npos);
}

TEST(Value, SequentialCarriesStateThroughItsLayers) {
  auto acc = std::make_shared<Accumulate>();
  nn::Sequential model({nn::Identity(), acc, nn::ReLU()});
  Tensor x = tensor({1.0f, -2.0f, 3.0f});
  nn::Value first = model.call({x});  // zero state
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(allclose(first[0], tensor({1.0f, 0.0f, 3.0f})));
  EXPECT_TRUE(allclose(first[1], x));  // the state comes back, before the ReLU
  nn::Value second = model.call({x, first[1]});
  EXPECT_TRUE(allclose(second[0], tensor({2.0f, 0.0f, 6.0f})));
  // the one-tensor path gives the main output alone
  EXPECT_TRUE(allclose(model(x), first[0]));
}

TEST(Value, GradientsFlowThroughTheState) {
  Accumulate acc;
  Tensor x = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor s = tensor({0.5, 0.5}, {.requires_grad = true});
  nn::Value out = acc.call({x, s});
  sum(mul(out[0], out[1])).backward();  // d/ds (x+s)^2 = 2(x+s)
  EXPECT_TRUE(allclose(s.grad(), tensor({3.0, 5.0})));
}

TEST(Value, HooksSeeTheDataItems) {
  nn::Linear fc(2, 2);
  int calls = 0;
  fc.add_forward_hook([&](nn::Module&, const Tensor& in, const Tensor& out) {
    ++calls;
    EXPECT_EQ(in.size(1), 2);
    EXPECT_EQ(out.size(1), 2);
  });
  fc.call({ones({1, 2}), zeros({3})});
  fc(ones({1, 2}));
  EXPECT_EQ(calls, 2);
}

}  // namespace
