// The buffer allocator behind Storage: 64-byte aligned blocks, with a cache of freed blocks in
// size-class free lists so that a training loop, which frees and reallocates the same sizes
// every step, stops paying for malloc, mmap and page faults. Private to the library.
// It does not pool tensor metadata (TensorImpl) and never moves or compacts blocks.
#pragma once
#include <cstddef>

#include "sinapsis/core/error.h"

namespace sn::detail {

// A block of at least `nbytes` bytes (64-byte aligned, never null); throws sn::Error when the
// system is out of memory even after the cache was emptied.
void* alloc_buffer(size_t nbytes);
// Gives back a block from alloc_buffer(nbytes) (same nbytes). Thread-safe, any thread.
void free_buffer(void* p, size_t nbytes);

struct CacheStats {
  size_t cached_bytes = 0;  // held in free lists, ready for reuse
  size_t limit_bytes = 0;   // free blocks beyond this go back to the system
  size_t hits = 0, misses = 0;
  bool enabled = false;
};
CacheStats buffer_cache_stats();
// Returns every cached block to the system.
void empty_buffer_cache();
// Turns caching on or off (off empties the cache); `limit_bytes` caps what the cache holds.
// Caching is off in AddressSanitizer builds so that use-after-free stays detectable.
void configure_buffer_cache(bool enabled, size_t limit_bytes);

// Building from untrusted sizes (a model spec asking for a layer of 10^12 features): while an
// AllocationLimit is alive on a thread, alloc_buffer on that thread throws AllocationLimitError
// before allocating when the bytes it allocated since the limit began would exceed `bytes`.
// Frees are not subtracted (they may happen on other threads), so the count is an upper bound.
class AllocationLimitError : public ValueError {
 public:
  AllocationLimitError(size_t requested, size_t used, size_t limit);
  size_t requested, used, limit;
};
class AllocationLimit {
 public:
  explicit AllocationLimit(size_t bytes);
  ~AllocationLimit();
  AllocationLimit(const AllocationLimit&) = delete;
  AllocationLimit& operator=(const AllocationLimit&) = delete;
  size_t used() const;

 private:
  size_t saved_limit_, saved_used_;
  bool saved_active_;
};
// Half the physical memory: the default limit for building a model from a spec.
size_t half_physical_memory();

// The size class a request falls in: requests are rounded up to 4 steps per power of two (at
// most 25% slack), so a freed block serves every request of its class.
size_t buffer_class_bytes(size_t nbytes);

}  // namespace sn::detail
