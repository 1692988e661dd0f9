// Tests run on every rank of `mpirun -np 2` (ctest mpi.*, see ../mpi_tests.cmake): collectives,
// sharded loaders, and DistributedDataParallel equal to one process with the whole batch.
// Every rank computes the one-process reference itself (no DDP, the global batch), so each
// compares its own data-parallel result with it.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/distributed/ddp.h"
#include "sinapsis/distributed/sampler.h"
#include "sinapsis/distributed/sync_batchnorm.h"
#include "sinapsis/sinapsis.h"

namespace dist = sn::distributed;
namespace nn = sn::nn;
using sn::Tensor;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return sn::max(sn::abs(a.detach().to(sn::kFloat64) - b.detach().to(sn::kFloat64))).item();
}

}  // namespace

TEST(Collectives, AllReduceBroadcastGather) {
  ASSERT_EQ(dist::world_size(), 2) << "run with mpirun -np 2";
  ASSERT_EQ(dist::backend(), "mpi");
  const int r = dist::rank();
  for (sn::DType dt : {sn::kFloat32, sn::kFloat64}) {
    Tensor t = sn::full({2, 3}, r + 1.0, {.dtype = dt});
    dist::all_reduce(t);
    EXPECT_EQ(t.at({1, 2}), 3.0);
    Tensor m = sn::full({4}, r * 2.0, {.dtype = dt});
    dist::all_reduce(m, dist::ReduceOp::Mean);
    EXPECT_EQ(m.at({0}), 1.0);
    Tensor mx = sn::full({1}, static_cast<double>(r), {.dtype = dt});
    dist::all_reduce(mx, dist::ReduceOp::Max);
    EXPECT_EQ(mx.item(), 1.0);
  }
  // a non-contiguous view is reduced through a buffer and written back
  Tensor base = sn::arange(6.0, {.dtype = sn::kFloat64}).reshape({2, 3});
  Tensor tv = base.t();
  dist::all_reduce(tv);
  EXPECT_EQ(base.at({1, 2}), 10.0);
  Tensor b = sn::full({3}, r == 0 ? 7.0 : -1.0);
  dist::broadcast(b, 0);
  EXPECT_EQ(b.at({2}), 7.0);
  Tensor g = dist::all_gather(sn::full({2}, static_cast<double>(r)));
  ASSERT_EQ(g.shape(), (sn::Shape{2, 2}));
  EXPECT_EQ(g.at({0, 0}), 0.0);
  EXPECT_EQ(g.at({1, 1}), 1.0);
  std::string s = r == 0 ? "run-7" : "";
  dist::broadcast(s, 0);
  EXPECT_EQ(s, "run-7");
  auto names = dist::all_gather(std::string(r == 0 ? "a" : "bcd"));
  EXPECT_EQ(names, (std::vector<std::string>{"a", "bcd"}));
  EXPECT_EQ(dist::all_reduce(int64_t{r + 1}), 3);
  EXPECT_EQ(dist::all_reduce(0.5 * r, dist::ReduceOp::Max), 0.5);
  dist::barrier();
}

TEST(Collectives, NonBlocking) {
  const int r = dist::rank();
  Tensor a = sn::full({1000}, r + 1.0, {.dtype = sn::kFloat64});
  Tensor c = sn::full({5}, 4.0 * r);
  dist::Work wa = dist::all_reduce_async(a);
  dist::Work wc = dist::all_reduce_async(c, dist::ReduceOp::Mean);
  wc.wait();
  wa.wait();
  EXPECT_TRUE(wa.test());
  EXPECT_EQ(a.at({999}), 3.0);
  EXPECT_EQ(c.at({4}), 2.0);
}

TEST(Sampler, ShardsAreDisjointAndEqual) {
  const int64_t n = 11;
  auto ds = std::make_shared<sn::data::TensorDataset>(sn::arange(static_cast<double>(n)));
  auto opts = dist::shard_options({.batch_size = 2, .shuffle = true, .seed = 5});
  sn::data::DataLoader loader(ds, opts);
  EXPECT_EQ(loader.size(), 3);  // 6 examples each (11 padded to 12), batches of 2
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.set_epoch(epoch);
    std::vector<double> mine;
    for (auto& b : loader)
      for (double v : b.x.to_vector()) mine.push_back(v);
    ASSERT_EQ(mine.size(), 6u);
    Tensor all = dist::all_gather(sn::tensor(mine, {6}, {.dtype = sn::kFloat64}));
    std::vector<int> seen(n, 0);
    for (double v : all.to_vector()) ++seen[static_cast<size_t>(v)];
    int once = 0;
    for (int c : seen) once += c >= 1;
    EXPECT_EQ(once, n) << "every example is in some shard";
    int extra = 0;
    for (int c : seen) extra += c - 1;
    EXPECT_EQ(extra, 1) << "one example of padding";
  }
}

