// DataLoader epochs: batch order, and the prefetch thread with its bounded queue. The thread
// never lets an exception escape (it travels through the queue to the loop's thread) and is
// always stopped and joined by the epoch's destructor, however the loop ends.
#include "sinapsis/data/loader.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "sinapsis/autograd/node.h"

namespace sn::data {

namespace {

// splitmix64: turns (seed, epoch) into well-spread generator seeds, so epoch 1 of seed 7 is
// not epoch 0 of seed 8.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Slot {
  Example batch;
  std::exception_ptr error;
};

}  // namespace

struct DataLoader::Epoch {
  DatasetPtr ds;
  std::vector<int64_t> order;
  int64_t batch_size = 1;
  int64_t num_batches = 0;
  int64_t pos = 0;  // batches handed out so far
  bool done = false;
  Example current;

  // Prefetching (prefetch > 0): the worker fills `queue` with batches pos, pos+1, ...
  size_t prefetch = 0;
  std::thread worker;
  std::mutex mu;
  std::condition_variable ready, space;
  std::deque<Slot> queue;
  std::atomic<bool> stop{false};

  ~Epoch() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    space.notify_all();
    if (worker.joinable()) worker.join();
  }

  Example load(int64_t b) const {
    const int64_t start = b * batch_size;
    const int64_t end = std::min<int64_t>(start + batch_size, static_cast<int64_t>(order.size()));
    return ds->get_batch(std::vector<int64_t>(order.begin() + start, order.begin() + end));
  }

  void run() {
    // Grad mode is per thread: batches are data, never part of a graph. Transforms run on this
    // thread alone: a second OpenMP team would fight the training step for the same cores.
    NoGradGuard no_grad;
    ThreadLimitGuard one_thread(1);
    for (int64_t b = 0; b < num_batches && !stop; ++b) {
      Slot s;
      try {
        s.batch = load(b);
      } catch (...) {
        s.error = std::current_exception();
      }
      const bool failed = static_cast<bool>(s.error);
      {
        std::unique_lock<std::mutex> lk(mu);
        space.wait(lk, [&] { return stop || queue.size() < prefetch; });
        if (stop) return;
        queue.push_back(std::move(s));
      }
      ready.notify_one();
      if (failed) return;
    }
  }

  void start() {
    if (prefetch > 0 && num_batches > 0) worker = std::thread([this] { run(); });
  }

  // Makes the next batch current, or marks the epoch done.
  void advance() {
    current = Example();
    if (pos >= num_batches) {
      done = true;
      return;
    }
    if (prefetch == 0) {
      NoGradGuard no_grad;
      try {
        current = load(pos);
      } catch (...) {
        done = true;
        throw;
      }
    } else {
      Slot s;
      {
        std::unique_lock<std::mutex> lk(mu);
        ready.wait(lk, [&] { return !queue.empty(); });
        s = std::move(queue.front());
        queue.pop_front();
      }
      space.notify_one();
      if (s.error) {
        done = true;
        std::rethrow_exception(s.error);
      }
      current = std::move(s.batch);
    }
    ++pos;
  }
};

// ---------------------------------------------------------------- Iterator

DataLoader::Iterator::Iterator(std::unique_ptr<Epoch> epoch) : epoch_(std::move(epoch)) {
  // If the first batch throws, epoch_ is destroyed with this half-built iterator, which
  // stops the worker.
  epoch_->start();
  epoch_->advance();
}
DataLoader::Iterator::Iterator(Iterator&&) noexcept = default;
DataLoader::Iterator& DataLoader::Iterator::operator=(Iterator&&) noexcept = default;
DataLoader::Iterator::~Iterator() = default;

Example& DataLoader::Iterator::operator*() const {
  SN_CHECK(epoch_ && !epoch_->done, ValueError,
           "DataLoader: dereferencing an iterator past the "
           "last batch");
  return epoch_->current;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  SN_CHECK(epoch_ && !epoch_->done, ValueError,
           "DataLoader: advancing an iterator past the "
           "last batch");
  epoch_->advance();
  return *this;
}

bool DataLoader::Iterator::operator==(Sentinel) const { return !epoch_ || epoch_->done; }

int64_t DataLoader::Iterator::index() const { return epoch_ ? epoch_->pos - 1 : -1; }

// ---------------------------------------------------------------- DataLoader

DataLoader::DataLoader(DatasetPtr dataset, LoaderOptions opts)
    : dataset_(std::move(dataset)), opts_(opts) {
  SN_CHECK(dataset_, ValueError, "DataLoader: the dataset is null");
  SN_CHECK(opts_.batch_size >= 1, ValueError, "DataLoader: batch_size must be at least 1 (got ",
           opts_.batch_size, ")");
  SN_CHECK(opts_.prefetch >= 0, ValueError, "DataLoader: prefetch must be >= 0 (got ",
           opts_.prefetch, ")");
  SN_CHECK(opts_.num_shards >= 1 && opts_.shard >= 0 && opts_.shard < opts_.num_shards, ValueError,
           "DataLoader: shard ", opts_.shard, " of ", opts_.num_shards,
           " does not exist; hint: need 0 <= shard < num_shards");
  SN_CHECK(!(opts_.num_shards > 1 && opts_.shuffle && !opts_.seed), ValueError,
           "DataLoader: a shuffled loader split into ", opts_.num_shards,
           " shards needs a seed, the same on every rank (else the shards overlap)");
}

int64_t DataLoader::examples() const {
  const int64_t n = dataset_->size();
  return (n + opts_.num_shards - 1) / opts_.num_shards;
}

int64_t DataLoader::size() const {
  const int64_t n = examples();
  return opts_.drop_last ? n / opts_.batch_size : (n + opts_.batch_size - 1) / opts_.batch_size;
}

DataLoader::Iterator DataLoader::begin() {
  auto e = std::make_unique<Epoch>();
  e->ds = dataset_;
  e->batch_size = opts_.batch_size;
  e->num_batches = size();
  e->prefetch = static_cast<size_t>(opts_.prefetch);
  const int64_t n = dataset_->size();
  if (opts_.shuffle) {
    e->order = opts_.seed ? permutation(n, mix(*opts_.seed ^ mix(static_cast<uint64_t>(epoch_))))
                          : permutation(n);
  } else {
    e->order.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) e->order[static_cast<size_t>(i)] = i;
  }
  if (opts_.num_shards > 1 && n > 0) {
    // pad by wrapping around to a multiple of num_shards, then take every num_shards-th
    const int64_t per = examples();
    std::vector<int64_t> mine(static_cast<size_t>(per));
    for (int64_t k = 0; k < per; ++k)
      mine[static_cast<size_t>(k)] =
          e->order[static_cast<size_t>((k * opts_.num_shards + opts_.shard) % n)];
    e->order = std::move(mine);
  }
  ++epoch_;
  return Iterator(std::move(e));
}

}  // namespace sn::data
