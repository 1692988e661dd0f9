// Running the `sinapsis` executable from a test: its exit code and its output (stderr merged
// unless asked otherwise), in another working directory or under a time limit when asked, and
// reading a file it wrote. The per-test temporary folder is sn::test::TempDirTest (test_util.h).
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace sn::test {

struct CliResult {
  int code;
  std::string out;
};

struct CliOptions {
  bool merge_stderr = true;     // false: stderr is dropped, `out` holds stdout alone
  std::filesystem::path cwd{};  // empty: the test's own working directory
  int timeout_s = 0;            // > 0: a command still running then is ended (exit code 124)
};

inline const std::string& cli_binary() {
  static const std::string bin = std::string(SN_BINARY_DIR) + "/tools/cli/sinapsis";
  return bin;
}

inline CliResult run_cli(const std::string& args, const CliOptions& o = {}) {
  std::string cmd;
  if (!o.cwd.empty()) cmd += "cd '" + o.cwd.string() + "' && ";
  if (o.timeout_s > 0) cmd += "timeout " + std::to_string(o.timeout_s) + " ";
  cmd += cli_binary() + " " + args + (o.merge_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace sn::test
