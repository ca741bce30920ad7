//===- Matmul.cpp - Tiled matmul with its epilogue --------------------------===//
#include "passes/Kernels/TileBuilder.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- matmul: geometry, tiles and SPM layout -------------------------------

int64_t MatmulGeometry::batch() const {
  int64_t b = 1;
  for (int64_t d : batchShape)
    b *= d;
  return b;
}

MatmulGeometry MatmulGeometry::get(MatmulOp op) {
  MatmulGeometry g;
  auto l = cast<MemRefType>(op.getLhs().getType());
  auto r = cast<MemRefType>(op.getRhs().getType());
  auto o = cast<MemRefType>(op.getOut().getType());
  g.ta = op.getTransposeLhs();
  g.tb = op.getTransposeRhs();
  if (auto gt = op.getGridType())
    g.gridType = dtypeOf(*gt);
  if (op.getOutputGrid()) // divide, round, clamp twice, multiply; or divide, cast twice, multiply (+ its bias)
    g.gridPasses = (g.gridType != DType::F32 ? 4 : 5) + (op.getGridBias() ? 1 : 0);
  g.hasGridBias = bool(op.getGridBias());
  Type oe = cast<MemRefType>(op.getOut().getType()).getElementType();
  if (auto quant = op.getOutputQuant()) // divide (+ round, + the zero point; an 8-bit float's cast rounds)
    g.gridPasses += mlir::isa<FloatType>(oe) ? 1 : (*quant)[1] != 0.0f ? 3 : 2;
  int64_t lr = l.getRank(), rr = r.getRank();
  g.m = l.getDimSize(lr - (g.ta ? 1 : 2));
  g.k = l.getDimSize(lr - (g.ta ? 2 : 1));
  g.n = r.getDimSize(rr - (g.tb ? 2 : 1));
  ArrayRef<int64_t> os = o.getShape();
  g.batchShape.assign(os.begin(), os.end() - 2);
  auto batchOf = [&](MemRefType t) {
    SmallVector<int64_t> strides = contiguousStrides(t.getShape());
    ArrayRef<int64_t> shape = t.getShape().drop_back(2);
    return viewStrides(shape, ArrayRef<int64_t>(strides).drop_back(2), g.batchShape);
  };
  g.lhsBatchStrides = batchOf(l);
  g.rhsBatchStrides = batchOf(r);
  g.lhs = dtypeOf(l.getElementType());
  g.rhs = dtypeOf(r.getElementType());
  g.out = dtypeOf(o.getElementType());
  g.lhsShm = isShm(l), g.rhsShm = isShm(r), g.outShm = isShm(o);
  if (Value res = op.getResidual()) {
    auto rt = cast<MemRefType>(res.getType());
    g.hasResidual = true;
    g.residual = dtypeOf(rt.getElementType());
    g.residualShm = isShm(rt);
  }
  g.compute = dtypeOf(op.getComputeType());
  if (Value s = op.getScale()) {
    g.scaleBlock = int64_t(op.getScaleBlock());
    g.hasScale = g.scaleBlock == 0;
    g.scale = dtypeOf(cast<MemRefType>(s.getType()).getElementType());
  }
  if (Value bias = op.getBias()) {
    auto bt = cast<MemRefType>(bias.getType());
    g.bias = dtypeOf(bt.getElementType());
    SmallVector<int64_t> s = broadcastStrides(bt.getShape(), os);
    g.biasStrideM = s[s.size() - 2];
    g.biasStrideN = s[s.size() - 1];
    g.biasBatchStrides.assign(s.begin(), s.end() - 2);
    g.biasMode = g.biasStrideM == 0 ? BiasMode::Row
                 : g.biasStrideN == 0 ? BiasMode::Col
                                      : BiasMode::Full;
  }
  // Shared weights ([K, N] for every batch element, e.g. a decode batch's
  // [B, 1, K] activations): fold the batch into M so the weights are read
  // once, not once per batch element. Needs rows that continue across the
  // batch in lhs, out and bias alike.
  auto continues = [&](ArrayRef<int64_t> batchStrides, int64_t rowStride) {
    int64_t expect = rowStride * g.m;
    for (int64_t d = int64_t(g.batchShape.size()) - 1; d >= 0; --d) {
      if (batchStrides[size_t(d)] != expect)
        return false;
      expect *= g.batchShape[size_t(d)];
    }
    return true;
  };
  bool rhsShared = llvm::all_of(g.rhsBatchStrides, [](int64_t s) { return s == 0; });
  if (!g.batchShape.empty() && rhsShared && !g.ta && l.getLayout().isIdentity() &&
      continues(g.lhsBatchStrides, g.k) && (!op.getBias() || continues(g.biasBatchStrides, g.biasStrideM))) {
    for (int64_t b : g.batchShape)
      g.m *= b;
    g.batchShape.clear();
    g.lhsBatchStrides.clear();
    g.rhsBatchStrides.clear();
    g.biasBatchStrides.clear();
  }
  return g;
}

