// safetensors reader and writer. The reader trusts nothing: the header length, the JSON, each
// entry's dtype/shape/offsets and the byte layout are all checked before a byte is copied.
// Not here: module/optimizer state (built on save/load by nn and train), memory mapping.
#include "sinapsis/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/json_read.h"
#include "core/tensor_internal.h"
#include "io/file_util.h"
#include "sinapsis/io/atomic_file.h"

namespace sn::io {

// The format is little-endian and so is every machine we build for; a big-endian port would
// byte-swap in encode/decode below.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

using json = nlohmann::json;

namespace {

const char* st_name(DType t) {
  switch (t) {
    case kFloat32:
      return "F32";
    case kFloat64:
      return "F64";
    case kInt64:
      return "I64";
    case kBool:
      return "BOOL";
  }
  return "?";
}

// How a stored dtype is read: its element size and the tensor dtype it becomes.
struct StoredType {
  const char* name;
  size_t size;
  DType to;
};
constexpr StoredType kStoredTypes[] = {
    {"F32", 4, kFloat32}, {"F64", 8, kFloat64},  {"I64", 8, kInt64}, {"BOOL", 1, kBool},
    {"F16", 2, kFloat32}, {"BF16", 2, kFloat32}, {"I8", 1, kInt64},  {"U8", 1, kInt64},
    {"I16", 2, kInt64},   {"I32", 4, kInt64},
};

const StoredType* find_stored_type(const std::string& s) {
  for (const StoredType& t : kStoredTypes)
    if (s == t.name) return &t;
  return nullptr;
}

// IEEE half -> float: sign, 5-bit exponent (bias 15), 10-bit mantissa. Subnormals are
// renormalised; exponent 31 is inf/NaN.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

template <typename S>
S load_le(const char* p) {
  S v;
  std::memcpy(&v, p, sizeof(S));
  return v;
}

// Decodes `n` stored elements at `src` into the tensor `out` (already of the target dtype).
void decode(const StoredType& st, const char* src, int64_t n, const Tensor& out,
            const std::string& file, const std::string& tname) {
  const std::string s = st.name;
  if (s == "F32" || s == "F64" || s == "I64") {
    if (n) std::memcpy(out.raw_data(), src, static_cast<size_t>(n) * st.size);
  } else if (s == "BOOL") {
    // Any byte other than 0/1 would be an invalid C++ bool (undefined behaviour to read).
    bool* p = out.data_ptr<bool>();
    for (int64_t i = 0; i < n; ++i) {
      const unsigned char b = static_cast<unsigned char>(src[i]);
      SN_CHECK(b <= 1, IOError, "load: '", file, "': tensor '", tname, "' (BOOL) has byte ",
               static_cast<int>(b), " at element ", i, "; booleans must be 0 or 1");
      p[i] = b != 0;
    }
  } else if (s == "F16" || s == "BF16") {
    float* p = out.data_ptr<float>();
    const bool half = s == "F16";
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = load_le<uint16_t>(src + 2 * i);
      p[i] = half ? half_to_float(h) : bf16_to_float(h);
    }
  } else {
    int64_t* p = out.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      if (s == "I8")
        p[i] = load_le<int8_t>(src + i);
      else if (s == "U8")
        p[i] = load_le<uint8_t>(src + i);
      else if (s == "I16")
        p[i] = load_le<int16_t>(src + 2 * i);
      else
        p[i] = load_le<int32_t>(src + 4 * i);
    }
  }
}

// 2^48 elements: beyond any real checkpoint, and small enough that no size, byte count or
// stride computed from a shape can overflow.
constexpr uint64_t kMaxElements = uint64_t{1} << 48;

struct Entry {
  std::string name;
  const StoredType* type;
  Shape shape;
  uint64_t begin, end;
};

