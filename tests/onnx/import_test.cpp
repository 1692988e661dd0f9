// ONNX import: PyTorch 1.13's exports (tests/golden/gen_onnx.py: MLP, LeNet, a small ResNet with
// batch norm, LSTM, GRU, a transformer encoder) give PyTorch's outputs; sinapsis's own exports
// come back with the same outputs and parameter values; the result saves and loads as a
// checkpoint; bad files are errors, never crashes.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <sinapsis/sinapsis.h>

#include "sinapsis/onnx/onnx.h"
#include "test_util.h"

namespace {

using namespace sn;
using nlohmann::json;
namespace fs = std::filesystem;
using sn::test::error_of;

const std::string kGolden = std::string(SN_SOURCE_DIR) + "/tests/golden/onnx/";

json golden() {
  std::ifstream f(kGolden + "onnx.json");
  EXPECT_TRUE(f.good());
  return json::parse(f);
}

Tensor from(const json& c, const char* data, const char* shape) {
  return tensor(c[data].get<std::vector<double>>(), Shape(c[shape].get<std::vector<int64_t>>()))
      .to(kFloat32);
}

double max_diff(const Tensor& a, const Tensor& b) {
  return sn::max(sn::abs(a.to(kFloat64) - b.to(kFloat64))).item();
}

Tensor run(nn::Module& m, const Tensor& x) {
  NoGradGuard ng;
  m.eval();
  return m(x);
}

class OnnxImportGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(OnnxImportGolden, GivesPyTorchsOutputs) {
  const std::string name = GetParam();
  const json c = golden()["cases"][name];
  ASSERT_TRUE(c.is_object()) << name;
  const auto r = sn::onnx::import_model(kGolden + c["file"].get<std::string>());
  const Tensor y = run(*r.built.module, from(c, "input", "input_shape"));
  const Tensor want = from(c, "output", "output_shape");
  ASSERT_EQ(y.shape(), want.shape());
  EXPECT_LE(max_diff(y, want), 1e-5) << name;
  // the chains are ordinary spec models; branches and recurrences are one Graph layer
  const bool chain = name == "mlp" || name == "lenet";
  EXPECT_EQ(r.graph, !chain) << r.built.spec.substr(0, 400);
  if (chain) {
    EXPECT_EQ(r.built.spec.find("\"Graph\""), std::string::npos);
  }
  EXPECT_EQ(r.producer.rfind("pytorch", 0), 0u) << r.producer;
  // another batch size than the export's example
  Tensor x1 = from(c, "input", "input_shape").narrow(0, 0, 1);
  EXPECT_LE(max_diff(run(*r.built.module, x1), want.narrow(0, 0, 1)), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Torch113, OnnxImportGolden,
                         ::testing::Values("mlp", "lenet", "resnet", "lstm", "gru", "transformer"));

TEST(OnnxImport, ShapeSubgraphsAndGeluAreFolded) {
  // LeNet's x.view(x.size(0), -1) is Shape -> Gather -> Unsqueeze -> Concat -> Reshape in the
  // file; it is a Flatten after import
  const auto lenet = sn::onnx::import_model(kGolden + "lenet.onnx");
  EXPECT_NE(lenet.built.spec.find("\"Flatten\""), std::string::npos) << lenet.built.spec;
  // the encoder's erf GELU pattern is one Gelu node, and no Erf is left
  const auto enc = sn::onnx::import_model(kGolden + "transformer.onnx");
  EXPECT_NE(enc.built.spec.find("\"Gelu\""), std::string::npos);
  EXPECT_EQ(enc.built.spec.find("\"Erf\""), std::string::npos);
}

TEST(OnnxImport, GraphModelsRoundTripThroughACheckpoint) {
  const fs::path dir =
      fs::temp_directory_path() / ("sinapsis_onnx_import_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* name : {"resnet", "lenet", "transformer"}) {
    const json c = golden()["cases"][name];
    const auto r = sn::onnx::import_model(kGolden + c["file"].get<std::string>());
    const std::string file = (dir / (std::string(name) + ".safetensors")).string();
    train::save_checkpoint(file, *r.built.module, {.save_rng = false, .model_spec = r.built.spec});
    const auto info = train::read_checkpoint_info(file);
    auto again = nn::build_model(info.model_spec);
    train::load_checkpoint(file, *again.module, {.restore_rng = false});
    const Tensor x = from(c, "input", "input_shape");
    EXPECT_EQ(max_diff(run(*again.module, x), run(*r.built.module, x)), 0.0) << name;
  }
  fs::remove_all(dir);
}

// sinapsis export -> import: the same outputs and the same parameter values
TEST(OnnxImport, RoundTripOfThePresets) {
  for (const char* name : {"mlp", "lenet", "resnet"}) {
    SCOPED_TRACE(name);
    manual_seed(7);
    auto m = nn::build_model(nn::preset_spec(name, Shape{1, 28, 28}, 10), Shape{1, 28, 28});
    m.module->eval();
    if (std::string(name) == "resnet") {  // running statistics that are not 0 and 1
      for (auto& [k, t] : m.module->named_buffers())
        if (t.dtype() == kFloat32) t.uniform_(0.5, 1.5);
    }
    sn::onnx::ExportOptions o;
    o.probabilities = true;
    const std::string bytes = sn::onnx::export_model_bytes(*m.module, zeros({2, 1, 28, 28}), o);
    const auto r = sn::onnx::import_model_bytes(bytes);
    const Tensor x = randn({3, 1, 28, 28});
    EXPECT_LE(max_diff(run(*r.built.module, x), run(*m.module, x)), 1e-5);
    EXPECT_EQ(r.output_name, "logits");
    const auto want = m.module->state_dict();
    const auto got = r.built.module->state_dict();
    int compared = 0;
    for (const auto& [k, t] : want) {
      if (t.dtype() != kFloat32) continue;  // num_batches_tracked is not in the ONNX file
      std::string key = k;
      if (r.graph) {
        for (char& ch : key)
          if (ch == '.') ch = '_';
        key = "0." + key;
      }
      ASSERT_TRUE(got.contains(key)) << key;
      EXPECT_TRUE(sn::equal(got.at(key), t)) << key;
      ++compared;
    }
    EXPECT_GT(compared, 3);
    EXPECT_EQ(r.graph, std::string(name) == "resnet");
  }
}

// ---- bad files ----

::onnx::ModelProto tiny(const std::vector<int64_t>& in_shape = {2, 4}) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("tiny");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : in_shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  g->add_output()->set_name("y");
  return m;
}
::onnx::NodeProto* node(::onnx::ModelProto& m, const std::string& op,
                        const std::vector<std::string>& in, const std::string& out,
                        const std::string& name = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& s : in) n->add_input(s);
  n->add_output(out);
  return n;
}
::onnx::TensorProto* weight(::onnx::ModelProto& m, const std::string& name,
                            const std::vector<int64_t>& dims, size_t bytes) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(bytes, '\0'));
  return t;
}
std::string import_error(const ::onnx::ModelProto& m, const std::string& base = "") {
  return error_of([&] { sn::onnx::import_model_bytes(m.SerializeAsString(), {}, base); });
}
bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(OnnxImport, ATinyGraphImports) {
  auto m = tiny();
  weight(m, "w", {4}, 16);
  node(m, "Add", {"x", "w"}, "h");
  node(m, "Relu", {"h"}, "y");
  const auto r = sn::onnx::import_model_bytes(m.SerializeAsString());
  EXPECT_TRUE(r.graph);  // Add of a constant is not a spec layer
  EXPECT_EQ(r.built.input_shape, Shape({4}));
}

