// libFuzzer entry for the JSON model-spec reader (built with -DSN_FUZZ=ON and clang; see
// CMakeLists.txt). The checks themselves are in targets.h, shared with the corpus replay test.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sn::fuzz::spec_one(data, size);
  return 0;
}
