//===- Target.h - Target descriptions ---------------------------*- C++ -*-===//
#pragma once

#include "rbln/runtime/Error.h"
#include "target.pb.h"

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace rbln {

using proto::TargetDesc;

/// The names of the targets built into the toolchain (runtime/targets/*).
std::vector<std::string> builtinTargetNames();
/// Loads a built-in target by name, or a `.textproto`/`.json` file by path.
Expected<TargetDesc> loadTarget(std::string_view nameOrPath);
/// Parses a target from protobuf text format (`what` names it in errors).
Expected<TargetDesc> parseTarget(std::string_view text, std::string_view what);
/// Checks that every field the compiler and simulator rely on is sensible:
/// positive, finite, and within the limits below (a target description may
/// come from a file or from an artifact anyone wrote).
Status validateTarget(const TargetDesc &t);

/// Upper bounds on target fields that size host memory or loops in the
/// simulator. Far above any modeled chip (REBEL-Quad: 144 GB DRAM, 128 MiB
/// SHM, 32 task DMA engines, queues of 32).
constexpr uint64_t kMaxTargetDramBytes = uint64_t(1) << 40;  // 1 TiB
constexpr uint64_t kMaxTargetShmBytes = uint64_t(1) << 32;   // 4 GiB
constexpr uint32_t kMaxTargetQueueDepth = 1u << 16;
constexpr uint32_t kMaxTargetTaskDma = 256;
constexpr uint64_t kMaxTargetFileBytes = uint64_t(1) << 20;  // a description is a few KiB

/// Derived figures.
inline double dramBytesPerCycle(const TargetDesc &t) { return t.dram_gbps() / t.clock_ghz(); }
inline double shmBytesPerCycle(const TargetDesc &t) { return t.shm_gbps() / t.clock_ghz(); }
/// Seconds `bytes` take over the host link (0 when the target gives no rate).
inline double hostLinkSeconds(const TargetDesc &t, uint64_t bytes) {
  return t.host_link_gbps() > 0 ? double(bytes) / (t.host_link_gbps() * 1e9) : 0.0;
}
/// MACs per chip cycle of one NE's tensor engine for inputs of `dtype`: the
/// array's PEs times their rate, at the array's clock over the chip's.
double macsPerCycle(const TargetDesc &t, uint32_t dtype);
/// Nanoseconds to chip cycles.
inline double nsToCycles(const TargetDesc &t, double ns) { return ns * t.clock_ghz(); }
/// The share of time refresh blocks a DRAM channel (tRFC / tREFI; 0: not modeled).
double dramRefreshFraction(const TargetDesc &t);
/// Cycles of DRAM channel time for `bytes` touching `rows` DRAM pages: the
/// bytes at the peak rate, plus the part of each row activation the banks
/// cannot hide, stretched by refresh (target.proto DramTiming). Shared by
/// the simulator and the compiler's cost models.
inline double dramChannelCycles(const TargetDesc &t, double bytes, double rows) {
  const auto &d = t.dram();
  double c = bytes / dramBytesPerCycle(t);
  if (d.page_bytes() && d.banks_per_channel() && d.channels())
    c += rows * nsToCycles(t, d.row_miss_ns()) / (double(d.banks_per_channel()) * d.channels());
  return c / (1.0 - dramRefreshFraction(t));
}
/// DRAM pages a tile of `rows` x `cols` elements of `elemBytes` touches in a
/// row-major matrix `fullCols` wide (rows continue when the tile spans it).
inline double dramTileRows(const TargetDesc &t, double rows, double cols, double fullCols,
                           double elemBytes) {
  double page = t.dram().page_bytes() ? double(t.dram().page_bytes()) : 1.0;
  return cols >= fullCols ? std::ceil(rows * cols * elemBytes / page)
                          : rows * std::ceil(cols * elemBytes / page);
}
/// The DRAM rate a long sequential stream sustains: one page's channel time
/// per page (the peak less refresh and the activation the banks cannot hide).
inline double dramSustainedBytesPerCycle(const TargetDesc &t) {
  double page = t.dram().page_bytes() ? double(t.dram().page_bytes()) : 1.0;
  return page / dramChannelCycles(t, page, t.dram().page_bytes() ? 1.0 : 0.0);
}

} // namespace rbln
