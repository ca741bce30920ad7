//===- PagedAttention.cpp - PagedAttention over block tables ----------------===//
#include "passes/Kernels/ProgramBuilder.h"
#include "passes/Kernels/TileBuilder.h"

#include "llvm/ADT/bit.h"


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
  SpmSize spm;
  spm.add(rows * g.d * ce);     // Q
  spm.add(tk * g.d * ce, 2);    // K
  spm.add(tk * g.dv * ce, 2);   // V
  spm.add(rows * tk * 4);       // scores
  if (g.compute != DType::F32)
    spm.add(rows * tk * ce);    // probabilities
  spm.add(rows * g.dv * 4);     // O
  spm.add(3 * rows * 4);        // statistics
  spm.add(rows * 4, 4);         // t, z, zeros, -inf
  if (splits > 1) {
    spm.add(rows * splits * 4);        // every split's m, transposed
    spm.add(splits * 2 * rows * 4);    // their m and l rows
    spm.add(splits * rows * g.dv * 4); // their partial O
    spm.add(rows * 4, 3);              // row max, weights, sum
  }
  l.bytes = spm.bytes;
  return l;
}

FailureOr<PagedLayout> choosePagedTiles(const PagedGeometry &g, const TargetDesc &t, int64_t kvLen,
                                        int64_t shmFree) {
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
            items * splits * PagedLayout::partialBytes(g, g.itemRows(tq)) <= shmFree)
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
  // The registers the program's expansion takes beside the per-NE ones:
  // the kernel's first, one per function argument it addresses, the
  // cache's block count and, at most at once, three more (a partition's
  // bound, its block id and a K/V address). The per-NE ones hold what lives
  // across an item's steps. (npu-allocate-registers refuses a program that
  // needs more than the command processor has.)
  unsigned args = argumentRegisters({op.getQ(), op.getKCache(), op.getVCache(), op.getBlockTable(),
                                     op.getPositions(), op.getConsts(), op.getOut()});
  int64_t used = int64_t(npu_to_isa::kFirstKernelReg) + int64_t(args) + 4;
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

// --- materialization: the tile program -------------------------------------
//
// Work items — decode: (sequence, KV head, split) with the group's query
// heads as rows; prefill: (sequence, head, query tile) — round-robin over
// the NEs, each item three kinds of steps kept aligned across the NEs
// (`npu.end_step keep_empty`): its start (the position of its first row,
// read once into a register of the NE's own, and with a sliding window the
// first partition's start; m = -inf, l = 0; the query rows), one step per
// KV partition of its split, and its end (O / l and the store, or the
// split's unnormalized O and m, l to SHM). A partition reads its blocks'
// ids from the block table (bounds-checked: a trap, not a stray read),
// DMAs K and V from the addresses they give into double buffers, and runs
// S = Q K^T, the online softmax with the causal (and window) mask shifted
// by the position register, and O (+)= P V. A partition that starts after
// the item's last position is skipped at run time (`npu.cp.if_less`): empty
// commands give its signals, so later waits stay what the program was built
// for. Flash-decoding: each item's splits, then a combine on the NE of its
// first split, which waits for the other splits' SHM stores on their NEs
// (`npu.sem_on`).

