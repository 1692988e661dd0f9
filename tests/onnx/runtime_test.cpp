// The exported models run in ONNX Runtime (npm onnxruntime-node, through tests/onnx/ort.h) and
// give sinapsis's outputs: the image presets on raw 0-255 pixels (scaling and normalisation
// inside the graph), LayerNorm at opset 13 (basic ops) and 17 (LayerNormalization), the text
// presets (char-lstm, gpt) and GRU/RNN/LSTM stacks on token ids with their state in and out,
// transformer encoders, and the autoencoder presets' reconstructions. Skipped, with the reason,
// where node or the package is missing.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

#include "ort.h"
#include "sinapsis/onnx/onnx.h"

namespace {

using namespace sn;
using sn::test::max_abs_diff;
using sn::test::OrtInput;
using sn::test::OrtRun;

// Weights away from their initialisation, like a trained model's: every parameter += N(0, s²).
void perturb(nn::Module& m, double s) {
  NoGradGuard ng;
  for (auto& p : m.parameters()) p.add_(randn(p.shape()) * s);
}

class OnnxRuntime : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const std::string why = sn::test::ort_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  // Exports `m` (example `example`, options `o`) to `file` and runs it on `inputs`.
  OrtRun run(nn::Module& m, const Tensor& example, const sn::onnx::ExportOptions& o,
             const std::string& file, const std::vector<OrtInput>& inputs) {
    const std::string model = path(file);
    sn::onnx::export_model(m, example, model, o);
    OrtRun r = sn::test::run_ort(model, inputs, dir_);
    EXPECT_EQ(r.code, 0) << file << ": " << r.out;
    return r;
  }
  // The library's outputs of call(inputs) in eval mode.
  static std::vector<Tensor> lib(nn::Module& m, const nn::Value& in) {
    m.eval();
    NoGradGuard ng;
    return m.call(in).items();
  }
};

TEST_F(OnnxRuntime, PresetsGiveTheLibrarysAnswersOnRawPixels) {
  for (const char* name : {"mlp", "lenet", "resnet"}) {
    manual_seed(11);
    nn::BuiltModel m =
        nn::build_model(nn::preset_spec(name, Shape{1, 28, 28}, 10), Shape{1, 28, 28});
    // a trained-like state: BatchNorm statistics away from 0/1
    m.module->train();
    {
      NoGradGuard ng;
      (*m.module)(randn({16, 1, 28, 28}) * 0.5 + 0.3);
    }
    m.module->eval();
    const double mean = 0.286, std = 0.353;  // Fashion-MNIST's pixel statistics
    sn::onnx::ExportOptions o;
    o.input_scale = 1.0 / 255.0;
    o.mean = full({}, mean);
    o.std = full({}, std);
    o.probabilities = true;
    Tensor raw = zeros({5, 1, 28, 28});  // whole pixel values 0-255, as predict reads them
    float* px = raw.data_ptr<float>();
    for (int64_t i = 0; i < raw.numel(); ++i) px[i] = static_cast<float>((i * 7919 + 13) % 256);
    const Tensor logits = lib(*m.module, (raw * (1.0 / 255.0) - mean) / std)[0];
    const Tensor probs = softmax(logits, 1);
    const OrtRun r =
        run(*m.module, zeros({2, 1, 28, 28}), o, std::string(name) + ".onnx", {{"", raw}});
    const double dl = max_abs_diff(r.floats("logits"), logits);
    const double dp = max_abs_diff(r.floats("probabilities"), probs);
    std::cout << name << ": ONNX Runtime vs sinapsis, max |logit diff| " << dl
              << ", max |probability diff| " << dp << "\n";
    EXPECT_LT(dl, 1e-4) << name << ": logits differ by " << dl;
    EXPECT_LT(dp, 1e-5) << name << ": probabilities differ by " << dp;
  }
}

