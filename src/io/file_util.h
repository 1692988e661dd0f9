// Private file helpers shared by the io and data readers: whole-file reads with IOError text
// that names the file. Not for writing (see sinapsis/io/atomic_file.h).
#pragma once
#include <string>

namespace sn::io::detail {

// The file's bytes. Throws IOError `<op>: cannot read '<path>': <reason>` on any failure
// (missing, a directory, short read).
std::string read_file(const std::string& path, const char* op);

}  // namespace sn::io::detail
