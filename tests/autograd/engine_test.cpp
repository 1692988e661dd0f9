// The autograd engine: the lecture graph, accumulation on shared nodes and across backward
// calls, detach / NoGradGuard / retain_graph / zero_grad / retain_grad, functional grad(), deep
// chains (iterative engine and destruction), freeing of saved tensors, in-place detection and
// the engine's own shape check. Per-op gradients are in tests/ops/gradcheck_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

Tensor leaf(double v) { return tensor(v, {.dtype = kFloat64, .requires_grad = true}); }
Tensor leaf(std::initializer_list<double> v) {
  return tensor(v, {.dtype = kFloat64, .requires_grad = true});
}

// y1 = 4·x1 + x2² + 3·x3, y2 = x2·x3 + 3·x3, with h = 3·x3 computed once and used twice.
TEST(Autograd, LectureGraph) {
  Tensor x1 = leaf(1), x2 = leaf(2), x3 = leaf(2);
  Tensor h = 3 * x3;
  h.retain_grad();
  Tensor y1 = 4 * x1 + x2 * x2 + h;
  Tensor y2 = x2 * x3 + h;
  Tensor e = y1 + y2;
  EXPECT_EQ(y1.item(), 14);
  EXPECT_EQ(y2.item(), 10);
  e.backward();
  EXPECT_EQ(x1.grad().item(), 4);
  EXPECT_EQ(x2.grad().item(), 6);  // 2·x2 + x3
  EXPECT_EQ(x3.grad().item(), 8);  // 3 + x2 + 3
  EXPECT_EQ(h.grad().item(), 2);   // one from each consumer
  EXPECT_EQ(x1.grad().dtype(), kFloat64);
  EXPECT_EQ(x1.grad().dim(), 0);
}

TEST(Autograd, GraphStructure) {
  Tensor x = leaf(1), w = tensor(2.0, {.dtype = kFloat64});
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(x.grad_fn());
  Tensor y = x * w;
  EXPECT_FALSE(y.is_leaf());
  EXPECT_TRUE(y.requires_grad());
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->name(), "MulBackward");
  ASSERT_EQ(y.grad_fn()->next_edges.size(), 2u);
  EXPECT_EQ(y.grad_fn()->next_edges[0].fn->name(), "AccumulateGrad");
  EXPECT_FALSE(y.grad_fn()->next_edges[1].valid());  // w needs no gradient
  EXPECT_FALSE((w * w).requires_grad());
  y.sum().backward();
  EXPECT_EQ(x.grad().item(), 2);
  EXPECT_FALSE(w.grad().defined());
}

TEST(Autograd, AccumulatesAcrossBackwardCalls) {
  Tensor x = leaf({1, 2, 3});
  (x * x).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 4, 6}));
  (x * 3.0).sum().backward();  // a fresh graph: adds to .grad
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, 7, 9}));
  // the same value feeding many ops
  Tensor y = leaf(3);
  Tensor z = y * y * y + y;  // dz/dy = 3y² + 1
  z.backward();
  EXPECT_EQ(y.grad().item(), 28);
}

TEST(Autograd, ZeroGrad) {
  Tensor x = leaf({1, 2});
  (x * 2.0).sum().backward();
  Tensor g = x.grad();
  x.zero_grad(false);  // keep the buffer, fill with zeros
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(x.grad().is_same(g));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 0}));
  (x * 5.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, 5}));
  x.zero_grad();  // default: set to none
  EXPECT_FALSE(x.grad().defined());
  (x * 1.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 1}));
}

TEST(Autograd, Detach) {
  Tensor x = leaf({1, 2});
  Tensor d = (x * 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  Tensor y = (x * d).sum();  // d is a constant here
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 4}));
  Tensor a = x.detach();
  EXPECT_TRUE(a.shares_storage(x));
  EXPECT_FALSE(a.requires_grad());
}

TEST(Autograd, NoGradGuard) {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard ng;
    EXPECT_FALSE(autograd::grad_enabled());
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_FALSE(y.grad_fn());
    {
      EnableGradGuard eg;
      EXPECT_TRUE((x * 2.0).requires_grad());
    }
    EXPECT_FALSE(autograd::grad_enabled());
    // an update of a leaf is allowed without recording
    x.add_(ones({2}, {.dtype = kFloat64}));
  }
  EXPECT_TRUE(autograd::grad_enabled());
  EXPECT_EQ(x.to_vector(), (std::vector<double>{2, 3}));
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, RetainGraph) {
  Tensor x = leaf(3);
  Tensor y = x * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_EQ(x.grad().item(), 6);
  y.backward();  // the graph is still there
  EXPECT_EQ(x.grad().item(), 12);
  EXPECT_THROW(y.backward(), AutogradError);  // and now it is freed
}