// Serialises into `sink` piece by piece, so save() streams tensors straight to the file
// without building the whole checkpoint in memory.
void serialize(const TensorMap& tensors, const Metadata& metadata,
               const std::function<void(const void*, size_t)>& sink) {
  json header = json::object();
  if (!metadata.empty()) {
    json m = json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SN_CHECK(name != "__metadata__", ValueError,
             "save: '__metadata__' is reserved by the safetensors format and cannot name a tensor");
    SN_CHECK(t.defined(), ValueError, "save: tensor '", name, "' is undefined");
    // a tensor on another device is written from a CPU copy
    Tensor c = sn::detail::contiguous_raw(t);
    if (!c.device().is_cpu()) {
      Tensor h = sn::detail::make_tensor(c.shape(), c.dtype());
      sn::detail::copy_raw(h, c);
      c = h;
    }
    const uint64_t nb = c.nbytes();
    header[name] = {{"dtype", st_name(c.dtype())},
                    {"shape", c.shape().vec()},
                    {"data_offsets", {offset, offset + nb}}};
    offset += nb;
    data.push_back(std::move(c));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    SN_THROW(ValueError, "save: a tensor name or metadata string is not valid UTF-8 (", e.what(),
             ")");
  }
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  const uint64_t n = text.size();
  sink(&n, 8);
  sink(text.data(), text.size());
  for (const Tensor& t : data)
    if (t.nbytes()) sink(t.raw_data(), t.nbytes());
}

}  // namespace

