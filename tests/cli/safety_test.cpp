// The CLI when things go wrong: divergence (--lr 1e30) stops with an error naming where and
// keeps the last good checkpoint; run folders are never silently reused (--overwrite, -2, -3...);
// no command writes over its input; Ctrl-C (a real SIGINT) saves a resumable checkpoint and exits
// 130; run.json holds absolute data paths; FIFOs, devices and folders given as files are refused
// at once; --threads, negative seeds and options the combination ignores are checked.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli_run.h"

namespace fs = std::filesystem;

namespace {

using sn::test::CliResult;
using sn::test::run_cli;

const std::string& kBin = sn::test::cli_binary();

// run_cli in another working directory; a command that blocks is ended after two minutes
// (exit code 124) instead of hanging the test
CliResult run_in(const fs::path& cwd, const std::string& args) {
  return run_cli(args, {.cwd = cwd, .timeout_s = 120});
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class SafetyTest : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::mt19937 g(7);
    std::normal_distribution<double> n(0.0, 0.5);
    std::ofstream f(dir_ / "blobs.csv");
    f << "x1,x2,x3,label\n";
    for (int i = 0; i < 200; ++i) {
      const bool b = i % 2;
      f << (b ? 2.0 : -2.0) + n(g) << "," << (b ? -1.0 : 1.0) + n(g) << "," << n(g) << ","
        << (b ? "b" : "a") << "\n";
    }
  }
  std::string train_args(const std::string& extra) const {
    return "train --data " + path("blobs.csv") + " --target label --threads 1 " + extra;
  }
};

TEST_F(SafetyTest, DivergenceStopsNamesTheOpAndCleansUp) {
  CliResult r = run_cli(train_args("--optimizer sgd --lr 1e30 --epochs 3 --out " + path("run")));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "train: the run diverged: fit: the loss is ")) << r.out;
  EXPECT_TRUE(has(r.out, " at epoch 1, batch ")) << r.out;
  EXPECT_TRUE(has(r.out, "the first op with a non-finite output: ")) << r.out;
  EXPECT_TRUE(has(r.out, "no epoch finished, so no checkpoint is kept")) << r.out;
  EXPECT_TRUE(has(r.out, "hint: a smaller --lr (now 1e+30)")) << r.out;
  EXPECT_FALSE(has(r.out, "test accuracy")) << r.out;
  EXPECT_FALSE(fs::exists(path("run"))) << "a failed run removes the folder it created";
}

TEST_F(SafetyTest, DivergenceKeepsTheLastGoodCheckpoint) {
  // one batch per epoch and no validation: epoch 1 ends with huge but finite weights (kept),
  // epoch 2's loss is NaN
  const std::string run = path("run");
  CliResult r =
      run_cli(train_args("--optimizer sgd --lr 1e30 --val-split 0 --batch-size 1000 "
                         "--epochs 3 --out " +
                         run));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, " at epoch 2, batch 1 (of 1); ")) << r.out;
  EXPECT_TRUE(
      has(r.out, "the last good checkpoint is kept: " + run + "/last.safetensors (epoch 1)"))
      << r.out;
  EXPECT_TRUE(fs::exists(fs::path(run) / "last.safetensors"));
  r = run_cli("info " + run + "/last.safetensors");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(SafetyTest, AnExistingRunFolderIsRefusedUnlessOverwrite) {
  const std::string run = path("run");
  ASSERT_EQ(run_cli(train_args("--epochs 1 --out " + run)).code, 0);
  CliResult r = run_cli(train_args("--epochs 1 --out " + run));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "--out: '" + run + "' already exists and holds a run; hint: --overwrite"))
      << r.out;
  // a stale best file from an "earlier run" must not survive --overwrite
  std::ofstream(fs::path(run) / "best.safetensors") << "stale";
  std::ofstream(fs::path(run) / ".last.safetensors.tmp-abc123") << "partial";
  std::ofstream(fs::path(run) / "notes.txt") << "mine";
  r = run_cli(train_args("--epochs 1 --val-split 0 --overwrite --out " + run));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(sn::test::read_file(fs::path(run) / "best.safetensors"), "stale");
  EXPECT_EQ(run_cli("info " + run + "/best.safetensors").code, 0);
  EXPECT_FALSE(fs::exists(fs::path(run) / ".last.safetensors.tmp-abc123"));
  EXPECT_TRUE(fs::exists(fs::path(run) / "notes.txt")) << "only the run's own files go";
  // --overwrite never removes what the run reads
  fs::copy_file(dir_ / "blobs.csv", fs::path(run) / "history.csv",
                fs::copy_options::overwrite_existing);
  r = run_cli("train --data " + run + "/history.csv --target label --epochs 1 --overwrite --out " +
              run);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "/history.csv' is the data file this command reads")) << r.out;
  // a non-empty folder that is not a run is refused too; a file is not a folder
  fs::create_directories(path("other"));
  std::ofstream(fs::path(path("other")) / "x") << "x";
  r = run_cli(train_args("--epochs 1 --out " + path("other")));
  EXPECT_TRUE(has(r.out, "already exists and is not empty")) << r.out;
  r = run_cli(train_args("--epochs 1 --out " + path("blobs.csv")));
  EXPECT_TRUE(has(r.out, "exists and is not a folder")) << r.out;
}

