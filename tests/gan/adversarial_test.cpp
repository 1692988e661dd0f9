// fit_adversarial: a toy 1-D GAN moves its output distribution onto the data's; the history,
// callbacks and modes; the warnings (D's loss at zero, collapsed samples); divergence; pluggable
// losses; and the checkpoint of a pair (round trip, roll-back, wrong files).
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace sn::train {
namespace {

namespace fs = std::filesystem;

// Real data: N(3, 0.5) in one dimension.
std::shared_ptr<data::TensorDataset> gaussian_1d(int64_t n, uint64_t seed) {
  const std::string saved = rng_state();
  manual_seed(seed);
  Tensor x = randn({n, 1}) * 0.5 + 3.0;
  set_rng_state(saved);
  return data::tensor_dataset(x);
}

std::shared_ptr<nn::Sequential> toy_generator() {
  return std::make_shared<nn::Sequential>(
      std::vector<nn::ModulePtr>{nn::Linear(4, 16), nn::ReLU(), nn::Linear(16, 1)});
}
std::shared_ptr<nn::Sequential> toy_discriminator() {
  return std::make_shared<nn::Sequential>(
      std::vector<nn::ModulePtr>{nn::Linear(1, 16), nn::LeakyReLU(0.2), nn::Linear(16, 1)});
}

double mean_output(nn::Module& g, int64_t n) {
  NoGradGuard ng;
  return g(randn({n, 4})).mean().item();
}

TEST(Adversarial, ToyGanMovesItsOutputToTheData) {
  manual_seed(1);
  auto G = toy_generator();
  auto D = toy_discriminator();
  const double before = mean_output(*G, 512);
  ASSERT_LT(std::abs(before), 1.5);  // starts far from 3
  optim::Adam og(G->parameters(), {.lr = 5e-3, .betas = {0.5, 0.999}});
  optim::Adam od(D->parameters(), {.lr = 5e-3, .betas = {0.5, 0.999}});
  data::DataLoader loader(gaussian_1d(512, 2), {.batch_size = 64, .shuffle = true, .seed = 3});
  AdversarialResult r =
      fit_adversarial(*G, *D, og, od, loader, {.epochs = 30, .latent_dim = 4, .verbose = 0});
  ASSERT_EQ(r.history.size(), 30u);
  const double after = mean_output(*G, 2048);
  EXPECT_NEAR(after, 3.0, 0.5) << "before " << before;
  const EpochRecord& last = r.history.back();
  for (const char* k : {"loss_d", "loss_g", "d_real", "d_fake", "warnings"})
    EXPECT_TRUE(last.metrics.count(k)) << k;
  EXPECT_NEAR(last.loss, last.metrics.at("loss_d") + last.metrics.at("loss_g"), 1e-12);
  EXPECT_EQ(last.batches, 8);
  EXPECT_EQ(last.examples, 512);
  EXPECT_TRUE(G->is_training());
  EXPECT_TRUE(D->is_training());
  for (const Tensor& p : D->parameters()) EXPECT_TRUE(p.requires_grad());  // unfrozen after
}

TEST(Adversarial, CallbacksSeeTheGeneratorAndBothLosses) {
  manual_seed(4);
  auto G = toy_generator();
  auto D = toy_discriminator();
  optim::Adam og(G->parameters()), od(D->parameters());
  data::DataLoader loader(gaussian_1d(96, 5), {.batch_size = 32});
  std::vector<std::string> calls;
  auto cb = std::make_shared<LambdaCallback>(
      LambdaHooks{.on_train_begin =
                      [&](TrainState& s) {
                        calls.push_back("train_begin");
                        EXPECT_EQ(s.model, G.get());
                        EXPECT_EQ(s.optimizer, &og);
                      },
                  .on_epoch_begin = [&](TrainState&) { calls.push_back("epoch_begin"); },
                  .on_batch_end =
                      [&](TrainState& s) {
                        calls.push_back("batch_end");
                        EXPECT_TRUE(s.running_metrics.count("loss_d"));
                        EXPECT_TRUE(s.running_metrics.count("loss_g"));
                      },
                  .on_epoch_end =
                      [&](TrainState& s) {
                        calls.push_back("epoch_end");
                        EXPECT_TRUE(s.history->back().metrics.count("diversity"));
                      },
                  .on_train_end = [&](TrainState&) { calls.push_back("train_end"); }});
  AdversarialResult r = fit_adversarial(*G, *D, og, od, loader,
                                        {.epochs = 2,
                                         .latent_dim = 4,
                                         .callbacks = {cb},
                                         .verbose = 0,
                                         .fixed_noise = randn({16, 4})});
  const std::vector<std::string> want = {"train_begin", "epoch_begin", "batch_end",   "batch_end",
                                         "batch_end",   "epoch_end",   "epoch_begin", "batch_end",
                                         "batch_end",   "batch_end",   "epoch_end",   "train_end"};
  EXPECT_EQ(calls, want);

  // resume: epoch 2 of 3, the earlier record kept
  AdversarialResult r2 = fit_adversarial(*G, *D, og, od, loader,
                                         {.epochs = 3,
                                          .latent_dim = 4,
                                          .initial_epoch = 2,
                                          .initial_history = r.history,
                                          .verbose = 0});
  ASSERT_EQ(r2.history.size(), 3u);
  EXPECT_EQ(r2.history.back().epoch, 2);
}

TEST(Adversarial, WarnsWhenDiscriminatorWinsAndSamplesCollapse) {
  manual_seed(6);
  // G cannot learn (lr ~0) and outputs a constant far from the data: D wins, and the samples
  // from the fixed noise do not vary at all
  auto G = std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{nn::Linear(4, 1)});
  {
    NoGradGuard ng;
    for (Tensor& p : G->parameters()) p.zero_();
  }
  auto D = toy_discriminator();
  optim::SGD og(G->parameters(), {.lr = 1e-30});
  optim::Adam od(D->parameters(), {.lr = 0.05});
  data::DataLoader loader(gaussian_1d(640, 7), {.batch_size = 64, .shuffle = true});
  std::ostringstream out;
  AdversarialResult r = fit_adversarial(*G, *D, og, od, loader,
                                        {.epochs = 4,
                                         .latent_dim = 4,
                                         .verbose = 2,
                                         .stream = &out,
                                         .d_loss_floor = 0.05,
                                         .d_loss_window = 10,
                                         .fixed_noise = randn({8, 4})});
  ASSERT_FALSE(r.warnings.empty());
  bool d_wins = false, collapse = false;
  for (const auto& w : r.warnings) {
    d_wins = d_wins || w.find("discriminator's loss averaged") != std::string::npos;
    collapse = collapse || w.find("stopped varying") != std::string::npos;
  }
  EXPECT_TRUE(d_wins) << out.str();
  EXPECT_TRUE(collapse) << out.str();
  EXPECT_NE(out.str().find("warning: epoch 1"), std::string::npos) << out.str();
  EXPECT_LT(r.history.epochs[0].metrics.at("diversity"), 1e-6);
  EXPECT_GE(r.history.epochs[0].metrics.at("warnings"), 1.0);
  // one line per epoch at verbose 2, both losses on it
  EXPECT_NE(out.str().find("epoch 4/4  loss_d "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("loss_g "), std::string::npos);
}

TEST(Adversarial, PluggableLossesAndNoise) {
  manual_seed(8);
  auto G = toy_generator();
  auto D = toy_discriminator();
  optim::Adam og(G->parameters(), {.lr = 5e-3, .betas = {0.5, 0.999}});
  optim::Adam od(D->parameters(), {.lr = 5e-3, .betas = {0.5, 0.999}});
  data::DataLoader loader(gaussian_1d(512, 9), {.batch_size = 64, .shuffle = true});
  int64_t noise_calls = 0;
  // least-squares GAN: D pushes real to 1 and fakes to 0, G pushes its fakes to 1
  AdversarialResult r = fit_adversarial(
      *G, *D, og, od, loader,
      {.epochs = 30,
       .noise =
           [&](int64_t n) {
             ++noise_calls;
             return rand({n, 4}) * 2.0 - 1.0;
           },
       .d_loss =
           [](const Tensor& real, const Tensor& fake) {
             return loss::mse(real, ones_like(real)) + loss::mse(fake, zeros_like(fake));
           },
       .g_loss = [](const Tensor& fake) { return loss::mse(fake, ones_like(fake)); },
       .verbose = 0});
  EXPECT_EQ(noise_calls, 30 * 8);
  NoGradGuard ng;
  const double after = (*G)(rand({2048, 4}) * 2.0 - 1.0).mean().item();
  EXPECT_NEAR(after, 3.0, 0.6);
}

TEST(Adversarial, NonFiniteLossStopsWithAClearError) {
  manual_seed(10);
  auto G = toy_generator();
  auto D = toy_discriminator();
  optim::Adam og(G->parameters()), od(D->parameters());
  data::DataLoader loader(gaussian_1d(128, 11), {.batch_size = 32});
  int64_t calls = 0;
  try {
    fit_adversarial(*G, *D, og, od, loader,
                    {.epochs = 2,
                     .latent_dim = 4,
                     .d_loss =
                         [&](const Tensor& real, const Tensor& fake) {
                           Tensor l = gan_discriminator_loss(real, fake);
                           return ++calls == 3 ? l * std::nan("") : l;
                         },
                     .verbose = 0});
    FAIL() << "no error";
  } catch (const DivergenceError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("the discriminator's loss is nan at epoch 1, batch 3 (of 4)"),
              std::string::npos)
        << m;
  }
}

TEST(Adversarial, OptionErrors) {
  auto G = toy_generator();
  auto D = toy_discriminator();
  optim::Adam og(G->parameters()), od(D->parameters());
  data::DataLoader loader(gaussian_1d(10, 1), {.batch_size = 32, .drop_last = true});
  EXPECT_THROW(fit_adversarial(*G, *D, og, od, loader, {.verbose = 0}), ValueError);  // no batch
  data::DataLoader ok(gaussian_1d(10, 1), {.batch_size = 5});
  EXPECT_THROW(fit_adversarial(*G, *D, og, od, ok, {.latent_dim = 0, .verbose = 0}), ValueError);
  EXPECT_THROW(fit_adversarial(*G, *D, og, od, ok, {.epochs = 1, .initial_epoch = 2}), ValueError);
  EXPECT_THROW(fit_adversarial(*G, *D, og, od, ok, {.latent_dim = 4, .fixed_noise = randn({1, 4})}),
               ValueError);
  EXPECT_NEAR(mean_pairwise_distance(tensor({{0.0, 0.0}, {3.0, 4.0}})), 5.0, 1e-9);
  EXPECT_THROW(mean_pairwise_distance(randn({1, 3})), ValueError);
}

class PairCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sn_gan_ckpt_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  fs::path dir_;
};

