// UTF-8 decoding/encoding, CharTokenizer and byte-level BPE (training, encoding, JSON form).
// The BPE trainer counts pairs over the distinct chunks of the text weighted by how often each
// occurs, which keeps a merge cheap on a megabyte of text; it is not meant for huge vocabularies.
#include "sinapsis/data/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/json_read.h"
#include "sinapsis/core/error.h"

namespace sn::data {

using json = nlohmann::json;

// ---------------------------------------------------------------- UTF-8

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Length of the valid UTF-8 sequence at s[i], 0 when it is invalid, -1 when it is a valid
// prefix cut short by the end of s. The code point goes to *cp.
int utf8_sequence(std::string_view s, size_t i, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  int len = 0;
  char32_t v = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, v = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, v = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, v = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

}  // namespace

std::u32string utf8_decode(std::string_view text, const char* who) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const int n = utf8_sequence(text, i, &cp);
    if (n <= 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02x",
                    static_cast<unsigned>(static_cast<unsigned char>(text[i])));
      SN_THROW(ValueError, who, ": not valid UTF-8 (byte ", buf, " at offset ", i,
               n < 0 ? ", a character cut short by the end" : "", ")");
    }
    out.push_back(cp);
    i += static_cast<size_t>(n);
  }
  return out;
}

std::string utf8_encode(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (c >> 6)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (c >> 12)));
    s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (c >> 18)));
    s.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
  return s;
}

std::string utf8_encode(std::u32string_view cps) {
  std::string s;
  s.reserve(cps.size());
  for (char32_t c : cps) s += utf8_encode(c);
  return s;
}

std::string utf8_sanitize(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const int n = utf8_sequence(bytes, i, &cp);
    if (n > 0) {
      out.append(bytes.substr(i, static_cast<size_t>(n)));
      i += static_cast<size_t>(n);
    } else {
      out += utf8_encode(kReplacement);
      ++i;
    }
  }
  return out;
}

std::string describe_char(char32_t c) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  std::string shown;
  switch (c) {
    case '\n':
      shown = "\\n";
      break;
    case '\t':
      shown = "\\t";
      break;
    case '\r':
      shown = "\\r";
      break;
    default:
      shown = c < 0x20 || c == 0x7F ? "?" : utf8_encode(c);
  }
  return "'" + shown + "' (" + code + ")";
}

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    char32_t cp = 0;
    const int n = utf8_sequence(pending_, i, &cp);
    if (n < 0) break;  // wait for the rest of this character
    if (n == 0) {
      out += utf8_encode(kReplacement);
      ++i;
    } else {
      out.append(pending_, i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out = utf8_sanitize(pending_);
  pending_.clear();
  return out;
}

// ---------------------------------------------------------------- Tokenizer

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string bytes;
  for (int64_t id : ids) bytes += token_bytes(id);
  return utf8_sanitize(bytes);
}

namespace {
TokenizerPtr tokenizer_from_json_impl(const std::string& text, const std::string& where) {
  const std::string op = where.empty() ? "tokenizer_from_json" : where;
  const json j = sn::detail::parse_json(text, op, {.max_depth = 4});
  SN_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(), ValueError, op,
           ": expected an object with a \"type\" (char or bpe; got ", sn::detail::json_brief(j),
           ")");
  const std::string type = j["type"];
  if (type == "char") {
    sn::detail::check_keys(j, {"type", "chars"}, op);
    const json& list = sn::detail::json_field(j, "chars", op);
    SN_CHECK(list.is_array(), ValueError, op, ": \"chars\" must be a list of strings (got ",
             sn::detail::json_brief(list), ")");
    std::u32string chars;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& c = list[i];
      SN_CHECK(c.is_string(), ValueError, op, ": chars[", i, "] must be a string (got ",
               sn::detail::json_brief(c), ")");
      std::u32string one = utf8_decode(c.get<std::string>(), op.c_str());
      SN_CHECK(one.size() == 1, ValueError, op, ": chars[", i, "] must be one character (got \"",
               sn::detail::cut_text(c.get<std::string>()), "\")");
      chars.push_back(one[0]);
    }
    return std::make_shared<CharTokenizer>(chars);
  }
  if (type == "bpe") {
    sn::detail::check_keys(j, {"type", "merges"}, op);
    const json& list = sn::detail::json_field(j, "merges", op);
    SN_CHECK(list.is_array(), ValueError, op, ": \"merges\" must be a list of id pairs (got ",
             sn::detail::json_brief(list), ")");
    std::vector<std::pair<int64_t, int64_t>> merges;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& m = list[i];
      SN_CHECK(m.is_array() && m.size() == 2 && sn::detail::json_fits_int64(m[0]) &&
                   sn::detail::json_fits_int64(m[1]),
               ValueError, op, ": merges[", i, "] must be a pair of integer ids (got ",
               sn::detail::json_brief(m), ")");
      merges.emplace_back(m[0].get<int64_t>(), m[1].get<int64_t>());
    }
    return std::make_shared<BpeTokenizer>(std::move(merges));
  }
  SN_THROW(ValueError, op, ": unknown type '", sn::detail::cut_text(type),
           "' (expected char or bpe)");
}
}  // namespace

