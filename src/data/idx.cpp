// IDX reader (raw or gzip via zlib) and the Fashion-MNIST dataset on top of it. The reader
// treats its input as hostile: every size is checked against the bytes really present before
// anything is allocated for it, and gzip output is bounded by what the header declares.
// Not here: writing IDX files.
#include "sinapsis/data/idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "io/file_util.h"

namespace sn::data {

namespace {

// A forward-only byte stream: the file's bytes as they are, or inflated.
class Source {
 public:
  virtual ~Source() = default;
  // Reads up to n bytes into dst; fewer only when the data ends.
  virtual size_t read(void* dst, size_t n) = 0;
};

class MemorySource : public Source {
 public:
  explicit MemorySource(std::string_view b) : b_(b) {}
  size_t read(void* dst, size_t n) override {
    n = std::min(n, b_.size() - pos_);
    if (n) std::memcpy(dst, b_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::string_view rest() const { return b_.substr(pos_); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

class GzipSource : public Source {
 public:
  GzipSource(std::string_view b, const std::string& name) : in_(b), name_(name) {
    // 15 + 32: a 32 KiB window and automatic gzip/zlib header detection.
    if (inflateInit2(&z_, 15 + 32) != Z_OK)
      SN_THROW(IOError, "read_idx: '", name_, "': cannot initialise zlib");
  }
  ~GzipSource() override { inflateEnd(&z_); }

  size_t read(void* dst, size_t n) override {
    size_t got = 0;
    while (got < n && !done_) {
      if (z_.avail_in == 0) {
        // zlib counts input in 32-bit units: feed large files in slices.
        const size_t chunk = std::min<size_t>(in_.size() - pos_, size_t{1} << 30);
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in_.data() + pos_));
        z_.avail_in = static_cast<uInt>(chunk);
        pos_ += chunk;
      }
      const size_t want = std::min<size_t>(n - got, size_t{1} << 30);
      z_.next_out = static_cast<Bytef*>(dst) + got;
      z_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      got += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // A gzip file may hold several members back to back; a new one starts right after.
        if (z_.avail_in == 0 && pos_ == in_.size()) {
          done_ = true;
        } else if (inflateReset(&z_) != Z_OK) {
          SN_THROW(IOError, "read_idx: '", name_, "': cannot reset zlib");
        }
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0 && pos_ == in_.size()) {
        SN_THROW(IOError, "read_idx: '", name_,
                 "': the gzip data ends early (the file is truncated)");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        SN_THROW(IOError, "read_idx: '", name_,
                 "': corrupt gzip data (zlib: ", z_.msg ? z_.msg : "error", ")");
      }
    }
    return got;
  }

 private:
  z_stream z_{};
  std::string_view in_;
  size_t pos_ = 0;
  bool done_ = false;
  const std::string& name_;
};

// 256 TiB: far beyond any real file, far below where sizes and strides overflow.
constexpr uint64_t kMaxIdxBytes = uint64_t{1} << 48;

struct IdxType {
  uint8_t code;
  const char* name;
  size_t size;
  DType natural;
};
constexpr IdxType kIdxTypes[] = {
    {0x08, "unsigned byte", 1, kInt64}, {0x09, "signed byte", 1, kInt64},
    {0x0B, "short", 2, kInt64},         {0x0C, "int", 4, kInt64},
    {0x0D, "float", 4, kFloat32},       {0x0E, "double", 8, kFloat64},
};

uint32_t be32(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Element i of big-endian data of IDX type `code`, as double (exact for every IDX type).
inline double element(uint8_t code, const unsigned char* p, size_t i) {
  switch (code) {
    case 0x08:
      return p[i];
    case 0x09:
      return static_cast<int8_t>(p[i]);
    case 0x0B:
      return static_cast<int16_t>(static_cast<uint16_t>(p[2 * i] << 8 | p[2 * i + 1]));
    case 0x0C:
      return static_cast<int32_t>(be32(p + 4 * i));
    case 0x0D:
      return std::bit_cast<float>(be32(p + 4 * i));
    default: {
      const uint64_t v = uint64_t{be32(p + 8 * i)} << 32 | be32(p + 8 * i + 4);
      return std::bit_cast<double>(v);
    }
  }
}

template <typename T>
T cast_to(double v) {
  if constexpr (std::is_same_v<T, bool>)
    return v != 0.0;
  else
    return static_cast<T>(v);
}

struct Idx {
  Tensor t;
  uint8_t code;
};

Idx read_idx_impl(std::string_view bytes, const std::string& name, const IdxOptions& opts) {
  const bool gz = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
                  static_cast<unsigned char>(bytes[1]) == 0x8b;
  std::unique_ptr<Source> src;
  if (gz)
    src = std::make_unique<GzipSource>(bytes, name);
  else
    src = std::make_unique<MemorySource>(bytes);

  unsigned char magic[4];
  const size_t got = src->read(magic, 4);
  SN_CHECK(got == 4, IOError, "read_idx: '", name, "' is too short for an IDX header (", got,
           " bytes)");
  const uint32_t m = be32(magic);
  const IdxType* type = nullptr;
  for (const IdxType& t : kIdxTypes)
    if (t.code == magic[2]) type = &t;
  if (magic[0] != 0 || magic[1] != 0 || !type) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", static_cast<unsigned>(m));
    SN_THROW(IOError, "read_idx: '", name, "': wrong magic number ", hex,
             " (an IDX file starts with 00 00, a type code 08 09 0B 0C 0D or 0E, and the number "
             "of dims); hint: is this an IDX file?");
  }
  const int ndim = magic[3];
  SN_CHECK(ndim >= 1 && ndim <= kMaxDims, IOError, "read_idx: '", name, "': ", ndim,
           " dims in the header (supported: 1 to ", kMaxDims, ")");

  unsigned char dimbytes[4 * kMaxDims];
  const size_t dgot = src->read(dimbytes, 4 * static_cast<size_t>(ndim));
  SN_CHECK(dgot == 4 * static_cast<size_t>(ndim), IOError, "read_idx: '", name,
           "': the header is truncated (", ndim, " dims need ", 4 * ndim, " bytes, found ", dgot,
           ")");
  // `span` multiplies the non-zero dims: a shape like [0, 2^31, 2^31] holds no data, but its
  // strides would still overflow, so it is as unreal as one holding 2^62 values.
  Shape shape;
  uint64_t numel = 1, span = 1;
  bool overflow = false;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t v = be32(dimbytes + 4 * d);
    shape.push_back(v);
    numel *= v;  // <= span, so it cannot overflow when span does not
    overflow = overflow || __builtin_mul_overflow(span, uint64_t{std::max(v, 1u)}, &span);
  }
  uint64_t span_bytes = 0;
  overflow = overflow || __builtin_mul_overflow(span, type->size, &span_bytes);
  SN_CHECK(!overflow && span_bytes <= kMaxIdxBytes, IOError, "read_idx: '", name, "': dims ", shape,
           " of ", type->name, " are too large to be real data");
  const uint64_t payload = numel * type->size;

