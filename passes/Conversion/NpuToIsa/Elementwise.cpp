//===- Elementwise.cpp - Elementwise kernels --------------------------------===//
#include "passes/Conversion/NpuToIsa/ProgramBuilder.h"

namespace rbln::npu_to_isa {

LogicalResult lowerElementwise(ProgramBuilder &p, ElementwiseOp op) {
  enum { kLoad, kVec, kStore, kNumSems };
  if (!op.getTile())
    return op.emitError("elementwise kernel has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  auto geometry = ElementwiseGeometry::get(op);
  if (failed(geometry))
    return op.emitError("needs more than 4 strided dims");
  ElementwiseGeometry &g = *geometry;
  ElementwiseLayout l = layoutElementwise(g, (*op.getTile())[0], (*op.getTile())[1]);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tile needs ") << l.bytes << " bytes of SPM";
  SmallVector<Addr> ins;
  for (Value v : op.getInputs()) {
    auto a = p.addressOf(v);
    if (failed(a))
      return failure();
    ins.push_back(*a);
  }
  auto out = p.addressOf(op.getOut());
  if (failed(out))
    return failure();
  int64_t rb = ceilDiv(g.shape[2], l.rows), cb = ceilDiv(g.shape[3], l.cols);
  int64_t numTiles = g.shape[0] * g.shape[1] * rb * cb;
  unsigned numNe = p.t.num_ne();
  Opcode vop = Opcode::VCopy;
  switch (op.getKind()) {
#define RBLN_UNARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                          \
  case ElementwiseKind::NPU_KIND:                                              \
    vop = Opcode::ISA_OP;                                                      \
    break;
#define RBLN_BINARY RBLN_UNARY
#include "rbln/Support/ElementwiseOps.def"
  case ElementwiseKind::Gelu: vop = Opcode::VGelu; break;
  case ElementwiseKind::GeluTanh: vop = Opcode::VGeluTanh; break;
  case ElementwiseKind::Silu: vop = Opcode::VSilu; break;
  case ElementwiseKind::Clip: vop = Opcode::VMax; break; // then VMin, below
  case ElementwiseKind::Not: vop = Opcode::VCmpEq; break;    // x == 0
  case ElementwiseKind::NonZero: vop = Opcode::VCmpNe; break; // x != 0
  case ElementwiseKind::IsNan: vop = Opcode::VCmpNe; break;   // x != x
  case ElementwiseKind::Select: vop = Opcode::VSel; break;    // after dst = y
  case ElementwiseKind::Rotary: vop = Opcode::VMul; break;    // then VAdd, below
  case ElementwiseKind::Copy: break;
  }
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t idx = int64_t(ne) + t * numNe;
    SmallVector<int64_t> pos = unflatten(idx, {g.shape[0], g.shape[1], rb, cb});
    int64_t r0 = pos[2] * l.rows, c0 = pos[3] * l.cols;
    int64_t rt = std::min(l.rows, g.shape[2] - r0), ct = std::min(l.cols, g.shape[3] - c0);
    std::array<int64_t, 4> at{pos[0], pos[1], r0, c0};
    int buf = int(t % 2);
    for (size_t k = 0; k < ins.size(); ++k) {
      const auto &s = g.inStrides[k];
      int64_t d = p.desc(g.inTypes[k], DType::F32, {rt, ct}, {s[2], s[3]}, {ct, 1});
      Inst ld = p.dma(p.loadQueue(ne), true, ins[k].plus(dot(at, s)), l.in[k][size_t(buf)], d);
      if (k == 0)
        ProgramBuilder::addWait(ld, p.sem(ne, g.isCopy ? kStore : kVec), t - 1);
      if (k + 1 == ins.size())
        p.setSignal(ld, p.sem(ne, kLoad));
      p.emit(ld);
      if (g.rotary && k == 0) {
        // rotate_half's data movement is DMA: x's halves land swapped.
        int64_t h = ct / 2;
        int64_t hd = p.desc(g.inTypes[0], DType::F32, {rt, h}, {s[2], s[3]}, {ct, 1});
        p.emit(p.dma(p.loadQueue(ne), true, ins[0].plus(dot(at, s) + h * s[3]),
                     l.swapped[buf], hd));
        p.emit(p.dma(p.loadQueue(ne), true, ins[0].plus(dot(at, s)), l.swapped[buf] + 4 * h, hd));
      }
    }
    int64_t result = g.isCopy ? l.in[0][size_t(buf)] : l.out[buf];
    if (!g.isCopy) {
      SmallVector<Inst, 2> ops;
      int64_t in0 = l.in[0][size_t(buf)];
      if (op.getKind() == ElementwiseKind::Clip) {
        ArrayRef<float> bounds = *op.getBounds();
        ops.push_back(ProgramBuilder::vec(Opcode::VMax, ne, result, in0, 0, rt, ct,
                                          isa::Bcast::Imm, bounds[0]));
        ops.push_back(ProgramBuilder::vec(Opcode::VMin, ne, result, result, 0, rt, ct,
                                          isa::Bcast::Imm, bounds[1]));
      } else if (op.getKind() == ElementwiseKind::Not || op.getKind() == ElementwiseKind::NonZero) {
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, 0, rt, ct, isa::Bcast::Imm, 0.0f));
      } else if (op.getKind() == ElementwiseKind::IsNan) {
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, in0, rt, ct));
      } else if (g.rotary) {
        // out = x * cos + (swapped(x) * sign) * sin
        int64_t xs = l.swapped[buf];
        ops.push_back(ProgramBuilder::vec(Opcode::VMul, ne, xs, xs, l.in[3][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(Opcode::VMul, ne, xs, xs, l.in[2][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(Opcode::VMul, ne, result, in0, l.in[1][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(Opcode::VAdd, ne, result, result, xs, rt, ct));
      } else if (op.getKind() == ElementwiseKind::Select) {
        ops.push_back(ProgramBuilder::vun(Opcode::VCopy, ne, result, l.in[2][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, l.in[1][size_t(buf)], rt, ct));
      } else if (isBinary(op.getKind())) {
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, l.in[1][size_t(buf)], rt, ct));
      } else {
        ops.push_back(ProgramBuilder::vun(vop, ne, result, in0, rt, ct));
      }
      ProgramBuilder::addWait(ops.front(), p.sem(ne, kLoad), t + 1);
      ProgramBuilder::addWait(ops.front(), p.sem(ne, kStore), t - 1);
      p.setSignal(ops.back(), p.sem(ne, kVec));
      for (const Inst &v : ops)
        p.emit(v);
    }
    int64_t d = p.desc(DType::F32, g.outType, {rt, ct}, {ct, 1}, {g.outStrides[2], g.outStrides[3]});
    Inst st = p.dma(p.storeQueue(ne), false, out->plus(dot(at, g.outStrides)), result, d);
    ProgramBuilder::addWait(st, p.sem(ne, g.isCopy ? kLoad : kVec), t + 1);
    p.setSignal(st, p.sem(ne, kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

} // namespace rbln::npu_to_isa