TokenizerPtr tokenizer_from_json(const std::string& text, const std::string& where) {
  if (where.empty()) return tokenizer_from_json_impl(text, where);
  try {
    return tokenizer_from_json_impl(text, where);
  } catch (const Error& e) {
    // the tokenizers' own checks (an unsorted vocabulary, merges that grow too long) and the
    // JSON reader's name themselves, not the source: put it in front
    const std::string what = e.what();
    if (what.rfind(where, 0) == 0) throw;
    SN_THROW(ValueError, where, ": ", what);
  }
}

// ---------------------------------------------------------------- CharTokenizer

CharTokenizer::CharTokenizer(std::u32string vocabulary) : chars_(std::move(vocabulary)) {
  SN_CHECK(!chars_.empty(), ValueError, "CharTokenizer: the vocabulary is empty");
  for (size_t i = 1; i < chars_.size(); ++i)
    SN_CHECK(chars_[i - 1] < chars_[i], ValueError,
             "CharTokenizer: the vocabulary must be sorted and without repeats (entry ", i, " ",
             describe_char(chars_[i]), " after ", describe_char(chars_[i - 1]), ")");
  for (char32_t c : chars_)
    SN_CHECK(c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF), ValueError,
             "CharTokenizer: ", static_cast<uint32_t>(c), " is not a Unicode scalar value");
}

CharTokenizer CharTokenizer::from_text(std::u32string_view text) {
  std::u32string chars(text);
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  return CharTokenizer(std::move(chars));
}

int64_t CharTokenizer::id_of(char32_t c) const {
  auto it = std::lower_bound(chars_.begin(), chars_.end(), c);
  return it != chars_.end() && *it == c ? it - chars_.begin() : -1;
}

std::vector<int64_t> CharTokenizer::encode(std::u32string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int64_t id = id_of(text[i]);
    SN_CHECK(id >= 0, ValueError, "CharTokenizer: the character ", describe_char(text[i]),
             " at position ", i, " is not in the vocabulary (", chars_.size(),
             " characters); hint: a character model only knows the characters of its training "
             "text");
    ids.push_back(id);
  }
  return ids;
}

std::vector<int64_t> CharTokenizer::encode(std::string_view text) const {
  return encode(std::u32string_view(utf8_decode(text, "CharTokenizer")));
}

std::string CharTokenizer::token_bytes(int64_t id) const {
  SN_CHECK(id >= 0 && id < vocab_size(), IndexError, "CharTokenizer: token id ", id,
           " is outside the vocabulary [0, ", vocab_size(), ")");
  return utf8_encode(chars_[static_cast<size_t>(id)]);
}

std::string CharTokenizer::to_json() const {
  json chars = json::array();
  for (char32_t c : chars_) chars.push_back(utf8_encode(c));
  return json{{"type", "char"}, {"chars", chars}}.dump();
}

// ---------------------------------------------------------------- BPE

namespace {

enum class ByteClass { Space, Letter, Digit, Other };

ByteClass byte_class(unsigned char b) {
  if (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f')
    return ByteClass::Space;
  if (b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) return ByteClass::Letter;
  if (b >= '0' && b <= '9') return ByteClass::Digit;
  return ByteClass::Other;
}

ByteClass cls_at(std::string_view t, size_t i) {
  return byte_class(static_cast<unsigned char>(t[i]));
}

uint64_t pair_key(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
}

// Replaces every (a, b) in `ids`, left to right, by `id`.
void merge_pair(std::vector<int64_t>& ids, int64_t a, int64_t b, int64_t id) {
  size_t w = 0;
  for (size_t r = 0; r < ids.size(); ++r) {
    if (r + 1 < ids.size() && ids[r] == a && ids[r + 1] == b) {
      ids[w++] = id;
      ++r;
    } else {
      ids[w++] = ids[r];
    }
  }
  ids.resize(w);
}

}  // namespace

std::vector<std::string_view> bpe_chunks(std::string_view t) {
  std::vector<std::string_view> out;
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    const size_t start = i;
    if (cls_at(t, i) == ByteClass::Space) {
      size_t j = i;
      while (j < n && cls_at(t, j) == ByteClass::Space) ++j;
      // a single space before a word belongs to the word (" the")
      if (j < n && t[j - 1] == ' ') --j;
      if (j > i) {
        out.push_back(t.substr(i, j - i));
        i = j;
        continue;
      }
      ++i;  // the space that leads the word below
    }
    const ByteClass c = cls_at(t, i);
    while (i < n && cls_at(t, i) == c) ++i;
    out.push_back(t.substr(start, i - start));
  }
  return out;
}

