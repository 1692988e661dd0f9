// Helpers every test folder shares: the message of the error a call throws (error_of), a shell
// command's exit status and output (sh) and a fixture that gives each test a fresh temporary
// folder (TempDirTest). Folder-specific helpers (running the CLI, building conv inputs) stay in
// their folder's header.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "sinapsis/core/error.h"

namespace sn::test {

// The message of the E that `f` throws; "(no error)" when it throws nothing and "wrong exception
// type: ..." when it throws another std::exception, so that a test comparing messages fails
// readably instead of crashing.
template <typename E = sn::Error, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "(no error)";
}

// What a shell command printed (stdout and stderr together) and its exit status (-1 when it did
// not exit normally, e.g. killed by a signal).
struct ShellResult {
  int code = -1;
  std::string out{};
};
inline ShellResult sh(const std::string& command) {
  FILE* p = popen(("( " + command + " ) 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// A fixture with a fresh folder per test, <tmp>/sinapsis_<suite>_<test>_<pid>, created before the
// test and removed after it (the pid keeps parallel ctest runs of the same test apart). A derived
// SetUp calls TempDirTest::SetUp() first.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';  // parameterized tests are named Suite/Test/0
    dir_ = std::filesystem::temp_directory_path() /
           ("sinapsis_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;  // a test that made a folder unreadable must not fail here
    std::filesystem::remove_all(dir_, ec);
  }
  // the path of `name` inside the test's folder
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // writes `bytes` to `name` inside the test's folder and returns its path
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream f(dir_ / name, std::ios::binary);
    f << bytes;
    return path(name);
  }
  std::filesystem::path dir_;
};

}  // namespace sn::test
