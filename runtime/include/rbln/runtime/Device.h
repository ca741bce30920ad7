//===- Device.h - What runs a compiled function ------------------*- C++ -*-===//
//
// A Device executes one function's instructions over a device memory image
// and reports what the run cost. The instruction-set simulator
// (`createSimulator`, runtime/sim) is the implementation today; a hardware
// driver or a group of devices would be others. Sessions (Runtime.h) and the
// tools use this header only, never the simulator's.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "artifact.pb.h"
#include "rbln/runtime/Error.h"
#include "rbln/runtime/Isa.h"
#include "target.pb.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rbln {

struct EngineStats {
  std::string name; ///< e.g. "ne0.tensor", "ne3.dma1", "task-dma0"
  isa::Unit unit;
  double busyCycles = 0;
  uint64_t commands = 0;
};

struct Stats {
  double cycles = 0;          ///< device cycles from launch to the last completion
  double deviceSeconds = 0;   ///< cycles / clock
  double hostLaunchSeconds = 0;
  /// The run's inputs to the device and outputs back over the host link
  /// (`host_link_gbps`), reported apart from the device time; set by the
  /// runtime, which knows what crosses.
  double hostLinkSeconds = 0;
  uint64_t hostBytesIn = 0, hostBytesOut = 0;
  uint64_t cpInstructions = 0;
  uint64_t commands = 0;
  uint64_t tensorMacs = 0;    ///< useful multiply-accumulates issued
  /// Cycles the issued MACs need at the tensor engines' peak on every NE:
  /// the compute roofline (cycles / this = utilization of peak).
  double tensorRooflineCycles = 0;
  uint64_t dramReadBytes = 0, dramWriteBytes = 0;
  uint64_t shmReadBytes = 0, shmWriteBytes = 0;
  uint64_t spmReadBytes = 0, spmWriteBytes = 0;
  uint64_t spmHighWater = 0;  ///< highest SPM byte touched on any NE
  std::vector<EngineStats> engines;
  /// Busy fraction of all engines of one class (average over the units).
  double utilization(isa::Unit u) const;
};

struct DeviceOptions {
  /// false: timing only, results are not computed (integer data, which
  /// steers the command processor — block tables, positions, indices —
  /// still moves, so the timed control flow is the real one).
  bool compute = true;
  std::string tracePath;      ///< Chrome/Perfetto trace JSON, if non-empty
  /// Runaway guards, counted in work, not only in CP steps: a loop that
  /// issues engine commands is bounded by the commands it dispatches and by
  /// the modeled time they take (1e11 cycles is about a minute of device
  /// time at 1.5 GHz; a decode or prefill step of an 8B model takes well
  /// under a second).
  uint64_t maxCpSteps = 200'000'000;
  uint64_t maxCommands = 100'000'000;
  double maxCycles = 1e11;
  /// Wall-clock watchdog in seconds (0: none), for callers that bound a run
  /// in real time too (rbln-run --timeout, the fuzz targets).
  double maxWallSeconds = 0;
  /// Threads for the NEs' arithmetic and data movement: 0 or 1 runs it on
  /// the simulating thread (the tile GEMMs may then use the BLAS library's
  /// threads); N > 1 keeps NE 0's on the simulating thread and starts N - 1
  /// workers for the other NEs (Lanes.h); -1 one thread per core, up to the
  /// NE count. Results and timing do not depend on it.
  int threads = 0;
};

/// Registers set at launch (the calling convention; see docs/isa.md).
struct LaunchArgs {
  int64_t argBlock = 0; ///< r1: DRAM address of the argument block
  int64_t weights = 0;  ///< r2: DRAM address of the weight pool
  int64_t scratch = 0;  ///< r3: DRAM address of the scratch arena
  uint64_t weightsBytes = 0; ///< size of the weight pool (read-only while running)
};

/// Runs compiled functions. Memory is one image of the device's DRAM that
/// the caller fills (weights, inputs) and reads (outputs).
class Device {
public:
  virtual ~Device() = default;
  virtual const proto::TargetDesc &target() const = 0;
  virtual DeviceOptions &options() = 0;
  /// Runs `code` to completion. `dram` is the device DRAM image (`dramBytes`
  /// long). `locate` maps an instruction index to its ONNX node for trap
  /// messages.
  virtual Status run(const proto::Function &fn, const std::vector<isa::Inst> &code, uint8_t *dram,
                     uint64_t dramBytes, const LaunchArgs &args, Stats &stats,
                     const std::function<std::string(unsigned)> &locate = {}) = 0;
};

/// The instruction-set simulator of `target` (functional results and the
/// timing model; runtime/sim).
std::unique_ptr<Device> createSimulator(proto::TargetDesc target, DeviceOptions opts);

} // namespace rbln