  const DType out_dtype = opts.dtype.value_or(type->natural);
  SN_CHECK(opts.scale == 1.0 || is_floating(out_dtype), DTypeError, "read_idx: scale ", opts.scale,
           " needs a floating dtype, not ", out_dtype);
  SN_CHECK(is_floating(out_dtype) || !is_floating(type->natural), DTypeError, "read_idx: '", name,
           "' holds ", type->name, " values, which cannot be read as ", out_dtype);

  // Find the payload: in place for raw bytes (size known up front), inflated for gzip (read
  // in slices, so memory grows with the bytes that really exist, not with the header's claim).
  std::vector<unsigned char> inflated;
  const unsigned char* data = nullptr;
  if (!gz) {
    const std::string_view rest = static_cast<MemorySource*>(src.get())->rest();
    SN_CHECK(rest.size() >= payload, IOError, "read_idx: '", name, "': the header promises ", shape,
             " ", type->name, " values (", payload, " bytes) but the file holds ", rest.size(),
             " bytes of data; the file is truncated");
    SN_CHECK(rest.size() == payload, IOError, "read_idx: '", name, "': ", rest.size() - payload,
             " bytes after the ", shape, " ", type->name,
             " values the header describes; hint: wrong dims in the header?");
    data = reinterpret_cast<const unsigned char*>(rest.data());
  } else {
    constexpr size_t kSlice = size_t{1} << 22;
    while (inflated.size() < payload) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(kSlice, payload - inflated.size()));
      const size_t old = inflated.size();
      inflated.resize(old + want);
      const size_t n = src->read(inflated.data() + old, want);
      inflated.resize(old + n);
      SN_CHECK(n == want, IOError, "read_idx: '", name, "': the header promises ", shape, " ",
               type->name, " values (", payload, " bytes) but the data ends after ",
               inflated.size(), " bytes; the file is truncated");
    }
    unsigned char extra;
    SN_CHECK(src->read(&extra, 1) == 0, IOError, "read_idx: '", name,
             "': more data than the header's ", shape, " ", type->name,
             " values; hint: wrong dims in the header?");
    data = inflated.data();
  }

  Tensor t = sn::detail::make_tensor(shape, out_dtype);
  const size_t n = static_cast<size_t>(numel);
  const double scale = opts.scale;
  const uint8_t code = type->code;
  SN_DISPATCH_ALL(out_dtype, "read_idx", [&] {
    scalar_t* o = static_cast<scalar_t*>(t.raw_data());
    if (code == 0x08) {
      // The common case (image bytes, often to [0, 1]) without the per-element type switch.
      for (size_t i = 0; i < n; ++i) o[i] = cast_to<scalar_t>(data[i] * scale);
    } else {
      for (size_t i = 0; i < n; ++i) o[i] = cast_to<scalar_t>(element(code, data, i) * scale);
    }
  });
  return {t, code};
}

}  // namespace

Tensor read_idx_bytes(std::string_view bytes, const std::string& name, IdxOptions opts) {
  return read_idx_impl(bytes, name, opts).t;
}

