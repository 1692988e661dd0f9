// Factories (tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, randperm,
// *_like), the global generator (manual_seed determinism, saved/restored state) and the
// thread knob. Values are compared with what PyTorch gives for the same call where it is
// deterministic.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

TEST(Factories, ConstantFills) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.dtype(), kFloat32);
  EXPECT_EQ(z.to_vector(), std::vector<double>(6, 0.0));
  EXPECT_EQ(ones({4}, {.dtype = kInt64}).to_vector(), std::vector<double>(4, 1.0));
  EXPECT_EQ(full({2, 2}, -2.5, {.dtype = kFloat64}).to_vector(), std::vector<double>(4, -2.5));
  EXPECT_EQ(full({3}, 1, {.dtype = kBool}).to_vector(), std::vector<double>(3, 1.0));
  EXPECT_EQ(empty({0, 4}).numel(), 0);
  EXPECT_EQ(zeros({}).dim(), 0);
  EXPECT_TRUE(ones({2}, {.requires_grad = true}).requires_grad());
  EXPECT_THROW(zeros({2, -1}), ShapeError);
  EXPECT_THROW(zeros({int64_t{1} << 40, int64_t{1} << 40}), ShapeError);
}

TEST(Factories, FromValues) {
  Tensor s = tensor(3.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item(), 3.5);
  Tensor v = tensor({1, 2, 3}, {.dtype = kFloat64});
  EXPECT_EQ(v.shape(), (Shape{3}));
  EXPECT_EQ(v.dtype(), kFloat64);
  Tensor m = tensor({{1, 2}, {3, 4}, {5, 6}});
  EXPECT_EQ(m.shape(), (Shape{3, 2}));
  EXPECT_EQ(m.at({2, 1}), 6);
}

TEST(Factories, ArangeMatchesPyTorch) {
  EXPECT_EQ(arange(5.0).to_vector(), (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(1, 2, 0.25, {.dtype = kFloat64}).to_vector(),
            (std::vector<double>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(arange(5, 0, -2).to_vector(), (std::vector<double>{5, 3, 1}));
  EXPECT_EQ(arange(0, 1, 0.3).numel(), 4);  // torch.arange(0, 1, 0.3) has 4 elements
  EXPECT_EQ(arange(3.0, {.dtype = kInt64}).dtype(), kInt64);
  EXPECT_EQ(arange(2, 2).numel(), 0);
  EXPECT_THROW(arange(0, 1, 0), ValueError);
  EXPECT_THROW(arange(0, 5, -1), ValueError);
}

TEST(Factories, LinspaceMatchesPyTorch) {
  Tensor l = linspace(-1, 1, 5, {.dtype = kFloat64});
  EXPECT_EQ(l.to_vector(), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  // torch.linspace(0, 1, 7, dtype=torch.float64): both ends exact
  Tensor k = linspace(0, 1, 7, {.dtype = kFloat64});
  EXPECT_EQ(k.at({0}), 0.0);
  EXPECT_EQ(k.at({6}), 1.0);
  EXPECT_NEAR(k.at({3}), 0.5, 1e-15);
  EXPECT_EQ(linspace(2, 3, 1).to_vector(), (std::vector<double>{2}));
  EXPECT_EQ(linspace(2, 3, 0).numel(), 0);
  EXPECT_THROW(linspace(0, 1, -1), ValueError);
}

TEST(Factories, Eye) {
  EXPECT_EQ(eye(3).to_vector(), (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  Tensor r = eye(2, 3, {.dtype = kInt64});
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(r.dtype(), kInt64);
  EXPECT_EQ(r.to_vector(), (std::vector<double>{1, 0, 0, 0, 1, 0}));
}

TEST(Factories, Likes) {
  Tensor a = arange(6.0, {.dtype = kFloat64}).reshape({2, 3});
  for (Tensor t :
       {zeros_like(a), ones_like(a), full_like(a, 2), empty_like(a), rand_like(a), randn_like(a)}) {
    EXPECT_EQ(t.shape(), a.shape());
    EXPECT_EQ(t.dtype(), kFloat64);
    EXPECT_FALSE(t.shares_storage(a));
  }
  EXPECT_EQ(zeros_like(a).sum().item(), 0);
  EXPECT_EQ(ones_like(a).sum().item(), 6);
  EXPECT_EQ(full_like(a, 2).sum().item(), 12);
  EXPECT_EQ(zeros_like(a, {.dtype = kInt64}).dtype(), kInt64);
  EXPECT_EQ(ones_like(a, {.dtype = kBool}).dtype(), kBool);
}

TEST(Random, RangesAndMoments) {
  manual_seed(1);
  Tensor u = rand({20000});
  EXPECT_GE(amin(u, {}).item(), 0.0);
  EXPECT_LT(amax(u, {}).item(), 1.0);
  EXPECT_NEAR(u.mean().item(), 0.5, 0.01);
  Tensor n = randn({20000}, {.dtype = kFloat64});
  EXPECT_NEAR(n.mean().item(), 0.0, 0.03);
  EXPECT_NEAR(sn::std(n).item(), 1.0, 0.03);
  Tensor i = randint(-3, 4, {5000});
  EXPECT_EQ(i.dtype(), kInt64);
  EXPECT_EQ(amin(i, {}).item(), -3);
  EXPECT_EQ(amax(i, {}).item(), 3);
  Tensor p = randperm(50);
  std::vector<int64_t> pv = p.to_vector_as<int64_t>();
  EXPECT_EQ(std::set<int64_t>(pv.begin(), pv.end()).size(), 50u);
  EXPECT_THROW(randint(3, 3, {2}), ValueError);
  EXPECT_THROW(rand({2}, {.dtype = kInt64}), DTypeError);
}

TEST(Random, ManualSeedIsDeterministic) {
  auto draw = [] {
    std::vector<double> all;
    for (Tensor t : {rand({7}), randn({3, 3}), randint(0, 100, {5}).to(kFloat64),
                     randperm(6).to(kFloat64), randn({2}, {.dtype = kFloat64})}) {
      std::vector<double> v = t.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  manual_seed(42);
  const std::vector<double> a = draw();
  manual_seed(42);
  const std::vector<double> b = draw();
  manual_seed(43);
  const std::vector<double> c = draw();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Random, StateRoundTrips) {
  manual_seed(7);
  randn({3});  // leaves a spare normal behind
  const std::string state = rng_state();
  const std::vector<double> a = randn({5}).to_vector();
  set_rng_state(state);
  const std::vector<double> b = randn({5}).to_vector();
  EXPECT_EQ(a, b);
  EXPECT_THROW(set_rng_state("not a state"), ValueError);
}

TEST(Threads, Knob) {
  const int before = get_num_threads();
  EXPECT_GE(before, 1);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(before);
  EXPECT_EQ(get_num_threads(), before);
  EXPECT_THROW(set_num_threads(0), ValueError);
}

}  // namespace
}  // namespace sn
