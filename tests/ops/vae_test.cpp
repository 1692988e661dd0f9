// reparameterize and gaussian_kl (ops/vae.h): values and gradients against PyTorch 1.13
// (tests/golden/gen_generative.py), finite-difference gradchecks, ε from the library's generator
// (reproducible with manual_seed, N(0, 1)), and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "conv/conv_helpers.h"
#include "conv/generative_golden.h"
#include "sinapsis/sinapsis.h"

namespace sn {
namespace {

using testing::close;
using testing::error_of;
using testing::from_json;

const nlohmann::json& vae() { return testing::generative_golden()["vae"]; }

TEST(Vae, ReparameterizeMatchesPyTorch) {
  for (DType dt : {kFloat64, kFloat32}) {
    SCOPED_TRACE(dtype_name(dt));
    const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
    Tensor mu = from_json(vae()["mu"], dt, true), lv = from_json(vae()["logvar"], dt, true);
    Tensor z = reparameterize(mu, lv, from_json(vae()["eps"], dt));
    EXPECT_TRUE(close(z, from_json(vae()["z"], kFloat64), rt, at));
    z.backward(from_json(vae()["gz"], dt));
    EXPECT_TRUE(close(mu.grad(), from_json(vae()["z_dmu"], kFloat64), rt, at));
    EXPECT_TRUE(close(lv.grad(), from_json(vae()["z_dlogvar"], kFloat64), rt, at));
  }
}

TEST(Vae, KlMatchesPyTorchForEveryReduction) {
  const std::vector<std::pair<const char*, loss::Reduction>> reds = {
      {"none", loss::Reduction::None},
      {"sum", loss::Reduction::Sum},
      {"mean", loss::Reduction::Mean},
      {"batchmean", loss::Reduction::BatchMean}};
  for (DType dt : {kFloat64, kFloat32})
    for (auto [name, red] : reds) {
      SCOPED_TRACE(std::string(name) + " " + dtype_name(dt));
      const double rt = testing::rtol_for(dt), at = testing::atol_for(dt);
      const auto& ref = vae()["kl"][name];
      Tensor mu = from_json(vae()["mu"], dt, true), lv = from_json(vae()["logvar"], dt, true);
      Tensor k = gaussian_kl(mu, lv, red);
      EXPECT_TRUE(close(k, from_json(ref["y"], kFloat64), rt, at));
      k.backward(from_json(ref["gy"], dt));
      EXPECT_TRUE(close(mu.grad(), from_json(ref["dmu"], kFloat64), rt, at));
      EXPECT_TRUE(close(lv.grad(), from_json(ref["dlogvar"], kFloat64), rt, at));
    }
}

TEST(Vae, Gradcheck) {
  manual_seed(9);
  Tensor mu = randn({3, 4}, {.dtype = kFloat64, .requires_grad = true});
  Tensor lv = randn({3, 4}, {.dtype = kFloat64, .requires_grad = true});
  Tensor eps = randn({3, 4}, {.dtype = kFloat64});
  auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& v) { return reparameterize(v[0], v[1], eps); }, {mu, lv});
  EXPECT_TRUE(r.ok) << r.message;
  for (auto red : {loss::Reduction::None, loss::Reduction::Sum, loss::Reduction::Mean,
                   loss::Reduction::BatchMean}) {
    auto rk = autograd::gradcheck(
        [&](const std::vector<Tensor>& v) { return gaussian_kl(v[0], v[1], red); }, {mu, lv});
    EXPECT_TRUE(rk.ok) << rk.message;
  }
}

TEST(Vae, EpsilonFromTheLibraryGenerator) {
  Tensor mu = full({2000}, 3.0), lv = full({2000}, std::log(4.0));  // σ = 2
  manual_seed(42);
  Tensor a = reparameterize(mu, lv);
  manual_seed(42);
  Tensor b = reparameterize(mu, lv);
  manual_seed(42);
  Tensor eps = randn({2000});
  EXPECT_TRUE(close(a, b, 0, 0));
  EXPECT_TRUE(close(a, add(mul(eps, 2.0), 3.0), 1e-6, 1e-6));
  // z ~ N(3, 4): loose moment checks on 2000 draws
  EXPECT_NEAR(mean(a).item(), 3.0, 0.2);
  EXPECT_NEAR(std::sqrt(mean(square(sub(a, 3.0))).item()), 2.0, 0.2);
  // KL of N(0, 1) from itself is 0
  EXPECT_EQ(gaussian_kl(zeros({4, 2}), zeros({4, 2})).item(), 0.0);
}

TEST(Vae, ClearErrors) {
  EXPECT_NE(error_of([] {
              reparameterize(zeros({4, 2}), zeros({4, 3}));
            })
                .find("reparameterize: mu and logvar must have the same shape (got [4, 2] and [4, "
                      "3])"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              gaussian_kl(zeros({4, 2}), zeros({2, 4}));
            }).find("gaussian_kl: mu and logvar must have the same shape"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              reparameterize(zeros({4, 2}), zeros({4, 2}), zeros({4}));
            }).find("eps must have mu's shape [4, 2] (got [4])"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              gaussian_kl(zeros({4, 2}), zeros({4, 2}, {.dtype = kFloat64}));
            }).find("expected floating-point mu and logvar of one dtype"),
            std::string::npos);
}

}  // namespace
}  // namespace sn
