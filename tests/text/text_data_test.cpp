// Text data: the file reader's refusals (missing, folder, FIFO, device, over the size cap,
// empty, not UTF-8), the 90/10 character split with char and BPE tokenizers, random windows
// within bounds, the truncated-BPTT stream layout and the validation windows.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <sinapsis/sinapsis.h>

#include "test_util.h"

namespace sn::data {
namespace {

namespace fs = std::filesystem;

class TextFile : public sn::test::TempDirTest {
 protected:
  static std::string error_of(const std::string& path, TextFileOptions o = {}) {
    return sn::test::error_of([&] { read_text_file(path, o); });
  }
};

TEST_F(TextFile, ReadsUtf8) {
  EXPECT_EQ(read_text_file(write("a.txt", "h\xC3\xA9llo\n")), "h\xC3\xA9llo\n");
}

TEST_F(TextFile, EachBadInputIsOneClearError) {
  EXPECT_NE(error_of((dir_ / "missing.txt").string()).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of(dir_.string()).find("is a folder"), std::string::npos);
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of(fifo).find("is a FIFO"), std::string::npos);  // and does not block
  EXPECT_NE(error_of("/dev/zero").find("is a character device"), std::string::npos);
  EXPECT_NE(error_of(write("big.txt", std::string(100, 'a')), {.max_bytes = 50})
                .find("has 100 bytes, more than the limit of 50"),
            std::string::npos);
  EXPECT_NE(error_of(write("empty.txt", "")).find("is empty"), std::string::npos);
  const std::string m = error_of(write("latin1.txt", "caf\xE9 au lait"));
  EXPECT_NE(m.find("not valid UTF-8 (byte 0xe9 at offset 3)"), std::string::npos) << m;
  EXPECT_THROW(read_text_file((dir_ / "missing.txt").string()), IOError);
  EXPECT_THROW(read_text_file(write("bad.txt", "\xFF")), ValueError);
}

TEST(TextCorpus, SplitsCharactersNinetyTenLikeCharLm) {
  // 25 characters, some of two bytes: int(0.9 * 25) = 22 characters train
  std::string text;
  for (int i = 0; i < 5; ++i) text += "ab\xC3\xA9\n ";
  TextCorpus c = make_text_corpus(text, "char");
  EXPECT_EQ(c.chars, 25);
  EXPECT_EQ(c.train_chars, 22);
  EXPECT_EQ(c.train.size(), 22u);
  EXPECT_EQ(c.val.size(), 3u);
  EXPECT_EQ(c.tokenizer->vocab_size(), 5);  // '\n', ' ', 'a', 'b', 'é'
  EXPECT_EQ(c.tokenizer->decode(c.train) + c.tokenizer->decode(c.val), text);
  // the vocabulary comes from the whole text: a character only in the validation part is known
  TextCorpus d = make_text_corpus(std::string(18, 'a') + "bz", "char");
  EXPECT_EQ(d.tokenizer->vocab_size(), 3);
  EXPECT_EQ(d.val, (std::vector<int64_t>{1, 2}));
}

TEST(TextCorpus, BpeIsTrainedOnTheTrainingPartOnly) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "one two three ";
  text += std::string(40, 'q');  // only in the last 10% (split at 414 of 460): never merged
  TextCorpus c = make_text_corpus(text, "bpe:300");
  EXPECT_EQ(c.tokenizer->kind(), "bpe");
  for (const auto& [a, b] : dynamic_cast<const BpeTokenizer&>(*c.tokenizer).merges())
    EXPECT_FALSE(a == 'q' && b == 'q');
  EXPECT_EQ(c.tokenizer->decode(c.train) + c.tokenizer->decode(c.val), text);
  EXPECT_THROW(make_text_corpus(text, "bpe:100"), ValueError);
  EXPECT_THROW(make_text_corpus(text, "bpe:x"), ValueError);
  EXPECT_THROW(make_text_corpus(text, "words"), ValueError);
  EXPECT_THROW(make_text_corpus("", "char"), ValueError);
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

TEST(TokenWindows, RandomWindowsStayInBoundsAndTargetsAreShifted) {
  manual_seed(3);
  TokenWindows w(iota(20), 4);  // offsets in [0, 20 - 4 - 1) = [0, 15)
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    Example b = w.random_batch(8);
    ASSERT_EQ(b.x.shape(), Shape({8, 4}));
    ASSERT_EQ(b.x.dtype(), kInt64);
    std::vector<int64_t> x = b.x.to_vector_as<int64_t>(), y = b.y.to_vector_as<int64_t>();
    for (int r = 0; r < 8; ++r) {
      const int64_t o = x[static_cast<size_t>(r * 4)];
      ASSERT_GE(o, 0);
      ASSERT_LT(o, 15);
      seen.insert(o);
      for (int t = 0; t < 4; ++t) {
        EXPECT_EQ(x[static_cast<size_t>(r * 4 + t)], o + t);
        EXPECT_EQ(y[static_cast<size_t>(r * 4 + t)], o + t + 1);
      }
    }
  }
  EXPECT_EQ(seen.size(), 15u);  // every allowed offset comes up
  // the same seed draws the same windows
  manual_seed(9);
  Tensor a = w.random_batch(4).x;
  manual_seed(9);
  EXPECT_EQ(w.random_batch(4).x.to_vector_as<int64_t>(), a.to_vector_as<int64_t>());
  EXPECT_THROW(TokenWindows(iota(5), 4).random_batch(1), ValueError);  // needs block + 2
  EXPECT_THROW(w.batch_at({16}), IndexError);
}

