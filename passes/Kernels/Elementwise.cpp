//===- Elementwise.cpp - Elementwise kernels --------------------------------===//
#include "passes/Kernels/ProgramBuilder.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

// --- elementwise: geometry, tiles and SPM layout --------------------------

FailureOr<ElementwiseGeometry> ElementwiseGeometry::get(ElementwiseOp op) {
  ElementwiseGeometry g;
  auto out = cast<MemRefType>(op.getOut().getType());
  ArrayRef<int64_t> os = out.getShape();
  g.outType = dtypeOf(out.getElementType());
  g.isCopy = op.getKind() == ElementwiseKind::Copy;
  g.rotary = op.getKind() == ElementwiseKind::Rotary;
  SmallVector<SmallVector<int64_t>> strides; // per operand: inputs..., output
  for (Value v : op.getInputs()) {
    auto t = cast<MemRefType>(v.getType());
    g.inTypes.push_back(dtypeOf(t.getElementType()));
    SmallVector<int64_t> ls = layoutStrides(t);
    if (auto perm = op.getPerm()) {
      SmallVector<int64_t> s;
      for (int64_t p : *perm)
        s.push_back(ls[size_t(p)]);
      strides.push_back(s);
    } else {
      strides.push_back(viewStrides(t.getShape(), ls, os));
    }
  }
  strides.push_back(layoutStrides(out));
  // Drop unit dims, then merge neighbours that every operand walks contiguously.
  SmallVector<int64_t> shape;
  SmallVector<SmallVector<int64_t>> st(strides.size());
  for (size_t d = 0; d < os.size(); ++d) {
    bool innermost = d + 1 == os.size();
    if (os[d] == 1 && !(g.rotary && innermost))
      continue;
    bool merge = !shape.empty() && !(g.rotary && innermost);
    for (size_t o = 0; merge && o < strides.size(); ++o)
      merge = st[o].back() == strides[o][d] * os[d];
    if (merge) {
      shape.back() *= os[d];
      for (size_t o = 0; o < strides.size(); ++o)
        st[o].back() = strides[o][d];
    } else {
      shape.push_back(os[d]);
      for (size_t o = 0; o < strides.size(); ++o)
        st[o].push_back(strides[o][d]);
    }
  }
  if (shape.size() > 4)
    return failure();
  size_t pad = 4 - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    g.shape[pad + d] = shape[d];
  for (size_t o = 0; o < strides.size(); ++o) {
    std::array<int64_t, 4> s{0, 0, 0, 0};
    for (size_t d = 0; d < shape.size(); ++d)
      s[pad + d] = st[o][d];
    if (o + 1 < strides.size())
      g.inStrides.push_back(s);
    else
      g.outStrides = s;
  }
  return g;
}

ElementwiseLayout layoutElementwise(const ElementwiseGeometry &g, int64_t rows, int64_t cols) {
  ElementwiseLayout l;
  l.rows = rows, l.cols = cols;
  int64_t tile = alignTo(rows * cols * 4, kSpmAlign), off = 0;
  for (size_t i = 0; i < g.inStrides.size(); ++i) {
    l.in.push_back({off, off + tile});
    off += 2 * tile;
  }
  if (!g.isCopy) {
    l.out[0] = off, l.out[1] = off + tile;
    off += 2 * tile;
  }
  if (g.rotary) {
    l.swapped[0] = off, l.swapped[1] = off + tile;
    off += 2 * tile;
  }
  l.bytes = off;
  return l;
}

FailureOr<ElementwiseLayout> chooseElementwiseTiles(const ElementwiseGeometry &g,
                                                    const TargetDesc &t) {
  int64_t buffers = 2 * int64_t(g.inStrides.size() + (g.isCopy ? 0 : 1) + (g.rotary ? 1 : 0));
  int64_t maxElems = (int64_t(t.spm_bytes()) / buffers - kSpmAlign) / 4;
  if (maxElems < 1 || (g.rotary && maxElems < g.shape[3]))
    return failure();
  int64_t cols = g.rotary ? g.shape[3] : std::min({g.shape[3], maxElems, kMaxField});
  int64_t rows = std::min({g.shape[2], maxElems / cols, kMaxField});
  int64_t outer = g.shape[0] * g.shape[1] * ceilDiv(g.shape[3], cols);
  // With few tiles, cut rows finer so the tile count is a multiple of the NE
  // count and every NE gets an equal share.
  int64_t ne = int64_t(t.num_ne()), blocks = ceilDiv(g.shape[2], rows);
  if (outer * blocks < 8 * ne)
    while (blocks < g.shape[2] && (outer * blocks) % ne != 0)
      ++blocks;
  rows = ceilDiv(g.shape[2], blocks);
  return layoutElementwise(g, rows, cols);
}

} // namespace rbln::npu

// --- lowering into instructions ---------------------------------------------

namespace rbln::npu_to_isa {

LogicalResult lowerElementwise(ProgramBuilder &p, ElementwiseOp op) {
  enum { kLoad, kVec, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  auto geometry = ElementwiseGeometry::get(op);
  if (failed(geometry))
    return op.emitError("needs more than 4 strided dims");
  ElementwiseGeometry &g = *geometry;
  ElementwiseLayout l = layoutElementwise(g, op.getTilingAttr().getTile()[0], op.getTilingAttr().getTile()[1]);
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
  unsigned numNe = unsigned(op.getTilingAttr().getNe());
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
