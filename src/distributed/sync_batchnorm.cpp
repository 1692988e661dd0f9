#include "sinapsis/distributed/sync_batchnorm.h"

#include "sinapsis/distributed/distributed.h"
#include "sinapsis/nn/conv.h"

namespace sn::distributed {

int convert_sync_batchnorm(nn::Module& model) {
  int n = 0;
  model.apply([&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm*>(&m)) {
      bn->set_stats_reducer([](const Tensor& t) { return all_reduce_sum(t); });
      ++n;
    }
  });
  return n;
}

}  // namespace sn::distributed
