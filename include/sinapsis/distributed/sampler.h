// Distributed sampling: the loader options that give this rank its shard of every epoch
// (PyTorch's DistributedSampler is LoaderOptions::num_shards/shard in this library).
#pragma once
#include "sinapsis/data/loader.h"

namespace sn::distributed {

// `opts` with num_shards = world size, shard = rank and, for a shuffled loader, a seed that
// every rank shares: rank 0's seed, or one rank 0 draws from sn's generator when none is set.
// Collective. The batch size stays the caller's (per rank).
data::LoaderOptions shard_options(data::LoaderOptions opts);

// The per-rank share of a global batch size: global / world size; an error naming both when it
// does not divide (the ranks would train on different batch sizes).
int64_t per_rank_batch(int64_t global_batch, const char* op = "batch size");

}  // namespace sn::distributed