TEST(OnnxImport, TruncatedOrCorruptFilesAreErrors) {
  manual_seed(1);
  auto m = nn::build_model(nn::preset_spec("lenet", Shape{1, 12, 12}, 4), Shape{1, 12, 12});
  const std::string bytes = sn::onnx::export_model_bytes(*m.module, zeros({1, 1, 12, 12}));
  for (size_t cut :
       {size_t{0}, size_t{1}, size_t{7}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
    const std::string e = error_of([&] { sn::onnx::import_model_bytes(bytes.substr(0, cut)); });
    EXPECT_NE(e, "(no error)") << cut;
    EXPECT_FALSE(has(e, "wrong exception type")) << e;
  }
  // bytes flipped anywhere: an error or a model, never a crash or a foreign exception
  for (size_t k = 0; k < 40; ++k) {
    std::string b = bytes;
    const size_t at = (k * 7919 + 13) % b.size();
    b[at] = static_cast<char>(b[at] ^ (0x5a + k));
    const std::string e = error_of([&] { sn::onnx::import_model_bytes(b); });
    EXPECT_FALSE(has(e, "wrong exception type")) << at << ": " << e;
  }
  EXPECT_TRUE(has(error_of([] { sn::onnx::import_model_bytes("not a model at all"); }),
                  "not an ONNX model"));
  EXPECT_TRUE(
      has(error_of([] { sn::onnx::import_model("/nonexistent/m.onnx"); }), "not a readable file"));
}

TEST(OnnxImport, TensorsWhoseDataDoNotFitTheirDims) {
  auto m = tiny();
  weight(m, "w", {1000, 1000}, 4);
  node(m, "Add", {"x", "w"}, "y");
  EXPECT_TRUE(has(import_error(m),
                  "initializer 'w' has 4 bytes of data, its dims [1000, 1000] need 4000000"))
      << import_error(m);
  auto huge = tiny();
  weight(huge, "w", {int64_t{1} << 20, int64_t{1} << 20, int64_t{1} << 20}, 4);
  node(huge, "Add", {"x", "w"}, "y");
  EXPECT_TRUE(has(import_error(huge), "do not fit in memory")) << import_error(huge);
  auto neg = tiny();
  weight(neg, "w", {-4}, 0);
  node(neg, "Add", {"x", "w"}, "y");
  EXPECT_TRUE(has(import_error(neg), "do not fit")) << import_error(neg);
  // a node asking for a huge tensor: checked before allocating
  auto big = tiny();
  auto* c = big.mutable_graph()->add_initializer();
  c->set_name("s");
  c->set_data_type(::onnx::TensorProto::INT64);
  c->add_dims(3);
  for (int i = 0; i < 3; ++i) c->add_int64_data(100000);
  node(big, "ConstantOfShape", {"s"}, "z");
  node(big, "Add", {"x", "z"}, "y");
  EXPECT_TRUE(has(import_error(big), "more than")) << import_error(big);
}

TEST(OnnxImport, ExternalDataStaysInTheModelsFolder) {
  const fs::path dir =
      fs::temp_directory_path() / ("sinapsis_onnx_ext_" + std::to_string(::getpid()));
  fs::create_directories(dir / "m");
  {
    std::ofstream f(dir / "m" / "w.bin", std::ios::binary);
    const float w[4] = {1, 2, 3, 4};
    f.write(reinterpret_cast<const char*>(w), sizeof w);
    std::ofstream g(dir / "secret.bin", std::ios::binary);
    g.write(reinterpret_cast<const char*>(w), sizeof w);
  }
  auto with_location = [&](const std::string& loc) {
    auto m = tiny();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("w");
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->add_dims(4);
    t->set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(loc);
    node(m, "Add", {"x", "w"}, "y");
    return m;
  };
  // inside: read
  const auto ok = sn::onnx::import_model_bytes(with_location("w.bin").SerializeAsString(), {},
                                               (dir / "m").string());
  const Tensor y = run(*ok.built.module, zeros({2, 4}));
  EXPECT_EQ(y.at({1, 3}), 4.0);
  // outside: refused, by a relative path, an absolute one or a link
  EXPECT_TRUE(has(import_error(with_location("../secret.bin"), (dir / "m").string()),
                  "leaves the model's folder"));
  EXPECT_TRUE(has(import_error(with_location((dir / "secret.bin").string()), (dir / "m").string()),
                  "leaves the model's folder"));
  fs::create_symlink(dir / "secret.bin", dir / "m" / "link.bin");
  EXPECT_TRUE(has(import_error(with_location("link.bin"), (dir / "m").string()),
                  "outside the model's folder"));
  // given as bytes without a folder: refused
  EXPECT_TRUE(has(import_error(with_location("w.bin")), "without its folder"));
  // data shorter than the dims
  EXPECT_TRUE(has(error_of([&] {
                    auto m = with_location("w.bin");
                    m.mutable_graph()->mutable_initializer(0)->set_dims(0, 8);
                    sn::onnx::import_model_bytes(m.SerializeAsString(), {}, (dir / "m").string());
                  }),
                  "external data has 16 bytes, its dims need 32"));
  fs::remove_all(dir);
}

TEST(OnnxImport, CyclesAndMissingInputsAreErrors) {
  auto cyc = tiny();
  node(cyc, "Relu", {"x"}, "a");
  node(cyc, "Add", {"a", "c"}, "b", "loop_add");
  node(cyc, "Relu", {"b"}, "c");
  node(cyc, "Relu", {"b"}, "y");
  EXPECT_TRUE(has(import_error(cyc), "cycle")) << import_error(cyc);
  auto miss = tiny();
  node(miss, "Add", {"x", "nowhere"}, "y", "the_add");
  EXPECT_TRUE(has(import_error(miss),
                  "node 'the_add' (Add) reads 'nowhere', which no node, initializer or graph "
                  "input defines"))
      << import_error(miss);
  auto twice = tiny();
  node(twice, "Relu", {"x"}, "y");
  node(twice, "Tanh", {"x"}, "y");
  EXPECT_TRUE(has(import_error(twice), "another node defines too")) << import_error(twice);
  auto no_out = tiny();
  node(no_out, "Relu", {"x"}, "z");
  EXPECT_TRUE(has(import_error(no_out), "graph output 'y' is not defined")) << import_error(no_out);
}

TEST(OnnxImport, AnUnknownOpNamesTheNodeTheOpAndItsInputShapes) {
  auto m = tiny({2, 4});
  weight(m, "w", {4}, 16);
  node(m, "Add", {"x", "w"}, "h");
  node(m, "Hardmax", {"h"}, "y", "mystery");
  const std::string e = import_error(m);
  EXPECT_TRUE(has(e,
                  "node 'mystery' (Hardmax) is an op import does not know; its inputs: 'h' "
                  "[2, 4]"))
      << e;
  auto dom = tiny();
  node(dom, "Relu", {"x"}, "y")->set_domain("com.microsoft");
  EXPECT_TRUE(has(import_error(dom), "domain 'com.microsoft'"));
  auto opset = tiny();
  opset.mutable_opset_import(0)->set_version(99);
  EXPECT_TRUE(has(import_error(opset), "opset 99"));
}

}  // namespace
