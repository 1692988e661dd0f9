// DataLoader: batches of a Dataset for a range-for loop, `for (auto& [x, y] : loader)`, with
// seeded shuffling and a background thread that prepares the next batches while the model
// trains on the current one. One pass (epoch) per begin(). No multi-process workers.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sinapsis/data/dataset.h"

namespace sn::data {

struct LoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;  // drop a last batch smaller than batch_size
  // Shuffle seed: epoch k of two loaders with the same seed visits the same order. Without a
  // seed each epoch's order is drawn from sn's global generator (sn::manual_seed).
  std::optional<uint64_t> seed = std::nullopt;
  // Batches prepared ahead by a background thread; 0 loads in the loop's own thread. With
  // prefetching, the dataset (and its transforms) are read from that thread.
  int prefetch = 2;
  // Sharding for data-parallel training (PyTorch's DistributedSampler): with num_shards > 1
  // the loader visits only shard `shard` of each epoch's order, its every num_shards-th example
  // from position `shard`, after the order is padded to a multiple of num_shards with its
  // first examples; so the shards are disjoint (but for the padding) and every shard has the
  // same number of batches. Shards of a shuffled loader need the same seed on every rank
  // (distributed::shard_options sets all three).
  int64_t num_shards = 1;
  int64_t shard = 0;
};

class DataLoader {
 public:
  struct Epoch;  // one pass: the order, the current batch, the prefetch thread
  struct Sentinel {};

  // Move-only input iterator. Destroying it (the loop ends or breaks early, or an exception
  // leaves it) stops and joins the prefetch thread. An exception thrown while loading a batch
  // is rethrown by the ++ (or begin()) that reaches that batch.
  class Iterator {
   public:
    explicit Iterator(std::unique_ptr<Epoch> epoch);
    Iterator(Iterator&&) noexcept;
    Iterator& operator=(Iterator&&) noexcept;
    ~Iterator();
    Example& operator*() const;
    Example* operator->() const { return &**this; }
    Iterator& operator++();
    bool operator==(Sentinel) const;
    // The batch's position in the epoch, 0 .. size()-1.
    int64_t index() const;

   private:
    std::unique_ptr<Epoch> epoch_;
  };

  DataLoader(DatasetPtr dataset, LoaderOptions opts = {});
  // Starts an epoch (drawing a new order when shuffling) and loads its first batch.
  Iterator begin();
  Sentinel end() const { return {}; }
  // Number of batches per epoch (of this loader's shard).
  int64_t size() const;
  // Examples per epoch (of this loader's shard, padding included).
  int64_t examples() const;
  const Dataset& dataset() const { return *dataset_; }
  const DatasetPtr& dataset_ptr() const { return dataset_; }
  const LoaderOptions& options() const { return opts_; }
  // Epochs started so far.
  int64_t epochs_started() const { return epoch_; }
  // Makes the next begin() start epoch `epoch` (0-based): a seeded loader then visits that
  // epoch's order. Used to resume training (train::fit sets it each epoch).
  void set_epoch(int64_t epoch) {
    SN_CHECK(epoch >= 0, ValueError, "DataLoader: set_epoch needs an epoch >= 0 (got ", epoch, ")");
    epoch_ = epoch;
  }

 private:
  DatasetPtr dataset_;
  LoaderOptions opts_;
  int64_t epoch_ = 0;
};

}  // namespace sn::data
