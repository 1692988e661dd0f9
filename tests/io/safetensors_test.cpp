// safetensors: round trips (every dtype, 0-d, empty, non-contiguous), byte-identical re-saves,
// and the reader's rejection of crafted corrupt files, each with the file named in the error.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "sinapsis/io/io.h"
#include "sinapsis/ops/ops.h"

namespace fs = std::filesystem;
using sn::Tensor;
using sn::io::Checkpoint;

namespace {

std::string temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sn_io_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

// A safetensors file from a header text and a data section.
std::string st_file(const std::string& header, const std::string& body = "") {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + body;
}

// Expects load_bytes to throw IOError whose text contains `name` and `what`.
void expect_rejected(const std::string& bytes, const std::string& what) {
  try {
    sn::io::load_bytes(bytes, "bad.safetensors");
    FAIL() << "accepted a corrupt file; expected an error about: " << what;
  } catch (const sn::IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "message: " << msg;
  }
}

sn::io::TensorMap sample_tensors() {
  sn::manual_seed(3);
  sn::io::TensorMap m;
  m["w"] = sn::randn({3, 4});
  m["w64"] = sn::randn({2, 2}, {.dtype = sn::kFloat64});
  m["idx"] = sn::tensor(std::vector<int64_t>{-5, 0, 7, int64_t{1} << 40}, sn::Shape{2, 2});
  m["mask"] = sn::gt(sn::randn({5}), 0.0);
  m["scalar"] = sn::tensor(2.5);
  m["empty"] = sn::zeros({0, 7});
  return m;
}

}  // namespace

TEST(Safetensors, RoundTripKeepsNamesDtypesShapesValuesAndMetadata) {
  const auto m = sample_tensors();
  const std::string dir = temp_dir("roundtrip");
  const std::string path = dir + "/ck.safetensors";
  sn::io::save(m, path, {{"epoch", "3"}, {"note", "héllo \"quoted\""}});
  const Checkpoint ck = sn::io::load(path);
  ASSERT_EQ(ck.tensors.size(), m.size());
  for (const auto& [name, t] : m) {
    ASSERT_TRUE(ck.tensors.count(name)) << name;
    const Tensor& u = ck.tensors.at(name);
    EXPECT_EQ(u.dtype(), t.dtype()) << name;
    EXPECT_EQ(u.shape(), t.shape()) << name;
    EXPECT_TRUE(sn::equal(u, t)) << name;
  }
  EXPECT_EQ(ck.metadata.at("epoch"), "3");
  EXPECT_EQ(ck.metadata.at("note"), "héllo \"quoted\"");
  fs::remove_all(dir);
}

TEST(Safetensors, ResavingALoadedCheckpointGivesIdenticalBytes) {
  const std::string a = sn::io::save_bytes(sample_tensors(), {{"k", "v"}});
  const Checkpoint ck = sn::io::load_bytes(a);
  const std::string b = sn::io::save_bytes(ck.tensors, ck.metadata);
  EXPECT_EQ(a, b);
}

TEST(Safetensors, HeaderIsPaddedSoDataIsEightByteAligned) {
  const std::string bytes = sn::io::save_bytes({{"x", sn::ones({3})}});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 3 * 4);
  EXPECT_EQ(bytes[8], '{');
}

TEST(Safetensors, NonContiguousTensorsAreSavedInLogicalOrder) {
  Tensor t = sn::arange(12).reshape({3, 4}).t();  // [4, 3], strides [1, 4]
  ASSERT_FALSE(t.is_contiguous());
  const Checkpoint ck = sn::io::load_bytes(sn::io::save_bytes({{"t", t}}));
  EXPECT_EQ(ck.tensors.at("t").shape(), (sn::Shape{4, 3}));
  EXPECT_EQ(ck.tensors.at("t").to_vector(), t.to_vector());
}

