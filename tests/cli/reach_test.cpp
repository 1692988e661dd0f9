// The CLI reaching the library: --version, learning-rate schedules (stored in run.json and
// continued by resume), gradient clipping, label smoothing, L-BFGS, predict --proba/--top-k
// with only the predictions on stdout, eval's per-class report and confusion.svg, curves.svg
// of a one-epoch run, and the help pages / man page / bash completion generated from the CLI
// definitions (every command and option checked against CLI11's own --help).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"

namespace fs = std::filesystem;

namespace {

using sn::test::CliResult;
using sn::test::read_file;
using sn::test::run_cli;

// The values of one column of a CSV file with a header.
std::vector<std::string> column(const std::string& csv, const std::string& name) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> head;
  {
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) head.push_back(c);
  }
  const size_t col = std::find(head.begin(), head.end(), name) - head.begin();
  std::vector<std::string> out;
  if (col == head.size()) return out;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string c;
    for (size_t i = 0; i <= col && std::getline(ss, c, ','); ++i) {
    }
    out.push_back(c);
  }
  return out;
}
std::vector<double> numbers(const std::vector<std::string>& v) {
  std::vector<double> out;
  for (const auto& s : v) out.push_back(std::stod(s));
  return out;
}

class ReachTest : public sn::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // three Gaussian blobs in 2-D, labels a / b / c (overlapping a little)
    std::mt19937 g(11);
    std::normal_distribution<double> n(0.0, 0.7);
    std::ofstream f(dir_ / "blobs.csv");
    f << "x1,x2,label\n";
    const double cx[3] = {-2, 2, 0}, cy[3] = {0, 0, 2.5};
    for (int i = 0; i < 240; ++i) {
      const int k = i % 3;
      f << cx[k] + n(g) << "," << cy[k] + n(g) << ","
        << "abc"[k] << "\n";
    }
    std::ofstream q(dir_ / "new.csv");
    q << "x1,x2\n-2.1,0.1\n2.2,-0.1\n0.1,2.4\n";
  }
  // `train` on the blobs with a few fixed options and `extra`
  CliResult train(const std::string& out, const std::string& extra, int epochs = 3) {
    return run_cli("train --data " + (dir_ / "blobs.csv").string() + " --target label --epochs " +
                   std::to_string(epochs) + " --batch-size 16 --threads 1 --out " +
                   (dir_ / out).string() + " " + extra);
  }
};

TEST(Reach, VersionNamesVersionCompilerAndKernels) {
  // the version CMake's project() line holds
  const std::string cmake = read_file(fs::path(SN_SOURCE_DIR) / "CMakeLists.txt");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(cmake, m, std::regex("project\\(sinapsis VERSION ([0-9.]+)")));
  CliResult r = run_cli("--version");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("sinapsis " + m[1].str() + "\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("compiler: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::string("kernels:  ") + sn::cpu_level_name(sn::cpu_level())),
            std::string::npos)
      << r.out;
  // SN_CPU_LEVEL lowers the kernels' level, and --version says so
  setenv("SN_CPU_LEVEL", "baseline", 1);
  r = run_cli("--version");
  unsetenv("SN_CPU_LEVEL");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("kernels:  baseline ("), std::string::npos) << r.out;
}

TEST_F(ReachTest, StepScheduleIsStoredAndContinuedByResume) {
  CliResult r = train("step", "--optimizer sgd --lr 0.1 --schedule step --step-size 1 --gamma 0.5");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("schedule: step: x0.5 every 1 epochs"), std::string::npos) << r.out;
  std::vector<double> lr = numbers(column(read_file(dir_ / "step" / "history.csv"), "lr"));
  ASSERT_EQ(lr.size(), 3u);
  EXPECT_NEAR(lr[0], 0.1, 1e-12);
  EXPECT_NEAR(lr[1], 0.05, 1e-12);
  EXPECT_NEAR(lr[2], 0.025, 1e-12);
  const std::string runj = read_file(dir_ / "step" / "run.json");
  EXPECT_NE(runj.find("\"schedule\": \"step\""), std::string::npos) << runj;
  EXPECT_NE(runj.find("\"step_size\": 1"), std::string::npos) << runj;
  r = run_cli("resume " + (dir_ / "step").string() + " --epochs 4 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  lr = numbers(column(read_file(dir_ / "step" / "history.csv"), "lr"));
  ASSERT_EQ(lr.size(), 4u);
  EXPECT_NEAR(lr[3], 0.0125, 1e-12);
}

