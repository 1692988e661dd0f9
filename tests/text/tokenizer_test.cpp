// Tokenizers: UTF-8 decoding (strict) and streaming, CharTokenizer as char_lm.py builds its
// vocabulary, byte-level BPE (round trips with multi-byte characters, deterministic merges,
// the most frequent pair first), JSON round trips and the errors for bad input.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>

namespace sn::data {
namespace {

const std::string kMixed = "h\xC3\xA9llo w\xC3\xB6rld \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82!\n";

TEST(Utf8, DecodesAndEncodesEveryLength) {
  std::u32string cps = utf8_decode(kMixed);
  EXPECT_EQ(cps[1], U'\u00E9');
  EXPECT_EQ(cps[12], U'\u65E5');
  EXPECT_EQ(cps[15], U'\U0001F642');
  EXPECT_EQ(utf8_encode(cps), kMixed);
}

TEST(Utf8, RejectsInvalidBytesWithTheirOffset) {
  for (const std::string& bad : {std::string("ab\xFF"), std::string("a\xC3"),  // cut short
                                 std::string("\xC0\xAF"),                      // overlong '/'
                                 std::string("\xED\xA0\x80"),                  // surrogate
                                 std::string("\xF4\x90\x80\x80"),              // > U+10FFFF
                                 std::string("a\x80")}) {                      // lone continuation
    try {
      utf8_decode(bad, "test");
      FAIL() << "accepted invalid UTF-8";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("test: not valid UTF-8 (byte 0x"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_NE(std::string([] {
              try {
                utf8_decode("ab\xFF");
              } catch (const ValueError& e) {
                return std::string(e.what());
              }
              return std::string();
            }())
                .find("at offset 2"),
            std::string::npos);
}

TEST(Utf8, StreamHoldsBackUnfinishedCharacters) {
  Utf8Stream s;
  EXPECT_EQ(s.push("a\xE6"), "a");
  EXPECT_EQ(s.push("\x97"), "");
  EXPECT_EQ(s.push("\xA5z"), "\xE6\x97\xA5z");
  EXPECT_EQ(s.push("\xFF"), "\xEF\xBF\xBD");  // invalid byte -> U+FFFD
  EXPECT_EQ(s.push("\xC3"), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD");  // cut short at the end
  EXPECT_EQ(utf8_sanitize("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(CharTokenizer, VocabularyIsTheSortedSetOfCodePoints) {
  CharTokenizer t = CharTokenizer::from_text(utf8_decode(kMixed));
  // sorted(set(text)) in Python: '\n', ' ', '!', 'd', 'h', 'l', 'o', 'r', 'w', 'é', 'ö', '日',
  // '本', '🙂'
  EXPECT_EQ(t.vocab_size(), 14);
  EXPECT_EQ(t.chars()[0], U'\n');
  EXPECT_EQ(t.chars()[9], U'\u00E9');
  EXPECT_EQ(t.chars()[13], U'\U0001F642');
  std::vector<int64_t> ids = t.encode(kMixed);
  EXPECT_EQ(ids.size(), utf8_decode(kMixed).size());  // one id per character, not per byte
  EXPECT_EQ(ids[1], 9);
  EXPECT_EQ(t.decode(ids), kMixed);
}

TEST(CharTokenizer, UnknownCharacterIsNamed) {
  CharTokenizer t = CharTokenizer::from_text(U"abc\n");
  try {
    t.encode(std::string("ab\xC3\xA9"));
    FAIL();
  } catch (const ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'\xC3\xA9' (U+00E9) at position 2 is not in the vocabulary (4 characters)"),
              std::string::npos)
        << m;
  }
  EXPECT_THROW(t.token_bytes(4), IndexError);
  EXPECT_THROW(t.token_bytes(-1), IndexError);
  EXPECT_THROW(t.encode(std::string("a\xFF")), ValueError);
  EXPECT_THROW(CharTokenizer(U"ba"), ValueError);  // not sorted
  EXPECT_THROW(CharTokenizer(U""), ValueError);
}

TEST(CharTokenizer, JsonRoundTrip) {
  CharTokenizer t = CharTokenizer::from_text(utf8_decode(kMixed + "\"\\\t"));
  TokenizerPtr back = tokenizer_from_json(t.to_json());
  EXPECT_EQ(back->kind(), "char");
  ASSERT_EQ(back->vocab_size(), t.vocab_size());
  EXPECT_EQ(back->encode(kMixed), t.encode(kMixed));
  EXPECT_EQ(dynamic_cast<const CharTokenizer&>(*back).chars(), t.chars());
}

TEST(Bpe, ChunksKeepALeadingSpaceWithTheWord) {
  std::vector<std::string_view> c = bpe_chunks("Hello  world, 42x\n\nok");
  std::vector<std::string> got(c.begin(), c.end());
  std::vector<std::string> want = {"Hello", " ", " world", ",", " 42", "x", "\n\n", "ok"};
  EXPECT_EQ(got, want);
}

TEST(Bpe, FirstMergeIsTheMostFrequentPairAndTiesGoToTheSmallest) {
  // "ab" occurs 3 times, "bc" twice (chunks are single words here)
  BpeTokenizer t = BpeTokenizer::train("abc abc ab", 257);
  ASSERT_EQ(t.merges().size(), 1u);
  EXPECT_EQ(t.merges()[0], std::make_pair(int64_t{'a'}, int64_t{'b'}));
  // a tie between ("x","y") and ("y","z") (twice each): the smaller pair wins
  BpeTokenizer u = BpeTokenizer::train("xyz xyz", 257);
  EXPECT_EQ(u.merges()[0], std::make_pair(int64_t{'x'}, int64_t{'y'}));
}

TEST(Bpe, RoundTripsMultiByteTextAndIsDeterministic) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += kMixed + "the cat sat on the mat; " + std::to_string(i);
  BpeTokenizer a = BpeTokenizer::train(text, 300);
  BpeTokenizer b = BpeTokenizer::train(text, 300);
  EXPECT_EQ(a.merges(), b.merges());
  EXPECT_GT(a.vocab_size(), 256);
  EXPECT_LE(a.vocab_size(), 300);
  std::vector<int64_t> ids = a.encode(text);
  EXPECT_LT(ids.size(), text.size() / 2);  // merges compress
  EXPECT_EQ(a.decode(ids), text);
  // text the tokenizer never saw, multi-byte included, still round-trips (bytes are the base)
  const std::string unseen = "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 zebra 99";
  EXPECT_EQ(a.decode(a.encode(unseen)), unseen);
  // a merged token is exactly the bytes of its two parts
  for (size_t k = 0; k < a.merges().size(); ++k)
    EXPECT_EQ(a.token_bytes(256 + static_cast<int64_t>(k)),
              a.token_bytes(a.merges()[k].first) + a.token_bytes(a.merges()[k].second));
  TokenizerPtr back = tokenizer_from_json(a.to_json());
  EXPECT_EQ(back->kind(), "bpe");
  EXPECT_EQ(back->encode(text), ids);
}

TEST(Bpe, StopsWhenNoPairRepeats) {
  BpeTokenizer t = BpeTokenizer::train("abcdef", 1000);
  EXPECT_EQ(t.vocab_size(), 256);
  EXPECT_THROW(BpeTokenizer::train("abc", 100), ValueError);
}

TEST(Bpe, BadJsonAndMergesAreErrors) {
  EXPECT_THROW(tokenizer_from_json("not json"), ValueError);
  EXPECT_THROW(tokenizer_from_json("{\"type\": \"word\"}"), ValueError);
  EXPECT_THROW(tokenizer_from_json("{\"type\": \"bpe\", \"merges\": [[1, 300]]}"), ValueError);
  EXPECT_THROW(tokenizer_from_json("{\"type\": \"bpe\", \"merges\": [[1]]}"), ValueError);
  EXPECT_THROW(tokenizer_from_json("{\"type\": \"char\", \"chars\": [\"ab\"]}"), ValueError);
  EXPECT_THROW(tokenizer_from_json("{\"type\": \"char\"}"), ValueError);
}

}  // namespace
}  // namespace sn::data
