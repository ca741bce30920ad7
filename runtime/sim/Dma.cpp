//===- Dma.cpp - Task and neural DMA ----------------------------------------===//
#include "SimulatorImpl.h"

#include <cmath>
#include <cstring>

namespace rbln::sim {

/// DRAM pages (row activations) a transfer touches on one side: its
/// contiguous runs (inner dimensions merged while they are dense), each
/// opening ceil(run / page) rows (`ebits` bits an element).
double Simulator::Impl::dramRows(const int64_t sizes[4], const int64_t str[4], unsigned ebits) const {
  int64_t run = 1, dim = 3;
  for (; dim >= 0; --dim) {
    if (sizes[dim] == 1)
      continue;
    if (str[dim] != run)
      break;
    run *= sizes[dim];
  }
  double runs = 1;
  for (int64_t i = 0; i <= dim; ++i)
    runs *= double(sizes[i]);
  double page = double(t.dram().page_bytes());
  return runs * std::ceil(double(run) * ebits / 8 / page);
}

double Simulator::Impl::dma(unsigned qi, const Inst &in, const Cmd &cmd, double now) {
  using namespace fld;
  const Queue &q = queues[qi];
  bool neural = in.op == Opcode::DmaNeural;
  tail = 0;
  Space ds = Space(in[DmaTask::dspace]), ss = Space(in[DmaTask::sspace]);
  for (Space sp : {ds, ss}) {
    if (!neural && sp == Space::Spm) {
      fail("task DMA cannot address a scratchpad (use dma.neural)");
      return 0;
    }
    if (neural && sp == Space::Dram && !t.neural_dma_dram_access()) {
      fail(fmt::format("target '{}' has no neural DMA path to DRAM", t.name()));
      return 0;
    }
  }
  const proto::DmaDesc &d = fn->dma_descs(int(in[DmaTask::desc]));
  DType st = DType(d.src_dtype()), dt = DType(d.dst_dtype());
  // (A 4-bit source is packed two to a byte: its side's bytes are
  // dtypeBytes, its elements read with int4At; the link carries the
  // widened elements, or the packed bytes when they are copied as they are.)
  unsigned se = dtypeSize(st), de = dtypeSize(dt);
  bool packed = dtypeIsPacked(st);
  // Bytes `n` elements take on the link (the wider side) and at the
  // destination.
  auto wideBytes = [&](uint64_t n) { return std::max(dtypeBytes(st, n), dtypeBytes(dt, n)); };
  bool noSaturate = d.no_saturate(); // (validated: only to an 8-bit float)
  int nd = d.sizes_size();
  int64_t sizes[4] = {1, 1, 1, 1}, sst[4] = {0, 0, 0, 0}, dst[4] = {0, 0, 0, 0};
  for (int i = 0; i < nd; ++i) {
    sizes[4 - nd + i] = d.sizes(i);
    sst[4 - nd + i] = d.src_strides(i);
    dst[4 - nd + i] = d.dst_strides(i);
  }
  uint64_t count = uint64_t(sizes[0] * sizes[1] * sizes[2] * sizes[3]);
  // Extent touched on each side: the last element's offset plus one.
  auto extent = [&](const int64_t *str, DType et) -> int64_t {
    if (count == 0)
      return 0;
    int64_t last = 0;
    for (int i = 0; i < 4; ++i)
      last += (sizes[i] - 1) * str[i];
    return int64_t(dtypeBytes(et, uint64_t(last + 1)));
  };
  for (int i = 0; i < 4; ++i)
    if (sst[i] < 0 || dst[i] < 0) {
      fail("negative DMA stride");
      return 0;
    }
  // Addresses were computed from the registers at dispatch.
  int64_t saddr = cmd.srcAddr;
  int64_t daddr = cmd.dstAddr;
  int64_t sext = extent(sst, st), dext = extent(dst, dt);
  // A broadcast source (stride 0 along a dim, e.g. a scalar repeated over a
  // tile) is read once per distinct element: the engine replicates what it
  // fetched, so those dims add no traffic on the source's side.
  int64_t srcSizes[4];
  bool broadcast = false;
  for (int i = 0; i < 4; ++i) {
    srcSizes[i] = sst[i] == 0 ? 1 : sizes[i];
    broadcast |= sst[i] == 0 && sizes[i] > 1;
  }
  uint64_t distinct = uint64_t(srcSizes[0] * srcSizes[1] * srcSizes[2] * srcSizes[3]);
  uint8_t *sp = access(ss, q.ne, saddr, uint64_t(sext), false, "DMA source", dtypeBytes(st, distinct));
  if (!sp) return 0;
  uint8_t *dp = access(ds, q.ne, daddr, uint64_t(dext), true, "DMA destination", dtypeBytes(dt, count));
  if (!dp) return 0;
  if (ds == Space::Spm) // wholly rewritten (a strided write copies older lazy bytes first)
    touched.back().overwrite = sst[3] >= 0 && dext == int64_t(dtypeBytes(dt, count));
  auto copy = [=] {
    const uint8_t *s0 = sp + saddr;
    uint8_t *d0 = dp + daddr;
    bool rowCopy = st == dt && sst[3] == 1 && dst[3] == 1;
    for (int64_t i0 = 0; i0 < sizes[0]; ++i0)
      for (int64_t i1 = 0; i1 < sizes[1]; ++i1)
        for (int64_t i2 = 0; i2 < sizes[2]; ++i2) {
          int64_t so = i0 * sst[0] + i1 * sst[1] + i2 * sst[2];
          int64_t doff = i0 * dst[0] + i1 * dst[1] + i2 * dst[2];
          if (rowCopy) { // (4-bit rows: whole bytes at even offsets, validated)
            std::memmove(d0 + dtypeBytes(dt, uint64_t(doff)), s0 + dtypeBytes(st, uint64_t(so)),
                         size_t(dtypeBytes(st, uint64_t(sizes[3]))));
            continue;
          }
          if (packed) { // 4-bit elements, widened
            for (int64_t i3 = 0; i3 < sizes[3]; ++i3)
              storeFromFloat(d0 + (doff + i3 * dst[3]) * de, dt, float(int4At(s0, uint64_t(so + i3 * sst[3]))));
            continue;
          }
          for (int64_t i3 = 0; i3 < sizes[3]; ++i3) {
            const uint8_t *sp3 = s0 + (so + i3 * sst[3]) * se;
            uint8_t *dp3 = d0 + (doff + i3 * dst[3]) * de;
            if (st == dt)
              std::memmove(dp3, sp3, se); // source and destination may overlap
            else if (noSaturate) // (to an 8-bit float: past its range is inf or NaN)
              *dp3 = floatToF8(loadAsFloat(sp3, st), dt, /*saturate=*/false);
            else
              storeFromFloat(dp3, dt, loadAsFloat(sp3, st));
          }
        }
  };
  // Dense weights into a scratchpad, element for element: lazily (above).
  // (rows of sizes[3] elements, dense in SPM, sst[2] apart in the weights)
  bool lazyCopy = neural && ds == Space::Spm && ss == Space::Dram && st == dt && sizes[0] == 1 &&
                  sizes[1] == 1 && sst[3] == 1 && dst[3] == 1 && dst[2] == sizes[3] &&
                  sst[2] >= sizes[3] && roLo && sp + saddr >= roLo && sp + saddr + sext <= roHi;
  // Timing-only runs still move integer data: block tables, positions and
  // gather indices steer the command processor, which reads them from
  // wherever the kernels copied them (SHM), so skipping their copies would
  // change the control flow being timed.
  bool move = opts.compute || (st == dt && dtypeIsInteger(st));
  if (opts.compute && count && lazyCopy) {
    const uint8_t *src = sp + saddr;
    unsigned ne = q.ne;
    uint64_t rowBytes = dtypeBytes(st, uint64_t(sizes[3])), stride = dtypeBytes(st, uint64_t(sst[2]));
    uint64_t len = uint64_t(sizes[2]) * rowBytes;
    submit(ne, [this, ne, daddr, len, src, rowBytes, stride] {
      lazy[ne].push_back({daddr, len, src, rowBytes, stride});
    });
  } else if (move && count) {
    if (neural) {
      submit(q.ne, copy);
      if (lastJob && ds != Space::Spm)
        pendingWrites.push_back({ds, daddr, daddr + dext, lanes->laneOf(q.ne), lastJob});
    } else {
      copy(); // task DMA runs here; the event loop drained the lanes first
    }
  }
  // Timing: setup, then the transfer at the slower of the engine link and
  // the shared DRAM channel. Runs shorter than a DRAM burst cost a burst.
  // The link carries the wider element of a cast; a channel carries the
  // bytes of the side that lives on it (int8 weights widened into an f16
  // tile cost one byte each on DRAM, two on the link).
  uint64_t runLen = 1;
  bool srcDense = sst[3] == 1, dstDense = dst[3] == 1;
  if (srcDense && dstDense)
    runLen = uint64_t(sizes[3]);
  uint64_t runs = runLen ? count / runLen : 0;
  uint64_t runBytes = wideBytes(runLen);
  bool touchesDram = ss == Space::Dram || ds == Space::Dram;
  uint64_t effBytes = touchesDram ? runs * std::max<uint64_t>(runBytes, t.dram_burst_bytes())
                                  : wideBytes(count);
  double link = neural ? t.neural_dma_bytes_per_cycle() : t.task_dma_bytes_per_cycle();
  double dataStart = now + t.dma_setup_cycles();
  double xfer = double(effBytes) / link;
  // The shared channels (DRAM, and SHM when the target gives its rate)
  // carry each side that lives on them.
  auto channel = [&](double &free, double onChannel) {
    dataStart = std::max(dataStart, free);
    free = dataStart + onChannel;
    xfer = std::max(xfer, onChannel);
  };
  // Runs shorter than a burst cost a burst.
  auto burstBytes = [&](uint64_t n, uint64_t len, DType et) {
    return double(n * std::max<uint64_t>(dtypeBytes(et, len), t.dram_burst_bytes()));
  };
  auto dramBytes = [&](DType et) { return burstBytes(runs, runLen, et); };
  // The broadcast source's distinct elements only on the DRAM side (and no
  // bursts on the link beyond the elements it writes).
  double srcDram = 0;
  if (ss == Space::Dram && broadcast) {
    uint64_t len = sst[3] == 1 ? uint64_t(srcSizes[3]) : 1;
    srcDram = burstBytes(distinct / len, len, st);
    effBytes = std::max<uint64_t>(wideBytes(count), uint64_t(srcDram));
    xfer = double(effBytes) / link;
  } else if (ss == Space::Dram) {
    srcDram = dramBytes(st);
  }
  double onDram = srcDram + (ds == Space::Dram ? dramBytes(dt) : 0);
  double onShm = double(ss == Space::Shm ? dtypeBytes(st, distinct) : 0) +
                 double(ds == Space::Shm ? dtypeBytes(dt, count) : 0);
  if (onDram > 0) {
    // Row activations the banks cannot hide, a turnaround when the channel
    // changes direction, and the time refresh takes (target.proto
    // DramTiming; all 0 on targets that do not model them).
    const auto &dram = t.dram();
    double rows = 0, extra = 0;
    if (dram.page_bytes())
      rows = (ss == Space::Dram ? dramRows(broadcast ? srcSizes : sizes, sst, dtypeBits(st)) : 0) +
             (ds == Space::Dram ? dramRows(sizes, dst, dtypeBits(dt)) : 0);
    if (dram.rw_turnaround_ns() > 0) {
      double turn = nsToCycles(t, dram.rw_turnaround_ns());
      if (ss == Space::Dram && ds == Space::Dram) // interleaved: back and forth per page written
        extra += 2 * turn * std::max(1.0, dram.page_bytes() ? dramRows(sizes, dst, dtypeBits(dt)) : 1.0);
      else if (dramWriting != (ds == Space::Dram))
        extra += turn;
      dramWriting = ds == Space::Dram;
    }
    // A CP load's burst since the last DMA is on the channel too.
    extra += dramDebt;
    dramDebt = 0;
    channel(dramFree, dramChannelCycles(t, onDram, rows) + extra / (1.0 - dramRefreshFraction(t)));
    // The data completes an access latency after it is issued; the queue
    // issues its next command meanwhile.
    tail = nsToCycles(t, dram.access_latency_ns());
  }
  if (onShm > 0 && t.shm_gbps() > 0)
    channel(shmFree, onShm / shmBytesPerCycle(t));
  return dataStart + xfer - now;
}

} // namespace rbln::sim
