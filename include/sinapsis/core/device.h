// Device: where a tensor's storage lives: the CPU, or a CUDA GPU by index ("cpu", "cuda",
// "cuda:1"). Every Storage has one; ops run on the backend of their inputs' device
// (src/backend/backend.h). This header holds only the value type, its parsing and printing.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sinapsis/core/error.h"

namespace sn {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
inline constexpr int kNumDeviceTypes = 2;

// A tensor on a device it cannot be used on (another device than the other inputs', a device
// this build or machine has no backend for, an op that device's backend does not implement).
class DeviceError : public Error {
 public:
  using Error::Error;
};

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;  // always 0 for the CPU

  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(t == DeviceType::CPU ? 0 : i) {}
  // "cpu", "cuda" (= cuda:0), "cuda:N"; anything else throws DeviceError.
  Device(std::string_view text);  // NOLINT: implicit, so `t.to("cuda:1")` reads naturally
  Device(const char* text) : Device(std::string_view(text)) {}
  Device(const std::string& text) : Device(std::string_view(text)) {}

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;  // "cpu", "cuda:0"
  friend bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && a.index == b.index;
  }
};

inline constexpr Device kCPU{};

std::ostream& operator<<(std::ostream& os, const Device& d);

// float32 matrix products on CUDA may use TF32 tensor cores (10-bit mantissa inputs) when
// allowed. Off by default: float32 matmuls then round as on the CPU (PyTorch's
// torch.backends.cuda.matmul.allow_tf32 = False). No effect on the CPU.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Waits until every op queued on `d` has finished (GPUs run asynchronously; the CPU: nothing).
void synchronize(Device d);

// The devices this process can use: the CPU, then each usable GPU (cuda:0, cuda:1, ...).
std::vector<Device> devices();

}  // namespace sn
