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
// Per tile of rows: load -> vred.max, v.sub, v.exp, vred.sum, v.div ->
// store, written one item at a time: npu-multi-buffer double-buffers the
// tile (the row statistics, the vector engine's alone, keep one copy) and
// npu-insert-sync orders the engines (a load reuses copy t % 2 once the
// store of tile t - 2 is done; the vector work waits for its load, the store
// for the vector work).

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
  Value x = t.spmItem("x", {l.rows, len});
  Value mx = t.spmItem("max", {l.rows}), sm = t.spmItem("sum", {l.rows});
  t.distribute(ceilDiv(g.rows, l.rows), [&](Value tile, Value, Value ne) {
    Value r0 = t.mul(tile, l.rows);
    TileBuilder::Size rt = t.rowsLeft(r0, g.rows, l.rows);
    Value zero = t.c(0);
    TileBuilder::Operand xs{x, {zero, zero}}, m{mx, {zero}}, s{sm, {zero}};
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
