// shard_options and per_rank_batch: the data side of data-parallel training.
#include "sinapsis/distributed/sampler.h"

#include "sinapsis/distributed/distributed.h"

namespace sn::distributed {

data::LoaderOptions shard_options(data::LoaderOptions opts) {
  opts.num_shards = world_size();
  opts.shard = rank();
  if (opts.num_shards > 1 && opts.shuffle) {
    Tensor seed = tensor(
        std::vector<int64_t>{static_cast<int64_t>(opts.seed ? *opts.seed : random_u64() >> 1)},
        {1});
    broadcast(seed, 0);
    opts.seed = static_cast<uint64_t>(seed.data_ptr<int64_t>()[0]);
  }
  return opts;
}

int64_t per_rank_batch(int64_t global_batch, const char* op) {
  const int w = world_size();
  SN_CHECK(global_batch >= w && global_batch % w == 0, ValueError, op, ": the global batch of ",
           global_batch, " does not split evenly over ", w,
           " ranks; hint: use a multiple of the number of ranks");
  return global_batch / w;
}

}  // namespace sn::distributed
