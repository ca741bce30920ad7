//===- Gather.cpp - Embedding lookup by dynamic DMA -------------------------===//
#include "passes/Kernels/TileBuilder.h"

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
  SpmSize spm;
  spm.add(rows * g.rowLen * int64_t(dtypeSize(g.data)), 2);
  l.bytes = spm.bytes;
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

// --- materialization: the tile program -------------------------------------
//
// Embedding lookup by dynamic DMA: per row of a tile the command processor
// loads the index from DRAM, counts a negative one from the end, traps
// outside [0, rows), and forms the row's address, which the row's DMA reads
// from its register at dispatch. Written one tile at a time: npu-multi-buffer
// double-buffers the rows, npu-insert-sync orders the row loads (a loop of
// the load queue's: its first row waits, its last signals) and the store.

LogicalResult materializeGather(OpBuilder &b, GatherOp op) {
  GatherGeometry g = GatherGeometry::get(op);
  TilingAttr tiling = op.getTilingAttr();
  GatherLayout l = layoutGather(g, tiling.getTile()[0]);
  Location loc = op.getLoc();
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(KernelKind::Gather, tiling,
                            {op.getTable(), asFlat(b, loc, op.getIndices()), asFlat(b, loc, op.getOut())});
  Value table = bufs[0], indices = bufs[1], out = bufs[2];
  Type et = cast<MemRefType>(op.getTable().getType()).getElementType();
  Value rows = t.spmItem("rows", {l.rows * g.rowLen}, et);
  Value bound = t.cpConst(g.tableRows);
  SmallVector<Value> tableAt(cast<MemRefType>(table.getType()).getRank(), t.c(0));
  t.distribute(ceilDiv(g.n, l.rows), [&](Value tile, Value, Value ne) {
    Value r0 = t.mul(tile, l.rows);
    TileBuilder::Size rt = t.rowsLeft(r0, g.n, l.rows);
    Value zero = t.c(0);
    t.loop(zero, rt, [&](Value r) {
      Value idx = t.loadIndex(indices, {t.add(r0, r)});
      Value row = t.wrapIndex(idx, g.tableRows);
      t.checkRange(row, bound, isa::TrapCode::IndexOutOfRange);
      SmallVector<Value> at0(tableAt); // dynamic DMA: the row the index names
      at0[0] = row;
      Value dst = t.mul(r, g.rowLen);
      t.dma(DmaQueue::Load, table, at0, rows, {dst}, {g.rowLen}, {1}, {1}, ne);
    });
    // (One op per statement: build order must not follow the host
    // compiler's order of evaluating arguments.)
    Value outAt = t.mul(r0, g.rowLen);
    TileBuilder::Size outLen = t.mulSizes(rt, g.rowLen);
    t.dma(DmaQueue::Store, rows, {zero}, out, {outAt}, {outLen}, {1}, {1}, ne);
  });
  t.end();
  return success();
}

} // namespace rbln::npu