TEST(Autograd, RetainGrad) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 3.0;
  Tensor k = h * 2.0;
  h.retain_grad();
  EXPECT_TRUE(h.retains_grad());
  EXPECT_FALSE(k.retains_grad());
  k.sum().backward();
  EXPECT_EQ(h.grad().to_vector(), (std::vector<double>{2, 2}));
  EXPECT_FALSE(k.grad().defined());  // not retained: nothing kept
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{6, 6}));
  x.retain_grad();  // a leaf keeps its gradient anyway
  EXPECT_FALSE(x.retains_grad());
  EXPECT_THROW(ones({2}).retain_grad(), AutogradError);
}

TEST(Autograd, BackwardWithExplicitGradient) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * x;
  y.backward(tensor({1, 0.5, 2}, {.dtype = kFloat64}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 2, 12}));
  // a float32 gradient for a float64 output is converted
  Tensor z = leaf({1, 2});
  (z * 1.0).backward(ones({2}));
  EXPECT_EQ(z.grad().dtype(), kFloat64);
}

TEST(Autograd, SeveralRoots) {
  Tensor x = leaf(2);
  Tensor a = x * x, b = x * 5.0;
  autograd::backward({a, b});
  EXPECT_EQ(x.grad().item(), 9);
}

TEST(Autograd, MixedDTypeGradientsMatchTheirInputs) {
  Tensor a = tensor({1, 2}, {.requires_grad = true});                     // float32
  Tensor b = tensor({3, 4}, {.dtype = kFloat64, .requires_grad = true});  // float64
  Tensor y = (a * b).sum();
  EXPECT_EQ(y.dtype(), kFloat64);
  y.backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(b.grad().dtype(), kFloat64);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{3, 4}));
  Tensor c = cat({a, b});
  c.sum().backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{4, 5}));
}

TEST(Autograd, FunctionalGrad) {
  Tensor x = leaf({1, 2}), w = leaf({3, 4}), unused = leaf(1);
  Tensor y = (x * w).sum();
  std::vector<Tensor> g = autograd::grad({y}, {x, w}, {}, {.retain_graph = true});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].to_vector(), (std::vector<double>{3, 4}));
  EXPECT_EQ(g[1].to_vector(), (std::vector<double>{1, 2}));
  EXPECT_FALSE(x.grad().defined());  // .grad untouched
  EXPECT_FALSE(w.grad().defined());
  EXPECT_THROW(autograd::grad({y}, {unused}, {}, {.retain_graph = true}), AutogradError);
  std::vector<Tensor> gu = autograd::grad({y}, {x, unused}, {}, {.allow_unused = true});
  EXPECT_TRUE(gu[0].defined());
  EXPECT_FALSE(gu[1].defined());
  // a non-scalar output with grad_outputs; gradient with respect to an intermediate
  Tensor x2 = leaf({1, 2, 3});
  Tensor h = x2 * 2.0;
  h.retain_grad();
  Tensor z = h * h;
  std::vector<Tensor> gz = autograd::grad({z}, {h, x2}, {tensor({1, 1, 0.5}, {.dtype = kFloat64})});
  EXPECT_EQ(gz[0].to_vector(), (std::vector<double>{4, 8, 6}));  // 2h·v
  EXPECT_EQ(gz[1].to_vector(), (std::vector<double>{8, 16, 12}));
  EXPECT_FALSE(h.grad().defined());  // functional: retained grads untouched too
}

// A long chain backpropagates without recursion; dropping it does not recurse either.
TEST(Autograd, TenThousandOpChain) {
  Tensor x = leaf(1);
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y * 1.0001;
  y.backward();
  EXPECT_NEAR(x.grad().item(), std::pow(1.0001, 10000), 1e-9);
  Tensor z = x;
  for (int i = 0; i < 5000; ++i) z = sin(z) + z;  // two nodes per step, shared input
  z.backward();
  EXPECT_TRUE(std::isfinite(x.grad().item()));
}

TEST(Autograd, DroppingAHugeGraphDoesNotOverflowTheStack) {
  Tensor x = leaf(1);
  Tensor y = x;
  for (int i = 0; i < 200000; ++i) y = y + 1.0;
  EXPECT_EQ(y.item(), 200001);
  y = Tensor();  // destroys 200,000 nodes
  EXPECT_TRUE(x.requires_grad());
}

