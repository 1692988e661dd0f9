// The caching buffer allocator (see allocator.h): one mutex-guarded set of intrusive free lists,
// one per size class, holding at most a byte limit. Blocks come from aligned_alloc.
// It does not keep per-thread caches: ops allocate on the calling thread, and an uncontended
// lock costs less than the malloc it replaces.
#include "core/allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "sinapsis/core/error.h"

namespace sn::detail {

namespace {

constexpr size_t kAlign = 64;
// Classes: 64, 128, 192, 256, then 4 per power of two (2^p, 2^(p+1)] for p = 8 ... 63.
constexpr int kNumClasses = 4 + (64 - 8) * 4;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheByDefault = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCacheByDefault = false;
#else
constexpr bool kCacheByDefault = true;
#endif
#else
constexpr bool kCacheByDefault = true;
#endif

struct ClassOf {
  int index;
  size_t bytes;
};

ClassOf class_of(size_t n) {
  if (n <= 256) {
    const size_t b = std::max<size_t>((n + kAlign - 1) / kAlign, 1) * kAlign;
    return {static_cast<int>(b / kAlign) - 1, b};
  }
  const int p = 63 - __builtin_clzll(n - 1);  // 2^p < n <= 2^(p+1), p >= 8
  const size_t step = size_t{1} << (p - 2);
  const size_t b = (n + step - 1) & ~(step - 1);
  return {4 + (p - 8) * 4 + static_cast<int>(b / step) - 5, b};
}

// Large blocks start on a 2 MiB boundary and ask for transparent huge pages: a GEMM or a
// stream over a big tensor then misses the TLB far less (the kernel's default THP mode here is
// madvise, so nothing happens without asking).
constexpr size_t kHugePage = size_t{2} << 20;
void* system_alloc(size_t bytes) {
  if (bytes < 2 * kHugePage) return std::aligned_alloc(kAlign, bytes);
  // aligned_alloc wants a size that is a multiple of the alignment (ASan checks it)
  const size_t whole = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  void* p = std::aligned_alloc(kHugePage, whole);
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, whole, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
  return p;
}

struct FreeBlock {
  FreeBlock* next;
};

// Physical memory / 4, at most 4 GiB: freed blocks beyond this are returned to the system.
size_t default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const size_t phys = pages > 0 && page > 0 ? static_cast<size_t>(pages) * page : size_t{1} << 32;
  return std::min(phys / 4, size_t{4} << 30);
}

class BufferCache {
 public:
  void* allocate(size_t nbytes) {
    const ClassOf c = class_of(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (FreeBlock* b = free_[c.index]) {
        free_[c.index] = b->next;
        cached_ -= c.bytes;
        ++hits_;
        return b;
      }
      ++misses_;
    }
    void* p = system_alloc(c.bytes);
    if (!p) {
      empty();
      p = system_alloc(c.bytes);
    }
    if (!p) SN_THROW(Error, "storage: out of memory allocating ", nbytes, " bytes");
    return p;
  }
  void release(void* p, size_t nbytes) {
    if (!p) return;
    const ClassOf c = class_of(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (enabled_ && cached_ + c.bytes <= limit_) {
        FreeBlock* b = static_cast<FreeBlock*>(p);
        b->next = free_[c.index];
        free_[c.index] = b;
        cached_ += c.bytes;
        return;
      }
    }
    std::free(p);
  }
  void empty() {
    FreeBlock* lists[kNumClasses];
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::copy(free_, free_ + kNumClasses, lists);
      std::fill(free_, free_ + kNumClasses, nullptr);
      cached_ = 0;
    }
    for (FreeBlock* b : lists) {
      while (b) {
        FreeBlock* next = b->next;
        std::free(b);
        b = next;
      }
    }
  }
  void configure(bool enabled, size_t limit) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      enabled_ = enabled;
      limit_ = limit;
    }
    empty();
  }
  CacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {cached_, limit_, hits_, misses_, enabled_};
  }

 private:
  std::mutex mu_;
  FreeBlock* free_[kNumClasses] = {};
  size_t cached_ = 0, limit_ = default_limit(), hits_ = 0, misses_ = 0;
  bool enabled_ = kCacheByDefault;
};

// Never destroyed: storages held by static tensors may be freed after main returns.
BufferCache& cache() {
  static BufferCache* c = new BufferCache();
  return *c;
}

struct ThreadLimit {
  bool active = false;
  size_t limit = 0, used = 0;
};
thread_local ThreadLimit t_limit;

}  // namespace

AllocationLimitError::AllocationLimitError(size_t req, size_t u, size_t lim)
    : ValueError(concat("allocation of ", req, " bytes would pass the limit of ", lim, " bytes (",
                        u, " already allocated)")),
      requested(req),
      used(u),
      limit(lim) {}

AllocationLimit::AllocationLimit(size_t bytes)
    : saved_limit_(t_limit.limit), saved_used_(t_limit.used), saved_active_(t_limit.active) {
  t_limit = {true, bytes, 0};
}
AllocationLimit::~AllocationLimit() { t_limit = {saved_active_, saved_limit_, saved_used_}; }
size_t AllocationLimit::used() const { return t_limit.used; }

size_t half_physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 2
                               : size_t{8} << 30;
}

size_t buffer_class_bytes(size_t nbytes) { return class_of(nbytes).bytes; }
void* alloc_buffer(size_t nbytes) {
  if (t_limit.active) {
    if (nbytes > t_limit.limit || t_limit.used > t_limit.limit - nbytes)
      throw AllocationLimitError(nbytes, t_limit.used, t_limit.limit);
    t_limit.used += nbytes;
  }
  return cache().allocate(nbytes);
}
void free_buffer(void* p, size_t nbytes) { cache().release(p, nbytes); }
CacheStats buffer_cache_stats() { return cache().stats(); }
void empty_buffer_cache() { cache().empty(); }
void configure_buffer_cache(bool enabled, size_t limit_bytes) {
  cache().configure(enabled, limit_bytes);
}

}  // namespace sn::detail
