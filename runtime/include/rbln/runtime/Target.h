//===- Target.h - Target descriptions ---------------------------*- C++ -*-===//
#pragma once

#include "rbln/runtime/Error.h"
#include "target.pb.h"

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
/// Checks that every field the compiler and simulator rely on is sensible.
Status validateTarget(const TargetDesc &t);

/// Derived figures.
inline double dramBytesPerCycle(const TargetDesc &t) { return t.dram_gbps() / t.clock_ghz(); }
double macsPerCycle(const TargetDesc &t, uint32_t dtype);

} // namespace rbln
