// The autoencoder presets: PyTorch's parameter counts and state dict names and shapes
// (generative.py's AutoEncoder for `autoencoder`), PyTorch's default initialisation, output =
// input shape, and the errors for inputs a preset cannot take.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "test_util.h"
#include "unsup/golden.h"

namespace {
using namespace sn;

nn::BuiltModel preset(const std::string& name, const Shape& in) {
  return nn::build_model(nn::preset_spec(name, in, 0), in);
}

TEST(AutoencoderPresets, MatchPyTorchParametersAndNames) {
  for (const char* name : {"autoencoder", "conv-autoencoder", "vae"}) {
    SCOPED_TRACE(name);
    const auto& g = sn::testing::autoencoder_golden()["presets"][name];
    nn::BuiltModel m = preset(name, Shape{1, 28, 28});
    EXPECT_EQ(m.module->num_parameters(), g["params"].get<int64_t>());
    const nn::StateDict sd = m.module->state_dict();
    ASSERT_EQ(sd.size(), g["state"].size());
    size_t i = 0;
    for (const auto& [key, t] : sd) {
      EXPECT_EQ(key, g["state"][i][0].get<std::string>());
      EXPECT_EQ(t.shape().vec(), g["state"][i][1].get<std::vector<int64_t>>()) << key;
      ++i;
    }
    // the output has the input's values
    EXPECT_EQ(m.output_shape.numel(), 784);
  }
  EXPECT_EQ(preset("conv-autoencoder", Shape{1, 28, 28}).output_shape, (Shape{1, 28, 28}));
  EXPECT_EQ(preset("autoencoder", Shape{10}).output_shape, (Shape{10}));
}

TEST(AutoencoderPresets, PyTorchDefaultInitAndSigmoidOutput) {
  manual_seed(1);
  nn::BuiltModel m = preset("autoencoder", Shape{1, 28, 28});
  // nn.Linear's default: W and b ~ U(±1/√in)
  for (const auto& [key, t] : m.module->state_dict()) {
    const double in = key.rfind("encoder.0", 0) == 0   ? 784
                      : key.rfind("encoder.2", 0) == 0 ? 256
                      : key.rfind("decoder.0", 0) == 0 ? 32
                                                       : 256;
    const double bound = 1 / std::sqrt(in);
    const double mx = max(abs(t)).item();
    EXPECT_LE(mx, bound) << key;
    EXPECT_GT(mx, 0.9 * bound) << key;  // uniform over the whole range, not a narrower one
  }
  Tensor y = (*m.module)(rand(Shape{3, 1, 28, 28}));
  EXPECT_GT(min(y).item(), 0.0);
  EXPECT_LT(max(y).item(), 1.0);
}

// The message of the error building `name` for inputs `in` throws.
std::string error_of(const std::string& name, const Shape& in) {
  return test::error_of([&] { preset(name, in); });
}

TEST(AutoencoderPresets, ConvPresetNeedsImages) {
  EXPECT_NE(error_of("conv-autoencoder", Shape{784})
                .find("takes images [C, H, W] with H and W divisible by 4 (got [784])"),
            std::string::npos);
  EXPECT_NE(error_of("conv-autoencoder", Shape{1, 30, 30}).find("divisible by 4"),
            std::string::npos);
  EXPECT_EQ(preset("conv-autoencoder", Shape{3, 32, 16}).output_shape, (Shape{3, 32, 16}));
  // the names are listed
  auto names = nn::preset_names();
  for (const char* n : {"autoencoder", "conv-autoencoder", "vae"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

}  // namespace
