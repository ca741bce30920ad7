//===- PagedAttention.cpp - PagedAttention over block tables ----------------===//
#include "passes/Kernels/ProgramBuilder.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- paged attention: geometry, tiles and SPM layout ----------------------

PagedGeometry PagedGeometry::get(PagedAttentionOp op) {
  PagedGeometry g;
  MemRefType q = op.getQ().getType(), kc = op.getKCache().getType(), vc = op.getVCache().getType();
  g.b = q.getDimSize(0), g.hq = q.getDimSize(1), g.s = q.getDimSize(2), g.d = q.getDimSize(3);
  g.hkv = kc.getDimSize(1), g.blockSize = kc.getDimSize(2), g.dv = vc.getDimSize(3);
  g.maxBlocks = op.getBlockTable().getType().getDimSize(1);
  g.q = dtypeOf(q.getElementType());
  g.cache = dtypeOf(kc.getElementType());
  g.out = dtypeOf(op.getOut().getType().getElementType());
  g.compute = dtypeOf(op.getComputeType());
  return g;
}

PagedLayout layoutPaged(const PagedGeometry &g, int64_t tq, int64_t tk, int64_t splits) {
  PagedLayout l;
  l.tq = tq, l.tk = tk, l.splits = splits;
  int64_t rows = g.itemRows(tq), ce = dtypeSize(g.compute);
  SpmBump spm;
  l.q = spm.take(rows * g.d * ce);
  for (int i = 0; i < 2; ++i) {
    l.k[i] = spm.take(tk * g.d * ce);
    l.v[i] = spm.take(tk * g.dv * ce);
  }
  l.s = spm.take(rows * tk * 4);
  l.p = g.compute == DType::F32 ? l.s : spm.take(rows * tk * ce);
  l.o = spm.take(rows * g.dv * 4);
  l.stats = spm.take(3 * rows * 4);
  l.t = spm.take(rows * 4), l.z = spm.take(rows * 4);
  l.zeros = spm.take(rows * 4), l.negInf = spm.take(rows * 4);
  if (splits > 1) {
    l.cMaxIn = spm.take(rows * splits * 4);
    l.cStats = spm.take(splits * 2 * rows * 4);
    l.cO = spm.take(splits * rows * g.dv * 4);
    l.cMax = spm.take(rows * 4), l.cW = spm.take(rows * 4), l.cL = spm.take(rows * 4);
  }
  l.bytes = spm.off;
  return l;
}

FailureOr<PagedLayout> choosePagedTiles(const PagedGeometry &g, const TargetDesc &t, int64_t kvLen) {
  // Partitions of 256 keys by default (whole blocks, at most the maximum
  // length), query tiles of up to 128 rows; the partition shrinks by blocks,
  // then the query tile halves, until they fit.
  // A partition is whole blocks, or a power-of-two part of one block.
  int64_t maxLen = g.maxSeqLen();
  int64_t tk = std::min(kvLen > 0 ? kvLen : 256, maxLen);
  tk = tk >= g.blockSize ? tk / g.blockSize * g.blockSize : int64_t(llvm::bit_floor(uint64_t(tk)));
  int64_t tq = std::min<int64_t>(g.s, 128);
  while (true) {
    PagedLayout l = layoutPaged(g, tq, tk);
    if (uint64_t(l.bytes) <= t.spm_bytes() && tk <= kMaxField && g.itemRows(tq) <= kMaxField) {
      // Flash-decoding: fewer (sequence, KV head) items than NEs split
      // their partitions over the idle NEs, when the partials fit SHM.
      int64_t items = g.b * g.hkv, numTiles = ceilDiv(maxLen, tk), ne = int64_t(t.num_ne());
      if (g.decode() && items < ne && numTiles > 1) {
        int64_t splits = std::min(ne / items, numTiles);
        PagedLayout sl = layoutPaged(g, tq, tk, splits);
        if (splits > 1 && uint64_t(sl.bytes) <= t.spm_bytes() &&
            uint64_t(items * splits * PagedLayout::partialBytes(g, g.itemRows(tq))) <= t.shm_bytes())
          return sl;
      }
      return l;
    }
    if (kvLen <= 0 && tk > g.blockSize)
      tk -= g.blockSize;
    else if (kvLen <= 0 && tk > 1)
      tk /= 2;
    else if (tq > 1 && !g.decode())
      tq = (tq + 1) / 2;
    else
      return failure();
  }
}

