// The Optimizer base behaviour shared by all optimizers: zero_grad, skipping parameters
// without gradients, step(closure), groups and options by name, non-contiguous parameters,
// thread-count independence of the fused kernels, and the version bump that lets autograd
// notice a parameter changed under a saved graph.
#include "optim_test_util.h"

namespace {
using namespace optim_test;

TEST(Optimizer, ZeroGradDropsOrZeroesGradients) {
  auto w = sn::ones({3}, {.requires_grad = true});
  so::SGD opt({w}, {.lr = 0.1});
  sn::sum(w * w).backward();
  ASSERT_TRUE(w.grad().defined());
  const sn::Tensor g = w.grad();
  opt.zero_grad(/*set_to_none=*/false);
  EXPECT_TRUE(w.grad().is_same(g));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{0, 0, 0}));
  opt.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(Optimizer, ParametersWithoutGradientAreLeftAlone) {
  auto w = sn::ones({3}, {.requires_grad = true});
  auto unused = sn::full({2}, 5.0, {.requires_grad = true});
  so::Adam opt({w, unused}, {.lr = 0.1});
  sn::sum(w * w).backward();
  opt.step();
  EXPECT_EQ(unused.to_vector(), (std::vector<double>{5, 5}));
  EXPECT_NE(w.to_vector(), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(opt.state_dict().tensors.count("state.1.exp_avg"), 0u);
}

TEST(Optimizer, StepWithClosureReturnsItsLossAndRecordsEvenUnderNoGrad) {
  Regression p(sn::kFloat64);
  so::SGD opt({p.W, p.b}, {.lr = 0.05});
  int calls = 0;
  auto closure = [&] {
    ++calls;
    opt.zero_grad();
    sn::Tensor loss = p.loss();
    loss.backward();  // would fail if the closure ran with grad mode off
    return loss;
  };
  sn::NoGradGuard ng;
  const double first = opt.step(closure).item();
  const double second = opt.step(closure).item();
  EXPECT_EQ(calls, 2);
  EXPECT_LT(second, first);
  EXPECT_FALSE(sn::autograd::grad_enabled());  // restored after step
  EXPECT_FALSE(opt.step().defined());          // no closure: no loss
}

TEST(Optimizer, GroupsHaveTheirOwnOptions) {
  auto a = sn::ones({2}, {.dtype = sn::kFloat64, .requires_grad = true});
  auto b = sn::ones({2}, {.dtype = sn::kFloat64, .requires_grad = true});
  so::SGD opt({{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.01, .momentum = 0.9}}});
  ASSERT_EQ(opt.num_param_groups(), 2u);
  EXPECT_EQ(opt.parameters().size(), 2u);
  EXPECT_EQ(opt.lr(0), 0.1);
  EXPECT_EQ(opt.lr(1), 0.01);
  EXPECT_EQ(opt.options(1).momentum, 0.9);
  sn::sum(a + b).backward();  // both gradients are ones
  opt.step();
  EXPECT_DOUBLE_EQ(a.at({0}), 0.9);
  EXPECT_DOUBLE_EQ(b.at({0}), 0.99);
  opt.set_lr(0.5);
  EXPECT_EQ(opt.lr(0), 0.5);
  EXPECT_EQ(opt.lr(1), 0.5);
  opt.set_lr(1, 0.25);
  EXPECT_EQ(opt.lr(1), 0.25);
  opt.set_option(0, "nesterov", 0);  // booleans read and write as 0/1
  opt.set_option(1, "nesterov", 1);
  EXPECT_TRUE(opt.options(1).nesterov);
  EXPECT_EQ(opt.option(1, "nesterov"), 1.0);
  EXPECT_EQ(opt.option_names(), (std::vector<std::string>{"lr", "momentum", "dampening",
                                                          "weight_decay", "nesterov", "maximize"}));
  EXPECT_TRUE(opt.has_option("dampening"));
  EXPECT_FALSE(opt.has_option("beta1"));
}

TEST(Optimizer, NonContiguousParameterGetsTheSameUpdate) {
  // The same values as a contiguous [3, 4] tensor and as a transposed view of a [4, 3] one.
  sn::manual_seed(11);
  const sn::Tensor base = sn::randn({3, 4}, {.dtype = sn::kFloat64});
  const sn::Tensor grad = sn::randn({3, 4}, {.dtype = sn::kFloat64});
  auto dense = base.clone().requires_grad_();
  auto strided = base.t().contiguous().t().detach().requires_grad_();
  ASSERT_FALSE(strided.is_contiguous());
  so::Adam opt({dense, strided}, {.lr = 0.1, .weight_decay = 0.1});
  for (int i = 0; i < 3; ++i) {
    dense.set_grad(grad.clone());
    strided.set_grad(grad.t().contiguous().t());  // a non-contiguous gradient too
    opt.step();
  }
  EXPECT_FALSE(strided.is_contiguous());
  EXPECT_TRUE(same_values(dense, strided));
  EXPECT_FALSE(same_values(dense, base));
}

TEST(Optimizer, FusedKernelsDoNotDependOnTheThreadCount) {
  const int saved = sn::get_num_threads();
  auto run = [](int threads, const char* kind) {
    sn::set_num_threads(threads);
    sn::manual_seed(5);
    auto w = sn::randn({40000}).requires_grad_();  // above 2 × kUpdateGrain: the parallel path
    auto b = sn::zeros({1}).requires_grad_();
    const json options = {{"lr", 0.01}, {"momentum", 0.9}};
    auto opt = make_optimizer(
        kind,
        json::array({{{"params", {"W", "b"}},
                      {"options", std::string(kind) == "SGD" ? options : json{{"lr", 0.01}}}}}),
        w, b);
    for (int i = 0; i < 3; ++i) {
      opt->zero_grad();
      sn::sum(w * w * w + b).backward();
      opt->step();
    }
    return w.to_vector();
  };
  for (const char* kind : {"SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop"}) {
    SCOPED_TRACE(kind);
    EXPECT_EQ(run(1, kind), run(2, kind));
  }
  sn::set_num_threads(saved);
}

TEST(Optimizer, StepBumpsTheVersionSoStaleGraphsAreCaught) {
  auto w = sn::ones({3}, {.requires_grad = true});
  so::SGD opt({w}, {.lr = 0.1});
  sn::sum(w * w).backward();
  sn::Tensor pending = sn::sum(w * w);  // saves w for its backward
  const uint32_t before = w.version();
  opt.step();
  EXPECT_GT(w.version(), before);
  EXPECT_THROW(pending.backward(), sn::AutogradError);
}

TEST(Optimizer, Float32AndFloat64ParametersInOneOptimizer) {
  auto a = sn::ones({2}, {.dtype = sn::kFloat32, .requires_grad = true});
  auto b = sn::ones({2}, {.dtype = sn::kFloat64, .requires_grad = true});
  so::RMSprop opt({a, b}, {.lr = 0.1, .centered = true});
  (sn::sum(a) + sn::sum(b)).backward();
  opt.step();
  EXPECT_EQ(a.dtype(), sn::kFloat32);
  EXPECT_NEAR(a.at({0}), b.at({0}), 1e-6);
  EXPECT_LT(b.at({0}), 1.0);
}

}  // namespace
