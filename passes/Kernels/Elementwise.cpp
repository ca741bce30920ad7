//===- Elementwise.cpp - Elementwise kernels --------------------------------===//
#include "passes/Kernels/TileBuilder.h"

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
  // Each input, the output (a copy stores its input's tile) and rotary's
  // swapped halves: f32 tiles (a same-type copy's in its type), double
  // buffered.
  int64_t buffers = int64_t(g.inStrides.size()) + (g.isCopy ? 0 : 1) + (g.rotary ? 1 : 0);
  SpmSize spm;
  spm.add(rows * cols * g.tileElemBytes(), 2 * buffers);
  l.bytes = spm.bytes;
  return l;
}

FailureOr<ElementwiseLayout> chooseElementwiseTiles(const ElementwiseGeometry &g,
                                                    const TargetDesc &t) {
  int64_t buffers = 2 * int64_t(g.inStrides.size() + (g.isCopy ? 0 : 1) + (g.rotary ? 1 : 0));
  int64_t maxElems = (int64_t(t.spm_bytes()) / buffers - kSpmAlign) / g.tileElemBytes();
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

// --- materialization: the tile program -------------------------------------
//
// Every operand is bound as a 4-D strided view of its buffer over the
// output's (collapsed) index space — broadcast dims with stride 0, a
// transpose's permuted strides — so a tile at [b0, b1, r0, c0] is the same
// indices in every operand. Per tile, double buffered: the inputs' loads
// (rotary also loads x's two halves swapped) -> the kind's vector ops -> the
// store; a copy (or cast) stores the loaded tile. Written one item at a
// time: npu-multi-buffer double-buffers the tiles, npu-insert-sync orders
// the loads, vector ops and store from the buffers they share.

namespace {

/// The vector instruction an elementwise kind computes with.
isa::Opcode vectorOpcode(ElementwiseKind k) {
  using isa::Opcode;
  switch (k) {
#define RBLN_UNARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                          \
  case ElementwiseKind::NPU_KIND:                                              \
    return Opcode::ISA_OP;
#define RBLN_BINARY RBLN_UNARY
#include "rbln/Support/ElementwiseOps.def"
  case ElementwiseKind::Gelu: return Opcode::VGelu;
  case ElementwiseKind::GeluTanh: return Opcode::VGeluTanh;
  case ElementwiseKind::Silu: return Opcode::VSilu;
  case ElementwiseKind::Clip: return Opcode::VMax;    // then v.min
  case ElementwiseKind::Not: return Opcode::VCmpEq;   // x == 0
  case ElementwiseKind::NonZero: return Opcode::VCmpNe; // x != 0
  case ElementwiseKind::IsNan: return Opcode::VCmpNe; // x != x
  case ElementwiseKind::Select: return Opcode::VSel;  // after dst = y
  case ElementwiseKind::Quantize: return Opcode::VDiv; // then v.round, v.add
  case ElementwiseKind::Rotary: return Opcode::VMul;  // then v.add
  case ElementwiseKind::Copy: return Opcode::VCopy;
  }
  return Opcode::VCopy;
}

} // namespace

LogicalResult materializeElementwise(OpBuilder &b, ElementwiseOp op) {
  auto geometry = ElementwiseGeometry::get(op);
  if (failed(geometry))
    return op.emitError("needs more than 4 strided dims");
  ElementwiseGeometry &g = *geometry;
  TilingAttr tiling = op.getTilingAttr();
  ElementwiseLayout l = layoutElementwise(g, tiling.getTile()[0], tiling.getTile()[1]);
  Location loc = op.getLoc();
  ArrayRef<int64_t> shape(g.shape);
  SmallVector<Value> operands;
  for (auto [k, v] : llvm::enumerate(op.getInputs()))
    operands.push_back(asView(b, loc, v, shape, g.inStrides[k]));
  operands.push_back(asView(b, loc, op.getOut(), shape, g.outStrides));
  TileBuilder t(b, loc);
  ValueRange bufs = t.begin(g.isCopy ? KernelKind::Copy : KernelKind::Elementwise, tiling, operands);
  size_t numIn = op.getInputs().size();
  Value out = bufs[numIn];
  // Tiles of rows x cols, packed (a partial tile's rows are its own width
  // apart).
  int64_t tileElems = l.rows * l.cols;
  auto pair = [&](std::string name, Type elem = {}) { return t.spmItem(name, {tileElems}, elem); };
  // (ElementwiseGeometry::tileInStoredType: a same-type copy's tiles keep
  // the stored type.)
  Type tileElem = g.tileInStoredType() ? cast<MemRefType>(op.getOut().getType()).getElementType() : Type();
  SmallVector<Value> in;
  for (size_t k = 0; k < numIn; ++k)
    in.push_back(pair("in" + std::to_string(k), tileElem));
  Value res = g.isCopy ? in[0] : pair("out");
  Value swapped = g.rotary ? pair("swapped") : Value();
  int64_t rb = ceilDiv(g.shape[2], l.rows), cb = ceilDiv(g.shape[3], l.cols);
  using isa::Opcode;
  Opcode vop = vectorOpcode(op.getKind());
  // An operand the vector op reads as src1 that is constant along a tile's
  // rows (column stride 0: a scalar, one value per row) loads one value per
  // row and is read with a column broadcast; one whose rows are all alike
  // (row stride 0: a bias row) loads one row, read with a row broadcast.
  // Neither is spread over the whole tile by the DMA.
  ElementwiseKind kind = op.getKind();
  bool src1Kind = isBinary(kind) || kind == ElementwiseKind::Quantize;
  auto bcastOf = [&](size_t k) {
    if (!src1Kind || k == 0)
      return Broadcast::None;
    if (g.inStrides[k][3] == 0 && g.shape[3] > 1)
      return Broadcast::Col;
    return g.inStrides[k][2] == 0 && g.shape[2] > 1 ? Broadcast::Row : Broadcast::None;
  };
  t.distribute(g.shape[0] * g.shape[1] * rb * cb, [&](Value item, Value, Value ne) {
    // item -> (b0, b1, row block, column block)
    Value cbi = t.rem(item, cb), rest = t.div(item, cb);
    Value rbi = t.rem(rest, rb);
    rest = t.div(rest, rb);
    Value b1 = t.rem(rest, g.shape[1]), b0 = t.div(rest, g.shape[1]);
    Value r0 = t.mul(rbi, l.rows), c0 = t.mul(cbi, l.cols);
    TileBuilder::Size rt = t.rowsLeft(r0, g.shape[2], l.rows);
    TileBuilder::Size ct = t.rowsLeft(c0, g.shape[3], l.cols);
    Value zero = t.c(0);
    SmallVector<Value, 4> at{b0, b1, r0, c0};
    auto tile = [&](Value v) { return TileBuilder::Operand{v, {zero}}; };
    for (size_t k = 0; k < numIn; ++k) {
      const auto &s = g.inStrides[k];
      if (bcastOf(k) == Broadcast::Col)
        t.dma(DmaQueue::Load, bufs[k], at, in[k], {zero}, {rt}, {s[2]}, {1}, ne);
      else if (bcastOf(k) == Broadcast::Row)
        t.dma(DmaQueue::Load, bufs[k], at, in[k], {zero}, {ct}, {s[3]}, {1}, ne);
      else
        t.dma(DmaQueue::Load, bufs[k], at, in[k], {zero}, {rt, ct}, {s[2], s[3]}, {ct, 1}, ne);
      if (g.rotary && k == 0) {
        // rotate_half's data movement is DMA: x's halves land swapped.
        int64_t h = std::get<int64_t>(ct) / 2;
        SmallVector<Value, 4> hi{b0, b1, r0, t.add(c0, h)};
        t.dma(DmaQueue::Load, bufs[0], hi, swapped, {zero}, {rt, h}, {s[2], s[3]}, {ct, 1}, ne);
        t.dma(DmaQueue::Load, bufs[0], at, swapped, {t.c(h)}, {rt, h}, {s[2], s[3]}, {ct, 1}, ne);
      }
    }
    if (!g.isCopy) {
      using V = TileBuilder::VecStep;
      SmallVector<V, 4> ops;
      TileBuilder::Operand r = tile(res), x = tile(in[0]);
      if (kind == ElementwiseKind::Clip) {
        ArrayRef<float> bounds = *op.getBounds();
        ops.push_back({Opcode::VMax, r, x, {}, {}, Broadcast::Imm, bounds[0]});
        ops.push_back({Opcode::VMin, r, r, {}, {}, Broadcast::Imm, bounds[1]});
      } else if (kind == ElementwiseKind::Not || kind == ElementwiseKind::NonZero) {
        ops.push_back({vop, r, x, {}, {}, Broadcast::Imm, 0.0f});
      } else if (kind == ElementwiseKind::IsNan) {
        ops.push_back({vop, r, x, x});
      } else if (g.rotary) {
        // out = x * cos + (swapped(x) * sign) * sin
        TileBuilder::Operand xs = tile(swapped);
        ops.push_back({Opcode::VMul, xs, xs, tile(in[3])});
        ops.push_back({Opcode::VMul, xs, xs, tile(in[2])});
        ops.push_back({Opcode::VMul, r, x, tile(in[1])});
        ops.push_back({Opcode::VAdd, r, r, xs});
      } else if (kind == ElementwiseKind::Quantize) {
        // x / scale rounded half to even, plus the zero point; the store's
        // conversion saturates to int8/uint8.
        ops.push_back({Opcode::VDiv, r, x, tile(in[1]), {}, bcastOf(1)});
        ops.push_back({Opcode::VRound, r, r, {}});
        ops.push_back({Opcode::VAdd, r, r, tile(in[2]), {}, bcastOf(2)});
      } else if (kind == ElementwiseKind::Select) {
        ops.push_back({Opcode::VCopy, r, tile(in[2]), {}});
        ops.push_back({vop, r, x, tile(in[1])});
      } else if (isBinary(kind)) {
        ops.push_back({vop, r, x, tile(in[1]), {}, bcastOf(1)});
      } else {
        ops.push_back({vop, r, x, {}});
      }
      t.vecChain(ops, rt, ct, ne, {}, Value());
    }
    DmaOp store = t.dma(DmaQueue::Store, res, {zero}, out, at, {rt, ct}, {ct, 1},
                        {g.outStrides[2], g.outStrides[3]}, ne);
    if (!op.getSaturate()) // ONNX Cast's saturate=0: the store's conversion
      store.setSaturate(false);
  });
  t.end();
  return success();
}

} // namespace rbln::npu
