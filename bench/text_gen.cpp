// Generation speed of the two text models of ../shared/reference/char_lm.py, batch 1, as its
// `gen_tokens_per_s` measures it: the library's train::generate (softmax, multinomial draw, the
// GPT's key/value cache, the LSTM's carried state) from "\n", and a GPT whose context is full
// starts again from one token with an empty cache (char_lm.py's restart rule, restart = true),
// so each token is one cached step on both sides. The weights are the models' initial ones:
// the work per token does not depend on their values.
//   bench_text_gen --data ../shared/data/tinyshakespeare.txt [--threads N]
// The vocabulary is the file's characters (65 for tiny Shakespeare), as char_lm.py's.
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

namespace {

constexpr int64_t kBlock = 64;
constexpr int64_t kTokensPerCall = 5 * kBlock;  // five whole GPT contexts per timed call

void run(const Args& args, const std::string& name, nn::Module& model,
         const sn::data::Tokenizer& tok, int64_t block) {
  if (!selected(args, name)) return;
  sn::train::GenerateOptions o{
      .tokens = kTokensPerCall, .seed = 1337, .block_size = block, .restart = true};
  uint64_t seed = 0;
  Timing t = measure(args, [&] {
    o.seed = seed++;
    sn::train::generate(model, tok, "\n", o);
  });
  const double ms_per_token = 1e3 * t.median_s / kTokensPerCall;
  Json()
      .s("bench", "text_gen")
      .s("case", name)
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("vocab", static_cast<double>(tok.vocab_size()))
      .n("median_ms", ms_per_token)
      .n("tokens_per_s", 1e3 / ms_per_token)
      .print();
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {}, {.data = true});
  if (!args.ok) return 2;
  if (args.data.empty()) {
    std::fprintf(stderr, "bench_text_gen: --data FILE (a UTF-8 text, e.g. tinyshakespeare.txt)\n");
    return 2;
  }
  sn::set_num_threads(args.threads);
  sn::manual_seed(1337);
  const std::string text = sn::data::read_text_file(args.data);
  sn::data::CharTokenizer tok = sn::data::CharTokenizer::from_text(sn::data::utf8_decode(text));
  const int64_t V = tok.vocab_size();
  // char_lm.py --model gpt: 4 layers, 4 heads, 128, block 64, no biases, tied head
  nn::GPT gpt({.vocab_size = V,
               .n_layer = 4,
               .n_head = 4,
               .n_embd = 128,
               .block_size = kBlock,
               .bias = false,
               .tie_weights = true});
  run(args, "gpt generate b1", gpt, tok, kBlock);
  // char_lm.py --model lstm: embedding 128, 2 x LSTM 256, linear head
  nn::Sequential lstm({nn::Embedding(V, 128),
                       nn::LSTM(128, 256, nn::LSTMOptions{.num_layers = 2, .batch_first = true}),
                       nn::Linear(256, V)});
  run(args, "lstm generate b1", lstm, tok, 0);
  return 0;
}
