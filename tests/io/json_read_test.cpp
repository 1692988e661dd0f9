// The guarded JSON reader every JSON input goes through (src/core/json_read.h): size and depth
// bounded before parsing, duplicate keys refused, messages without the JSON library's text,
// typed fields and unknown keys named, and safetensors headers read through it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <sinapsis/sinapsis.h>

#include "core/json_read.h"

namespace d = sn::detail;
using nlohmann::json;

namespace {

std::string why(const std::string& text, d::JsonLimits lim = {}) {
  json j;
  return d::try_parse_json(text, lim, j);
}

TEST(JsonRead, DepthAndSizeAreCheckedBeforeParsing) {
  EXPECT_EQ(why(std::string(64, '[') + std::string(64, ']')), "");
  EXPECT_EQ(why(std::string(65, '[') + std::string(65, ']')),
            "JSON nested deeper than 64 levels (line 1, column 65)");
  EXPECT_EQ(why("{\"a\":\n" + std::string(1000000, '{')),
            "JSON nested deeper than 64 levels (line 2, column 64)");
  // brackets in strings, escaped quotes included, do not count
  EXPECT_EQ(why(R"(["[[[[\"[[[[", "{{{{"])", {.max_depth = 1}), "");
  EXPECT_EQ(why("[1, 2]", {.max_bytes = 5}), "6 bytes of JSON, more than the 5-byte limit for it");
}

TEST(JsonRead, MessagesArePlaceAndReasonNotLibraryText) {
  EXPECT_EQ(why("{\"a\": 1,\n \"b\": tru}"),
            "not valid JSON at line 2, column 10: syntax error while parsing value - invalid "
            "literal; last read: '\"b\": tru}'");
  EXPECT_EQ(why(R"({"a": 1, "a": 2})"), "names the key \"a\" twice");
  EXPECT_EQ(why(R"({"x": {"a": 1}, "y": {"a": 2}})"), "");  // same key in two objects is fine
  const std::string big = why("[1e99999]");
  EXPECT_EQ(big.find("json.exception"), std::string::npos) << big;
  EXPECT_NE(big.find("number overflow"), std::string::npos) << big;
  const std::string utf = why("[\"\xff\"]");
  EXPECT_EQ(utf.find("json.exception"), std::string::npos) << utf;
  // a long bad token is cut
  EXPECT_LT(why("[" + std::string(40000, 'x') + "]").size(), 200u);
  EXPECT_THROW(d::parse_json<sn::IOError>("[", "x"), sn::IOError);
  try {
    d::parse_json("{", "run.json");
    FAIL();
  } catch (const sn::ValueError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("run.json: not valid JSON at line 1, column 2", 0), 0u)
        << e.what();
  }
}

TEST(JsonRead, FieldsAndKeysAreNamed) {
  const json j = json::parse(R"({"n": "ten", "big": 18446744073709551615, "ok": 3, "f": true})");
  EXPECT_EQ(d::json_int(j, "ok", 0, "w"), 3);
  EXPECT_EQ(d::json_int(j, "missing", 7, "w"), 7);
  try {
    d::json_int(j, "n", 0, "cfg");
    FAIL();
  } catch (const sn::ValueError& e) {
    EXPECT_STREQ(e.what(), "cfg.n must be an integer (got \"ten\")");
  }
  EXPECT_THROW(d::json_int(j, "big", 0, "w"), sn::ValueError);
  EXPECT_THROW(d::json_double(j, "f", 0, "w"), sn::ValueError);
  EXPECT_THROW(d::json_string<sn::IOError>(j, "ok", "", "w"), sn::IOError);
  EXPECT_EQ(d::nearest_key("otu", {"in", "out", "bias"}), "out");
  EXPECT_EQ(d::nearest_key("Linaer", {"Linear", "LSTM"}), "Linear");
  EXPECT_EQ(d::nearest_key("zzzzzz", {"in", "out"}), "");
  EXPECT_EQ(d::nearest_key("hidden", {"hidden_size"}), "");  // 5 edits: not close
  const json ref = {{"epochs", int64_t{5}},
                    {"seed", uint64_t{0}},
                    {"lr", 0.5},
                    {"data", {{"limit", int64_t{0}}}}};
  d::check_like(json::parse(R"({"epochs": 3, "lr": 1, "data": {}})"), ref, "run.json");
  auto like = [&](const char* text) {
    try {
      d::check_like(json::parse(text), ref, "run.json", {"extra"});
    } catch (const sn::ValueError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(like(R"({"epochs": "ten"})"), "run.json: epochs must be an integer (got \"ten\")");
  EXPECT_EQ(like(R"({"seed": -1})"), "run.json: seed must be a non-negative integer (got -1)");
  EXPECT_EQ(like(R"({"data": {"limit": 1.5}})"),
            "run.json: data.limit must be an integer (got 1.5)");
  EXPECT_EQ(like(R"({"epocs": 3})"),
            "run.json: unknown key \"epocs\"; did you mean \"epochs\"? (known: extra, data, "
            "epochs, lr, seed)");
  EXPECT_EQ(like(R"({"extra": [1]})"), "");
}

TEST(JsonRead, FilesAreCheckedBeforeReading) {
  const auto dir = std::filesystem::temp_directory_path() / "sn_json_read";
  std::filesystem::create_directories(dir);
  const std::string fifo = (dir / "fifo").string();
  ::mkfifo(fifo.c_str(), 0600);
  // a FIFO would block a plain read: refused by its type
  EXPECT_THROW(d::read_json_file(fifo, "spec"), sn::IOError);
  EXPECT_THROW(d::read_json_file(dir.string(), "spec"), sn::IOError);
  {
    std::ofstream f(dir / "big.json");
    f << "[" << std::string(100, ' ') << "]";
  }
  try {
    d::read_json_file((dir / "big.json").string(), "spec", {.max_bytes = 50});
    FAIL();
  } catch (const sn::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("has 102 bytes, more than the limit of 50"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(d::read_json_file((dir / "big.json").string(), "spec"), json::array());
  std::filesystem::remove_all(dir);
}

// A safetensors header nested 40,000 levels: an error at once (it took a minute and ~4 GB).
TEST(JsonRead, DeepSafetensorsHeaderIsRefused) {
  const std::string h =
      R"({"__metadata__": {"a": )" + std::string(40000, '[') + std::string(40000, ']') + "}}";
  std::string bytes(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += h;
  try {
    sn::io::load_bytes(bytes, "deep.safetensors");
    FAIL();
  } catch (const sn::IOError& e) {
    EXPECT_EQ(std::string(e.what()),
              "load: 'deep.safetensors': the header: JSON nested deeper than 16 levels (line 1, "
              "column 38)");
  }
}

}  // namespace
