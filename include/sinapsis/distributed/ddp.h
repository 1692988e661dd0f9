// DistributedDataParallel: data-parallel training as PyTorch's. Every rank holds the whole
// model and trains on its own share of each batch; at start the parameters and buffers are
// copied from rank 0 (after checking that every rank built the same model), and during each
// backward the gradients are averaged across ranks in buckets: a bucket's non-blocking
// all-reduce starts as soon as its last gradient is ready (a grad-ready hook, autograd/hooks.h),
// so communication overlaps the rest of backward, and the pass ends with every gradient
// averaged. The model is borrowed and called as before (fit needs no change); this object only
// attaches to it. A world of one attaches nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/distributed/distributed.h"
#include "sinapsis/nn/module.h"

namespace sn::distributed {

struct DDPOptions {
  // Gradient bytes per bucket (MiB). Buckets follow the parameters in reverse registration
  // order (the order backward produces them); each holds one dtype.
  double bucket_cap_mb = 25;
  // The first bucket (the last layers) is small so that communication starts early.
  double first_bucket_cap_mb = 1;
  // Copy rank 0's buffers (BatchNorm running statistics) to every rank after each synchronised
  // backward, as PyTorch's broadcast_buffers does before each forward; off, each rank keeps its
  // own statistics.
  bool broadcast_buffers = true;
};

class DistributedDataParallel {
 public:
  // Collective: every rank constructs it at the same point. Throws ValueError on every rank
  // when the models differ (parameter and buffer names, shapes, dtypes), naming the ranks and
  // the first difference.
  explicit DistributedDataParallel(nn::Module& model, DDPOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  nn::Module& module() { return model_; }
  Tensor operator()(const Tensor& x) { return model_(x); }

  // While a NoSync lives, backward only accumulates gradients locally (gradient accumulation);
  // the first backward after it averages everything accumulated.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
  };
  NoSync no_sync() { return NoSync(*this); }

  struct BucketInfo {
    std::vector<std::string> parameters;  // names, in the bucket's order
    int64_t numel = 0;
    DType dtype = kFloat32;
  };
  std::vector<BucketInfo> buckets() const;
  // Backward passes whose gradients were averaged so far.
  int64_t synchronized_passes() const;

  struct State;

 private:
  nn::Module& model_;
  std::unique_ptr<State> s_;
};

// Throws ValueError on every rank unless every rank's model has the same parameter and buffer
// names, shapes and dtypes (collective). Called by DistributedDataParallel.
void check_same_model(const nn::Module& model, const char* op);

}  // namespace sn::distributed
