// sn::distributed over MPI (OpenMPI from Debian), or a world of one where MPI is not built in
// (SN_HAVE_MPI unset) or the process was not started by a launcher. Collectives go straight to
// MPI on the tensor's storage; nothing here knows about models or training.
#include "sinapsis/distributed/distributed.h"

#include <omp.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "sinapsis/autograd/node.h"

#if SN_HAVE_MPI
#include <mpi.h>
#endif

namespace sn::distributed {

namespace {

struct World {
  bool mpi = false;  // MPI started (by us or by the program before us)
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  std::string host;
#if SN_HAVE_MPI
  bool own = false;  // we called MPI_Init, so we finalise
#endif
};

World& world() {
  static World w;
  return w;
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

std::string local_host() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

#if SN_HAVE_MPI
void finalize_at_exit() {
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
}

MPI_Datatype mpi_type(DType d, const char* op) {
  switch (d) {
    case kFloat32:
      return MPI_FLOAT;
    case kFloat64:
      return MPI_DOUBLE;
    case kInt64:
      return MPI_INT64_T;
    default:
      break;
  }
  SN_THROW(DTypeError, op, ": tensors of dtype ", d,
           " are not supported (float32, float64, int64)");
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Max:
      return MPI_MAX;
    case ReduceOp::Min:
      return MPI_MIN;
    default:
      return MPI_SUM;
  }
}

int count_of(const Tensor& t, const char* op) {
  SN_CHECK(t.numel() <= INT_MAX, ValueError, op, ": at most ", INT_MAX,
           " elements per call (got shape ", t.shape(), ")");
  return static_cast<int>(t.numel());
}
#endif

void check_tensor(const Tensor& t, const char* op, bool mean = false) {
  SN_CHECK(t.defined(), ValueError, op, ": the tensor is undefined");
  const DType d = t.dtype();
  SN_CHECK(d == kFloat32 || d == kFloat64 || d == kInt64, DTypeError, op, ": tensors of dtype ", d,
           " are not supported (float32, float64, int64)");
  SN_CHECK(!(mean && d == kInt64), DTypeError, op, ": a mean of int64 tensors is not supported");
}

// The tensor itself when it is contiguous, else a contiguous copy (written back by finish()).
[[maybe_unused]] Tensor contiguous_work(const Tensor& t) {
  NoGradGuard ng;
  return t.is_contiguous() ? t.detach() : t.contiguous().detach();
}

void finish(const Tensor& t, const Tensor& work, ReduceOp op) {
  NoGradGuard ng;
  Tensor w = work;
  if (op == ReduceOp::Mean && world().size > 1) w.mul_(1.0 / world().size);
  if (!w.is_same(t) && !w.shares_storage(t)) t.detach().copy_(w);
  t.bump_version();
}

}  // namespace

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    World& w = world();
    w.host = local_host();
#if SN_HAVE_MPI
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && launched_by_mpi()) {
      int provided = 0;
      // Only the thread that runs the training loop calls MPI (OpenMP workers never do).
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      w.own = true;
      std::atexit(finalize_at_exit);
      inited = 1;
    }
    if (inited) {
      w.mpi = true;
      MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
      MPI_Comm_size(MPI_COMM_WORLD, &w.size);
      MPI_Comm local;
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &local);
      MPI_Comm_rank(local, &w.local_rank);
      MPI_Comm_size(local, &w.local_size);
      MPI_Comm_free(&local);
      char name[MPI_MAX_PROCESSOR_NAME] = {0};
      int len = 0;
      MPI_Get_processor_name(name, &len);
      w.host.assign(name, static_cast<size_t>(len));
    }
#else
    if (launched_by_mpi())
      std::fprintf(stderr,
                   "sinapsis: started by an MPI launcher, but built without MPI (SN_MPI off): "
                   "each process runs alone\n");
#endif
  });
}

