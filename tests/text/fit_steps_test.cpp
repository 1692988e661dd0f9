// fit_steps: a bigram model learns a text by steps; periods between evaluations are the
// history's records; the warm-up + cosine schedule follows char_lm.py's formula step by step;
// a run stopped and resumed from its checkpoint ends with the same weights; truncated BPTT
// carries a detached state and restarts it where the streams wrap.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include <sinapsis/sinapsis.h>

namespace sn::train {
namespace {

namespace fs = std::filesystem;

data::TextCorpus abc_corpus() {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "abcab\n";
  return data::make_text_corpus(text, "char");
}

// steps near 2^63 (an option of 9223372036854775807): the periods are counted without
// overflowing, so the run runs (here until a callback stops it) instead of running nothing.
TEST(FitSteps, AStepCountNearTheInt64LimitDoesNotOverflow) {
  data::TextCorpus c = abc_corpus();
  data::TokenWindows train(c.train, 8);
  nn::Embedding model(c.tokenizer->vocab_size(), c.tokenizer->vocab_size());
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  auto stop = std::make_shared<LambdaCallback>(LambdaHooks{.on_batch_end = [](TrainState& s) {
    if (s.step == 2) s.request_stop("enough");
  }});
  for (int64_t every : {int64_t{0}, int64_t{500}}) {
    History h =
        fit_steps(model, token_cross_entropy, opt, [&](int64_t) { return train.random_batch(2); },
                  {.steps = std::numeric_limits<int64_t>::max(),
                   .eval_every = every,
                   .callbacks = {stop},
                   .verbose = 0});
    ASSERT_EQ(h.size(), 1u) << every;
    EXPECT_EQ(h.epochs[0].batches, 3) << every;
    EXPECT_EQ(h.stop_reason, "enough");
  }
}

TEST(FitSteps, LearnsABigramByPeriods) {
  manual_seed(0);
  data::TextCorpus c = abc_corpus();
  data::TokenWindows train(c.train, 8), val(c.val, 8);
  nn::Embedding model(c.tokenizer->vocab_size(), c.tokenizer->vocab_size());
  optim::Adam opt(model.parameters(), {.lr = 0.1});
  optim::WarmupCosineLR sched(opt, {.warmup = 2, .total_steps = 10, .min_lr = 0.01});
  std::vector<double> lrs;
  auto rec = std::make_shared<LambdaCallback>(
      LambdaHooks{.on_batch_begin = [&](TrainState& s) { lrs.push_back(s.optimizer->lr(0)); }});
  const double before = window_loss(model, val);
  History h =
      fit_steps(model, token_cross_entropy, opt, [&](int64_t) { return train.random_batch(4); },
                {.steps = 10,
                 .eval_every = 4,
                 .validate = [&](nn::Module& m) { return window_loss(m, val); },
                 .callbacks = {rec},
                 .scheduler = &sched,
                 .clip_grad_norm = 1.0,
                 .verbose = 0});
  ASSERT_EQ(h.size(), 3u);  // steps 0-3, 4-7, 8-9
  EXPECT_EQ(h.epochs[0].batches, 4);
  EXPECT_EQ(h.epochs[2].batches, 2);
  EXPECT_TRUE(h.back().has_validation);
  EXPECT_LT(h.back().val_loss, before - 0.5);
  EXPECT_NEAR(h.back().val_loss, window_loss(model, val), 1e-12);  // of the final weights
  EXPECT_GT(h.back().metrics.at("tokens_per_s"), 0);
  EXPECT_LE(h.back().metrics.at("train_time"), h.back().seconds);
  EXPECT_EQ(h.monitor, "val_loss");
  ASSERT_EQ(lrs.size(), 10u);
  for (int it = 0; it < 10; ++it) {
    // char_lm.py's lr_at
    const double want =
        it < 2 ? 0.1 * (it + 1) / 3.0
               : 0.01 + 0.5 * (1 + std::cos(M_PI * std::min(1.0, (it - 2) / 8.0))) * (0.1 - 0.01);
    EXPECT_NEAR(lrs[it], want, 1e-12) << it;
  }
}

TEST(FitSteps, ResumedRunEndsWithTheSameWeights) {
  data::TextCorpus c = abc_corpus();
  data::TokenWindows train(c.train, 8);
  const int64_t V = c.tokenizer->vocab_size();
  const std::string path =
      (fs::temp_directory_path() / ("sn_fit_steps_" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  auto batches = [&](int64_t) { return train.random_batch(4); };
  auto run = [&](nn::Embedding& m, optim::AdamW& opt, optim::WarmupCosineLR& s, int64_t from,
                 std::vector<CallbackPtr> cbs, History prev) {
    return fit_steps(m, token_cross_entropy, opt, batches,
                     {.steps = 8,
                      .eval_every = 4,
                      .callbacks = cbs,
                      .scheduler = &s,
                      .initial_step = from,
                      .initial_history = prev,
                      .verbose = 0});
  };
  manual_seed(5);
  nn::Embedding a(V, V);
  optim::AdamW oa(a.parameters(), {.lr = 0.05});
  optim::WarmupCosineLR sa(oa, {.warmup = 2, .total_steps = 8, .min_lr = 0.005});
  run(a, oa, sa, 0, {}, {});

  manual_seed(5);
  nn::Embedding b(V, V);
  optim::AdamW ob(b.parameters(), {.lr = 0.05});
  optim::WarmupCosineLR sb(ob, {.warmup = 2, .total_steps = 8, .min_lr = 0.005});
  auto save_and_stop =
      std::make_shared<LambdaCallback>(LambdaHooks{.on_epoch_end = [&](TrainState& s) {
        save_checkpoint(path, b, ob,
                        {.epoch = s.epoch + 1, .history = s.history, .scheduler = &sb});
        s.request_stop("test");
      }});
  History first = run(b, ob, sb, 0, {save_and_stop}, {});
  ASSERT_EQ(first.size(), 1u);

  manual_seed(99);  // the checkpoint restores the generator
  nn::Embedding r(V, V);
  optim::AdamW orr(r.parameters(), {.lr = 0.05});
  optim::WarmupCosineLR sr(orr, {.warmup = 2, .total_steps = 8, .min_lr = 0.005});
  CheckpointInfo info = load_checkpoint(path, r, orr, {.scheduler = &sr});
  EXPECT_EQ(info.epoch, 1);
  History rest = run(r, orr, sr, info.epoch * 4, {}, info.history);
  EXPECT_EQ(rest.size(), 2u);
  EXPECT_EQ(r.weight().to_vector_as<float>(), a.weight().to_vector_as<float>());
  fs::remove(path);
}

// Records the state it is given; its state output is a function of a parameter, so a state
// that was not detached would still carry a graph.
class StateRecorder : public nn::Module {
 public:
  explicit StateRecorder(int64_t v) : v_(v) { w_ = register_parameter("w", zeros(Shape{v, v})); }
  Tensor forward(const Tensor& x) override { return forward_multi(nn::Value(x))[0]; }
  nn::Value forward_multi(const nn::Value& in) override {
    given.push_back(in.has(1) ? static_cast<int64_t>(in[1].item()) : -1);
    grad_given.push_back(in.has(1) && in[1].requires_grad());
    Shape out = in[0].shape();
    out.push_back(v_);
    Tensor logits = index_select(w_, 0, in[0].reshape(Shape{-1})).reshape(out);
    const double prev = in.has(1) ? in[1].item() : 0.0;
    Tensor next = add(mul(w_.sum(), 0.0), prev + 1);
    return nn::Value{logits, next};
  }
  std::vector<int64_t> given;
  std::vector<bool> grad_given;

 private:
  int64_t v_;
  Tensor w_;
};

TEST(FitSteps, TruncatedBpttCarriesADetachedStateAndResetsWhereStreamsWrap) {
  data::TextCorpus c = abc_corpus();
  data::TokenWindows train(c.train, 4);
  const int64_t period = train.stream_period(3);
  StateRecorder m(c.tokenizer->vocab_size());
  optim::SGD opt(m.parameters(), {.lr = 0.1});
  const int64_t steps = period + 2;
  fit_steps(m, token_cross_entropy, opt, [&](int64_t i) { return train.stream_batch(3, i); },
            {.steps = steps, .state_period = period, .verbose = 0});
  ASSERT_EQ(m.given.size(), static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t since_reset = i % period;
    EXPECT_EQ(m.given[i], since_reset == 0 ? -1 : since_reset) << i;  // counts steps since reset
    EXPECT_FALSE(m.grad_given[i]) << i;
  }
  // off: every step from nothing
  m.given.clear();
  fit_steps(m, token_cross_entropy, opt, [&](int64_t) { return train.random_batch(2); },
            {.steps = 3, .verbose = 0});
  EXPECT_EQ(m.given, (std::vector<int64_t>{-1, -1, -1}));
}

TEST(FitSteps, BadOptionsAreErrors) {
  nn::Embedding m(3, 3);
  optim::SGD opt(m.parameters(), {.lr = 0.1});
  auto b = [](int64_t) { return data::Example{}; };
  EXPECT_THROW(fit_steps(m, token_cross_entropy, opt, b, {.steps = 0}), ValueError);
  EXPECT_THROW(fit_steps(m, token_cross_entropy, opt, b, {.steps = 3, .eval_every = -1}),
               ValueError);
  EXPECT_THROW(fit_steps(m, token_cross_entropy, opt, b, {.steps = 3, .initial_step = 4}),
               ValueError);
  EXPECT_THROW(fit_steps(m, token_cross_entropy, opt, {}, {.steps = 3}), ValueError);
}

}  // namespace
}  // namespace sn::train