TEST_F(OnnxRuntime, LayerNormAtOpset13GivesOpset17sOutputs) {
  manual_seed(5);
  nn::Sequential s;  // a GroupNorm, a LayerNorm over [C, H, W] with no bias, one over features
  s.append(nn::Conv2d(1, 4, 3, {.padding = 1}));
  s.append(nn::GroupNorm(2, 4));
  s.append(nn::LayerNorm(Shape{4, 4, 4}, {.eps = 1e-3, .bias = false}));
  s.append(nn::Flatten());
  s.append(nn::Linear(64, 8));
  s.append(nn::LayerNorm(8));
  s.append(nn::GELU());
  s.append(nn::Linear(8, 4));
  perturb(s, 0.3);
  const Tensor x = randn({6, 1, 4, 4}) * 2.0 + 0.5;
  const Tensor want = lib(s, {x})[0];
  std::vector<std::vector<float>> got;
  for (int64_t opset : {13, 17}) {
    const OrtRun r = run(s, zeros({2, 1, 4, 4}), {.opset = opset},
                         "ln" + std::to_string(opset) + ".onnx", {{"", x}});
    got.push_back(r.floats("logits"));
    const double d = max_abs_diff(got.back(), want);
    std::cout << "LayerNorm at opset " << opset << ": max |diff| vs sinapsis " << d << "\n";
    EXPECT_LT(d, 1e-5) << "opset " << opset;
  }
  const double d = max_abs_diff(got[0], tensor(got[1], Shape{static_cast<int64_t>(got[1].size())}));
  std::cout << "LayerNorm opset 13 vs 17 in ONNX Runtime: max |diff| " << d << "\n";
  EXPECT_LT(d, 1e-5);
}

// The text presets at vocabulary 11, block 16, weights moved off their initialisation.
nn::BuiltModel text_preset(const std::string& name) {
  manual_seed(7);
  nn::BuiltModel m = nn::build_model(nn::preset_spec(name, Shape{16}, 11), Shape{16});
  perturb(*m.module, 0.05);
  return m;
}

TEST_F(OnnxRuntime, CharLstmGivesTheLibrarysLogitsAndState) {
  nn::BuiltModel m = text_preset("char-lstm");
  const Tensor tokens = randint(0, 11, Shape{3, 9});  // T = 9: not the example's 16
  const std::vector<Tensor> want = lib(*m.module, {tokens});
  // a fresh start: zeros with batch 1, broadcast to the 3 sequences
  OrtRun r = run(*m.module, zeros({2, 16}, {.dtype = kInt64}), {}, "char-lstm.onnx",
                 {{"", tokens}, {"h0", zeros({2, 1, 256})}, {"c0", zeros({2, 1, 256})}});
  const double dl = max_abs_diff(r.floats("logits"), want[0]);
  const double dh = max_abs_diff(r.floats("hN"), want[1]);
  const double dc = max_abs_diff(r.floats("cN"), want[2]);
  std::cout << "char-lstm: ONNX Runtime vs sinapsis, max |diff| logits " << dl << ", hN " << dh
            << ", cN " << dc << "\n";
  EXPECT_LT(dl, 1e-5);
  EXPECT_LT(dh, 1e-5);
  EXPECT_LT(dc, 1e-5);
  // continuing from a given state
  const Tensor h0 = randn({2, 3, 256}) * 0.5, c0 = randn({2, 3, 256});
  const std::vector<Tensor> want2 = lib(*m.module, {tokens, h0, c0});
  r = sn::test::run_ort(path("char-lstm.onnx"), {{"", tokens}, {"h0", h0}, {"c0", c0}}, dir_);
  ASSERT_EQ(r.code, 0) << r.out;
  const double d2 = max_abs_diff(r.floats("logits"), want2[0]);
  const double dh2 = max_abs_diff(r.floats("hN"), want2[1]);
  const double dc2 = max_abs_diff(r.floats("cN"), want2[2]);
  std::cout << "char-lstm from (h0, c0): max |diff| logits " << d2 << ", hN " << dh2 << ", cN "
            << dc2 << "\n";
  EXPECT_LT(d2, 1e-5);
  EXPECT_LT(dh2, 1e-5);
  EXPECT_LT(dc2, 1e-5);
  EXPECT_GT(max_abs_diff(r.floats("logits"), want[0]), 1e-3) << "the state was not used";
}

