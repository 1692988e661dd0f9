// Language-model pieces on top of any module that maps token ids [B, T] to logits [B, T, V]:
// the per-token loss, the deterministic validation loss of shared/reference/char_lm.py, and
// sampling (temperature, top-k, top-p) with generation that carries the model's state. The
// model may be stateless (the whole context is re-run each token) or return a state from
// Module::call (a GPT's key/value caches, an LSTM's (h, c)), which is fed back with the next
// token. No layer-specific code: what a model's state holds is its own business.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/data/text.h"
#include "sinapsis/data/tokenizer.h"
#include "sinapsis/nn/module.h"

namespace sn::train {

// Mean cross-entropy over every position: logits [B, T, V] (or [N, V]) against targets [B, T]
// (or [N]). The LossFn of text training.
Tensor token_cross_entropy(const Tensor& logits, const Tensor& targets);

// char_lm.py's val_loss: the mean cross-entropy in nats per token over every position of the
// non-overlapping windows of `windows` (offsets i·block), `rows` windows per forward, in eval
// mode under NoGradGuard (the mode is restored). Each window starts from a zero state.
double window_loss(nn::Module& model, const data::TokenWindows& windows, int64_t rows = 64);

struct SampleOptions {
  double temperature = 1.0;  // > 0; 0 picks the most likely token (greedy)
  int64_t top_k = 0;         // keep the k most likely tokens (0: all)
  double top_p = 1.0;        // keep the fewest most likely tokens whose mass reaches p, (0, 1]
};
// The distribution a token is drawn from: softmax(logits / temperature), cut to top-k then to
// top-p and renormalised (ties in rank go to the smaller id).
std::vector<double> sampling_distribution(const std::vector<float>& logits,
                                          const SampleOptions& options);
// A draw from `probs` with u in [0, 1) (inverse CDF; zero-probability tokens are never drawn).
int64_t draw(const std::vector<double>& probs, double u);

struct GenerateOptions {
  int64_t tokens = 200;  // new tokens
  SampleOptions sample{};
  uint64_t seed = 0;  // a private generator: the same seed gives the same text
  // The longest context the model takes (a GPT's block size; 0: no limit, e.g. an LSTM).
  // Past it the context slides: the model re-runs on the last block_size tokens, as nanoGPT's
  // sampler does (each new token then costs a whole block's forward).
  int64_t block_size = 0;
  // Instead of sliding, a full context starts again from the last token alone with a fresh
  // state (char_lm.py's sampler, which its tokens/s figure measures: every token then costs one
  // cached step).
  bool restart = false;
};

// Samples `options.tokens` tokens after `prompt` (not empty; characters outside a character
// vocabulary are a ValueError naming them). Each new token's text goes to `on_text` as soon as
// it forms whole UTF-8 characters. Returns the new token ids. The model runs in eval mode
// under NoGradGuard (the mode is restored). ValueError when the model's logits do not match
// the tokenizer's vocabulary.
std::vector<int64_t> generate(nn::Module& model, const data::Tokenizer& tokenizer,
                              const std::string& prompt, const GenerateOptions& options,
                              const std::function<void(const std::string& text)>& on_text = {});

}  // namespace sn::train