TEST_F(ReachTest, WarmupMultistepExponentialOnecyclePlateau) {
  // warm-up from lr/10 over 2 epochs chained with a milestone cut after epoch 2 (x0.1)
  CliResult r = train("ms",
                      "--optimizer sgd --lr 0.1 --schedule multistep --milestones 2 "
                      "--warmup-epochs 2",
                      4);
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<double> lr = numbers(column(read_file(dir_ / "ms" / "history.csv"), "lr"));
  ASSERT_EQ(lr.size(), 4u);
  EXPECT_NEAR(lr[0], 0.01, 1e-12);
  EXPECT_NEAR(lr[1], 0.055, 1e-12);
  EXPECT_NEAR(lr[2], 0.01, 1e-12);  // warm-up done (x1), milestone 2 passed (x0.1)
  EXPECT_NEAR(lr[3], 0.01, 1e-12);
  r = run_cli("resume " + (dir_ / "ms").string() + " --epochs 5 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;  // the chain's state comes back from the checkpoint

  r = train("exp", "--optimizer sgd --lr 0.1 --schedule exponential");
  ASSERT_EQ(r.code, 0) << r.out;
  lr = numbers(column(read_file(dir_ / "exp" / "history.csv"), "lr"));
  EXPECT_NEAR(lr[2], 0.1 * 0.81, 1e-12);

  // onecycle steps per batch: epoch 1 starts at lr/25, the peak is reached inside the run
  r = train("oc", "--optimizer adam --lr 0.01 --schedule onecycle");
  ASSERT_EQ(r.code, 0) << r.out;
  lr = numbers(column(read_file(dir_ / "oc" / "history.csv"), "lr"));
  EXPECT_NEAR(lr[0], 0.01 / 25, 1e-12);
  EXPECT_GT(lr[1], lr[0]);
  r = run_cli("resume " + (dir_ / "oc").string() + " --epochs 5 --threads 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("cannot be stretched"), std::string::npos) << r.out;

  // plateau: every epoch's lr is the one before or a tenth of it, and the counters are saved
  r = train("pl", "--optimizer sgd --lr 0.5 --schedule plateau --plateau-patience 0", 4);
  ASSERT_EQ(r.code, 0) << r.out;
  lr = numbers(column(read_file(dir_ / "pl" / "history.csv"), "lr"));
  ASSERT_EQ(lr.size(), 4u);
  for (size_t i = 1; i < lr.size(); ++i)
    EXPECT_TRUE(std::abs(lr[i] - lr[i - 1]) < 1e-12 || std::abs(lr[i] - lr[i - 1] * 0.1) < 1e-12)
        << lr[i - 1] << " -> " << lr[i];
  r = run_cli("info " + (dir_ / "pl").string());
  EXPECT_NE(r.out.find("\"name\":\"PlateauScheduler\",\"state\":{"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"plateau.best\":"), std::string::npos) << r.out;
}

TEST_F(ReachTest, ScheduleOptionsOfAnotherScheduleAreRefused) {
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"--schedule multistep", "needs --milestones"},
           {"--gamma 0.5", "--gamma: only with --schedule step, multistep, exponential or plateau"},
           {"--schedule step --milestones 2", "--milestones: only with --schedule multistep"},
           {"--schedule onecycle --warmup-epochs 1", "onecycle warms up by itself"},
           {"--schedule multistep --milestones 9", "is not before the last epoch"},
           {"--schedule sometimes", "--schedule"},
           {"--optimizer lbfgs --weight-decay 0.1", "L-BFGS has no weight decay"},
           {"--label-smoothing 1.5", "--label-smoothing"},
       }) {
    CliResult r = train("bad", c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "bad" / "run.json")) << c.args;
  }
  // text runs anneal by steps: the epoch schedules are refused, not ignored
  std::ofstream(dir_ / "t.txt") << "some text to model\n";
  CliResult r = run_cli("train --data text:" + (dir_ / "t.txt").string() +
                        " --schedule step --out " + (dir_ / "t").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--schedule: not for text runs"), std::string::npos) << r.out;
}

