// The GAN presets of gan.h as pairs of JSON specs, and DCGAN's initialiser.
#include "sinapsis/nn/gan.h"

#include <nlohmann/json.hpp>

#include "sinapsis/core/error.h"
#include "sinapsis/nn/init.h"

namespace sn::nn {

using json = nlohmann::json;

std::vector<std::string> gan_preset_names() { return {"dcgan"}; }
bool is_gan_preset(const std::string& name) { return name == "dcgan"; }

GanPreset gan_preset(const std::string& name, const Shape& image, int64_t latent_dim) {
  SN_CHECK(is_gan_preset(name), ValueError, "gan_preset: unknown pair \"", name,
           "\" (known: dcgan)");
  SN_CHECK(latent_dim > 0 && latent_dim <= (1 << 20), ValueError, "gan_preset ", name,
           ": latent_dim must be in [1, 1048576] (got ", latent_dim, ")");
  SN_CHECK(image.size() == 3 && image[0] > 0 && image[1] >= 4 && image[2] >= 4 &&
               image[1] % 4 == 0 && image[2] % 4 == 0 && image[0] <= 64 && image[1] <= 1024 &&
               image[2] <= 1024,
           ValueError, "gan_preset ", name,
           ": needs images [C, H, W] with H and W divisible by 4, at most [64, 1024, 1024] (got ",
           image, ")");
  const int64_t c = image[0], h4 = image[1] / 4, w4 = image[2] / 4;
  GanPreset p;
  p.name = name;
  p.latent_dim = latent_dim;
  p.init = "dcgan";
  json g;
  g["name"] = name + "-generator";
  g["input"] = {latent_dim};
  g["layers"] = json::array(
      {{{"type", "Linear"}, {"out", 128 * h4 * w4}, {"bias", false}},
       {{"type", "BatchNorm1d"}},
       {{"type", "ReLU"}},
       {{"type", "Unflatten"}, {"dim", 1}, {"sizes", {128, h4, w4}}},
       {{"type", "ConvTranspose2d"},
        {"out", 64},
        {"kernel", 4},
        {"stride", 2},
        {"padding", 1},
        {"bias", false}},
       {{"type", "BatchNorm2d"}},
       {{"type", "ReLU"}},
       {{"type", "ConvTranspose2d"}, {"out", c}, {"kernel", 4}, {"stride", 2}, {"padding", 1}},
       {{"type", "Tanh"}}});
  json d;
  d["name"] = name + "-discriminator";
  d["input"] = image.vec();
  d["layers"] =
      json::array({{{"type", "Conv2d"}, {"out", 64}, {"kernel", 4}, {"stride", 2}, {"padding", 1}},
                   {{"type", "LeakyReLU"}, {"negative_slope", 0.2}},
                   {{"type", "Conv2d"},
                    {"out", 128},
                    {"kernel", 4},
                    {"stride", 2},
                    {"padding", 1},
                    {"bias", false}},
                   {{"type", "BatchNorm2d"}},
                   {{"type", "LeakyReLU"}, {"negative_slope", 0.2}},
                   {{"type", "Flatten"}},
                   {{"type", "Linear"}, {"out", 1}}});
  p.generator = g.dump(2);
  p.discriminator = d.dump(2);
  return p;
}

void init_gan_(Module& model, const std::string& init) {
  SN_CHECK(init == "dcgan" || init == "default", ValueError, "init_gan_: unknown initialiser \"",
           init, "\" (known: dcgan, default)");
  if (init == "default") return;
  model.apply([](Module& m) {
    const std::string t = m.type_name();
    const bool affine = t == "Conv1d" || t == "Conv2d" || t == "ConvTranspose2d" || t == "Linear";
    const bool norm = t == "BatchNorm1d" || t == "BatchNorm2d";
    if (!affine && !norm) return;
    for (auto& [name, p] : m.named_parameters(false)) {
      if (name == "weight")
        init::normal_(p, norm ? 1.0 : 0.0, 0.02);
      else if (name == "bias")
        init::zeros_(p);
    }
  });
}

}  // namespace sn::nn