MatmulLayout layoutMatmul(const MatmulGeometry &g, int64_t tm, int64_t tn, int64_t tk) {
  MatmulLayout l;
  l.tm = tm, l.tn = tn, l.tk = tk;
  int64_t es = dtypeSize(g.compute);
  SpmSize spm;
  spm.add(tm * tk * es, 2); // A
  // B, narrow or widened
  spm.add(matmulNarrowRhs(g, tm, tk) ? int64_t(dtypeBytes(g.rhs, uint64_t(tk * tn))) : tk * tn * es, 2);
  spm.add(tm * tn * 4, 2);  // the accumulator
  if (g.integer())
    spm.add(tm * tn * 4, 2); // the i32 accumulator converted to f32 for the epilogue
  int64_t biasBytes = g.biasMode == BiasMode::None ? 0
                      : g.biasMode == BiasMode::Row ? tn * 4
                      : g.biasMode == BiasMode::Col ? tm * 4
                                                    : tm * tn * 4;
  if (biasBytes)
    spm.add(biasBytes, 2);
  if (g.hasScale)
    spm.add(tn * 4, 2); // a scale per column of the tile
  if (g.hasScale && g.hasResidual)
    spm.add(tm * tn * 4, 2); // the residual, added after the scale
  if (g.hasGridBias)
    spm.add(tn * 4, 2); // the bias after the output grid
  if (g.gridType != DType::F32)
    spm.add(tm * tn, 1); // the tile cast to an 8-bit float grid (the vector engine's only)
  if (g.scaleBlock && matmulScalesProduct(tm, tk)) {
    spm.add(tn * 4, 2);      // the step's block of scales, f32
    spm.add(tm * tn * 4, 2); // the step's product, scaled into the accumulator
  } else if (g.scaleBlock) {
    spm.add(tn * es, 2); // the weight tile's block of scales, per step
  }
  l.bytes = spm.bytes;
  return l;
}