TEST(Sampler, PerRankBatch) {
  EXPECT_EQ(dist::per_rank_batch(64), 32);
  EXPECT_THROW(dist::per_rank_batch(7), sn::ValueError);
}

namespace {

// One optimizer run over `epochs` epochs of `loader`, optionally through DDP.
void train_loop(nn::Module& model, sn::optim::Optimizer& opt, sn::data::DataLoader& loader,
                int epochs, bool classify) {
  for (int e = 0; e < epochs; ++e) {
    loader.set_epoch(e);
    for (auto& b : loader) {
      opt.zero_grad();
      Tensor out = model(b.x);
      Tensor loss = classify ? sn::loss::cross_entropy(out, b.y) : sn::loss::mse(out, b.y);
      loss.backward();
      opt.step();
    }
  }
}

}  // namespace

TEST(Equivalence, MlpAdamFloat64) {
  // data and reference model: the same on every rank
  sn::manual_seed(1);
  Tensor x = sn::randn({48, 8}, {.dtype = sn::kFloat64});
  Tensor y = sn::randn({48, 3}, {.dtype = sn::kFloat64});
  auto ds = std::make_shared<sn::data::TensorDataset>(x, y);
  auto make = [] {
    auto m = nn::Sequential(
        {nn::Linear(8, 32), nn::Tanh(), nn::Linear(32, 16), nn::Tanh(), nn::Linear(16, 3)});
    m.to(sn::kFloat64);
    return m;
  };
  const int64_t B = 8;
  sn::manual_seed(2);
  auto ref = make();
  {
    sn::optim::Adam opt(ref.parameters(), {.lr = 1e-2});
    sn::data::DataLoader loader(ds, {.batch_size = B, .shuffle = true, .seed = 3});
    train_loop(ref, opt, loader, 3, false);  // 18 steps
  }
  // data-parallel: rank 1 starts from other weights, which DDP replaces with rank 0's; tiny
  // buckets, so several all-reduces run during each backward
  sn::manual_seed(dist::rank() == 0 ? 2 : 99);
  auto model = make();
  dist::DistributedDataParallel ddp(model, {.bucket_cap_mb = 0.002, .first_bucket_cap_mb = 0.0005});
  EXPECT_GE(ddp.buckets().size(), 3u);
  sn::optim::Adam opt(model.parameters(), {.lr = 1e-2});
  sn::data::DataLoader loader(
      ds, dist::shard_options({.batch_size = dist::per_rank_batch(B), .shuffle = true, .seed = 3}));
  train_loop(model, opt, loader, 3, false);
  EXPECT_EQ(ddp.synchronized_passes(), 18);
  auto p = model.named_parameters();
  auto q = ref.named_parameters();
  ASSERT_EQ(p.size(), q.size());
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_LT(max_abs_diff(p[i].second, q[i].second), 1e-12) << p[i].first;
  // and the ranks agree exactly
  for (auto& [name, t] : p) {
    Tensor g = dist::all_gather(t.detach());
    EXPECT_EQ(max_abs_diff(g[0], g[1]), 0.0) << name;
  }
}

