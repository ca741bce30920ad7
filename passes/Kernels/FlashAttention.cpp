//===- FlashAttention.cpp - FlashAttention over SPM tiles -------------------===//
#include "passes/Kernels/TileBuilder.h"

#include "llvm/ADT/bit.h"

#include <functional>

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
  SpmSize spm;
  int64_t ce = dtypeSize(g.compute);
  if (kvResident) {
    spm.add(g.sk * g.d * ce, l.kvDouble ? 2 : 1);  // K areas
    spm.add(g.sk * g.dv * ce, l.kvDouble ? 2 : 1); // V areas
  }
  spm.add(tq * g.d * ce, 2); // Q
  if (!kvResident) {
    spm.add(tk * g.d * ce, 2);  // K
    spm.add(tk * g.dv * ce, 2); // V
  }
  if (g.hasMask)
    spm.add(tq * tk * 4, 2);
  spm.add(tq * g.dv * 4, 2); // O
  spm.add(tq * tk * 4, 2);   // scores
  if (g.compute != DType::F32)
    spm.add(tq * tk * ce, 2); // probabilities
  spm.add(3 * tq * 4, 2);     // statistics
  spm.add(tq * 4, 4);         // t, z, zeros, -inf
  l.bytes = spm.bytes;
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

// --- materialization: the tile program -------------------------------------
//
// Work items (batch, head, query tile) over the NEs — with K/V resident, a
// (batch, KV head) unit per distribute item and its heads' query tiles in a
// loop, the unit's K and V loaded once (or, double-buffered, fetched in
// chunks during the previous unit). Per item: O = 0 when no key is visible,
// m = -inf and l = 0, the query tile; then per KV tile t, software
// pipelined, the tensor engine computes S(t+1) = Q K(t+1)^T while the vector
// engine runs the online softmax of tile t (causal and window masks inside
// npu.softmax_step) and O += P(t) V(t). The item's last softmax, O / l and
// the store are deferred behind the next item's first QK^T. Semaphores (per
// NE): q (query tile in), load (K/V/mask tiles in), mm1 (S done), softmax,
// mm2 (O += P V done), normalize, store; waits count signals with
// npu.sem_count or from the item's NE-local index.

