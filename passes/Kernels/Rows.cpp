//===- Rows.cpp - Row kernels (LayerNorm, RMSNorm) --------------------------===//
#include "passes/Kernels/TileBuilder.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- row kernels: geometry, tiles and SPM layout --------------------------

RowsGeometry RowsGeometry::get(RowsOp op) {
  RowsGeometry g;
  auto in = cast<MemRefType>(op.getInput().getType());
  g.rows = in.getDimSize(0);
  g.len = in.getDimSize(1);
  g.kind = op.getKind();
  g.in = dtypeOf(in.getElementType());
  g.out = dtypeOf(cast<MemRefType>(op.getOut().getType()).getElementType());
  if (Value s = op.getScale())
    g.scale = dtypeOf(cast<MemRefType>(s.getType()).getElementType());
  if (Value b = op.getBias()) {
    g.bias = dtypeOf(cast<MemRefType>(b.getType()).getElementType());
    g.hasBias = true;
  }
  if (Value r = op.getResidual()) {
    g.residual = dtypeOf(cast<MemRefType>(r.getType()).getElementType());
    g.hasResidual = true;
  }
  return g;
}

RowsLayout layoutRows(const RowsGeometry &g, int64_t rows) {
  RowsLayout l;
  l.rows = rows;
  SpmSize spm;
  spm.add(rows * g.len * 4, 2); // x
  spm.add(rows * 4, g.kind == RowKind::MaxMin ? 4 : 2); // stat (and the min)
  if (g.isNorm()) {
    spm.add(rows * g.len * 4); // tmp
    spm.add(rows * 4);         // var
    spm.add(g.len * 4);        // scale
    if (g.hasBias)
      spm.add(g.len * 4);
    if (g.hasResidual)
      spm.add(rows * g.len * 4, 2);
  }
  l.bytes = spm.bytes;
  return l;
}

FailureOr<RowsLayout> chooseRowsTiles(const RowsGeometry &g, const TargetDesc &t) {
  auto rows = chooseRowCount(g.rows, g.len, t, [&](int64_t r) { return layoutRows(g, r).bytes; });
  if (failed(rows))
    return failure();
  return layoutRows(g, *rows);
}

// --- materialization: the tile program -------------------------------------
//
// Scale and bias are loaded once per NE that has rows (a first loop with one
// item per NE). Then per tile of rows: load (and the residual's rows) -> the
// kind's vector ops -> store of the rows (a normalization) or of one value
// per row (a reduction). A QDQ model's norm reads an 8-bit residual (the
// load widens it; subtract the zero point, multiply by the scale) and
// stores 8-bit rows (divide, round half to even, add the zero point; the
// store saturates). Written one item at a time: npu-multi-buffer
// double-buffers what the DMAs and the vector engine share, npu-insert-sync
// orders them (an NE's first tile's vector work also waits for its scale and
// bias).

