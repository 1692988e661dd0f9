// Language-model pieces: the validation loss against a hand computation, top-k / top-p /
// temperature distributions, drawing, and generation: determinism by seed, the carried state,
// the sliding context past block_size (stateful and stateless models agree), the restart
// rule, errors.
#include <gtest/gtest.h>

#include <cmath>

#include <sinapsis/sinapsis.h>

namespace sn::train {
namespace {

// A bigram model whose logits are a row of its table: Embedding(V, V).
std::shared_ptr<nn::Embedding> bigram(int64_t v, uint64_t seed) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Embedding>(v, v);
  return m;
}

TEST(WindowLoss, EqualsAHandComputation) {
  const int64_t V = 5, block = 3;
  auto m = bigram(V, 1);
  std::vector<float> w = m->weight().to_vector_as<float>();
  std::vector<int64_t> toks = {0, 3, 1, 4, 4, 2, 0, 1, 3, 2, 2, 0, 4, 1};  // 14 tokens
  data::TokenWindows win(toks, block);                                     // (14-1)/3 = 4 windows
  double total = 0;
  int count = 0;
  for (int i = 0; i < 4; ++i)
    for (int t = 0; t < block; ++t) {
      const int64_t x = toks[i * block + t], y = toks[i * block + t + 1];
      double z = 0;
      for (int k = 0; k < V; ++k) z += std::exp(static_cast<double>(w[x * V + k]));
      total += std::log(z) - w[x * V + y];
      ++count;
    }
  EXPECT_EQ(count, 12);  // the last token (index 13) is never a target: its window is incomplete
  m->train();
  EXPECT_NEAR(window_loss(*m, win, 3), total / count, 1e-5);  // batches of 3 + 1 windows
  EXPECT_NEAR(window_loss(*m, win, 64), total / count, 1e-5);
  EXPECT_TRUE(m->is_training());
}

TEST(Sampling, TemperatureTopKTopP) {
  std::vector<float> logits;
  for (double p : {0.1, 0.2, 0.3, 0.4}) logits.push_back(static_cast<float>(std::log(p)));
  auto near = [](const std::vector<double>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
  };
  near(sampling_distribution(logits, {}), {0.1, 0.2, 0.3, 0.4});
  near(sampling_distribution(logits, {.top_k = 2}), {0, 0, 3.0 / 7, 4.0 / 7});
  near(sampling_distribution(logits, {.top_p = 0.6}), {0, 0, 3.0 / 7, 4.0 / 7});
  near(sampling_distribution(logits, {.top_p = 0.35}), {0, 0, 0, 1});
  near(sampling_distribution(logits, {.top_p = 0.75}), {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9});
  near(sampling_distribution(logits, {.top_k = 3, .top_p = 0.8}), {0, 2.0 / 9, 3.0 / 9, 4.0 / 9});
  near(sampling_distribution(logits, {.temperature = 0}), {0, 0, 0, 1});
  // temperature 2: probabilities proportional to sqrt(p)
  const double z = std::sqrt(0.1) + std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.4);
  near(sampling_distribution(logits, {.temperature = 2}),
       {std::sqrt(0.1) / z, std::sqrt(0.2) / z, std::sqrt(0.3) / z, std::sqrt(0.4) / z});
  // ties in rank go to the smaller id
  near(sampling_distribution({1, 1, 1}, {.top_k = 1}), {1, 0, 0});
  EXPECT_THROW(sampling_distribution(logits, {.temperature = -1}), ValueError);
  EXPECT_THROW(sampling_distribution(logits, {.top_p = 0}), ValueError);
  EXPECT_THROW(sampling_distribution(logits, {.top_k = -1}), ValueError);
}

TEST(Sampling, DrawNeverPicksAZeroProbabilityToken) {
  const std::vector<double> p = {0, 0.5, 0, 0.5};
  EXPECT_EQ(draw(p, 0.0), 1);
  EXPECT_EQ(draw(p, 0.49), 1);
  EXPECT_EQ(draw(p, 0.5), 3);
  EXPECT_EQ(draw(p, 0.999999), 3);
  EXPECT_EQ(draw({0.3, 0.7, 0}, 1.0), 1);  // past the rounded total: the last possible token
}

