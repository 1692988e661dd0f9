// The caching buffer allocator behind Storage: size classes, reuse of freed blocks, the byte
// limit, disabling, alignment and concurrent use. Speed is measured in bench/, not here.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "core/allocator.h"
#include "sinapsis/sinapsis.h"

namespace sn::detail {
namespace {

// Restores the default configuration after each test that changes it.
class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = buffer_cache_stats(); }
  void TearDown() override { configure_buffer_cache(saved_.enabled, saved_.limit_bytes); }
  CacheStats saved_;
};

TEST(BufferClass, RoundsUpToAtMostAQuarterMore) {
  EXPECT_EQ(buffer_class_bytes(0), 64u);
  EXPECT_EQ(buffer_class_bytes(1), 64u);
  EXPECT_EQ(buffer_class_bytes(64), 64u);
  EXPECT_EQ(buffer_class_bytes(65), 128u);
  EXPECT_EQ(buffer_class_bytes(256), 256u);
  EXPECT_EQ(buffer_class_bytes(257), 320u);
  EXPECT_EQ(buffer_class_bytes(512), 512u);
  EXPECT_EQ(buffer_class_bytes(513), 640u);
  EXPECT_EQ(buffer_class_bytes(4u << 20), 4u << 20);
  EXPECT_EQ(buffer_class_bytes((4u << 20) + 1), 5u << 20);
  for (size_t n = 1; n < (1u << 22); n = n * 3 / 2 + 7) {
    const size_t c = buffer_class_bytes(n);
    EXPECT_GE(c, n);
    EXPECT_EQ(c % 64, 0u) << n;
    if (n > 256) {
      EXPECT_LE(c, n + n / 4) << n;
    }
  }
}

TEST_F(AllocatorTest, FreedBlockIsReusedForSameClass) {
  configure_buffer_cache(true, size_t{1} << 30);
  void* p = alloc_buffer(1000);
  std::memset(p, 1, 1000);
  free_buffer(p, 1000);
  const CacheStats s = buffer_cache_stats();
  EXPECT_EQ(s.cached_bytes, buffer_class_bytes(1000));
  void* q = alloc_buffer(1010);  // same class as 1000 (1024)
  EXPECT_EQ(q, p);
  EXPECT_EQ(buffer_cache_stats().hits, s.hits + 1);
  EXPECT_EQ(buffer_cache_stats().cached_bytes, 0u);
  free_buffer(q, 1010);
}

TEST_F(AllocatorTest, BlocksAreAlignedAndUsable) {
  configure_buffer_cache(true, size_t{1} << 30);
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t n : {1u, 63u, 64u, 100u, 4096u, 100000u, 3u << 20}) {
    void* p = alloc_buffer(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << n;
    std::memset(p, 0xab, n);
    blocks.emplace_back(p, n);
  }
  for (auto& [p, n] : blocks) free_buffer(p, n);
}

TEST_F(AllocatorTest, LargeBlocksStartOnHugePageBoundaries) {
  // 4 MiB and more: 2 MiB-aligned (for transparent huge pages), including sizes whose class is
  // not a multiple of 2 MiB (5 MiB + 1 byte lands in the 6 MiB class; 9 MiB in 10 MiB)
  for (bool cache : {true, false}) {
    configure_buffer_cache(cache, size_t{1} << 30);
    for (size_t n : {size_t{4} << 20, (size_t{5} << 20) + 1, size_t{9} << 20}) {
      void* p = alloc_buffer(n);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size_t{2} << 20), 0u) << n;
      std::memset(p, 0xcd, n);
      free_buffer(p, n);
    }
  }
}

TEST_F(AllocatorTest, LimitCapsCachedBytes) {
  configure_buffer_cache(true, 8192);
  void* a = alloc_buffer(4096);
  void* b = alloc_buffer(4096);
  void* c = alloc_buffer(4096);
  free_buffer(a, 4096);
  free_buffer(b, 4096);
  free_buffer(c, 4096);  // over the limit: goes back to the system
  EXPECT_EQ(buffer_cache_stats().cached_bytes, 8192u);
  empty_buffer_cache();
  EXPECT_EQ(buffer_cache_stats().cached_bytes, 0u);
}

TEST_F(AllocatorTest, DisabledCacheHoldsNothing) {
  configure_buffer_cache(false, size_t{1} << 30);
  void* p = alloc_buffer(2048);
  free_buffer(p, 2048);
  EXPECT_EQ(buffer_cache_stats().cached_bytes, 0u);
  EXPECT_FALSE(buffer_cache_stats().enabled);
}

TEST_F(AllocatorTest, TensorsReuseBuffersAndKeepTheirValues) {
  configure_buffer_cache(true, size_t{1} << 30);
  Tensor a = arange(1000);
  Tensor b = full({1000}, 2.0);
  const void* old = nullptr;
  for (int i = 0; i < 3; ++i) {
    Tensor c = add(a, b);  // freed at the end of each iteration, reused by the next
    if (i > 0) {
      EXPECT_EQ(c.raw_data(), old);
    }
    old = c.raw_data();
    EXPECT_EQ(c.at({999}), 1001.0);
    EXPECT_EQ(c.at({0}), 2.0);
  }
  Tensor z = zeros({1000});  // a reused block must still come back zeroed by zeros()
  EXPECT_EQ(sum(z).item(), 0.0);
}

TEST_F(AllocatorTest, ConcurrentAllocAndFreeFromManyThreads) {
  configure_buffer_cache(true, size_t{1} << 30);
  constexpr int kThreads = 4, kIters = 2000;
  std::vector<std::thread> threads;
  std::vector<int> bad(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &bad] {
      std::vector<std::pair<unsigned char*, size_t>> live;
      for (int i = 0; i < kIters; ++i) {
        const size_t n = 64 + static_cast<size_t>((i * 37 + t * 11) % 5000);
        auto* p = static_cast<unsigned char*>(alloc_buffer(n));
        std::memset(p, t + 1, n);
        live.emplace_back(p, n);
        if (live.size() > 8) {
          auto [q, m] = live.front();
          for (size_t k = 0; k < m; ++k) bad[t] += q[k] != t + 1;  // nobody else wrote here
          free_buffer(q, m);
          live.erase(live.begin());
        }
      }
      for (auto& [q, m] : live) free_buffer(q, m);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace sn::detail