TEST(TokenWindows, StreamsAreContiguousAndWrap) {
  TokenWindows w(iota(100), 4);
  // 3 streams of 33 tokens: [0, 33), [33, 66), [66, 99); (33 - 1) / 4 = 8 windows each
  EXPECT_EQ(w.stream_period(3), 8);
  EXPECT_EQ(w.stream_offsets(3, 0), (std::vector<int64_t>{0, 33, 66}));
  EXPECT_EQ(w.stream_offsets(3, 1), (std::vector<int64_t>{4, 37, 70}));
  EXPECT_EQ(w.stream_offsets(3, 7), (std::vector<int64_t>{28, 61, 94}));
  EXPECT_EQ(w.stream_offsets(3, 8), (std::vector<int64_t>{0, 33, 66}));  // wrapped
  // step i + 1 continues exactly where step i ended, in every stream
  for (int64_t i = 0; i + 1 < 8; ++i) {
    Example a = w.stream_batch(3, i), b = w.stream_batch(3, i + 1);
    for (int64_t s = 0; s < 3; ++s)
      EXPECT_EQ(a.y.to_vector_as<int64_t>()[static_cast<size_t>(s * 4 + 3)],
                b.x.to_vector_as<int64_t>()[static_cast<size_t>(s * 4)]);
  }
  // the last window's target stays inside its stream
  EXPECT_LE(w.stream_batch(3, 7).y.to_vector_as<int64_t>()[3], 32);
  EXPECT_THROW(TokenWindows(iota(10), 4).stream_period(3), ValueError);
}

TEST(TokenWindows, EvalWindowsAreNonOverlappingAndComplete) {
  TokenWindows w(iota(23), 4);  // (23 - 1) / 4 = 5 windows: offsets 0, 4, 8, 12, 16
  EXPECT_EQ(w.num_eval_windows(), 5);
  std::vector<Example> b = w.eval_batches(2);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].x.shape(), Shape({2, 4}));
  EXPECT_EQ(b[2].x.shape(), Shape({1, 4}));
  EXPECT_EQ(b[2].x.to_vector_as<int64_t>(), (std::vector<int64_t>{16, 17, 18, 19}));
  EXPECT_EQ(b[2].y.to_vector_as<int64_t>(), (std::vector<int64_t>{17, 18, 19, 20}));
  EXPECT_THROW(TokenWindows(iota(4), 4).eval_batches(), ValueError);
}

}  // namespace
}  // namespace sn::data