double estimateMatmul(const MatmulGeometry &g, const MatmulLayout &l, const TargetDesc &t) {
  const auto &te = t.tensor();
  int64_t tm = std::min(l.tm, g.m), tn = std::min(l.tn, g.n), tk = std::min(l.tk, g.k);
  int64_t tilesM = ceilDiv(g.m, l.tm), tilesN = ceilDiv(g.n, l.tn), tilesK = ceilDiv(g.k, l.tk);
  int64_t tiles = g.batch() * tilesM * tilesN;
  int64_t perNe = ceilDiv(tiles, t.num_ne());
  double macs = macsPerCycle(t, uint32_t(g.compute));
  double mm = double(alignTo(tm, te.array_rows()) * alignTo(tn, te.array_cols()) * tk) / macs +
              te.pipeline_fill_cycles();
  double epi = double(ceilDiv(tm * tn, t.vector().lanes())) *
                   ((g.hasScale ? 3 : 2) + (g.integer() ? 1 : 0) + g.gridPasses) +
               t.vector().latency_cycles();
  // Blocks of scales: the vector engine scales each weight tile (or each
  // step's product, two passes) while the tensor engine multiplies the
  // previous one.
  double step = mm;
  const double vlat = t.vector().latency_cycles();
  if (g.scaleBlock && matmulScalesProduct(tm, tk))
    step = std::max(mm, 2.0 * (double(ceilDiv(tm * tn, t.vector().lanes())) + vlat));
  else if (g.scaleBlock)
    step = std::max(mm, double(ceilDiv(tk * tn, t.vector().lanes())) + vlat);
  double compute = double(perNe) * (double(tilesK) * step + epi);
  // Operands are read in their stored types (model inputs may be f32 while
  // the kernel computes in f16); the link moves the wider side. Each
  // operand's traffic goes over the channel of its space (DRAM or SHM).
  double lhsBytes = double(tm * tk) * dtypeSize(g.lhs), rhsBytes = double(dtypeBytes(g.rhs, uint64_t(tk * tn)));
  if (g.scaleBlock)
    rhsBytes += double(tn * dtypeSize(g.scale)); // the tile's scales
  // The engine link moves the wider side of a cast (int8 weights widened
  // into compute-type tiles cross it at the compute type's size; weights
  // kept narrow in SPM at their own).
  auto wide = [&](DType stored) { return std::max(dtypeSize(stored), dtypeSize(g.compute)); };
  double rhsLinkBytes = matmulNarrowRhs(g, tm, tk) ? double(dtypeBytes(g.rhs, uint64_t(tk * tn)))
                                                   : double(tk * tn) * wide(g.rhs);
  double stepBytes = double(tm * tk) * wide(g.lhs) + rhsLinkBytes;
  double outBytes = double(tiles * tm * tn) * dtypeSize(g.out);
  double resBytes = g.hasResidual ? double(tiles * tm * tn) * dtypeSize(g.residual) : 0;
  double steps = double(tiles * tilesK);
  auto onChannel = [&](bool shm) {
    return (g.lhsShm == shm ? steps * lhsBytes : 0) + (g.rhsShm == shm ? steps * rhsBytes : 0) +
           (g.outShm == shm ? outBytes : 0) + (g.residualShm == shm ? resBytes : 0);
  };
  // DRAM pages each transfer opens: a tile's rows are separate runs unless
  // it spans its matrix's stored width.
  auto tileRows = [&](int64_t r, int64_t c, int64_t full, DType dt) {
    return dramTileRows(t, double(r), double(c), double(full), dtypeSize(dt));
  };
  double lhsRows = g.ta ? tileRows(tk, tm, g.m, g.lhs) : tileRows(tm, tk, g.k, g.lhs);
  double rhsRows = g.tb ? tileRows(tn, tk, g.k, g.rhs) : tileRows(tk, tn, g.n, g.rhs);
  double outRows = double(tiles) * tileRows(tm, tn, g.n, g.out);
  double rowsOnDram = (g.lhsShm ? 0 : steps * lhsRows) + (g.rhsShm ? 0 : steps * rhsRows) +
                      (g.outShm ? 0 : outRows) + (g.hasResidual && !g.residualShm ? outRows : 0);
  double dram = dramChannelCycles(t, onChannel(false), rowsOnDram);
  if (t.shm_gbps() > 0)
    dram = std::max(dram, onChannel(true) / shmBytesPerCycle(t));
  double link = double(perNe * tilesK) *
                (stepBytes / t.neural_dma_bytes_per_cycle() + 2.0 * t.dma_setup_cycles());
  double dispatch = double(tiles * (tilesK * 3 + 3)) * t.cp().dispatch_cycles();
  // Pipeline fill and drain: compute starts once every busy NE has loaded
  // its first operand tiles, and the last tile is stored after it. When the
  // transfers bound the time, the first loads are part of them (the channel
  // is busy from the start); only the last step's product follows them.
  double busyNe = double(std::min<int64_t>(tiles, t.num_ne()));
  auto rate = [&](bool shm) {
    return shm && t.shm_gbps() > 0 ? shmBytesPerCycle(t) : shm ? t.neural_dma_bytes_per_cycle() * busyNe
                                                                : dramBytesPerCycle(t);
  };
  double fill = busyNe * (lhsBytes / rate(g.lhsShm) + rhsBytes / rate(g.rhsShm)) + t.dma_setup_cycles();
  double drain = busyNe * double(tm * tn * dtypeSize(g.out)) / rate(g.outShm) + epi;
  return std::max({compute + fill, dram + mm, link + mm}) + drain + dispatch;
}

