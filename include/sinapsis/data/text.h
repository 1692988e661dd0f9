// Text data for language models: a UTF-8 file read without trusting it, the train/validation
// split and the token windows training and validation read, as shared/reference/char_lm.py
// defines them (first 90% of the characters train, the last 10% validate; random windows of
// block + 1 tokens; non-overlapping validation windows), plus the stream layout of truncated
// backpropagation through time. Tokenizers are in tokenizer.h; the loss itself is train's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sinapsis/core/tensor.h"
#include "sinapsis/data/dataset.h"
#include "sinapsis/data/tokenizer.h"

namespace sn::data {

struct TextFileOptions {
  int64_t max_bytes = int64_t{1} << 30;  // larger files (or /dev/zero) are refused
};
// The text of a UTF-8 file, checked. IOError for a missing file, a folder, something that is
// not a regular file (a FIFO, a device), a file over max_bytes or an empty one; ValueError for
// bytes that are not UTF-8 (with their offset). A byte-order mark stays (as in Python).
std::string read_text_file(const std::string& path, const TextFileOptions& options = {});

// The tokens a text model trains and validates on.
struct TextCorpus {
  TokenizerPtr tokenizer;
  std::vector<int64_t> train, val;  // token ids
  int64_t chars = 0;                // characters of the whole text
  int64_t train_chars = 0;          // characters of the training part
  std::string description;          // one line for the user
};

// Splits `text` at int(0.9 · characters) and tokenizes both parts. `tokenizer` is "char"
// (vocabulary: the sorted set of ALL the text's characters, as char_lm.py) or "bpe:N"
// (byte-level BPE with N tokens, trained on the training part only).
TextCorpus make_text_corpus(const std::string& text, const std::string& tokenizer = "char");
// The same with a given tokenizer (e.g. the one a checkpoint holds).
TextCorpus make_text_corpus(const std::string& text, const TokenizerPtr& tokenizer);

// Windows over a token sequence. Inputs are [B, block] int64 tokens, targets the same windows
// shifted by one.
class TokenWindows {
 public:
  TokenWindows(std::vector<int64_t> tokens, int64_t block);
  int64_t block() const { return block_; }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::vector<int64_t>& tokens() const { return tokens_; }

  // `batch` windows at offsets drawn from sn's global generator, uniformly in
  // [0, size - block - 1) (char_lm.py's torch.randint(len - block - 1)). Needs size >= block + 2.
  Example random_batch(int64_t batch) const;
  // The windows at these offsets (each in [0, size - block - 1]).
  Example batch_at(const std::vector<int64_t>& offsets) const;

  // Truncated BPTT: the tokens cut into `batch` contiguous streams of size / batch tokens;
  // step i reads window (i mod period) of every stream, the next window continuing where the
  // previous one ended. period = (size / batch - 1) / block windows; the streams wrap after it.
  int64_t stream_period(int64_t batch) const;
  std::vector<int64_t> stream_offsets(int64_t batch, int64_t step) const;
  Example stream_batch(int64_t batch, int64_t step) const;

  // The deterministic evaluation windows: offsets i·block for i < (size - 1) / block,
  // `rows` windows per batch (char_lm.py's val_loss: 64).
  int64_t num_eval_windows() const;
  std::vector<Example> eval_batches(int64_t rows = 64) const;

 private:
  std::vector<int64_t> tokens_;
  int64_t block_;
};

}  // namespace sn::data
