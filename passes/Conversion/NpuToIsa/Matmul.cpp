//===- Matmul.cpp - Tiled matmul with its epilogue --------------------------===//
#include "passes/Conversion/NpuToIsa/ProgramBuilder.h"

namespace rbln::npu_to_isa {

LogicalResult lowerMatmul(ProgramBuilder &p, MatmulOp op) {
  using namespace isa::fld;
  enum { kLoad, kMm, kEpi, kStore, kBias, kNumSems };
  if (!op.getTile())
    return op.emitError("matmul has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  MatmulGeometry g = MatmulGeometry::get(op);
  ArrayRef<int64_t> tile = *op.getTile();
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
  unsigned numNe = p.t.num_ne();
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
