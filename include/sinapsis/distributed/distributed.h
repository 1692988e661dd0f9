// sn::distributed: several processes working as one (data-parallel training) over MPI.
// init() reads the launcher's environment (mpirun / mpiexec); outside a launcher, or in a build
// without MPI (CMake option SN_MPI off), the world is one process and every collective is the
// identity, so code written for several ranks runs unchanged on one. Tensors: float32, float64
// and int64. DistributedDataParallel (ddp.h) builds on this; nothing below train/ uses it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"

namespace sn::distributed {

enum class ReduceOp { Sum, Mean, Max, Min };

// Starts MPI when the process was launched by mpirun/mpiexec (OMPI_COMM_WORLD_SIZE, PMI_SIZE
// or PMIX_RANK set) and MPI is built in; otherwise the world is this process alone. Idempotent;
// every function below calls it. MPI is finalised at exit.
void init();
// True in a build with MPI (SN_MPI on).
bool mpi_built();
// "mpi" when MPI was started, "none" for a world of one without it.
std::string backend();
int rank();
int world_size();
// This process's index among the ranks on its host, and how many ranks share the host.
int local_rank();
int local_size();
// The host's name as MPI reports it (gethostname without MPI).
std::string host_name();
// The default OpenMP/BLAS threads for this rank: the host's cores divided by the ranks on it,
// capped by the CPUs the launcher bound the process to.
int threads_per_rank();
inline bool is_distributed() { return world_size() > 1; }
inline bool is_main() { return rank() == 0; }

// ---- collectives: every rank calls them in the same order with tensors of the same shape and
// dtype. They write in place into the tensor's storage (any layout; a non-contiguous tensor is
// copied through a contiguous buffer) and never record autograd history.
void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum);
void broadcast(const Tensor& t, int root = 0);
// The tensors of every rank stacked along a new first dimension: [world_size, ...t.shape()].
Tensor all_gather(const Tensor& t);
void barrier();

// A differentiable sum over the processes: returns a new tensor holding Σ_processes t on every
// process (t is not changed), and records a node whose backward sums the incoming gradients
// over the processes the same way (each process's input reaches every process's output).
// Collective in forward and in backward: every process runs both. SyncBatchNorm builds on it.
Tensor all_reduce_sum(const Tensor& t);
// Strings and numbers, for setup (run folders, seeds, model signatures).
void broadcast(std::string& s, int root = 0);
std::vector<std::string> all_gather(const std::string& s);
double all_reduce(double v, ReduceOp op = ReduceOp::Sum);
int64_t all_reduce(int64_t v, ReduceOp op = ReduceOp::Sum);

// A non-blocking all-reduce in flight. The tensor must stay alive and untouched until wait()
// returns (the handle holds a reference to it). Destroying an unfinished handle waits.
class Work {
 public:
  Work();
  ~Work();
  Work(Work&&) noexcept;
  Work& operator=(Work&&) noexcept;
  // True once the operation has finished (drives MPI's progress; never blocks).
  bool test();
  // Blocks until finished; a Mean is divided by the world size here.
  void wait();
  bool valid() const { return impl_ != nullptr; }
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  friend Work all_reduce_async(const Tensor& t, ReduceOp op);
};
// Starts an all-reduce of `t` in place and returns at once. Ranks must start their non-blocking
// collectives in the same order.
Work all_reduce_async(const Tensor& t, ReduceOp op = ReduceOp::Sum);

// Ends every rank of the job with exit status `code` (MPI_Abort; std::exit without MPI). For a
// rank that fails while the others wait in a collective: they cannot return on their own.
[[noreturn]] void abort(int code);

}  // namespace sn::distributed
