// SyncBatchNorm: BatchNorm whose training statistics are those of the whole batch across the
// processes of a data-parallel job, as PyTorch's nn.SyncBatchNorm. Plain BatchNorm under
// DistributedDataParallel normalises each process's share with its own statistics (PyTorch's
// default too); converted layers give the same outputs, gradients and running statistics as one
// process with the whole batch, at the cost of two all-reduces in forward and two in backward
// per layer. The layers keep their type, parameters and buffers (checkpoints do not change).
#pragma once
#include "sinapsis/nn/module.h"

namespace sn::distributed {

// Turns every BatchNorm1d/2d in `model` into a synchronised one (BatchNorm::set_stats_reducer
// with all_reduce_sum); returns how many. Every process converts the same layers. In a world of
// one the statistics are the local ones, computed by the composite path.
int convert_sync_batchnorm(nn::Module& model);

}  // namespace sn::distributed