TEST_F(ReachTest, ClippingAndLabelSmoothingChangeTheTraining) {
  const std::string sgd = "--optimizer sgd --lr 0.1 --momentum 0 --schedule none --val-split 0 ";
  ASSERT_EQ(train("plain", sgd).code, 0);
  CliResult r = train("clip", sgd + "--clip-grad 1e-4");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("gradient norm clipped to 0.0001"), std::string::npos) << r.out;
  r = train("smooth", sgd + "--label-smoothing 0.3");
  ASSERT_EQ(r.code, 0) << r.out;
  const double plain = numbers(column(read_file(dir_ / "plain" / "history.csv"), "loss")).back();
  const double clip = numbers(column(read_file(dir_ / "clip" / "history.csv"), "loss")).back();
  const double smooth = numbers(column(read_file(dir_ / "smooth" / "history.csv"), "loss")).back();
  // steps of norm 1e-4 barely move the weights: the loss stays near ln 3
  EXPECT_GT(clip, 0.9) << clip;
  EXPECT_LT(plain, 0.5) << plain;
  // smoothed targets cannot be fitted exactly: a higher training loss
  EXPECT_GT(smooth, plain + 0.2) << smooth << " vs " << plain;
  EXPECT_NE(read_file(dir_ / "clip" / "run.json").find("\"clip_grad\": 0.0001"), std::string::npos);
  EXPECT_NE(read_file(dir_ / "smooth" / "run.json").find("\"label_smoothing\": 0.3"),
            std::string::npos);
  // resume keeps them: the 4th epoch of the clipped run is still stuck
  r = run_cli("resume " + (dir_ / "clip").string() + " --epochs 4 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_GT(numbers(column(read_file(dir_ / "clip" / "history.csv"), "loss")).back(), 0.9);
}

TEST_F(ReachTest, LbfgsTrainsFullBatch) {
  CliResult r = run_cli("train --data " + (dir_ / "blobs.csv").string() +
                        " --target label --optimizer lbfgs --epochs 1 --threads 1 --out " +
                        (dir_ / "lb").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("optimizer: LBFGS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch 173,"), std::string::npos) << r.out;  // 192 train - 10% val
  const std::string res = read_file(dir_ / "lb" / "result.json");
  const auto pos = res.find("\"accuracy\":");
  ASSERT_NE(pos, std::string::npos) << res;
  EXPECT_GE(std::stod(res.substr(pos + 11)), 0.9) << res;
}

TEST_F(ReachTest, PredictProbaTopKAndACleanStdout) {
  ASSERT_EQ(train("r", "").code, 0);
  const std::string in = (dir_ / "new.csv").string(), runp = (dir_ / "r").string();
  CliResult r =
      run_cli("predict " + runp + " --input " + in + " --proba --top-k 2", {.merge_stderr = false});
  ASSERT_EQ(r.code, 0) << r.out;
  // stdout is the CSV alone
  EXPECT_EQ(r.out.rfind("index,class,label,probability,label_2,probability_2,a,b,c\n", 0), 0u)
      << r.out;
  EXPECT_EQ(r.out.find("model:"), std::string::npos) << r.out;
  EXPECT_EQ(column(r.out, "label"), (std::vector<std::string>{"a", "b", "c"})) << r.out;
  std::istringstream rows(r.out);
  std::string line;
  std::getline(rows, line);
  while (std::getline(rows, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
    ASSERT_EQ(f.size(), 9u) << line;
    const double pa = std::stod(f[6]), pb = std::stod(f[7]), pc = std::stod(f[8]);
    EXPECT_NEAR(pa + pb + pc, 1.0, 2e-4) << line;
    // the top class's probability is its column's, and the second is the next largest
    const double p1 = std::stod(f[3]), p2 = std::stod(f[5]);
    EXPECT_NEAR(p1, std::max({pa, pb, pc}), 1e-9) << line;
    EXPECT_LE(p2, p1) << line;
    EXPECT_NE(f[4], f[2]) << line;
  }
  // the model line went to stderr
  r = run_cli("predict " + runp + " --input " + in);
  EXPECT_NE(r.out.find("model:"), std::string::npos) << r.out;
  r = run_cli("predict " + runp + " --input " + in + " --top-k 4");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--top-k: 4 is more than the model's 3 classes"), std::string::npos)
      << r.out;
}

TEST_F(ReachTest, EvalReportsPerClassAndDrawsTheMatrix) {
  ASSERT_EQ(train("r", "").code, 0);
  const std::string runp = (dir_ / "r").string();
  CliResult r = run_cli("eval " + runp);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* s : {"precision", "recall", "f1", "support", "macro avg", "weighted avg",
                        "confusion matrix (rows: true class"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  const std::string svg = read_file(dir_ / "r" / "confusion.svg");
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true) << svg;
  EXPECT_EQ(
      [&] {
        int n = 0;
        for (size_t p = 0; (p = svg.find("<rect class=\"cell\"", p)) != std::string::npos; ++p) ++n;
        return n;
      }(),
      9);
  // elsewhere, or not at all
  r = run_cli("eval " + runp + " --confusion-svg " + (dir_ / "cm.svg").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "cm.svg"));
  fs::remove(dir_ / "r" / "confusion.svg");
  r = run_cli("eval " + runp + " --confusion-svg -");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "r" / "confusion.svg"));
}

