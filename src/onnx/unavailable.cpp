// sn::onnx in a build without libonnx (CMake option SN_ONNX off or libonnx-dev missing): every
// call says so and names the packages to install.
#include "sinapsis/core/error.h"
#include "sinapsis/onnx/onnx.h"

namespace sn::onnx {

namespace {
[[noreturn]] void missing(const char* what) {
  SN_THROW(Error, what,
           ": this build of sinapsis has no ONNX support; hint: install libonnx-dev and "
           "libprotobuf-dev (scripts/install-deps.sh does) and rebuild");
}
}  // namespace

bool available() { return false; }
std::string export_model_bytes(nn::Module&, const Tensor&, const ExportOptions&) {
  missing("onnx export");
}
void export_model(nn::Module&, const Tensor&, const std::string&, const ExportOptions&) {
  missing("onnx export");
}
void check_model_bytes(const std::string&) { missing("onnx check"); }
ImportedModel import_model(const std::string&, const ImportOptions&) { missing("onnx import"); }
ImportedModel import_model_bytes(const std::string&, const ImportOptions&, const std::string&) {
  missing("onnx import");
}

}  // namespace sn::onnx