std::string save_bytes(const TensorMap& tensors, const Metadata& metadata) {
  std::string out;
  serialize(tensors, metadata,
            [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

void save(const TensorMap& tensors, const std::string& path, const Metadata& metadata) {
  // Validation errors in serialize() fire before any byte is written; the temp file is only
  // created once the tensors are known good enough to name.
  std::unique_ptr<AtomicFile> file;
  serialize(tensors, metadata, [&](const void* p, size_t n) {
    if (!file) file = std::make_unique<AtomicFile>(path);
    file->write(p, n);
  });
  file->commit();
}

Checkpoint load(const std::string& path) {
  return load_bytes(detail::read_file(path, "load"), path);
}

Checkpoint load_bytes(std::string_view bytes, const std::string& file) {
  const std::string& f = file;
  SN_CHECK(bytes.size() >= 8, IOError, "load: '", f, "' is too short for a safetensors file (",
           bytes.size(), " bytes, the header length alone takes 8)");
  const uint64_t hlen = load_le<uint64_t>(bytes.data());
  SN_CHECK(hlen <= kMaxSafetensorsHeader, IOError, "load: '", f, "': header length ", hlen,
           " is larger than the ", kMaxSafetensorsHeader,
           "-byte limit; hint: the file is not safetensors or is corrupt");
  SN_CHECK(hlen <= bytes.size() - 8, IOError, "load: '", f, "': header length ", hlen,
           " runs past the end of the file (", bytes.size(), " bytes); the file is truncated");
  const std::string_view htext = bytes.substr(8, hlen);
  const std::string_view body = bytes.substr(8 + hlen);

  // Size, depth (a tensor entry is 3 levels deep) and duplicate keys are checked before and
  // while parsing (core/json_read.h).
  const json header =
      sn::detail::parse_json<IOError>(htext, "load: '" + f + "': the header",
                                      {.max_bytes = kMaxSafetensorsHeader, .max_depth = 16});
  SN_CHECK(header.is_object(), IOError, "load: '", f, "': the header is JSON but not an object");

  Checkpoint ck;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      SN_CHECK(v.is_object(), IOError, "load: '", f,
               "': __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        SN_CHECK(m.value().is_string(), IOError, "load: '", f, "': __metadata__ entry '", m.key(),
                 "' is not a string");
        ck.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    SN_CHECK(v.is_object(), IOError, "load: '", f, "': entry '", name, "' is not an object");
    for (auto k = v.begin(); k != v.end(); ++k) {
      SN_CHECK(k.key() == "dtype" || k.key() == "shape" || k.key() == "data_offsets", IOError,
               "load: '", f, "': tensor '", name, "' has an unknown field '", k.key(), "'");
    }
    SN_CHECK(v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), IOError,
             "load: '", f, "': tensor '", name, "' needs dtype, shape and data_offsets");
    const json& jd = v["dtype"];
    SN_CHECK(jd.is_string(), IOError, "load: '", f, "': tensor '", name,
             "': dtype is not a string");
    Entry e;
    e.name = name;
    e.type = find_stored_type(jd.get<std::string>());
    SN_CHECK(e.type, IOError, "load: '", f, "': tensor '", name, "' has unsupported dtype '",
             jd.get<std::string>(), "' (supported: F32 F64 I64 BOOL F16 BF16 I8 U8 I16 I32)");

    const json& js = v["shape"];
    SN_CHECK(js.is_array(), IOError, "load: '", f, "': tensor '", name, "': shape is not a list");
    SN_CHECK(js.size() <= static_cast<size_t>(kMaxDims), IOError, "load: '", f, "': tensor '", name,
             "' has ", js.size(), " dimensions (at most ", kMaxDims, " supported)");
    // `span` multiplies the non-zero dims: [0, 2^40, 2^40] holds no data, but its strides
    // would overflow all the same.
    uint64_t numel = 1, span = 1;
    for (const json& d : js) {
      SN_CHECK(d.is_number_unsigned(), IOError, "load: '", f, "': tensor '", name,
               "': shape entries must be non-negative integers (got ", d.dump(), ")");
      const uint64_t dim = d.get<uint64_t>();
      SN_CHECK(
          !__builtin_mul_overflow(span, std::max<uint64_t>(dim, 1), &span) && span <= kMaxElements,
          IOError, "load: '", f, "': tensor '", name, "': shape ", js.dump(),
          " has more elements than can be addressed");
      numel *= dim;  // <= span
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const uint64_t nbytes = numel * e.type->size;  // <= 2^48 * 8

    const json& jo = v["data_offsets"];
    SN_CHECK(
        jo.is_array() && jo.size() == 2 && jo[0].is_number_unsigned() && jo[1].is_number_unsigned(),
        IOError, "load: '", f, "': tensor '", name,
        "': data_offsets must be two non-negative integers (got ", jo.dump(), ")");
    e.begin = jo[0].get<uint64_t>();
    e.end = jo[1].get<uint64_t>();
    SN_CHECK(e.begin <= e.end && e.end <= body.size(), IOError, "load: '", f, "': tensor '", name,
             "': data_offsets [", e.begin, ", ", e.end, "] fall outside the ", body.size(),
             "-byte data section");
    SN_CHECK(e.end - e.begin == nbytes, IOError, "load: '", f, "': tensor '", name, "' is ",
             e.type->name, " with shape ", e.shape, " (", nbytes, " bytes) but data_offsets [",
             e.begin, ", ", e.end, "] span ", e.end - e.begin, " bytes");
    entries.push_back(std::move(e));
  }

  // The tensors must tile the data section exactly: no overlaps (two tensors sharing bytes),
  // no holes, nothing after the last one.
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  for (const Entry* e : order) {
    SN_CHECK(e->begin >= pos, IOError, "load: '", f, "': tensor '", e->name, "' at [", e->begin,
             ", ", e->end, "] overlaps the previous tensor, which ends at ", pos);
    SN_CHECK(e->begin == pos, IOError, "load: '", f, "': ", e->begin - pos,
             " unused bytes before tensor '", e->name, "' (offsets [", e->begin, ", ", e->end,
             "])");
    pos = e->end;
  }
  SN_CHECK(pos == body.size(), IOError, "load: '", f, "': the data section has ", body.size() - pos,
           " bytes after the last tensor (", body.size(), " bytes, tensors cover ", pos, ")");

  for (const Entry& e : entries) {
    Tensor t = sn::detail::make_tensor(e.shape, e.type->to);
    decode(*e.type, body.data() + e.begin, t.numel(), t, f, e.name);
    ck.tensors.emplace(e.name, std::move(t));
  }
  return ck;
}

}  // namespace sn::io
