//===- Softmax.cpp - Row softmax --------------------------------------------===//
#include "passes/Kernels/TileBuilder.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- softmax: geometry, tiles and SPM layout ------------------------------

SoftmaxGeometry SoftmaxGeometry::get(SoftmaxOp op) {
  SoftmaxGeometry g;
  auto in = cast<MemRefType>(op.getInput().getType());
  g.len = in.getShape().empty() ? 1 : in.getShape().back();
  g.rows = g.len ? in.getNumElements() / g.len : 0;
  g.in = dtypeOf(in.getElementType());
  g.out = dtypeOf(cast<MemRefType>(op.getOut().getType()).getElementType());
  return g;
}

SoftmaxLayout layoutSoftmax(const SoftmaxGeometry &g, int64_t rows) {
  SoftmaxLayout l;
  l.rows = rows;
  SpmSize spm;
  spm.add(rows * g.len * 4, 2); // x
  spm.add(rows * 4, 2);         // max
  spm.add(rows * 4, 2);         // sum
  l.bytes = spm.bytes;
  return l;
}

FailureOr<SoftmaxLayout> chooseSoftmaxTiles(const SoftmaxGeometry &g, const TargetDesc &t) {
  auto rows = chooseRowCount(g.rows, g.len, t, [&](int64_t r) { return layoutSoftmax(g, r).bytes; });
  if (failed(rows))
    return failure();
  return layoutSoftmax(g, *rows);
}

// --- materialization: the tile program -------------------------------------
//
// Per tile of rows, double buffered: load -> vred.max, v.sub, v.exp,
// vred.sum, v.div -> store. Written without waits or signals: npu-insert-sync
// derives them from the buffers (a load reuses copy t % 2 once the store of
// tile t - 2 is done; the vector work waits for its load, the store for the
// vector work).

LogicalResult materializeSoftmax(OpBuilder &b, SoftmaxOp op) {
  SoftmaxGeometry g = SoftmaxGeometry::get(op);
  TilingAttr tiling = op.getTilingAttr();
  SoftmaxLayout l = layoutSoftmax(g, tiling.getTile()[0]);
  Location loc = op.getLoc();
  Value in = asRows(b, loc, op.getInput(), g.rows, g.len);
  Value out = asRows(b, loc, op.getOut(), g.rows, g.len);
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(KernelKind::Softmax, tiling, {in, out});
  int64_t len = g.len;
  Value x = t.spmCopies("x", {2, l.rows, len});
  Value mx = t.spmCopies("max", {2, l.rows}), sm = t.spmCopies("sum", {2, l.rows});
  t.distribute(ceilDiv(g.rows, l.rows), [&](Value tile, Value iter, Value ne) {
    Value r0 = t.mul(tile, l.rows);
    TileBuilder::Size rt = t.rowsLeft(r0, g.rows, l.rows);
    Value buf = t.rem(iter, 2), zero = t.c(0);
    TileBuilder::Operand xs{x, {buf, zero, zero}}, m{mx, {buf, zero}}, s{sm, {buf, zero}};
    using isa::Opcode;
    t.dma(DmaQueue::Load, bufs[0], {r0, zero}, x, xs.idx, {rt, len}, {len, 1}, {len, 1}, ne);
    t.vec(Opcode::VRedMax, m, xs, nullptr, rt, len, Broadcast::None, 0, ne);
    t.vec(Opcode::VSub, xs, xs, &m, rt, len, Broadcast::Col, 0, ne);
    t.vec(Opcode::VExp, xs, xs, nullptr, rt, len, Broadcast::None, 0, ne);
    t.vec(Opcode::VRedSum, s, xs, nullptr, rt, len, Broadcast::None, 0, ne);
    t.vec(Opcode::VDiv, xs, xs, &s, rt, len, Broadcast::Col, 0, ne);
    t.dma(DmaQueue::Store, x, xs.idx, bufs[1], {r0, zero}, {rt, len}, {len, 1}, {len, 1}, ne);
  });
  t.end();
  return success();
}

} // namespace rbln::npu
