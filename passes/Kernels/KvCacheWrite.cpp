//===- KvCacheWrite.cpp - Appending K/V rows to paged caches ----------------===//
#include "passes/Kernels/TileBuilder.h"

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
  SpmSize spm;
  spm.add(kRow, 2);
  spm.add(vRow, 2);
  l.bytes = spm.bytes;
  l.rowBytes = kRow + vRow;
  return l;
}

// --- materialization: the tile program -------------------------------------
//
// One token per work item, over the NEs: its K and V rows (all heads) are
// loaded into SPM (two copies each: npu-multi-buffer); the command processor loads the
// token's position, traps outside [0, max_blocks * block_size), reads the
// block id from the sequence's block table at position / block_size, traps
// outside [0, num_blocks), and forms the address of slot position %
// block_size of that block in each cache, where the store DMAs write the
// rows (casting to the cache's type). Written without waits or signals:
// npu-insert-sync has the stores wait for the loads, and a copy's loads for
// the stores that last read it.

LogicalResult materializeKvCacheWrite(OpBuilder &b, KvCacheWriteOp op) {
  MemRefType kt = op.getK().getType(), vt = op.getV().getType(), kct = op.getKCache().getType();
  int64_t B = kt.getDimSize(0), H = kt.getDimSize(1), S = kt.getDimSize(2), D = kt.getDimSize(3),
          Dv = vt.getDimSize(3), bs = kct.getDimSize(2),
          W = op.getBlockTable().getType().getDimSize(1);
  Location loc = op.getLoc();
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(KernelKind::KvCacheWrite, op.getTilingAttr(),
                            {op.getK(), op.getV(), op.getPositions(), op.getBlockTable(),
                             op.getKCache(), op.getVCache()});
  Value k = bufs[0], v = bufs[1], pos = bufs[2], table = bufs[3], kc = bufs[4], vc = bufs[5];
  Value rows[2] = {t.spmItem("k", {H * D}, kt.getElementType()),
                   t.spmItem("v", {H * Dv}, vt.getElementType())};
  Value numBlocks = t.dim(kc);
  Value maxPos = t.cpConst(W * bs);
  t.distribute(B * S, [&](Value tok, Value, Value ne) {
    Value bi = t.div(tok, S), si = t.rem(tok, S), zero = t.c(0);
    for (int kv = 0; kv < 2; ++kv) {
      Value src = kv ? v : k;
      SmallVector<int64_t> ss = layoutStrides(cast<MemRefType>(src.getType()));
      int64_t dd = kv ? Dv : D;
      t.dma(DmaQueue::Load, src, {bi, zero, si, zero}, rows[kv], {zero}, {H, dd},
            {ss[1], ss[3]}, {dd, 1}, ne);
    }
    Value p = t.loadIndex(pos, {bi, si});
    t.checkRange(p, maxPos, isa::TrapCode::PositionOutOfRange);
    Value blk = t.loadIndex(table, {bi, t.cpDiv(p, bs)});
    t.checkRange(blk, numBlocks, isa::TrapCode::KvBlockOutOfRange);
    Value slot = t.cpRem(p, bs);
    for (int kv = 0; kv < 2; ++kv) {
      Value cache = kv ? vc : kc;
      SmallVector<int64_t> cs = layoutStrides(cast<MemRefType>(cache.getType()));
      int64_t dd = kv ? Dv : D;
      // Dynamic DMA: the slot of the block the table names.
      t.dma(DmaQueue::Store, rows[kv], {zero}, cache, {blk, zero, slot, zero}, {H, dd},
            {dd, 1}, {cs[1], cs[3]}, ne);
    }
  });
  t.end();
  return success();
}

} // namespace rbln::npu

