// A tokenizer read from a checkpoint is untrusted (data/tokenizer.h): fields are named in
// errors, and merges that would grow tokens exponentially are refused before allocating.
#include <gtest/gtest.h>

#include <sinapsis/sinapsis.h>
#include "test_util.h"

namespace {

std::string error_of(const std::string& text) {
  return sn::test::error_of<sn::ValueError>([&] { sn::data::tokenizer_from_json(text); });
}

TEST(TokenizerGuard, FieldsAreNamed) {
  EXPECT_EQ(error_of(R"({"type": "char", "chars": ["a", 5]})"),
            "tokenizer_from_json: chars[1] must be a string (got 5)");
  EXPECT_EQ(error_of(R"({"type": "bpe", "merges": [[0, 1], [2, "x"]]})"),
            "tokenizer_from_json: merges[1] must be a pair of integer ids (got [2,\"x\"])");
  EXPECT_EQ(error_of(R"({"type": "bpe", "merges": [[0, 1]], "mergse": []})"),
            "tokenizer_from_json: unknown key \"mergse\"; did you mean \"merges\"? (known: type, "
            "merges)");
  EXPECT_EQ(error_of(R"({"type": "bpe"})"), "tokenizer_from_json has no \"merges\"");
  EXPECT_EQ(error_of("[" + std::string(10, '[')),
            "tokenizer_from_json: JSON nested deeper than 4 levels (line 1, column 5)");
}

// From a checkpoint, every error names it: the JSON's, the fields', the tokenizers' own.
TEST(TokenizerGuard, ErrorsNameTheSourceWhenGiven) {
  const std::string where = "run/last.safetensors: checkpoint entry 'tokenizer'";
  auto from = [&](const std::string& text) {
    return sn::test::error_of<sn::ValueError>([&] { sn::data::tokenizer_from_json(text, where); });
  };
  EXPECT_EQ(from(R"({"type": "char", "chars": ["a", 5]})"),
            where + ": chars[1] must be a string (got 5)");
  EXPECT_EQ(from("{").rfind(where + ": not valid JSON at line 1, column 2: ", 0), 0u);
  EXPECT_EQ(from(R"({"type": "char", "chars": ["b", "a"]})").rfind(where + ": CharTokenizer: ", 0),
            0u);
  EXPECT_EQ(from(R"({"type": "bpe"})"), where + " has no \"merges\"");
}

TEST(TokenizerGuard, ExponentialMergesAreRefused) {
  // merge k joins token 255+k with itself: token lengths 2, 4, 8, ... 2^40 bytes
  std::string merges = "[[97, 97]";
  for (int k = 1; k < 40; ++k)
    merges += ", [" + std::to_string(255 + k) + ", " + std::to_string(255 + k) + "]";
  merges += "]";
  const std::string e = error_of(R"({"type": "bpe", "merges": )" + merges + "}");
  EXPECT_NE(e.find("BpeTokenizer: merge 20 makes a token of 2097152 bytes"), std::string::npos)
      << e;
}

}  // namespace