int64_t pagedNeCount(PagedAttentionOp op, const TargetDesc &t) {
  // The kernel's registers before the per-NE ones, as its lowering takes
  // them: the kernel's first, one per function argument it addresses, the
  // cache's block count and three scratch registers.
  llvm::SmallPtrSet<Value, 8> args;
  for (Value v : {op.getQ(), op.getKCache(), op.getVCache(), op.getBlockTable(),
                  op.getPositions(), op.getConsts(), op.getOut()}) {
    while (auto view = v.getDefiningOp<ViewOp>())
      v = view.getSource();
    if (llvm::isa<BlockArgument>(v))
      args.insert(v);
  }
  int64_t used = int64_t(npu_to_isa::kFirstKernelReg) + int64_t(args.size()) + 4;
  int64_t perNe = op.getWindow() > 0 ? 2 : 1;
  return std::max<int64_t>(1, std::min<int64_t>(t.num_ne(), (int64_t(isa::kNumRegs) - used) / perNe));
}

PagedLayout finalizePagedTiles(const PagedGeometry &g, const PagedLayout &l, int64_t window,
                               int64_t ne) {
  int64_t splits = l.splits;
  if (window > 0)
    splits = 1;
  // Flash-decoding needs every split of every item in one round.
  if (splits > 1 && g.b * g.hkv * splits > ne)
    splits = std::max<int64_t>(1, ne / (g.b * g.hkv));
  return splits == l.splits ? l : layoutPaged(g, l.tq, l.tk, splits);
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

/// A run of instructions whose branch targets are relative to its start
/// (fixed up when emitted).
struct Section {
  SmallVector<Inst> insts;
  SmallVector<std::pair<size_t, int64_t>> fixups; ///< (instruction, target within the section)
  size_t uncountedFrom = ~size_t(0); ///< signals from here on stand in for earlier ones
  void emitInto(ProgramBuilder &p) {
    int64_t base = p.pc;
    for (auto [i, rel] : fixups) {
      Inst &in = insts[i];
      in[in.op == Opcode::Jmp ? unsigned(isa::fld::Jmp::target) : unsigned(isa::fld::Blt::target)] = base + rel;
    }
    for (size_t i = 0; i < insts.size(); ++i)
      p.emit(insts[i], i < uncountedFrom);
  }
};

/// Paged attention (decode and chunked prefill) over block tables; see the
/// op's description. Work items are spread round-robin over the NEs and
/// their KV partitions interleaved, one partition of every NE in turn; each
/// partition is a section that a run-time branch may skip.
LogicalResult lowerPaged(ProgramBuilder &p, PagedAttentionOp op) {
  using namespace isa::fld;
  using isa::Bcast;
  enum { kQ, kLoad, kMm1, kVec, kMm2, kFin, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  PagedGeometry g = PagedGeometry::get(op);
  ArrayRef<int64_t> tile = op.getTilingAttr().getTile();
  int64_t splits = op.getTilingAttr().getSplits();
  auto q = p.addressOf(op.getQ()), kCache = p.addressOf(op.getKCache()),
       vCache = p.addressOf(op.getVCache()), table = p.addressOf(op.getBlockTable()),
       pos = p.addressOf(op.getPositions()), consts = p.addressOf(op.getConsts()),
       out = p.addressOf(op.getOut());
  if (failed(q) || failed(kCache) || failed(vCache) || failed(table) || failed(pos) ||
      failed(consts) || failed(out))
    return failure();
  auto numBlocks = p.leadingDimOf(op.getKCache());
  auto rK0 = p.scratchReg(), rBlk = p.scratchReg(), rA = p.scratchReg();
  if (failed(numBlocks) || failed(rK0) || failed(rBlk) || failed(rA))
    return failure();
  // Sliding window: partitions relative to each item's window start (a
  // register), so a step visits the partitions of its window only.
  int64_t window = op.getWindow();
  if (window > 0 && (tile[1] % g.blockSize))
    return op.emitError("a sliding-window layer needs KV partitions of whole blocks");
  // Per NE: the position of its item's first query row, and with a window
  // the first partition's start (npu-tile-partition chose the NE count so
  // that these registers exist: pagedNeCount).
  unsigned perNe = window > 0 ? 2 : 1;
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  if (numNe * perNe > isa::kNumRegs - p.nextReg)
    return op.emitError("the tiling spreads paged attention over ")
           << numNe << " NEs; the command processor has registers for "
           << (isa::kNumRegs - p.nextReg) / perNe;
  SmallVector<unsigned> rPos, rWin;
  for (unsigned n = 0; n < numNe; ++n) {
    auto a = p.scratchReg();
    if (failed(a))
      return failure();
    rPos.push_back(*a);
    if (window > 0) {
      auto w = p.scratchReg();
      if (failed(w))
        return failure();
      rWin.push_back(*w);
    }
  }
  PagedLayout l = layoutPaged(g, tile[0], tile[1], splits);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tiles need ") << l.bytes << " bytes of SPM";
  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  int64_t group = g.hq / g.hkv, rowsMax = g.itemRows(l.tq);
  int64_t qTiles = g.decode() ? 1 : ceilDiv(g.s, l.tq);
  int64_t items = g.decode() ? g.b * g.hkv * splits : g.b * g.hq * qTiles;
  int64_t partial = PagedLayout::partialBytes(g, rowsMax);
  if (splits > 1 && uint64_t(items * partial) > p.t.shm_bytes())
    return op.emitError("flash-decoding partials need ") << items * partial << " bytes of SHM";
  // A partition spans whole blocks, or (shorter than a block) a run of one
  // block's slots: `run` rows per DMA.
  int64_t numTiles = ceilDiv(g.maxSeqLen(), l.tk);
  if (window > 0) // the window and an item's rows, aligned down to a partition
    numTiles = std::min(numTiles, ceilDiv(window + rowsMax - 1, l.tk) + 1);
  int64_t run = std::min(l.tk, g.blockSize), blocksPerTile = l.tk / run;
  DType ct = g.compute;
  int64_t ce = dtypeSize(ct), cacheEs = dtypeSize(g.cache);
  int64_t kBlockBytes = g.hkv * g.blockSize * g.d * cacheEs, vBlockBytes = g.hkv * g.blockSize * g.dv * cacheEs;
  int64_t kDesc = p.desc(g.cache, ct, {run, g.d}, {g.d, 1}, {g.d, 1});
  int64_t vDesc = p.desc(g.cache, ct, {run, g.dv}, {g.dv, 1}, {g.dv, 1});
  int64_t emptyDesc = p.desc(DType::F32, DType::F32, {0}, {1}, {1});
  auto vec = [](auto... a) { return ProgramBuilder::vec(a...); }; // (keeps vec's defaults)
  auto vun = ProgramBuilder::vun;

  struct Item {
    int64_t bi, kvh, h0, s0, rows;
    int64_t split = 0; ///< flash-decoding: which part of the partitions
  };
  auto itemOf = [&](int64_t i) -> Item {
    if (g.decode()) {
      int64_t u = i / splits;
      return {u / g.hkv, u % g.hkv, (u % g.hkv) * group, 0, group, i % splits};
    }
    int64_t bi = i / (g.hq * qTiles), h = (i / qTiles) % g.hq, s0 = (i % qTiles) * l.tq;
    return {bi, h / group, h, s0, std::min(l.tq, g.s - s0)};
  };
  // Partitions per split; a split's partitions are consecutive.
  int64_t perSplit = ceilDiv(numTiles, splits);
  auto shmDma = [&](unsigned queue, bool toShm, int64_t shmOff, int64_t spmOff, int64_t descId) {
    return p.dma(queue, !toShm, Addr{0, shmOff, DType::F32, isa::Space::Shm}, spmOff, descId);
  };
  int64_t rounds = ceilDiv(items, int64_t(numNe));
  SmallVector<int64_t> steps(numNe, 0); // KV partitions (taken or credited) so far per NE
  for (int64_t r = 0; r < rounds; ++r) {
    // Item start on every NE of this round.
    for (unsigned ne = 0; ne < numNe; ++ne) {
      int64_t i = r * numNe + ne;
      if (i >= items)
        continue;
      Item it = itemOf(i);
      auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
      p.emit(p.load(Opcode::Ld64, rPos[ne], pos->reg, pos->off + (it.bi * g.s + it.s0) * 8, pos->space));
      if (window > 0) { // first partition: max(0, pos - window + 1) aligned down
        p.emit(ProgramBuilder::alu(Opcode::Add, rWin[ne], rPos[ne], 0, 1 - window));
        p.emit(ProgramBuilder::alu(Opcode::Max, rWin[ne], rWin[ne], 0, 0));
        p.emit(ProgramBuilder::alu(Opcode::Div, rWin[ne], rWin[ne], 0, l.tk));
        p.emit(ProgramBuilder::alu(Opcode::Mul, rWin[ne], rWin[ne], 0, l.tk));
      }
      if (r == 0) {
        p.emit(p.dma(p.loadQueue(ne), true, *consts, l.zeros,
                     p.desc(DType::F32, DType::F32, {rowsMax}, {0}, {1})));
        p.emit(p.dma(p.loadQueue(ne), true, consts->plus(1), l.negInf,
                     p.desc(DType::F32, DType::F32, {rowsMax}, {0}, {1})));
      }
      // Q rows: the group's heads (decode) or a tile of one head's tokens.
      Inst qLoad = p.dma(p.loadQueue(ne), true, q->plus(((it.bi * g.hq + it.h0) * g.s + it.s0) * g.d),
                         l.q, p.desc(g.q, ct, {it.rows, g.d}, {g.decode() ? g.s * g.d : g.d, 1}, {g.d, 1}));
      ProgramBuilder::addWait(qLoad, sem(kMm1), steps[ne]); // the last item's S = QK^T are done
      p.setSignal(qLoad, sem(kQ));
      p.emit(qLoad);
      if (splits > 1) // O = 0: a split may skip every partition it has
        p.emit(p.dma(p.loadQueue(ne), true, *consts, l.o,
                     p.desc(DType::F32, DType::F32, {it.rows * g.dv}, {0}, {1})));
      Inst mInit = vun(Opcode::VCopy, ne, l.stats, l.negInf, 1, it.rows);
      ProgramBuilder::addWait(mInit, sem(kQ), r + 1);
      ProgramBuilder::addWait(mInit, sem(kFin), r); // the last item's statistics are consumed
      p.emit(mInit);
      p.emit(vun(Opcode::VCopy, ne, l.stats + 4 * it.rows, l.zeros, 1, it.rows));
    }
    // KV partitions, one of each NE in turn (jl counts within a split).
    for (int64_t jl = 0; jl < perSplit; ++jl) {
      for (unsigned ne = 0; ne < numNe; ++ne) {
        int64_t i = r * numNe + ne;
        if (i >= items)
          continue;
        Item it = itemOf(i);
        int64_t j = it.split * perSplit + jl;
        if (j >= numTiles)
          continue;
        auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
        int64_t t = steps[ne]++, k0 = j * l.tk;
        int64_t firstBlock = k0 / g.blockSize, slot0 = k0 % g.blockSize;
        int64_t nb = window > 0 ? blocksPerTile : std::min(blocksPerTile, ceilDiv(g.maxSeqLen() - k0, run));
        int64_t rk = nb * run;
        int64_t kb = l.k[t % 2], vb = l.v[t % 2];
        int64_t alphaRow = l.stats + 8 * it.rows;
        // Skipped when the partition starts after the item's last row's
        // position: k0 >= pos + rows, i.e. k0 - rows >= pos.
        Section sec;
        int64_t rowsDelta = g.decode() ? 1 : it.rows;
        if (window > 0) // k0 = window start + j * tk, a run-time value
          sec.insts.push_back(ProgramBuilder::alu(Opcode::Add, *rK0, rWin[ne], 0, k0 - rowsDelta));
        else
          sec.insts.push_back(p.li(*rK0, k0 - rowsDelta));
        Inst skip(Opcode::Bge);
        skip[Blt::ra] = *rK0, skip[Blt::rb] = rPos[ne];
        sec.insts.push_back(skip);
        size_t skipAt = 1;
        SmallVector<Inst> body;
        SmallVector<size_t> skipNext; // body indices of branches over the next instruction
        for (int64_t bI = 0; bI < nb; ++bI) {
          // Block id from the table, bounds-checked, to K and V addresses.
          if (window > 0) { // table entry of logical block (k0 + bI * run) / bs, clamped
            body.push_back(ProgramBuilder::alu(Opcode::Add, *rA, rWin[ne], 0, k0 + bI * run));
            body.push_back(ProgramBuilder::alu(Opcode::Shr, *rA, *rA, 0, llvm::Log2_64(uint64_t(g.blockSize))));
            body.push_back(ProgramBuilder::alu(Opcode::Min, *rA, *rA, 0, g.maxBlocks - 1));
            body.push_back(ProgramBuilder::alu(Opcode::Shl, *rA, *rA, 0, 2));
            body.push_back(ProgramBuilder::alu(Opcode::Add, *rA, *rA, table->reg, 0));
            body.push_back(p.load(Opcode::Ld32, *rBlk, *rA, table->off + it.bi * g.maxBlocks * 4, table->space));
          } else {
            body.push_back(p.load(Opcode::Ld32, *rBlk, table->reg,
                                  table->off + (it.bi * g.maxBlocks + firstBlock + bI) * 4, table->space));
          }
          Inst trap(Opcode::Trap);
          trap[Trap::code] = int64_t(isa::TrapCode::KvBlockOutOfRange);
          Inst lo(Opcode::Bge), hi(Opcode::Blt);
          lo[Blt::ra] = *rBlk, lo[Blt::rb] = 0;
          hi[Blt::ra] = *rBlk, hi[Blt::rb] = *numBlocks;
          for (const Inst &br : {lo, hi}) {
            skipNext.push_back(body.size());
            body.push_back(br);
            body.push_back(trap);
          }
          for (int kv = 0; kv < 2; ++kv) {
            body.push_back(ProgramBuilder::alu(Opcode::Mul, *rA, *rBlk, 0, kv ? vBlockBytes : kBlockBytes));
            body.push_back(ProgramBuilder::alu(Opcode::Add, *rA, *rA, kv ? vCache->reg : kCache->reg, 0));
            int64_t dd = kv ? g.dv : g.d;
            Inst ld = p.dma(p.loadQueue(ne), true,
                            Addr{*rA, (kv ? vCache->off : kCache->off) + (it.kvh * g.blockSize + slot0) * dd * cacheEs, g.cache},
                            (kv ? vb : kb) + bI * run * dd * ce, kv ? vDesc : kDesc);
            if (bI == 0 && kv == 0)
              ProgramBuilder::addWait(ld, sem(kMm2), t - 1); // tile t-2's buffers are consumed
            if (bI + 1 == nb && kv == 1)
              p.setSignal(ld, sem(kLoad));
            body.push_back(ld);
          }
        }
        Inst mm1(Opcode::Mm, uint8_t(ne));
        mm1[Mm::c] = l.s, mm1[Mm::a] = l.q, mm1[Mm::b] = kb;
        mm1[Mm::m] = it.rows, mm1[Mm::n] = rk, mm1[Mm::k] = g.d;
        mm1[Mm::in] = int64_t(ct), mm1[Mm::acc] = 0, mm1[Mm::ta] = 0, mm1[Mm::tb] = 1;
        ProgramBuilder::addWait(mm1, sem(kLoad), t + 1);
        ProgramBuilder::addWait(mm1, sem(kVec), t); // S is free once the last softmax read it
        p.setSignal(mm1, sem(kMm1));
        body.push_back(mm1);
        SmallVector<Inst> ops;
        if (softcap > 0) {
          ops.push_back(vec(Opcode::VMul, ne, l.s, l.s, 0, it.rows, rk, Bcast::Imm, scale / softcap));
          ops.push_back(vun(Opcode::VTanh, ne, l.s, l.s, it.rows, rk));
          ops.push_back(vec(Opcode::VMul, ne, l.s, l.s, 0, it.rows, rk, Bcast::Imm, softcap));
        }
        // Keys past each row's position: -inf (from the position register);
        // with a window also keys before it (pos - k0 in a register).
        Inst mu(Opcode::VMaskUpper, uint8_t(ne));
        mu[VMaskUpper::dst] = l.s, mu[VMaskUpper::src] = l.s, mu[VMaskUpper::rows] = it.rows;
        mu[VMaskUpper::cols] = rk, mu[VMaskUpper::diag] = -k0, mu[VMaskUpper::rdiag] = rPos[ne];
        mu[VMaskUpper::flat] = g.decode() ? 1 : 0;
        if (window > 0) {
          body.push_back(ProgramBuilder::alu(Opcode::Sub, *rK0, rPos[ne], rWin[ne], k0));
          mu[VMaskUpper::diag] = 0, mu[VMaskUpper::rdiag] = *rK0;
        }
        ops.push_back(mu);
        if (window > 0) {
          Inst lo = mu;
          lo[VMaskUpper::diag] = 1 - window, lo[VMaskUpper::lower] = 1;
          ops.push_back(lo);
        }
        Inst sm(Opcode::VSoftmaxStep, uint8_t(ne));
        sm[VSoftmaxStep::s] = l.s, sm[VSoftmaxStep::stats] = l.stats, sm[VSoftmaxStep::rows] = it.rows;
        sm[VSoftmaxStep::cols] = rk;
        sm[VSoftmaxStep::scale] = int64_t(floatBits(softcap > 0 ? 1.0f : scale));
        ops.push_back(sm);
        if (jl > 0)
          ops.push_back(vec(Opcode::VMul, ne, l.o, l.o, alphaRow, it.rows, g.dv, Bcast::Col));
        if (ct != DType::F32) {
          ops.push_back(ProgramBuilder::vcast(ne, l.p, l.s, it.rows, rk, DType::F32, ct));
        }
        ProgramBuilder::addWait(ops.front(), sem(kMm1), t + 1);
        ProgramBuilder::addWait(ops.front(), sem(kMm2), t); // P is free, O holds P V of tile t-1
        p.setSignal(ops.back(), sem(kVec));
        body.append(ops.begin(), ops.end());
        Inst mm2(Opcode::Mm, uint8_t(ne));
        mm2[Mm::c] = l.o, mm2[Mm::a] = l.p, mm2[Mm::b] = vb;
        mm2[Mm::m] = it.rows, mm2[Mm::n] = g.dv, mm2[Mm::k] = rk;
        mm2[Mm::in] = int64_t(ct), mm2[Mm::acc] = jl > 0, mm2[Mm::ta] = 0, mm2[Mm::tb] = 0;
        ProgramBuilder::addWait(mm2, sem(kVec), t + 1);
        if (jl == 0) // O is free once the last item's output is stored
          ProgramBuilder::addWait(mm2, sem(kStore), r);
        p.setSignal(mm2, sem(kMm2));
        body.push_back(mm2);
        for (size_t x : skipNext)
          sec.fixups.push_back({sec.insts.size() + x, int64_t(sec.insts.size() + x + 2)});
        sec.insts.append(body.begin(), body.end());
        // Skipped: empty commands on the same queues give this partition's
        // four signals instead, each after the real commands before it (a
        // wait for a later count never passes before an earlier command).
        size_t jmpAt = sec.insts.size();
        sec.insts.push_back(Inst(Opcode::Jmp));
        int64_t creditAt = int64_t(sec.insts.size());
        Inst noLoad = p.dma(p.loadQueue(ne), true, Addr{0, 0, DType::F32}, 0, emptyDesc);
        p.setSignal(noLoad, sem(kLoad));
        Inst noMm1(Opcode::Mm, uint8_t(ne)), noMm2(Opcode::Mm, uint8_t(ne));
        p.setSignal(noMm1, sem(kMm1));
        p.setSignal(noMm2, sem(kMm2));
        Inst noVec = vun(Opcode::VCopy, ne, 0, 0, 0, 0);
        p.setSignal(noVec, sem(kVec));
        sec.uncountedFrom = sec.insts.size();
        sec.insts.append({noLoad, noMm1, noVec, noMm2});
        sec.fixups.push_back({skipAt, creditAt});
        sec.fixups.push_back({jmpAt, int64_t(sec.insts.size())});
        sec.emitInto(p);
      }
    }
    // Item end: O / l (zero where l = 0), then the store; or, for a split,
    // its unnormalized O and its m, l rows to SHM for the combine.
    for (unsigned ne = 0; ne < numNe; ++ne) {
      int64_t i = r * numNe + ne;
      if (i >= items)
        continue;
      Item it = itemOf(i);
      auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
      int64_t lRow = l.stats + 4 * it.rows;
      if (splits > 1) {
        Inst stO = shmDma(p.storeQueue(ne), true, i * partial, l.o,
                          p.desc(DType::F32, DType::F32, {it.rows * g.dv}, {1}, {1}));
        ProgramBuilder::addWait(stO, sem(kMm2), steps[ne]);
        p.emit(stO);
        Inst stS = shmDma(p.storeQueue(ne), true, i * partial + it.rows * g.dv * 4, l.stats,
                          p.desc(DType::F32, DType::F32, {2 * it.rows}, {1}, {1}));
        p.setSignal(stS, sem(kStore));
        p.emit(stS);
        continue;
      }
      SmallVector<Inst> end = normalizeRows(ne, l.o, lRow, l.z, l.t, it.rows, g.dv);
      ProgramBuilder::addWait(end.front(), sem(kMm2), steps[ne]);
      p.setSignal(end.back(), sem(kFin));
      for (const Inst &in : end)
        p.emit(in);
      Inst stO = p.dma(p.storeQueue(ne), false,
                       out->plus(((it.bi * g.hq + it.h0) * g.s + it.s0) * g.dv), l.o,
                       p.desc(DType::F32, g.out, {it.rows, g.dv}, {g.dv, 1},
                              {g.decode() ? g.s * g.dv : g.dv, 1}));
      ProgramBuilder::addWait(stO, sem(kFin), r + 1);
      p.setSignal(stO, sem(kStore));
      p.emit(stO);
    }
  }
  // Flash-decoding combine, on the NE of each item's first split:
  // M = max_s m_s, w_s = exp(m_s - M), O = sum_s w_s O_s / sum_s w_s l_s.
  for (int64_t u = 0; splits > 1 && u < items / splits; ++u) {
    unsigned c = unsigned(u * splits); // one round: item index = NE
    Item it = itemOf(int64_t(c));
    int64_t rows = it.rows, S = splits;
    for (int64_t sp = 0; sp < S; ++sp) {
      int64_t src = (u * S + sp) * partial, mOff = src + rows * g.dv * 4;
      Inst ld = shmDma(p.loadQueue(c), false, mOff, l.cStats + sp * 2 * rows * 4,
                       p.desc(DType::F32, DType::F32, {2 * rows}, {1}, {1}));
      ProgramBuilder::addWait(ld, p.sem(unsigned(u * S + sp), kStore), 1); // that split is stored
      p.emit(ld);
      p.emit(shmDma(p.loadQueue(c), false, mOff, l.cMaxIn + sp * 4,
                    p.desc(DType::F32, DType::F32, {rows}, {1}, {S})));
      Inst lo = shmDma(p.loadQueue(c), false, src, l.cO + sp * rows * g.dv * 4,
                       p.desc(DType::F32, DType::F32, {rows * g.dv}, {1}, {1}));
      if (sp + 1 == S)
        p.setSignal(lo, p.sem(c, kQ));
      p.emit(lo);
    }
    Inst mx = vun(Opcode::VRedMax, c, l.cMax, l.cMaxIn, rows, S);
    ProgramBuilder::addWait(mx, p.sem(c, kQ), 2);
    p.emit(mx);
    for (int64_t sp = 0; sp < S; ++sp) {
      int64_t mRow = l.cStats + sp * 2 * rows * 4, lRow = mRow + rows * 4;
      int64_t oS = l.cO + sp * rows * g.dv * 4;
      p.emit(vec(Opcode::VSub, c, l.cW, mRow, l.cMax, 1, rows));
      p.emit(vun(Opcode::VExp, c, l.cW, l.cW, 1, rows));
      if (sp == 0) {
        p.emit(vec(Opcode::VMul, c, l.cL, lRow, l.cW, 1, rows));
        p.emit(vec(Opcode::VMul, c, l.o, oS, l.cW, rows, g.dv, Bcast::Col));
      } else {
        p.emit(vec(Opcode::VMul, c, lRow, lRow, l.cW, 1, rows));
        p.emit(vec(Opcode::VAdd, c, l.cL, l.cL, lRow, 1, rows));
        p.emit(vec(Opcode::VMul, c, oS, oS, l.cW, rows, g.dv, Bcast::Col));
        p.emit(vec(Opcode::VAdd, c, l.o, l.o, oS, rows, g.dv));
      }
    }
    p.emit(vun(Opcode::VRecip, c, l.cW, l.cL, 1, rows));
    Inst norm = vec(Opcode::VMul, c, l.o, l.o, l.cW, rows, g.dv, Bcast::Col);
    p.setSignal(norm, p.sem(c, kFin));
    p.emit(norm);
    Inst stO = p.dma(p.storeQueue(c), false, out->plus(((it.bi * g.hq + it.h0) * g.s + it.s0) * g.dv),
                     l.o, p.desc(DType::F32, g.out, {rows, g.dv}, {g.dv, 1}, {g.s * g.dv, 1}));
    ProgramBuilder::addWait(stO, p.sem(c, kFin), 1);
    p.setSignal(stO, p.sem(c, kStore));
    p.emit(stO);
  }
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
