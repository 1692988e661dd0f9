// `sinapsis sample RUN --n N --seed S --out FILE`: N images from a GAN run's generator (eval
// mode), written as an IDX file of unsigned bytes round((x + 1) / 2 · 255), the mapping of
// shared/reference/generative.py --save-samples, and with --grid a PNG grid of the first 64.
// The same run, N and seed give the same bytes.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/json_read.h"

namespace sn::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// IDX files count images in an unsigned 32-bit field; beyond that, and beyond 4 GiB of bytes,
// a sample file is a mistake rather than a data set.
constexpr int64_t kMaxSampleBytes = int64_t{4} << 30;

void put_u32(std::string& s, uint64_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void add_sample(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sample", "Generate images with a GAN run's generator: an IDX file (and a PNG grid)");
  auto run = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto grid = std::make_shared<std::string>();
  auto n = std::make_shared<int64_t>(64);
  auto seed = std::make_shared<uint64_t>(0);
  auto threads = std::make_shared<int>(0);
  cmd->add_option("run", *run, "GAN run folder (train --preset dcgan) or its last.safetensors")
      ->required();
  cmd->add_option("--n", *n, "number of images")->capture_default_str()->check(positive());
  cmd->add_option("--seed", *seed, "seed of the noise (same run, n and seed: same bytes)")
      ->capture_default_str()
      ->check(non_negative_integer());
  cmd->add_option("--out", *out,
                  "IDX file to write (unsigned bytes round((x + 1) / 2 * 255), as "
                  "generative.py --save-samples)")
      ->required();
  cmd->add_option("--grid", *grid, "also a PNG grid of the first 64 images");
  cmd->add_option("--threads", *threads, "threads (default: all cores)")->check(non_negative());
  cmd->callback([run, out, grid, n, seed, threads] {
    apply_threads(*threads);
    const std::string file =
        fs::is_directory(*run) ? RunPaths(*run).last : resolve_checkpoint(*run);
    SN_CHECK(fs::exists(file), IOError, "sample: '", *run,
             "' has no last.safetensors; hint: sample takes the folder of a GAN run "
             "(sinapsis train --preset dcgan)");
    SN_CHECK(train::is_adversarial_checkpoint(file), ValueError, "sample: '", file,
             "' is not a GAN run's checkpoint (no generator); hint: sample takes the folder of "
             "a run trained with --preset dcgan");
    train::AdversarialCheckpointInfo info = train::read_adversarial_checkpoint_info(file);
    SN_CHECK(!info.generator_spec.empty(), IOError, "sample: '", file,
             "' holds no generator spec, so the generator cannot be rebuilt");
    nn::BuiltModel g = nn::build_model(info.generator_spec, Shape(), "in '" + file + "'");
    SN_CHECK(g.input_shape.size() == 1 && g.output_shape.size() == 3, IOError, "sample: '", file,
             "': the generator maps ", g.input_shape, " to ", g.output_shape,
             ", not noise [latent] to images [C, H, W]");
    // the size before anything is allocated: IDX counts in 32 bits, and 4 GiB is the cap
    const int64_t per = g.output_shape.numel();
    const int64_t max_n = std::min<int64_t>(kMaxSampleBytes / per, 0xffffffffLL);
    SN_CHECK(*n <= max_n, ValueError, "--n: ", *n, " images of ", g.output_shape, " take ", *n,
             " x ", per, " bytes (", static_cast<double>(*n) * static_cast<double>(per) / 1e9,
             " GB); at most ", max_n, " images (4 GiB) per file");
    refuse_overwrite("sample --out", *out, {{"checkpoint", file}});
    if (!grid->empty()) refuse_overwrite("sample --grid", *grid, {{"checkpoint", file}});
    train::load_adversarial_checkpoint(file, g.module.get(), nullptr, nullptr, nullptr, false);
    nn::Module& G = *g.module;
    G.eval();
    manual_seed(*seed);
    const int64_t latent = g.input_shape[0];
    const Shape& img = g.output_shape;
    std::string header;
    // magic: 0x08 (unsigned byte), then the number of dims
    const bool grey = img[0] == 1;
    header.append({0, 0, 0x08, static_cast<char>(grey ? 3 : 4)});
    put_u32(header, static_cast<uint64_t>(*n));
    if (!grey) put_u32(header, static_cast<uint64_t>(img[0]));
    put_u32(header, static_cast<uint64_t>(img[1]));
    put_u32(header, static_cast<uint64_t>(img[2]));
    io::AtomicFile f(*out);
    f.write(header);
    NoGradGuard ng;
    Tensor first;  // the grid's images
    const int64_t chunk = 1000;
    double pixel_sum = 0;
    for (int64_t i = 0; i < *n; i += chunk) {
      const int64_t m = std::min(chunk, *n - i);
      Tensor x = G(randn({m, latent})).to(kFloat32).contiguous();  // [m, C, H, W] in [-1, 1]
      if (!first.defined() && !grid->empty()) first = x.narrow(0, 0, std::min<int64_t>(m, 64));
      const float* p = x.data_ptr<float>();
      std::string bytes(static_cast<size_t>(x.numel()), '\0');
      for (size_t k = 0; k < bytes.size(); ++k) {
        // torch: ((s + 1) / 2 * 255).round().clamp(0, 255): round half to even, NaN to 0
        const float v = (p[k] + 1.0f) / 2.0f * 255.0f;
        const float r = std::nearbyint(std::isnan(v) ? 0.0f : v);
        const auto b = static_cast<uint8_t>(std::clamp(r, 0.0f, 255.0f));
        bytes[k] = static_cast<char>(b);
        pixel_sum += b;
      }
      f.write(bytes);
    }
    f.commit();
    std::cout << "wrote " << *out << ": " << *n << " images " << img << " (IDX unsigned bytes), "
              << "mean pixel " << fmt(pixel_sum / static_cast<double>(*n * per) / 255.0)
              << ", from " << file << " (epoch " << info.epoch << "), seed " << *seed << "\n";
    if (!grid->empty()) {
      write_sample_grid(first, *grid);
      std::cout << "wrote " << *grid << ": a grid of " << first.size(0) << " images\n";
    }
  });
}

Register reg_sample(35, add_sample);

}  // namespace
}  // namespace sn::cli
