// ONNX export: every exported graph passes ONNX's checker with strict shape inference; the
// layers map to the expected ONNX ops with the module's weights (recurrent gates reordered into
// ONNX's order); text models take int64 tokens with a dynamic T and carry their state; LayerNorm
// below opset 17 is written in basic ops; unsupported layers and bad options are errors naming
// the layer. Numerical agreement with ONNX Runtime is runtime_test.cpp's.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <sinapsis/sinapsis.h>

#include <cstring>
#include <map>

#include "sinapsis/onnx/onnx.h"
#include "test_util.h"

namespace {

using namespace sn;
using sn::test::error_of;

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
bool has_op(const ::onnx::ModelProto& m, const std::string& op) {
  const auto ops = op_types(m);
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

const ::onnx::TensorProto* initializer(const ::onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer())
    if (t.name() == name) return &t;
  return nullptr;
}
// An initializer's float values.
std::vector<float> values(const ::onnx::TensorProto& t) {
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  return v;
}
std::vector<std::string> names(
    const google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto>& v) {
  std::vector<std::string> out;
  for (const auto& i : v) out.push_back(i.name());
  return out;
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
  EXPECT_EQ(model.graph().input(0).name(), "input");
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
}

TEST(OnnxExport, LenetAndResnetPassTheChecker) {
  for (const char* name : {"lenet", "resnet"}) {
    auto m = preset(name, Shape{1, 28, 28}, 10);
    const auto model = parse(sn::onnx::export_model_bytes(*m.module, zeros({3, 1, 28, 28})));
    EXPECT_TRUE(has_op(model, "Conv")) << name;
  }
}

TEST(OnnxExport, LayersMapToTheirOps) {
  nn::Sequential s;
  s.append(nn::Conv2d(1, 4, 3, {.padding = 1}));
  s.append(nn::BatchNorm2d(4));
  s.append(nn::LeakyReLU(0.2));
  s.append(nn::AvgPool2d(2));
  s.append(nn::MaxPool2d(2, {.stride = 1, .padding = 1}));
  s.append(nn::Flatten());
  s.append(nn::LayerNorm(4 * 5 * 5));
  s.append(nn::Dropout(0.5));
  s.append(nn::Linear(100, 8));
  s.append(nn::GELU());
  s.append(nn::Linear(8, 3));
  const auto model = parse(sn::onnx::export_model_bytes(s, zeros({2, 1, 8, 8})));
  for (const char* op : {"Conv", "BatchNormalization", "LeakyRelu", "AveragePool", "MaxPool",
                         "Flatten", "LayerNormalization", "Identity", "Gemm", "Erf"})
    EXPECT_TRUE(has_op(model, op)) << op;
  // the pools' shared attributes
  for (const auto& n : model.graph().node()) {
    if (n.op_type() != "MaxPool") continue;
    std::map<std::string, std::vector<int64_t>> a;
    for (const auto& at : n.attribute()) a[at.name()] = {at.ints().begin(), at.ints().end()};
    EXPECT_EQ(a["kernel_shape"], (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(a["strides"], (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(a["pads"], (std::vector<int64_t>{1, 1, 1, 1}));
  }
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

TEST(OnnxExport, LayerNormBeforeOpset17IsBasicOps) {
  nn::Sequential s;
  s.append(nn::Linear(3, 4));
  s.append(nn::LayerNorm(4));
  for (int64_t opset : {13, 14, 15, 16, 17}) {
    const auto model = parse(sn::onnx::export_model_bytes(s, zeros({2, 3}), {.opset = opset}));
    EXPECT_EQ(model.opset_import(0).version(), opset);
    EXPECT_EQ(has_op(model, "LayerNormalization"), opset >= 17) << opset;
    for (const char* op : {"ReduceMean", "Sub", "Pow", "Sqrt", "Div", "Mul", "Add"})
      EXPECT_EQ(has_op(model, op), opset < 17) << op << " at opset " << opset;
  }
}

TEST(OnnxExport, TextModelsTakeTokensAndCarryTheirState) {
  auto m = preset("char-lstm", Shape{16}, 11);
  const auto model =
      parse(sn::onnx::export_model_bytes(*m.module, zeros({2, 16}, {.dtype = kInt64})));
  const auto& in = model.graph().input(0);
  EXPECT_EQ(in.name(), "tokens");
  EXPECT_EQ(in.type().tensor_type().elem_type(), ::onnx::TensorProto::INT64);
  EXPECT_EQ(in.type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(in.type().tensor_type().shape().dim(1).dim_param(), "T");
  EXPECT_EQ(names(model.graph().input()), (std::vector<std::string>{"tokens", "h0", "c0"}));
  EXPECT_EQ(names(model.graph().output()), (std::vector<std::string>{"logits", "hN", "cN"}));
  // the state: [layers, N or 1, hidden], a plain input (no initializer runtimes would ignore)
  const auto& h0 = model.graph().input(1).type().tensor_type().shape();
  ASSERT_EQ(h0.dim_size(), 3);
  EXPECT_EQ(h0.dim(0).dim_value(), 2);
  EXPECT_EQ(h0.dim(1).dim_param(), "state_batch");
  EXPECT_EQ(h0.dim(2).dim_value(), 256);
  EXPECT_EQ(initializer(model, "h0"), nullptr);
  const auto& logits = model.graph().output(0).type().tensor_type().shape();
  ASSERT_EQ(logits.dim_size(), 3);
  EXPECT_EQ(logits.dim(1).dim_param(), "T");
  EXPECT_EQ(logits.dim(2).dim_value(), 11);
  const auto ops = op_types(model);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "LSTM"), 2);  // one node per layer
  EXPECT_TRUE(has_op(model, "Gather"));
}

TEST(OnnxExport, RecurrentGatesAreReorderedIntoOnnxsOrder) {
  // PyTorch: LSTM i, f, g, o and GRU r, z, n; ONNX: LSTM i, o, f, c and GRU z, r, h
  const int64_t H = 3, I = 2;
  for (const char* kind : {"LSTM", "GRU"}) {
    manual_seed(1);
    nn::Sequential s;
    if (std::string(kind) == "LSTM")
      s.append(nn::LSTM(I, H, {.batch_first = true}));
    else
      s.append(nn::GRU(I, H, {.batch_first = true}));
    const auto model = parse(sn::onnx::export_model_bytes(s, zeros({1, 4, I})));
    const auto& r = dynamic_cast<nn::RecurrentBase&>(*s.named_children()[0].second);
    const std::vector<int> order =
        std::string(kind) == "LSTM" ? std::vector<int>{0, 3, 1, 2} : std::vector<int>{1, 0, 2};
    const auto* W = initializer(model, "0.W_l0");
    const auto* B = initializer(model, "0.B_l0");
    ASSERT_NE(W, nullptr) << kind;
    ASSERT_NE(B, nullptr) << kind;
    const auto w = values(*W), b = values(*B);
    const Tensor w_ih = r.weights(0).w_ih.contiguous(), b_hh = r.weights(0).b_hh.contiguous();
    const int64_t G = static_cast<int64_t>(order.size());
    ASSERT_EQ(static_cast<int64_t>(w.size()), G * H * I) << kind;
    ASSERT_EQ(static_cast<int64_t>(b.size()), 2 * G * H) << kind;
    for (int64_t g = 0; g < G; ++g)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t src = order[g] * H + j;
        for (int64_t i = 0; i < I; ++i)
          EXPECT_EQ(w[(g * H + j) * I + i], w_ih.data_ptr<float>()[src * I + i]) << kind;
        EXPECT_EQ(b[G * H + g * H + j], b_hh.data_ptr<float>()[src]) << kind;  // recurrent bias
      }
  }
}

TEST(OnnxExport, GptHasADynamicLengthAndATiedHead) {
  auto m = preset("gpt", Shape{16}, 11);
  const auto model =
      parse(sn::onnx::export_model_bytes(*m.module, zeros({2, 16}, {.dtype = kInt64})));
  for (const char* op : {"Gather", "Slice", "Range", "Greater", "Where", "Softmax", "Split",
                         "LayerNormalization", "Erf"})
    EXPECT_TRUE(has_op(model, op)) << op;
  EXPECT_EQ(names(model.graph().input()), (std::vector<std::string>{"tokens"}));
  // the token table is the embedding and (transposed) the head
  int uses = 0;
  for (const auto& n : model.graph().node())
    for (const auto& i : n.input()) uses += i == "0.wte.weight";
  EXPECT_EQ(uses, 2);
  EXPECT_EQ(initializer(model, "0.lm_head.weight"), nullptr);
  // opset 13: the same graph with LayerNorm in basic ops
  const auto m13 = parse(
      sn::onnx::export_model_bytes(*m.module, zeros({2, 16}, {.dtype = kInt64}), {.opset = 13}));
  EXPECT_FALSE(has_op(m13, "LayerNormalization"));
}

TEST(OnnxExport, AutoencodersOutputTheirReconstruction) {
  for (const char* name : {"autoencoder", "conv-autoencoder", "vae"}) {
    auto m = preset(name, Shape{1, 28, 28}, 10);
    const auto model = parse(sn::onnx::export_model_bytes(*m.module, zeros({2, 1, 28, 28}),
                                                          {.output_name = "reconstruction"}));
    EXPECT_EQ(names(model.graph().output()), (std::vector<std::string>{"reconstruction"})) << name;
    EXPECT_EQ(model.graph().output(0).type().tensor_type().shape().dim(1).dim_value(),
              std::string(name) == "conv-autoencoder" ? 1 : 784)
        << name;
    if (std::string(name) == "conv-autoencoder") {
      EXPECT_TRUE(has_op(model, "ConvTranspose"));
      EXPECT_TRUE(has_op(model, "Resize"));
    }
    // the VAE's deterministic path: μ's head only, no log σ²
    bool logvar = false;
    for (const auto& t : model.graph().initializer())
      logvar = logvar || t.name().find("logvar") != std::string::npos;
    EXPECT_FALSE(logvar) << name;
  }
}

TEST(OnnxExport, ClearErrors) {
  nn::Sequential s;
  s.append(nn::Linear(3, 2));
  s.append(nn::Step());
  const std::string e = error_of([&] { sn::onnx::export_model_bytes(s, zeros({2, 3})); });
  EXPECT_NE(e.find("onnx export: layer '1' (Step)"), std::string::npos) << e;
  nn::Sequential ln;
  ln.append(nn::LayerNorm(3));
  const std::string e3 = error_of([&] {
    sn::onnx::export_model_bytes(ln, zeros({2, 3}), {.opset = 9});
  });
  EXPECT_NE(e3.find("opset must be 13..17 (got 9)"), std::string::npos) << e3;
  const std::string e4 = error_of([] { sn::onnx::check_model_bytes("not a model"); });
  EXPECT_NE(e4.find("onnx"), std::string::npos) << e4;
  // what ONNX's LSTM cannot hold, named with the layer
  nn::Sequential proj;
  proj.append(nn::Embedding(5, 4));
  proj.append(nn::LSTM(4, 6, {.batch_first = true, .proj_size = 2}));
  const std::string e5 = error_of([&] {
    sn::onnx::export_model_bytes(proj, zeros({1, 3}, {.dtype = kInt64}));
  });
  EXPECT_NE(e5.find("onnx export: layer '1' (LSTM): proj_size 2"), std::string::npos) << e5;
  nn::Sequential kv;
  kv.append(nn::MultiheadAttention(4, 2, {.add_bias_kv = true, .batch_first = true}));
  const std::string e6 = error_of([&] { sn::onnx::export_model_bytes(kv, zeros({1, 3, 4})); });
  EXPECT_NE(e6.find("layer '0' (MultiheadAttention): add_bias_kv"), std::string::npos) << e6;
  const std::string e7 = error_of([&] {
    sn::onnx::export_model_bytes(proj, zeros({1, 3}, {.dtype = kInt64}),
                                 {.input_scale = 1.0 / 255});
  });
  EXPECT_NE(e7.find("token ids take no input scaling"), std::string::npos) << e7;
}

}  // namespace
