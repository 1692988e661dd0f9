// Containers: Sequential (positional, named, indexing, append, typed access), Residual and
// Parallel (values, gradients, shape errors).
#include <gtest/gtest.h>

#include "sinapsis/nn/nn.h"
#include "sinapsis/ops/ops.h"
#include "test_util.h"

namespace {

using namespace sn;

using sn::test::error_of;

TEST(Sequential, PositionalNamedAndIndexing) {
  manual_seed(1);
  auto seq = nn::Sequential({nn::Linear(4, 6), nn::ReLU(), nn::Linear(6, 2)});
  EXPECT_EQ(seq.size(), 3u);
  Tensor x = randn({5, 4});
  Tensor manual = seq[2](seq[1](seq[0](x)));
  EXPECT_TRUE(equal(seq(x), manual));
  EXPECT_EQ(seq[-1].type_name(), "Linear");
  EXPECT_EQ(seq.at<nn::Linear>(-1).in_features(), 6);
  EXPECT_EQ(error_of([&] { seq.at<nn::Linear>(1); }).substr(0, 44),
            "Sequential: module 1 is ReLU, not the reques");
  EXPECT_EQ(error_of([&] { seq[3]; }), "Sequential: index 3 is out of range for 3 modules");
  EXPECT_THROW(seq[-4], IndexError);

  seq.append(nn::Sigmoid());
  EXPECT_EQ(seq.named_children().back().first, "3");
  const auto y = seq(x).to_vector();
  for (double v : y) EXPECT_TRUE(v > 0 && v < 1);

  auto named = nn::Sequential({{"fc", nn::Linear(4, 2)}, {"act", nn::Tanh()}});
  EXPECT_EQ(named["act"].type_name(), "Tanh");
  EXPECT_EQ(named.named_parameters()[0].first, "fc.weight");
  named.append("out", nn::Identity());
  EXPECT_THROW(named["nope"], IndexError);
  EXPECT_THROW(named.append("fc", nn::ReLU()), ValueError);  // duplicate name

  // a named lvalue is moved in; an empty Sequential is the identity
  nn::Linear fc(4, 4);
  auto moved = nn::Sequential({std::move(fc)});
  EXPECT_EQ(moved.parameters().size(), 2u);
  nn::Sequential empty_seq;
  EXPECT_TRUE(empty_seq(x).is_same(x));
  // built from a vector
  std::vector<nn::ModulePtr> layers{nn::Linear(4, 3), nn::ReLU()};
  EXPECT_EQ(nn::Sequential(layers)(x).shape(), Shape({5, 3}));
}

TEST(Residual, AddsTheSkipPath) {
  manual_seed(2);
  auto body = std::make_shared<nn::Sequential>(
      nn::Sequential({nn::Linear(3, 3), nn::Tanh(), nn::Linear(3, 3)}));
  nn::Residual res(body);
  Tensor x = randn({4, 3}, {.requires_grad = true});
  EXPECT_TRUE(allclose(res(x), add((*body)(x), x)));
  EXPECT_EQ(res.named_parameters()[0].first, "body.0.weight");
  // the skip path passes the gradient straight through: zero the body and dx = 1
  for (Tensor p : res.parameters()) nn::init::zeros_(p);
  res(x).sum().backward();
  EXPECT_TRUE(allclose(x.grad(), ones({4, 3})));

  nn::Residual proj(nn::Linear(3, 5), nn::Linear(3, 5, {.bias = false}));
  EXPECT_EQ(proj(randn({2, 3})).shape(), Shape({2, 5}));
  EXPECT_EQ(proj.named_parameters().back().first, "shortcut.weight");
  nn::Residual bad(nn::Linear(3, 5));
  EXPECT_EQ(error_of([&] {
              bad(zeros({2, 3}));
            }),
            "Residual: the body's output [2, 5] does not match the input [2, 3]; hint: give "
            "Residual a shortcut module that projects the input");
}

TEST(Parallel, ConcatenatesBranches) {
  manual_seed(3);
  nn::Parallel par({nn::Linear(4, 2), nn::Linear(4, 3), nn::Identity()});
  Tensor x = randn({5, 4});
  Tensor y = par(x);
  EXPECT_EQ(y.shape(), Shape({5, 9}));
  EXPECT_TRUE(equal(y.narrow(1, 2, 3), par.named_children()[1].second->forward(x)));
  EXPECT_TRUE(equal(y.narrow(1, 5, 4), x));
  // along dim 0
  nn::Parallel rows({nn::Identity(), nn::Identity()}, 0);
  EXPECT_EQ(rows(x).shape(), Shape({10, 4}));
  auto named = nn::Sequential({{"inception", nn::Parallel({nn::Linear(4, 2), nn::Linear(4, 2)})}});
  EXPECT_EQ(named.named_parameters()[2].first, "inception.1.weight");
  nn::Parallel bad({nn::Linear(4, 2), nn::Flatten(0)});
  EXPECT_NE(error_of([&] { bad(x); }).find("Parallel: branch 1 output [20] cannot be concatenated"),
            std::string::npos);
}

}  // namespace