TEST(Safetensors, SaveRejectsUndefinedTensorsAndTheReservedName) {
  EXPECT_THROW(sn::io::save_bytes({{"a", Tensor()}}), sn::ValueError);
  EXPECT_THROW(sn::io::save_bytes({{"__metadata__", sn::ones({1})}}), sn::ValueError);
}

TEST(Safetensors, LoadOfMissingFileNamesIt) {
  try {
    sn::io::load("/nonexistent/dir/model.safetensors");
    FAIL();
  } catch (const sn::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.safetensors"), std::string::npos);
  }
}

TEST(Safetensors, RejectsTruncatedAndOversizedHeaders) {
  expect_rejected("", "too short");
  expect_rejected(std::string("\x10\0\0", 3), "too short");
  std::string huge(8, '\0');
  const uint64_t big = uint64_t{1} << 62;
  std::memcpy(huge.data(), &big, 8);
  expect_rejected(huge + "{}", "limit");
  // Header length 64, but only 2 header bytes follow.
  std::string past(8, '\0');
  past[0] = 64;
  expect_rejected(past + "{}", "past the end");
  // A valid file cut short inside the data section.
  const std::string good = sn::io::save_bytes({{"x", sn::ones({4})}});
  expect_rejected(good.substr(0, good.size() - 1), "outside");
}

TEST(Safetensors, RejectsBadJson) {
  expect_rejected(st_file("{\"a\": "), "not valid JSON");
  expect_rejected(st_file("[1, 2]"), "not an object");
  expect_rejected(st_file("{\"a\": 1}"), "not an object");
  expect_rejected(st_file("\xff\xfe"), "not valid JSON");
  // The same key twice would let one entry silently hide the other.
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                          R"("a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}})",
                          std::string(8, '\0')),
                  "twice");
}

TEST(Safetensors, RejectsBadEntries) {
  const std::string four(4, '\0');
  expect_rejected(st_file(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,4]}})", four),
                  "unsupported dtype 'C64'");
  expect_rejected(st_file(R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", four),
                  "dtype is not a string");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four),
                  "non-negative integers");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", four),
                  "non-negative integers");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", four),
                  "shape is not a list");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", four),
                  "two non-negative integers");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1]}})", four), "needs dtype");
  expect_rejected(
      st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", four),
      "unknown field 'extra'");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1],)"
                          R"("data_offsets":[0,4]}})",
                          four),
                  "13 dimensions");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],)"
                          R"("data_offsets":[0,4]}})",
                          four),
                  "addressed");
  // Empty, yet its strides would overflow.
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[0,1099511627776,1099511627776],)"
                          R"("data_offsets":[0,0]}})"),
                  "addressed");
  expect_rejected(st_file(R"({"__metadata__":{"k":1}})"), "is not a string");
  expect_rejected(st_file(R"({"__metadata__":[1]})"), "__metadata__ must be an object");
}

TEST(Safetensors, RejectsOffsetsThatDoNotTileTheData) {
  const std::string eight(8, '\0');
  // Shape product (2 floats = 8 bytes) disagrees with the offsets (4 bytes).
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", eight),
                  "span 4 bytes");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
                  "unused bytes");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", eight),
                  "outside");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", eight),
                  "outside");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          eight),
                  "overlaps");
  expect_rejected(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
                  "after the last tensor");
}

TEST(Safetensors, RejectsBooleansThatAreNotZeroOrOne) {
  expect_rejected(st_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                          std::string("\x01\x00\x02", 3)),
                  "byte 2");
}

TEST(Safetensors, ReadsFilesWithoutPaddingOrMetadata) {
  const float v[2] = {1.5f, -2.0f};
  const Checkpoint ck =
      sn::io::load_bytes(st_file(R"({"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                 std::string(reinterpret_cast<const char*>(v), 8)));
  EXPECT_TRUE(ck.metadata.empty());
  EXPECT_EQ(ck.tensors.at("v").to_vector(), (std::vector<double>{1.5, -2.0}));
}
