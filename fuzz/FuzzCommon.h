//===- FuzzCommon.h - Shared pieces of the fuzz targets ---------*- C++ -*-===//
//
// Each target writes its input to a file on tmpfs (the toolchain reads models
// and artifacts from paths, through the same openRegularFile every user path
// goes through) and bounds every run by work and wall time, so a hang or a
// runaway loop is a finding only when those limits fail.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace rbln::fuzz {

/// Writes `data` to a per-process file ending in `ext` and returns its path.
inline std::string writeInput(const uint8_t *data, size_t size, const char *ext) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string path = dir + "/rbln-fuzz-" + std::to_string(getpid()) + ext;
  if (FILE *f = std::fopen(path.c_str(), "wb")) {
    if (size)
      std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

/// Work limits of one simulated run: far below the tools' defaults (a fuzz
/// input runs in milliseconds), checked by the simulator's own guards.
constexpr uint64_t kMaxCpSteps = 200'000;
constexpr uint64_t kMaxCommands = 20'000;
constexpr double kMaxCycles = 1e8;
constexpr double kMaxWallSeconds = 2.0;
/// Device DRAM the fuzzers give a program (a target's larger DRAM is capped).
constexpr uint64_t kMaxDramBytes = 64ull << 20;

} // namespace rbln::fuzz
