//===- Gather.cpp - Embedding lookup by dynamic DMA -------------------------===//
#include "passes/Kernels/ProgramBuilder.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- gather: geometry, tiles and SPM layout -------------------------------

GatherGeometry GatherGeometry::get(GatherOp op) {
  GatherGeometry g;
  MemRefType t = op.getTable().getType(), i = op.getIndices().getType();
  g.n = i.getNumElements();
  g.tableRows = t.getDimSize(0);
  g.rowLen = g.tableRows ? t.getNumElements() / g.tableRows : 0;
  g.data = dtypeOf(t.getElementType());
  g.index = dtypeOf(i.getElementType());
  return g;
}

GatherLayout layoutGather(const GatherGeometry &g, int64_t rows) {
  GatherLayout l;
  l.rows = rows;
  SpmBump spm;
  for (int i = 0; i < 2; ++i)
    l.buf[i] = spm.take(rows * g.rowLen * int64_t(dtypeSize(g.data)));
  l.bytes = spm.off;
  return l;
}

FailureOr<GatherLayout> chooseGatherTiles(const GatherGeometry &g, const TargetDesc &t) {
  int64_t rowBytes = alignTo(g.rowLen * int64_t(dtypeSize(g.data)), 1);
  int64_t maxRows = rowBytes ? (int64_t(t.spm_bytes()) / 2 - kSpmAlign) / rowBytes : 1;
  if (maxRows < 1)
    return failure();
  // Spread the rows over the NEs: the CP forms every row's address anyway,
  // so more NEs add DMA queues working in parallel.
  int64_t perNe = ceilDiv(std::max<int64_t>(g.n, 1), int64_t(t.num_ne()));
  return layoutGather(g, std::min(maxRows, perNe));
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

/// Embedding lookup by dynamic DMA: for each index the CP loads it from DRAM,
/// wraps a negative one, traps outside [0, rows), and turns it into the row's
/// byte address, which the next DMA reads from its register at dispatch.
LogicalResult lowerGather(ProgramBuilder &p, GatherOp op) {
  using namespace isa::fld;
  enum { kLoad, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  GatherGeometry g = GatherGeometry::get(op);
  GatherLayout l = layoutGather(g, op.getTilingAttr().getTile()[0]);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tile needs ") << l.bytes << " bytes of SPM";
  auto table = p.addressOf(op.getTable()), idx = p.addressOf(op.getIndices()),
       out = p.addressOf(op.getOut());
  auto rBound = p.scratchReg(), rIdx = p.scratchReg(), rTmp = p.scratchReg();
  if (failed(table) || failed(idx) || failed(out) || failed(rBound) || failed(rIdx) || failed(rTmp))
    return failure();
  p.emit(p.li(*rBound, g.tableRows));
  int64_t rowBytes = g.rowLen * int64_t(dtypeSize(g.data));
  int64_t rowDesc = p.desc(g.data, g.data, {g.rowLen}, {1}, {1});
  unsigned idxBytes = dtypeSize(g.index);
  int64_t numTiles = ceilDiv(g.n, l.rows);
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t tileIdx = int64_t(ne) + t * numNe;
    int64_t r0 = tileIdx * l.rows, rt = std::min(l.rows, g.n - r0);
    int64_t buf = l.buf[t % 2];
    for (int64_t r = 0; r < rt; ++r) {
      p.emit(p.load(idxBytes == 8 ? Opcode::Ld64 : Opcode::Ld32, *rIdx, idx->reg,
                    idx->off + (r0 + r) * int64_t(idxBytes), idx->space));
      // rIdx += (rIdx < 0) * rows, branch-free: the sign bit is 1 or 0.
      p.emit(ProgramBuilder::alu(Opcode::Shr, *rTmp, *rIdx, 0, 63));
      p.emit(ProgramBuilder::alu(Opcode::Mul, *rTmp, *rTmp, 0, g.tableRows));
      p.emit(ProgramBuilder::alu(Opcode::Add, *rIdx, *rIdx, *rTmp, 0));
      p.checkRange(*rIdx, *rBound, isa::TrapCode::IndexOutOfRange);
      p.emit(ProgramBuilder::alu(Opcode::Mul, *rIdx, *rIdx, 0, rowBytes));
      p.emit(ProgramBuilder::alu(Opcode::Add, *rIdx, *rIdx, table->reg, 0));
      Inst dma = p.dma(p.loadQueue(ne), true, Addr{*rIdx, table->off, g.data, table->space}, buf + r * rowBytes,
                       rowDesc);
      if (r == 0)
        ProgramBuilder::addWait(dma, p.sem(ne, kStore), t - 1);
      if (r + 1 == rt)
        p.setSignal(dma, p.sem(ne, kLoad));
      p.emit(dma);
    }
    Inst st = p.dma(p.storeQueue(ne), false, out->plus(r0 * g.rowLen), buf,
                    p.desc(g.data, g.data, {rt * g.rowLen}, {1}, {1}));
    ProgramBuilder::addWait(st, p.sem(ne, kLoad), t + 1);
    p.setSignal(st, p.sem(ne, kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