TEST(Equivalence, CnnSgdFloat32) {
  sn::manual_seed(4);
  Tensor x = sn::randn({32, 1, 8, 8});
  Tensor y = sn::randint(0, 4, {32});
  auto ds = std::make_shared<sn::data::TensorDataset>(x, y);
  auto make = [] {
    return nn::Sequential(
        {nn::Conv2d(1, 4, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(36, 4)});
  };
  const int64_t B = 8;
  sn::manual_seed(5);
  auto ref = make();
  {
    sn::optim::SGD opt(ref.parameters(), {.lr = 0.05, .momentum = 0.9});
    sn::data::DataLoader loader(ds, {.batch_size = B, .shuffle = true, .seed = 6});
    train_loop(ref, opt, loader, 2, true);
  }
  sn::manual_seed(dist::rank() == 0 ? 5 : 77);
  auto model = make();
  dist::DistributedDataParallel ddp(model);
  sn::optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
  sn::data::DataLoader loader(
      ds, dist::shard_options({.batch_size = dist::per_rank_batch(B), .shuffle = true, .seed = 6}));
  train_loop(model, opt, loader, 2, true);
  auto p = model.named_parameters();
  auto q = ref.named_parameters();
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_LT(max_abs_diff(p[i].second, q[i].second), 1e-5) << p[i].first;
}

TEST(Equivalence, NoSyncAccumulates) {
  // two micro-batches per step: the first under no_sync, the second synchronises the sum
  sn::manual_seed(7);
  Tensor x = sn::randn({16, 4}, {.dtype = sn::kFloat64});
  Tensor y = sn::randn({16, 2}, {.dtype = sn::kFloat64});
  auto make = [] {
    auto m = nn::Sequential({nn::Linear(4, 6), nn::Tanh(), nn::Linear(6, 2)});
    m.to(sn::kFloat64);
    return m;
  };
  sn::manual_seed(8);
  auto ref = make();
  // one process: micro-batches of 8 rows, gradients accumulated over rows 0-7 then 8-15
  sn::loss::mse(ref(x.narrow(0, 0, 8)), y.narrow(0, 0, 8)).backward();
  sn::loss::mse(ref(x.narrow(0, 8, 8)), y.narrow(0, 8, 8)).backward();
  sn::manual_seed(8);
  auto model = make();
  dist::DistributedDataParallel ddp(model);
  const int64_t r = dist::rank();
  {
    auto guard = ddp.no_sync();
    sn::loss::mse(model(x.narrow(0, 4 * r, 4)), y.narrow(0, 4 * r, 4)).backward();
  }
  EXPECT_EQ(ddp.synchronized_passes(), 0);
  sn::loss::mse(model(x.narrow(0, 8 + 4 * r, 4)), y.narrow(0, 8 + 4 * r, 4)).backward();
  EXPECT_EQ(ddp.synchronized_passes(), 1);
  auto p = model.named_parameters();
  auto q = ref.named_parameters();
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_LT(max_abs_diff(p[i].second.grad(), q[i].second.grad()), 1e-13) << p[i].first;
}

TEST(Equivalence, SyncBatchNormFloat64) {
  // BatchNorm2d and BatchNorm1d with statistics over both ranks: the same parameters and running
  // statistics as one process with the whole batch; plain BatchNorm (per-rank statistics) differs
  sn::manual_seed(9);
  Tensor x = sn::randn({16, 2, 6, 6}, {.dtype = sn::kFloat64});
  Tensor y = sn::randint(0, 3, {16});
  auto ds = std::make_shared<sn::data::TensorDataset>(x, y);
  auto make = [] {
    auto m = nn::Sequential({nn::Conv2d(2, 4, 3), nn::BatchNorm2d(4), nn::ReLU(), nn::Flatten(),
                             nn::Linear(64, 8), nn::BatchNorm1d(8), nn::Tanh(), nn::Linear(8, 3)});
    m.to(sn::kFloat64);
    return m;
  };
  const int64_t B = 8;
  sn::manual_seed(10);
  auto ref = make();
  {
    sn::optim::SGD opt(ref.parameters(), {.lr = 0.1, .momentum = 0.9});
    sn::data::DataLoader loader(ds, {.batch_size = B, .shuffle = true, .seed = 11});
    train_loop(ref, opt, loader, 2, true);
  }
  for (bool sync : {true, false}) {
    sn::manual_seed(10);
    auto model = make();
    if (sync) {
      EXPECT_EQ(dist::convert_sync_batchnorm(model), 2);
    }
    dist::DistributedDataParallel ddp(model);
    sn::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    sn::data::DataLoader loader(
        ds,
        dist::shard_options({.batch_size = dist::per_rank_batch(B), .shuffle = true, .seed = 11}));
    train_loop(model, opt, loader, 2, true);
    double worst = 0;
    auto p = model.named_parameters();
    auto q = ref.named_parameters();
    for (size_t i = 0; i < p.size(); ++i)
      worst = std::max(worst, max_abs_diff(p[i].second, q[i].second));
    auto pb = model.named_buffers();
    auto qb = ref.named_buffers();
    ASSERT_EQ(pb.size(), qb.size());
    for (size_t i = 0; i < pb.size(); ++i) {
      const double d = max_abs_diff(pb[i].second, qb[i].second);
      if (sync) {
        EXPECT_LT(d, 1e-12) << pb[i].first;
      }
      worst = std::max(worst, d);
    }
    if (sync) {
      EXPECT_LT(worst, 1e-12);
    } else {
      EXPECT_GT(worst, 1e-6) << "per-rank statistics should give other weights";
    }
  }
}

TEST(Mismatch, DifferentModelsAreRefusedOnEveryRank) {
  auto model = nn::Sequential({nn::Linear(4, dist::rank() == 0 ? 3 : 5), nn::ReLU()});
  try {
    dist::DistributedDataParallel ddp(model);
    FAIL() << "no error";
  } catch (const sn::ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("differs across ranks"), std::string::npos) << m;
    EXPECT_NE(m.find("rank 1"), std::string::npos) << m;
    EXPECT_NE(m.find("[5, 4]"), std::string::npos) << m;
  }
  // a layer more on one rank
  auto deeper = dist::rank() == 0 ? nn::Sequential({nn::Linear(4, 3)})
                                  : nn::Sequential({nn::Linear(4, 3), nn::Linear(3, 3)});
  EXPECT_THROW(dist::DistributedDataParallel ddp2(deeper), sn::ValueError);
}

