//===- FlashAttention.cpp - FlashAttention over SPM tiles -------------------===//
#include "passes/Kernels/ProgramBuilder.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- flash attention: geometry, tiles and SPM layout ----------------------

FlashGeometry FlashGeometry::get(FlashAttentionOp op) {
  FlashGeometry g;
  MemRefType q = op.getQ().getType(), k = op.getK().getType(), v = op.getV().getType();
  g.b = q.getDimSize(0), g.hq = q.getDimSize(1), g.sq = q.getDimSize(2), g.d = q.getDimSize(3);
  g.hkv = k.getDimSize(1), g.sk = k.getDimSize(2), g.dv = v.getDimSize(3);
  g.q = dtypeOf(q.getElementType()), g.k = dtypeOf(k.getElementType());
  g.v = dtypeOf(v.getElementType()), g.out = dtypeOf(op.getOut().getType().getElementType());
  g.compute = dtypeOf(op.getComputeType());
  auto strides = [](MemRefType t) {
    SmallVector<int64_t> s = layoutStrides(t);
    return std::array<int64_t, 4>{s[0], s[1], s[2], s[3]};
  };
  g.qs = strides(q), g.ks = strides(k), g.vs = strides(v), g.os = strides(op.getOut().getType());
  if (Value m = op.getMask()) {
    auto mt = cast<MemRefType>(m.getType());
    g.hasMask = true;
    g.mask = dtypeOf(mt.getElementType());
    SmallVector<int64_t> st = broadcastStrides(mt.getShape(), {g.b, g.hq, g.sq, g.sk});
    for (size_t i = 0; i < 4; ++i)
      g.maskStrides[i] = st[i];
  }
  return g;
}

FlashLayout layoutFlash(const FlashGeometry &g, int64_t tq, int64_t tk, bool kvResident,
                        bool kvDouble) {
  FlashLayout l;
  l.tq = tq, l.tk = tk, l.kvResident = kvResident, l.kvDouble = kvResident && kvDouble;
  SpmBump spm;
  int64_t ce = dtypeSize(g.compute);
  for (int i = 0; i < (l.kvDouble ? 2 : kvResident ? 1 : 0); ++i) {
    l.kRes[i] = spm.take(g.sk * g.d * ce);
    l.vRes[i] = spm.take(g.sk * g.dv * ce);
  }
  for (int i = 0; i < 2; ++i) {
    l.q[i] = spm.take(tq * g.d * ce);
    l.k[i] = kvResident ? 0 : spm.take(tk * g.d * ce);
    l.v[i] = kvResident ? 0 : spm.take(tk * g.dv * ce);
    l.mask[i] = g.hasMask ? spm.take(tq * tk * 4) : 0;
    l.o[i] = spm.take(tq * g.dv * 4);
    l.s[i] = spm.take(tq * tk * 4);
  }
  for (int i = 0; i < 2; ++i)
    l.p[i] = g.compute == DType::F32 ? -1 : spm.take(tq * tk * ce);
  l.stats[0] = spm.take(3 * tq * 4), l.stats[1] = spm.take(3 * tq * 4);
  l.t = spm.take(tq * 4), l.z = spm.take(tq * 4);
  l.zeros = spm.take(tq * 4), l.negInf = spm.take(tq * 4);
  l.bytes = spm.off;
  return l;
}