FailureOr<MatmulLayout> chooseMatmulTiles(const MatmulGeometry &g, const TargetDesc &t) {
  const auto &te = t.tensor();
  auto sizes = [](int64_t dim, int64_t unit) {
    SmallVector<int64_t> v;
    int64_t cap = std::min(alignTo(dim, unit), kMaxField);
    for (int64_t s = unit; s <= cap; s *= 2)
      v.push_back(s);
    if (dim <= kMaxField && (v.empty() || v.back() != dim))
      v.push_back(dim); // the whole dimension in one tile
    return v;
  };
  SmallVector<int64_t> ms = sizes(g.m, te.array_rows()), ns = sizes(g.n, te.array_cols()),
                       ks = sizes(g.k, 16);
  if (g.scaleBlock) // a k-step within one block of scales
    llvm::erase_if(ks, [&](int64_t tk) { return !matmulStepInBlock(std::min(tk, g.k), g.k, g.scaleBlock); });
  std::optional<MatmulLayout> best;
  double bestCost = std::numeric_limits<double>::infinity();
  for (int64_t tm : ms)
    for (int64_t tn : ns)
      for (int64_t tk : ks) {
        MatmulLayout l = layoutMatmul(g, std::min(tm, g.m), std::min(tn, g.n), std::min(tk, g.k));
        if (uint64_t(l.bytes) > t.spm_bytes())
          continue;
        double c = estimateMatmul(g, l, t);
        // Prefer the cheaper plan; on a tie, the one with fewer, larger tiles.
        if (c < bestCost * (1 - 1e-9) ||
            (best && std::fabs(c - bestCost) <= bestCost * 1e-9 &&
             l.tm * l.tn * l.tk > best->tm * best->tn * best->tk)) {
          bestCost = c;
          best = l;
        }
      }
  if (!best)
    return failure();
  return *best;
}

// --- materialization: the tile program -------------------------------------
//
// One output tile per item, its k-steps the item's steps:
//   first step:  dma bias -> SPM (store queue), dma residual -> acc
//   every step:  dma A, B -> SPM; mm acc (+)= A * B
//   last step:   v.* epilogue on acc; dma acc -> out
// written without copies or waits: npu-multi-buffer gives the operand tiles
// a copy per step in flight and the accumulator and bias one per output
// tile; npu-insert-sync orders the engines. Bias tiles go on the store
// queue, so the operand loads of the next steps do not queue behind them. A
// residual starts the accumulator (converted to f32 on the way in). With
// int8 weights and a scale per column (`scale`), the scale tile loads beside
// the bias, the epilogue multiplies the product's columns by it first, and a
// residual goes into a tile of its own, added after the scale. With blocks
// of scales (`scale_block`: int4 or group-wise weights) each step loads its
// block's row of scales and the vector engine multiplies the widened weight
// tile by it before `mm` — or, for a tile of few rows, `mm` writes the
// step's own product, which is scaled and added to the accumulator. Operands
// are bound as flat runs of their elements; offsets are element offsets.
// Narrow weights (int8, int4, 8-bit float) that no vector op scales stay
// narrow in SPM and the tensor engine widens them (matmulNarrowRhs).