TEST_F(SafetyTest, TheDefaultRunFolderMovesOnAndDataPathsAreAbsolute) {
  fs::create_directories(dir_ / "a");
  fs::copy_file(dir_ / "blobs.csv", dir_ / "a" / "blobs.csv");
  const std::string args = "train --data blobs.csv --target label --epochs 1 --threads 1";
  CliResult r = run_in(dir_ / "a", args);
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_in(dir_ / "a", args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "outputs in runs/blobs-mlp-2/")) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "a" / "runs" / "blobs-mlp" / "last.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "a" / "runs" / "blobs-mlp-2" / "last.safetensors"));
  // run.json holds the absolute path: resume and eval work from anywhere
  const std::string runj = sn::test::read_file(dir_ / "a" / "runs" / "blobs-mlp" / "run.json");
  EXPECT_TRUE(has(runj, "\"data\": \"" + (dir_ / "a" / "blobs.csv").string() + "\"")) << runj;
  const std::string run = (dir_ / "a" / "runs" / "blobs-mlp").string();
  r = run_in(dir_, "resume " + run + " --epochs 2 --threads 1");
  EXPECT_EQ(r.code, 0) << r.out;
  r = run_in("/", "eval " + run);
  EXPECT_EQ(r.code, 0) << r.out;
  // moved away: the error names the file
  fs::rename(dir_ / "a" / "blobs.csv", dir_ / "a" / "moved.csv");
  r = run_in(dir_, "resume " + run + " --epochs 3 --threads 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, (dir_ / "a" / "blobs.csv").string())) << r.out;
}

TEST_F(SafetyTest, NoCommandWritesOverItsInput) {
  const std::string run = path("run");
  ASSERT_EQ(run_cli(train_args("--epochs 1 --out " + run)).code, 0);
  std::ofstream(path("new.csv")) << "x1,x2,x3\n1,2,3\n";
  const std::string before = sn::test::read_file(fs::path(run) / "best.safetensors");
  CliResult r = run_cli("predict " + run + " --input " + path("new.csv") + " --output " + run +
                        "/best.safetensors");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "is the checkpoint this command reads")) << r.out;
  EXPECT_EQ(sn::test::read_file(fs::path(run) / "best.safetensors"), before);
  r = run_cli("predict " + run + "/last.safetensors --input " + path("new.csv") + " --output " +
              path("new.csv"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "is the input this command reads")) << r.out;
  r = run_cli("predict " + run + " --input " + path("new.csv") + " --output " + path("p.csv"));
  EXPECT_EQ(r.code, 0) << r.out;
}