TEST_F(ReachTest, OneEpochCurvesShowEveryPanel) {
  CliResult r = train("one", "", 1);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string svg = read_file(dir_ / "one" / "curves.svg");
  // train and validation, loss and accuracy: one dot each
  int dots = 0;
  for (size_t p = 0; (p = svg.find("<circle", p)) != std::string::npos; ++p) ++dots;
  EXPECT_EQ(dots, 4) << svg;
  EXPECT_EQ(svg.find("early stop"), std::string::npos);
  EXPECT_EQ(svg.find("best epoch"), std::string::npos);  // nothing to choose from
}

// ---- help pages, man page, completion against CLI11's own help ----

// The commands CLI11's `--help` lists, with their subcommands ({"classic", "perceptron"}), and
// each one's options from `COMMAND --help`.
std::vector<std::string> subcommands_in(const std::string& help) {
  std::vector<std::string> out;
  const size_t at = help.find("Subcommands:");
  if (at == std::string::npos) return out;
  std::istringstream in(help.substr(at));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string name;
    if (!(w >> name)) break;
    out.push_back(name);
  }
  return out;
}
struct Listed {
  std::vector<std::string> path;
  std::string help;  // CLI11's `sinapsis PATH --help`
};
void collect(const std::string& help, std::vector<Listed>& out, std::vector<std::string> path) {
  for (const auto& c : subcommands_in(help)) {
    std::vector<std::string> p = path;
    p.push_back(c);
    std::string prefix;
    for (const auto& w : p) prefix += w + " ";
    out.push_back({p, run_cli(prefix + "--help").out});
    collect(out.back().help, out, p);
  }
}
std::vector<Listed> commands() {
  std::vector<Listed> out;
  collect(run_cli("--help").out, out, {});
  return out;
}
std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}
std::vector<std::string> options_of(const std::string& h) {
  std::set<std::string> out;
  std::istringstream in(h);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string first;
    if (!(w >> first) || first[0] != '-') continue;
    std::stringstream names(first);
    // "--no-shuffle{false}": CLI11 shows the value a negated flag gives; the name is before it
    for (std::string n; std::getline(names, n, ',');) out.insert(n.substr(0, n.find('{')));
  }
  return {out.begin(), out.end()};
}

