// DistributedDataParallel: the start-up broadcast and model check, the bucket layout, and the
// per-backward reducer driven by grad-ready hooks. Buckets start their all-reduce strictly in
// index order, so every rank issues the same collectives in the same order whatever order its
// gradients arrive in. It holds no math of its own: a bucket is a flat copy of its gradients.
#include "sinapsis/distributed/ddp.h"

#include <sstream>

#include "sinapsis/autograd/hooks.h"
#include "sinapsis/autograd/node.h"

namespace sn::distributed {

namespace {

std::string signature(const nn::Module& model) {
  std::ostringstream os;
  for (const auto& [name, p] : model.named_parameters())
    os << "parameter '" << name << "' " << p.shape() << " " << p.dtype() << "\n";
  for (const auto& [name, b] : model.named_buffers())
    os << "buffer '" << name << "' " << b.shape() << " " << b.dtype() << "\n";
  return os.str();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

}  // namespace

void check_same_model(const nn::Module& model, const char* op) {
  const std::vector<std::string> all = all_gather(signature(model));
  std::ostringstream err;
  int bad = 0;
  const std::vector<std::string> ref = lines(all[0]);
  for (size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    if (bad++ > 0) continue;  // describe the first rank that differs
    const std::vector<std::string> mine = lines(all[r]);
    err << "rank " << r << " has " << mine.size() << " parameters and buffers, rank 0 has "
        << ref.size();
    for (size_t i = 0; i < std::max(ref.size(), mine.size()); ++i) {
      const std::string a = i < ref.size() ? ref[i] : "nothing";
      const std::string b = i < mine.size() ? mine[i] : "nothing";
      if (a != b) {
        err << "; first difference: rank 0 " << a << ", rank " << r << " " << b;
        break;
      }
    }
  }
  SN_CHECK(bad == 0, ValueError, op, ": the model differs across ranks (", bad, " of ",
           all.size() - 1, " ranks differ from rank 0): ", err.str(),
           "; hint: every rank must build the same model");
}

struct DistributedDataParallel::State {
  struct Param {
    Tensor p;
    std::string name;
    size_t bucket = 0;
    int64_t offset = 0;
    bool ready = false;
  };
  struct Bucket {
    std::vector<size_t> params;
    Tensor flat;
    int64_t numel = 0;
    size_t pending = 0;
    bool launched = false;
    Work work;
  };
  DDPOptions opts;
  std::vector<Param> params;
  std::vector<Bucket> buckets;
  std::vector<int64_t> hooks;
  std::vector<Tensor> buffers;
  int no_sync = 0;
  bool in_pass = false;
  size_t next_launch = 0;
  int64_t passes = 0;

  void launch(Bucket& b) {
    b.launched = true;
    b.work = all_reduce_async(b.flat, ReduceOp::Mean);
  }

  // Starts every bucket that is complete and next in line.
  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0)
      launch(buckets[next_launch++]);
  }

  void copy_in(Param& q) {
    Bucket& b = buckets[q.bucket];
    Tensor slot = b.flat.narrow(0, q.offset, q.p.numel()).view(q.p.shape());
    const Tensor g = q.p.grad();
    if (g.defined())
      slot.copy_(g);
    else
      slot.zero_();  // a parameter this rank did not use contributes nothing
  }

  void on_grad_ready(size_t i) {
    if (no_sync > 0) return;
    NoGradGuard ng;
    if (!in_pass) {
      in_pass = true;
      next_launch = 0;
      for (Param& q : params) q.ready = false;
      for (Bucket& b : buckets) {
        b.pending = b.params.size();
        b.launched = false;
      }
      autograd::queue_callback([this] { finish_pass(); });
    }
    Param& q = params[i];
    if (q.ready) return;
    q.ready = true;
    copy_in(q);
    --buckets[q.bucket].pending;
    launch_ready();
    // MPI moves a non-blocking collective forward only inside MPI calls: poke the ones in flight
    for (size_t k = 0; k < next_launch; ++k) buckets[k].work.test();
  }

