// DataLoader: batch count and contents, seeded shuffling (deterministic, new order per epoch,
// always a permutation), prefetching giving the same batches as loading inline, errors
// surfacing at the right batch, and clean shutdown when a loop breaks early.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "sinapsis/data/data.h"
#include "sinapsis/ops/ops.h"

using namespace sn;
using data::DataLoader;
using data::Example;

namespace {

std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  Tensor idx = arange(static_cast<double>(n));
  return data::tensor_dataset(stack({idx, -idx}, 1),
                              arange(static_cast<double>(n), {.dtype = kInt64}));
}

// All batches of one epoch, as lists of example ids.
std::vector<std::vector<int64_t>> epoch(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (auto& [x, y] : loader) {
    std::vector<int64_t> ids;
    for (double v : y.to_vector()) ids.push_back(static_cast<int64_t>(v));
    // x rows belong to the same examples as y.
    const auto xv = x.to_vector();
    for (size_t k = 0; k < ids.size(); ++k) EXPECT_EQ(xv[2 * k], static_cast<double>(ids[k]));
    out.push_back(ids);
  }
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Counts get_batch calls; throws at batch `fail_at` (by call order) when set.
class Probe : public data::Dataset {
 public:
  explicit Probe(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  int64_t size() const override { return n_; }
  Example get(int64_t i) const override { return {tensor({static_cast<double>(i)}), Tensor()}; }
  Example get_batch(const std::vector<int64_t>& idx) const override {
    const int64_t call = calls++;
    if (call == fail_at_) throw ValueError("probe: batch " + std::to_string(call) + " is broken");
    return Dataset::get_batch(idx);
  }
  std::string name() const override { return "Probe"; }
  mutable std::atomic<int64_t> calls{0};

 private:
  int64_t n_, fail_at_;
};

}  // namespace

TEST(DataLoader, SizeAndBatchesInOrder) {
  auto ds = numbered(10);
  DataLoader keep(ds, {.batch_size = 4});
  EXPECT_EQ(keep.size(), 3);
  const auto b = epoch(keep);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(b[2], (std::vector<int64_t>{8, 9}));
  DataLoader drop(ds, {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(drop.size(), 2);
  EXPECT_EQ(epoch(drop).size(), 2u);
  DataLoader exact(ds, {.batch_size = 5, .drop_last = true});
  EXPECT_EQ(exact.size(), 2);
}

TEST(DataLoader, BatchesAreStackedTensors) {
  DataLoader loader(numbered(6), {.batch_size = 4});
  auto it = loader.begin();
  EXPECT_EQ(it->x.shape(), (Shape{4, 2}));
  EXPECT_EQ(it->y.shape(), (Shape{4}));
  EXPECT_EQ(it.index(), 0);
  ++it;
  EXPECT_EQ(it->x.shape(), (Shape{2, 2}));
  ++it;
  EXPECT_TRUE(it == loader.end());
  EXPECT_THROW(*it, ValueError);
}

TEST(DataLoader, SeededShuffleIsDeterministicAndChangesPerEpoch) {
  auto ds = numbered(50);
  DataLoader a(ds, {.batch_size = 8, .shuffle = true, .seed = 11});
  DataLoader b(ds, {.batch_size = 8, .shuffle = true, .seed = 11, .prefetch = 0});
  const auto a1 = epoch(a), a2 = epoch(a);
  const auto b1 = epoch(b), b2 = epoch(b);
  EXPECT_EQ(a1, b1);
  EXPECT_EQ(a2, b2);
  EXPECT_NE(flat(a1), flat(a2));
  auto sorted = flat(a1);
  std::vector<int64_t> identity(50);
  for (int64_t i = 0; i < 50; ++i) identity[static_cast<size_t>(i)] = i;
  EXPECT_NE(sorted, identity);
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  DataLoader c(ds, {.batch_size = 8, .shuffle = true, .seed = 12});
  EXPECT_NE(flat(epoch(c)), flat(a1));
}

TEST(DataLoader, UnseededShuffleFollowsManualSeed) {
  auto ds = numbered(30);
  manual_seed(9);
  DataLoader a(ds, {.batch_size = 7, .shuffle = true});
  const auto first = epoch(a);
  manual_seed(9);
  DataLoader b(ds, {.batch_size = 7, .shuffle = true});
  EXPECT_EQ(epoch(b), first);
}

TEST(DataLoader, PrefetchGivesTheSameBatchesAsInlineLoading) {
  auto ds = data::transform(numbered(37), data::normalize(1.0, 2.0));
  for (int prefetch : {0, 1, 4}) {
    DataLoader loader(ds, {.batch_size = 5, .shuffle = true, .seed = 3, .prefetch = prefetch});
    std::vector<Tensor> xs;
    for (auto& [x, y] : loader) xs.push_back(x);
    ASSERT_EQ(xs.size(), 8u);
    DataLoader ref(ds, {.batch_size = 5, .shuffle = true, .seed = 3, .prefetch = 0});
    size_t k = 0;
    for (auto& [x, y] : ref) EXPECT_TRUE(equal(x, xs[k++])) << "prefetch " << prefetch;
  }
}

TEST(DataLoader, BatchesDoNotRecordGradients) {
  auto ds = data::transform(numbered(4), data::lambda([](Example e) {
                              e.x = e.x * ones({2}, {.requires_grad = true});
                              return e;
                            }));
  for (int prefetch : {0, 2}) {
    DataLoader loader(ds, {.batch_size = 2, .prefetch = prefetch});
    for (auto& [x, y] : loader) EXPECT_FALSE(x.requires_grad()) << "prefetch " << prefetch;
  }
}

TEST(DataLoader, PrefetchThreadRunsTransformsOnOneThread) {
  const int before = get_num_threads();
  set_num_threads(2);
  std::atomic<int> seen_max{0};
  auto ds = data::transform(numbered(6), data::lambda([&](Example e) {
                              seen_max = std::max(seen_max.load(), get_num_threads());
                              return e;
                            }));
  DataLoader loader(ds, {.batch_size = 2, .prefetch = 2});
  for (auto& batch : loader) (void)batch;
  EXPECT_EQ(seen_max.load(), 1);    // the worker's ops run single-threaded
  EXPECT_EQ(get_num_threads(), 2);  // the training thread keeps its count
  DataLoader inline_loader(ds, {.batch_size = 2, .prefetch = 0});
  for (auto& batch : inline_loader) (void)batch;
  EXPECT_EQ(seen_max.load(), 2);  // inline loading runs on the caller's threads
  set_num_threads(before);
}

TEST(DataLoader, ErrorsSurfaceAtTheFailingBatch) {
  for (int prefetch : {0, 2}) {
    auto probe = std::make_shared<Probe>(20, 2);
    DataLoader loader(probe, {.batch_size = 4, .prefetch = prefetch});
    int delivered = 0;
    try {
      for (auto& [x, y] : loader) {
        EXPECT_EQ(x.size(0), 4);
        ++delivered;
      }
      FAIL() << "no error";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("batch 2"), std::string::npos);
    }
    EXPECT_EQ(delivered, 2) << "prefetch " << prefetch;
    // The failure in the first batch comes out of begin().
    DataLoader first(std::make_shared<Probe>(8, 0), {.batch_size = 4, .prefetch = prefetch});
    EXPECT_THROW(first.begin(), ValueError);
  }
}

TEST(DataLoader, BreakingEarlyStopsThePrefetchThread) {
  auto probe = std::make_shared<Probe>(1000, -1);
  DataLoader loader(probe, {.batch_size = 1, .prefetch = 3});
  int seen = 0;
  for (auto& batch : loader) {
    (void)batch;
    if (++seen == 2) break;
  }
  // The worker is joined when the loop's iterator dies (a leaked thread would crash the test
  // at exit): it loaded at most the two batches handed out, three queued and one in flight.
  EXPECT_LE(probe->calls.load(), 2 + 3 + 1);
  // A new epoch starts from the beginning.
  const int64_t before = probe->calls.load();
  EXPECT_EQ(loader.begin()->x.item(), 0.0);
  EXPECT_GE(probe->calls.load(), before + 1);
  EXPECT_EQ(loader.epochs_started(), 2);
}

TEST(DataLoader, EmptyDatasetAndBadOptions) {
  DataLoader loader(data::tensor_dataset(zeros({0, 3})), {.batch_size = 4});
  EXPECT_EQ(loader.size(), 0);
  int n = 0;
  for (auto& b : loader) {
    (void)b;
    ++n;
  }
  EXPECT_EQ(n, 0);
  EXPECT_THROW(DataLoader(numbered(3), {.batch_size = 0}), ValueError);
  EXPECT_THROW(DataLoader(numbered(3), {.prefetch = -1}), ValueError);
  EXPECT_THROW(DataLoader(nullptr), ValueError);
}