TEST(Fit, DataParallelFitEqualsOneProcess) {
  // fit with a validation split, metrics and early-stopping bookkeeping: the history (losses,
  // accuracies) and the weights of 2 ranks x batch 4 equal 1 process x batch 8
  sn::manual_seed(11);
  Tensor x = sn::randn({40, 5}, {.dtype = sn::kFloat64});
  Tensor y = sn::randint(0, 3, {40});
  auto ds = std::make_shared<sn::data::TensorDataset>(x, y);
  auto make = [] {
    auto m = nn::Sequential({nn::Linear(5, 12), nn::ReLU(), nn::Linear(12, 3)});
    m.to(sn::kFloat64);
    return m;
  };
  auto loss_fn = [](const Tensor& out, const Tensor& t) { return sn::loss::cross_entropy(out, t); };
  sn::train::FitOptions fo{.epochs = 3,
                           .validation_split = 0.2,
                           .validation_seed = 1,
                           .metrics = {std::make_shared<sn::train::Accuracy>()},
                           .verbose = 0,
                           .stop_on_nonfinite = true};
  sn::manual_seed(12);
  auto ref = make();
  sn::optim::Adam ref_opt(ref.parameters(), {.lr = 1e-2});
  sn::data::DataLoader ref_loader(ds, {.batch_size = 8, .shuffle = true, .seed = 13});
  sn::train::History h1 = sn::train::fit(ref, loss_fn, ref_opt, ref_loader, fo);

  sn::manual_seed(12);
  auto model = make();
  dist::DistributedDataParallel ddp(model);
  sn::optim::Adam opt(model.parameters(), {.lr = 1e-2});
  sn::data::DataLoader loader(ds,
                              dist::shard_options({.batch_size = 4, .shuffle = true, .seed = 13}));
  fo.distributed = true;
  sn::train::History h2 = sn::train::fit(model, loss_fn, opt, loader, fo);
  ASSERT_EQ(h1.size(), h2.size());
  for (size_t e = 0; e < h1.epochs.size(); ++e) {
    const auto& a = h1.epochs[e];
    const auto& b = h2.epochs[e];
    EXPECT_NEAR(a.loss, b.loss, 1e-12) << "epoch " << e;
    EXPECT_NEAR(a.val_loss, b.val_loss, 1e-12) << "epoch " << e;
    EXPECT_NEAR(a.metrics.at("accuracy"), b.metrics.at("accuracy"), 1e-12);
    EXPECT_NEAR(a.val_metrics.at("accuracy"), b.val_metrics.at("accuracy"), 1e-12);
  }
  auto p = model.named_parameters();
  auto q = ref.named_parameters();
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_LT(max_abs_diff(p[i].second, q[i].second), 1e-12) << p[i].first;
}

TEST(Fit, StopOnOneRankStopsEveryRankAtTheSameStep) {
  sn::manual_seed(21);
  auto ds = std::make_shared<sn::data::TensorDataset>(sn::randn({32, 3}), sn::randn({32, 1}));
  auto model = nn::Sequential({nn::Linear(3, 1)});
  dist::DistributedDataParallel ddp(model);
  sn::optim::SGD opt(model.parameters(), {.lr = 0.01});
  sn::data::DataLoader loader(ds, dist::shard_options({.batch_size = 2}));
  int64_t stopped_at = -1;
  auto stopper = std::make_shared<sn::train::LambdaCallback>(
      sn::train::LambdaHooks{.on_batch_end = [&](sn::train::TrainState& s) {
        if (dist::rank() == 1 && s.global_step == 3) s.request_stop("interrupted");
        stopped_at = s.global_step;
      }});
  auto loss_fn = [](const Tensor& out, const Tensor& t) { return sn::loss::mse(out, t); };
  sn::train::History h =
      sn::train::fit(model, loss_fn, opt, loader,
                     {.epochs = 2, .callbacks = {stopper}, .verbose = 0, .distributed = true});
  EXPECT_EQ(stopped_at, 3);
  EXPECT_TRUE(h.stopped_early);
  EXPECT_EQ(ddp.synchronized_passes(), 3);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  sn::set_num_threads(1);
  dist::init();
  // only rank 0 prints gtest's report (both ranks still fail the job on a failure)
  if (dist::rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  if (rc != 0) std::fprintf(stderr, "rank %d: tests failed\n", dist::rank());
  return rc;
}
