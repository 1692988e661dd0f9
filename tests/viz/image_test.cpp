// PNG encoder and raster: the file decodes back (signature, IHDR fields, chunk CRCs, inflated
// and unfiltered IDAT equal to the pixels), drawing clips, base64 vectors.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <sinapsis/sinapsis.h>

#include "test_util.h"

namespace {
namespace viz = sn::viz;

uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

struct Chunk {
  std::string type, data;
};

// Splits a PNG into chunks, checking each CRC; fails the test on any inconsistency.
std::vector<Chunk> chunks(const std::string& png) {
  std::vector<Chunk> out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  size_t at = 8;
  while (at + 12 <= png.size()) {
    const uint32_t len = be32(png, at);
    EXPECT_LE(at + 12 + len, png.size());
    if (at + 12 + len > png.size()) break;
    Chunk c{png.substr(at + 4, 4), png.substr(at + 8, len)};
    const std::string body = png.substr(at + 4, 4 + len);
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()),
                            static_cast<uInt>(body.size()));
    EXPECT_EQ(be32(png, at + 8 + len), static_cast<uint32_t>(crc)) << c.type;
    out.push_back(c);
    at += 12 + len;
  }
  EXPECT_EQ(at, png.size());
  return out;
}

// Full decode of our own subset (8-bit RGB, filters 0 and 1) back to pixels.
std::vector<uint8_t> decode_rgb(const std::string& png, int& w, int& h) {
  std::vector<Chunk> cs = chunks(png);
  EXPECT_GE(cs.size(), 3u);
  EXPECT_EQ(cs.front().type, "IHDR");
  EXPECT_EQ(cs.back().type, "IEND");
  const std::string& ihdr = cs.front().data;
  EXPECT_EQ(ihdr.size(), 13u);
  w = static_cast<int>(be32(ihdr, 0));
  h = static_cast<int>(be32(ihdr, 4));
  EXPECT_EQ(ihdr[8], 8);  // bit depth
  EXPECT_EQ(ihdr[9], 2);  // RGB
  std::string z;
  for (const auto& c : cs)
    if (c.type == "IDAT") z += c.data;
  std::vector<uint8_t> raw(static_cast<size_t>(h) * (1 + static_cast<size_t>(w) * 3));
  uLongf len = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &len, reinterpret_cast<const Bytef*>(z.data()), z.size()), Z_OK);
  EXPECT_EQ(len, raw.size());
  std::vector<uint8_t> px;
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = raw.data() + static_cast<size_t>(y) * (1 + w * 3);
    const uint8_t filter = row[0];
    EXPECT_TRUE(filter == 0 || filter == 1);
    const size_t base = px.size();
    for (int i = 0; i < w * 3; ++i) {
      uint8_t v = row[1 + i];
      if (filter == 1 && i >= 3) v = static_cast<uint8_t>(v + px[base + i - 3]);
      px.push_back(v);
    }
  }
  return px;
}
}  // namespace

TEST(Png, RoundTripsThePixels) {
  viz::Image img(37, 23, {10, 20, 30});
  img.fill_rect(5, 5, 20, 15, {200, 0, 0});
  img.draw_line(0, 0, 36, 22, {0, 255, 0}, 1.0);
  img.fill_circle(30, 5, 4, {0, 0, 255});
  const std::string png = viz::encode_png(img);
  int w = 0, h = 0;
  std::vector<uint8_t> px = decode_rgb(png, w, h);
  EXPECT_EQ(w, 37);
  EXPECT_EQ(h, 23);
  EXPECT_EQ(px, img.rgb());
  EXPECT_EQ(img.pixel(10, 10), (viz::Color{200, 0, 0}));
  EXPECT_EQ(img.pixel(0, 22), (viz::Color{10, 20, 30}));
  EXPECT_EQ(img.pixel(30, 5), (viz::Color{0, 0, 255}));
  EXPECT_EQ(img.pixel(0, 0), (viz::Color{0, 255, 0}));
}

using PngFile = sn::test::TempDirTest;

TEST_F(PngFile, WritesAFile) {
  viz::Image img(8, 8);
  img.set_pixel(3, 4, {1, 2, 3});
  const std::string path = this->path("x.png");
  viz::write_png(img, path);
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, viz::encode_png(img));
  EXPECT_THROW(viz::write_png(img, this->path("no/such/dir/x.png")), sn::IOError);
}

TEST(Image, DrawingClipsAndChecks) {
  viz::Image img(10, 10);
  // far outside or crossing: nothing is written out of bounds, and a huge line stays cheap
  img.draw_line(-1e12, -1e12, 1e12, 1e12, {0, 0, 0}, 3.0);
  img.draw_line(NAN, 0, 5, 5, {0, 0, 0});
  img.fill_circle(-100, -100, 5, {0, 0, 0});
  img.fill_rect(8, 8, 100, 100, {9, 9, 9});
  img.set_pixel(-1, 3, {0, 0, 0});
  EXPECT_EQ(img.pixel(5, 5), (viz::Color{0, 0, 0}));  // on the diagonal
  EXPECT_EQ(img.pixel(9, 9), (viz::Color{9, 9, 9}));
  EXPECT_EQ(img.pixel(9, 0), (viz::Color{255, 255, 255}));
  EXPECT_THROW(img.pixel(10, 0), sn::IndexError);
  EXPECT_THROW(viz::Image(0, 5), sn::ValueError);
  EXPECT_THROW(viz::Image(5, 100000), sn::ValueError);
}

TEST(Image, ColoursAndBase64) {
  EXPECT_EQ(viz::to_hex({255, 0, 16}), "#ff0010");
  EXPECT_EQ(viz::lighten({0, 0, 0}, 1.0), (viz::Color{255, 255, 255}));
  EXPECT_EQ(viz::lighten({100, 100, 100}, 0.0), (viz::Color{100, 100, 100}));
  EXPECT_NE(viz::palette(0), viz::palette(1));
  EXPECT_EQ(viz::palette(10), viz::palette(0));
  EXPECT_EQ(viz::base64_encode(""), "");
  EXPECT_EQ(viz::base64_encode("f"), "Zg==");
  EXPECT_EQ(viz::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(viz::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(viz::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(viz::base64_encode(std::string("\x89PNG\r\n\x1a\n", 8)), "iVBORw0KGgo=");
}
