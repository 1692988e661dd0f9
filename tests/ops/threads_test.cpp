// One thread and two threads give the same numbers: elementwise maps, reductions (full and
// along dims, including the blocked full sum), softmax, index ops and backward passes on sizes
// above the parallel grain. GEMM goes through OpenBLAS and is compared to float32 rounding instead.
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

// Runs fn with n threads, restoring the previous setting.
std::vector<Tensor> with_threads(int n, const std::function<std::vector<Tensor>()>& fn) {
  const int before = get_num_threads();
  set_num_threads(n);
  std::vector<Tensor> out = fn();
  set_num_threads(before);
  return out;
}

void expect_same(const std::function<std::vector<Tensor>()>& fn, double rtol = 0.0,
                 double atol = 0.0) {
  const std::vector<Tensor> one = with_threads(1, fn), two = with_threads(2, fn);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].shape(), two[i].shape()) << "result " << i;
    if (rtol == 0.0)
      EXPECT_TRUE(equal(one[i], two[i])) << "result " << i << " differs between 1 and 2 threads";
    else
      EXPECT_TRUE(allclose(one[i], two[i], rtol, atol))
          << "result " << i << ": max |1 thread - 2 threads| " << max(abs(one[i] - two[i])).item();
  }
}

// Inputs big enough to go parallel (the grain is 32768 elements), made once.
struct Inputs {
  Tensor a, b, v, idx, gi;
  Inputs() {
    manual_seed(3);
    a = randn({300, 400});  // 120,000 elements
    b = randn({300, 400});
    v = randn({400}, {.dtype = kFloat64});
    idx = randint(0, 300, {500});
    gi = randint(0, 400, {300, 400});
  }
};
const Inputs& in() {
  static const Inputs i;
  return i;
}

TEST(Threads, ElementwiseAndBroadcast) {
  expect_same([] {
    const Inputs& x = in();
    return std::vector<Tensor>{x.a + x.b,
                               x.a * x.v.to(kFloat32),
                               exp(x.a),
                               gelu(x.a),
                               sigmoid(x.a.t()),
                               where(x.a > 0.0, x.a, x.b),
                               x.a.t().contiguous(),
                               pow(abs(x.a), 1.5)};
  });
}

TEST(Threads, Reductions) {
  expect_same([] {
    const Inputs& x = in();
    Tensor big = x.a.to(kFloat64);
    return std::vector<Tensor>{sum(x.a),        sum(big),
                               mean(x.a),       sum(x.a, {0}),
                               sum(x.a, {1}),   sum(x.a.t(), {1}),
                               amax(x.a, {0}),  max(x.a, 1).first,
                               var(x.a, {1}),   logsumexp(x.a, {1}),
                               softmax(x.a, 1), log_softmax(x.a, 0),
                               argmax(x.a, 1)};
  });
}

TEST(Threads, IndexOps) {
  expect_same([] {
    const Inputs& x = in();
    return std::vector<Tensor>{index_select(x.a, 0, x.idx), gather(x.a, 1, x.gi),
                               scatter_add(zeros({300, 400}), 1, x.gi, x.b), cat({x.a, x.b}, 1)};
  });
}

TEST(Threads, Backward) {
  expect_same([] {
    const Inputs& x = in();
    Tensor a = x.a.clone().requires_grad_(), b = x.b.clone().requires_grad_();
    Tensor loss = (softmax(a * b, 1) * tanh(b)).sum() + sum(a, {0}).pow(2.0).mean();
    loss.backward();
    return std::vector<Tensor>{loss, a.grad(), b.grad()};
  });
}

TEST(Threads, Gemm) {
  expect_same(
      [] {
        const Inputs& x = in();
        Tensor w = x.b.slice(0, 0, 200);  // [200, 400]
        return std::vector<Tensor>{matmul(x.a, w.t()), linear(x.a, w), matmul(x.a.t(), x.b)};
      },
      // OpenBLAS may split k differently per thread count (it does on AMD Zen 3): float32 sums of
      // 300-400 products (results up to ~80) then differ by a few ulps of the result's scale
      // (4e-5 seen), which is not a relative 1e-6 near zero.
      1e-5, 2e-4);
}

}  // namespace
}  // namespace sn

namespace sn {
namespace {

TEST(Threads, LimitGuardCapsThisThreadOnly) {
  const int before = get_num_threads();
  set_num_threads(4);
  {
    ThreadLimitGuard cap(2);
    EXPECT_EQ(get_num_threads(), 2);
    {
      ThreadLimitGuard looser(3);  // nesting never loosens the cap
      EXPECT_EQ(get_num_threads(), 2);
      ThreadLimitGuard tighter(1);
      EXPECT_EQ(get_num_threads(), 1);
    }
    EXPECT_EQ(get_num_threads(), 2);
    int other = 0;
    std::thread t([&] { other = get_num_threads(); });
    t.join();
    EXPECT_EQ(other, 4);  // other threads are not capped
    // Work under the cap gives the same numbers as without it.
    manual_seed(5);
    Tensor a = randn({300, 400});
    Tensor capped = sum(a * 2.0 + 1.0, {1});
    ThreadLimitGuard one(1);
    EXPECT_TRUE(equal(capped, sum(a * 2.0 + 1.0, {1})));
  }
  EXPECT_EQ(get_num_threads(), 4);
  EXPECT_THROW(ThreadLimitGuard(0), ValueError);
  set_num_threads(before);
}

}  // namespace
}  // namespace sn
