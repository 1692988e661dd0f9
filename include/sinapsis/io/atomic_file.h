// AtomicFile: writes a file so that readers see either the old contents or the complete new
// ones, never a torn mix: data goes to a temp file in the same directory, is fsync'ed, then
// renamed over the target. Not a general file API: no appending, no reading.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace sn::io {

class AtomicFile {
 public:
  // Creates the temp file next to `path`; throws IOError when the directory is not writable.
  explicit AtomicFile(std::string path);
  // Without commit() (an exception, an early return) the temp file is removed and the old file
  // at `path`, if any, is left untouched.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // fsync + rename over the target + fsync of the directory. After this the object is inert.
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
};

// Whole-file convenience: write_file_atomic("a.json", text).
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace sn::io
