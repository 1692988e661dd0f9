// Shape: a small inline array of dimension sizes (no heap allocation), used for shapes and
// strides alike. At most kMaxDims dimensions. Printing gives `[2, 3]`.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <vector>

namespace sn {

inline constexpr int kMaxDims = 12;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  template <typename It>
    requires(!std::is_integral_v<It>)
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }

  int size() const { return n_; }
  int ndim() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t* begin() { return d_; }
  int64_t* end() { return d_ + n_; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  const int64_t* data() const { return d_; }
  int64_t back() const { return d_[n_ - 1]; }
  int64_t& back() { return d_[n_ - 1]; }
  void push_back(int64_t v);
  void pop_back() { --n_; }
  void insert(int pos, int64_t v);
  void erase(int pos);
  void resize(int n, int64_t fill = 0);
  void clear() { n_ = 0; }
  // Product of all sizes (1 for a 0-d shape).
  int64_t numel() const;
  std::vector<int64_t> vec() const { return {d_, d_ + n_}; }
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  int64_t d_[kMaxDims] = {};
  int n_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);

// Row-major contiguous strides for a shape.
Shape contiguous_strides(const Shape& shape);
// NumPy broadcast of two shapes; throws ShapeError naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");
// Wraps a possibly negative dim into [0, ndim); throws IndexError naming `op`.
int wrap_dim(int64_t dim, int ndim, const char* op);

}  // namespace sn