LogicalResult materializeRows(OpBuilder &b, RowsOp op) {
  RowsGeometry g = RowsGeometry::get(op);
  TilingAttr tiling = op.getTilingAttr();
  RowsLayout l = layoutRows(g, tiling.getTile()[0]);
  Location loc = op.getLoc();
  SmallVector<Value> operands{op.getInput(), op.getOut()};
  if (Value o2 = op.getOut2())
    operands.push_back(o2);
  if (g.isNorm())
    operands.push_back(op.getScale());
  if (g.hasBias)
    operands.push_back(op.getBias());
  if (g.hasResidual)
    operands.push_back(op.getResidual());
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(g.isNorm() ? KernelKind::Normalization : KernelKind::Reduction, tiling,
                            operands);
  Value in = bufs[0], out = bufs[1];
  Value out2 = op.getOut2() ? bufs[2] : Value();
  Value scale = g.isNorm() ? bufs[2] : Value();
  Value bias = g.hasBias ? bufs[3] : Value();
  Value res = g.hasResidual ? bufs.back() : Value();
  int64_t len = g.len, numTiles = ceilDiv(g.rows, l.rows);
  // One value per row (the result, or LayerNorm's mean); RMSNorm has none.
  Value x = t.spmItem("x", {l.rows, len});
  Value stat = g.kind == RowKind::RmsNorm ? Value() : t.spmItem("stat", {l.rows});
  Value stat2 = out2 ? t.spmItem("min", {l.rows}) : Value();
  Value tmp, var, scaleSpm, biasSpm, resSpm;
  if (g.isNorm()) {
    tmp = t.spm("tmp", {l.rows, len});
    var = t.spm("var", {l.rows});
    scaleSpm = t.spm("scale", {len});
    if (g.hasBias)
      biasSpm = t.spm("bias", {len});
    if (g.hasResidual)
      resSpm = t.spmItem("residual", {l.rows, len});
  }
  Value zero = t.c(0);
  using isa::Opcode;
  if (g.isNorm())
    t.distribute(std::min<int64_t>(tiling.getNe(), numTiles), [&](Value, Value, Value ne) {
      t.dma(DmaQueue::Store, scale, {zero}, scaleSpm, {zero}, {len}, {1}, {1}, ne);
      if (g.hasBias)
        t.dma(DmaQueue::Store, bias, {zero}, biasSpm, {zero}, {len}, {1}, {1}, ne);
    });
  t.distribute(numTiles, [&](Value tile, Value, Value ne) {
    Value r0 = t.mul(tile, l.rows);
    TileBuilder::Size rt = t.rowsLeft(r0, g.rows, l.rows);
    TileBuilder::Operand xs{x, {zero, zero}}, st{stat, {zero}};
    t.dma(DmaQueue::Load, in, {r0, zero}, x, xs.idx, {rt, len}, {len, 1}, {len, 1}, ne);
    if (g.hasResidual) // the same rows of the residual, into their own buffer
      t.dma(DmaQueue::Load, res, {r0, zero}, resSpm, {zero, zero}, {rt, len}, {len, 1},
            {len, 1}, ne);
    // The kind's vector ops; the first waits for the loads (and, on an NE's
    // first tile, for scale and bias), the last signals the store.
    using V = TileBuilder::VecStep;
    SmallVector<V> ops;
    float invLen = 1.0f / float(len), eps = op.getEpsilon().convertToFloat();
    TileBuilder::Operand result = st; // what the store reads
    // The min of each row into `to`: -max(-x) (negation is exact; x is
    // negated in place).
    auto minInto = [&](TileBuilder::Operand to) {
      ops.push_back({Opcode::VNeg, xs, xs, {}, len});
      ops.push_back({Opcode::VRedMax, to, xs, {}, len});
      ops.push_back({Opcode::VNeg, to, to, {}, int64_t(1)});
    };
    switch (g.kind) {
    case RowKind::Sum: ops.push_back({Opcode::VRedSum, st, xs, {}, len}); break;
    case RowKind::Max: ops.push_back({Opcode::VRedMax, st, xs, {}, len}); break;
    case RowKind::MaxMin: // the max, then the min of the same rows
      ops.push_back({Opcode::VRedMax, st, xs, {}, len});
      minInto(TileBuilder::Operand{stat2, {zero}});
      break;
    case RowKind::Min: minInto(st); break;
    case RowKind::Mean:
      ops.push_back({Opcode::VRedSum, st, xs, {}, len});
      ops.push_back({Opcode::VMul, st, st, {}, int64_t(1), Broadcast::Imm, invLen});
      break;
    case RowKind::LayerNorm:
    case RowKind::RmsNorm: {
      TileBuilder::Operand tm{tmp, {zero, zero}}, vr{var, {zero}}, rs{resSpm, {zero, zero}};
      if (auto rq = op.getResidualQuant()) { // an 8-bit residual (widened by its load): (r - z) * s
        if ((*rq)[1] != 0.0f)
          ops.push_back({Opcode::VSub, rs, rs, {}, len, Broadcast::Imm, (*rq)[1]});
        ops.push_back({Opcode::VMul, rs, rs, {}, len, Broadcast::Imm, (*rq)[0]});
      }
      if (g.hasResidual)
        ops.push_back({Opcode::VAdd, xs, xs, rs, len});
      if (g.kind == RowKind::LayerNorm) {
        ops.push_back({Opcode::VRedSum, st, xs, {}, len}); // mean
        ops.push_back({Opcode::VMul, st, st, {}, int64_t(1), Broadcast::Imm, invLen});
        ops.push_back({Opcode::VSub, xs, xs, st, len, Broadcast::Col}); // centered
      }
      ops.push_back({Opcode::VMul, tm, xs, xs, len});
      ops.push_back({Opcode::VRedSum, vr, tm, {}, len});
      ops.push_back({Opcode::VMul, vr, vr, {}, int64_t(1), Broadcast::Imm, invLen});
      ops.push_back({Opcode::VAdd, vr, vr, {}, int64_t(1), Broadcast::Imm, eps});
      ops.push_back({Opcode::VRsqrt, vr, vr, {}, int64_t(1)});
      ops.push_back({Opcode::VMul, xs, xs, vr, len, Broadcast::Col});
      ops.push_back({Opcode::VMul, xs, xs, TileBuilder::Operand{scaleSpm, {zero}}, len, Broadcast::Row});
      if (g.hasBias)
        ops.push_back({Opcode::VAdd, xs, xs, TileBuilder::Operand{biasSpm, {zero}}, len, Broadcast::Row});
      if (auto oq = op.getOutputQuant()) { // an 8-bit result: the store saturates
        ops.push_back({Opcode::VDiv, xs, xs, {}, len, Broadcast::Imm, (*oq)[0]});
        ops.push_back({Opcode::VRound, xs, xs, {}, len});
        if ((*oq)[1] != 0.0f)
          ops.push_back({Opcode::VAdd, xs, xs, {}, len, Broadcast::Imm, (*oq)[1]});
      }
      result = xs;
      break;
    }
    }
    t.vecChain(ops, rt, len, ne, {}, Value());
    if (g.isNorm())
      t.dma(DmaQueue::Store, x, xs.idx, out, {r0, zero}, {rt, len}, {len, 1}, {len, 1}, ne);
    else
      t.dma(DmaQueue::Store, stat, st.idx, out, {r0}, {rt}, {1}, {1}, ne);
    if (out2)
      t.dma(DmaQueue::Store, stat2, {zero}, out2, {r0}, {rt}, {1}, {1}, ne);
  });
  t.end();
  return success();
}

} // namespace rbln::npu