LogicalResult materializeFlash(OpBuilder &b, FlashAttentionOp op) {
  using P = arith::CmpIPredicate;
  FlashGeometry g = FlashGeometry::get(op);
  TilingAttr tiling = op.getTilingAttr();
  ArrayRef<int64_t> tile = tiling.getTile();
  KvResidency kvRes = tiling.getKv();
  FlashLayout l = layoutFlash(g, tile[0], tile[1], kvRes != KvResidency::Streamed,
                              kvRes == KvResidency::DoubleBuffered);
  Location loc = op.getLoc();
  SmallVector<Value> operands = {op.getQ(), op.getK(), op.getV(), op.getConsts(), op.getOut()};
  if (g.hasMask)
    operands.push_back(asView(b, loc, op.getMask(), {g.b, g.hq, g.sq, g.sk}, g.maskStrides));
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(KernelKind::FlashAttention, tiling, operands);
  Value q = bufs[0], k = bufs[1], v = bufs[2], consts = bufs[3], out = bufs[4];
  Value mask = g.hasMask ? bufs[5] : Value();
  Value semQ = t.sem("query"), load = t.sem("load"), mm1 = t.sem("mm1"), smx = t.sem("softmax"),
        mm2 = t.sem("mm2"), fin = t.sem("normalize"), store = t.sem("store");

  // Scratchpad: tiles in the compute type ct, scores/O/statistics in f32.
  Type ct = op.getComputeType(), f32 = b.getF32Type();
  int64_t ce = dtypeSize(g.compute), tq = l.tq, tk = l.tk;
  auto pair = [&](StringRef name, int64_t elems, Type et) { return t.spmCopies(name, {2, elems}, et); };
  Value kRes, vRes, kT, vT, maskT;
  if (l.kvResident) {
    int64_t n = l.kvDouble ? 2 : 1;
    kRes = t.spmCopies("k_res", {n, g.sk * g.d}, ct);
    vRes = t.spmCopies("v_res", {n, g.sk * g.dv}, ct);
  }
  Value qT = pair("q", tq * g.d, ct);
  if (!l.kvResident) {
    kT = pair("k", tk * g.d, ct);
    vT = pair("v", tk * g.dv, ct);
  }
  if (g.hasMask)
    maskT = pair("mask", tq * tk, f32);
  Value oT = pair("o", tq * g.dv, f32), sT = pair("s", tq * tk, f32);
  Value pT = g.compute == DType::F32 ? sT : pair("p", tq * tk, ct);
  Value stats = pair("stats", 3 * tq, f32);
  Value tRow = t.spm("t", {tq}), zRow = t.spm("z", {tq});
  Value zeros = t.spm("zeros", {tq}), negInf = t.spm("neg_inf", {tq});

  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  bool causal = op.getCausal(), rowMask = g.hasMask && g.maskStrides[2] == 0;
  int64_t off = op.getCausalOffset(), window = op.getWindow();
  int64_t group = g.hq / g.hkv, qTiles = ceilDiv(g.sq, tq), numNe = tiling.getNe();
  // Scale inside v.softmax_step unless softcap or a mask must see the scaled
  // scores first (the causal mask's -inf is unchanged by it).
  bool separateScale = softcap > 0 || g.hasMask || !(scale > 0);
  Value zero = t.c(0), noAcc = t.boolConst(false);

  // KV tiles [j0, nk) of query tile qt: up to the last key a query of the
  // tile may see, from the first tile inside the first row's window.
  auto kvTiles = [&](Value qt) {
    Value q0 = t.mul(qt, tq);
    Value rq = t.value(t.rowsLeft(q0, g.sq, tq));
    Value kEnd = causal ? t.clamp(t.add(t.add(q0, rq), off), 0, g.sk) : t.c(g.sk);
    Value nk = t.div(t.add(kEnd, tk - 1), tk);
    Value j0 = window > 0 ? t.div(t.clamp(t.add(q0, off - window + 1), 0, g.sk), tk) : zero;
    return std::make_pair(j0, nk);
  };

  // One query tile: (batch, head, KV head, query tile, its index among the
  // NE's items, the resident K/V area).
  auto item = [&](Value bi, Value hi, Value kvh, Value qt, Value prevQt, Value local, Value rbuf,
                  Value unitLoads, Value ne, std::function<void()> afterQ) {
    Value q0 = t.mul(qt, tq);
    TileBuilder::Size rqS = t.rowsLeft(q0, g.sq, tq);
    Value rq = t.value(rqS), ibuf = t.rem(local, 2), next = t.add(local, 1);
    Value prev = t.sub(local, t.c(1));
    Value j0, nk;
    std::tie(j0, nk) = kvTiles(qt);
    TileBuilder::Operand o{oT, {ibuf, zero}}, m{stats, {ibuf, zero}}, lRow{stats, {ibuf, rq}},
        alpha{stats, {ibuf, t.mul(rq, 2)}};
    t.when(t.cmpv(P::sle, nk, j0), [&] { // no key visible: O stays 0
      t.dma(DmaQueue::Load, consts, {zero}, oT, {ibuf, zero}, {t.mulSizes(rqS, g.dv)}, {0}, {1}, ne,
            {{store, prev}});
    });
    t.when(t.cmp(P::eq, local, 0), [&] { // rows of 0 and -inf, once per NE
      t.dma(DmaQueue::Load, consts, {zero}, zeros, {zero}, {tq}, {0}, {1}, ne);
      t.dma(DmaQueue::Load, consts, {t.c(1)}, negInf, {zero}, {tq}, {0}, {1}, ne);
    });
    // The query buffer is free once item local-2's last S is done: the S
    // count before item local-1's tiles.
    Value pj0, pnk;
    std::tie(pj0, pnk) = kvTiles(prevQt);
    Value prevSteps = t.max(t.sub(pnk, pj0), 0);
    // (One op per statement: the order ops are built in must not depend on
    // the host compiler's order of evaluating arguments.)
    Value sinceThen = t.sub(t.semCount(mm1), prevSteps);
    Value qFree = t.select(t.cmp(P::sge, local, 2), sinceThen, zero);
    t.dma(DmaQueue::Load, q, {bi, hi, q0, zero}, qT, {ibuf, zero}, {rqS, g.d}, {g.qs[2], 1},
          {g.d, 1}, ne, {{mm1, qFree}}, semQ);
    afterQ();
    t.vec(isa::Opcode::VCopy, m, {negInf, {zero}}, nullptr, 1, rqS, Broadcast::None, 0, ne,
          {{semQ, next}});
    t.vec(isa::Opcode::VCopy, lRow, {zeros, {zero}}, nullptr, 1, rqS, Broadcast::None, 0, ne);
    Value t0 = t.semCount(mm1);

    // Tile j: step tt of the NE; buffers by its parity.
    struct Tile {
      Value k0, tt, par;
      TileBuilder::Size rk;
      TileBuilder::Operand kb, vb;
    };
    auto tileOf = [&](Value j) {
      Tile x;
      x.k0 = t.mul(j, tk);
      x.rk = t.rowsLeft(x.k0, g.sk, tk);
      x.tt = t.add(t0, t.sub(j, j0));
      x.par = t.rem(x.tt, 2);
      if (l.kvResident) {
        x.kb = {kRes, {rbuf, t.mul(j, tk * g.d)}};
        x.vb = {vRes, {rbuf, t.mul(j, tk * g.dv)}};
      } else {
        x.kb = {kT, {x.par, zero}};
        x.vb = {vT, {x.par, zero}};
      }
      return x;
    };
    auto loadAndScore = [&](Value j) {
      Tile x = tileOf(j);
      SmallVector<std::function<void(ArrayRef<TileWait>, Value)>> dmas;
      if (!l.kvResident) {
        dmas.push_back([&, x](ArrayRef<TileWait> w, Value sig) {
          t.dma(DmaQueue::Load, k, {bi, kvh, x.k0, zero}, kT, {x.par, zero}, {x.rk, g.d},
                {g.ks[2], 1}, {g.d, 1}, ne, w, sig);
        });
        dmas.push_back([&, x](ArrayRef<TileWait> w, Value sig) {
          t.dma(DmaQueue::Load, v, {bi, kvh, x.k0, zero}, vT, {x.par, zero}, {x.rk, g.dv},
                {g.vs[2], 1}, {g.dv, 1}, ne, w, sig);
        });
      }
      if (g.hasMask) // one row per tile when every query row sees the same mask
        dmas.push_back([&, x](ArrayRef<TileWait> w, Value sig) {
          const auto &ms = g.maskStrides;
          t.dma(DmaQueue::Load, mask, {bi, hi, q0, x.k0}, maskT, {x.par, zero},
                {rowMask ? TileBuilder::Size(int64_t(1)) : rqS, x.rk}, {ms[2], ms[3]}, {x.rk, 1},
                ne, w, sig);
        });
      // Tile tt-2's buffers are consumed once P(tt-2) V(tt-2) is done.
      for (size_t i = 0; i < dmas.size(); ++i)
        dmas[i](i == 0 ? ArrayRef<TileWait>{{mm2, t.sub(x.tt, t.c(1))}} : ArrayRef<TileWait>{},
                i + 1 == dmas.size() ? load : Value());
      // Resident and double-buffered: unit n's K/V are the NE's load n + 1.
      Value loaded = l.kvDouble ? unitLoads : t.semCount(load);
      t.mm({sT, {x.par, zero}}, {qT, {ibuf, zero}}, x.kb, {rqS, x.rk, g.d}, noAcc, false, true, ne,
           {{load, loaded}, {semQ, next}}, mm1);
    };
    auto softmaxAndAccumulate = [&](Value j) {
      Tile x = tileOf(j);
      TileBuilder::Operand sb{sT, {x.par, zero}}, pb{pT, {x.par, zero}};
      SmallVector<TileWait> waits = {{mm1, t.add(x.tt, 1)}, {mm2, t.sub(x.tt, t.c(1))}};
      auto firstWaits = [&]() {
        SmallVector<TileWait> w = std::move(waits);
        waits.clear();
        return w;
      };
      SmallVector<TileBuilder::VecStep> pre;
      if (separateScale)
        pre.push_back({isa::Opcode::VMul, sb, sb, std::nullopt, std::nullopt, Broadcast::Imm, scale});
      if (softcap > 0) {
        pre.push_back({isa::Opcode::VMul, sb, sb, std::nullopt, std::nullopt, Broadcast::Imm, 1.0f / softcap});
        pre.push_back({isa::Opcode::VTanh, sb, sb});
        pre.push_back({isa::Opcode::VMul, sb, sb, std::nullopt, std::nullopt, Broadcast::Imm, softcap});
      }
      if (g.hasMask)
        pre.push_back({isa::Opcode::VAdd, sb, sb, TileBuilder::Operand{maskT, {x.par, zero}},
                       std::nullopt, rowMask ? Broadcast::Row : Broadcast::None});
      if (!pre.empty())
        t.vecChain(pre, rqS, x.rk, ne, firstWaits(), Value());
      Value diag = causal ? t.sub(t.add(q0, off), x.k0) : Value();
      Value lower = window > 0 ? t.sub(t.add(q0, off - window + 1), x.k0) : Value();
      Value notFirst = t.cmpv(P::sgt, j, j0);
      t.ifElse(notFirst, [&](bool rescale) {
        SmallVector<TileWait> w = waits; // (each branch builds its own copy)
        bool castP = g.compute != DType::F32;
        t.softmaxStep(sb, {stats, {ibuf, zero}}, rqS, x.rk, separateScale ? 1.0f : scale, diag,
                      lower, ne, w, !castP && !rescale ? smx : Value());
        if (castP)
          t.vec(isa::Opcode::VCast, pb, sb, nullptr, rqS, x.rk, Broadcast::None, 0, ne, {},
                !rescale ? smx : Value());
        if (rescale) // O *= alpha once O holds P(tt-1) V(tt-1)
          t.vec(isa::Opcode::VMul, o, o, &alpha, rqS, g.dv, Broadcast::Col, 0, ne, {{mm2, x.tt}}, smx);
      });
      // The first P V overwrites O, once item local-2's output is stored.
      t.mm(o, g.compute == DType::F32 ? sb : pb, x.vb, {rqS, g.dv, x.rk}, notFirst, false, false,
           ne, {{smx, t.add(x.tt, 1)}, {store, t.select(notFirst, zero, prev)}}, mm2);
    };

    t.when(t.cmpv(P::sgt, nk, j0), [&] { loadAndScore(j0); });
    t.issueDeferred(); // the previous item's tail, behind this item's first S
    t.endStep();
    t.loop(j0, t.sub(nk, t.c(1)), [&](Value j) {
      loadAndScore(t.add(j, 1));
      softmaxAndAccumulate(j);
      t.endStep();
    });
    t.deferred([&] {
      t.when(t.cmpv(P::sgt, nk, j0), [&] { softmaxAndAccumulate(t.sub(nk, t.c(1))); });
      // O / l, 0 where l = 0 (every key masked), then the store (8-bit
      // with output_quant: O / scale rounded, plus the zero point; the
      // store saturates).
      SmallVector<TileBuilder::VecStep> finish = {
          {isa::Opcode::VCmpEq, {zRow, {zero}}, lRow, std::nullopt, rqS, Broadcast::Imm, 0.0f, 1},
          {isa::Opcode::VRecip, {tRow, {zero}}, lRow, std::nullopt, rqS, Broadcast::None, 0, 1},
          {isa::Opcode::VSel, {tRow, {zero}}, {zRow, {zero}}, std::nullopt, rqS, Broadcast::Imm, 0.0f, 1},
          {isa::Opcode::VMul, o, o, TileBuilder::Operand{tRow, {zero}}, g.dv, Broadcast::Col}};
      if (auto oq = op.getOutputQuant()) {
        finish.push_back({isa::Opcode::VDiv, o, o, std::nullopt, g.dv, Broadcast::Imm, (*oq)[0]});
        finish.push_back({isa::Opcode::VRound, o, o, std::nullopt, g.dv});
        if ((*oq)[1] != 0.0f)
          finish.push_back({isa::Opcode::VAdd, o, o, std::nullopt, g.dv, Broadcast::Imm, (*oq)[1]});
      }
      t.vecChain(finish, rqS, g.dv, ne, {{mm2, t.semCount(mm2)}, {semQ, next}}, fin);
      t.dma(DmaQueue::Store, oT, {ibuf, zero}, out, {bi, hi, q0, zero}, {rqS, g.dv}, {g.dv, 1},
            {g.os[2], 1}, ne, {{fin, next}}, store);
    });
  };

  if (!l.kvResident) {
    t.distribute(g.b * g.hq * qTiles, [&](Value it, Value iter, Value ne) {
      Value bi = t.div(it, g.hq * qTiles), hi = t.rem(t.div(it, qTiles), g.hq);
      Value kvh = t.div(hi, group);
      Value qt = t.rem(it, qTiles);
      Value prevQt = t.rem(t.sub(it, t.c(numNe)), qTiles);
      item(bi, hi, kvh, qt, prevQt, iter, zero, Value(), ne, [] {});
    });
    t.end();
    return success();
  }
  // K/V resident: a (batch, KV head) unit per distribute item, all query
  // tiles of the heads sharing it in a loop.
  int64_t units = g.b * g.hkv, perUnit = group * qTiles;
  t.distribute(units, [&](Value u, Value uIter, Value ne) {
    Value bi = t.div(u, g.hkv), kvh = t.rem(u, g.hkv);
    Value rbuf = l.kvDouble ? t.rem(uIter, 2) : zero;
    auto loadUnit = [&] {
      t.issueDeferred(); // the last unit's tail goes out first, on its own
      t.endStep();
      t.dma(DmaQueue::Load, k, {bi, kvh, zero, zero}, kRes, {rbuf, zero}, {g.sk, g.d},
            {g.ks[2], 1}, {g.d, 1}, ne, {{mm2, t.semCount(mm2)}});
      t.dma(DmaQueue::Load, v, {bi, kvh, zero, zero}, vRes, {rbuf, zero}, {g.sk, g.dv},
            {g.vs[2], 1}, {g.dv, 1}, ne, {}, load);
      t.endStep();
    };
    // Double-buffered: the next unit of this NE into the other area, in
    // chunks, one behind each of the first query loads of this unit.
    int64_t nChunks = std::min<int64_t>(perUnit, 8), rows = ceilDiv(g.sk, nChunks);
    int64_t chunks = ceilDiv(g.sk, rows);
    Value nextU = t.add(u, numNe);
    Value hasNext = t.cmp(P::slt, nextU, units);
    t.loop(zero, perUnit, [&](Value sub) {
      Value first = t.cmp(P::eq, sub, 0);
      if (l.kvDouble)
        t.when(t.cmp(P::eq, t.add(t.mul(uIter, perUnit), sub), 0), loadUnit);
      else
        t.when(first, loadUnit);
      Value gi = t.div(sub, qTiles), qt = t.rem(sub, qTiles);
      Value hi = t.add(t.mul(kvh, group), gi);
      auto prefetch = [&] {
        t.when(t.cmpv(P::slt, sub, t.select(hasNext, t.c(chunks), zero)), [&] {
          Value r0 = t.mul(sub, rows);
          TileBuilder::Size rn = t.rowsLeft(r0, g.sk, rows);
          Value nbi = t.div(nextU, g.hkv), nkvh = t.rem(nextU, g.hkv), other = t.sub(t.c(1), rbuf);
          t.ifElse(t.cmp(P::eq, sub, chunks - 1), [&](bool last) {
            // The first chunk waits until the unit before this one is done
            // with that area; the last signals: it covers the whole unit.
            Value kAt = t.mul(r0, g.d);
            Value areaFree = t.select(first, t.semCount(mm2), zero);
            t.dma(DmaQueue::Load, k, {nbi, nkvh, r0, zero}, kRes, {other, kAt}, {rn, g.d},
                  {g.ks[2], 1}, {g.d, 1}, ne, {{mm2, areaFree}});
            t.dma(DmaQueue::Load, v, {nbi, nkvh, r0, zero}, vRes, {other, t.mul(r0, g.dv)},
                  {rn, g.dv}, {g.vs[2], 1}, {g.dv, 1}, ne, {}, last ? load : Value());
          });
        });
      };
      Value prevQt = t.rem(t.add(sub, qTiles - 1), qTiles);
      Value local = t.add(t.mul(uIter, perUnit), sub);
      Value unitLoads = l.kvDouble ? t.add(uIter, 1) : Value();
      item(bi, hi, kvh, qt, prevQt, local, rbuf, unitLoads, ne,
           l.kvDouble ? std::function<void()>(prefetch) : [] {});
    });
  });
  t.end();
  return success();
}

} // namespace rbln::npu
