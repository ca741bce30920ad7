//===- KvCacheWrite.cpp - Appending K/V rows to paged caches ----------------===//
#include "passes/Kernels/ProgramBuilder.h"

using namespace mlir;

namespace rbln::npu {

// --- kv cache write: SPM layout -----------------------------------------------

KvCacheWriteLayout layoutKvCacheWrite(KvCacheWriteOp op) {
  MemRefType kt = op.getK().getType(), vt = op.getV().getType();
  int64_t H = kt.getDimSize(1), D = kt.getDimSize(3), Dv = vt.getDimSize(3);
  int64_t kRow = H * D * dtypeSize(dtypeOf(kt.getElementType())),
          vRow = H * Dv * dtypeSize(dtypeOf(vt.getElementType()));
  // Two buffers of one token's K and V rows: one is stored while the next
  // token's rows are loaded.
  KvCacheWriteLayout l;
  l.buf[0][0] = 0;
  l.buf[0][1] = alignTo(kRow, 64);
  l.buf[1][0] = alignTo(l.buf[0][1] + vRow, 64);
  l.buf[1][1] = alignTo(l.buf[1][0] + kRow, 64);
  l.bytes = alignTo(l.buf[1][1] + vRow, 64);
  l.rowBytes = kRow + vRow;
  return l;
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

/// Appends this step's K/V rows to the paged caches: per token the CP loads
/// its position and block id and the store DMA takes the slot's address from
/// a register (dynamic DMA).
LogicalResult lowerKvCacheWrite(ProgramBuilder &p, KvCacheWriteOp op) {
  using namespace isa::fld;
  enum { kLoad, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  MemRefType kt = op.getK().getType(), vt = op.getV().getType(), kc = op.getKCache().getType(),
             vc = op.getVCache().getType();
  int64_t B = kt.getDimSize(0), H = kt.getDimSize(1), S = kt.getDimSize(2), D = kt.getDimSize(3),
          Dv = vt.getDimSize(3), bs = kc.getDimSize(2),
          W = op.getBlockTable().getType().getDimSize(1);
  DType kd = dtypeOf(kt.getElementType()), vd = dtypeOf(vt.getElementType()),
        kcd = dtypeOf(kc.getElementType()), vcd = dtypeOf(vc.getElementType());
  KvCacheWriteLayout l = layoutKvCacheWrite(op);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("one token's K/V row (") << l.rowBytes << " bytes) does not fit the scratchpad";
  const auto &buf = l.buf;
  auto k = p.addressOf(op.getK()), v = p.addressOf(op.getV()), pos = p.addressOf(op.getPositions()),
       table = p.addressOf(op.getBlockTable()), kCache = p.addressOf(op.getKCache()),
       vCache = p.addressOf(op.getVCache());
  if (failed(k) || failed(v) || failed(pos) || failed(table) || failed(kCache) || failed(vCache))
    return failure();
  auto numBlocks = p.leadingDimOf(op.getKCache());
  auto rMax = p.scratchReg(), rPos = p.scratchReg(), rBlk = p.scratchReg(), rSlot = p.scratchReg(),
       rA = p.scratchReg();
  if (failed(numBlocks) || failed(rMax) || failed(rPos) || failed(rBlk) || failed(rSlot) || failed(rA))
    return failure();
  p.emit(p.li(*rMax, W * bs));
  int64_t log2bs = llvm::Log2_64(uint64_t(bs));
  int64_t kDesc = p.desc(kd, kd, {H, D}, {S * D, 1}, {D, 1});
  int64_t vDesc = p.desc(vd, vd, {H, Dv}, {S * Dv, 1}, {Dv, 1});
  int64_t kStDesc = p.desc(kd, kcd, {H, D}, {D, 1}, {bs * D, 1});
  int64_t vStDesc = p.desc(vd, vcd, {H, Dv}, {Dv, 1}, {bs * Dv, 1});
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  roundRobin(numNe, B * S, 1, [&](unsigned ne, int64_t t) {
    int64_t tok = int64_t(ne) + t * numNe, bi = tok / S, si = tok % S;
    const int64_t *bb = buf[t % 2];
    Inst lk = p.dma(p.loadQueue(ne), true, k->plus((bi * H * S + si) * D), bb[0], kDesc);
    ProgramBuilder::addWait(lk, p.sem(ne, kStore), 2 * (t - 1)); // this buffer's last stores
    p.emit(lk);
    Inst lv = p.dma(p.loadQueue(ne), true, v->plus((bi * H * S + si) * Dv), bb[1], vDesc);
    p.setSignal(lv, p.sem(ne, kLoad));
    p.emit(lv);
    // position -> (block id, slot) -> the slot's address in each cache
    p.emit(p.load(Opcode::Ld64, *rPos, pos->reg, pos->off + (bi * S + si) * 8, pos->space));
    p.checkRange(*rPos, *rMax, isa::TrapCode::PositionOutOfRange);
    p.emit(ProgramBuilder::alu(Opcode::Shr, *rBlk, *rPos, 0, log2bs));
    p.emit(ProgramBuilder::alu(Opcode::Shl, *rBlk, *rBlk, 0, 2));
    p.emit(ProgramBuilder::alu(Opcode::Add, *rBlk, *rBlk, table->reg, 0));
    p.emit(p.load(Opcode::Ld32, *rBlk, *rBlk, table->off + bi * W * 4, table->space));
    p.checkRange(*rBlk, *numBlocks, isa::TrapCode::KvBlockOutOfRange);
    p.emit(ProgramBuilder::alu(Opcode::And, *rSlot, *rPos, 0, bs - 1));
    for (int kv = 0; kv < 2; ++kv) {
      int64_t dd = kv ? Dv : D, ce = dtypeSize(kv ? vcd : kcd);
      const Addr &cache = kv ? *vCache : *kCache;
      p.emit(ProgramBuilder::alu(Opcode::Mul, *rA, *rBlk, 0, H * bs * dd * ce));
      p.emit(ProgramBuilder::alu(Opcode::Add, *rA, *rA, cache.reg, 0));
      Inst st = p.dma(p.storeQueue(ne), false, Addr{*rA, cache.off, kv ? vcd : kcd}, bb[kv],
                      kv ? vStDesc : kStDesc);
      // The slot within the block: rA += slot * row bytes (after the block).
      Inst mulSlot = ProgramBuilder::alu(Opcode::Mul, *rPos, *rSlot, 0, dd * ce);
      p.emit(mulSlot);
      p.emit(ProgramBuilder::alu(Opcode::Add, *rA, *rA, *rPos, 0));
      if (kv == 0)
        ProgramBuilder::addWait(st, p.sem(ne, kLoad), t + 1);
      p.setSignal(st, p.sem(ne, kStore));
      p.emit(st);
    }
  });
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
