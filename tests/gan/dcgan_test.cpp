// The dcgan preset against PyTorch (tests/golden/gen_gan.py): parameter shapes and counts for
// Fashion-MNIST images, and one D + G step of fit_adversarial (losses, gradients, updated
// parameters and BatchNorm buffers) from parameters both sides compute by the same formula.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

namespace sn {
namespace {

using json = nlohmann::json;

const json& golden() {
  static const json j = [] {
    std::ifstream f(std::string(SN_SOURCE_DIR) + "/tests/golden/gan.json");
    if (!f) throw std::runtime_error("cannot open tests/golden/gan.json");
    return json::parse(f);
  }();
  return j;
}

std::vector<int64_t> shape_vec(const Tensor& t) { return t.shape().vec(); }

TEST(DcganPreset, ShapesAndCountsMatchPyTorch) {
  const json& g = golden()["shapes_28"];
  nn::GanPreset p = nn::gan_preset("dcgan", Shape{1, 28, 28});
  EXPECT_EQ(p.latent_dim, 64);
  auto G = nn::build_model(p.generator);
  auto D = nn::build_model(p.discriminator);
  EXPECT_EQ(G.input_shape, Shape{64});
  EXPECT_EQ(G.output_shape, (Shape{1, 28, 28}));
  EXPECT_EQ(D.input_shape, (Shape{1, 28, 28}));
  EXPECT_EQ(D.output_shape, Shape{1});
  const auto gp = G.module->parameters(), dp = D.module->parameters();
  ASSERT_EQ(gp.size(), g["generator"].size());
  ASSERT_EQ(dp.size(), g["discriminator"].size());
  for (size_t i = 0; i < gp.size(); ++i)
    EXPECT_EQ(shape_vec(gp[i]), g["generator"][i].get<std::vector<int64_t>>()) << i;
  for (size_t i = 0; i < dp.size(); ++i)
    EXPECT_EQ(shape_vec(dp[i]), g["discriminator"][i].get<std::vector<int64_t>>()) << i;
  EXPECT_EQ(G.module->num_parameters(), g["generator_params"].get<int64_t>());
  EXPECT_EQ(D.module->num_parameters(), g["discriminator_params"].get<int64_t>());
}

TEST(DcganPreset, InitIsDcgans) {
  manual_seed(3);
  nn::GanPreset p = nn::gan_preset("dcgan", Shape{1, 28, 28});
  auto G = nn::build_model(p.generator);
  nn::init_gan_(*G.module, p.init);
  for (auto& [name, t] : G.module->named_parameters()) {
    const double mean = t.mean().item();
    const double sd = std::sqrt(((t - t.mean()) * (t - t.mean())).mean().item());
    if (name.ends_with("bias")) {
      EXPECT_EQ(t.abs().max().item(), 0.0) << name;
    } else if (t.dim() == 1) {  // BatchNorm weight ~ N(1, 0.02)
      EXPECT_NEAR(mean, 1.0, 0.01) << name;
      EXPECT_NEAR(sd, 0.02, 0.005) << name;
    } else {
      EXPECT_NEAR(mean, 0.0, 0.005) << name;
      EXPECT_NEAR(sd, 0.02, 0.003) << name;
    }
  }
}

TEST(DcganPreset, Errors) {
  EXPECT_THROW(nn::gan_preset("dcgan", Shape{1, 30, 30}), ValueError);  // not divisible by 4
  EXPECT_THROW(nn::gan_preset("dcgan", Shape{784}), ValueError);
  EXPECT_THROW(nn::gan_preset("wgan", Shape{1, 28, 28}), ValueError);
  try {
    nn::preset_spec("dcgan", Shape{1, 28, 28}, 10);
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("generator-discriminator pair"), std::string::npos)
        << e.what();
  }
}

// The formula of gen_gan.py: offset + scale·sin(0.7·i + 0.3·k), in float32.
Tensor formula(int64_t n, int64_t k, double scale, double offset, const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(
        offset + scale * std::sin(0.7 * static_cast<double>(i) + 0.3 * static_cast<double>(k)));
  return tensor(v, shape);
}

void set_params(nn::Module& m, int64_t base) {
  NoGradGuard ng;
  int64_t k = 0;
  for (auto& [name, p] : m.named_parameters()) {
    const bool bn = p.dim() == 1 && name.ends_with("weight");
    Tensor v = bn                       ? formula(p.numel(), base + k, 0.02, 1.0, p.shape())
               : name.ends_with("bias") ? formula(p.numel(), base + k, 0.01, 0.0, p.shape())
                                        : formula(p.numel(), base + k, 0.05, 0.0, p.shape());
    p.copy_(v);
    ++k;
  }
}

void expect_probe(const Tensor& t, const json& want, const std::string& what, double tol) {
  ASSERT_TRUE(t.defined()) << what;
  ASSERT_EQ(shape_vec(t), want["shape"].get<std::vector<int64_t>>()) << what;
  Tensor f = t.detach().to(kFloat64).contiguous().reshape({-1});
  const double sum = f.sum().item(), abs_sum = f.abs().sum().item();
  const double scale = std::max(1.0, want["abs_sum"].get<double>());
  EXPECT_NEAR(sum, want["sum"].get<double>(), tol * scale) << what << " sum";
  EXPECT_NEAR(abs_sum, want["abs_sum"].get<double>(), tol * scale) << what << " abs_sum";
  const auto idx = want["index"].get<std::vector<int64_t>>();
  const auto vals = want["values"].get<std::vector<double>>();
  const double* d = f.data_ptr<double>();
  double worst = 0;
  for (size_t j = 0; j < idx.size(); ++j) worst = std::max(worst, std::abs(d[idx[j]] - vals[j]));
  EXPECT_LT(worst, tol) << what << " elements";
}

TEST(DcganStep, OneDiscriminatorAndGeneratorStepMatchesPyTorch) {
  const json& s = golden()["step"];
  const int64_t n = s["n"], zd = s["latent"];
  const int threads = get_num_threads();
  set_num_threads(1);
  nn::GanPreset p = nn::gan_preset("dcgan", Shape{1, 8, 8}, zd);
  auto G = nn::build_model(p.generator).module;
  auto D = nn::build_model(p.discriminator).module;
  set_params(*G, 0);
  set_params(*D, 100);
  Tensor z = formula(n * zd, 7, 1.0, 0.0, Shape{n, zd});
  Tensor real = tanh(formula(n * 64, 9, 1.5, 0.1, Shape{n, 1, 8, 8}));
  optim::Adam og(G->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  optim::Adam od(D->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  data::DataLoader loader(data::tensor_dataset(real), {.batch_size = n});
  train::AdversarialResult r = train::fit_adversarial(
      *G, *D, og, od, loader, {.epochs = 1, .noise = [&](int64_t) { return z; }, .verbose = 0});
  set_num_threads(threads);
  ASSERT_EQ(r.history.size(), 1u);
  EXPECT_NEAR(r.history.back().metrics.at("loss_d"), s["loss_d"].get<double>(), 1e-5);
  EXPECT_NEAR(r.history.back().metrics.at("loss_g"), s["loss_g"].get<double>(), 1e-5);
  const auto dp = D->parameters(), gp = G->parameters();
  ASSERT_EQ(dp.size(), s["d_grads"].size());
  ASSERT_EQ(gp.size(), s["g_grads"].size());
  // D's gradients are those of loss_d alone: the G step froze D (PyTorch adds loss_g's to them,
  // and zeroes them before they are used again)
  for (size_t i = 0; i < dp.size(); ++i) {
    expect_probe(dp[i].grad(), s["d_grads"][i], "D grad " + std::to_string(i), 1e-5);
    expect_probe(dp[i], s["d_after"][i], "D param " + std::to_string(i), 1e-5);
  }
  for (size_t i = 0; i < gp.size(); ++i) {
    expect_probe(gp[i].grad(), s["g_grads"][i], "G grad " + std::to_string(i), 1e-5);
    expect_probe(gp[i], s["g_after"][i], "G param " + std::to_string(i), 1e-5);
  }
  const auto db = D->buffers(), gb = G->buffers();
  ASSERT_EQ(db.size(), s["d_buffers"].size());
  ASSERT_EQ(gb.size(), s["g_buffers"].size());
  for (size_t i = 0; i < db.size(); ++i)
    expect_probe(db[i], s["d_buffers"][i], "D buffer " + std::to_string(i), 1e-5);
  for (size_t i = 0; i < gb.size(); ++i)
    expect_probe(gb[i], s["g_buffers"][i], "G buffer " + std::to_string(i), 1e-5);
}

}  // namespace
}  // namespace sn
