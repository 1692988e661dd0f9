// Model specs (nn/spec.h) and the conv layers they build (nn/conv.h): presets, shape inference,
// errors that name the layer, and the blocks' shapes and train/eval behaviour.
#include <gtest/gtest.h>

#include <cmath>

#include <sinapsis/sinapsis.h>

#include "test_util.h"

namespace nn = sn::nn;

namespace {

using sn::test::error_of;

TEST(Spec, PresetsBuildWithTheReferenceShapes) {
  auto mlp = nn::build_model(nn::preset_spec("mlp", sn::Shape{1, 28, 28}, 10));
  EXPECT_EQ(mlp.module->num_parameters(), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
  EXPECT_EQ(mlp.output_shape, (sn::Shape{10}));

  auto lenet = nn::build_model(nn::preset_spec("lenet", sn::Shape{1, 28, 28}, 10));
  // conv1 6·1·25+6, conv2 16·6·25+16, fc 400·120+120, 120·84+84, 84·10+10
  EXPECT_EQ(lenet.module->num_parameters(), 156 + 2416 + 48120 + 10164 + 850);
  sn::manual_seed(0);
  sn::Tensor y = (*lenet.module)(sn::randn({4, 1, 28, 28}));
  EXPECT_EQ(y.shape(), (sn::Shape{4, 10}));

  auto res = nn::build_model(nn::preset_spec("resnet", sn::Shape{1, 28, 28}, 10));
  EXPECT_EQ(res.output_shape, (sn::Shape{10}));
  // the normalised spec (sizes filled in) rebuilds the same model
  auto again = nn::build_model(res.spec);
  EXPECT_EQ(again.module->num_parameters(), res.module->num_parameters());
  EXPECT_EQ(again.module->state_dict().keys(), res.module->state_dict().keys());
}

TEST(Spec, ErrorsNameTheLayerAndShapes) {
  EXPECT_EQ(
      error_of([] {
        nn::build_model(R"({"input": [1, 28, 28], "layers": [
                {"type": "Conv2d", "out": 6, "kernel": 5},
                {"type": "Linear", "in": 400, "out": 120}]})");
      }),
      "layer 1 Linear(400 → 120) gets [N, 6, 24, 24]: expected [N, 400]; hint: did you forget "
      "Flatten?");
  const std::string e = error_of([] {
    nn::build_model(
        R"({"input": [3, 8, 8], "layers": [{"type": "Conv2d", "out": 4, "kernel": 9}]})");
  });
  EXPECT_NE(e.find("layer 0 Conv2d(3 → 4, 9×9) gets [N, 3, 8, 8]"), std::string::npos) << e;
  EXPECT_NE(error_of([] {
              nn::build_model(R"({"input": [2], "layers": [{"type": "Dense"}]})");
            }).find("unknown type \"Dense\""),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::build_model("{not json"); }).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::preset_spec("vgg", sn::Shape{1}, 2); }).find("unknown model \"vgg\""),
            std::string::npos);
}

TEST(Spec, ResidualAndParallelBlocks) {
  auto m = nn::build_model(R"({"input": [8], "layers": [
      {"type": "Residual", "body": [{"type": "Linear", "out": 8}, {"type": "Tanh"}]},
      {"type": "Parallel", "dim": 1, "branches": [[{"type": "Linear", "out": 3}],
                                                  [{"type": "Linear", "out": 5}]]}]})");
  EXPECT_EQ(m.output_shape, (sn::Shape{8}));
  const std::string bad = error_of([] {
    nn::build_model(R"({"input": [8], "layers": [
        {"type": "Residual", "body": [{"type": "Linear", "out": 4}]}]})");
  });
  EXPECT_NE(bad.find("layer 0"), std::string::npos) << bad;
}