Tensor read_idx(const std::string& path, IdxOptions opts) {
  return read_idx_impl(io::detail::read_file(path, "read_idx"), path, opts).t;
}

// ---------------------------------------------------------------- Fashion-MNIST

namespace {

constexpr const char* kFashionDefaultDir = "/usr/share/datasets/fashion-mnist";

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "<dir>/<stem>" raw or gzipped, whichever exists ("" if neither).
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& p : {dir + "/" + stem, dir + "/" + stem + ".gz"})
    if (is_file(p)) return p;
  return "";
}

bool has_fashion_files(const std::string& dir) {
  return !find_file(dir, "train-images-idx3-ubyte").empty() ||
         !find_file(dir, "t10k-images-idx3-ubyte").empty();
}

// Where dpkg says the package put its files, "" if it is not installed (or no dpkg).
std::string dpkg_dir() {
  FILE* p = ::popen("dpkg -L dataset-fashion-mnist 2>/dev/null", "r");
  if (!p) return "";
  std::string out, line;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) {
    line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    const std::string key = "/train-images-idx3-ubyte.gz";
    if (out.empty() && line.size() > key.size() &&
        line.compare(line.size() - key.size(), key.size(), key) == 0)
      out = line.substr(0, line.size() - key.size());
  }
  ::pclose(p);
  return out;
}

std::shared_ptr<TensorDataset> load_fashion(const std::string& dir_arg, const std::string& split) {
  const std::string dir = FashionMnist::find_dir(dir_arg);
  const std::string images = find_file(dir, split + "-images-idx3-ubyte");
  const std::string labels = find_file(dir, split + "-labels-idx1-ubyte");
  SN_CHECK(!images.empty() && !labels.empty(), IOError, "FashionMnist: '", dir, "' lacks ", split,
           "-images-idx3-ubyte(.gz) or ", split, "-labels-idx1-ubyte(.gz)");
  Idx x = read_idx_impl(io::detail::read_file(images, "FashionMnist"), images,
                        {.dtype = kFloat32, .scale = 1.0 / 255.0});
  Idx y = read_idx_impl(io::detail::read_file(labels, "FashionMnist"), labels, {.dtype = kInt64});
  SN_CHECK(x.code == 0x08 && x.t.dim() == 3 && x.t.size(1) == 28 && x.t.size(2) == 28, IOError,
           "FashionMnist: '", images, "' should hold unsigned bytes of shape [N, 28, 28], has ",
           x.t.shape());
  SN_CHECK(y.code == 0x08 && y.t.dim() == 1, IOError, "FashionMnist: '", labels,
           "' should hold unsigned bytes of shape [N], has ", y.t.shape());
  SN_CHECK(x.t.size(0) == y.t.size(0), IOError, "FashionMnist: ", x.t.size(0), " images in '",
           images, "' but ", y.t.size(0), " labels in '", labels, "'");
  const int64_t* py = y.t.data_ptr<int64_t>();
  for (int64_t i = 0; i < y.t.numel(); ++i)
    SN_CHECK(py[i] >= 0 && py[i] < 10, IOError, "FashionMnist: '", labels, "': label ", py[i],
             " at index ", i, " is not a class 0..9");
  return std::make_shared<TensorDataset>(x.t.reshape(Shape{x.t.size(0), 1, 28, 28}), y.t);
}

}  // namespace

std::string FashionMnist::find_dir(const std::string& dir) {
  // An explicit choice that does not hold the files is an error, not a reason to look
  // elsewhere: silently training on other data would be worse.
  if (!dir.empty()) {
    SN_CHECK(has_fashion_files(dir), IOError, "FashionMnist: no Fashion-MNIST files in '", dir,
             "' (expected train-images-idx3-ubyte.gz and friends)");
    return dir;
  }
  if (const char* env = std::getenv("SN_FASHION_MNIST_DIR"); env && *env) {
    SN_CHECK(has_fashion_files(env), IOError, "FashionMnist: no Fashion-MNIST files in '", env,
             "' (from $SN_FASHION_MNIST_DIR)");
    return env;
  }
  if (has_fashion_files(kFashionDefaultDir)) return kFashionDefaultDir;
  const std::string d = dpkg_dir();
  if (!d.empty() && has_fashion_files(d)) return d;
  SN_THROW(IOError, "FashionMnist: cannot find the Fashion-MNIST files (looked in ",
           kFashionDefaultDir,
           " and `dpkg -L dataset-fashion-mnist`); hint: install the Debian "
           "package dataset-fashion-mnist (scripts/install-deps.sh), or pass the directory or "
           "set SN_FASHION_MNIST_DIR");
}

std::shared_ptr<TensorDataset> FashionMnist::train(const std::string& dir) {
  return load_fashion(dir, "train");
}

std::shared_ptr<TensorDataset> FashionMnist::test(const std::string& dir) {
  return load_fashion(dir, "t10k");
}

const std::vector<std::string>& FashionMnist::classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

}  // namespace sn::data
