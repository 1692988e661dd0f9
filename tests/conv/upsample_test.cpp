// upsample2d and nn::Upsample: PyTorch 1.13 golden values for nearest and bilinear (both
// align_corners), sizes and scale factors (integer, fractional, per dim), forward and backward in
// float64 and float32; finite-difference gradchecks; the module's repr and the model-spec entry;
// the errors.
#include <gtest/gtest.h>

#include "conv/conv_helpers.h"
#include "conv/generative_golden.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;

UpsampleOptions options_of(const nlohmann::json& c) {
  UpsampleOptions o{.mode = c["mode"].get<std::string>(),
                    .align_corners = c["align_corners"].get<bool>()};
  if (c.contains("size")) o.size = c["size"].get<std::vector<int64_t>>();
  if (c.contains("scale_factor")) o.scale_factor = c["scale_factor"].get<std::vector<double>>();
  return o;
}

void run_golden(DType dt) {
  const auto& cases = testing::generative_golden()["upsample"];
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + " " + dtype_name(dt));
    Tensor x = from_json(c["x"], dt, true);
    Tensor y = upsample2d(x, options_of(c));
    const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
    EXPECT_TRUE(close(y, from_json(c["y"], kFloat64), rt, at));
    y.backward(from_json(c["gy"], dt));
    EXPECT_TRUE(close(x.grad(), from_json(c["dx"], kFloat64), rt, at));
  }
}

TEST(Upsample2d, MatchesPyTorchFloat64) { run_golden(kFloat64); }
TEST(Upsample2d, MatchesPyTorchFloat32) { run_golden(kFloat32); }

TEST(Upsample2d, Gradcheck) {
  manual_seed(4);
  const std::vector<UpsampleOptions> opts = {
      {.scale_factor = {2}},
      {.size = {5, 3}},
      {.scale_factor = {1.5, 2}, .mode = "bilinear"},
      {.size = {7, 2}, .mode = "bilinear", .align_corners = true},
      {.size = {2, 5}, .mode = "bilinear"},
  };
  for (const auto& o : opts) {
    Tensor x = randn({2, 2, 3, 4}, {.dtype = kFloat64, .requires_grad = true});
    auto r =
        autograd::gradcheck([&](const std::vector<Tensor>& v) { return upsample2d(v[0], o); }, {x});
    EXPECT_TRUE(r.ok) << o.mode << ": " << r.message;
  }
}

TEST(Upsample2d, NearestRepeatsPixels) {
  Tensor x = tensor(std::vector<double>{1, 2, 3, 4}, Shape{1, 1, 2, 2});
  Tensor y = upsample2d(x, {.scale_factor = {2}});
  EXPECT_EQ(y.to_vector(), (std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // bilinear with align_corners keeps the corners
  Tensor b = upsample2d(x, {.size = {3, 3}, .mode = "bilinear", .align_corners = true});
  EXPECT_EQ(b.to_vector(), (std::vector<double>{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}));
}

TEST(Upsample2d, ModuleAndSpec) {
  const auto& ref = testing::generative_golden()["upsample_module"];
  nn::Upsample up({.scale_factor = {2}});
  EXPECT_EQ("Upsample(" + up.extra_repr() + ")", ref["scale"].get<std::string>());
  nn::Upsample bl({.size = {4, 5}, .mode = "bilinear", .align_corners = true});
  EXPECT_EQ("Upsample(" + bl.extra_repr() + ")", ref["size_bilinear"].get<std::string>());
  EXPECT_EQ(up(zeros({2, 3, 4, 5})).shape(), (Shape{2, 3, 8, 10}));
  EXPECT_TRUE(up.parameters().empty());
  auto m = nn::build_model(R"({"input": [1, 7, 7], "layers": [
      {"type": "Upsample", "scale_factor": 2},
      {"type": "Upsample", "size": [20, 16], "mode": "bilinear", "align_corners": true}]})");
  EXPECT_EQ(m.output_shape, (Shape{1, 20, 16}));
  EXPECT_NE(error_of([] {
              nn::build_model(R"({"input": [1, 7, 7], "layers": [{"type": "Upsample"}]})");
            }).find("(Upsample) needs one of \"size\" and \"scale_factor\""),
            std::string::npos);
  EXPECT_NE(error_of([] {
              nn::Upsample({.scale_factor = {2}, .mode = "bicubic"});
            }).find("mode must be \"nearest\" or \"bilinear\" (got \"bicubic\")"),
            std::string::npos);
}

TEST(Upsample2d, ClearErrors) {
  Tensor x = zeros({1, 2, 3, 3});
  EXPECT_NE(error_of([&] { upsample2d(x, {}); }).find("give exactly one of size and scale_factor"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              upsample2d(x, {.size = {4}, .scale_factor = {2}});
            }).find("give exactly one of size and scale_factor"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              upsample2d(x, {.scale_factor = {2}, .align_corners = true});
            }).find("align_corners applies to the bilinear mode only"),
            std::string::npos);
  EXPECT_EQ(error_of([] {
              upsample2d(zeros({2, 3, 3}), {.scale_factor = {2}});
            }),
            "upsample2d: expected a 4-D input [N, C, H, W], got [2, 3, 3]; hint: add a batch dim "
            "with unsqueeze(0)");
  EXPECT_NE(error_of([&] {
              upsample2d(x, {.scale_factor = {0.2}});
            }).find("output would be empty ([0, 0]) for input [1, 2, 3, 3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              upsample2d(x, {.size = {1, 2, 3}});
            }).find("size needs 1 or 2 values (got [1, 2, 3])"),
            std::string::npos);
}

}  // namespace
}  // namespace sn
