// Private file helpers shared by every reader (safetensors, checkpoints, IDX, CSV, text, JSON
// specs and run files): whole-file reads with IOError text that names the file. The type is
// checked before the file is opened (opening a FIFO for reading blocks until a writer comes),
// and what is read is bounded, so a FIFO, a device (/dev/zero, /dev/urandom), a folder or a
// file that grows while read gives a clear error at once. Not for writing (see atomic_file.h).
#pragma once
#include <cstdint>
#include <string>

namespace sn::io::detail {

constexpr int64_t kNoLimit = INT64_MAX;

// Throws IOError `<op>: '<path>' is a FIFO, not a regular file` (a folder, a character device,
// ...), or `<op>: cannot open '<path>': <reason>` when it is missing; returns its size in bytes.
int64_t check_regular_file(const std::string& path, const char* op);

// The file's bytes. Throws IOError `<op>: cannot read '<path>': <reason>` on any failure
// (missing, not a regular file, short read) and when the file holds more than max_bytes
// (`<op>: '<path>' has 5000000 bytes, more than the limit of 1048576 for <what>`).
std::string read_file(const std::string& path, const char* op, int64_t max_bytes = kNoLimit,
                      const char* what = "this file");

}  // namespace sn::io::detail
