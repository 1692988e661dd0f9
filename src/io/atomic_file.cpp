// Atomic file writes (temp file + fsync + rename + directory fsync) and whole-file reads that
// check the file's type before opening it.
// POSIX only; every failure becomes an IOError naming the file and the system's reason.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "io/file_util.h"
#include "sinapsis/core/error.h"
#include "sinapsis/io/atomic_file.h"
#include "sinapsis/io/read_file.h"

namespace sn::io {

namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  SN_CHECK(!path_.empty() && path_.back() != '/', IOError, "write: '", path_,
           "' is not a file name");
  // Same directory as the target: rename() is only atomic within one file system.
  std::string templ = dir_of(path_) + "/." + base_of(path_) + ".tmp-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  if (fd_ < 0) {
    SN_THROW(IOError, "write: cannot create a temporary file in '", dir_of(path_), "' for '", path_,
             "': ", std::strerror(errno));
  }
  tmp_ = buf.data();
  // mkstemp makes the file 0600; keep the old file's mode, else the usual 0644.
  struct stat st;
  const mode_t mode = ::stat(path_.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  ::fchmod(fd_, mode);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t n) {
  SN_CHECK(fd_ >= 0, IOError, "write: '", path_, "' was already committed");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      SN_THROW(IOError, "write: cannot write '", path_, "': ", std::strerror(errno),
               " (the previous file, if any, is unchanged)");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  SN_CHECK(fd_ >= 0, IOError, "write: '", path_, "' was already committed");
  // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
  if (::fsync(fd_) != 0) {
    SN_THROW(IOError, "write: fsync of '", tmp_, "' failed: ", std::strerror(errno));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    SN_THROW(IOError, "write: closing '", tmp_, "' failed: ", std::strerror(err));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    SN_THROW(IOError, "write: cannot rename '", tmp_, "' to '", path_, "': ", std::strerror(err));
  }
  // Persist the directory entry too. Some file systems refuse fsync on directories; the data
  // itself is already safe then, so that is not an error.
  const int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

namespace detail {

namespace {
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}
}  // namespace

int64_t check_regular_file(const std::string& path, const char* op) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    SN_THROW(IOError, op, ": cannot open '", path, "': ", std::strerror(errno));
  SN_CHECK(S_ISREG(st.st_mode), IOError, op, ": '", path, "' is ", kind_of(st.st_mode),
           ", not a regular file");
  return static_cast<int64_t>(st.st_size);
}

std::string read_file(const std::string& path, const char* op, int64_t max_bytes,
                      const char* what) {
  check_regular_file(path, op);  // before open(): opening a FIFO would block
  // O_NONBLOCK: should the path have become a FIFO since the stat, open() does not wait
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0) SN_THROW(IOError, op, ": cannot open '", path, "': ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    SN_THROW(IOError, op, ": cannot stat '", path, "': ", std::strerror(errno));
  SN_CHECK(S_ISREG(st.st_mode), IOError, op, ": '", path, "' is ", kind_of(st.st_mode),
           ", not a regular file");
  SN_CHECK(st.st_size <= max_bytes, IOError, op, ": '", path, "' has ", st.st_size,
           " bytes, more than the limit of ", max_bytes, " for ", what);
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      SN_THROW(IOError, op, ": cannot read '", path, "': ", std::strerror(errno));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  // The file shrank while we read it: what we have is not the file any more. (One that grows
  // is read up to the size it had: what is read stays bounded.)
  SN_CHECK(got == out.size(), IOError, op, ": '", path, "' changed while being read (expected ",
           out.size(), " bytes, got ", got, ")");
  return out;
}

}  // namespace detail

std::string read_file(const std::string& path, int64_t max_bytes, const char* op) {
  return detail::read_file(path, op, max_bytes);
}
void check_regular_file(const std::string& path, const char* op) {
  detail::check_regular_file(path, op);
}

}  // namespace sn::io
