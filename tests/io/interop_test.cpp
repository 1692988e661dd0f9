// PyTorch interop: checkpoints written by tests/golden/gen_safetensors.py (torch 1.13 + numpy)
// load here, and a torch nn.Sequential(Linear, ReLU, Linear) state_dict rebuilt with sn ops
// reproduces torch's logits.
#include <gtest/gtest.h>

#include <cmath>

#include "sinapsis/io/io.h"
#include "sinapsis/ops/ops.h"

namespace {

std::string golden(const std::string& name) {
  return std::string(SN_SOURCE_DIR) + "/tests/golden/" + name;
}

}  // namespace

TEST(Interop, TorchMlpStateDictReproducesTorchLogits) {
  const auto ck = sn::io::load(golden("mlp.safetensors"));
  EXPECT_EQ(ck.metadata.at("format"), "pt");
  const auto& t = ck.tensors;
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t.at("0.weight").shape(), (sn::Shape{8, 4}));
  EXPECT_EQ(t.at("0.bias").shape(), (sn::Shape{8}));
  EXPECT_EQ(t.at("2.weight").shape(), (sn::Shape{3, 8}));
  EXPECT_EQ(t.at("2.bias").shape(), (sn::Shape{3}));
  const sn::Tensor h = sn::relu(sn::linear(t.at("input"), t.at("0.weight"), t.at("0.bias")));
  const sn::Tensor logits = sn::linear(h, t.at("2.weight"), t.at("2.bias"));
  ASSERT_EQ(logits.shape(), t.at("logits").shape());
  const auto got = logits.to_vector(), want = t.at("logits").to_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "logit " << i;
}

TEST(Interop, EveryStoredDtypeDecodesToTheGeneratorsValues) {
  const auto ck = sn::io::load(golden("dtypes.safetensors"));
  const auto& t = ck.tensors;
  std::vector<double> f, f3, i64, boolean, i32, u8;
  for (int k = 0; k < 12; ++k) {
    f.push_back((k - 6) * 0.25);
    f3.push_back((k - 6) * 0.25 / 3.0);
    i64.push_back(static_cast<double>((k - 6) * 1000000000000LL));
    boolean.push_back(k % 3 == 0 ? 1.0 : 0.0);
    i32.push_back((k - 6) * 100000.0);
    u8.push_back(k * 20.0);
  }
  auto check = [&](const std::string& name, sn::DType dtype, sn::Shape shape,
                   const std::vector<double>& want) {
    SCOPED_TRACE(name);
    const sn::Tensor& x = t.at(name);
    EXPECT_EQ(x.dtype(), dtype);
    EXPECT_EQ(x.shape(), shape);
    EXPECT_EQ(x.to_vector(), want);
  };
  check("f32", sn::kFloat32, {3, 4}, f);
  check("f16", sn::kFloat32, {12}, f);
  check("bf16", sn::kFloat32, {2, 2, 3}, f);
  check("bool", sn::kBool, {4, 3}, boolean);
  check("i64", sn::kInt64, {12}, i64);
  check("i32", sn::kInt64, {12}, i32);
  check("u8", sn::kInt64, {12}, u8);
  check("scalar", sn::kFloat32, {}, {3.5});
  check("empty", sn::kFloat32, {0, 3}, {});
  // f64 values are not exact in binary but numpy and we store the same bits.
  const sn::Tensor& x = t.at("f64");
  EXPECT_EQ(x.dtype(), sn::kFloat64);
  const auto v = x.to_vector();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_DOUBLE_EQ(v[i], f3[i]);
}
