// train/autoencoder.h and the noise layers: the module fit runs shares the model's parameters
// and names and ends before the Sigmoid (its fused BCE equals the BCE of the outputs), models
// without a Sigmoid train on the MSE, targets are the clean inputs (noise touches the model's
// input only, in training only), the codes come from the bottleneck, and the principal
// components are the covariance's eigenvectors. Also a short training that learns.
#include <gtest/gtest.h>

#include <cmath>

#include "unsup/golden.h"

namespace {
using namespace sn;

std::shared_ptr<nn::Module> preset(const std::string& name, const Shape& in) {
  return nn::build_model(nn::preset_spec(name, in, 0), in).module;
}

TEST(AutoencoderTraining, LogitsPathSharesParametersAndMatchesTheSigmoidBce) {
  manual_seed(0);
  auto model = preset("autoencoder", Shape{1, 28, 28});
  train::AutoencoderTraining t = train::autoencoder_training(model);
  EXPECT_TRUE(t.logits);
  EXPECT_EQ(t.latent, nullptr);
  EXPECT_NE(t.description.find("binary cross-entropy"), std::string::npos);
  // same parameter tensors under the same names: a checkpoint of one loads into the other
  const auto a = model->named_parameters(), b = t.trainee->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.data_ptr<float>(), b[i].second.data_ptr<float>());
  }
  const Tensor x = rand(Shape{5, 1, 28, 28});
  const Tensor logits = (*t.trainee)(x);
  EXPECT_EQ(logits.shape(), (Shape{5, 784}));
  // loss on the logits = BCE of the model's outputs (target reshaped to [5, 784])
  const Tensor want = loss::binary_cross_entropy((*model)(x), x.reshape(Shape{5, 784}));
  EXPECT_NEAR(t.loss(logits, x).item(), want.item(), 1e-5);
  EXPECT_NEAR(max(abs(sub(sigmoid(logits), (*model)(x)))).item(), 0.0, 1e-6);
  // a model whose output cannot be the input's shape is named
  EXPECT_THROW(t.loss(logits, rand(Shape{5, 10})), ShapeError);
}

TEST(AutoencoderTraining, WithoutSigmoidTheLossIsMse) {
  auto model = nn::build_model(R"({"input": [4], "layers": [{"type": "Linear", "out": 2},
                                   {"type": "Linear", "out": 4}]})")
                   .module;
  train::AutoencoderTraining t = train::autoencoder_training(model);
  EXPECT_FALSE(t.logits);
  EXPECT_EQ(t.trainee, model);
  const Tensor x = randn(Shape{3, 4});
  const Tensor y = (*model)(x);
  EXPECT_NEAR(t.loss(y, x).item(), loss::mse(y, x).item(), 1e-7);
}

TEST(AutoencoderTraining, TargetIsTheCleanInputAndNoiseOnlyInTraining) {
  const Tensor x = rand(Shape{6, 1, 4, 4}), y = zeros(Shape{6}, {.dtype = kInt64});
  data::DatasetPtr pairs = train::reconstruction_dataset(data::tensor_dataset(x, y));
  data::Example b = pairs->get_batch({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(max(abs(sub(b.x, x))).item(), 0.0);
  EXPECT_EQ(max(abs(sub(b.y, x))).item(), 0.0);  // the label is gone, the target is x
  EXPECT_EQ(max(abs(sub(pairs->get(2).y, x[2]))).item(), 0.0);

  nn::GaussianNoise g(0.3);
  nn::MaskNoise m(0.25);
  const Tensor big = rand(Shape{200, 50});
  manual_seed(1);
  const Tensor gn = g(big), mn = m(big);
  const double sd = sn::std(sub(gn, big)).item();
  EXPECT_NEAR(sd, 0.3, 0.01);
  // masking: about a quarter of the values zeroed, the rest untouched (not rescaled)
  const Tensor zeroed = eq(mn, 0.0).to(kFloat32);
  EXPECT_NEAR(mean(zeroed).item(), 0.25, 0.01);
  EXPECT_EQ(max(abs(mul(sub(mn, big), sub(zeroed, 1.0)))).item(), 0.0);
  g.eval();
  m.eval();
  EXPECT_EQ(g(big).data_ptr<float>(), big.data_ptr<float>());
  EXPECT_EQ(m(big).data_ptr<float>(), big.data_ptr<float>());
  EXPECT_THROW(nn::GaussianNoise(-1), ValueError);
  EXPECT_THROW(nn::MaskNoise(1.0), ValueError);

  // in a model: the input is noised in training, the target (from the data set) stays clean
  auto model = nn::build_model(R"({"input": [50], "layers": [{"type": "GaussianNoise", "std": 0.5},
                                   {"type": "Identity"}]})")
                   .module;
  train::AutoencoderTraining t = train::autoencoder_training(model);
  model->train();
  EXPECT_GT(t.loss((*t.trainee)(big), big).item(), 0.2);  // E[(0.5 ε)²] = 0.25
  model->eval();
  EXPECT_EQ(t.loss((*t.trainee)(big), big).item(), 0.0);
}