TEST(Autograd, SavedTensorsAreFreedAfterBackward) {
  Tensor x = rand({1000}, {.dtype = kFloat64}).requires_grad_();
  std::weak_ptr<Storage> saved;
  Tensor loss;
  {
    Tensor y = exp(x);  // ExpBackward saves its output y
    saved = y.impl()->storage;
    loss = y.sum();
  }
  EXPECT_FALSE(saved.expired());  // kept alive by the graph
  loss.backward();
  EXPECT_TRUE(saved.expired());  // released with the graph's saved tensors
  EXPECT_EQ(x.grad().numel(), 1000);
  {
    // retain_graph keeps them
    Tensor y = exp(x);
    saved = y.impl()->storage;
    loss = y.sum();
  }
  loss.backward(Tensor(), true);
  EXPECT_FALSE(saved.expired());
  loss = Tensor();
  EXPECT_TRUE(saved.expired());
}

TEST(Autograd, AnOpSavingItsOutputDoesNotLeakWithoutBackward) {
  Tensor x = rand({100}).requires_grad_();
  std::weak_ptr<Storage> s1, s2;
  {
    Tensor y = sigmoid(x);
    Tensor z = tanh(y);
    s1 = y.impl()->storage;
    s2 = z.impl()->storage;
  }
  EXPECT_TRUE(s1.expired());
  EXPECT_TRUE(s2.expired());
}

TEST(Autograd, InPlaceChangeOfASavedTensorIsDetected) {
  Tensor x = leaf({1, 2});
  Tensor w = tensor({3, 4}, {.dtype = kFloat64});  // a constant saved by MulBackward
  Tensor y = (x * w).sum();
  w.add_(1.0);
  try {
    y.backward();
    FAIL() << "backward used a modified saved tensor";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("mul: a tensor saved for backward (shape [2]) was "
                                         "modified in place after it was saved (version 0 -> 1)"),
              std::string::npos)
        << e.what();
  }
  // a write through a view of the saved tensor is caught as well
  Tensor x2 = leaf({1, 2});
  Tensor h = x2 * 2.0;
  Tensor z = exp(h).sum();  // ExpBackward saves exp(h)
  Tensor e = exp(h);
  Tensor s = (e * e).sum();  // MulBackward saves e
  {
    NoGradGuard ng;
    e.select(0, 1).fill_(0);
  }
  EXPECT_THROW(s.backward(), AutogradError);
  z.backward();  // untouched branch still works
  EXPECT_NEAR(x2.grad().at({1}), 2 * std::exp(4.0), 1e-9);
}

// A Backward that returns the wrong shape is reported at its source.
class WrongShapeBackward : public Node {
 public:
  std::string name() const override { return "WrongShapeBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&) override {
    return {zeros({5}, {.dtype = kFloat64})};
  }
};

TEST(Autograd, EngineChecksGradientShapes) {
  Tensor x = leaf({1, 2});
  Tensor out = zeros({2}, {.dtype = kFloat64});
  auto node = std::make_shared<WrongShapeBackward>();
  autograd::connect(node, {&x}, {&out});
  try {
    out.sum().backward();
    FAIL() << "wrong gradient shape accepted";
  } catch (const AutogradError& e) {
    EXPECT_STREQ(e.what(),
                 "WrongShapeBackward: gradient for input 0 has shape [5] but the input has shape "
                 "[2]; this is a bug in that op's backward");
  }
}

// A Backward that sends no gradient to its (valid) input: the nodes behind it are skipped.
class NoGradientBackward : public Node {
 public:
  std::string name() const override { return "NoGradientBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&) override { return {Tensor()}; }
};

TEST(Autograd, NodesThatReceiveNoGradientAreSkipped) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 2.0;
  Tensor out = zeros({2}, {.dtype = kFloat64});
  autograd::connect(std::make_shared<NoGradientBackward>(), {&h}, {&out});
  (out.sum() + (x * 3.0).sum()).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3, 3}));  // only the direct path
}

TEST(Autograd, MultiOutputNodeWithUnusedOutputs) {
  Tensor x = leaf({1, 2, 3, 4, 5});
  std::vector<Tensor> parts = split(x, 2);
  ASSERT_EQ(parts.size(), 3u);
  (parts[1] * 3.0).sum().backward();  // only the middle part is used
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 0, 3, 3, 0}));
}

TEST(Autograd, LeafRequiresGradRules) {
  Tensor x = ones({2});
  EXPECT_FALSE(x.requires_grad());
  x.requires_grad_();
  EXPECT_TRUE(x.requires_grad());
  x.requires_grad_(false);
  EXPECT_FALSE(x.requires_grad());
  Tensor y = leaf({1}) * 2.0;
  EXPECT_THROW(y.requires_grad_(false), AutogradError);
  // a gradient flows through a view into its base
  Tensor b = leaf({1, 2, 3, 4});
  b.reshape({2, 2}).t().select(0, 1).sum().backward();
  EXPECT_EQ(b.grad().to_vector(), (std::vector<double>{0, 1, 0, 1}));
}

}  // namespace
}  // namespace sn
