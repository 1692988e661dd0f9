// sinapsis errors: one base class, a few subclasses users can catch, and the check macro.
// Messages read `<op>: <what is wrong> (<values>)`; shapes print as [2, 3]. The library
// never calls exit(); internal invariants use SN_ASSERT, user errors SN_CHECK.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace sn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error {
 public:
  using Error::Error;
};
class DTypeError : public Error {
 public:
  using Error::Error;
};
class IndexError : public Error {
 public:
  using Error::Error;
};
class ValueError : public Error {
 public:
  using Error::Error;
};
class IOError : public Error {
 public:
  using Error::Error;
};
class AutogradError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void assert_fail(const char* cond, const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace sn

// SN_CHECK(cond, ErrorType, parts...): throws ErrorType with the parts streamed together.
#define SN_CHECK(cond, ErrorType, ...)                                     \
  do {                                                                     \
    if (!(cond)) [[unlikely]] throw ErrorType(::sn::detail::concat(__VA_ARGS__)); \
  } while (0)

#define SN_THROW(ErrorType, ...) throw ErrorType(::sn::detail::concat(__VA_ARGS__))

// Internal invariant: a failure is a bug in sinapsis, reported as sn::Error with the location.
#define SN_ASSERT(cond, ...)                                                          \
  do {                                                                                \
    if (!(cond)) [[unlikely]]                                                         \
      ::sn::detail::assert_fail(#cond, __FILE__, __LINE__, ::sn::detail::concat("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
