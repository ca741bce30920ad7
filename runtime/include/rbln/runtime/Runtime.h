//===- Runtime.h - Loading and running compiled models ----------*- C++ -*-===//
//
// A Session binds one entry function of an artifact to a Device. Today the
// only device is the simulator; a hardware backend would implement the same
// interface.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/HostTensor.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rbln {
namespace sim {
struct Stats;
struct Options;
} // namespace sim

struct SessionOptions {
  std::string function = "main";
  std::optional<proto::TargetDesc> target; ///< simulate another target
  bool compute = true;                      ///< false: timing only
  std::string tracePath;                    ///< Chrome/Perfetto trace
  int simThreads = 0;                       ///< simulator worker lanes; -1 one per core, 0 none
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
  const sim::Stats &stats() const;

private:
  Session() = default;
  std::shared_ptr<Artifact> artifact_;
  int fn_ = 0;
  proto::TargetDesc target_;
  std::unique_ptr<class SimDevice> device_;
  std::vector<uint8_t> dram_;
  uint64_t argBlock_ = 0, weights_ = 0, scratch_ = 0;
  std::vector<uint64_t> inputAddr_, outputAddr_;
  std::vector<bool> inputSet_;
  std::vector<HostTensor> outputs_;
};

} // namespace rbln