TEST(AutoencoderTraining, CodesFromTheEncoderOrTheNarrowestLayer) {
  manual_seed(0);
  auto ae = preset("autoencoder", Shape{1, 28, 28});
  const Tensor x = rand(Shape{7, 1, 28, 28});
  EXPECT_EQ(train::encode(*ae, x, 3).shape(), (Shape{7, 32}));
  auto vae = preset("vae", Shape{1, 28, 28});
  Tensor z = train::encode(*vae, x);
  EXPECT_EQ(z.shape(), (Shape{7, 2}));
  // eval mode: the code is μ, the same each time
  EXPECT_EQ(max(abs(sub(z, train::encode(*vae, x)))).item(), 0.0);
  EXPECT_TRUE(vae->is_training());  // the mode is restored
  auto plain = nn::build_model(R"({"input": [8], "layers": [{"type": "Linear", "out": 5},
      {"type": "Tanh"}, {"type": "Linear", "out": 3}, {"type": "Linear", "out": 8}]})")
                   .module;
  EXPECT_EQ(train::encode(*plain, randn(Shape{4, 8})).shape(), (Shape{4, 3}));
  nn::Linear lin(2, 2);
  EXPECT_THROW(train::encode(lin, randn(Shape{4, 2})), ValueError);
}

TEST(AutoencoderTraining, PrincipalComponentsAreTheCovarianceEigenvectors) {
  // points spread along (3, 4, 0)/5 with sd 3, along (0, 0, 1) with sd 1, (-4, 3, 0)/5 with 0.2
  manual_seed(2);
  const int64_t n = 4000;
  const Tensor c =
      mul(randn(Shape{n, 3}, {.dtype = kFloat64}), tensor({3.0, 1.0, 0.2}, {.dtype = kFloat64}));
  const Tensor axes =
      tensor({{0.6, 0.8, 0.0}, {0.0, 0.0, 1.0}, {-0.8, 0.6, 0.0}}, {.dtype = kFloat64});
  const Tensor x = add(matmul(c, axes), 5.0);
  train::Pca p = train::principal_components(x, 2);
  ASSERT_EQ(p.scores.shape(), (Shape{n, 2}));
  // scores = centred data projected on the eigenvectors: their variances are the eigenvalues
  const double v1 = var(p.scores.select(1, 0)).item(), v2 = var(p.scores.select(1, 1)).item();
  EXPECT_NEAR(v1, 9.0, 0.6);
  EXPECT_NEAR(v2, 1.0, 0.1);
  const double total = sum(var(x, {0})).item();
  EXPECT_NEAR(p.explained[0], v1 / total, 1e-9);
  EXPECT_NEAR(p.explained[1], v2 / total, 1e-9);
  // the first component is ±(0.6, 0.8, 0) (signed: largest loading positive): the scores are
  // the projections on it
  const Tensor xc = sub(x, mean(x, {0}, true));
  const Tensor proj = matmul(xc, tensor({0.6, 0.8, 0.0}, {.dtype = kFloat64}));
  EXPECT_GT(std::abs(mean(mul(proj, p.scores.select(1, 0))).item()) / v1, 0.99);
  EXPECT_THROW(train::principal_components(x, 4), ValueError);
}

TEST(AutoencoderTraining, FitLearnsToReconstruct) {
  // 64 images of 4 x 4 made of 2 patterns: a few epochs lower the BCE clearly
  manual_seed(0);
  const Tensor pat = tensor({{1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1},
                             {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}});
  std::vector<int64_t> which(64);
  for (int i = 0; i < 64; ++i) which[i] = i % 2;
  const Tensor x =
      index_select(pat, 0, tensor(which, Shape{64}, {.dtype = kInt64})).reshape(Shape{64, 1, 4, 4});
  auto model = preset("autoencoder", Shape{1, 4, 4});
  train::AutoencoderTraining t = train::autoencoder_training(model);
  data::DataLoader loader(train::reconstruction_dataset(data::tensor_dataset(x)),
                          {.batch_size = 16, .shuffle = true, .seed = 1});
  optim::Adam opt(model->parameters(), {.lr = 1e-2});
  data::DataLoader test(data::tensor_dataset(x), {.batch_size = 64});
  const double before = train::evaluate_reconstruction(*model, test).bce;
  train::History h = train::fit(*t.trainee, t.loss, opt, loader, {.epochs = 20, .verbose = 0});
  const train::ReconstructionError after = train::evaluate_reconstruction(*model, test);
  EXPECT_LT(after.bce, 0.5 * before);
  EXPECT_LT(after.mse, 0.01);
  EXPECT_TRUE(std::isnan(after.kl));
  EXPECT_LT(h.back().loss, h.epochs[0].loss);
}

}  // namespace
