// sn::distributed in a world of one (no mpirun): every collective is the identity, DDP attaches
// nothing, sharded loaders split as DistributedSampler does, and the engine hooks DDP uses.
// The multi-rank tests are the mpi.* ctest entries (mpi/ranks_main.cpp).
#include <gtest/gtest.h>

#include "sinapsis/autograd/hooks.h"
#include "sinapsis/distributed/ddp.h"
#include "sinapsis/distributed/sampler.h"
#include "sinapsis/distributed/sync_batchnorm.h"
#include "sinapsis/sinapsis.h"

namespace dist = sn::distributed;
using sn::Tensor;
namespace nn = sn::nn;

TEST(Distributed, WorldOfOne) {
  if (dist::backend() == "mpi" && dist::world_size() > 1) GTEST_SKIP() << "started by mpirun";
  EXPECT_EQ(dist::world_size(), 1);
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_EQ(dist::local_size(), 1);
  EXPECT_TRUE(dist::is_main());
  EXPECT_FALSE(dist::is_distributed());
  EXPECT_GE(dist::threads_per_rank(), 1);
  EXPECT_FALSE(dist::host_name().empty());
  Tensor t = sn::tensor({1.0, 2.0});
  dist::all_reduce(t);
  dist::all_reduce(t, dist::ReduceOp::Mean);
  dist::broadcast(t, 0);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{1.0, 2.0}));
  Tensor g = dist::all_gather(t);
  EXPECT_EQ(g.shape(), (sn::Shape{1, 2}));
  EXPECT_FALSE(g.shares_storage(t));
  dist::Work w = dist::all_reduce_async(t);
  EXPECT_TRUE(w.test());
  w.wait();
  std::string s = "x";
  dist::broadcast(s);
  EXPECT_EQ(s, "x");
  EXPECT_EQ(dist::all_reduce(int64_t{3}), 3);
  dist::barrier();
  EXPECT_THROW(dist::broadcast(t, 1), sn::ValueError);
  EXPECT_THROW(dist::all_reduce(sn::ones({2}, {.dtype = sn::kBool})), sn::DTypeError);
  EXPECT_THROW(dist::all_reduce(sn::ones({2}, {.dtype = sn::kInt64}), dist::ReduceOp::Mean),
               sn::DTypeError);
  EXPECT_EQ(dist::per_rank_batch(7), 7);
}

TEST(Distributed, DdpInAWorldOfOneTrainsAsWithout) {
  sn::manual_seed(0);
  auto model = sn::nn::Sequential({sn::nn::Linear(3, 2)});
  dist::DistributedDataParallel ddp(model);
  EXPECT_TRUE(ddp.buckets().empty());
  sn::loss::mse(ddp(sn::ones({4, 3})), sn::zeros({4, 2})).backward();
  EXPECT_TRUE(model.parameters()[0].grad().defined());
  EXPECT_EQ(ddp.synchronized_passes(), 0);
  auto guard = ddp.no_sync();
}

TEST(DistributedSampler, ShardsSplitThePaddedOrder) {
  auto ds = std::make_shared<sn::data::TensorDataset>(sn::arange(5.0));
  std::vector<double> seen;
  for (int64_t shard = 0; shard < 2; ++shard) {
    sn::data::DataLoader l(ds, {.batch_size = 2, .num_shards = 2, .shard = shard});
    EXPECT_EQ(l.size(), 2);
    EXPECT_EQ(l.examples(), 3);
    for (auto& b : l)
      for (double v : b.x.to_vector()) seen.push_back(v);
  }
  // order 0..4 padded with 0: shard 0 takes 0 2 4, shard 1 takes 1 3 0
  EXPECT_EQ(seen, (std::vector<double>{0, 2, 4, 1, 3, 0}));
  EXPECT_THROW(sn::data::DataLoader(ds, {.num_shards = 2, .shard = 2}), sn::ValueError);
  EXPECT_THROW(sn::data::DataLoader(ds, {.shuffle = true, .num_shards = 2}), sn::ValueError);
  // shuffled shards with a shared seed are disjoint and cover the data every epoch
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int> count(5, 0);
    for (int64_t shard = 0; shard < 2; ++shard) {
      sn::data::DataLoader l(
          ds, {.batch_size = 3, .shuffle = true, .seed = 9, .num_shards = 2, .shard = shard});
      l.set_epoch(epoch);
      for (auto& b : l)
        for (double v : b.x.to_vector()) ++count[static_cast<size_t>(v)];
    }
    int total = 0;
    for (int c : count) {
      EXPECT_GE(c, 1);
      total += c;
    }
    EXPECT_EQ(total, 6);
  }
  auto o = dist::shard_options({.batch_size = 4, .shuffle = true});
  EXPECT_EQ(o.num_shards, 1);
}