bool mpi_built() {
#if SN_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::string backend() {
  init();
  return world().mpi ? "mpi" : "none";
}
int rank() {
  init();
  return world().rank;
}
int world_size() {
  init();
  return world().size;
}
int local_rank() {
  init();
  return world().local_rank;
}
int local_size() {
  init();
  return world().local_size;
}
std::string host_name() {
  init();
  return world().host;
}

int threads_per_rank() {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int usable = std::max(1, omp_get_num_procs());  // the CPUs this process is bound to
  return std::max(1, std::min(usable, cores / std::max(1, local_size())));
}

void all_reduce(const Tensor& t, ReduceOp op) {
  check_tensor(t, "all_reduce", op == ReduceOp::Mean);
  init();
  if (world().size == 1) return;
#if SN_HAVE_MPI
  Tensor w = contiguous_work(t);
  MPI_Allreduce(MPI_IN_PLACE, w.raw_data(), count_of(w, "all_reduce"),
                mpi_type(w.dtype(), "all_reduce"), mpi_op(op), MPI_COMM_WORLD);
  finish(t, w, op);
#endif
}

void broadcast(const Tensor& t, int root) {
  check_tensor(t, "broadcast");
  init();
  SN_CHECK(root >= 0 && root < world().size, ValueError, "broadcast: root ", root,
           " is not a rank (world size ", world().size, ")");
  if (world().size == 1) return;
#if SN_HAVE_MPI
  Tensor w = contiguous_work(t);
  MPI_Bcast(w.raw_data(), count_of(w, "broadcast"), mpi_type(w.dtype(), "broadcast"), root,
            MPI_COMM_WORLD);
  finish(t, w, ReduceOp::Sum);
#endif
}

namespace {
// y = Σ_processes x on every process  =>  dE/dx_p = Σ_q dE/dy_q: the gradient all-reduced.
class AllReduceSumBackward : public Node {
 public:
  std::string name() const override { return "AllReduceSumBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    // every process takes part, whether or not its gradient is defined (zeros then)
    Tensor g = grads[0].defined() ? grads[0].detach().contiguous().clone()
                                  : zeros(outputs[0].shape, {.dtype = outputs[0].dtype});
    all_reduce(g);
    return {g};
  }
};
}  // namespace

Tensor all_reduce_sum(const Tensor& t) {
  Tensor out;
  {
    NoGradGuard ng;
    out = t.detach().contiguous().clone();
  }
  all_reduce(out);
  if (autograd::any_requires_grad({&t}))
    autograd::connect(std::make_shared<AllReduceSumBackward>(), {&t}, {&out});
  return out;
}

Tensor all_gather(const Tensor& t) {
  check_tensor(t, "all_gather");
  init();
  Shape shape = t.shape();
  shape.insert(0, world().size);
  NoGradGuard ng;
  if (world().size == 1) return t.detach().contiguous().clone().reshape(shape);
  Tensor out = empty(shape, {.dtype = t.dtype()});
#if SN_HAVE_MPI
  Tensor w = contiguous_work(t);
  const int n = count_of(w, "all_gather");
  const MPI_Datatype type = mpi_type(w.dtype(), "all_gather");
  MPI_Allgather(w.raw_data(), n, type, out.raw_data(), n, type, MPI_COMM_WORLD);
#endif
  return out;
}