LogicalResult materializePaged(OpBuilder &b, PagedAttentionOp op) {
  using P = arith::CmpIPredicate;
  PagedGeometry g = PagedGeometry::get(op);
  TilingAttr tiling = op.getTilingAttr();
  ArrayRef<int64_t> tile = tiling.getTile();
  int64_t splits = tiling.getSplits(), window = op.getWindow();
  if (window > 0 && (tile[1] % g.blockSize))
    return op.emitError("a sliding-window layer needs KV partitions of whole blocks");
  PagedLayout l = layoutPaged(g, tile[0], tile[1], splits);
  Location loc = op.getLoc();
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(KernelKind::PagedAttention, tiling,
                            {op.getQ(), op.getKCache(), op.getVCache(), op.getBlockTable(),
                             op.getPositions(), op.getConsts(), op.getOut()});
  Value q = bufs[0], kc = bufs[1], vc = bufs[2], table = bufs[3], posBuf = bufs[4],
        consts = bufs[5], out = bufs[6];
  Value semQ = t.sem("query"), load = t.sem("load"), mm1 = t.sem("mm1"), smx = t.sem("softmax"),
        mm2 = t.sem("mm2"), fin = t.sem("normalize"), store = t.sem("store");

  Type ct = op.getComputeType();
  int64_t ce = dtypeSize(g.compute), tk = l.tk, rowsMax = g.itemRows(l.tq);
  Value qT = t.spm("q", {rowsMax * g.d}, ct);
  Value kT = t.spmCopies("k", {2, tk * g.d}, ct), vT = t.spmCopies("v", {2, tk * g.dv}, ct);
  Value sT = t.spm("s", {rowsMax * tk});
  Value pT = g.compute == DType::F32 ? sT : t.spm("p", {rowsMax * tk}, ct);
  Value oT = t.spm("o", {rowsMax * g.dv}), stats = t.spm("stats", {3 * rowsMax});
  Value tRow = t.spm("t", {rowsMax}), zRow = t.spm("z", {rowsMax});
  Value zeros = t.spm("zeros", {rowsMax}), negInf = t.spm("neg_inf", {rowsMax});

  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  int64_t group = g.hq / g.hkv, qTiles = g.decode() ? 1 : ceilDiv(g.s, l.tq);
  int64_t items = g.decode() ? g.b * g.hkv * splits : g.b * g.hq * qTiles;
  int64_t partialElems = PagedLayout::partialBytes(g, rowsMax) / 4;
  // A partition spans whole blocks, or (shorter than a block) a run of one
  // block's slots: `run` rows per DMA.
  int64_t maxLen = g.maxSeqLen(), numTiles = ceilDiv(maxLen, tk);
  if (window > 0) // the window and an item's rows, aligned down to a partition
    numTiles = std::min(numTiles, ceilDiv(window + rowsMax - 1, tk) + 1);
  int64_t run = std::min(tk, g.blockSize), blocksPerTile = tk / run;
  int64_t perSplit = ceilDiv(numTiles, splits);
  SmallVector<int64_t> qs = layoutStrides(op.getQ().getType()), ks = layoutStrides(op.getKCache().getType()),
                       vs = layoutStrides(op.getVCache().getType()), os = layoutStrides(op.getOut().getType());
  Value zero = t.c(0);
  Value parts = splits > 1 ? t.shm("partials", {items, partialElems}) : Value();
  Value numBlocks = t.dim(kc);

  // The item's coordinates: sequence, KV head, first head, first row, rows
  // and split.
  struct Item {
    Value bi, kvh, h0, s0, split;
    TileBuilder::Size rows;
  };
  auto itemOf = [&](Value i) {
    Item it;
    if (g.decode()) {
      Value u = t.div(i, splits);
      it.bi = t.div(u, g.hkv), it.kvh = t.rem(u, g.hkv);
      it.h0 = t.mul(it.kvh, group), it.s0 = zero, it.split = t.rem(i, splits);
      it.rows = group;
    } else {
      it.bi = t.div(i, g.hq * qTiles);
      it.h0 = t.rem(t.div(i, qTiles), g.hq);
      it.kvh = t.div(it.h0, group);
      it.s0 = t.mul(t.rem(i, qTiles), l.tq);
      it.split = zero;
      it.rows = t.rowsLeft(it.s0, g.s, l.tq);
    }
    return it;
  };
  // Rows of the query / output: the group's heads (decode) or tokens.
  int64_t qRowStride = g.decode() ? qs[1] : qs[2], oRowStride = g.decode() ? os[1] : os[2];

  t.distribute(items, [&](Value i, Value iter, Value ne) {
    Item it = itemOf(i);
    Value rows = t.value(it.rows);
    // Start: the first row's position (and the window's first partition:
    // max(0, pos - window + 1) aligned down), in registers of this NE's
    // own for the item's steps.
    Value pos = t.loadIndex(posBuf, {it.bi, it.s0});
    Value win;
    if (window > 0) {
      Value w = t.cp<CpAddOp>(pos, t.c(1 - window));
      w = t.cp<CpMaxOp>(w, zero);
      w = t.cpDiv(w, tk);
      win = t.cp<CpMulOp>(w, t.c(tk));
    }
    t.when(t.cmp(P::eq, iter, 0), [&] { // rows of 0 and -inf, once per NE
      t.dma(DmaQueue::Load, consts, {zero}, zeros, {zero}, {rowsMax}, {0}, {1}, ne);
      t.dma(DmaQueue::Load, consts, {t.c(1)}, negInf, {zero}, {rowsMax}, {0}, {1}, ne);
    });
    // The query buffer is free once the last item's S = Q K^T are done.
    Value doneMm1 = t.semCount(mm1);
    t.dma(DmaQueue::Load, q, {it.bi, it.h0, it.s0, zero}, qT, {zero}, {it.rows, g.d},
          {qRowStride, 1}, {g.d, 1}, ne, {{mm1, doneMm1}}, semQ);
    if (splits > 1) // O = 0: a split may skip every partition it has
      t.dma(DmaQueue::Load, consts, {zero}, oT, {zero}, {t.mulSizes(it.rows, g.dv)}, {0}, {1}, ne);
    Value next = t.add(iter, 1);
    // m = -inf once the query is in and the last item's statistics are used.
    t.vec(isa::Opcode::VCopy, {stats, {zero}}, {negInf, {zero}}, nullptr, 1, it.rows,
          Broadcast::None, 0, ne, {{semQ, next}, {fin, iter}});
    t.vec(isa::Opcode::VCopy, {stats, {rows}}, {zeros, {zero}}, nullptr, 1, it.rows,
          Broadcast::None, 0, ne);
    t.endStep(/*keepEmpty=*/true);

    // KV partitions of the item's split, one step each (jl counts within
    // the split).
    t.loop(zero, perSplit, [&](Value jl) {
      Value j = t.add(t.mul(it.split, perSplit), jl);
      t.when(t.cmp(P::slt, j, numTiles), [&] {
        Value tt = t.semCount(mm1), par = t.rem(tt, 2);
        Value k0 = t.mul(j, tk);
        // Blocks in the partition (a partial last one at the cache's end).
        Value nb = window > 0 ? t.c(blocksPerTile)
                              : t.min(t.div(t.sub(t.c(maxLen + run - 1), k0), run), blocksPerTile);
        Value rk = t.mul(nb, run), first = t.cmp(P::eq, jl, 0);
        // Runs when the partition starts at or before the last row's
        // position: k0 - rows < pos (k0 counted from the window's start).
        Value rowsDelta = g.decode() ? t.c(1) : rows;
        Value kFrom = t.sub(k0, rowsDelta);
        Value lim = window > 0 ? t.cp<CpAddOp>(win, kFrom) : t.cpFromIndex(kFrom);
        t.ifLess(lim, pos, [&] {
          t.loop(zero, nb, [&](Value bI) {
            Value blk;
            if (window > 0) { // table entry of logical block (start + k0 + bI * run) / bs, clamped
              Value x = t.cp<CpAddOp>(win, t.add(k0, t.mul(bI, run)));
              x = t.cpDiv(x, g.blockSize);
              x = t.cp<CpMinOp>(x, t.c(g.maxBlocks - 1));
              blk = t.loadIndex(table, {it.bi, x});
            } else {
              blk = t.loadIndex(table, {it.bi, t.add(t.div(k0, g.blockSize), bI)});
            }
            t.checkRange(blk, numBlocks, isa::TrapCode::KvBlockOutOfRange);
            Value slot0 = t.rem(k0, g.blockSize);
            // Tile tt-2's buffers are consumed once P(tt-2) V(tt-2) is done.
            // (One op per statement: the order ops are built in must not
            // depend on the host compiler's order of evaluating arguments.)
            Value firstBlock = t.cmp(P::eq, bI, 0);
            Value lastPv = t.sub(tt, t.c(1));
            Value buffersFree = t.select(firstBlock, lastPv, zero);
            Value kAtSpm = t.mul(bI, run * g.d);
            // Dynamic DMA: the cache at the block the table names.
            t.dma(DmaQueue::Load, kc, {blk, it.kvh, slot0, zero}, kT, {par, kAtSpm}, {run, g.d},
                  {ks[2], 1}, {g.d, 1}, ne, {{mm2, buffersFree}});
            t.ifElse(t.cmpv(P::eq, bI, t.sub(nb, t.c(1))), [&](bool last) {
              t.dma(DmaQueue::Load, vc, {blk, it.kvh, slot0, zero}, vT,
                    {par, t.mul(bI, run * g.dv)}, {run, g.dv}, {vs[2], 1}, {g.dv, 1}, ne, {},
                    last ? load : Value());
            });
          });
          Value nextT = t.add(tt, 1);
          t.mm({sT, {zero}}, {qT, {zero}}, {kT, {par, zero}}, {it.rows, rk, g.d},
               t.boolConst(false), false, true, ne, {{load, nextT}, {smx, tt}}, mm1);
          // Keys past each row's position are -inf (column > row + pos - k0),
          // with a window also keys before it (column < row + pos - k0 - w + 1),
          // positions counted from the window's start.
          Value shift = window > 0 ? t.cp<CpSubOp>(pos, win) : pos;
          Value causal = t.sub(zero, k0);
          Value lower = window > 0 ? t.sub(t.c(1 - window), k0) : Value();
          TileBuilder::Operand sb{sT, {zero}}, pb{pT, {zero}}, o{oT, {zero}};
          SmallVector<TileWait> waits = {{mm1, nextT}, {mm2, tt}}; // P is free, O holds P V of tile tt-1
          if (softcap > 0) {
            t.vecChain({{isa::Opcode::VMul, sb, sb, std::nullopt, std::nullopt, Broadcast::Imm, scale / softcap},
                        {isa::Opcode::VTanh, sb, sb},
                        {isa::Opcode::VMul, sb, sb, std::nullopt, std::nullopt, Broadcast::Imm, softcap}},
                       it.rows, rk, ne, waits, Value());
            waits.clear();
          }
          TileBuilder::Operand alpha{stats, {t.mul(rows, 2)}};
          bool castP = g.compute != DType::F32;
          t.ifElse(t.cmp(P::sgt, jl, 0), [&](bool rescale) {
            t.softmaxStep(sb, {stats, {zero}}, it.rows, rk, softcap > 0 ? 1.0f : scale, causal,
                          lower, ne, waits, !rescale && !castP ? smx : Value(), shift, g.decode());
            if (rescale) // O *= alpha
              t.vec(isa::Opcode::VMul, o, o, &alpha, it.rows, g.dv, Broadcast::Col, 0, ne, {},
                    castP ? Value() : smx);
            if (castP)
              t.vec(isa::Opcode::VCast, pb, sb, nullptr, it.rows, rk, Broadcast::None, 0, ne, {}, smx);
          });
          // The first P V overwrites O, once the last item's output is stored.
          Value accumulate = t.cmp(P::sgt, jl, 0);
          Value outFree = t.select(first, iter, zero);
          t.mm(o, castP ? pb : sb, {vT, {par, zero}}, {it.rows, g.dv, rk}, accumulate, false, false,
               ne, {{smx, nextT}, {store, outFree}}, mm2);
        });
      });
      t.endStep(/*keepEmpty=*/true);
    });

    // End: O / l (0 where l = 0), then the store; or, for a split, its
    // unnormalized O and its m, l rows to SHM for the combine.
    Value doneMm2 = t.semCount(mm2);
    if (splits > 1) {
      t.dma(DmaQueue::Store, oT, {zero}, parts, {i, zero}, {t.mulSizes(it.rows, g.dv)}, {1}, {1}, ne,
            {{mm2, doneMm2}});
      Value statsAt = t.mul(rows, g.dv);
      TileBuilder::Size statsLen = t.mulSizes(it.rows, 2);
      t.dma(DmaQueue::Store, stats, {zero}, parts, {i, statsAt}, {statsLen}, {1}, {1}, ne, {}, store);
    } else {
      TileBuilder::Operand lRow{stats, {rows}}, o{oT, {zero}};
      t.vecChain({{isa::Opcode::VCmpEq, {zRow, {zero}}, lRow, std::nullopt, it.rows, Broadcast::Imm, 0.0f, 1},
                  {isa::Opcode::VRecip, {tRow, {zero}}, lRow, std::nullopt, it.rows, Broadcast::None, 0, 1},
                  {isa::Opcode::VSel, {tRow, {zero}}, {zRow, {zero}}, std::nullopt, it.rows, Broadcast::Imm, 0.0f, 1},
                  {isa::Opcode::VMul, o, o, TileBuilder::Operand{tRow, {zero}}, g.dv, Broadcast::Col}},
                 it.rows, g.dv, ne, {{mm2, doneMm2}}, fin);
      t.dma(DmaQueue::Store, oT, {zero}, out, {it.bi, it.h0, it.s0, zero}, {it.rows, g.dv},
            {g.dv, 1}, {oRowStride, 1}, ne, {{fin, next}}, store);
    }
    t.endStep(/*keepEmpty=*/true);
  });

  if (splits > 1) {
    // Flash-decoding combine, on the NE of each item's first split:
    // M = max_s m_s, w_s = exp(m_s - M), O = sum_s w_s O_s / sum_s w_s l_s.
    int64_t S = splits, rows = rowsMax, numNe = tiling.getNe();
    Value cMaxIn = t.spm("c_max_in", {rows * S});
    Value cStats = t.spm("c_stats", {S * 2 * rows});
    Value cO = t.spm("c_o", {S * rows * g.dv});
    Value cMax = t.spm("c_max", {rows}), cW = t.spm("c_w", {rows}), cL = t.spm("c_l", {rows});
    t.distribute(items, [&](Value i, Value, Value ne) {
      t.when(t.cmp(P::eq, t.rem(i, S), 0), [&] {
        Item it = itemOf(i);
        t.loop(zero, S, [&](Value sp) {
          Value src = t.add(i, sp); // split sp's item, and the NE it ran on
          Value srcStore = t.semOn(store, t.rem(src, numNe));
          Value stored = t.semCount(srcStore);
          Value statsIn = t.c(rows * g.dv), statsAt = t.mul(sp, 2 * rows);
          t.dma(DmaQueue::Load, parts, {src, statsIn}, cStats, {statsAt}, {2 * rows}, {1}, {1}, ne,
                {{srcStore, stored}});
          t.dma(DmaQueue::Load, parts, {src, statsIn}, cMaxIn, {sp}, {rows}, {1}, {S}, ne);
          t.ifElse(t.cmp(P::eq, sp, S - 1), [&](bool last) {
            t.dma(DmaQueue::Load, parts, {src, zero}, cO, {t.mul(sp, rows * g.dv)}, {rows * g.dv},
                  {1}, {1}, ne, {}, last ? semQ : Value());
          });
        });
        Value loaded = t.semCount(semQ);
        TileBuilder::Operand o{oT, {zero}}, w{cW, {zero}}, lSum{cL, {zero}};
        t.vec(isa::Opcode::VRedMax, {cMax, {zero}}, {cMaxIn, {zero}}, nullptr, rows, S,
              Broadcast::None, 0, ne, {{semQ, loaded}});
        auto weight = [&](Value sp) { // w = exp(m_sp - M)
          TileBuilder::Operand mRow{cStats, {t.mul(sp, 2 * rows)}}, m{cMax, {zero}};
          t.vec(isa::Opcode::VSub, w, mRow, &m, 1, rows, Broadcast::None, 0, ne);
          t.vec(isa::Opcode::VExp, w, w, nullptr, 1, rows, Broadcast::None, 0, ne);
        };
        weight(zero);
        TileBuilder::Operand l0{cStats, {t.c(rows)}}, o0{cO, {zero}};
        t.vec(isa::Opcode::VMul, lSum, l0, &w, 1, rows, Broadcast::None, 0, ne);
        t.vec(isa::Opcode::VMul, o, o0, &w, rows, g.dv, Broadcast::Col, 0, ne);
        t.loop(t.c(1), S, [&](Value sp) {
          weight(sp);
          TileBuilder::Operand lS{cStats, {t.add(t.mul(sp, 2 * rows), rows)}},
              oS{cO, {t.mul(sp, rows * g.dv)}};
          t.vec(isa::Opcode::VMul, lS, lS, &w, 1, rows, Broadcast::None, 0, ne);
          t.vec(isa::Opcode::VAdd, lSum, lSum, &lS, 1, rows, Broadcast::None, 0, ne);
          t.vec(isa::Opcode::VMul, oS, oS, &w, rows, g.dv, Broadcast::Col, 0, ne);
          t.vec(isa::Opcode::VAdd, o, o, &oS, rows, g.dv, Broadcast::None, 0, ne);
        });
        t.vec(isa::Opcode::VRecip, w, lSum, nullptr, 1, rows, Broadcast::None, 0, ne);
        t.vec(isa::Opcode::VMul, o, o, &w, rows, g.dv, Broadcast::Col, 0, ne, {}, fin);
        Value normalized = t.semCount(fin);
        t.dma(DmaQueue::Store, oT, {zero}, out, {it.bi, it.h0, zero, zero}, {rows, g.dv},
              {g.dv, 1}, {os[1], 1}, ne, {{fin, normalized}}, store);
      });
    });
  }
  t.end();
  return success();
}

} // namespace rbln::npu