TEST(ConvLayers, ShapesInitAndErrors) {
  sn::manual_seed(1);
  nn::Conv2d c(3, 8, 3, {.stride = 2, .padding = 1});
  EXPECT_EQ(c.weight().shape(), (sn::Shape{8, 3, 3, 3}));
  // PyTorch's default init: |w| <= 1/√fan_in with fan_in = 3·3·3
  EXPECT_LE(sn::max(sn::abs(c.weight())).item(), 1.0 / std::sqrt(27.0) + 1e-7);
  EXPECT_EQ(c(sn::zeros({2, 3, 9, 9})).shape(), (sn::Shape{2, 8, 5, 5}));
  EXPECT_EQ(c.extra_repr(), "3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)");
  const std::string e = error_of([&] { c(sn::zeros({2, 1, 9, 9})); });
  EXPECT_EQ(e, "Conv2d(3 → 8, 3×3): expected input [N, 3, H, W], got [2, 1, 9, 9]");
  EXPECT_THROW(nn::Conv2d(3, 8, 3, {.groups = 2}), sn::ValueError);

  nn::Conv1d c1(2, 4, 3, {.padding = "same"});
  EXPECT_EQ(c1(sn::zeros({1, 2, 7})).shape(), (sn::Shape{1, 4, 7}));
  nn::MaxPool2d mp(2);
  EXPECT_EQ(mp(sn::zeros({1, 2, 7, 7})).shape(), (sn::Shape{1, 2, 3, 3}));
  EXPECT_EQ(mp.extra_repr(), "kernel_size=(2, 2), stride=(2, 2), padding=(0, 0)");
  EXPECT_EQ(
      nn::MaxPool2d(3, {.stride = 2, .padding = 1, .dilation = 2, .ceil_mode = true}).extra_repr(),
      "kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), ceil_mode=True");
  EXPECT_EQ(nn::MaxPool1d(3, {.padding = 1}).extra_repr(),
            "kernel_size=(3,), stride=(3,), padding=(1,)");
  EXPECT_EQ(nn::AvgPool2d(3, {.stride = 1, .padding = 1, .count_include_pad = false}).extra_repr(),
            "kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), count_include_pad=False");
  nn::AdaptiveAvgPool2d gap(1);
  EXPECT_EQ(gap(sn::ones({2, 5, 4, 4})).shape(), (sn::Shape{2, 5, 1, 1}));
}

TEST(ConvLayers, BatchNormTrainEval) {
  nn::BatchNorm2d bn(2);
  sn::manual_seed(3);
  sn::Tensor x = sn::add(sn::mul(sn::randn({8, 2, 3, 3}), 3.0), 5.0);
  sn::Tensor y = bn(x);
  // training: per-channel batch statistics -> mean 0, (biased) variance 1
  sn::Tensor m = sn::mean(y, {0, 2, 3});
  EXPECT_NEAR(m.at({0}), 0.0, 1e-5);
  EXPECT_NEAR(sn::var(y, {0, 2, 3}, 0).at({1}), 1.0, 1e-3);
  // running mean moved 10% of the way from 0 towards the batch mean
  sn::Tensor bm = sn::mean(x, {0, 2, 3});
  EXPECT_NEAR(bn.running_mean().at({0}), 0.1 * bm.at({0}), 1e-5);
  auto sd = bn.state_dict();
  EXPECT_TRUE(sd.contains("num_batches_tracked"));
  EXPECT_EQ(sd.at("num_batches_tracked").item(), 1.0);
  bn.eval();
  sn::Tensor ye = bn(x);  // running statistics now: not normalised to mean 0
  EXPECT_GT(std::abs(sn::mean(ye).item()), 1.0);
  EXPECT_EQ(sd.at("num_batches_tracked").item(), 1.0);  // eval does not count
}

TEST(ConvLayers, Blocks) {
  sn::manual_seed(2);
  nn::ResNetBlock same(8, 8), down(8, 16, 2);
  EXPECT_EQ(same(sn::randn({2, 8, 6, 6})).shape(), (sn::Shape{2, 8, 6, 6}));
  EXPECT_EQ(down(sn::randn({2, 8, 6, 6})).shape(), (sn::Shape{2, 16, 3, 3}));
  EXPECT_TRUE(down.state_dict().contains("shortcut.conv.weight"));
  EXPECT_FALSE(same.state_dict().contains("shortcut.conv.weight"));
  nn::Inception inc(4, {.c1 = 2, .c3_reduce = 2, .c3 = 3, .c5_reduce = 1, .c5 = 2, .pool_proj = 1});
  EXPECT_EQ(inc.out_channels(), 8);
  sn::Tensor x = sn::randn({1, 4, 5, 5}, {.requires_grad = true});
  sn::Tensor y = inc(x);
  EXPECT_EQ(y.shape(), (sn::Shape{1, 8, 5, 5}));
  sn::sum(y).backward();
  EXPECT_TRUE(x.grad().defined());
}

}  // namespace
