//===- Simulator.h - Instruction-set simulator of the NPU -------*- C++ -*-===//
//
// Executes a function's instructions functionally (bit-faithful f32/f16/bf16
// storage, f32 accumulation) and advances a timing model: a command processor
// that dispatches to in-order engine queues, semaphores between engines, DMA
// setup latency and bandwidth with DRAM bandwidth shared by every DMA engine.
// Every number comes from the target description.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Device.h"

namespace rbln::sim {

// The simulator's own names for the device interface's types.
using EngineStats = rbln::EngineStats;
using Stats = rbln::Stats;
using Options = rbln::DeviceOptions;
using LaunchArgs = rbln::LaunchArgs;

class Simulator final : public Device {
public:
  Simulator(proto::TargetDesc target, Options opts);
  ~Simulator() override;
  const proto::TargetDesc &target() const override { return target_; }
  Options &options() override { return opts_; }

  Status run(const proto::Function &fn, const std::vector<isa::Inst> &code, uint8_t *dram,
             uint64_t dramBytes, const LaunchArgs &args, Stats &stats,
             const std::function<std::string(unsigned)> &locate = {}) override;
  Status run(const proto::Function &fn, const std::vector<isa::Inst> &code,
             std::vector<uint8_t> &dram, const LaunchArgs &args, Stats &stats,
             const std::function<std::string(unsigned)> &locate = {}) {
    return run(fn, code, dram.data(), dram.size(), args, stats, locate);
  }

private:
  struct Impl;
  proto::TargetDesc target_;
  Options opts_;
  std::unique_ptr<Impl> impl_;
};

} // namespace rbln::sim
