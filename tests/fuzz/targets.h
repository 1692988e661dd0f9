// The bodies of the fuzz targets, shared by the libFuzzer executables (fuzz_*.cpp, clang only)
// and by corpus_replay_test.cpp, which replays tests/fuzz/corpus/ in every ordinary build.
// Contract checked: hostile bytes give a value or an sn::IOError (the model-spec reader: any
// sn::Error, since a spec is user input); anything else (another exception, a crash, an ASan
// report, a broken round trip) is a bug.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "nn/spec_internal.h"
#include "sinapsis/data/data.h"
#include "sinapsis/io/io.h"
#include "sinapsis/nn/spec.h"

namespace sn::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A checkpoint that loads must save, and saving is a fixed point after one load (F16/BF16 and
// small ints widen on the first load, so the first re-save may differ from the input).
inline void safetensors_one(const uint8_t* data, size_t size) {
  io::Checkpoint ck;
  try {
    ck = io::load_bytes(as_view(data, size), "fuzz.safetensors");
  } catch (const IOError&) {
    return;
  }
  const std::string once = io::save_bytes(ck.tensors, ck.metadata);
  const io::Checkpoint again = io::load_bytes(once, "resaved");
  if (io::save_bytes(again.tensors, again.metadata) != once)
    throw std::logic_error("safetensors: save(load(save(load(x)))) != save(load(x))");
}

inline void idx_one(const uint8_t* data, size_t size) {
  try {
    const Tensor t = data::read_idx_bytes(as_view(data, size), "fuzz.idx");
    // Touch every element so a wrong size would show up under ASan.
    volatile double sink = 0;
    if (t.numel() > 0 && t.is_floating_point()) sink = sink + t.sum().item();
    (void)sink;
  } catch (const IOError&) {
  }
}

inline void csv_one(const uint8_t* data, size_t size) {
  try {
    auto ds = data::CsvDataset::parse(as_view(data, size), {.target = "label"}, "fuzz.csv");
    if (ds->size() > 0) (void)ds->get_batch({0, ds->size() - 1});
  } catch (const IOError&) {
  }
}

// A spec that builds must rebuild from its normalised text to the same model, and the
// normalised text is a fixed point. Models are held to 64 MiB while they are built (a fuzzer
// cannot tell a huge layer from a bug, and libFuzzer's own malloc limit would call it a crash).
inline void spec_one(const uint8_t* data, size_t size) {
  nn::detail::set_spec_memory_limit(size_t{64} << 20);
  nn::BuiltModel m;
  try {
    m = nn::build_model(std::string(as_view(data, size)));
  } catch (const Error&) {
    return;
  }
  const nn::BuiltModel again = nn::build_model(m.spec);
  if (again.spec != m.spec)
    throw std::logic_error("spec: build(build(x).spec).spec != build(x).spec");
  if (again.module->num_parameters() != m.module->num_parameters() ||
      again.output_shape != m.output_shape)
    throw std::logic_error("spec: the normalised spec builds another model");
}

}  // namespace sn::fuzz