FailureOr<FlashLayout> chooseFlashTiles(const FlashGeometry &g, const TargetDesc &t, int64_t kvLen) {
  // Query and KV tiles of up to 128 rows (the partition length), halved
  // until the double-buffered tiles fit the scratchpad.
  int64_t tq = std::min<int64_t>(g.sq, 128);
  int64_t tk = std::min<int64_t>(g.sk, kvLen > 0 ? kvLen : 128);
  if (kvLen > 0) { // fixed KV length: only the query tile may shrink
    for (bool resident : {true, false}) {
      if (resident && g.b * g.hkv < int64_t(t.num_ne()))
        continue;
      for (int64_t q = tq; q >= 1; q = q == 1 ? 0 : (q + 1) / 2) {
        FlashLayout l = layoutFlash(g, q, tk, resident);
        if (uint64_t(l.bytes) <= t.spm_bytes())
          return l;
      }
    }
    return failure();
  }
  // K/V resident when one (batch, KV head)'s fit and there are enough of
  // them to keep every NE busy.
  if (g.b * g.hkv >= int64_t(t.num_ne())) {
    // Double-buffered when an NE has several units and two fit (no mask:
    // its tiles stream through the same queue as the prefetch).
    bool several = g.b * g.hkv > int64_t(t.num_ne());
    for (bool dbl : {true, false}) {
      if (dbl && (!several || g.hasMask))
        continue;
      FlashLayout l = layoutFlash(g, tq, tk, true, dbl);
      if (uint64_t(l.bytes) <= t.spm_bytes())
        return l;
    }
  }
  while (true) {
    FlashLayout l = layoutFlash(g, tq, tk, false);
    if (uint64_t(l.bytes) <= t.spm_bytes())
      return l;
    if (tq == 1 && tk == 1)
      return failure();
    if (tk >= tq && tk > 1)
      tk = (tk + 1) / 2;
    else
      tq = (tq + 1) / 2;
  }
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

/// FlashAttention. Work items (batch, head, query tile) are spread over the
/// NEs; each NE's command blocks (item start, one block per KV tile, item
/// end) are emitted round-robin across NEs so that they run in parallel.
/// Per NE, semaphores order the engines (counts are absolute within the
/// kernel): kQ query tile and initial statistics loaded; kLoad K/V/mask tile
/// t loaded; kMm1 S = Q K^T done; kVec softmax update done; kMm2 O += P V
/// done; kFin O / l done; kStore O stored.
LogicalResult lowerFlash(ProgramBuilder &p, FlashAttentionOp op) {
  using namespace isa::fld;
  using isa::Bcast;
  enum { kQ, kLoad, kMm1, kVec, kMm2, kFin, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  FlashGeometry g = FlashGeometry::get(op);
  ArrayRef<int64_t> tile = op.getTilingAttr().getTile();
  KvResidency kv = op.getTilingAttr().getKv();
  FlashLayout l = layoutFlash(g, tile[0], tile[1], kv != KvResidency::Streamed, kv == KvResidency::DoubleBuffered);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tiles need ") << l.bytes << " bytes of SPM";
  auto q = p.addressOf(op.getQ()), k = p.addressOf(op.getK()), v = p.addressOf(op.getV()),
       consts = p.addressOf(op.getConsts()), out = p.addressOf(op.getOut());
  if (failed(q) || failed(k) || failed(v) || failed(consts) || failed(out))
    return failure();
  FailureOr<Addr> mask = Addr{0, 0, DType::F32};
  if (g.hasMask && failed(mask = p.addressOf(op.getMask())))
    return failure();
  // Element offset of row `row` of head `h` of batch `bi` through an
  // operand's strides; a unit is one (batch, KV head).
  auto at = [](const std::array<int64_t, 4> &s, int64_t bi, int64_t h, int64_t row) {
    return bi * s[0] + h * s[1] + row * s[2];
  };
  auto unitAt = [&](const std::array<int64_t, 4> &s, int64_t u, int64_t row) {
    return at(s, u / g.hkv, u % g.hkv, row);
  };
  bool rowMask = g.hasMask && g.maskStrides[2] == 0;
  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  bool causal = op.getCausal();
  int64_t off = op.getCausalOffset();
  int64_t group = g.hq / g.hkv, qTiles = ceilDiv(g.sq, l.tq), items = g.b * g.hq * qTiles;
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  auto vec = [](auto... a) { return ProgramBuilder::vec(a...); }; // (keeps vec's defaults)
  auto vun = ProgramBuilder::vun;

  struct NeState {
    int64_t item = 0, step = 0, loads = 0; ///< loads: kLoad signals so far
    int64_t unit = 0;      ///< resident K/V units started on this NE
    int64_t unitLoads = 0; ///< kLoad count that covers the current unit's K/V
    /// Double-buffered: chunks of the next unit's K/V still to issue, one
    /// per item start, and their rows.
    SmallVector<SmallVector<Inst>> prefetch;
    int64_t prefetchLoads = 0; ///< kLoad count once the prefetched unit is in
    int64_t buf = 0;           ///< resident area of the current unit
    /// The previous item's last softmax step and its end, emitted after this
    /// item's first S = QK^T so the tensor engine does not wait for them.
    SmallVector<Inst> pendingTail;
    SmallVector<int64_t> stepsAfter; ///< steps (= mm1 count) after each local item
    SmallVector<SmallVector<Inst>> blocks;
  };
  std::vector<NeState> nes(numNe);
  // Work items (NE, batch, head, query tile, first of its KV unit). With K/V
  // resident, all query tiles of the heads sharing a KV head go to one NE.
  struct Work {
    unsigned ne;
    int64_t bi, hi, qt;
    bool unitStart;
  };
  SmallVector<Work> work;
  if (l.kvResident) {
    for (int64_t u = 0; u < g.b * g.hkv; ++u)
      for (int64_t gi = 0; gi < group; ++gi)
        for (int64_t qt = 0; qt < qTiles; ++qt)
          work.push_back({unsigned(u % numNe), u / g.hkv, (u % g.hkv) * group + gi, qt,
                          gi == 0 && qt == 0});
  } else {
    for (int64_t i = 0; i < items; ++i)
      work.push_back({unsigned(i % numNe), i / (g.hq * qTiles), (i / qTiles) % g.hq, i % qTiles, false});
  }
  for (const Work &w : work) {
    unsigned ne = w.ne;
    NeState &st = nes[ne];
    auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
    int64_t bi = w.bi, hi = w.hi, qt = w.qt;
    int64_t q0 = qt * l.tq, rq = std::min(l.tq, g.sq - q0), kvh = hi / group, item = st.item;
    int64_t ob = l.o[item % 2], qb = l.q[item % 2];
    // m, l, alpha rows of this item's rq rows (v.softmax_step's layout).
    int64_t statsBuf = l.stats[item % 2];
    int64_t mRow = statsBuf, lRow = statsBuf + 4 * rq, alphaRow = statsBuf + 8 * rq;
    if (w.unitStart) {
      int64_t u = bi * g.hkv + kvh;
      st.buf = l.kvDouble ? st.unit % 2 : 0;
      if (!l.kvDouble || st.unit == 0) {
        // This (batch, KV head)'s K and V, once, after every use of the last
        // (whose commands must all be dispatched first: no lookahead here).
        if (!st.pendingTail.empty())
          st.blocks.push_back(std::move(st.pendingTail)), st.pendingTail.clear();
        SmallVector<Inst> kvLoad;
        Inst kLd = p.dma(p.loadQueue(ne), true, k->plus(unitAt(g.ks, u, 0)), l.kRes[st.buf],
                         p.desc(g.k, g.compute, {g.sk, g.d}, {g.ks[2], 1}, {g.d, 1}));
        ProgramBuilder::addWait(kLd, sem(kMm2), st.step);
        kvLoad.push_back(kLd);
        Inst vLd = p.dma(p.loadQueue(ne), true, v->plus(unitAt(g.vs, u, 0)), l.vRes[st.buf],
                         p.desc(g.v, g.compute, {g.sk, g.dv}, {g.vs[2], 1}, {g.dv, 1}));
        p.setSignal(vLd, sem(kLoad));
        ++st.loads;
        kvLoad.push_back(vLd);
        st.blocks.push_back(std::move(kvLoad));
        st.unitLoads = st.loads;
      } else {
        // Prefetched during the last unit; its last chunks go out now.
        for (auto &chunk : st.prefetch)
          st.blocks.push_back(std::move(chunk));
        st.prefetch.clear();
        st.unitLoads = st.prefetchLoads;
      }
      ++st.unit;
      // The next unit of this NE, into the other area, in chunks issued one
      // per item start so the query tiles' loads are not held up; the first
      // waits until the unit before this one is done with that area.
      int64_t next = u + int64_t(numNe);
      if (l.kvDouble && next < g.b * g.hkv) {
        int64_t nChunks = std::min<int64_t>(group * qTiles, 8), rows = ceilDiv(g.sk, nChunks);
        for (int64_t c = 0; c * rows < g.sk; ++c) {
          int64_t r0 = c * rows, rn = std::min(rows, g.sk - r0);
          SmallVector<Inst> chunk;
          Inst kc = p.dma(p.loadQueue(ne), true, k->plus(unitAt(g.ks, next, r0)),
                          l.kRes[1 - st.buf] + r0 * g.d * dtypeSize(g.compute),
                          p.desc(g.k, g.compute, {rn, g.d}, {g.ks[2], 1}, {g.d, 1}));
          if (c == 0)
            ProgramBuilder::addWait(kc, sem(kMm2), st.step);
          chunk.push_back(kc);
          chunk.push_back(p.dma(p.loadQueue(ne), true, v->plus(unitAt(g.vs, next, r0)),
                                l.vRes[1 - st.buf] + r0 * g.dv * dtypeSize(g.compute),
                                p.desc(g.v, g.compute, {rn, g.dv}, {g.vs[2], 1}, {g.dv, 1})));
          st.prefetch.push_back(std::move(chunk));
        }
        // The last chunk signals: that count covers the whole unit.
        p.setSignal(st.prefetch.back().back(), sem(kLoad));
        st.prefetchLoads = ++st.loads;
      }
    }

    // Item start: O = 0, m = -inf, l = 0 (stride-0 DMAs of the constants),
    // then the query tile.
    SmallVector<Inst> start;
    // KV tiles up to the last key any query of the tile may see.
    int64_t kEnd = causal ? std::clamp<int64_t>(q0 + rq + off, 0, g.sk) : g.sk;
    int64_t nk = ceilDiv(kEnd, l.tk);
    // Sliding window: tiles wholly before the first row's window are skipped.
    int64_t window = op.getWindow();
    int64_t j0 = window > 0 ? std::clamp<int64_t>(q0 + off - window + 1, 0, g.sk) / l.tk : 0;
    if (nk <= j0) { // no key visible: O stays 0 (else the first P V overwrites O)
      Inst oInit = p.dma(p.loadQueue(ne), true, *consts, ob,
                         p.desc(DType::F32, DType::F32, {rq * g.dv}, {0}, {1}));
      ProgramBuilder::addWait(oInit, sem(kStore), item - 1);
      start.push_back(oInit);
    }
    if (item == 0) { // rows of 0 and -inf for the running statistics, once per NE
      start.push_back(p.dma(p.loadQueue(ne), true, *consts, l.zeros,
                            p.desc(DType::F32, DType::F32, {l.tq}, {0}, {1})));
      start.push_back(p.dma(p.loadQueue(ne), true, consts->plus(1), l.negInf,
                            p.desc(DType::F32, DType::F32, {l.tq}, {0}, {1})));
    }
    Inst qLoad = p.dma(p.loadQueue(ne), true, q->plus(at(g.qs, bi, hi, q0)), qb,
                       p.desc(g.q, g.compute, {rq, g.d}, {g.qs[2], 1}, {g.d, 1}));
    if (item >= 2)
      ProgramBuilder::addWait(qLoad, sem(kMm1), st.stepsAfter[size_t(item - 2)]);
    p.setSignal(qLoad, sem(kQ));
    start.push_back(qLoad);
    if (!st.prefetch.empty()) { // a chunk of the next unit's K/V, behind this Q
      start.append(st.prefetch.front().begin(), st.prefetch.front().end());
      st.prefetch.erase(st.prefetch.begin());
    }
    // m = -inf, l = 0 (the vector queue has finished the previous item).
    Inst mInit = vun(Opcode::VCopy, ne, mRow, l.negInf, 1, rq);
    ProgramBuilder::addWait(mInit, sem(kQ), item + 1);
    start.push_back(mInit);
    start.push_back(vun(Opcode::VCopy, ne, lRow, l.zeros, 1, rq));

    // Software pipelined: the tensor engine computes S(t+1) = Q K(t+1)^T
    // (into the other S buffer) while the vector engine runs the softmax of
    // tile t.
    int64_t t0 = st.step;
    DType ct = g.compute;
    // Loads of tile t and S(t) = Q K(t)^T.
    int64_t ceSize = dtypeSize(ct);
    auto kTile = [&](int64_t j, int64_t t) {
      return l.kvResident ? l.kRes[st.buf] + j * l.tk * g.d * ceSize : l.k[t % 2];
    };
    auto vTile = [&](int64_t j, int64_t t) {
      return l.kvResident ? l.vRes[st.buf] + j * l.tk * g.dv * ceSize : l.v[t % 2];
    };
    auto loadAndScore = [&](int64_t j) {
      int64_t k0 = j * l.tk, rk = std::min(l.tk, g.sk - k0), t = t0 + j - j0;
      int64_t kb = kTile(j, t), vb = vTile(j, t), mb = l.mask[t % 2];
      SmallVector<Inst> blk;
      if (!l.kvResident) {
        blk.push_back(p.dma(p.loadQueue(ne), true, k->plus(at(g.ks, bi, kvh, k0)), kb,
                            p.desc(g.k, ct, {rk, g.d}, {g.ks[2], 1}, {g.d, 1})));
        blk.push_back(p.dma(p.loadQueue(ne), true, v->plus(at(g.vs, bi, kvh, k0)), vb,
                            p.desc(g.v, ct, {rk, g.dv}, {g.vs[2], 1}, {g.dv, 1})));
      }
      if (g.hasMask) {
        // A mask that is the same for every query row: one row per tile.
        const auto &ms = g.maskStrides;
        blk.push_back(p.dma(p.loadQueue(ne), true,
                            mask->plus(bi * ms[0] + hi * ms[1] + q0 * ms[2] + k0 * ms[3]), mb,
                            p.desc(g.mask, DType::F32, {rowMask ? 1 : rq, rk}, {ms[2], ms[3]}, {rk, 1})));
      }
      if (!blk.empty()) {
        ProgramBuilder::addWait(blk.front(), sem(kMm2), t - 1); // tile t-2's buffers are consumed
        p.setSignal(blk.back(), sem(kLoad));
        ++st.loads;
      }
      Inst mm1(Opcode::Mm, uint8_t(ne));
      mm1[Mm::c] = l.s[t % 2], mm1[Mm::a] = qb, mm1[Mm::b] = kb;
      mm1[Mm::m] = rq, mm1[Mm::n] = rk, mm1[Mm::k] = g.d;
      mm1[Mm::in] = int64_t(ct), mm1[Mm::acc] = 0, mm1[Mm::ta] = 0, mm1[Mm::tb] = 1;
      ProgramBuilder::addWait(mm1, sem(kLoad), l.kvDouble ? st.unitLoads : st.loads);
      ProgramBuilder::addWait(mm1, sem(kQ), item + 1);
      p.setSignal(mm1, sem(kMm1));
      blk.push_back(mm1);
      return blk;
    };
    // The online-softmax update of tile t and O += P(t) V(t).
    auto softmaxAndAccumulate = [&](int64_t j) {
      int64_t k0 = j * l.tk, rk = std::min(l.tk, g.sk - k0), t = t0 + j - j0;
      int64_t sb = l.s[t % 2], vb = vTile(j, t), mb = l.mask[t % 2];
      SmallVector<Inst> ops;
      // Scale inside v.softmax_step unless softcap or a mask must see the
      // scaled scores first (the causal mask's -inf is unchanged by it).
      bool separateScale = softcap > 0 || g.hasMask || !(scale > 0);
      if (separateScale)
        ops.push_back(vec(Opcode::VMul, ne, sb, sb, 0, rq, rk, Bcast::Imm, scale));
      if (softcap > 0) {
        ops.push_back(vec(Opcode::VMul, ne, sb, sb, 0, rq, rk, Bcast::Imm, 1.0f / softcap));
        ops.push_back(vun(Opcode::VTanh, ne, sb, sb, rq, rk));
        ops.push_back(vec(Opcode::VMul, ne, sb, sb, 0, rq, rk, Bcast::Imm, softcap));
      }
      if (g.hasMask)
        ops.push_back(vec(Opcode::VAdd, ne, sb, sb, mb, rq, rk, rowMask ? Bcast::Row : Bcast::None));
      if (causal && k0 + rk - 1 > q0 + off) { // the diagonal crosses this tile
        Inst mu(Opcode::VMaskUpper, uint8_t(ne));
        mu[VMaskUpper::dst] = sb, mu[VMaskUpper::src] = sb, mu[VMaskUpper::rows] = rq;
        mu[VMaskUpper::cols] = rk, mu[VMaskUpper::diag] = q0 + off - k0;
        ops.push_back(mu);
      }
      if (window > 0 && k0 <= q0 + rq - 1 + off - window) { // the window's lower edge crosses it
        Inst lo(Opcode::VMaskUpper, uint8_t(ne));
        lo[VMaskUpper::dst] = sb, lo[VMaskUpper::src] = sb, lo[VMaskUpper::rows] = rq;
        lo[VMaskUpper::cols] = rk, lo[VMaskUpper::diag] = q0 + off - window + 1 - k0;
        lo[VMaskUpper::lower] = 1;
        ops.push_back(lo);
      }
      // The online softmax in one pass: m, l updated, alpha = exp(m_old -
      // m_new), S -> P (a row with no key yet keeps m = -inf, l = 0).
      Inst sm(Opcode::VSoftmaxStep, uint8_t(ne));
      sm[VSoftmaxStep::s] = sb, sm[VSoftmaxStep::stats] = statsBuf, sm[VSoftmaxStep::rows] = rq;
      sm[VSoftmaxStep::cols] = rk;
      sm[VSoftmaxStep::scale] = int64_t(floatBits(separateScale ? 1.0f : scale));
      ops.push_back(sm);
      int64_t pb = sb;
      if (ct != DType::F32) { // P in the tensor engine's input type
        pb = l.p[t % 2];
        ops.push_back(ProgramBuilder::vcast(ne, pb, sb, rq, rk, DType::F32, ct));
      }
      ProgramBuilder::addWait(ops.front(), sem(kMm1), t + 1);
      ProgramBuilder::addWait(ops.front(), sem(kMm2), t - 1); // P(t-2) V(t-2) has read this P buffer
      if (j > j0) { // O *= alpha once O holds P(t-1) V(t-1); the first P V overwrites O
        Inst rescale = vec(Opcode::VMul, ne, ob, ob, alphaRow, rq, g.dv, Bcast::Col);
        ProgramBuilder::addWait(rescale, sem(kMm2), t);
        ops.push_back(rescale);
      }
      p.setSignal(ops.back(), sem(kVec));
      Inst mm2(Opcode::Mm, uint8_t(ne));
      mm2[Mm::c] = ob, mm2[Mm::a] = pb, mm2[Mm::b] = vb;
      mm2[Mm::m] = rq, mm2[Mm::n] = g.dv, mm2[Mm::k] = rk;
      mm2[Mm::in] = int64_t(ct), mm2[Mm::acc] = j > j0, mm2[Mm::ta] = 0, mm2[Mm::tb] = 0;
      ProgramBuilder::addWait(mm2, sem(kVec), t + 1);
      if (j == j0) // O's buffer is free once item-2's output is stored
        ProgramBuilder::addWait(mm2, sem(kStore), item - 1);
      p.setSignal(mm2, sem(kMm2));
      ops.push_back(mm2);
      return ops;
    };
    // This item's start and first S, then the previous item's tail.
    if (nk > j0)
      start.append(loadAndScore(j0));
    start.append(st.pendingTail.begin(), st.pendingTail.end());
    st.pendingTail.clear();
    st.blocks.push_back(std::move(start));
    SmallVector<Inst> tail;
    for (int64_t j = j0; j < nk; ++j) {
      SmallVector<Inst> blk;
      if (j + 1 < nk)
        blk = loadAndScore(j + 1);
      blk.append(softmaxAndAccumulate(j));
      if (j + 1 < nk)
        st.blocks.push_back(std::move(blk));
      else
        tail = std::move(blk);
    }
    st.step += std::max<int64_t>(nk - j0, 0);

    // Item end: O / l, zero where l = 0 (every key masked), then the store.
    SmallVector<Inst> end = normalizeRows(ne, ob, lRow, l.z, l.t, rq, g.dv);
    ProgramBuilder::addWait(end.front(), sem(kMm2), st.step);
    ProgramBuilder::addWait(end.front(), sem(kQ), item + 1);
    p.setSignal(end.back(), sem(kFin));
    Inst stO = p.dma(p.storeQueue(ne), false, out->plus(at(g.os, bi, hi, q0)), ob,
                     p.desc(DType::F32, g.out, {rq, g.dv}, {g.dv, 1}, {g.os[2], 1}));
    ProgramBuilder::addWait(stO, sem(kFin), item + 1);
    p.setSignal(stO, sem(kStore));
    end.push_back(stO);
    tail.append(end.begin(), end.end());
    st.pendingTail = std::move(tail);
    st.stepsAfter.push_back(st.step);
    ++st.item;
  }
  for (NeState &st : nes)
    if (!st.pendingTail.empty())
      st.blocks.push_back(std::move(st.pendingTail));
  size_t rounds = 0;
  for (const NeState &st : nes)
    rounds = std::max(rounds, st.blocks.size());
  for (size_t r = 0; r < rounds; ++r)
    for (const NeState &st : nes)
      if (r < st.blocks.size())
        for (const Inst &in : st.blocks[r])
          p.emit(in);
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
