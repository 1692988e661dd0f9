// The model-spec reader treats its text as hostile (nn/spec.h): nesting and size are bounded
// before parsing, every field error names its path, unknown keys and types get a "did you
// mean", integers are range-checked and a model too large to build fails before allocating.
// Also: every layer type builds from a minimal spec, and docs/model-spec.md documents it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <sinapsis/sinapsis.h>

#include "nn/spec_internal.h"
#include "test_util.h"

namespace nn = sn::nn;

namespace {

using sn::test::error_of;

std::string build_error(const std::string& spec) {
  return error_of([&] { nn::build_model(spec); });
}
#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(SpecGuard, DeepNestingIsAnErrorBeforeParsing) {
  const int n = 100000;
  const std::string arrays =
      R"({"input": [2], "layers": )" + std::string(n, '[') + std::string(n, ']') + "}";
  EXPECT_EQ(build_error(arrays),
            "model spec: JSON nested deeper than 64 levels (line 1, column 89)");
  std::string objects = R"({"input": [2], "layers": [)";
  for (int i = 0; i < n; ++i) objects += R"({"type": "Sequential", "layers": [)";
  for (int i = 0; i < n; ++i) objects += "]}";
  objects += "]}";
  EXPECT_HAS(build_error(objects), "nested deeper than 64 levels");
  // brackets inside strings do not count; 30 nested Sequentials (61 levels) are fine
  std::string ok = R"({"input": [2], "name": "[[[[[[[[[[\"[[[[", "layers": [)";
  for (int i = 0; i < 30; ++i) ok += R"({"type": "Sequential", "layers": [)";
  ok += R"({"type": "Linear", "out": 3})";
  for (int i = 0; i < 30; ++i) ok += "]}";
  ok += "]}";
  EXPECT_EQ(nn::build_model(ok).output_shape, (sn::Shape{3}));
}

TEST(SpecGuard, FieldErrorsNameThePathNotTheJsonLibrary) {
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear", "out": "ten"}]})"),
            "model spec: layers[0].out must be an integer (got \"ten\")");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "ReLU"}, {"type": "Sequential",
      "layers": [{"type": "Residual", "body": [{"type": "Linear", "out": 2, "bias": 1}]}]}]})"),
            "model spec: layers[1].layers[0].body[0].bias must be true or false (got 1)");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Dropout", "p": [0.5]}]})"),
            "model spec: layers[0].p must be a number (got [0.5])");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "GELU", "approximate": "fast"}]})"),
            "model spec: layers[0].approximate must be one of \"none\", \"tanh\" (got \"fast\")");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear"}]})"),
            "model spec: layers[0] (Linear) needs \"out\" (an integer > 0)");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear", "out": 0}]})"),
            "model spec: layers[0].out must be > 0 (got 0)");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear", "out": 3, "out": 4}]})"),
            "model spec: names the key \"out\" twice");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear", "out": 3}])"),
            "model spec: not valid JSON at line 1, column 56: syntax error while parsing object "
            "- unexpected end of input; expected '}'");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": {"type": "Linear"}})"),
            "model spec: layers must be a list of layers (got {\"type\":\"Linear\"})");
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [7]})"),
            "model spec: layers[0] must be an object with a \"type\" (got 7)");
  // a module's own check is named with the layer
  EXPECT_EQ(build_error(R"({"input": [2, 4, 4], "layers": [
      {"type": "Conv2d", "out": 3, "kernel": 1, "groups": 2}]})"),
            "model spec: layers[0] (Conv2d): Conv2d: groups 2 must divide both in_channels 2 and "
            "out_channels 3");
  for (const std::string& e : {build_error(R"({"input": [2], "layers": [{"type": 1e999}]})"),
                               build_error("\xff"), build_error(R"({"input": [2], "layers": 1)")})
    EXPECT_EQ(e.find("json.exception"), std::string::npos) << e;
}

TEST(SpecGuard, UnknownKeysAndTypesSuggestTheNearest) {
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear", "otu": 3}]})"),
            "model spec: layers[0] (Linear): unknown key \"otu\"; did you mean \"out\"? (known: "
            "type, name, in, out, bias)");
  EXPECT_EQ(build_error(R"({"input": [2], "lyers": []})"),
            "model spec: the top level: unknown key \"lyers\"; did you mean \"layers\"? (known: "
            "name, input, input_dtype, layers)");
  EXPECT_HAS(build_error(R"({"input": [2], "layers": [{"type": "Linaer", "out": 3}]})"),
             "model spec: layers[0] has unknown type \"Linaer\"; did you mean \"Linear\"?");
  const std::string far =
      build_error(R"({"input": [2], "layers": [{"type": "ReLU", "zzzzzz": 1}]})");
  EXPECT_HAS(far, "unknown key \"zzzzzz\" (known: type, name)");
}

