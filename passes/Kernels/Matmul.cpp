//===- Matmul.cpp - Tiled matmul with its epilogue --------------------------===//
#include "passes/Kernels/ProgramBuilder.h"

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
  SpmBump spm;
  auto take = [&](int64_t bytes) { return spm.take(bytes); };
  for (int i = 0; i < 2; ++i) l.a[i] = take(tm * tk * es);
  for (int i = 0; i < 2; ++i) l.b[i] = take(tk * tn * es);
  for (int i = 0; i < 2; ++i) l.acc[i] = take(tm * tn * 4);
  int64_t biasBytes = g.biasMode == BiasMode::None ? 0
                      : g.biasMode == BiasMode::Row ? tn * 4
                      : g.biasMode == BiasMode::Col ? tm * 4
                                                    : tm * tn * 4;
  for (int i = 0; i < 2; ++i) l.bias[i] = biasBytes ? take(biasBytes) : 0;
  l.bytes = spm.off;
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
  double epi = double(ceilDiv(tm * tn, t.vector().lanes())) * 2 + t.vector().latency_cycles();
  double compute = double(perNe) * (double(tilesK) * mm + epi);
  // Operands are read in their stored types (model inputs may be f32 while
  // the kernel computes in f16); the link moves the wider side. Each
  // operand's traffic goes over the channel of its space (DRAM or SHM).
  double lhsBytes = double(tm * tk) * dtypeSize(g.lhs), rhsBytes = double(tk * tn) * dtypeSize(g.rhs);
  double stepBytes = lhsBytes + rhsBytes;
  double outBytes = double(tiles * tm * tn) * dtypeSize(g.out);
  double resBytes = g.hasResidual ? double(tiles * tm * tn) * dtypeSize(g.residual) : 0;
  double steps = double(tiles * tilesK);
  auto onChannel = [&](bool shm) {
    return (g.lhsShm == shm ? steps * lhsBytes : 0) + (g.rhsShm == shm ? steps * rhsBytes : 0) +
           (g.outShm == shm ? outBytes : 0) + (g.residualShm == shm ? resBytes : 0);
  };
  double dram = onChannel(false) / dramBytesPerCycle(t);
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

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

