// Character-level LSTM and GRU training steps, the shapes of ../shared/reference/char_lm.py
// --model lstm: Embedding(65, 128) -> 2 recurrent layers of 256 (batch_first) -> Linear(256, 65),
// batch 32 x 64 steps, cross-entropy over every position, Adam lr 2e-3, gradients clipped to
// norm 1.0, each window from a zero state; cycling through 8 random batches. The PyTorch side is
// bench/torch_rnn.py (nn.LSTM / nn.GRU on the same shapes). Also one generation step of the LSTM
// model (batch 1, state carried).
#include <sinapsis/sinapsis.h>

#include "harness.h"

using namespace sn::bench;
namespace nn = sn::nn;

namespace {

constexpr int64_t kVocab = 65, kEmbed = 128, kHidden = 256, kLayers = 2, kBatch = 32, kSteps = 64;

template <typename Rnn, typename Opts>
void run_case(const Args& args, const char* name) {
  if (!args.only.empty() && std::string(name).find(args.only) == std::string::npos) return;
  sn::manual_seed(0);
  nn::Sequential model({nn::Embedding(kVocab, kEmbed),
                        Rnn(kEmbed, kHidden, Opts{.num_layers = kLayers, .batch_first = true}),
                        nn::Linear(kHidden, kVocab)});
  auto params = model.parameters();
  sn::optim::Adam opt(params, {.lr = 2e-3});
  std::vector<sn::Tensor> pool;
  for (int i = 0; i < 8; ++i) pool.push_back(sn::randint(0, kVocab, {kBatch, kSteps + 1}));
  size_t i = 0;
  sn::Tensor loss;
  double first_loss = -1;
  StepTiming t = time_steps(args, 5, 30, [&] {
    const sn::Tensor& seq = pool[i++ % pool.size()];
    sn::Tensor x = seq.narrow(1, 0, kSteps), y = seq.narrow(1, 1, kSteps);
    opt.zero_grad(true);
    sn::Tensor logits = model(x);
    loss = sn::loss::cross_entropy(logits.reshape({-1, kVocab}), y.reshape({-1}));
    loss.backward();
    sn::optim::clip_grad_norm_(params, 1.0);
    opt.step();
    if (first_loss < 0) first_loss = loss.item();
  });
  Json()
      .s("bench", "rnn_train")
      .s("case", name)
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .n("params", static_cast<double>(model.num_parameters()))
      .n("tokens_per_step", kBatch * kSteps)
      .steps(t)
      .n("tokens_per_s", kBatch * kSteps / t.median_s)
      .n("first_loss", first_loss)
      .n("final_loss", loss.item())
      .print();
}

// Generation: batch 1, one token per call with the LSTM's (h, c) carried, as char_lm.py samples;
// the timed part is the forward of one token and the softmax over the vocabulary.
void run_generate(const Args& args) {
  const char* name = "lstm generate token b1";
  if (!args.only.empty() && std::string(name).find(args.only) == std::string::npos) return;
  sn::manual_seed(0);
  nn::Sequential model(
      {nn::Embedding(kVocab, kEmbed),
       nn::LSTM(kEmbed, kHidden, nn::LSTMOptions{.num_layers = kLayers, .batch_first = true}),
       nn::Linear(kHidden, kVocab)});
  model.eval();
  sn::NoGradGuard no_grad;
  sn::Tensor tok = sn::zeros({1, 1}, {.dtype = sn::kInt64}), h, c;
  int64_t i = 0;
  StepTiming t = time_steps(args, 50, 2000, [&] {
    nn::Value out = i++ == 0 ? model.call({tok}) : model.call({tok, h, c});
    h = out[1];
    c = out[2];
    sn::Tensor p = sn::softmax(out[0].reshape({kVocab}), 0);
    tok.fill_(static_cast<double>(i % kVocab));  // stand-in for the sample, same cost on both sides
    (void)p;
  });
  Json()
      .s("bench", "rnn_train")
      .s("case", name)
      .s("impl", "sinapsis")
      .n("threads", args.threads)
      .steps(t)
      .n("tokens_per_s", 1.0 / t.median_s)
      .print();
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv, {});
  if (!args.ok) return 2;
  sn::set_num_threads(args.threads);
  run_case<nn::LSTM, nn::LSTMOptions>(args, "lstm train step 32x64");
  run_case<nn::GRU, nn::GRUOptions>(args, "gru train step 32x64");
  run_generate(args);
  return 0;
}