TEST(SpecGuard, SizesAreBoundedBeforeAllocating) {
  EXPECT_EQ(build_error(R"({"input": [2], "layers": [{"type": "Linear", "out": 1000000000000}]})"),
            "model spec: layers[0].out is 1000000000000, beyond the 2147483647 a size in a model "
            "spec may be");
  EXPECT_EQ(
      build_error(R"({"input": [2], "layers": [{"type": "Linear", "out": 18446744073709551615}]})"),
      "model spec: layers[0].out must be an integer that fits in 64 bits (got "
      "18446744073709551615)");
  EXPECT_HAS(build_error(R"({"input": [1000000000000], "layers": []})"),
             "\"input\" must hold integers in [1, 2147483647]");
  // 2^31 small stacked layers would fit a memory limit but take hours to build
  EXPECT_EQ(build_error(R"({"input": [5, 4], "layers": [
      {"type": "LSTM", "hidden_size": 3, "num_layers": 2147483647}]})"),
            "model spec: layers[0].num_layers is 2147483647, more than the 1000 stacked layers a "
            "spec may ask for");
  // what fits the range but not the memory: held to 64 MiB here
  const size_t before = nn::detail::set_spec_memory_limit(size_t{64} << 20);
  const std::string big = build_error(
      R"({"input": [1000], "layers": [{"type": "ReLU"}, {"type": "Linear", "out": 100000}]})");
  EXPECT_HAS(big, "model spec: layers[1] (Linear) would take 381 MiB at once");
  EXPECT_HAS(big, "more than the 64 MiB a model may take to build");
  const std::string wide =
      build_error(R"({"input": [100000, 1000], "layers": [{"type": "ReLU"}]})");
  EXPECT_HAS(wide, "model spec: layers[0] (ReLU) gets [N, 100000, 1000]: running it once takes");
  // the limit adds up over layers: 20 of 256 KiB each pass 1 MiB
  nn::detail::set_spec_memory_limit(size_t{1} << 20);
  std::string many = R"({"input": [256], "layers": [)";
  for (int i = 0; i < 20; ++i)
    many += std::string(i ? "," : "") + R"({"type": "Linear", "out": 256})";
  many += "]}";
  EXPECT_HAS(build_error(many), "more than the 1 MiB a model may take to build");
  nn::detail::set_spec_memory_limit(before);
  EXPECT_EQ(nn::build_model(many).output_shape, (sn::Shape{256}));
}

TEST(SpecGuard, SpecFilesAreNamedAndChecked) {
  const auto dir = std::filesystem::temp_directory_path() / "sn_spec_guard";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "model.json").string();
  {
    std::ofstream f(path);
    f << R"({"input": [2], "layers": [{"type": "Linear", "out": "ten"}]})";
  }
  EXPECT_EQ(error_of([&] { nn::build_model_file(path); }),
            "model spec '" + path + "': layers[0].out must be an integer (got \"ten\")");
  EXPECT_HAS(error_of([&] { nn::build_model_file(dir.string()); }),
             "is a folder, not a regular file");
  EXPECT_HAS(error_of([&] { nn::build_model_file((dir / "missing.json").string()); }),
             "cannot open");
  std::filesystem::remove_all(dir);
}

