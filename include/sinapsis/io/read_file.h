// Reading a whole file defensively: the type is checked before the file is opened, so a FIFO
// (which would block), a device such as /dev/zero (which never ends) or a folder is an IOError
// naming the file and what it is; what is read is bounded by max_bytes. Every reader of the
// library goes through this (safetensors, checkpoints, IDX, CSV, text).
#pragma once
#include <cstdint>
#include <string>

namespace sn::io {

// The bytes of the regular file `path`, at most max_bytes of them (else IOError naming the size
// and the limit). `op` starts the error messages: "<op>: 'x.json' is a FIFO, not a regular file".
std::string read_file(const std::string& path, int64_t max_bytes = INT64_MAX,
                      const char* op = "read");
// For readers that stream: IOError unless `path` is a regular file (checked without opening it).
void check_regular_file(const std::string& path, const char* op = "read");

}  // namespace sn::io
