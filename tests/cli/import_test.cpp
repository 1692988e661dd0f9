// `sinapsis import`: a file in the format shared/reference/char_lm.py --save writes (PyTorch
// state_dict names, vocabulary and recipe in the metadata) becomes a run folder whose eval gives
// the validation loss of the weights it holds, and whose generate samples from them. The files
// here are written by the test itself with the preset models' weights under PyTorch's names;
// that the layers compute what PyTorch's do is the golden tests' job.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "sinapsis/sinapsis.h"
#include "sinapsis/train/language_model.h"

namespace fs = std::filesystem;

namespace {

using sn::test::run_cli;

class ImportCli : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream f(dir_ / "play.txt");
    for (int i = 0; i < 40; ++i) f << "abba cab dad\nbad cad\n";
  }

  // A model of the preset with random weights, saved as char_lm.py would save it; returns the
  // validation loss those weights have on play.txt, computed in process.
  double write_torch_file(const std::string& model, const std::string& file, int64_t block) {
    sn::manual_seed(3);
    const std::string preset = model == "gpt" ? "gpt" : "char-lstm";
    const std::string text = sn::data::read_text_file(path("play.txt"));
    sn::data::TextCorpus c = sn::data::make_text_corpus(text, "char");
    const int64_t vocab = c.tokenizer->vocab_size();
    sn::nn::BuiltModel b =
        sn::nn::build_model(sn::nn::preset_spec(preset, sn::Shape{block}, vocab));
    sn::io::TensorMap tensors;
    for (auto& [name, t] : b.module->named_parameters()) {
      // char_lm.py's names: GPT's own below the spec's Sequential, emb/rnn/head for the LSTM
      std::string n = name.substr(2);
      if (model == "lstm") n = (name[0] == '0' ? "emb." : name[0] == '1' ? "rnn." : "head.") + n;
      tensors[n] = t;
    }
    std::string vocab_json = "[";
    for (int64_t i = 0; i < vocab; ++i)
      vocab_json += (i ? "," : "") + nlohmann::json(c.tokenizer->token_bytes(i)).dump();
    vocab_json += "]";
    sn::io::save(tensors, file,
                 {{"vocab", vocab_json},
                  {"model", model},
                  {"iters", "0"},
                  {"val_loss", "9.99"},
                  {"block", std::to_string(block)}});
    sn::data::TokenWindows val(c.val, block);
    return sn::train::window_loss(*b.module, val);
  }
};

double val_loss_of(const std::string& out) {
  const size_t at = out.find("val_loss ");
  return at == std::string::npos ? NAN : std::stod(out.substr(at + 9));
}

TEST_F(ImportCli, GptAndLstmGiveTheLossOfTheirWeights) {
  for (const std::string model : {"gpt", "lstm"}) {
    const std::string file = path(model + ".safetensors"), run = path(model + "-run");
    const double expected = write_torch_file(model, file, 8);
    auto r = run_cli("import " + file + " --out " + run + " --data text:" + path("play.txt"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("val_loss 9.99 in PyTorch"), std::string::npos) << r.out;
    r = run_cli("eval " + run);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NEAR(val_loss_of(r.out), expected, 1e-4 * expected) << r.out;
    // the text on stdout (stderr has the tokens/s, which differ run to run)
    r = run_cli("generate " + run + " --tokens 20 --seed 5 --prompt ab --threads 1",
                {.merge_stderr = false});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.rfind("ab", 0), 0u) << r.out;
    EXPECT_EQ(run_cli("generate " + run + " --tokens 20 --seed 5 --prompt ab --threads 1",
                      {.merge_stderr = false})
                  .out,
              r.out);
    // a second import into the same folder is refused: nothing is overwritten
    r = run_cli("import " + file + " --out " + run);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("exists"), std::string::npos) << r.out;
  }
}

TEST_F(ImportCli, FilesThatAreNotCharLmModelsAreRefused) {
  const std::string good = path("gpt.safetensors");
  write_torch_file("gpt", good, 8);
  sn::io::Checkpoint ck = sn::io::load(good);
  auto with = [&](const std::string& name, sn::io::Metadata m, sn::io::TensorMap t) {
    sn::io::save(t, path(name), m);
    return run_cli("import " + path(name) + " --out " + path(name + "-run"));
  };
  struct Case {
    std::string key, value, message;
  };
  for (const Case& c : std::vector<Case>{
           {"model", "rnn", "import knows char_lm.py's gpt and lstm"},
           {"block", "-3", "metadata 'block' must be a window length"},
           {"block", "huge", "metadata 'block' must be a window length"},
           {"vocab", "[\"ab\"]", "is not one character"},
           {"vocab", "{", "metadata 'vocab': not valid JSON"},
           {"vocab", "[\"b\",\"a\"]", "sorted"},
       }) {
    sn::io::Metadata m = ck.metadata;
    m[c.key] = c.value;
    auto r = with("bad.safetensors", m, ck.tensors);
    EXPECT_EQ(r.code, 2) << c.key << "=" << c.value << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.key << "=" << c.value << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_FALSE(fs::exists(path("bad.safetensors-run")));
  }
  sn::io::Metadata no_vocab = ck.metadata;
  no_vocab.erase("vocab");
  auto r = with("novocab.safetensors", no_vocab, ck.tensors);
  EXPECT_NE(r.out.find("no 'vocab' in the metadata"), std::string::npos) << r.out;
  // a tensor of the wrong shape names the preset and the key
  sn::io::TensorMap t = ck.tensors;
  ASSERT_TRUE(t.count("wpe.weight"));  // PyTorch's names
  t["wpe.weight"] = sn::zeros({9, 128});
  r = with("shape.safetensors", ck.metadata, t);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("does not fit the gpt preset"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wpe.weight"), std::string::npos) << r.out;
  r = run_cli("import " + path("nosuch.safetensors") + " --out " + path("x"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_FALSE(fs::exists(path("x")));
}

}  // namespace
