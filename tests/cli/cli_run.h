// Running the `sinapsis` executable from a test: its exit code and its output (stderr merged
// unless asked otherwise), and reading a file it wrote.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sn::test {

struct CliResult {
  int code;
  std::string out;
};

inline CliResult run_cli(const std::string& args, bool merge_stderr = true) {
  const std::string bin = std::string(SN_BINARY_DIR) + "/tools/cli/sinapsis";
  const std::string cmd = bin + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
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