// Forks the CLI with stdout and stderr into a pipe; returns its pid and the read end.
std::pair<pid_t, int> spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, -1};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBin.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kBin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads from fd into out until `until` appears (or EOF, or the timeout).
bool read_until(int fd, std::string& out, const std::string& until, int timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (until.empty() || out.find(until) == std::string::npos) {
    if (std::chrono::steady_clock::now() > end) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return until.empty();
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

TEST_F(SafetyTest, CtrlCSavesAResumableCheckpointAndExits130) {
  const std::string run = path("run");
  auto [pid, fd] = spawn({"train", "--data", path("blobs.csv"), "--target", "label", "--epochs",
                          "100000", "--batch-size", "8", "--threads", "1", "--out", run});
  ASSERT_GT(pid, 0);
  std::string out;
  ASSERT_TRUE(read_until(fd, out, "epoch 3/", 120)) << out;
  ::kill(pid, SIGINT);
  read_until(fd, out, "", 120);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 130) << out;
  EXPECT_TRUE(has(out, "resume: sinapsis resume " + run)) << out;
  const auto at = out.find("interrupted at epoch ");
  ASSERT_NE(at, std::string::npos) << out;
  const int epoch = std::stoi(out.substr(at + 21));
  EXPECT_GE(epoch, 3);
  ASSERT_TRUE(fs::exists(fs::path(run) / "last.safetensors"));
  // the interrupted epoch runs again: resume finishes it and the run is whole
  CliResult r = run_cli("resume " + run + " --epochs " + std::to_string(epoch) + " --threads 1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "resume: from epoch " + std::to_string(epoch - 1))) << r.out;
  EXPECT_TRUE(has(r.out, "test accuracy: ")) << r.out;
}

TEST_F(SafetyTest, ASecondCtrlCEndsTheProcessAtOnce) {
  // wide layers: a batch takes long enough for the second Ctrl-C to arrive while it runs
  std::ofstream(path("wide.json"))
      << R"({"input": [3], "layers": [{"type": "Linear", "in": 3, "out": 4096}, {"type": "ReLU"},)"
      << R"( {"type": "Linear", "in": 4096, "out": 4096}, {"type": "ReLU"},)"
      << R"( {"type": "Linear", "in": 4096, "out": 2}]})";
  auto [pid, fd] =
      spawn({"train", "--data", path("blobs.csv"), "--target", "label", "--model",
             path("wide.json"), "--optimizer", "sgd", "--epochs", "100000", "--batch-size", "1000",
             "--val-split", "0", "--threads", "1", "--out", path("run")});
  ASSERT_GT(pid, 0);
  std::string out;
  ASSERT_TRUE(read_until(fd, out, "epoch 1/", 120)) << out;
  ::kill(pid, SIGINT);
  // the first is handled (its message is written from the handler) ...
  ASSERT_TRUE(read_until(fd, out, "Ctrl-C again quits at once", 120)) << out;
  ::kill(pid, SIGINT);  // ... and the second ends the process, before the batch is over
  read_until(fd, out, "", 120);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << out;
  EXPECT_FALSE(has(out, "resume: sinapsis resume")) << out;
}

TEST_F(SafetyTest, SpecialFilesAreRefusedAtOnce) {
  ASSERT_EQ(::mkfifo(path("fifo.csv").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(path("fifo.safetensors").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(path("fifo.json").c_str(), 0600), 0);
  fs::create_directories(path("folder.csv"));
  struct Case {
    std::string args, want;
  };
  const std::vector<Case> cases = {
      {"train --data " + path("fifo.csv") + " --target label", "is a FIFO, not a regular file"},
      {"train --data " + path("folder.csv") + " --target label", "is a folder, not a regular file"},
      {"info " + path("fifo.safetensors"), "is a FIFO, not a regular file"},
      {"eval " + path("fifo.safetensors"), "is a FIFO, not a regular file"},
      {train_args("--model " + path("fifo.json")), "is a FIFO, not a regular file"},
      {train_args("--model /dev/zero"), "is a character device, not a regular file"},
      {"train --data text:/dev/urandom --steps 1", "is a character device, not a regular file"},
      {"train --data text:" + path("fifo.csv") + " --steps 1", "is a FIFO, not a regular file"},
  };
  for (const Case& c : cases) {
    // run_in's time limit: a reader that blocks fails the test instead of hanging it
    CliResult r =
        run_in(dir_, c.args + (c.args.rfind("train", 0) == 0 ? " --out " + path("never") : ""));
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_TRUE(has(r.out, c.want)) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(path("never"))) << c.args;
  }
  ASSERT_EQ(run_cli(train_args("--epochs 1 --out " + path("run"))).code, 0);
  CliResult r = run_in(dir_, "predict " + path("run") + " --input " + path("fifo.csv"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "predict --input: '" + path("fifo.csv") + "' is a FIFO")) << r.out;
  r = run_in(dir_, "resume " + path("folder.csv"));
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST_F(SafetyTest, OptionChecks) {
  CliResult r = run_cli("train --data " + path("blobs.csv") +
                        " --target label --epochs 1 --threads 100000 --out " + path("t"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "warning: --threads 100000 is more than the ")) << r.out;
  struct Case {
    std::string args, want;
  };
  const std::string csv = path("blobs.csv");
  const std::vector<Case> cases = {
      {train_args("--seed -1"), "--seed: must be a non-negative integer (got -1)"},
      {train_args("--seed 1.5"), "--seed: must be a non-negative integer (got 1.5)"},
      {"generate " + path("x") + " --seed -1", "--seed: must be a non-negative integer (got -1)"},
      {train_args("--steps 5"), "--steps: not used with --data " + csv},
      {train_args("--tbptt"), "--tbptt: not used with --data " + csv},
      {train_args("--momentum 0.5"), "--momentum: not used with --optimizer adam (sgd only)"},
      {"train --data fashion-mnist --target label", "--target: not used with --data fashion-mnist"},
      {"train --data text:" + csv + " --epochs 3", "--epochs: not used by text runs"},
      {"train --data text:" + csv + " --optimizer sgd", "--optimizer: not used by text runs"},
      {train_args("--preset mlp --model x.json"), "--model excludes --preset"},
      {"graph --preset mlp --model x.json", "--model excludes --preset"},
      {"graph --model x.json --outputs 3", "--model excludes --outputs"},
      {"gradcheck --preset mlp --model x.json", "--model excludes --preset"},
      {"graph --rnn 2 --outputs 3", "graph: --rnn draws its own network"},
      {"graph --input-shape 4", "the lecture graph (neither given) has its own inputs"},
      {"generate " + path("x") + " --temperature 0 --top-k 3",
       "--top-k: not used with --temperature 0"},
  };
  for (const Case& c : cases) {
    r = run_cli(c.args + (c.args.rfind("train", 0) == 0 ? " --out " + path("never") : ""));
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_TRUE(has(r.out, c.want)) << c.args << "\n" << r.out;
  }
  // resume: the unit the run does not count in
  ASSERT_EQ(run_cli(train_args("--epochs 1 --out " + path("run"))).code, 0);
  r = run_cli("resume " + path("run") + " --steps 5");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "--steps: not used by this run (it counts epochs: --epochs)")) << r.out;
}

TEST_F(SafetyTest, ClassicLearnersThatDivergeExitNonZero) {
  {
    std::ofstream f(path("num.csv"));
    f << "x1,x2,y\n";
    for (int i = 0; i < 40; ++i) f << i % 7 << "," << i % 5 << "," << 2 * (i % 7) - i % 5 << "\n";
  }
  const std::string csv = path("num.csv");
  CliResult r = run_cli("classic adaline --data " + csv + " --target y --lr 10 --mode batch");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "classic adaline: diverged in epoch ")) << r.out;
  EXPECT_TRUE(has(r.out, "hint: a smaller --lr (now 10)")) << r.out;
  r = run_cli("classic linreg --data " + csv + " --target y --lr 10 --mode batch");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "classic linreg: gradient descent diverged in epoch ")) << r.out;
  r = run_cli("classic adaline --data " + csv + " --target y --lr 0.001 --epochs 5");
  EXPECT_EQ(r.code, 0) << r.out;
  // options the mode ignores
  r = run_cli("classic adaline --data " + csv + " --target y --mode online --batch-size 4");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "--batch-size: not used with --mode online (minibatch only)")) << r.out;
  r = run_cli("classic linreg --data " + csv + " --target y --mode batch --no-shuffle");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "--shuffle: not used with --mode batch")) << r.out;
}

}  // namespace