TEST_F(OnnxRuntime, GptGivesTheLibrarysLogitsAtAnyLength) {
  nn::BuiltModel m = text_preset("gpt");
  for (int64_t T : {9, 16}) {  // shorter than the example's 16, and the whole block
    const Tensor tokens = randint(0, 11, Shape{3, T});
    const Tensor want = lib(*m.module, {tokens})[0];
    const OrtRun r =
        T == 9 ? run(*m.module, zeros({2, 16}, {.dtype = kInt64}), {}, "gpt.onnx", {{"", tokens}})
               : sn::test::run_ort(path("gpt.onnx"), {{"", tokens}}, dir_);
    ASSERT_EQ(r.code, 0) << r.out;
    const double d = max_abs_diff(r.floats("logits"), want);
    std::cout << "gpt, T = " << T << ": ONNX Runtime vs sinapsis, max |logit diff| " << d << "\n";
    EXPECT_LT(d, 1e-5) << "T = " << T;
  }
}

TEST_F(OnnxRuntime, GruRnnAndLstmStacksWithTheirState) {
  const int64_t V = 7;
  struct Case {
    const char* name;
    nn::ModulePtr rnn;
    int64_t width, state;  // output features, state rows (layers·directions)
  };
  manual_seed(13);
  std::vector<Case> cases = {
      {"gru-bidirectional",
       nn::ModulePtr(nn::GRU(5, 6, {.num_layers = 2, .batch_first = true, .bidirectional = true})),
       12, 4},
      {"rnn-relu",
       nn::ModulePtr(nn::RNN(5, 6, {.num_layers = 2, .batch_first = true, .nonlinearity = "relu"})),
       6, 2},
      {"lstm-bidirectional-nobias",
       nn::ModulePtr(nn::LSTM(5, 6, {.bias = false, .batch_first = true, .bidirectional = true})),
       12, 2}};
  for (auto& c : cases) {
    nn::Sequential s;
    s.append(nn::Embedding(V, 5));
    s.append(c.rnn);
    s.append(nn::Linear(c.width, V));
    perturb(s, 0.2);
    const Tensor tokens = randint(0, V, Shape{2, 5});
    const Tensor h0 = randn({c.state, 2, 6}) * 0.5;
    const bool lstm = std::string(c.name).starts_with("lstm");
    const Tensor c0 = randn({c.state, 2, 6}) * 0.5;
    const std::vector<Tensor> want = lib(s, {tokens});
    nn::Value with_state{tokens, h0};
    if (lstm) with_state.push_back(c0);
    const std::vector<Tensor> want2 = lib(s, with_state);
    std::vector<OrtInput> fresh{{"", tokens}, {"h0", zeros({c.state, 1, 6})}};
    if (lstm) fresh.push_back({"c0", zeros({c.state, 1, 6})});
    OrtRun r = run(s, zeros({1, 3}, {.dtype = kInt64}), {}, std::string(c.name) + ".onnx", fresh);
    double d =
        std::max(max_abs_diff(r.floats("logits"), want[0]), max_abs_diff(r.floats("hN"), want[1]));
    std::vector<OrtInput> in{{"", tokens}, {"h0", h0}};
    if (lstm) in.push_back({"c0", c0});
    r = sn::test::run_ort(path(std::string(c.name) + ".onnx"), in, dir_);
    ASSERT_EQ(r.code, 0) << r.out;
    d = std::max(
        {d, max_abs_diff(r.floats("logits"), want2[0]), max_abs_diff(r.floats("hN"), want2[1])});
    if (lstm) d = std::max(d, max_abs_diff(r.floats("cN"), want2[2]));
    std::cout << c.name << ": ONNX Runtime vs sinapsis, max |diff| (logits, state) " << d << "\n";
    EXPECT_LT(d, 1e-5) << c.name;
  }
  // sequence-first layout on float input (a fixed batch: dim 0 is time here)
  nn::Sequential s;
  s.append(nn::LSTM(4, 5, {.num_layers = 2}));
  perturb(s, 0.2);
  const Tensor x = randn({6, 3, 4});
  const std::vector<Tensor> want = lib(s, {x});
  const OrtRun r = run(s, x, {.dynamic_batch = false}, "lstm-tbi.onnx",
                       {{"", x}, {"h0", zeros({2, 3, 5})}, {"c0", zeros({2, 3, 5})}});
  const double d =
      std::max({max_abs_diff(r.floats("logits"), want[0]), max_abs_diff(r.floats("hN"), want[1]),
                max_abs_diff(r.floats("cN"), want[2])});
  std::cout << "lstm [T, B, I]: max |diff| " << d << "\n";
  EXPECT_LT(d, 1e-5);
}