  void finish_pass() {
    NoGradGuard ng;
    // parameters backward did not reach: their current gradient (or zero) goes in as it is
    for (Param& q : params)
      if (!q.ready) {
        q.ready = true;
        copy_in(q);
        --buckets[q.bucket].pending;
      }
    launch_ready();
    for (Bucket& b : buckets) {
      b.work.wait();
      for (size_t i : b.params) {
        Param& q = params[i];
        Tensor avg = b.flat.narrow(0, q.offset, q.p.numel()).view(q.p.shape());
        Tensor g = q.p.grad();
        if (g.defined())
          q.p.grad_ref().copy_(avg);
        else
          q.p.set_grad(avg.clone());
      }
    }
    for (const Tensor& buf : buffers) broadcast(buf, 0);
    in_pass = false;
    ++passes;
  }
};

DistributedDataParallel::DistributedDataParallel(nn::Module& model, DDPOptions options)
    : model_(model), s_(std::make_unique<State>()) {
  SN_CHECK(options.bucket_cap_mb > 0 && options.first_bucket_cap_mb > 0, ValueError,
           "DistributedDataParallel: bucket sizes must be > 0 MiB (got ", options.bucket_cap_mb,
           " and ", options.first_bucket_cap_mb, ")");
  s_->opts = options;
  init();
  if (world_size() == 1) return;
  check_same_model(model, "DistributedDataParallel");
  {
    NoGradGuard ng;
    for (const Tensor& p : model.parameters()) broadcast(p, 0);
    for (const Tensor& b : model.buffers()) broadcast(b, 0);
  }
  if (options.broadcast_buffers)
    for (const auto& [name, b] : model.named_buffers())
      if (b.is_floating_point() || b.dtype() == kInt64) s_->buffers.push_back(b);

  // buckets over the trainable parameters, last registered first
  std::vector<std::pair<std::string, Tensor>> named;
  for (auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) named.emplace_back(name, p);
  const double mib = 1024.0 * 1024.0;
  for (auto it = named.rbegin(); it != named.rend(); ++it) {
    const Tensor& p = it->second;
    bool fresh = s_->buckets.empty();
    if (!fresh) {
      State::Bucket& last = s_->buckets.back();
      const DType dt = s_->params[last.params.front()].p.dtype();
      const double limit =
          (s_->buckets.size() == 1 ? options.first_bucket_cap_mb : options.bucket_cap_mb) * mib;
      const double bytes = static_cast<double>(last.numel) * itemsize(dt);
      fresh = dt != p.dtype() || bytes + static_cast<double>(p.nbytes()) > limit;
    }
    if (fresh) s_->buckets.emplace_back();
    State::Bucket& b = s_->buckets.back();
    State::Param q;
    q.p = p;
    q.name = it->first;
    q.bucket = s_->buckets.size() - 1;
    q.offset = b.numel;
    b.numel += p.numel();
    b.params.push_back(s_->params.size());
    s_->params.push_back(std::move(q));
  }
  for (State::Bucket& b : s_->buckets)
    b.flat = zeros({b.numel}, {.dtype = s_->params[b.params.front()].p.dtype()});
  for (size_t i = 0; i < s_->params.size(); ++i) {
    State* st = s_.get();
    s_->hooks.push_back(autograd::add_grad_ready_hook(
        s_->params[i].p, [st, i](const Tensor&) { st->on_grad_ready(i); }));
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  for (int64_t id : s_->hooks) autograd::remove_grad_ready_hook(id);
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) {
  ++ddp_.s_->no_sync;
}
DistributedDataParallel::NoSync::~NoSync() { --ddp_.s_->no_sync; }

std::vector<DistributedDataParallel::BucketInfo> DistributedDataParallel::buckets() const {
  std::vector<BucketInfo> out;
  for (const State::Bucket& b : s_->buckets) {
    BucketInfo info;
    info.numel = b.numel;
    info.dtype = b.flat.dtype();
    for (size_t i : b.params) info.parameters.push_back(s_->params[i].name);
    out.push_back(std::move(info));
  }
  return out;
}

int64_t DistributedDataParallel::synchronized_passes() const { return s_->passes; }

}  // namespace sn::distributed