TEST(Generate, SameSeedSameText) {
  auto m = bigram(6, 2);
  data::CharTokenizer tok(U"\nabcde");
  GenerateOptions o{.tokens = 40, .seed = 11, .block_size = 8};
  std::string streamed;
  std::vector<int64_t> a = generate(*m, tok, "ab", o, [&](const std::string& s) { streamed += s; });
  std::vector<int64_t> b = generate(*m, tok, "ab", o);
  EXPECT_EQ(a.size(), 40u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(streamed, tok.decode(a));
  o.seed = 12;
  EXPECT_NE(generate(*m, tok, "ab", o), a);
}

// Logits that point at the token after the absolute position of each input: position
// start + t gives token (start + t + 1) mod V. Stateful, it returns the next start as its state;
// it counts the tokens it is given per call.
class PositionModel : public nn::Module {
 public:
  PositionModel(int64_t v, bool stateful) : v_(v), stateful_(stateful) {}
  Tensor forward(const Tensor& x) override { return logits(x, 0); }
  nn::Value forward_multi(const nn::Value& in) override {
    const int64_t start = in.has(1) ? static_cast<int64_t>(in[1].item()) : 0;
    calls.push_back(in[0].size(1));
    Tensor out = logits(in[0], start);
    if (!stateful_) return out;
    return nn::Value{out, tensor(static_cast<double>(start + in[0].size(1)))};
  }
  std::vector<int64_t> calls;

 private:
  Tensor logits(const Tensor& x, int64_t start) const {
    const int64_t t = x.size(1);
    std::vector<float> l(static_cast<size_t>(t * v_), 0.f);
    for (int64_t i = 0; i < t; ++i) l[static_cast<size_t>(i * v_ + (start + i + 1) % v_)] = 10.f;
    return tensor(l, Shape{1, t, v_});
  }
  int64_t v_;
  bool stateful_;
};

TEST(Generate, CarriesStateAndSlidesPastTheBlock) {
  data::CharTokenizer tok(U"01234567");
  GenerateOptions o{.tokens = 8, .sample = {.temperature = 0}, .block_size = 4};
  PositionModel with_state(8, true), without(8, false);
  std::vector<int64_t> a = generate(with_state, tok, "0", o);
  std::vector<int64_t> b = generate(without, tok, "0", o);
  // positions 0, 1, 2, 3, then the window of the last 4 tokens again ends at position 3
  EXPECT_EQ(a, (std::vector<int64_t>{1, 2, 3, 4, 4, 4, 4, 4}));
  EXPECT_EQ(b, a);
  // stateful: one token per call until the context is full, then a re-run on the last 4
  EXPECT_EQ(with_state.calls, (std::vector<int64_t>{1, 1, 1, 1, 4, 4, 4, 4}));
  // stateless: the whole context every time, at most 4
  EXPECT_EQ(without.calls, (std::vector<int64_t>{1, 2, 3, 4, 4, 4, 4, 4}));
  // no limit: the state carries on
  o.block_size = 0;
  EXPECT_EQ(generate(with_state, tok, "0", o), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 0}));
  // a prompt longer than the block is cropped to its last tokens, as nanoGPT does
  o.block_size = 4;
  with_state.calls.clear();
  generate(with_state, tok, "0123456",
           {.tokens = 1, .sample = {.temperature = 0}, .block_size = 4});
  EXPECT_EQ(with_state.calls, (std::vector<int64_t>{4}));
}

TEST(Generate, RestartStartsAFullContextAgainFromItsLastToken) {
  data::CharTokenizer tok(U"01234567");
  GenerateOptions o{.tokens = 8, .sample = {.temperature = 0}, .block_size = 4, .restart = true};
  PositionModel with_state(8, true), without(8, false);
  std::vector<int64_t> a = generate(with_state, tok, "0", o);
  std::vector<int64_t> b = generate(without, tok, "0", o);
  // positions 0, 1, 2, 3, then the last token alone at position 0 again (char_lm.py's sampler)
  EXPECT_EQ(a, (std::vector<int64_t>{1, 2, 3, 4, 1, 2, 3, 4}));
  EXPECT_EQ(b, a);
  // stateful: every token is one cached step; stateless: the context grows again from 1
  EXPECT_EQ(with_state.calls, (std::vector<int64_t>(8, 1)));
  EXPECT_EQ(without.calls, (std::vector<int64_t>{1, 2, 3, 4, 1, 2, 3, 4}));
  // a prompt longer than the block is still cropped to its last block tokens first
  with_state.calls.clear();
  generate(with_state, tok, "0123456",
           {.tokens = 2, .sample = {.temperature = 0}, .block_size = 4, .restart = true});
  EXPECT_EQ(with_state.calls, (std::vector<int64_t>{4, 1}));
}

TEST(Generate, BadInputIsAClearError) {
  auto m = bigram(6, 2);
  data::CharTokenizer tok(U"\nabcde");
  try {
    generate(*m, tok, "abz", {.tokens = 3});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'z' (U+007A) at position 2 is not in the vocabulary"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(generate(*m, tok, "", {.tokens = 3}), ValueError);
  EXPECT_THROW(generate(*m, tok, "a\xFF", {.tokens = 3}), ValueError);
  data::CharTokenizer bigger(U"\nabcdefg");  // 8 tokens for a model with 6 logits
  try {
    generate(*m, bigger, "a", {.tokens = 3});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("gives 6 logits per position but the tokenizer has 8"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sn::train
