//===- Memory.cpp - Scratchpads, shared memory and DRAM access --------------===//
#include "SimulatorImpl.h"

#include <cstring>

namespace rbln::sim {

void Simulator::Impl::settle(unsigned ne, int64_t off, uint64_t len, bool overwrite) {
  auto &v = lazy[ne];
  if (v.empty())
    return;
  int64_t end = off + int64_t(len);
  std::array<Lazy, 2> rest; // what stays lazy of one entry
  for (size_t i = 0; i < v.size();) {
    Lazy e = v[i];
    int64_t eEnd = e.off + int64_t(e.len);
    if (!(e.off < end && off < eEnd)) {
      ++i;
      continue;
    }
    v[i] = v.back();
    v.pop_back();
    int64_t rows = int64_t(e.len / e.rowBytes), rb = int64_t(e.rowBytes);
    auto copyRows = [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        std::memcpy(spmOf(ne) + e.off + r * rb, e.src + r * int64_t(e.srcStride), size_t(rb));
    };
    if (!overwrite) {
      copyRows(0, rows);
      continue;
    }
    // About to be overwritten in [off, end): the rows wholly inside need
    // nothing, the (at most two) rows cut by an edge are copied, the rows
    // outside stay lazy. (A partly overlapped stale operand tile would
    // otherwise be copied whole.)
    int64_t firstIn = std::clamp<int64_t>((off - e.off + rb - 1) / rb, 0, rows);
    int64_t endIn = std::clamp<int64_t>((end - e.off) / rb, firstIn, rows);
    int64_t cutLo = std::clamp<int64_t>((off - e.off) / rb, 0, firstIn);
    int64_t cutHi = std::clamp<int64_t>((end - e.off + rb - 1) / rb, endIn, rows);
    copyRows(cutLo, firstIn);
    copyRows(endIn, cutHi);
    unsigned n = 0;
    if (cutLo > 0)
      rest[n++] = {e.off, uint64_t(cutLo * rb), e.src, e.rowBytes, e.srcStride};
    if (cutHi < rows)
      rest[n++] = {e.off + cutHi * rb, uint64_t((rows - cutHi) * rb),
                   e.src + cutHi * int64_t(e.srcStride), e.rowBytes, e.srcStride};
    for (unsigned k = 0; k < n; ++k)
      v.push_back(rest[k]); // (appended behind the scan: outside the range)
  }
}

std::pair<const uint8_t *, uint64_t> Simulator::Impl::operandPtr(unsigned ne, int64_t off, uint64_t rows,
                                                uint64_t rowBytes) {
  uint64_t len = rows * rowBytes;
  for (const Lazy &e : lazy[ne])
    if (e.off == off && e.len == len && e.rowBytes == rowBytes)
      return {e.src, e.srcStride};
  settle(ne, off, len, false);
  return {spmOf(ne) + off, rowBytes};
}

void Simulator::Impl::awaitWrites(Space space, int64_t addr, uint64_t len) {
  size_t keep = 0;
  for (const PendingWrite &w : pendingWrites) {
    if (lanes->finished(w.lane, w.seq))
      continue;
    if (w.space == space && w.lo < addr + int64_t(len) && addr < w.hi)
      lanes->waitFor(w.lane, w.seq);
    else
      pendingWrites[keep++] = w;
  }
  pendingWrites.resize(keep);
}

uint8_t *Simulator::Impl::access(Space space, unsigned ne, int64_t addr, uint64_t len, bool write,
                const char *what, uint64_t traffic) {
  if (traffic == ~uint64_t(0))
    traffic = len;
  uint64_t size = 0;
  switch (space) {
  case Space::Dram: size = dramSize; break;
  case Space::Shm: size = t.shm_bytes(); break;
  case Space::Spm: size = t.spm_bytes(); break;
  }
  if (addr < 0 || uint64_t(addr) > size || len > size - uint64_t(addr)) {
    fail(fmt::format("{} out of bounds: {} bytes at {}[{:#x}] (the {} has {:#x} bytes)", what,
                     len, spaceName(space), addr, spaceName(space), size));
    return nullptr;
  }
  switch (space) {
  case Space::Dram:
    (write ? stats->dramWriteBytes : stats->dramReadBytes) += traffic;
    return dram;
  case Space::Shm:
    if (!shmPtr())
      break;
    (write ? stats->shmWriteBytes : stats->shmReadBytes) += traffic;
    return shmPtr();
  case Space::Spm:
    if (!spmOf(ne))
      break;
    (write ? stats->spmWriteBytes : stats->spmReadBytes) += traffic;
    spmHigh[ne] = std::max<uint64_t>(spmHigh[ne], uint64_t(addr) + len);
    touched.push_back({ne, addr, len, lazyReads && !write, false});
    return spmOf(ne);
  }
  // The host could not back the simulated memory (calloc failed).
  fail(fmt::format("{}: cannot allocate the {} bytes of simulated {} on the host", what, size,
                   spaceName(space)));
  return nullptr;
}

uint8_t *Simulator::Impl::operand(unsigned ne, unsigned align, int64_t addr, uint64_t len, bool write,
                 const char *what) {
  if (align > 1 && addr % int64_t(align) != 0) {
    fail(fmt::format("{} at spm[{:#x}] is not aligned to its {}-byte elements", what, addr, align));
    return nullptr;
  }
  return access(Space::Spm, ne, addr, len, write, what);
}

} // namespace rbln::sim
