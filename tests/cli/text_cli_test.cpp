// End-to-end text runs of the `sinapsis` executable: train a bigram model by steps on a small
// file, generate from the run folder (same seed, same text), eval and resume it, BPE and a spec
// file, and the one-line errors for bad text, prompts and models.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include "cli_run.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

using Result = sn::test::CliResult;
using sn::test::read_file;
using sn::test::run_cli;

class TextCli : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream f(dir_ / "play.txt");
    for (int i = 0; i < 60; ++i)
      f << "ROMEO:\nTo be, or not to be: that is the question " << i % 7 << ".\n\n";
  }
};

const char* kTiny =
    " --preset bigram --steps 30 --eval-every 10 --warmup 3 --batch 8 --block 16 --threads 1";

TEST_F(TextCli, TrainGenerateEvalResume) {
  const std::string runp = path("run");
  Result r = run_cli("train --data text:" + path("play.txt") + kTiny + " --lr 0.1 --out " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("step 30/30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bits/char"), std::string::npos) << r.out;
  for (const char* f : {"best.safetensors", "last.safetensors", "model.json", "run.json",
                        "history.csv", "history.jsonl", "result.json", "curves.svg"})
    EXPECT_TRUE(fs::exists(fs::path(runp) / f)) << f;
  auto res = nlohmann::json::parse(read_file(fs::path(runp) / "result.json"));
  const double val = res.at("val_loss").get<double>();
  EXPECT_GT(val, 0);
  EXPECT_LT(val, 2.5);  // a bigram model learns this text well below log(vocab)
  EXPECT_NEAR(res.at("val_bpc").get<double>(), val / std::log(2.0), 1e-9);
  EXPECT_GT(res.at("train_s").get<double>(), 0);
  EXPECT_FALSE(res.contains("test_loss"));  // text runs have no test split

  // the same seed gives the same text; the tokenizer comes from the checkpoint
  const std::string gen = "generate " + runp + " --prompt ROMEO --tokens 60 --seed 5";
  Result g1 = run_cli(gen, {.merge_stderr = false}), g2 = run_cli(gen, {.merge_stderr = false});
  ASSERT_EQ(g1.code, 0) << g1.out;
  EXPECT_EQ(g1.out, g2.out);
  EXPECT_EQ(g1.out.rfind("ROMEO", 0), 0u) << g1.out;
  EXPECT_GT(g1.out.size(), 60u);
  Result g3 = run_cli("generate " + runp + " --prompt ROMEO --tokens 60 --seed 6 --top-k 3",
                      {.merge_stderr = false});
  ASSERT_EQ(g3.code, 0) << g3.out;
  EXPECT_NE(g3.out, g1.out);
  // char_lm.py's restart rule instead of the sliding context; the speed goes to stderr
  Result g4 =
      run_cli("generate " + runp + " --prompt ROMEO --tokens 60 --seed 5 --context restart");
  ASSERT_EQ(g4.code, 0) << g4.out;
  EXPECT_NE(g4.out.find("60 tokens in "), std::string::npos) << g4.out;
  EXPECT_NE(g4.out.find(" tokens/s)"), std::string::npos) << g4.out;
  EXPECT_NE(run_cli(gen + " --context wrap").code, 0);

  // eval of the last checkpoint repeats the final validation loss
  Result e = run_cli("eval " + runp + "/last.safetensors");
  ASSERT_EQ(e.code, 0) << e.out;
  std::ostringstream want;
  want.setf(std::ios::fixed);
  want.precision(4);
  want << "val_loss " << val;
  EXPECT_NE(e.out.find(want.str()), std::string::npos) << e.out << " / " << want.str();

  // resume to 40 steps: one more period
  Result rr = run_cli("resume " + runp + " --steps 40 --threads 1");
  ASSERT_EQ(rr.code, 0) << rr.out;
  EXPECT_NE(rr.out.find("resume: from step 30 of 40"), std::string::npos) << rr.out;
  EXPECT_NE(rr.out.find("step 40/40"), std::string::npos) << rr.out;
  const std::string hist = read_file(fs::path(runp) / "history.csv");
  EXPECT_EQ(std::count(hist.begin(), hist.end(), '\n'), 5) << hist;  // header + 4 periods
}

TEST_F(TextCli, BpeTokenizerAndTruncatedBptt) {
  const std::string runp = path("bpe");
  Result r = run_cli("train --data text:" + path("play.txt") + kTiny +
                     " --tokenizer bpe:300 --tbptt --out " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("bpe vocabulary of"), std::string::npos) << r.out;
  auto res = nlohmann::json::parse(read_file(fs::path(runp) / "result.json"));
  EXPECT_EQ(res.at("tokenizer"), "bpe");
  EXPECT_FALSE(res.contains("val_bpc"));  // bits per character only for character vocabularies
  Result g = run_cli("generate " + runp + " --prompt \"To be\" --tokens 20 --seed 1",
                     {.merge_stderr = false});
  ASSERT_EQ(g.code, 0) << g.out;
  EXPECT_EQ(g.out.rfind("To be", 0), 0u) << g.out;
}