LogicalResult materializeMatmul(OpBuilder &b, MatmulOp op) {
  MatmulGeometry g = MatmulGeometry::get(op);
  TilingAttr tiling = op.getTilingAttr();
  ArrayRef<int64_t> tile = tiling.getTile();
  MatmulLayout l = layoutMatmul(g, tile[0], tile[1], tile[2]);
  Location loc = op.getLoc();
  SmallVector<Value> operands{asFlat(b, loc, op.getLhs()), asFlat(b, loc, op.getRhs()),
                              asFlat(b, loc, op.getOut())};
  if (op.getBias())
    operands.push_back(asFlat(b, loc, op.getBias()));
  if (op.getResidual())
    operands.push_back(asFlat(b, loc, op.getResidual()));
  if (op.getScale()) // (blocks of scales: [ceil(K / B), N], bound flat)
    operands.push_back(asFlat(b, loc, op.getScale()));
  if (op.getGridBias())
    operands.push_back(op.getGridBias());
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(KernelKind::Matmul, tiling, operands);
  if (auto reuse = op.getReuseAttr())
    t.prog.setReuseAttr(reuse);
  Value lhs = bufs[0], rhs = bufs[1], out = bufs[2];
  Value bias = op.getBias() ? bufs[3] : Value();
  Value residual = op.getResidual() ? bufs[op.getBias() ? 4 : 3] : Value();
  Value gridBias = op.getGridBias() ? bufs.back() : Value();
  Value scale = op.getScale() ? bufs[bufs.size() - (gridBias ? 2 : 1)] : Value();
  // Blocks of scales: each step's weight tile times its block's scales.
  Value blockScale = g.scaleBlock ? scale : Value();
  if (g.scaleBlock)
    scale = Value();
  Type ct = op.getComputeType();
  // The integer mode: u8/i8 activations and int8 weights stay 8-bit in SPM,
  // the tensor engine sums them exactly in an i32 accumulator, and the
  // epilogue converts it to f32 first.
  bool integer = g.integer();
  // Weight tiles stay narrow in SPM (the tensor engine widens them) unless
  // the vector engine scales them first.
  Type bType = integer || matmulNarrowRhs(g, l.tm, l.tk) ? cast<MemRefType>(op.getRhs().getType()).getElementType()
                                                         : ct;
  Value a = t.spmStep("a", {l.tm * l.tk}, ct), bt = t.spmStep("b", {l.tk * l.tn}, bType);
  Value acc = t.spmItem("acc", {l.tm * l.tn}, integer ? b.getI32Type() : Type());
  Value accF = integer ? t.spmItem("accf", {l.tm * l.tn}) : acc;
  bool hasBias = g.biasMode != BiasMode::None;
  int64_t biasElems = g.biasMode == BiasMode::Row ? l.tn : g.biasMode == BiasMode::Col ? l.tm : l.tm * l.tn;
  Value biasSpm = hasBias ? t.spmItem("bias", {biasElems}) : Value();
  Value scaleSpm = g.hasScale ? t.spmItem("scale", {l.tn}) : Value();
  // Few rows (decode): the step's product is scaled instead, in f32.
  bool scaleProduct = blockScale && matmulScalesProduct(l.tm, l.tk);
  Value blockScaleSpm = blockScale ? t.spmStep("block_scale", {l.tn}, scaleProduct ? Type() : ct) : Value();
  Value partSpm = scaleProduct ? t.spmStep("part", {l.tm * l.tn}) : Value();
  Value gridBiasSpm = gridBias ? t.spmItem("grid_bias", {l.tn}) : Value();
  Value grid8Spm = g.gridType != DType::F32 ? t.spmItem("grid8", {l.tm * l.tn}, *op.getGridType()) : Value();
  // With a scale the residual is added in the epilogue (after the scale),
  // not loaded into the accumulator.
  bool residualLast = g.hasScale && g.hasResidual;
  Value resSpm = residualLast ? t.spmItem("res", {l.tm * l.tn}) : Value();
  int64_t tilesM = ceilDiv(g.m, l.tm), tilesN = ceilDiv(g.n, l.tn), tilesK = ceilDiv(g.k, l.tk);
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  npu::Activation act = op.getActivation();
  using isa::Opcode;
  using P = arith::CmpIPredicate;
  t.distributeSteps(g.batch() * tilesM * tilesN, tilesK,
                    [&](Value item, Value, Value ne, Value kk, Value) {
    Value bIdx = t.div(item, tilesM * tilesN), rest = t.rem(item, tilesM * tilesN);
    Value i = t.div(rest, tilesN), j = t.rem(rest, tilesN);
    Value i0 = t.mul(i, l.tm), j0 = t.mul(j, l.tn), k0 = t.mul(kk, l.tk);
    TileBuilder::Size mt = t.rowsLeft(i0, g.m, l.tm), nt = t.rowsLeft(j0, g.n, l.tn);
    TileBuilder::Size kt = t.rowsLeft(k0, g.k, l.tk);
    // The batch index's element offset in an operand with these strides.
    auto batchOffset = [&](ArrayRef<int64_t> strides) {
      Value off = t.c(0), rem = bIdx;
      for (int64_t d = int64_t(g.batchShape.size()) - 1; d >= 0; --d) {
        int64_t n = g.batchShape[size_t(d)];
        Value idx = d == 0 ? rem : t.rem(rem, n);
        rem = t.div(rem, n);
        off = t.add(off, t.mul(idx, strides[size_t(d)]));
      }
      return off;
    };
    Value zero = t.c(0);
    Value first = t.cmp(P::eq, kk, 0);
    TileBuilder::Operand accT{acc, {zero}}, aT{a, {zero}}, bT{bt, {zero}}, outT{accF, {zero}};
    Value outOff = t.add(t.add(t.mul(bIdx, g.m * g.n), t.mul(i0, g.n)), j0);
    if (hasBias)
      t.when(first, [&] {
        Value src = t.add(t.add(batchOffset(g.biasBatchStrides), t.mul(i0, g.biasStrideM)),
                          t.mul(j0, g.biasStrideN));
        if (g.biasMode == BiasMode::Row)
          t.dma(DmaQueue::Store, bias, {src}, biasSpm, {zero}, {nt}, {g.biasStrideN}, {1}, ne);
        else if (g.biasMode == BiasMode::Col)
          t.dma(DmaQueue::Store, bias, {src}, biasSpm, {zero}, {mt}, {g.biasStrideM}, {1}, ne);
        else
          t.dma(DmaQueue::Store, bias, {src}, biasSpm, {zero}, {mt, nt},
                {g.biasStrideM, g.biasStrideN}, {nt, 1}, ne);
      });
    if (g.hasScale) // the columns' scales, beside the bias
      t.when(first, [&] {
        t.dma(DmaQueue::Store, scale, {j0}, scaleSpm, {zero}, {nt}, {1}, {1}, ne);
      });
    if (gridBias) // the bias after the output grid, likewise
      t.when(first, [&] {
        t.dma(DmaQueue::Store, gridBias, {j0}, gridBiasSpm, {zero}, {nt}, {1}, {1}, ne);
      });
    if (g.hasResidual)
      t.when(first, [&] {
        t.dma(DmaQueue::Load, residual, {outOff}, residualLast ? resSpm : acc,
              residualLast ? ValueRange{zero} : ValueRange(accT.idx), {mt, nt}, {g.n, 1}, {nt, 1}, ne);
      });
    // Operand tiles, converted to the compute type on the way in.
    Value lhsOff = t.add(batchOffset(g.lhsBatchStrides),
                         g.ta ? t.add(t.mul(k0, g.m), i0) : t.add(t.mul(i0, g.k), k0));
    if (g.ta)
      t.dma(DmaQueue::Load, lhs, {lhsOff}, a, aT.idx, {kt, mt}, {g.m, 1}, {mt, 1}, ne);
    else
      t.dma(DmaQueue::Load, lhs, {lhsOff}, a, aT.idx, {mt, kt}, {g.k, 1}, {kt, 1}, ne);
    Value rhsOff = t.add(batchOffset(g.rhsBatchStrides),
                         g.tb ? t.add(t.mul(j0, g.k), k0) : t.add(t.mul(k0, g.n), j0));
    if (g.tb)
      t.dma(DmaQueue::Load, rhs, {rhsOff}, bt, bT.idx, {nt, kt}, {g.k, 1}, {kt, 1}, ne);
    else
      t.dma(DmaQueue::Load, rhs, {rhsOff}, bt, bT.idx, {kt, nt}, {g.n, 1}, {nt, 1}, ne);
    if (blockScale) { // the step's block of scales (one row of [ceil(K / B), N])
      Value row = t.div(k0, g.scaleBlock);
      t.dma(DmaQueue::Load, blockScale, {t.add(t.mul(row, g.n), j0)}, blockScaleSpm, {zero}, {nt}, {1}, {1}, ne);
      TileBuilder::Operand s{blockScaleSpm, {zero}};
      if (!scaleProduct) // the weight tile times them: [kt, nt] by column, [nt, kt] (tb) by row
        t.vecChain({{Opcode::VMul, bT, bT, s, {}, g.tb ? Broadcast::Col : Broadcast::Row}}, g.tb ? nt : kt,
                   g.tb ? kt : nt, ne, {}, Value());
    }
    bool fromResidual = g.hasResidual && !residualLast;
    if (scaleProduct) { // part = A x B; acc (+)= part x the columns' scales
      TileBuilder::Operand partT{partSpm, {zero}}, s{blockScaleSpm, {zero}};
      t.mm(partT, aT, bT, {mt, nt, kt}, t.boolConst(false), g.ta, g.tb, ne);
      // (npu-insert-sync orders branches on an item's first or last step,
      // on item buffers, only: the first step zeroes the accumulator from
      // what it holds — (acc == 0) is 0 or 1 even for NaN or inf, times
      // 0 — and every step adds.)
      if (!fromResidual)
        t.when(first, [&] {
          t.vecChain({{Opcode::VCmpEq, accT, accT, {}, {}, Broadcast::Imm, 0.0f},
                      {Opcode::VMul, accT, accT, {}, {}, Broadcast::Imm, 0.0f}},
                     mt, nt, ne, {}, Value());
        });
      t.vecChain({{Opcode::VMul, partT, partT, s, {}, Broadcast::Row},
                  {Opcode::VAdd, accT, accT, partT, {}, Broadcast::None}},
                 mt, nt, ne, {}, Value());
    } else {
      Value accumulate = fromResidual ? t.boolConst(true) : t.cmp(P::sgt, kk, 0);
      t.mm(accT, aT, bT, {mt, nt, kt}, accumulate, g.ta, g.tb, ne);
    }
    // Epilogue on the accumulator, then the store (with a cast), after the
    // last k-step.
    t.when(t.cmp(P::eq, kk, tilesK - 1), [&] {
      using V = TileBuilder::VecStep;
      SmallVector<V> epi;
      TileBuilder::Operand biasT{biasSpm, {zero}};
      if (integer) // the exact i32 sums, rounded to f32
        epi.push_back({Opcode::VCast, outT, accT, {}});
      if (g.hasScale) // int8 weights: each column times its scale, first
        epi.push_back({Opcode::VMul, outT, outT, TileBuilder::Operand{scaleSpm, {zero}}, {}, Broadcast::Row});
      if (hasBias && beta != 1.0f) {
        TileBuilder::Size n = g.biasMode == BiasMode::Row   ? nt
                              : g.biasMode == BiasMode::Col ? mt
                                                            : TileBuilder::Size(t.mulSizes(mt, nt));
        epi.push_back({Opcode::VMul, biasT, biasT, {}, n, Broadcast::Imm, beta, int64_t(1)});
      }
      if (alpha != 1.0f)
        epi.push_back({Opcode::VMul, outT, outT, {}, {}, Broadcast::Imm, alpha});
      if (hasBias)
        epi.push_back({Opcode::VAdd, outT, outT, biasT, {},
                       g.biasMode == BiasMode::Row   ? Broadcast::Row
                       : g.biasMode == BiasMode::Col ? Broadcast::Col
                                                     : Broadcast::None});
      if (residualLast)
        epi.push_back({Opcode::VAdd, outT, outT, TileBuilder::Operand{resSpm, {zero}}, {}, Broadcast::None});
      // A QuantizeLinear/DequantizeLinear pair on the product: round to the
      // grid, then the grid's bias; the activation comes after them.
      // ((clamp(round(x / s) + z, lo, hi) - z) s is clamp(round(x / s),
      // lo - z, hi - z) s exactly: the rounded quotient and the 8-bit zero
      // point are integers, exact in f32, and a quotient too large for
      // that clamps to the same bound either way.)
      // An 8-bit float grid: the quotient cast to the type (rounding to
      // nearest even, saturating) and back.
      if (auto grid = op.getOutputGrid()) {
        float gs = (*grid)[0], gz = (*grid)[1], lo = (*grid)[2], hi = (*grid)[3];
        epi.push_back({Opcode::VDiv, outT, outT, {}, {}, Broadcast::Imm, gs});
        if (grid8Spm) {
          TileBuilder::Operand g8{grid8Spm, {zero}};
          epi.push_back({Opcode::VCast, g8, outT, {}});
          epi.push_back({Opcode::VCast, outT, g8, {}});
        } else {
          epi.push_back({Opcode::VRound, outT, outT, {}});
          epi.push_back({Opcode::VMax, outT, outT, {}, {}, Broadcast::Imm, lo - gz});
          epi.push_back({Opcode::VMin, outT, outT, {}, {}, Broadcast::Imm, hi - gz});
        }
        epi.push_back({Opcode::VMul, outT, outT, {}, {}, Broadcast::Imm, gs});
        if (gridBias)
          epi.push_back({Opcode::VAdd, outT, outT, TileBuilder::Operand{gridBiasSpm, {zero}}, {}, Broadcast::Row});
      }
      if (act != npu::Activation::None)
        epi.push_back({act == npu::Activation::Relu       ? Opcode::VRelu
                       : act == npu::Activation::Sigmoid  ? Opcode::VSigmoid
                       : act == npu::Activation::Gelu     ? Opcode::VGelu
                       : act == npu::Activation::GeluTanh ? Opcode::VGeluTanh
                       : act == npu::Activation::Silu     ? Opcode::VSilu
                                                          : Opcode::VTanh,
                       outT, outT, {}});
      if (auto quant = op.getOutputQuant()) { // an 8-bit result: the store saturates
        epi.push_back({Opcode::VDiv, outT, outT, {}, {}, Broadcast::Imm, (*quant)[0]});
        if (!mlir::isa<FloatType>(cast<MemRefType>(op.getOut().getType()).getElementType())) {
          // (an 8-bit float's store casts, rounding to nearest even)
          epi.push_back({Opcode::VRound, outT, outT, {}});
          if ((*quant)[1] != 0.0f)
            epi.push_back({Opcode::VAdd, outT, outT, {}, {}, Broadcast::Imm, (*quant)[1]});
        }
      }
      t.vecChain(epi, mt, nt, ne, {}, Value());
      t.dma(DmaQueue::Store, accF, outT.idx, out, {outOff}, {mt, nt}, {nt, 1}, {g.n, 1}, ne);
    });
  });
  t.end();
  return success();
}

} // namespace rbln::npu
