// IDX reader: every type code, raw and gzip (single and multi-member), dtype/scale options, and
// crafted bad files (magic, dims, truncation, trailing bytes, corrupt gzip) giving IOErrors that
// name the file. Then the real Fashion-MNIST files, when the Debian package is installed.
#include <gtest/gtest.h>
#include <zlib.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "sinapsis/data/data.h"
#include "sinapsis/ops/ops.h"

using namespace sn;
namespace fs = std::filesystem;

namespace {

void put_be(std::string& s, uint64_t v, int bytes) {
  for (int b = bytes - 1; b >= 0; --b) s.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

// An IDX file: header for `dims` of type `code`, followed by `payload` as given.
std::string idx_file(uint8_t code, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string s;
  s.push_back(0);
  s.push_back(0);
  s.push_back(static_cast<char>(code));
  s.push_back(static_cast<char>(dims.size()));
  for (uint32_t d : dims) put_be(s, d, 4);
  return s + payload;
}

std::string gzip(const std::string& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, raw.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void expect_bad(const std::string& bytes, const std::string& what) {
  try {
    data::read_idx_bytes(bytes, "bad.idx");
    FAIL() << "accepted a bad file; expected: " << what;
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.idx"), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "message: " << msg;
  }
}

std::string u8_image(int n) {
  std::string p;
  for (int i = 0; i < n * 6; ++i) p.push_back(static_cast<char>(i * 7 % 256));
  return idx_file(0x08, {static_cast<uint32_t>(n), 2, 3}, p);
}

}  // namespace

TEST(Idx, ReadsEveryTypeCodeBigEndian) {
  std::string p;
  p = std::string("\x00\x7f\x80\xff", 4);
  EXPECT_EQ(data::read_idx_bytes(idx_file(0x08, {4}, p)).to_vector(),
            (std::vector<double>{0, 127, 128, 255}));
  EXPECT_EQ(data::read_idx_bytes(idx_file(0x09, {4}, p)).to_vector(),
            (std::vector<double>{0, 127, -128, -1}));
  p.clear();
  put_be(p, 0x0102, 2);
  put_be(p, 0xfffe, 2);
  EXPECT_EQ(data::read_idx_bytes(idx_file(0x0B, {2}, p)).to_vector(),
            (std::vector<double>{258, -2}));
  p.clear();
  put_be(p, 70000, 4);
  put_be(p, 0xffffffff, 4);
  const Tensor i32 = data::read_idx_bytes(idx_file(0x0C, {2, 1}, p));
  EXPECT_EQ(i32.dtype(), kInt64);
  EXPECT_EQ(i32.shape(), (Shape{2, 1}));
  EXPECT_EQ(i32.to_vector(), (std::vector<double>{70000, -1}));
  p.clear();
  put_be(p, std::bit_cast<uint32_t>(-1.5f), 4);
  const Tensor f = data::read_idx_bytes(idx_file(0x0D, {1}, p));
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(f.item(), -1.5);
  p.clear();
  put_be(p, std::bit_cast<uint64_t>(0.1), 8);
  const Tensor d = data::read_idx_bytes(idx_file(0x0E, {1}, p));
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_EQ(d.item(), 0.1);
}

TEST(Idx, DtypeAndScaleOptions) {
  const std::string f = idx_file(0x08, {3}, std::string("\x00\x33\xff", 3));
  const Tensor t = data::read_idx_bytes(f, "x", {.dtype = kFloat32, .scale = 1.0 / 255});
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_NEAR(t.to_vector()[1], 0.2, 1e-7);
  EXPECT_EQ(t.to_vector()[2], 1.0);
  EXPECT_EQ(data::read_idx_bytes(f, "x", {.dtype = kBool}).to_vector(),
            (std::vector<double>{0, 1, 1}));
  EXPECT_THROW(data::read_idx_bytes(f, "x", {.dtype = kInt64, .scale = 0.5}), DTypeError);
  std::string p;
  put_be(p, std::bit_cast<uint32_t>(2.5f), 4);
  EXPECT_THROW(data::read_idx_bytes(idx_file(0x0D, {1}, p), "x", {.dtype = kInt64}), DTypeError);
}

TEST(Idx, GzipSingleAndMultiMemberMatchRaw) {
  const std::string raw = u8_image(5);
  const Tensor a = data::read_idx_bytes(raw);
  EXPECT_TRUE(equal(data::read_idx_bytes(gzip(raw)), a));
  // gzip allows members back to back (`cat a.gz b.gz`): one stream of their concatenation.
  const std::string two = gzip(raw.substr(0, 9)) + gzip(raw.substr(9));
  EXPECT_TRUE(equal(data::read_idx_bytes(two), a));
}

TEST(Idx, RejectsBadHeaders) {
  expect_bad("", "too short");
  expect_bad(std::string("\x00\x00\x08", 3), "too short");
  expect_bad(std::string("\x1f\x00\x08\x01\x00\x00\x00\x00", 8), "wrong magic number 0x1f000801");
  expect_bad(idx_file(0x07, {1}, "x"), "wrong magic");
  expect_bad(idx_file(0x08, {}, ""), "0 dims");
  expect_bad(idx_file(0x08, std::vector<uint32_t>(13, 1), "x"), "13 dims");
  expect_bad(idx_file(0x08, {3, 28, 28}, "").substr(0, 10), "header is truncated");
}

TEST(Idx, RejectsSizesThatDoNotMatchTheData) {
  // Oversized dims: 2^96 bytes claimed, nothing allocated for them.
  expect_bad(idx_file(0x0E, {0xffffffff, 0xffffffff, 0xffffffff}, "abc"), "too large");
  // No data at all (a zero dim) but strides that would overflow: found by fuzz_idx.
  expect_bad(idx_file(0x08, {16777216, 8200, 100990976, 0, 151521803}, ""), "too large");
  EXPECT_EQ(data::read_idx_bytes(idx_file(0x08, {0, 1000, 1000}, "")).shape(),
            (Shape{0, 1000, 1000}));
  expect_bad(idx_file(0x08, {60000, 28, 28}, "abc"), "truncated");
  expect_bad(idx_file(0x08, {2, 2}, "abc"), "truncated");
  expect_bad(idx_file(0x08, {2, 2}, "abcde"), "1 bytes after");
  expect_bad(idx_file(0x0C, {2}, "abcdefg"), "truncated");
  expect_bad(gzip(idx_file(0x08, {60000, 28, 28}, "abc")), "truncated");
  expect_bad(gzip(idx_file(0x08, {2, 2}, "abcde")), "more data");
}

TEST(Idx, RejectsCorruptGzip) {
  const std::string gz = gzip(u8_image(40));
  expect_bad(gz.substr(0, gz.size() / 2), "truncated");
  std::string flipped = gz;
  for (size_t i = 12; i < flipped.size() - 8; i += 5) flipped[i] = static_cast<char>(~flipped[i]);
  expect_bad(flipped, "");  // corrupt: some IOError naming the file, never a crash
  std::string crc = gz;
  crc[crc.size() - 6] ^= 0x55;  // the CRC-32 in the trailer
  expect_bad(crc, "corrupt gzip");
  expect_bad(gz + "junk", "corrupt gzip");
}

TEST(Idx, ReadsFilesAndNamesThemInErrors) {
  const fs::path dir = fs::temp_directory_path() / ("sn_idx_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string good = (dir / "a-idx3-ubyte.gz").string();
  std::ofstream(good, std::ios::binary) << gzip(u8_image(3));
  EXPECT_EQ(data::read_idx(good).shape(), (Shape{3, 2, 3}));
  const std::string bad = (dir / "cut-idx3-ubyte").string();
  std::ofstream(bad, std::ios::binary) << u8_image(3).substr(0, 20);
  try {
    data::read_idx(bad);
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::read_idx((dir / "missing").string()), IOError);
  EXPECT_THROW(data::read_idx(dir.string()), IOError);  // a directory
  fs::remove_all(dir);
}

TEST(FashionMnist, ExplicitDirectoryWithoutFilesIsAnError) {
  EXPECT_THROW(data::FashionMnist::find_dir("/nonexistent"), IOError);
  const fs::path dir = fs::temp_directory_path() / ("sn_fm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // Images and labels that disagree in count.
  std::ofstream((dir / "t10k-images-idx3-ubyte").string(), std::ios::binary)
      << idx_file(0x08, {2, 28, 28}, std::string(2 * 784, '\0'));
  std::ofstream((dir / "t10k-labels-idx1-ubyte").string(), std::ios::binary)
      << idx_file(0x08, {3}, std::string(3, '\1'));
  EXPECT_THROW(data::FashionMnist::test(dir.string()), IOError);
  std::ofstream((dir / "t10k-labels-idx1-ubyte").string(), std::ios::binary)
      << idx_file(0x08, {2}, std::string("\x01\x0a", 2));
  EXPECT_THROW(data::FashionMnist::test(dir.string()), IOError);  // label 10
  std::ofstream((dir / "t10k-labels-idx1-ubyte").string(), std::ios::binary)
      << idx_file(0x08, {2}, std::string("\x01\x09", 2));
  auto ds = data::FashionMnist::test(dir.string());
  EXPECT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->get(1).y.item(), 9);
  fs::remove_all(dir);
}

TEST(FashionMnist, LoadsTheSystemDataset) {
  std::string dir;
  try {
    dir = data::FashionMnist::find_dir();
  } catch (const IOError& e) {
    GTEST_SKIP() << e.what();
  }
  auto test = data::FashionMnist::test();
  ASSERT_EQ(test->size(), 10000);
  const data::Example e = test->get(0);
  EXPECT_EQ(e.x.shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(e.x.dtype(), kFloat32);
  EXPECT_EQ(e.y.dtype(), kInt64);
  EXPECT_GE(test->x().min().item(), 0.0);
  EXPECT_LE(test->x().max().item(), 1.0);
  EXPECT_GT(test->x().max().item(), 0.99);  // bytes were scaled by 1/255, not left as 0..255
  // Fashion-MNIST's test split is balanced: 1,000 images of each of the 10 classes.
  const Tensor counts = one_hot(test->y(), 10).sum({0});
  EXPECT_EQ(counts.to_vector(), std::vector<double>(10, 1000.0));
  auto train = data::FashionMnist::train();
  EXPECT_EQ(train->size(), 60000);
  EXPECT_EQ(data::FashionMnist::classes().size(), 10u);
}
