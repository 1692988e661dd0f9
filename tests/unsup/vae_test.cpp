// The VAE pieces: GaussianLatent (z = μ in eval, μ + σ·ε with ε from the generator in training,
// call() giving {z, μ, log σ²}), the VAE loss autoencoder_training builds and the test error
// evaluate_reconstruction reports, against PyTorch 1.13 (eval mode), and the training loss's
// gradient against finite differences (training mode, the same ε each time by reseeding).
#include <gtest/gtest.h>

#include <cmath>

#include "unsup/golden.h"

namespace {
using namespace sn;
const nlohmann::json& vae() { return sn::testing::autoencoder_golden()["vae"]; }

// 6 -> 5 ReLU -> latent 2 -> 5 ReLU -> 6 sigmoid, in float64 with the golden weights
std::shared_ptr<nn::Module> small_vae(bool golden_weights = true) {
  const char* spec = R"({"input": [6], "layers": [
    {"type": "Sequential", "name": "encoder", "layers": [
      {"type": "Linear", "out": 5}, {"type": "ReLU"}, {"type": "GaussianLatent", "out": 2}]},
    {"type": "Sequential", "name": "decoder", "layers": [
      {"type": "Linear", "out": 5}, {"type": "ReLU"}, {"type": "Linear", "out": 6},
      {"type": "Sigmoid"}]}]})";
  auto m = nn::build_model(spec).module;
  m->to(kFloat64);
  if (golden_weights) {
    nn::StateDict sd;
    for (const auto& [k, v] : vae()["params"].items()) sd.insert(k, sn::testing::golden_tensor(v));
    m->load_state_dict(sd);
  }
  return m;
}

bool close(const Tensor& a, const Tensor& b, double tol = 1e-10) {
  return a.shape() == b.shape() && max(abs(sub(a, b))).item() <= tol;
}

TEST(Vae, LossGradientsAndErrorsMatchPyTorch) {
  auto model = small_vae();
  train::AutoencoderTraining t = train::autoencoder_training(model);
  ASSERT_NE(t.latent, nullptr);
  EXPECT_TRUE(t.logits);
  EXPECT_NE(t.trainee, model);  // the final Sigmoid is fused into the loss
  const Tensor x = sn::testing::golden_tensor(vae()["x"]);
  model->eval();  // z = μ: deterministic, as the golden file
  Tensor loss = t.loss((*t.trainee)(x), x);
  EXPECT_NEAR(loss.item(), vae()["loss"].get<double>(), 1e-10);
  loss.backward();
  for (const auto& [name, p] : model->named_parameters()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_TRUE(close(p.grad(), sn::testing::golden_tensor(vae()["grads"][name])));
  }
  data::DataLoader loader(data::tensor_dataset(x), {.batch_size = 3});  // two batches
  train::ReconstructionError r = train::evaluate_reconstruction(*model, loader);
  EXPECT_EQ(r.examples, 4);
  EXPECT_NEAR(r.bce, vae()["bce"].get<double>(), 1e-10);
  EXPECT_NEAR(r.mse, vae()["mse"].get<double>(), 1e-10);
  EXPECT_NEAR(r.kl, vae()["kl"].get<double>(), 1e-10);
}

TEST(Vae, LatentSamplesInTrainingAndIsMeanInEval) {
  nn::GaussianLatent lat(3, 2);
  lat.to(kFloat64);
  const Tensor h = randn(Shape{4, 3}, {.dtype = kFloat64});
  lat.eval();
  nn::Value v = lat.call(nn::Value(h));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_TRUE(close(v[0], v[1], 0));  // z = μ
  lat.train();
  manual_seed(5);
  const Tensor eps = randn(Shape{4, 2}, {.dtype = kFloat64});
  manual_seed(5);
  const Tensor z = lat(h);
  EXPECT_TRUE(close(z, add(lat.last_mu(), mul(exp(mul(lat.last_logvar(), 0.5)), eps)), 1e-12));
  // kl() is the last forward's
  EXPECT_NEAR(lat.kl(loss::Reduction::Sum).item(),
              gaussian_kl(lat.last_mu(), lat.last_logvar(), loss::Reduction::Sum).item(), 1e-12);
  EXPECT_THROW(nn::GaussianLatent(3, 2).kl(), ValueError);
  EXPECT_THROW(nn::GaussianLatent(0, 2), ValueError);
}

TEST(Vae, TrainingLossGradientMatchesFiniteDifferences) {
  manual_seed(3);
  auto model = small_vae(false);
  train::AutoencoderTraining t = train::autoencoder_training(model);
  model->train();
  const Tensor x = rand(Shape{3, 6}, {.dtype = kFloat64});
  auto loss_at = [&] {
    manual_seed(11);  // the same ε every time
    return t.loss((*t.trainee)(x), x);
  };
  model->zero_grad();
  loss_at().backward();
  for (const auto& [name, p] : model->named_parameters()) {
    SCOPED_TRACE(name);
    const Tensor g = p.grad().contiguous();
    double* w = p.data_ptr<double>();
    for (int64_t i = 0; i < p.numel(); i += 3) {
      NoGradGuard ng;
      const double keep = w[i], e = 1e-6;
      w[i] = keep + e;
      const double up = loss_at().item();
      w[i] = keep - e;
      const double down = loss_at().item();
      w[i] = keep;
      const double numeric = (up - down) / (2 * e);
      EXPECT_NEAR(g.data_ptr<double>()[i], numeric, 1e-6 + 1e-5 * std::abs(numeric)) << i;
    }
  }
}

}  // namespace