// One minimal spec per layer type: each builds, its normalised spec rebuilds to the same text,
// and a builder that reads a key its table entry does not declare fails here (SN_ASSERT).
TEST(SpecGuard, EveryLayerTypeBuildsFromAMinimalSpec) {
  const std::map<std::string, std::string> minimal = {
      {"Linear", R"([4], "layers": [{"type": "Linear", "out": 2}])"},
      {"Embedding",
       R"([3], "input_dtype": "int64", "layers": [{"type": "Embedding", "num_embeddings": 5, "embedding_dim": 2}])"},
      {"Flatten", R"([2, 3], "layers": [{"type": "Flatten"}])"},
      {"Unflatten", R"([6], "layers": [{"type": "Unflatten", "sizes": [2, -1]}])"},
      {"ConvTranspose2d",
       R"([2, 3, 3], "layers": [{"type": "ConvTranspose2d", "out": 2, "kernel": 2, "stride": 2}])"},
      {"Upsample", R"([2, 3, 3], "layers": [{"type": "Upsample", "scale_factor": 2}])"},
      {"Identity", R"([4], "layers": [{"type": "Identity"}])"},
      {"GaussianNoise", R"([4], "layers": [{"type": "GaussianNoise", "std": 0.3}])"},
      {"MaskNoise", R"([4], "layers": [{"type": "MaskNoise", "p": 0.2}])"},
      {"GaussianLatent", R"([4], "layers": [{"type": "GaussianLatent", "out": 2}])"},
      {"Dropout", R"([4], "layers": [{"type": "Dropout"}])"},
      {"Step", R"([4], "layers": [{"type": "Step"}])"},
      {"Sigmoid", R"([4], "layers": [{"type": "Sigmoid"}])"},
      {"Tanh", R"([4], "layers": [{"type": "Tanh"}])"},
      {"ReLU", R"([4], "layers": [{"type": "ReLU"}])"},
      {"SiLU", R"([4], "layers": [{"type": "SiLU"}])"},
      {"LeakyReLU", R"([4], "layers": [{"type": "LeakyReLU"}])"},
      {"ELU", R"([4], "layers": [{"type": "ELU"}])"},
      {"GELU", R"([4], "layers": [{"type": "GELU"}])"},
      {"Softplus", R"([4], "layers": [{"type": "Softplus"}])"},
      {"Softmax", R"([4], "layers": [{"type": "Softmax"}])"},
      {"LogSoftmax", R"([4], "layers": [{"type": "LogSoftmax"}])"},
      {"LayerNorm", R"([4], "layers": [{"type": "LayerNorm"}])"},
      {"Conv1d", R"([2, 5], "layers": [{"type": "Conv1d", "out": 3, "kernel": 3}])"},
      {"Conv2d", R"([2, 5, 5], "layers": [{"type": "Conv2d", "out": 3, "kernel": 3}])"},
      {"MaxPool1d", R"([2, 4], "layers": [{"type": "MaxPool1d"}])"},
      {"MaxPool2d", R"([2, 4, 4], "layers": [{"type": "MaxPool2d"}])"},
      {"AvgPool2d", R"([2, 4, 4], "layers": [{"type": "AvgPool2d"}])"},
      {"AdaptiveAvgPool2d", R"([2, 4, 4], "layers": [{"type": "AdaptiveAvgPool2d"}])"},
      {"BatchNorm1d", R"([3], "layers": [{"type": "BatchNorm1d"}])"},
      {"BatchNorm2d", R"([2, 4, 4], "layers": [{"type": "BatchNorm2d"}])"},
      {"GroupNorm", R"([4, 3, 3], "layers": [{"type": "GroupNorm", "groups": 2}])"},
      {"ResNetBlock", R"([4, 4, 4], "layers": [{"type": "ResNetBlock"}])"},
      {"Inception",
       R"([4, 5, 5], "layers": [{"type": "Inception", "c1": 2, "c3_reduce": 2, "c3": 2, "c5_reduce": 1, "c5": 1, "pool_proj": 1}])"},
      {"MultiheadAttention",
       R"([3, 4], "layers": [{"type": "MultiheadAttention", "num_heads": 2}])"},
      {"TransformerEncoderLayer",
       R"([3, 4], "layers": [{"type": "TransformerEncoderLayer", "nhead": 2, "dim_feedforward": 8}])"},
      {"TransformerEncoder",
       R"([3, 4], "layers": [{"type": "TransformerEncoder", "nhead": 2, "num_layers": 1, "dim_feedforward": 8}])"},
      {"RNN", R"([3, 4], "layers": [{"type": "RNN", "hidden_size": 3}])"},
      {"LSTM", R"([3, 4], "layers": [{"type": "LSTM", "hidden_size": 3}])"},
      {"GRU", R"([3, 4], "layers": [{"type": "GRU", "hidden_size": 3}])"},
      {"GPT",
       R"([4], "input_dtype": "int64", "layers": [{"type": "GPT", "vocab_size": 5, "n_layer": 1, "n_head": 2, "n_embd": 4}])"},
      {"Sequential", R"([4], "layers": [{"type": "Sequential", "layers": [{"type": "ReLU"}]}])"},
      {"Residual", R"([4], "layers": [{"type": "Residual", "body": [{"type": "Tanh"}]}])"},
      {"Parallel", R"([4], "layers": [{"type": "Parallel", "branches": [[{"type": "ReLU"}]]}])"},
      {"Graph",
       R"([4], "layers": [{"type": "Graph", "inputs": ["x"], "outputs": ["y"], "nodes": [{"op": "Relu", "inputs": ["x"], "outputs": ["y"]}]}])"},
  };
  for (const auto& type : nn::spec_layer_types()) {
    SCOPED_TRACE(type);
    auto it = minimal.find(type);
    ASSERT_NE(it, minimal.end()) << "add a minimal spec for the new layer type " << type;
    const auto m = nn::build_model(R"({"input": )" + it->second + "}");
    EXPECT_EQ(nn::build_model(m.spec).spec, m.spec);
  }
  EXPECT_EQ(minimal.size(), nn::spec_layer_types().size());
}

// docs/model-spec.md has a table row for every layer type that names each of its keys.
TEST(SpecGuard, EveryLayerTypeAndKeyIsDocumented) {
  std::ifstream f(std::string(SN_SOURCE_DIR) + "/docs/model-spec.md");
  ASSERT_TRUE(f.good());
  std::map<std::string, std::string> rows;  // type -> the rest of its row
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("| ", 0) != 0) continue;
    const size_t bar = line.find(" |", 2);
    if (bar == std::string::npos) continue;
    std::string names = line.substr(2, bar - 2), name;
    for (char& c : names)
      if (c == ',' || c == '/') c = ' ';
    std::istringstream ss(names);
    while (ss >> name) rows[name] = line.substr(bar);
  }
  for (const auto& type : nn::spec_layer_types()) {
    auto it = rows.find(type);
    if (it == rows.end()) {
      ADD_FAILURE() << "docs/model-spec.md has no table row for layer type " << type;
      continue;
    }
    for (const auto& key : nn::spec_layer_keys(type)) {
      if (key == "type" || key == "name") continue;
      EXPECT_HAS(it->second, "`" + key + "`") << " (the key " << key << " of " << type << ")";
    }
  }
}

}  // namespace
