// Training checkpoints: round trip (identical predictions and optimizer state), metadata, RNG,
// rejection of bad files with nothing changed, ModelCheckpoint, and resume equivalence: a run
// continued from a checkpoint gives bit-identical numbers to one that never stopped.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "train/train_test_util.h"

namespace sn::train {
namespace {

using testing::cross_entropy_loss;
using testing::flat_params;
using testing::TempDir;
using testing::three_class_4d;

nn::Sequential mlp() { return nn::Sequential({nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 3)}); }

// Threads change summation order; resume equivalence is promised for a fixed thread count.
class OneThread {
 public:
  OneThread() : prev_(get_num_threads()) { set_num_threads(1); }
  ~OneThread() { set_num_threads(prev_); }

 private:
  int prev_;
};

TEST(Checkpoint, RoundTripGivesIdenticalPredictionsAndOptimizerState) {
  TempDir dir;
  manual_seed(40);
  auto ds = three_class_4d(24, 41);
  data::DataLoader loader(ds, {.batch_size = 8, .shuffle = true});
  auto model = mlp();
  optim::Adam opt(model.parameters(), {.lr = 0.01});
  History h = fit(model, cross_entropy_loss, opt, loader, {.epochs = 2, .verbose = 0});
  const std::string path = dir.file("ck.safetensors");
  save_checkpoint(path, model, opt,
                  {.epoch = 2,
                   .history = &h,
                   .model_spec = R"({"layers": ["linear"]})",
                   .extra = {{"note", "hello"}}});

  // The file is ordinary safetensors with the documented names.
  io::Checkpoint raw = io::load(path);
  EXPECT_TRUE(raw.tensors.count("model.0.weight"));
  EXPECT_TRUE(raw.tensors.count("model.2.bias"));
  EXPECT_TRUE(raw.tensors.count("optim.state.0.exp_avg"));
  EXPECT_EQ(raw.metadata.at("format"), "sinapsis.checkpoint");
  EXPECT_EQ(raw.metadata.at("epoch"), "2");

  manual_seed(999);  // a different init, so the load must really overwrite it
  auto other = mlp();
  optim::Adam opt2(other.parameters(), {.lr = 0.5});
  Tensor x = ds->x();
  ASSERT_NE(predict(other, x).to_vector(), predict(model, x).to_vector());
  CheckpointInfo info = load_checkpoint(path, other, opt2);
  EXPECT_EQ(predict(other, x).to_vector(), predict(model, x).to_vector());
  EXPECT_EQ(info.epoch, 2);
  EXPECT_EQ(info.model_spec, R"({"layers": ["linear"]})");
  EXPECT_EQ(info.extra.at("note"), "hello");
  EXPECT_EQ(info.extra.size(), 1u);
  EXPECT_EQ(info.optimizer, "Adam");
  EXPECT_DOUBLE_EQ(info.optimizer_scalars.at("group.0.lr"), 0.01);
  EXPECT_DOUBLE_EQ(opt2.lr(), 0.01);
  ASSERT_TRUE(info.has_history);
  ASSERT_EQ(info.history.size(), 2u);
  EXPECT_EQ(info.history.epochs[1].loss, h.epochs[1].loss);

  // The optimizer state came back too: one more identical step keeps the models identical.
  for (auto* m : {&model, &other}) {
    optim::Optimizer& o = m == &model ? static_cast<optim::Optimizer&>(opt) : opt2;
    o.zero_grad();
    loss::cross_entropy((*m)(x), ds->y()).backward();
    o.step();
  }
  EXPECT_EQ(flat_params(other), flat_params(model));

  CheckpointInfo peek = read_checkpoint_info(path);
  EXPECT_EQ(peek.epoch, 2);
  EXPECT_FALSE(peek.rng_state.empty());
}

TEST(Checkpoint, RestoresTheRandomGenerator) {
  TempDir dir;
  manual_seed(42);
  auto model = mlp();
  const std::string path = dir.file("rng.safetensors");
  save_checkpoint(path, model, {.epoch = 1});
  const double a = random_uniform(), b = random_uniform();
  load_checkpoint(path, model);
  EXPECT_EQ(random_uniform(), a);
  EXPECT_EQ(random_uniform(), b);
  load_checkpoint(path, model, {.restore_rng = false});
  EXPECT_NE(random_uniform(), a);
}

TEST(Checkpoint, BadFilesChangeNothing) {
  TempDir dir;
  manual_seed(43);
  auto model = mlp();
  optim::Adam adam(model.parameters());
  const std::string path = dir.file("adam.safetensors");
  save_checkpoint(path, model, adam, {.epoch = 3});

  manual_seed(44);
  auto target = mlp();
  const auto before = flat_params(target);
  // Another optimizer type: the model part loads first and must be rolled back.
  optim::SGD sgd(target.parameters(), {.lr = 0.1});
  try {
    load_checkpoint(path, target, sgd);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Adam"), std::string::npos) << e.what();
  }
  EXPECT_EQ(flat_params(target), before);
  EXPECT_DOUBLE_EQ(sgd.lr(), 0.1);

  // Another architecture.
  auto wide = nn::Sequential({nn::Linear(4, 9), nn::ReLU(), nn::Linear(9, 3)});
  const auto wide_before = flat_params(wide);
  EXPECT_THROW(load_checkpoint(path, wide), ValueError);
  EXPECT_EQ(flat_params(wide), wide_before);

  // A model-only checkpoint has no optimizer state to give.
  const std::string bare = dir.file("bare.safetensors");
  save_checkpoint(bare, model);
  EXPECT_THROW(load_checkpoint(bare, target, sgd), ValueError);

  // Truncated: IOError naming the file, model untouched.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string cut = dir.file("cut.safetensors");
  {
    std::ofstream out(cut, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  try {
    load_checkpoint(cut, target);
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors"), std::string::npos);
  }
  EXPECT_EQ(flat_params(target), before);

  // Plain safetensors weights are not a training checkpoint.
  const std::string plain = dir.file("plain.safetensors");
  io::save({{"model.0.weight", zeros({8, 4})}}, plain);
  try {
    load_checkpoint(plain, target);
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("hint:"), std::string::npos);
  }
  EXPECT_THROW(load_checkpoint(dir.file("missing.safetensors"), target), IOError);
  EXPECT_THROW(save_checkpoint(dir.file("x.safetensors"), model, {.extra = {{"epoch", "7"}}}),
               ValueError);
}

TEST(Checkpoint, ModelCheckpointBestAndLast) {
  TempDir dir;
  manual_seed(45);
  data::DataLoader loader(three_class_4d(16, 46), {.batch_size = 8});
  auto model = mlp();
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  // val_loss scripted per epoch: best at epoch index 1.
  std::vector<double> curve = {0.9, 0.3, 0.5, 0.4};
  auto epoch = std::make_shared<int64_t>(0);
  LossFn lf = [&curve, epoch](const Tensor& out, const Tensor& y) {
    if (autograd::grad_enabled()) return loss::cross_entropy(out, y);
    return tensor(curve.at(static_cast<size_t>(*epoch)));
  };
  auto track = std::make_shared<LambdaCallback>(
      LambdaHooks{.on_epoch_begin = [epoch](TrainState& s) { *epoch = s.epoch; }});
  auto best = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("best.safetensors"), .save_best_only = true});
  auto last = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("last.safetensors")});
  auto each = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .path = dir.file("e{epoch}.safetensors"), .every = 2, .embed_history = true});
  auto hist = std::make_shared<HistoryFile>(dir.file("history.json"));
  data::DataLoader val(three_class_4d(4, 47), {.batch_size = 4});
  fit(model, lf, opt, loader,
      {.epochs = 4,
       .validation = &val,
       .callbacks = {track, hist, best, last, each},
       .verbose = 0});
  EXPECT_EQ(best->saves(), 2);  // epochs 0 and 1
  EXPECT_EQ(read_checkpoint_info(dir.file("best.safetensors")).epoch, 2);
  EXPECT_EQ(last->saves(), 4);
  EXPECT_EQ(read_checkpoint_info(dir.file("last.safetensors")).epoch, 4);
  // The history is in history.json, not in every checkpoint (unless asked for); an embedded
  // one knows the best epoch so far, not only fit()'s result.
  EXPECT_FALSE(read_checkpoint_info(dir.file("best.safetensors")).has_history);
  EXPECT_FALSE(read_checkpoint_info(dir.file("last.safetensors")).metadata.count("history"));
  EXPECT_TRUE(read_checkpoint_info(dir.file("e2.safetensors")).has_history);
  EXPECT_EQ(read_checkpoint_info(dir.file("e2.safetensors")).history.best_epoch, 1);
  EXPECT_EQ(read_checkpoint_info(dir.file("e2.safetensors")).history.size(), 2u);
  const History h = History::load(dir.file("history.json"));
  EXPECT_EQ(h.size(), 4u);
  EXPECT_EQ(h.best_epoch, 1);
  EXPECT_EQ(h.monitor, "val_loss");
  EXPECT_FLOAT_EQ(h.series("val_loss")[3], 0.4);
  EXPECT_TRUE(std::filesystem::exists(dir.file("e2.safetensors")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("e4.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("e1.safetensors")));
  EXPECT_EQ(each->last_saved(), dir.file("e4.safetensors"));
  // The last checkpoint holds what the model holds now.
  auto back = mlp();
  load_checkpoint(dir.file("last.safetensors"), back);
  EXPECT_EQ(flat_params(back), flat_params(model));
}

// Trains 5 epochs straight, and 2 + (checkpoint, fresh objects, load) + 3; returns both runs'
// per-epoch numbers and final weights.
struct ResumeRun {
  std::vector<double> loss, val_loss, lr;
  std::vector<double> weights;
};

ResumeRun run_training(bool seeded_shuffle, int stop_after, const std::string& ck) {
  const OneThread one;
  auto ds = three_class_4d(40, 50);
  auto val_ds = three_class_4d(12, 51);
  auto make_loader = [&] {
    data::LoaderOptions o{.batch_size = 8, .shuffle = true};
    if (seeded_shuffle) o.seed = 1234;
    return data::DataLoader(ds, o);
  };
  auto make_model = [] {
    return nn::Sequential({nn::Linear(4, 16), nn::ReLU(), nn::Dropout(0.3), nn::Linear(16, 3)});
  };
  auto metrics = std::vector<MetricPtr>{std::make_shared<Accuracy>()};
  manual_seed(77);
  auto model = make_model();
  optim::Adam opt(model.parameters(), {.lr = 0.02});
  optim::StepLR sched(opt, {.step_size = 2, .gamma = 0.5});
  data::DataLoader loader = make_loader();
  data::DataLoader val(val_ds, {.batch_size = 6});
  History h;
  if (stop_after <= 0) {
    h = fit(
        model, cross_entropy_loss, opt, loader,
        {.epochs = 5, .validation = &val, .metrics = metrics, .scheduler = &sched, .verbose = 0});
  } else {
    auto saver = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.path = ck});
    auto hist = std::make_shared<HistoryFile>(ck + ".history.json");
    fit(model, cross_entropy_loss, opt, loader,
        {.epochs = stop_after,
         .validation = &val,
         .metrics = metrics,
         .callbacks = {hist, saver},
         .scheduler = &sched,
         .verbose = 0});
    // A new process, in effect: other seed, fresh objects, then the checkpoint.
    manual_seed(5);
    random_uniform();
    auto model2 = make_model();
    optim::Adam opt2(model2.parameters(), {.lr = 0.3});
    optim::StepLR sched2(opt2, {.step_size = 2, .gamma = 0.5});
    data::DataLoader loader2 = make_loader();
    CheckpointInfo info = load_checkpoint(ck, model2, opt2, {.scheduler = &sched2});
    EXPECT_EQ(info.epoch, stop_after);
    h = fit(model2, cross_entropy_loss, opt2, loader2,
            {.epochs = 5,
             .validation = &val,
             .metrics = metrics,
             .scheduler = &sched2,
             .initial_epoch = info.epoch,
             .initial_history = History::load(ck + ".history.json"),
             .verbose = 0});
    model.load_state_dict(model2.state_dict());
  }
  ResumeRun r;
  r.loss = h.series("loss");
  r.val_loss = h.series("val_loss");
  r.lr = h.series("lr");
  r.weights = flat_params(model);
  return r;
}

TEST(Checkpoint, ResumeIsBitIdenticalGlobalGeneratorShuffle) {
  TempDir dir;
  ResumeRun straight = run_training(false, 0, "");
  ResumeRun resumed = run_training(false, 2, dir.file("resume.safetensors"));
  ASSERT_EQ(straight.loss.size(), 5u);
  EXPECT_EQ(resumed.loss, straight.loss);  // exact equality, every epoch
  EXPECT_EQ(resumed.val_loss, straight.val_loss);
  EXPECT_EQ(resumed.lr, straight.lr);
  EXPECT_EQ(resumed.weights, straight.weights);
  EXPECT_DOUBLE_EQ(straight.lr[4], 0.02 * 0.25);
}

TEST(Checkpoint, ResumeIsBitIdenticalSeededShuffle) {
  TempDir dir;
  ResumeRun straight = run_training(true, 0, "");
  ResumeRun resumed = run_training(true, 3, dir.file("resume.safetensors"));
  EXPECT_EQ(resumed.loss, straight.loss);
  EXPECT_EQ(resumed.val_loss, straight.val_loss);
  EXPECT_EQ(resumed.weights, straight.weights);
}

}  // namespace
}  // namespace sn::train