TEST(Reach, HelpPagesManPageAndCompletionListEveryCommandAndOption) {
  const std::vector<Listed> cmds = commands();
  ASSERT_GE(cmds.size(), 15u);  // the classic learners are subcommands of classic
  std::set<std::string> names;
  for (const auto& c : cmds) names.insert(joined(c.path, " "));
  for (const char* c : {"train", "eval", "predict", "help", "completion", "classic perceptron"})
    EXPECT_EQ(names.count(c), 1u) << c;
  const CliResult overview = run_cli("help");
  ASSERT_EQ(overview.code, 0) << overview.out;
  const CliResult man = run_cli("help --man");
  ASSERT_EQ(man.code, 0) << man.out;
  const CliResult comp = run_cli("completion bash");
  ASSERT_EQ(comp.code, 0) << comp.out;
  auto roff = [](std::string s) {
    std::string o;
    for (char c : s) o += c == '-' ? std::string("\\-") : std::string(1, c);
    return o;
  };
  int checked = 0;
  for (const auto& [path, help] : cmds) {
    const std::string c = joined(path, " ");
    if (path.size() == 1) {
      EXPECT_NE(overview.out.find("  " + c + " "), std::string::npos) << c;
    }
    EXPECT_NE(man.out.find(".SS \"sinapsis " + c + "\""), std::string::npos) << c;
    const CliResult page = run_cli("help " + c);
    ASSERT_EQ(page.code, 0) << c << "\n" << page.out;
    EXPECT_EQ(page.out.rfind("sinapsis " + c + ": ", 0), 0u) << page.out;
    // the completion's case branch for the command, and the words it offers
    const size_t b = comp.out.find("\n    " + joined(path, "/") + ")\n");
    ASSERT_NE(b, std::string::npos) << c;
    const std::string branch = comp.out.substr(b, comp.out.find("esac ;;", b) - b);
    std::set<std::string> offered;
    {
      const size_t q = branch.find("opts=\"") + 6;
      std::istringstream w(branch.substr(q, branch.find('"', q) - q));
      for (std::string word; w >> word;) offered.insert(word);
    }
    for (const auto& sub : subcommands_in(help)) {
      EXPECT_EQ(offered.count(sub), 1u) << c << " " << sub;
      EXPECT_NE(page.out.find("  " + sub + "\n"), std::string::npos) << c << " " << sub;
    }
    for (const auto& o : options_of(help)) {
      EXPECT_NE(page.out.find(o), std::string::npos) << c << " " << o << "\n" << page.out;
      EXPECT_NE(man.out.find(roff(o)), std::string::npos) << c << " " << o;
      EXPECT_EQ(offered.count(o), 1u) << c << " " << o << "\n" << branch;
      ++checked;
    }
  }
  EXPECT_GT(checked, 80);
  EXPECT_EQ(run_cli("help nothing").code, 2);
  EXPECT_NE(run_cli("help schedules").out.find("--plateau-patience"), std::string::npos);
}

// Runs bash's completion function on a command line (the word under the cursor last).
std::string complete(const fs::path& script, const std::vector<std::string>& words) {
  std::string arr;
  for (const auto& w : words) arr += " '" + w + "'";
  const fs::path sh = script.parent_path() / "complete.sh";
  std::ofstream(sh) << "source '" << script.string() << "'\nCOMP_WORDS=(" << arr
                    << ")\nCOMP_CWORD=" << words.size() - 1
                    << "\n_sinapsis\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
  FILE* p = popen(("bash '" + sh.string() + "' 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(Reach, BashCompletionCompletes) {
  const fs::path dir = fs::temp_directory_path() / ("sinapsis_comp_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path script = dir / "sinapsis.bash";
  std::ofstream(script) << run_cli("completion bash", {.merge_stderr = false}).out;
  EXPECT_EQ(complete(script, {"sinapsis", "tr"}), "train\n");
  EXPECT_EQ(complete(script, {"sinapsis", "train", "--sched"}), "--schedule\n");
  EXPECT_EQ(complete(script, {"sinapsis", "train", "--schedule", "multi"}), "multistep\n");
  EXPECT_EQ(complete(script, {"sinapsis", "train", "--optimizer", "lb"}), "lbfgs\n");
  EXPECT_EQ(complete(script, {"sinapsis", "predict", "run", "--to"}), "--top-k\n");
  EXPECT_EQ(complete(script, {"sinapsis", "help", "sched"}), "schedules\n");
  EXPECT_EQ(complete(script, {"sinapsis", "--vers"}), "--version\n");
  EXPECT_EQ(complete(script, {"sinapsis", "classic", "perc"}), "perceptron\n");
  EXPECT_EQ(complete(script, {"sinapsis", "classic", "adaline", "--ep"}), "--epochs\n");
  // a command's name as an option's value is not a command
  EXPECT_EQ(complete(script, {"sinapsis", "help", "train", "--m"}), "--man\n");
  fs::remove_all(dir);
}

}  // namespace