TEST_F(OnnxRuntime, TransformerEncodersAndAttention) {
  const int64_t V = 9, E = 16;
  manual_seed(17);
  nn::Sequential s;
  s.append(nn::Embedding(V, E));
  s.append(nn::TransformerEncoderLayer(E, 4,
                                       {.dim_feedforward = 32,
                                        .dropout = 0.0,
                                        .activation = nn::TransformerActivation::GELU,
                                        .batch_first = true,
                                        .norm_first = true,
                                        .causal = true}));
  s.append(nn::TransformerEncoder(
      nn::TransformerEncoderLayer(E, 2,
                                  {.dim_feedforward = 24, .dropout = 0.0, .batch_first = true}),
      2, nn::LayerNorm(E)));
  s.append(nn::Linear(E, V));
  perturb(s, 0.1);
  const Tensor tokens = randint(0, V, Shape{2, 7});
  const Tensor want = lib(s, {tokens})[0];
  for (int64_t opset : {13, 17}) {
    const OrtRun r = run(s, zeros({1, 4}, {.dtype = kInt64}), {.opset = opset},
                         "enc" + std::to_string(opset) + ".onnx", {{"", tokens}});
    const double d = max_abs_diff(r.floats("logits"), want);
    std::cout << "transformer encoder (opset " << opset << "): max |logit diff| " << d << "\n";
    EXPECT_LT(d, 1e-5) << opset;
  }
  // MultiheadAttention on its own, sequence first [L, N, E]
  nn::Sequential a;
  a.append(nn::MultiheadAttention(E, 4, {.causal = true}));
  perturb(a, 0.1);
  const Tensor x = randn({5, 2, E});
  const Tensor want_a = lib(a, {x})[0];
  const OrtRun r = run(a, x, {.dynamic_batch = false}, "mha.onnx", {{"", x}});
  const double d = max_abs_diff(r.floats("logits"), want_a);
  std::cout << "MultiheadAttention [L, N, E]: max |diff| " << d << "\n";
  EXPECT_LT(d, 1e-5);
}

TEST_F(OnnxRuntime, AutoencodersReconstructLikeTheLibrary) {
  for (const char* name : {"autoencoder", "conv-autoencoder", "vae"}) {
    manual_seed(19);
    nn::BuiltModel m =
        nn::build_model(nn::preset_spec(name, Shape{1, 28, 28}, 10), Shape{1, 28, 28});
    perturb(*m.module, 0.02);
    Tensor raw = zeros({3, 1, 28, 28});
    float* px = raw.data_ptr<float>();
    for (int64_t i = 0; i < raw.numel(); ++i) px[i] = static_cast<float>((i * 104729 + 7) % 256);
    const Tensor want = lib(*m.module, {raw * (1.0 / 255.0)})[0];
    const OrtRun r = run(*m.module, zeros({2, 1, 28, 28}),
                         {.output_name = "reconstruction", .input_scale = 1.0 / 255.0},
                         std::string(name) + ".onnx", {{"", raw}});
    const double d = max_abs_diff(r.floats("reconstruction"), want);
    std::cout << name << ": ONNX Runtime vs sinapsis, max |reconstruction diff| " << d << "\n";
    EXPECT_LT(d, 1e-5) << name;
  }
  // Upsample's other forms: nearest to a size, bilinear by a scale, bilinear with aligned corners
  manual_seed(23);
  nn::Sequential s;
  s.append(nn::Conv2d(2, 3, 3, {.padding = 1}));
  s.append(nn::Upsample(UpsampleOptions{.size = {7, 9}}));
  s.append(nn::Upsample(UpsampleOptions{.scale_factor = {2.0}, .mode = "bilinear"}));
  s.append(
      nn::Upsample(UpsampleOptions{.size = {5, 6}, .mode = "bilinear", .align_corners = true}));
  s.append(nn::ConvTranspose2d(3, 2, 3, {.stride = 2, .padding = 1, .output_padding = 1}));
  const Tensor x = randn({2, 2, 4, 4});
  const Tensor want = lib(s, {x})[0];
  const OrtRun r = run(s, zeros({1, 2, 4, 4}), {}, "upsample.onnx", {{"", x}});
  const double d = max_abs_diff(r.floats("logits"), want);
  std::cout << "Upsample (nearest, bilinear, align_corners) + ConvTranspose2d: max |diff| " << d
            << "\n";
  EXPECT_LT(d, 1e-5);
}

}  // namespace