TEST_F(PairCheckpoint, RoundTripWithOptimizersAndRng) {
  manual_seed(12);
  nn::GanPreset p = nn::gan_preset("dcgan", Shape{1, 8, 8}, 8);
  auto G = nn::build_model(p.generator).module;
  auto D = nn::build_model(p.discriminator).module;
  nn::init_gan_(*G);
  nn::init_gan_(*D);
  optim::Adam og(G->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  optim::Adam od(D->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  manual_seed(13);
  data::DataLoader loader(data::tensor_dataset(rand({8, 1, 8, 8}) * 2.0 - 1.0), {.batch_size = 4});
  fit_adversarial(*G, *D, og, od, loader, {.epochs = 1, .latent_dim = 8, .verbose = 0});
  save_adversarial_checkpoint(path("pair.safetensors"), *G, *D, &og, &od,
                              {.epoch = 1,
                               .generator_spec = p.generator,
                               .discriminator_spec = p.discriminator,
                               .extra = {{"note", "x"}}});
  const Tensor next = randn({3});  // the RNG draws after the save
  EXPECT_TRUE(is_adversarial_checkpoint(path("pair.safetensors")));

  auto G2 = nn::build_model(p.generator).module;
  auto D2 = nn::build_model(p.discriminator).module;
  optim::Adam og2(G2->parameters(), {.lr = 1}), od2(D2->parameters(), {.lr = 1});
  AdversarialCheckpointInfo info =
      load_adversarial_checkpoint(path("pair.safetensors"), G2.get(), D2.get(), &og2, &od2);
  EXPECT_EQ(info.epoch, 1);
  EXPECT_EQ(info.generator_spec, p.generator);
  EXPECT_EQ(info.extra.at("note"), "x");
  EXPECT_TRUE(info.has_optimizers);
  EXPECT_DOUBLE_EQ(og2.lr(), 2e-4);
  EXPECT_TRUE(allclose(randn({3}), next, 0, 0));
  for (auto [a, b] : {std::pair{G, G2}, std::pair{D, D2}}) {
    auto sa = a->state_dict(), sb = b->state_dict();
    for (const auto& [k, t] : sa) EXPECT_TRUE(allclose(t, sb.at(k), 0, 0)) << k;
  }
  // both train on identically from here
  manual_seed(14);
  fit_adversarial(*G, *D, og, od, loader, {.epochs = 1, .latent_dim = 8, .verbose = 0});
  manual_seed(14);
  fit_adversarial(*G2, *D2, og2, od2, loader, {.epochs = 1, .latent_dim = 8, .verbose = 0});
  for (size_t i = 0; i < G->parameters().size(); ++i)
    EXPECT_TRUE(allclose(G->parameters()[i], G2->parameters()[i], 0, 0));
}

TEST_F(PairCheckpoint, WrongModelRollsBackAndOtherFilesAreRefused) {
  manual_seed(15);
  nn::GanPreset p = nn::gan_preset("dcgan", Shape{1, 8, 8}, 8);
  auto G = nn::build_model(p.generator).module;
  auto D = nn::build_model(p.discriminator).module;
  save_adversarial_checkpoint(path("pair.safetensors"), *G, *D, nullptr, nullptr, {.epoch = 2});
  // a generator that fits, a discriminator that does not: nothing changes
  auto G2 = nn::build_model(p.generator).module;
  auto Dbig = nn::build_model(nn::gan_preset("dcgan", Shape{1, 12, 12}, 8).discriminator).module;
  const Tensor before = G2->parameters()[0].clone();
  try {
    load_adversarial_checkpoint(path("pair.safetensors"), G2.get(), Dbig.get());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit the discriminator"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(allclose(G2->parameters()[0], before, 0, 0));
  // no optimizer state in the file
  optim::Adam og(G2->parameters()), od(D->parameters());
  EXPECT_THROW(load_adversarial_checkpoint(path("pair.safetensors"), G2.get(), D.get(), &og, &od),
               ValueError);
  // G alone loads
  auto info = load_adversarial_checkpoint(path("pair.safetensors"), G2.get(), nullptr);
  EXPECT_EQ(info.epoch, 2);
  EXPECT_FALSE(info.has_optimizers);
  // a plain training checkpoint is not a pair
  save_checkpoint(path("one.safetensors"), *G);
  EXPECT_FALSE(is_adversarial_checkpoint(path("one.safetensors")));
  try {
    load_adversarial_checkpoint(path("one.safetensors"), G2.get(), nullptr);
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("not a generator-discriminator checkpoint"),
              std::string::npos);
  }
  EXPECT_THROW(save_adversarial_checkpoint(path("x.safetensors"), *G, *D, &og, nullptr),
               ValueError);
  EXPECT_THROW(save_adversarial_checkpoint(path("x.safetensors"), *G, *D, nullptr, nullptr,
                                           {.extra = {{"epoch", "3"}}}),
               ValueError);
}

}  // namespace
}  // namespace sn::train