TEST_F(TextCli, ModelSpecFile) {
  // a spec file: Embedding + Linear; the CLI sets its input to [block] token ids
  const std::string spec =
      write("lm.json",
            R"({"layers": [{"type": "Embedding", "num_embeddings": 40, "embedding_dim": 8},
                     {"type": "Linear", "out": 29}]})");
  // the play has 29 distinct characters
  Result r =
      run_cli("train --data text:" + path("play.txt") + " --model " + spec +
              " --steps 5 --eval-every 0 --batch 4 --block 8 --threads 1 --out " + path("m"));
  ASSERT_EQ(r.code, 0) << r.out;
  // an embedding with fewer rows than the vocabulary
  const std::string small =
      write("small.json",
            R"({"layers": [{"type": "Embedding", "num_embeddings": 20, "embedding_dim": 8},
                     {"type": "Linear", "out": 29}]})");
  r = run_cli("train --data text:" + path("play.txt") + " --model " + small + " --steps 5 --out " +
              path("s"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("the vocabulary has 29 tokens, too many for the model"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(path("s")));
  // logits of the wrong width
  const std::string wide =
      write("wide.json",
            R"({"layers": [{"type": "Embedding", "num_embeddings": 40, "embedding_dim": 8},
                     {"type": "Linear", "out": 30}]})");
  r = run_cli("train --data text:" + path("play.txt") + " --model " + wide + " --steps 5 --out " +
              path("w"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("expected logits [1, 1, 29]"), std::string::npos) << r.out;
}

TEST_F(TextCli, SmallLstmWithTruncatedBpttCarriesItsStateIntoGenerate) {
  // Embedding -> LSTM -> Linear, as the char-lstm preset but tiny
  const std::string spec =
      write("lstm.json",
            R"({"layers": [{"type": "Embedding", "num_embeddings": 29, "embedding_dim": 8},
                     {"type": "LSTM", "hidden_size": 12, "num_layers": 2},
                     {"type": "Linear", "out": 29}]})");
  const std::string runp = path("lstm");
  Result r = run_cli("train --data text:" + path("play.txt") + " --model " + spec +
                     " --steps 12 --eval-every 6 --warmup 2 --batch 4 --block 8 --tbptt --threads 1"
                     " --out " +
                     runp);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("truncated BPTT"), std::string::npos) << r.out;
  // an LSTM returns its state: generation carries it (no context limit) past the block of 8
  const std::string gen = "generate " + runp + " --tokens 40 --seed 4";
  Result g1 = run_cli(gen, {.merge_stderr = false}), g2 = run_cli(gen, {.merge_stderr = false});
  ASSERT_EQ(g1.code, 0) << g1.out;
  EXPECT_EQ(g1.out, g2.out);
  EXPECT_GE(g1.out.size(), 41u);
}

TEST_F(TextCli, SmallGptGeneratesWithItsBlockAndDrawsAttention) {
  const std::string spec = write("gpt.json", R"({"layers": [{"type": "GPT", "vocab_size": 29,
      "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16}]})");
  const std::string runp = path("gpt");
  Result r = run_cli(
      "train --data text:" + path("play.txt") + " --model " + spec +
      " --steps 6 --eval-every 3 --warmup 2 --batch 4 --block 16 --threads 1 --out " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  // 40 tokens: past the block of 16, the context slides
  Result g = run_cli("generate " + runp + " --tokens 40 --seed 3 --attention " + path("att.svg"));
  ASSERT_EQ(g.code, 0) << g.out;
  const std::string svg = read_file(dir_ / "att.svg");
  EXPECT_NE(svg.find("layer 1, head 1"), std::string::npos);
  EXPECT_EQ(svg.find("layer 2"), std::string::npos);
  // --attention needs a GPT
  ASSERT_EQ(run_cli("train --data text:" + path("play.txt") + kTiny + " --out " + path("b")).code,
            0);
  g = run_cli("generate " + path("b") + " --tokens 5 --attention " + path("no.svg"));
  EXPECT_EQ(g.code, 2);
  EXPECT_NE(g.out.find("has no GPT layer"), std::string::npos) << g.out;
}

TEST_F(TextCli, BadTextAndPromptsAreOneLineErrors) {
  auto train_err = [&](const std::string& data) {
    Result r = run_cli("train --data " + data + kTiny + " --out " + path("bad"));
    EXPECT_EQ(r.code, 2) << r.out;
    // one error line, the last (the data line may come before it)
    const size_t at = r.out.find("sinapsis: ");
    EXPECT_NE(at, std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\n', at), r.out.size() - 1) << r.out;
    EXPECT_EQ(r.out.find("sinapsis: ", at + 1), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(path("bad")));
    return r.out;
  };
  EXPECT_NE(train_err("text:" + path("missing.txt")).find("cannot open"), std::string::npos);
  EXPECT_NE(train_err("text:" + dir_.string()).find("is a folder"), std::string::npos);
  EXPECT_NE(train_err("text:" + write("e.txt", "")).find("is empty"), std::string::npos);
  EXPECT_NE(train_err("text:" + write("l.txt", "caf\xE9")).find("not valid UTF-8 (byte 0xe9"),
            std::string::npos);
  EXPECT_NE(train_err("text:" + write("short.txt", "abc")).find("too few"), std::string::npos);
  EXPECT_NE(train_err("text:" + path("play.txt") + " --tokenizer words").find("unknown 'words'"),
            std::string::npos);

  const std::string runp = path("run");
  ASSERT_EQ(run_cli("train --data text:" + path("play.txt") + kTiny + " --out " + runp).code, 0);
  Result g = run_cli("generate " + runp + " --prompt Juliet --tokens 5");
  EXPECT_EQ(g.code, 2);
  EXPECT_NE(g.out.find("'J' (U+004A) at position 0 is not in the vocabulary"), std::string::npos)
      << g.out;
  g = run_cli("generate " + runp + " --prompt \"\" --tokens 5");
  EXPECT_EQ(g.code, 2);
  EXPECT_NE(g.out.find("the prompt is empty"), std::string::npos) << g.out;
  g = run_cli("generate " + runp + " --top-p 0 --tokens 5");
  EXPECT_EQ(g.code, 2) << g.out;
}

}  // namespace
