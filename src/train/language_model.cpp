// Token loss, char_lm.py's validation loss, sampling and generation. Generation keeps one rule
// for every model: a model whose call() returns only logits is re-run on the whole context
// (at most block_size tokens); a model that returns a state gets only the new token and its
// state back, until the context would pass block_size, where it restarts from nothing on the
// last block_size tokens.
#include "sinapsis/train/language_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sinapsis/autograd/node.h"
#include "sinapsis/loss/loss.h"
#include "sinapsis/nn/value.h"

namespace sn::train {

namespace {

// Eval mode for a scope, the previous mode back afterwards (also on exceptions).
class EvalScope {
 public:
  explicit EvalScope(nn::Module& m) : m_(m), was_(m.is_training()) { m_.eval(); }
  ~EvalScope() { m_.train(was_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  nn::Module& m_;
  bool was_;
};

Tensor flat_logits(const Tensor& logits, const char* who) {
  SN_CHECK(logits.dim() >= 2, ShapeError, who, ": expected logits [B, T, V] or [N, V] (got ",
           logits.shape(), ")");
  return logits.reshape(Shape{-1, logits.size(-1)});
}

}  // namespace

Tensor token_cross_entropy(const Tensor& logits, const Tensor& targets) {
  return loss::cross_entropy(flat_logits(logits, "token_cross_entropy"),
                             targets.reshape(Shape{-1}));
}

double window_loss(nn::Module& model, const data::TokenWindows& windows, int64_t rows) {
  EvalScope eval(model);
  NoGradGuard ng;
  double total = 0;
  int64_t count = 0;
  for (const data::Example& b : windows.eval_batches(rows)) {
    Tensor logits = flat_logits(model(b.x), "window_loss");
    Tensor sum =
        loss::cross_entropy(logits, b.y.reshape(Shape{-1}), {.reduction = loss::Reduction::Sum});
    total += sum.item();
    count += b.y.numel();
  }
  return total / static_cast<double>(count);
}

// ---------------------------------------------------------------- sampling

std::vector<double> sampling_distribution(const std::vector<float>& logits,
                                          const SampleOptions& o) {
  const auto n = static_cast<int64_t>(logits.size());
  SN_CHECK(n > 0, ValueError, "sample: no logits");
  SN_CHECK(o.temperature >= 0 && std::isfinite(o.temperature), ValueError,
           "sample: temperature must be >= 0 (got ", o.temperature, ")");
  SN_CHECK(o.top_k >= 0, ValueError, "sample: top_k must be >= 0 (got ", o.top_k, ")");
  SN_CHECK(o.top_p > 0 && o.top_p <= 1, ValueError, "sample: top_p must be in (0, 1] (got ",
           o.top_p, ")");
  for (float v : logits) SN_CHECK(!std::isnan(v), ValueError, "sample: the model gave a NaN logit");
  // ids by falling logit, ties to the smaller id
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  std::vector<double> p(static_cast<size_t>(n), 0.0);
  if (o.temperature == 0) {
    p[order[0]] = 1.0;
    return p;
  }
  const int64_t k = o.top_k > 0 ? std::min(o.top_k, n) : n;
  const double top = logits[order[0]];
  double z = 0;
  for (int64_t r = 0; r < k; ++r) {
    const int64_t i = order[r];
    p[i] = std::exp((logits[i] - top) / o.temperature);
    z += p[i];
  }
  for (int64_t r = 0; r < k; ++r) p[order[r]] /= z;
  if (o.top_p < 1) {
    double mass = 0;
    int64_t keep = 0;
    while (keep < k && mass < o.top_p) mass += p[order[keep++]];
    for (int64_t r = keep; r < k; ++r) p[order[r]] = 0;
    for (int64_t r = 0; r < keep; ++r) p[order[r]] /= mass;
  }
  return p;
}

int64_t draw(const std::vector<double>& probs, double u) {
  double c = 0;
  int64_t last = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    c += probs[i];
    last = static_cast<int64_t>(i);
    if (u < c) return last;
  }
  SN_CHECK(last >= 0, ValueError, "sample: every probability is zero");
  return last;  // u past the rounded total
}

// ---------------------------------------------------------------- generation

namespace {

// The model's context and state while sampling.
struct Sampler {
  nn::Module& model;
  int64_t block;
  int64_t vocab;
  std::vector<int64_t> context;  // every token so far
  std::vector<Tensor> state;
  int64_t fed = 0;  // tokens the state has seen
  bool restart_when_full = false;
  int64_t origin = 0;  // where the context starts (moves only with restart_when_full)
  bool stateful = false, started = false;

  // The logits for the next token.
  std::vector<float> next_logits() {
    const auto n = static_cast<int64_t>(context.size());
    if (started && restart_when_full && block > 0 && n - origin > block) {
      origin = n - 1;  // a full context starts again from its last token
      fed = block;     // and a stateful model from a fresh state
    }
    const bool restart = !started || !stateful || (block > 0 && fed + 1 > block);
    const int64_t take = restart ? std::min(block > 0 ? block : n, n - origin) : 1;
    std::vector<int64_t> in(context.end() - take, context.end());
    std::vector<Tensor> items{tensor(in, Shape{1, take})};
    if (!restart) items.insert(items.end(), state.begin(), state.end());
    nn::Value out = model.call(nn::Value(std::move(items)));
    started = true;
    stateful = out.size() > 1;
    state = stateful ? out.rest() : std::vector<Tensor>{};
    fed = restart ? take : fed + take;
    const Tensor& logits = out[0];
    SN_CHECK(logits.dim() == 3 && logits.size(0) == 1 && logits.size(1) == take, ShapeError,
             "generate: the model should give logits [1, ", take, ", V] for ", take,
             " tokens (got ", logits.shape(), ")");
    SN_CHECK(logits.size(2) == vocab, ValueError, "generate: the model gives ", logits.size(2),
             " logits per position but the tokenizer has ", vocab,
             " tokens; hint: sample with the tokenizer the model was trained with");
    return logits.select(1, take - 1).to_vector_as<float>();
  }
};

}  // namespace

std::vector<int64_t> generate(nn::Module& model, const data::Tokenizer& tokenizer,
                              const std::string& prompt, const GenerateOptions& o,
                              const std::function<void(const std::string&)>& on_text) {
  SN_CHECK(o.tokens >= 0, ValueError, "generate: tokens must be >= 0 (got ", o.tokens, ")");
  SN_CHECK(o.block_size >= 0, ValueError, "generate: block_size must be >= 0 (got ", o.block_size,
           ")");
  std::vector<int64_t> ids = tokenizer.encode(prompt);
  SN_CHECK(!ids.empty(), ValueError,
           "generate: the prompt is empty; hint: start from a character of the text, e.g. a "
           "newline");
  EvalScope eval(model);
  NoGradGuard ng;
  Sampler s{model, o.block_size, tokenizer.vocab_size(), std::move(ids), {}};
  s.restart_when_full = o.restart;
  std::mt19937_64 gen(o.seed);
  data::Utf8Stream text;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < o.tokens; ++i) {
    const std::vector<double> p = sampling_distribution(s.next_logits(), o.sample);
    const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53;
    const int64_t id = draw(p, u);
    s.context.push_back(id);
    out.push_back(id);
    if (on_text) {
      const std::string piece = text.push(tokenizer.token_bytes(id));
      if (!piece.empty()) on_text(piece);
    }
  }
  if (on_text) {
    const std::string rest = text.finish();
    if (!rest.empty()) on_text(rest);
  }
  return out;
}

}  // namespace sn::train