BpeTokenizer::BpeTokenizer(std::vector<std::pair<int64_t, int64_t>> merges)
    : merges_(std::move(merges)) {
  constexpr size_t kMaxTokenBytes = size_t{1} << 20, kMaxVocabBytes = size_t{256} << 20;
  size_t total = 0;
  for (int b = 0; b < 256; ++b) bytes_.emplace_back(1, static_cast<char>(b));
  for (size_t k = 0; k < merges_.size(); ++k) {
    const auto [a, b] = merges_[k];
    const int64_t have = 256 + static_cast<int64_t>(k);
    SN_CHECK(a >= 0 && a < have && b >= 0 && b < have, ValueError, "BpeTokenizer: merge ", k,
             " joins ids (", a, ", ", b, "), but only ids below ", have, " exist before it");
    // Each merge may double a token: 40 merges of a token with itself would ask for 2^40
    // bytes. Real vocabularies' tokens are words; the bounds leave room for far more.
    const size_t len =
        bytes_[static_cast<size_t>(a)].size() + bytes_[static_cast<size_t>(b)].size();
    total += len;
    SN_CHECK(len <= kMaxTokenBytes && total <= kMaxVocabBytes, ValueError, "BpeTokenizer: merge ",
             k, " makes a token of ", len, " bytes (", total, " bytes in all); at most ",
             kMaxTokenBytes, " per token and ", kMaxVocabBytes, " in all");
    bytes_.push_back(bytes_[static_cast<size_t>(a)] + bytes_[static_cast<size_t>(b)]);
    ranks_.emplace(pair_key(a, b), static_cast<int64_t>(k));  // a repeated pair keeps its first
  }
}

BpeTokenizer BpeTokenizer::train(std::string_view text, int64_t vocab_size) {
  SN_CHECK(vocab_size >= 256, ValueError,
           "BpeTokenizer::train: the vocabulary must have at least the 256 byte tokens (got ",
           vocab_size, ")");
  // distinct chunks with their counts, in first-seen order (deterministic)
  std::unordered_map<std::string_view, size_t> index;
  std::vector<std::vector<int64_t>> words;
  std::vector<int64_t> freq;
  for (std::string_view c : bpe_chunks(text)) {
    auto [it, fresh] = index.emplace(c, words.size());
    if (fresh) {
      words.emplace_back(c.begin(), c.end());
      for (auto& v : words.back()) v = static_cast<unsigned char>(v);
      freq.push_back(0);
    }
    ++freq[it->second];
  }
  std::vector<std::pair<int64_t, int64_t>> merges;
  std::unordered_map<uint64_t, int64_t> counts;
  while (256 + static_cast<int64_t>(merges.size()) < vocab_size) {
    counts.clear();
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i)
        counts[pair_key(words[w][i], words[w][i + 1])] += freq[w];
    uint64_t best = 0;
    int64_t best_count = 1;  // a pair must occur at least twice to be worth a token
    for (const auto& [k, n] : counts)
      if (n > best_count || (n == best_count && n > 1 && k < best)) best = k, best_count = n;
    if (best_count < 2) break;
    const int64_t a = static_cast<int64_t>(best >> 32),
                  b = static_cast<int64_t>(best & 0xFFFFFFFFu);
    const int64_t id = 256 + static_cast<int64_t>(merges.size());
    merges.emplace_back(a, b);
    for (auto& w : words) merge_pair(w, a, b, id);
  }
  return BpeTokenizer(std::move(merges));
}

void BpeTokenizer::encode_chunk(std::string_view chunk, std::vector<int64_t>& out) const {
  std::vector<int64_t> ids(chunk.begin(), chunk.end());
  for (auto& v : ids) v = static_cast<unsigned char>(v);
  // lowest-ranked (earliest learnt) pair first, as training applied them
  while (ids.size() >= 2) {
    int64_t best = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const uint64_t k = pair_key(ids[i], ids[i + 1]);
      auto it = ranks_.find(k);
      if (it != ranks_.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) break;
    const auto [a, b] = merges_[static_cast<size_t>(best)];
    merge_pair(ids, a, b, 256 + best);
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text) const {
  utf8_decode(text, "BpeTokenizer");  // validates
  std::vector<int64_t> out;
  out.reserve(text.size() / 2);
  std::unordered_map<std::string_view, std::vector<int64_t>> cache;
  for (std::string_view c : bpe_chunks(text)) {
    auto it = cache.find(c);
    if (it == cache.end()) {
      std::vector<int64_t> ids;
      encode_chunk(c, ids);
      it = cache.emplace(c, std::move(ids)).first;
    }
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

std::string BpeTokenizer::token_bytes(int64_t id) const {
  SN_CHECK(id >= 0 && id < vocab_size(), IndexError, "BpeTokenizer: token id ", id,
           " is outside the vocabulary [0, ", vocab_size(), ")");
  return bytes_[static_cast<size_t>(id)];
}

std::string BpeTokenizer::to_json() const {
  json merges = json::array();
  for (const auto& [a, b] : merges_) merges.push_back({a, b});
  return json{{"type", "bpe"}, {"merges", merges}}.dump();
}

}  // namespace sn::data
