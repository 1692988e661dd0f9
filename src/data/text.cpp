// Reading a text file defensively, the 90/10 character split with its tokenization, and the
// token windows of training (random, or contiguous streams for truncated BPTT) and validation.
#include "sinapsis/data/text.h"

#include <algorithm>

#include "io/file_util.h"
#include "sinapsis/core/error.h"

namespace sn::data {

std::string read_text_file(const std::string& path, const TextFileOptions& options) {
  std::string bytes =
      io::detail::read_file(path, "read_text_file", options.max_bytes, "a text file");
  SN_CHECK(!bytes.empty(), IOError, "read_text_file: '", path, "' is empty");
  const std::string who = "read_text_file: '" + path + "'";
  utf8_decode(bytes, who.c_str());  // validates; the error names the offset
  return bytes;
}

// ---------------------------------------------------------------- the split

namespace {

// Python's int(0.9 * n): the same double product, truncated.
size_t split_point(size_t n) { return static_cast<size_t>(0.9 * static_cast<double>(n)); }

TokenizerPtr make_tokenizer(const std::u32string& text, size_t split, const std::string& spec) {
  if (spec == "char") return std::make_shared<CharTokenizer>(CharTokenizer::from_text(text));
  if (spec.rfind("bpe:", 0) == 0) {
    int64_t vocab = 0;
    size_t used = 0;
    try {
      vocab = std::stoll(spec.substr(4), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    SN_CHECK(used > 0 && used == spec.size() - 4 && vocab >= 257, ValueError,
             "tokenizer: 'bpe:N' needs a vocabulary size N > 256 (got '", spec, "')");
    const std::string train = utf8_encode(std::u32string_view(text).substr(0, split));
    return std::make_shared<BpeTokenizer>(BpeTokenizer::train(train, vocab));
  }
  SN_THROW(ValueError, "tokenizer: unknown '", spec, "' (expected char or bpe:N, e.g. bpe:512)");
}

TextCorpus corpus_with(const std::u32string& text, size_t split, TokenizerPtr tok) {
  TextCorpus c;
  c.chars = static_cast<int64_t>(text.size());
  c.train_chars = static_cast<int64_t>(split);
  std::u32string_view all(text);
  if (auto* ct = dynamic_cast<const CharTokenizer*>(tok.get())) {
    c.train = ct->encode(all.substr(0, split));
    c.val = ct->encode(all.substr(split));
  } else {
    c.train = tok->encode(utf8_encode(all.substr(0, split)));
    c.val = tok->encode(utf8_encode(all.substr(split)));
  }
  c.description = std::to_string(c.chars) + " characters, " + tok->kind() + " vocabulary of " +
                  std::to_string(tok->vocab_size()) + ": " + std::to_string(c.train.size()) +
                  " train, " + std::to_string(c.val.size()) + " validation tokens";
  c.tokenizer = std::move(tok);
  return c;
}

}  // namespace

TextCorpus make_text_corpus(const std::string& text, const std::string& tokenizer) {
  const std::u32string cps = utf8_decode(text, "make_text_corpus");
  SN_CHECK(!cps.empty(), ValueError, "make_text_corpus: the text is empty");
  const size_t split = split_point(cps.size());
  return corpus_with(cps, split, make_tokenizer(cps, split, tokenizer));
}

TextCorpus make_text_corpus(const std::string& text, const TokenizerPtr& tokenizer) {
  SN_CHECK(tokenizer, ValueError, "make_text_corpus: the tokenizer is null");
  const std::u32string cps = utf8_decode(text, "make_text_corpus");
  SN_CHECK(!cps.empty(), ValueError, "make_text_corpus: the text is empty");
  return corpus_with(cps, split_point(cps.size()), tokenizer);
}

// ---------------------------------------------------------------- windows

TokenWindows::TokenWindows(std::vector<int64_t> tokens, int64_t block)
    : tokens_(std::move(tokens)), block_(block) {
  SN_CHECK(block_ >= 1, ValueError, "TokenWindows: block must be >= 1 (got ", block_, ")");
}

Example TokenWindows::batch_at(const std::vector<int64_t>& offsets) const {
  const auto b = static_cast<int64_t>(offsets.size());
  std::vector<int64_t> x(static_cast<size_t>(b * block_)), y(x.size());
  for (int64_t r = 0; r < b; ++r) {
    const int64_t o = offsets[static_cast<size_t>(r)];
    SN_CHECK(o >= 0 && o + block_ + 1 <= size(), IndexError, "TokenWindows: a window of ",
             block_ + 1, " tokens at offset ", o, " does not fit in ", size(), " tokens");
    std::copy_n(tokens_.begin() + o, block_, x.begin() + r * block_);
    std::copy_n(tokens_.begin() + o + 1, block_, y.begin() + r * block_);
  }
  return {tensor(x, Shape{b, block_}), tensor(y, Shape{b, block_})};
}

Example TokenWindows::random_batch(int64_t batch) const {
  SN_CHECK(batch >= 1, ValueError, "TokenWindows: batch must be >= 1 (got ", batch, ")");
  SN_CHECK(size() >= block_ + 2, ValueError, "TokenWindows: ", size(),
           " tokens are too few for windows of block ", block_,
           " (need at least block + 2); hint: use a smaller --block or more text");
  const auto span = static_cast<uint64_t>(size() - block_ - 1);
  std::vector<int64_t> offsets(static_cast<size_t>(batch));
  for (auto& o : offsets) o = static_cast<int64_t>(random_u64() % span);
  return batch_at(offsets);
}

int64_t TokenWindows::stream_period(int64_t batch) const {
  SN_CHECK(batch >= 1, ValueError, "TokenWindows: batch must be >= 1 (got ", batch, ")");
  const int64_t len = size() / batch;
  const int64_t period = len >= 1 ? (len - 1) / block_ : 0;
  SN_CHECK(period >= 1, ValueError, "TokenWindows: ", size(), " tokens cut into ", batch,
           " streams leave ", len, " tokens per stream, too few for one window of block ", block_,
           " + 1; hint: a smaller --batch or --block");
  return period;
}

std::vector<int64_t> TokenWindows::stream_offsets(int64_t batch, int64_t step) const {
  const int64_t period = stream_period(batch);
  const int64_t len = size() / batch;
  const int64_t w = ((step % period) + period) % period;
  std::vector<int64_t> offsets;
  for (int64_t s = 0; s < batch; ++s) offsets.push_back(s * len + w * block_);
  return offsets;
}

Example TokenWindows::stream_batch(int64_t batch, int64_t step) const {
  return batch_at(stream_offsets(batch, step));
}

int64_t TokenWindows::num_eval_windows() const { return size() >= 1 ? (size() - 1) / block_ : 0; }

std::vector<Example> TokenWindows::eval_batches(int64_t rows) const {
  SN_CHECK(rows >= 1, ValueError, "TokenWindows: rows must be >= 1 (got ", rows, ")");
  const int64_t n = num_eval_windows();
  SN_CHECK(n >= 1, ValueError, "TokenWindows: ", size(),
           " validation tokens hold no window of block ", block_,
           " + 1; hint: a smaller --block or a longer text");
  std::vector<Example> out;
  for (int64_t s = 0; s < n; s += rows) {
    std::vector<int64_t> offsets;
    for (int64_t i = s; i < std::min(n, s + rows); ++i) offsets.push_back(i * block_);
    out.push_back(batch_at(offsets));
  }
  return out;
}

}  // namespace sn::data
