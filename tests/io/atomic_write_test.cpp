// Atomic writes: a write that fails part-way (the file-size limit makes write() fail with EFBIG)
// leaves the previous checkpoint intact and no temp file behind; success replaces it whole.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "sinapsis/io/io.h"
#include "sinapsis/ops/ops.h"

namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sn_atomic_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// Lowers the process's file-size limit for its lifetime; SIGXFSZ is ignored so the failing
// write() returns EFBIG instead of killing the test.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST(AtomicWrite, FailedSaveLeavesTheOldFileAndNoTempFile) {
  const std::string dir = temp_dir("fail");
  const std::string path = dir + "/model.safetensors";
  sn::io::save({{"w", sn::ones({4})}}, path, {{"version", "old"}});
  const std::string before = slurp(path);
  {
    FileSizeLimit limit(4096);
    // 40 KB of data cannot be written under a 4 KB limit: write() fails part-way.
    EXPECT_THROW(sn::io::save({{"w", sn::zeros({10000})}}, path, {{"version", "new"}}),
                 sn::IOError);
  }
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(sn::io::load(path).metadata.at("version"), "old");
  EXPECT_EQ(count_entries(dir), 1u) << "a temporary file was left behind";
  fs::remove_all(dir);
}

TEST(AtomicWrite, SuccessfulSaveReplacesTheFileWhole) {
  const std::string dir = temp_dir("ok");
  const std::string path = dir + "/model.safetensors";
  sn::io::save({{"w", sn::ones({4})}}, path);
  sn::io::save({{"w", sn::full({2, 3}, 7.0)}, {"b", sn::zeros({1})}}, path);
  const auto ck = sn::io::load(path);
  EXPECT_EQ(ck.tensors.size(), 2u);
  EXPECT_EQ(ck.tensors.at("w").shape(), (sn::Shape{2, 3}));
  EXPECT_EQ(count_entries(dir), 1u);
  fs::remove_all(dir);
}

TEST(AtomicWrite, UncommittedAtomicFileIsDiscarded) {
  const std::string dir = temp_dir("discard");
  const std::string path = dir + "/notes.txt";
  sn::io::write_file_atomic(path, "first");
  {
    sn::io::AtomicFile f(path);
    f.write("second, never committed");
    EXPECT_TRUE(fs::exists(f.temp_path()));
  }
  EXPECT_EQ(slurp(path), "first");
  EXPECT_EQ(count_entries(dir), 1u);
  fs::remove_all(dir);
}

TEST(AtomicWrite, MissingDirectoryIsAnIOErrorNamingThePath) {
  try {
    sn::io::save({{"w", sn::ones({1})}}, "/nonexistent_sn_dir/x.safetensors");
    FAIL();
  } catch (const sn::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent_sn_dir"), std::string::npos) << e.what();
  }
}

TEST(AtomicWrite, KeepsTheModeOfTheFileItReplaces) {
  const std::string dir = temp_dir("mode");
  const std::string path = dir + "/m.safetensors";
  sn::io::save({{"w", sn::ones({1})}}, path);
  EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write |
                                                fs::perms::group_read | fs::perms::others_read);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  sn::io::save({{"w", sn::ones({2})}}, path);
  EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(dir);
}
