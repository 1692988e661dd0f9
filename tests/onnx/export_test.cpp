// ONNX export: every exported graph passes ONNX's checker with strict shape inference; the
// layers map to the expected ONNX ops with the module's weights; unsupported layers and bad
// options are errors naming the layer. Numerical agreement with ONNX Runtime is checked by
// tests/onnx/ort_check.mjs where node and onnxruntime-node are present (ctest onnx.runtime).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <sinapsis/sinapsis.h>

#include "sinapsis/onnx/onnx.h"

namespace {

using namespace sn;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

::onnx::ModelProto parse(const std::string& bytes) {
  ::onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::vector<std::string> op_types(const ::onnx::ModelProto& m) {
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node()) ops.push_back(n.op_type());
  return ops;
}

const ::onnx::TensorProto* initializer(const ::onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

nn::BuiltModel preset(const std::string& name, const Shape& in, int64_t outs) {
  manual_seed(3);
  return nn::build_model(nn::preset_spec(name, in, outs), in);
}

TEST(OnnxExport, Available) { EXPECT_TRUE(sn::onnx::available()); }

TEST(OnnxExport, MlpIsGemmsWithItsWeights) {
  auto m = preset("mlp", Shape{1, 28, 28}, 10);
  const auto model = parse(
      sn::onnx::export_model_bytes(*m.module, zeros({2, 1, 28, 28}), {.probabilities = true}));
  const auto ops = op_types(model);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Gemm"), 3);
  EXPECT_EQ(ops.back(), "Softmax");
  ASSERT_EQ(model.graph().output_size(), 2);
  EXPECT_EQ(model.graph().output(0).name(), "logits");
  EXPECT_EQ(model.graph().output(1).name(), "probabilities");
  EXPECT_EQ(model.opset_import(0).version(), 17);
  // the first layer's weight, bit for bit
  const auto sd = m.module->state_dict();
  std::string wname;
  for (const auto& [n, t] : sd)
    if (t.dim() == 2) {
      wname = n;
      break;
    }
  const auto* w = initializer(model, wname);
  ASSERT_NE(w, nullptr) << wname;
  const Tensor ref = sd.at(wname).contiguous();
  ASSERT_EQ(w->raw_data().size(), static_cast<size_t>(ref.numel()) * 4);
  EXPECT_EQ(std::memcmp(w->raw_data().data(), ref.raw_data(), w->raw_data().size()), 0);
  // dynamic batch
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
}

TEST(OnnxExport, LenetAndResnetPassTheChecker) {
  for (const char* name : {"lenet", "resnet"}) {
    auto m = preset(name, Shape{1, 28, 28}, 10);
    const auto model = parse(sn::onnx::export_model_bytes(*m.module, zeros({3, 1, 28, 28})));
    const auto ops = op_types(model);
    EXPECT_NE(std::find(ops.begin(), ops.end(), "Conv"), ops.end()) << name;
  }
}

TEST(OnnxExport, LayersMapToTheirOps) {
  nn::Sequential s;
  s.append(nn::Conv2d(1, 4, 3, {.padding = 1}));
  s.append(nn::BatchNorm2d(4));
  s.append(nn::LeakyReLU(0.2));
  s.append(nn::AvgPool2d(2));
  s.append(nn::Flatten());
  s.append(nn::LayerNorm(4 * 4 * 4));
  s.append(nn::Dropout(0.5));
  s.append(nn::Linear(64, 8));
  s.append(nn::GELU());
  s.append(nn::Linear(8, 3));
  const auto model = parse(sn::onnx::export_model_bytes(s, zeros({2, 1, 8, 8})));
  const auto ops = op_types(model);
  for (const char* op : {"Conv", "BatchNormalization", "LeakyRelu", "AveragePool", "Flatten",
                         "LayerNormalization", "Identity", "Gemm", "Erf"})
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
}

TEST(OnnxExport, PreprocessingIsInTheGraph) {
  nn::Sequential s;
  s.append(nn::Linear(3, 2));
  sn::onnx::ExportOptions o;
  o.input_scale = 1.0 / 255.0;
  o.mean = full({3}, 0.5);
  o.std = full({3}, 2.0);
  const auto ops = op_types(parse(sn::onnx::export_model_bytes(s, zeros({2, 3}), o)));
  ASSERT_GE(ops.size(), 3u);
  EXPECT_EQ(ops[0], "Mul");
  EXPECT_EQ(ops[1], "Sub");
  EXPECT_EQ(ops[2], "Div");
}

TEST(OnnxExport, ClearErrors) {
  nn::Sequential s;
  s.append(nn::Linear(3, 2));
  s.append(nn::Step());
  const std::string e = error_of([&] { sn::onnx::export_model_bytes(s, zeros({2, 3})); });
  EXPECT_NE(e.find("onnx export: layer '1' (Step)"), std::string::npos) << e;
  nn::Sequential ln;
  ln.append(nn::LayerNorm(3));
  const std::string e2 = error_of([&] {
    sn::onnx::export_model_bytes(ln, zeros({2, 3}), {.opset = 13});
  });
  EXPECT_NE(e2.find("needs opset 17"), std::string::npos) << e2;
  const std::string e3 = error_of([&] {
    sn::onnx::export_model_bytes(ln, zeros({2, 3}), {.opset = 9});
  });
  EXPECT_NE(e3.find("opset must be 13..17 (got 9)"), std::string::npos) << e3;
  const std::string e4 = error_of([] { sn::onnx::check_model_bytes("not a model"); });
  EXPECT_NE(e4.find("onnx"), std::string::npos) << e4;
}

}  // namespace