LogicalResult lowerMatmul(ProgramBuilder &p, MatmulOp op) {
  using namespace isa::fld;
  enum { kLoad, kMm, kEpi, kStore, kBias, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  MatmulGeometry g = MatmulGeometry::get(op);
  ArrayRef<int64_t> tile = op.getTilingAttr().getTile();
  MatmulLayout l = layoutMatmul(g, tile[0], tile[1], tile[2]);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tiles ") << tile[0] << "x" << tile[1] << "x" << tile[2] << " need "
                                  << l.bytes << " bytes of SPM, target '" << p.t.name()
                                  << "' has " << p.t.spm_bytes();
  auto lhs = p.addressOf(op.getLhs()), rhs = p.addressOf(op.getRhs()),
       out = p.addressOf(op.getOut());
  FailureOr<Addr> bias = op.getBias() ? p.addressOf(op.getBias()) : FailureOr<Addr>(Addr{});
  FailureOr<Addr> residual =
      op.getResidual() ? p.addressOf(op.getResidual()) : FailureOr<Addr>(Addr{});
  if (failed(lhs) || failed(rhs) || failed(out) || failed(bias) || failed(residual))
    return failure();
  int64_t tilesM = ceilDiv(g.m, l.tm), tilesN = ceilDiv(g.n, l.tn), tilesK = ceilDiv(g.k, l.tk);
  int64_t numTiles = g.batch() * tilesM * tilesN;
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
  bool hasBias = g.biasMode != BiasMode::None;
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  npu::Activation act = op.getActivation();
  bool hasEpi = hasBias || alpha != 1.0f || act != npu::Activation::None;

  roundRobin(numNe, numTiles, tilesK, [&](unsigned ne, int64_t t) {
    int64_t jt = t / tilesK, kk = t % tilesK; // local tile, k-step
    int64_t tileIdx = int64_t(ne) + jt * numNe;
    int64_t bIdx = tileIdx / (tilesM * tilesN), rem = tileIdx % (tilesM * tilesN);
    int64_t i = rem / tilesN, j = rem % tilesN;
    int64_t mt = std::min(l.tm, g.m - i * l.tm), nt = std::min(l.tn, g.n - j * l.tn);
    int64_t kt = std::min(l.tk, g.k - kk * l.tk);
    SmallVector<int64_t> bi = unflatten(bIdx, g.batchShape);
    int buf = int(t % 2), acc = int(jt % 2);
    auto semOf = [&](unsigned kind) { return p.sem(ne, kind); };

    if (kk == 0 && hasBias) {
      Addr src = bias->plus(dot(bi, g.biasBatchStrides) + i * l.tm * g.biasStrideM +
                            j * l.tn * g.biasStrideN);
      int64_t d = g.biasMode == BiasMode::Row   ? p.desc(g.bias, DType::F32, {nt}, {g.biasStrideN}, {1})
                  : g.biasMode == BiasMode::Col ? p.desc(g.bias, DType::F32, {mt}, {g.biasStrideM}, {1})
                                                : p.desc(g.bias, DType::F32, {mt, nt},
                                                         {g.biasStrideM, g.biasStrideN}, {nt, 1});
      Inst in = p.dma(p.storeQueue(ne), true, src, l.bias[acc], d);
      ProgramBuilder::addWait(in, semOf(kEpi), jt - 1);
      p.setSignal(in, semOf(kBias));
      p.emit(in);
    }
    // A residual starts the accumulator (converted to f32 on the way in),
    // once the store of the tile that last used this accumulator is done.
    // Its queue completes it before the operand loads the mm waits for.
    if (kk == 0 && g.hasResidual) {
      Inst in = p.dma(p.loadQueue(ne), true,
                      residual->plus(bIdx * g.m * g.n + i * l.tm * g.n + j * l.tn), l.acc[acc],
                      p.desc(g.residual, DType::F32, {mt, nt}, {g.n, 1}, {nt, 1}));
      ProgramBuilder::addWait(in, semOf(kStore), jt - 1);
      p.emit(in);
    }
    // Operand tiles, converted to the compute type on the way in.
    int64_t lhsOff = dot(bi, g.lhsBatchStrides) +
                     (g.ta ? kk * l.tk * g.m + i * l.tm : i * l.tm * g.k + kk * l.tk);
    int64_t da = g.ta ? p.desc(g.lhs, g.compute, {kt, mt}, {g.m, 1}, {mt, 1})
                      : p.desc(g.lhs, g.compute, {mt, kt}, {g.k, 1}, {kt, 1});
    Inst la = p.dma(p.loadQueue(ne), true, lhs->plus(lhsOff), l.a[buf], da);
    ProgramBuilder::addWait(la, semOf(kMm), t - 1);
    p.emit(la);
    int64_t rhsOff = dot(bi, g.rhsBatchStrides) +
                     (g.tb ? j * l.tn * g.k + kk * l.tk : kk * l.tk * g.n + j * l.tn);
    int64_t db = g.tb ? p.desc(g.rhs, g.compute, {nt, kt}, {g.k, 1}, {kt, 1})
                      : p.desc(g.rhs, g.compute, {kt, nt}, {g.n, 1}, {nt, 1});
    Inst lb = p.dma(p.loadQueue(ne), true, rhs->plus(rhsOff), l.b[buf], db);
    p.setSignal(lb, semOf(kLoad));
    p.emit(lb);

    Inst mm(Opcode::Mm, uint8_t(ne));
    mm[Mm::c] = l.acc[acc];
    mm[Mm::a] = l.a[buf];
    mm[Mm::b] = l.b[buf];
    mm[Mm::m] = mt;
    mm[Mm::n] = nt;
    mm[Mm::k] = kt;
    mm[Mm::in] = int64_t(g.compute);
    mm[Mm::acc] = kk > 0 || g.hasResidual;
    mm[Mm::ta] = g.ta;
    mm[Mm::tb] = g.tb;
    ProgramBuilder::addWait(mm, semOf(kLoad), t + 1);
    if (kk == 0)
      ProgramBuilder::addWait(mm, semOf(kStore), jt - 1);
    p.setSignal(mm, semOf(kMm));
    p.emit(mm);
    if (kk + 1 < tilesK)
      return;

    // Epilogue on the accumulator, then the store (with a cast).
    SmallVector<Inst> epi;
    using isa::Bcast;
    int64_t a = l.acc[acc];
    if (hasBias && beta != 1.0f) {
      int64_t n = g.biasMode == BiasMode::Row ? nt : g.biasMode == BiasMode::Col ? mt : mt * nt;
      epi.push_back(ProgramBuilder::vec(Opcode::VMul, ne, l.bias[acc], l.bias[acc], 0, 1, n,
                                        Bcast::Imm, beta));
    }
    if (alpha != 1.0f)
      epi.push_back(ProgramBuilder::vec(Opcode::VMul, ne, a, a, 0, mt, nt, Bcast::Imm, alpha));
    if (hasBias)
      epi.push_back(ProgramBuilder::vec(Opcode::VAdd, ne, a, a, l.bias[acc], mt, nt,
                                        g.biasMode == BiasMode::Row   ? Bcast::Row
                                        : g.biasMode == BiasMode::Col ? Bcast::Col
                                                                      : Bcast::None));
    if (act != npu::Activation::None)
      epi.push_back(ProgramBuilder::vun(act == npu::Activation::Relu       ? Opcode::VRelu
                                        : act == npu::Activation::Sigmoid  ? Opcode::VSigmoid
                                        : act == npu::Activation::Gelu     ? Opcode::VGelu
                                        : act == npu::Activation::GeluTanh ? Opcode::VGeluTanh
                                        : act == npu::Activation::Silu     ? Opcode::VSilu
                                                                             : Opcode::VTanh,
                                        ne, a, a, mt, nt));
    Inst st = p.dma(p.storeQueue(ne), false,
                    out->plus(bIdx * g.m * g.n + i * l.tm * g.n + j * l.tn), a,
                    p.desc(DType::F32, g.out, {mt, nt}, {nt, 1}, {g.n, 1}));
    if (hasEpi) {
      ProgramBuilder::addWait(epi.front(), semOf(kMm), t + 1);
      if (hasBias)
        ProgramBuilder::addWait(epi.front(), semOf(kBias), jt + 1);
      p.setSignal(epi.back(), semOf(kEpi));
      for (const Inst &in : epi)
        p.emit(in);
      ProgramBuilder::addWait(st, semOf(kEpi), jt + 1);
    } else {
      ProgramBuilder::addWait(st, semOf(kMm), t + 1);
    }
    p.setSignal(st, semOf(kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
