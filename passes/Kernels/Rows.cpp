//===- Rows.cpp - Row kernels (LayerNorm, RMSNorm) --------------------------===//
#include "passes/Kernels/ProgramBuilder.h"

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
  SpmBump spm;
  auto take = [&](int64_t bytes) { return spm.take(bytes); };
  for (int i = 0; i < 2; ++i) l.x[i] = take(rows * g.len * 4);
  for (int i = 0; i < 2; ++i) l.stat[i] = take(rows * 4);
  if (g.isNorm()) {
    l.tmp = take(rows * g.len * 4);
    l.var = take(rows * 4);
    l.scale = take(g.len * 4);
    if (g.hasBias)
      l.bias = take(g.len * 4);
    if (g.hasResidual)
      for (int i = 0; i < 2; ++i) l.res[i] = take(rows * g.len * 4);
  }
  l.bytes = spm.off;
  return l;
}

FailureOr<RowsLayout> chooseRowsTiles(const RowsGeometry &g, const TargetDesc &t) {
  auto rows = chooseRowCount(g.rows, g.len, t, [&](int64_t r) { return layoutRows(g, r).bytes; });
  if (failed(rows))
    return failure();
  return layoutRows(g, *rows);
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

LogicalResult lowerRows(ProgramBuilder &p, RowsOp op) {
  enum { kLoad, kVec, kStore, kParam, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  RowsGeometry g = RowsGeometry::get(op);
  RowsLayout l = layoutRows(g, op.getTilingAttr().getTile()[0]);
  auto in = p.addressOf(op.getInput()), out = p.addressOf(op.getOut());
  FailureOr<Addr> scale = op.getScale() ? p.addressOf(op.getScale()) : FailureOr<Addr>(Addr{});
  FailureOr<Addr> bias = op.getBias() ? p.addressOf(op.getBias()) : FailureOr<Addr>(Addr{});
  FailureOr<Addr> res = op.getResidual() ? p.addressOf(op.getResidual()) : FailureOr<Addr>(Addr{});
  if (failed(in) || failed(out) || failed(scale) || failed(bias) || failed(res))
    return failure();
  int64_t numTiles = ceilDiv(g.rows, l.rows);
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  using isa::Bcast;
  float invLen = 1.0f / float(g.len), eps = op.getEpsilon().convertToFloat();
  // Scale and bias: loaded once per NE that has rows, before its first tile.
  if (g.isNorm())
    for (unsigned ne = 0; ne < numNe && int64_t(ne) < numTiles; ++ne) {
      Inst ls = p.dma(p.storeQueue(ne), true, *scale, l.scale,
                      p.desc(g.scale, DType::F32, {g.len}, {1}, {1}));
      if (g.hasBias) {
        p.emit(ls);
        ls = p.dma(p.storeQueue(ne), true, *bias, l.bias, p.desc(g.bias, DType::F32, {g.len}, {1}, {1}));
      }
      p.setSignal(ls, p.sem(ne, kParam));
      p.emit(ls);
    }
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t tileIdx = int64_t(ne) + t * numNe;
    int64_t r0 = tileIdx * l.rows, rt = std::min(l.rows, g.rows - r0), len = g.len;
    int buf = int(t % 2);
    int64_t x = l.x[buf], st = l.stat[buf];
    Inst ld = p.dma(p.loadQueue(ne), true, in->plus(r0 * len), x,
                    p.desc(g.in, DType::F32, {rt, len}, {len, 1}, {len, 1}));
    ProgramBuilder::addWait(ld, p.sem(ne, kStore), t - 1);
    if (g.hasResidual) { // the same rows of the residual, into their own buffer
      p.emit(ld);
      ld = p.dma(p.loadQueue(ne), true, res->plus(r0 * len), l.res[buf],
                 p.desc(g.residual, DType::F32, {rt, len}, {len, 1}, {len, 1}));
      ProgramBuilder::addWait(ld, p.sem(ne, kVec), t - 1);
    }
    p.setSignal(ld, p.sem(ne, kLoad));
    p.emit(ld);
    SmallVector<Inst> ops;
    auto vun = [&](Opcode o, int64_t d, int64_t s, int64_t c) {
      ops.push_back(ProgramBuilder::vun(o, ne, d, s, rt, c));
    };
    auto vec = [&](Opcode o, int64_t d, int64_t a, int64_t b, int64_t c, Bcast bc, float imm = 0) {
      ops.push_back(ProgramBuilder::vec(o, ne, d, a, b, rt, c, bc, imm));
    };
    int64_t result = st; // where the store reads from
    switch (g.kind) {
    case RowKind::Sum: vun(Opcode::VRedSum, st, x, len); break;
    case RowKind::Max: vun(Opcode::VRedMax, st, x, len); break;
    case RowKind::Mean:
      vun(Opcode::VRedSum, st, x, len);
      vec(Opcode::VMul, st, st, 0, 1, Bcast::Imm, invLen);
      break;
    case RowKind::LayerNorm:
    case RowKind::RmsNorm: {
      if (g.hasResidual)
        vec(Opcode::VAdd, x, x, l.res[buf], len, Bcast::None);
      if (g.kind == RowKind::LayerNorm) {
        vun(Opcode::VRedSum, st, x, len); // mean
        vec(Opcode::VMul, st, st, 0, 1, Bcast::Imm, invLen);
        vec(Opcode::VSub, x, x, st, len, Bcast::Col); // centered
      }
      vec(Opcode::VMul, l.tmp, x, x, len, Bcast::None);
      vun(Opcode::VRedSum, l.var, l.tmp, len);
      vec(Opcode::VMul, l.var, l.var, 0, 1, Bcast::Imm, invLen);
      vec(Opcode::VAdd, l.var, l.var, 0, 1, Bcast::Imm, eps);
      vun(Opcode::VRsqrt, l.var, l.var, 1);
      vec(Opcode::VMul, x, x, l.var, len, Bcast::Col);
      vec(Opcode::VMul, x, x, l.scale, len, Bcast::Row);
      if (g.hasBias)
        vec(Opcode::VAdd, x, x, l.bias, len, Bcast::Row);
      result = x;
      break;
    }
    }
    ProgramBuilder::addWait(ops.front(), p.sem(ne, kLoad), t + 1);
    if (g.isNorm() && t == 0)
      ProgramBuilder::addWait(ops.front(), p.sem(ne, kParam), 1);
    p.setSignal(ops.back(), p.sem(ne, kVec));
    for (const Inst &v : ops)
      p.emit(v);
    Inst store = g.isNorm()
                     ? p.dma(p.storeQueue(ne), false, out->plus(r0 * len), result,
                             p.desc(DType::F32, g.out, {rt, len}, {len, 1}, {len, 1}))
                     : p.dma(p.storeQueue(ne), false, out->plus(r0), result,
                             p.desc(DType::F32, g.out, {rt}, {1}, {1}));
    ProgramBuilder::addWait(store, p.sem(ne, kVec), t + 1);
    p.setSignal(store, p.sem(ne, kStore));
    p.emit(store);
  });
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
