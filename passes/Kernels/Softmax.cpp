//===- Softmax.cpp - Row softmax --------------------------------------------===//
#include "passes/Kernels/ProgramBuilder.h"

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
  SpmBump spm;
  auto take = [&](int64_t bytes) { return spm.take(bytes); };
  for (int i = 0; i < 2; ++i) l.x[i] = take(rows * g.len * 4);
  for (int i = 0; i < 2; ++i) l.max[i] = take(rows * 4);
  for (int i = 0; i < 2; ++i) l.sum[i] = take(rows * 4);
  l.bytes = spm.off;
  return l;
}

FailureOr<SoftmaxLayout> chooseSoftmaxTiles(const SoftmaxGeometry &g, const TargetDesc &t) {
  auto rows = chooseRowCount(g.rows, g.len, t, [&](int64_t r) { return layoutSoftmax(g, r).bytes; });
  if (failed(rows))
    return failure();
  return layoutSoftmax(g, *rows);
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

LogicalResult lowerSoftmax(ProgramBuilder &p, SoftmaxOp op) {
  enum { kLoad, kVec, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  SoftmaxGeometry g = SoftmaxGeometry::get(op);
  SoftmaxLayout l = layoutSoftmax(g, op.getTilingAttr().getTile()[0]);
  auto in = p.addressOf(op.getInput()), out = p.addressOf(op.getOut());
  if (failed(in) || failed(out))
    return failure();
  int64_t numTiles = ceilDiv(g.rows, l.rows);
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  using isa::Bcast;
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t tileIdx = int64_t(ne) + t * numNe;
    int64_t r0 = tileIdx * l.rows, rt = std::min(l.rows, g.rows - r0);
    int buf = int(t % 2);
    int64_t x = l.x[buf], mx = l.max[buf], sm = l.sum[buf];
    Inst ld = p.dma(p.loadQueue(ne), true, in->plus(r0 * g.len), x,
                    p.desc(g.in, DType::F32, {rt, g.len}, {g.len, 1}, {g.len, 1}));
    ProgramBuilder::addWait(ld, p.sem(ne, kStore), t - 1);
    p.setSignal(ld, p.sem(ne, kLoad));
    p.emit(ld);
    Inst red = ProgramBuilder::vun(Opcode::VRedMax, ne, mx, x, rt, g.len);
    ProgramBuilder::addWait(red, p.sem(ne, kLoad), t + 1);
    p.emit(red);
    p.emit(ProgramBuilder::vec(Opcode::VSub, ne, x, x, mx, rt, g.len, Bcast::Col));
    p.emit(ProgramBuilder::vun(Opcode::VExp, ne, x, x, rt, g.len));
    p.emit(ProgramBuilder::vun(Opcode::VRedSum, ne, sm, x, rt, g.len));
    Inst div = ProgramBuilder::vec(Opcode::VDiv, ne, x, x, sm, rt, g.len, Bcast::Col);
    p.setSignal(div, p.sem(ne, kVec));
    p.emit(div);
    Inst st = p.dma(p.storeQueue(ne), false, out->plus(r0 * g.len), x,
                    p.desc(DType::F32, g.out, {rt, g.len}, {g.len, 1}, {g.len, 1}));
    ProgramBuilder::addWait(st, p.sem(ne, kVec), t + 1);
    p.setSignal(st, p.sem(ne, kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
