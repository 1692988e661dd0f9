// Replays every input in tests/fuzz/corpus/<target>/ (seeds and anything a fuzzer ever found)
// through the fuzz targets' checks, so a fixed crash stays fixed in builds without libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/targets.h"

namespace fs = std::filesystem;

namespace {

size_t replay(const std::string& target, void (*fn)(const uint8_t*, size_t)) {
  const fs::path dir = fs::path(SN_SOURCE_DIR) / "tests/fuzz/corpus" / target;
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream f(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    ++n;
  }
  return n;
}

}  // namespace

TEST(FuzzCorpus, Safetensors) { EXPECT_GT(replay("safetensors", sn::fuzz::safetensors_one), 0u); }
TEST(FuzzCorpus, Idx) { EXPECT_GT(replay("idx", sn::fuzz::idx_one), 0u); }
TEST(FuzzCorpus, Csv) { EXPECT_GT(replay("csv", sn::fuzz::csv_one), 0u); }
TEST(FuzzCorpus, Spec) { EXPECT_GT(replay("spec", sn::fuzz::spec_one), 0u); }