TEST(AutogradHooks, GradReadyHookSeesTheFinalGradientOncePerBackward) {
  Tensor w = sn::tensor({1.0, 2.0}, {.requires_grad = true});
  std::vector<std::vector<double>> seen;
  int callbacks = 0;
  const int64_t id = sn::autograd::add_grad_ready_hook(w, [&](const Tensor& leaf) {
    EXPECT_TRUE(leaf.is_same(w));
    seen.push_back(leaf.grad().to_vector());
    sn::autograd::queue_callback([&] { ++callbacks; });
  });
  // w used three times: the hook runs once, after every use delivered its part
  Tensor y = (w * 2.0 + w * w + w).sum();
  y.backward();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<double>{5.0, 7.0}));
  EXPECT_EQ(callbacks, 1);
  (w * 3.0).sum().backward();  // accumulates: the hook sees the sum
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], (std::vector<double>{8.0, 10.0}));
  // grad() does not touch .grad and runs no hook
  (void)sn::autograd::grad({(w * 2.0).sum()}, {w});
  EXPECT_EQ(seen.size(), 2u);
  sn::autograd::remove_grad_ready_hook(id);
  (w * 3.0).sum().backward();
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(callbacks, 2);
  EXPECT_THROW(sn::autograd::queue_callback([] {}), sn::AutogradError);
  Tensor not_leaf = w * 2.0;
  EXPECT_THROW(sn::autograd::add_grad_ready_hook(not_leaf, [](const Tensor&) {}),
               sn::AutogradError);
}

TEST(SyncBatchNorm, InAWorldOfOneEqualsBatchNorm) {
  // the composite, synchronised path against the fused kernel: outputs, gradients and running
  // statistics, for BatchNorm2d and BatchNorm1d ([N, C] and [N, C, L])
  struct Case {
    std::shared_ptr<nn::BatchNorm> a, b;
    sn::Shape shape;
  };
  std::vector<Case> cases = {
      {std::make_shared<nn::BatchNorm2d>(3), std::make_shared<nn::BatchNorm2d>(3), {4, 3, 5, 2}},
      {std::make_shared<nn::BatchNorm1d>(5), std::make_shared<nn::BatchNorm1d>(5), {6, 5}},
      {std::make_shared<nn::BatchNorm1d>(2), std::make_shared<nn::BatchNorm1d>(2), {3, 2, 7}}};
  for (auto& c : cases) {
    c.a->to(sn::kFloat64);
    c.b->to(sn::kFloat64);
    sn::manual_seed(3);
    for (auto& [name, t] : c.a->named_parameters()) {
      sn::NoGradGuard ng;
      t.copy_(sn::randn(t.shape(), {.dtype = sn::kFloat64}));
    }
    c.b->load_state_dict(c.a->state_dict());
    EXPECT_EQ(sn::distributed::convert_sync_batchnorm(*c.b), 1);
    EXPECT_TRUE(c.b->synchronized());
    Tensor x = sn::randn(c.shape, {.dtype = sn::kFloat64}) * 3.0 + 1.0;
    Tensor xa = x.detach().requires_grad_(), xb = x.detach().requires_grad_();
    Tensor w = sn::randn(c.shape, {.dtype = sn::kFloat64});
    for (int step = 0; step < 2; ++step) {
      Tensor ya = (*c.a)(xa), yb = (*c.b)(xb);
      EXPECT_LT(sn::max(sn::abs(ya - yb)).item(), 1e-12);
      sn::sum(ya * w).backward();
      sn::sum(yb * w).backward();
    }
    EXPECT_LT(sn::max(sn::abs(xa.grad() - xb.grad())).item(), 1e-12);
    auto pa = c.a->named_parameters(), pb = c.b->named_parameters();
    for (size_t i = 0; i < pa.size(); ++i)
      EXPECT_LT(sn::max(sn::abs(pa[i].second.grad() - pb[i].second.grad())).item(), 1e-12)
          << pa[i].first;
    EXPECT_LT(sn::max(sn::abs(c.a->running_mean() - c.b->running_mean())).item(), 1e-12);
    EXPECT_LT(sn::max(sn::abs(c.a->running_var() - c.b->running_var())).item(), 1e-12);
    // eval uses the running statistics either way
    c.a->eval();
    c.b->eval();
    EXPECT_LT(sn::max(sn::abs((*c.a)(x) - (*c.b)(x))).item(), 1e-12);
  }
}

TEST(SyncBatchNorm, GradcheckOfTheSynchronisedPath) {
  auto bn = std::make_shared<nn::BatchNorm2d>(2);
  bn->to(sn::kFloat64);
  sn::distributed::convert_sync_batchnorm(*bn);
  sn::manual_seed(4);
  Tensor x = sn::randn({3, 2, 2, 2}, {.dtype = sn::kFloat64}).requires_grad_();
  auto r =
      sn::autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*bn)(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(SyncBatchNorm, AllReduceSumIsDifferentiableInAWorldOfOne) {
  Tensor t = sn::randn({2, 3}, {.dtype = sn::kFloat64}).requires_grad_();
  Tensor s = sn::distributed::all_reduce_sum(t);
  EXPECT_FALSE(s.is_same(t));
  sn::sum(s * 2.0).backward();
  EXPECT_EQ(sn::max(sn::abs(t.grad() - 2.0)).item(), 0.0);
}
