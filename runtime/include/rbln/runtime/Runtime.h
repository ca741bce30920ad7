//===- Runtime.h - Loading and running compiled models ----------*- C++ -*-===//
//
// A Session binds one entry function of an artifact to a Device (Device.h).
// Today the only device is the simulator; a hardware backend would implement
// the same interface.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/Device.h"
#include "rbln/runtime/HostTensor.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rbln {
/// Bytes of simulated device DRAM that grow at the end. Growing never copies
/// what is there (the pages are remapped, on Linux), and new bytes are zero
/// pages that cost nothing until touched: appending a KV cache behind a
/// weight pool of gigabytes neither copies the pool nor holds it twice.
class DramImage {
public:
  DramImage() = default;
  ~DramImage();
  DramImage(const DramImage &) = delete;
  DramImage &operator=(const DramImage &) = delete;
  uint8_t *data() { return p_; }
  const uint8_t *data() const { return p_; }
  uint64_t size() const { return size_; }
  /// Grows to `n` bytes (never shrinks); fails when the host cannot map them.
  Status resize(uint64_t n);

private:
  uint8_t *p_ = nullptr;
  uint64_t size_ = 0, mapped_ = 0;
};

/// Simulated device DRAM shared by the sessions of one artifact: the weight
/// pool once, persistent state buffers (paged KV caches), and each session's
/// own region (argument block, scratch arena, inputs, outputs) appended.
struct DeviceMemory {
  DramImage bytes;
  uint64_t weights = 0;
  struct State {
    uint64_t addr = 0;
    int64_t leadingDim = 0; ///< e.g. the number of KV blocks
  };
  std::map<std::string, State> state; ///< by input name
  /// Reserves `size` bytes (64-byte aligned) at the end; its address.
  Expected<uint64_t> grow(uint64_t size, uint64_t limit);
  /// A device memory holding `artifact`'s weight pool, within `limit` bytes.
  static Expected<std::shared_ptr<DeviceMemory>> withWeights(const Artifact &artifact, uint64_t limit);
};

/// Below this weight-pool size the simulator runs the NEs' work on its own
/// thread unless threads are asked for (measured: wall time only).
constexpr uint64_t kSmallModelWeightBytes = 64ull << 20;

struct SessionOptions {
  std::string function = "main";
  std::optional<proto::TargetDesc> target; ///< simulate another target
  bool compute = true;                      ///< false: timing only
  std::string tracePath;                    ///< Chrome/Perfetto trace
  /// Simulator threads for NE work: 0 or 1 none; -1 one per core, except
  /// for models with under kSmallModelWeightBytes of weights, run inline.
  int simThreads = -1;
  /// Wall-clock limit of one run in seconds (0: none); a run past it fails.
  double timeoutSeconds = 0;
  /// Work limits of one run (0: the device's defaults, DeviceOptions).
  uint64_t maxCpSteps = 0, maxCommands = 0;
  double maxCycles = 0;
  /// Device memory to share with other sessions of the same artifact
  /// (weights, state); null: a new one with the weights loaded.
  std::shared_ptr<DeviceMemory> memory;
};

class Session {
public:
  static Expected<std::unique_ptr<Session>> create(std::shared_ptr<Artifact> artifact,
                                                   const SessionOptions &opts = {});
  ~Session();

  const proto::Function &function() const;
  const proto::TargetDesc &target() const;
  /// Index of the input or output named `name`, or -1.
  int inputIndex(const std::string &name) const;
  int outputIndex(const std::string &name) const;

  /// Copies `t` to the device; its type and shape must match the signature.
  Status setInput(unsigned index, const HostTensor &t);
  Status run();
  /// The output after the last successful run.
  const HostTensor &output(unsigned index) const { return outputs_[index]; }
  const Stats &stats() const;

private:
  Session() = default;
  std::shared_ptr<Artifact> artifact_;
  int fn_ = 0;
  proto::TargetDesc target_;
  std::unique_ptr<Device> device_;
  Stats stats_;
  std::shared_ptr<DeviceMemory> mem_;
  uint64_t argBlock_ = 0, scratch_ = 0;
  std::vector<uint64_t> inputAddr_, outputAddr_;
  std::vector<bool> inputSet_;
  std::vector<HostTensor> outputs_;
};

} // namespace rbln