void barrier() {
  init();
#if SN_HAVE_MPI
  if (world().size > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void broadcast([[maybe_unused]] std::string& s, int root) {
  init();
  SN_CHECK(root >= 0 && root < world().size, ValueError, "broadcast: root ", root,
           " is not a rank (world size ", world().size, ")");
  if (world().size == 1) return;
#if SN_HAVE_MPI
  int64_t n = static_cast<int64_t>(s.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
  SN_CHECK(n <= INT_MAX, ValueError, "broadcast: a string of ", n, " bytes is too long");
  s.resize(static_cast<size_t>(n));
  MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD);
#endif
}

std::vector<std::string> all_gather(const std::string& s) {
  init();
  if (world().size == 1) return {s};
  std::vector<std::string> out(static_cast<size_t>(world().size));
#if SN_HAVE_MPI
  SN_CHECK(s.size() <= INT_MAX, ValueError, "all_gather: a string of ", s.size(),
           " bytes is too long");
  int n = static_cast<int>(s.size());
  std::vector<int> lens(out.size()), offs(out.size());
  MPI_Allgather(&n, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    offs[i] = static_cast<int>(total);
    total += lens[i];
  }
  SN_CHECK(total <= INT_MAX, ValueError, "all_gather: ", total, " bytes in all is too long");
  std::string buf(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(s.data(), n, MPI_CHAR, buf.data(), lens.data(), offs.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = buf.substr(static_cast<size_t>(offs[i]), static_cast<size_t>(lens[i]));
#endif
  return out;
}

double all_reduce(double v, ReduceOp op) {
  Tensor t = tensor(v, {.dtype = kFloat64});
  all_reduce(t, op);
  return t.item();
}

int64_t all_reduce(int64_t v, ReduceOp op) {
  SN_CHECK(op != ReduceOp::Mean, DTypeError, "all_reduce: a mean of int64 values is not supported");
  Tensor t = tensor(std::vector<int64_t>{v}, {1});
  all_reduce(t, op);
  return t.data_ptr<int64_t>()[0];
}

// ---------------------------------------------------------------- Work

struct Work::Impl {
  Tensor target;  // what the caller passed
  Tensor work;    // contiguous buffer MPI writes into (target itself when contiguous)
  ReduceOp op = ReduceOp::Sum;
  bool done = false;
#if SN_HAVE_MPI
  MPI_Request req = MPI_REQUEST_NULL;
#endif
};

Work::Work() = default;
Work::~Work() {
  if (impl_ && !impl_->done) {
    try {
      wait();
    } catch (...) {  // a destructor must not throw; the MPI error handler aborts anyway
    }
  }
}
Work::Work(Work&&) noexcept = default;
Work& Work::operator=(Work&& o) noexcept {
  if (this != &o) {
    if (impl_ && !impl_->done) {
      try {
        wait();
      } catch (...) {
      }
    }
    impl_ = std::move(o.impl_);
  }
  return *this;
}

bool Work::test() {
  if (!impl_ || impl_->done) return true;
#if SN_HAVE_MPI
  int flag = 0;
  MPI_Test(&impl_->req, &flag, MPI_STATUS_IGNORE);
  if (!flag) return false;
  impl_->done = true;
  finish(impl_->target, impl_->work, impl_->op);
#endif
  return true;
}

void Work::wait() {
  if (!impl_ || impl_->done) return;
#if SN_HAVE_MPI
  MPI_Wait(&impl_->req, MPI_STATUS_IGNORE);
#endif
  impl_->done = true;
  finish(impl_->target, impl_->work, impl_->op);
}

Work all_reduce_async(const Tensor& t, ReduceOp op) {
  check_tensor(t, "all_reduce_async", op == ReduceOp::Mean);
  init();
  Work w;
  w.impl_ = std::make_unique<Work::Impl>();
  w.impl_->target = t;
  w.impl_->op = op;
  if (world().size == 1) {
    w.impl_->done = true;
    return w;
  }
#if SN_HAVE_MPI
  w.impl_->work = contiguous_work(t);
  MPI_Iallreduce(
      MPI_IN_PLACE, w.impl_->work.raw_data(), count_of(w.impl_->work, "all_reduce_async"),
      mpi_type(t.dtype(), "all_reduce_async"), mpi_op(op), MPI_COMM_WORLD, &w.impl_->req);
#endif
  return w;
}

void abort(int code) {
  init();
#if SN_HAVE_MPI
  if (world().mpi) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#endif
  std::exit(code);
}

}  // namespace sn::distributed
