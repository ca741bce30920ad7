//===- NpuDialect.cpp - The npu dialect -----------------------------------===//
#include "dialects/Npu/NpuDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace rbln::npu;

#include "dialects/Npu/NpuDialect.cpp.inc"
#include "dialects/Npu/NpuEnums.cpp.inc"
#include "dialects/Npu/NpuInterfaces.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "dialects/Npu/NpuTypes.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/Npu/NpuAttrs.cpp.inc"

void NpuDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/Npu/NpuTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Npu/NpuAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Npu/NpuOps.cpp.inc"
      >();
}

MemRefType rbln::npu::dramBufferType(ArrayRef<int64_t> shape, Type elementType) {
  MLIRContext *ctx = elementType.getContext();
  return MemRefType::get(shape, elementType, MemRefLayoutAttrInterface(),
                         MemorySpaceAttr::get(ctx, MemorySpace::Dram));
}

std::optional<MemorySpace> rbln::npu::spaceOf(Type memref) {
  auto space = dyn_cast_or_null<MemorySpaceAttr>(cast<MemRefType>(memref).getMemorySpace());
  return space ? std::optional<MemorySpace>(space.getValue()) : std::nullopt;
}

int64_t rbln::npu::allocatedBytes(MemRefType t) {
  // (4-bit elements two a byte, rounded up; i1 a byte each)
  unsigned bits = t.getElementTypeBitWidth();
  auto bytes = [&](int64_t n) { return bits == 1 ? n : (n * int64_t(bits) + 7) / 8; };
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  if (t.getNumElements() == 0)
    return 0;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return bytes(t.getNumElements());
  int64_t last = offset;
  for (auto [n, s] : llvm::zip(t.getShape(), strides))
    last += (n - 1) * s;
  return bytes(last + 1);
}

SmallVector<int64_t> rbln::npu::contiguousStridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[size_t(i)] = s[size_t(i) + 1] * shape[size_t(i) + 1];
  return s;
}

/// A kernel operand: a buffer in DRAM or SHM (kernels move it to and from
/// their scratchpads themselves) with the identity layout, or with
/// `rowsStrided` any static strides whose innermost one is 1 (kernels that
/// read and write whole rows through their DMA strides).
static LogicalResult verifyBuffer(Operation *op, Type t, StringRef what, bool rowsStrided = false) {
  auto m = cast<MemRefType>(t);
  std::optional<MemorySpace> space = spaceOf(m);
  if (!space || *space == MemorySpace::Spm)
    return op->emitOpError() << what << " must be a buffer in #npu.space<dram> or #npu.space<shm>, got "
                             << t;
  if (m.getLayout().isIdentity())
    return success();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (rowsStrided && succeeded(m.getStridesAndOffset(strides, offset)) && !strides.empty() &&
      strides.back() == 1 && offset != ShapedType::kDynamic &&
      llvm::none_of(strides, [](int64_t s) { return s == ShapedType::kDynamic || s < 0; }))
    return success();
  return op->emitOpError() << what
                           << (rowsStrided ? " must have the identity layout or static strides with "
                                             "contiguous rows"
                                           : " must have the identity layout");
}

LogicalResult ConstantOp::verify() {
  auto vt = cast<ShapedType>(getValue().getType());
  if (vt.getShape() != getType().getShape() || vt.getElementType() != getType().getElementType())
    return emitOpError("value type ") << vt << " does not match the buffer " << getType();
  if (spaceOf(getType()) != MemorySpace::Dram)
    return emitOpError("weights live in the DRAM weight pool: the result must be in #npu.space<dram>, got ")
           << getType();
  return verifyBuffer(*this, getType(), "result");
}

LogicalResult ViewOp::verify() {
  MemRefType src = getSource().getType(), res = getType();
  if (src.getElementType() != res.getElementType())
    return emitOpError("a view must keep the element type");
  if (!isa<StridedLayoutAttr>(res.getLayout())) {
    if (isa<StridedLayoutAttr>(src.getLayout()) || !src.getLayout().isIdentity() ||
        src.getNumElements() != res.getNumElements())
      return emitOpError("a reshape view must keep the element count of a contiguous source");
    return success();
  }
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(res.getStridesAndOffset(strides, offset)) || offset == ShapedType::kDynamic ||
      llvm::any_of(strides, [](int64_t s) { return s < 0 || s == ShapedType::kDynamic; }))
    return emitOpError("a strided view needs a static, non-negative offset and strides");
  // The window must stay inside the root buffer.
  Value root = getSource();
  while (auto v = root.getDefiningOp<ViewOp>())
    root = v.getSource();
  int64_t last = offset;
  for (auto [n, st] : llvm::zip(res.getShape(), strides))
    last += (n - 1) * st;
  if (res.getNumElements() > 0 && last >= cast<MemRefType>(root.getType()).getNumElements())
    return emitOpError("the window reads past its buffer (element ")
           << last << " of " << cast<MemRefType>(root.getType()).getNumElements() << ")";
  return success();
}

LogicalResult FlashAttentionOp::verify() {
  for (auto [v, n] : {std::pair{getQ(), "q"}, {getK(), "k"}, {getV(), "v"}, {getOut(), "out"}})
    if (failed(verifyBuffer(*this, v.getType(), n, /*rowsStrided=*/true)))
      return failure();
  MemRefType q = getQ().getType(), k = getK().getType(), v = getV().getType(), o = getOut().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4 || o.getRank() != 4)
    return emitOpError("q, k, v and out must be [batch, heads, sequence, head dim]");
  if (k.getDimSize(1) == 0 || q.getDimSize(1) % k.getDimSize(1) || v.getDimSize(1) != k.getDimSize(1))
    return emitOpError("query heads must be a multiple of the KV heads");
  if (q.getDimSize(3) != k.getDimSize(3) || k.getDimSize(2) != v.getDimSize(2) ||
      o.getShape() != ArrayRef<int64_t>({q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), v.getDimSize(3)}))
    return emitOpError("shapes do not agree");
  if (getMask() && !isa<FloatType>(getMask().getType().getElementType()))
    return emitOpError("the mask must be additive (float)");
  if (getConsts().getType().getNumElements() != 2)
    return emitOpError("consts must hold {0, -inf}");
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 2 || tl.getSplits() != 1)
      return emitOpError("tiling must have tile [query rows, kv rows] and no splits");
  if (getOutputQuant() && !o.getElementType().isInteger(8))
    return emitOpError("output_quant stores int8 or uint8");
  return success();
}

namespace {
/// The paged-cache operands' common checks: [num_blocks, heads, block_size,
/// d] caches with a power-of-two block size, an i32 table and i64 positions
/// with one row per sequence.
LogicalResult verifyPaged(Operation *op, MemRefType kc, MemRefType vc, MemRefType table,
                          MemRefType pos, int64_t batch, int64_t tokens, int64_t heads,
                          int64_t d, int64_t dv) {
  for (auto [c, dd, n] : {std::tuple(kc, d, "k_cache"), std::tuple(vc, dv, "v_cache")}) {
    if (c.getRank() != 4 || c.getDimSize(1) != heads || c.getDimSize(3) != dd ||
        ShapedType::isDynamic(c.getDimSize(2)) || !isa<FloatType>(c.getElementType()))
      return op->emitOpError(n) << " must be [num_blocks, " << heads << ", block_size, " << dd
                                << "] floats";
  }
  int64_t bs = kc.getDimSize(2);
  if (vc.getDimSize(2) != bs || bs <= 0 || (bs & (bs - 1)))
    return op->emitOpError("the block size must be a power of two, the same for K and V, got ") << bs;
  if (table.getRank() != 2 || table.getDimSize(0) != batch || !table.getElementType().isInteger(32))
    return op->emitOpError("block_table must be i32 [") << batch << ", max_blocks]";
  if (pos.getRank() != 2 || pos.getDimSize(0) != batch || pos.getDimSize(1) != tokens ||
      !pos.getElementType().isInteger(64))
    return op->emitOpError("positions must be i64 [") << batch << ", " << tokens << "]";
  return success();
}
} // namespace

LogicalResult KvCacheWriteOp::verify() {
  MemRefType k = getK().getType(), v = getV().getType();
  if (k.getRank() != 4 || v.getRank() != 4 || k.getDimSize(0) != v.getDimSize(0) ||
      k.getDimSize(1) != v.getDimSize(1) || k.getDimSize(2) != v.getDimSize(2) || !k.hasStaticShape() ||
      !v.hasStaticShape())
    return emitOpError("k and v must be [batch, kv heads, tokens, head dim]");
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 1 || tl.getTile()[0] != 1 || tl.getSplits() != 1)
      return emitOpError("tiling must have tile [1] (one token per NE step) and no splits");
  return verifyPaged(*this, getKCache().getType(), getVCache().getType(), getBlockTable().getType(),
                     getPositions().getType(), k.getDimSize(0), k.getDimSize(2), k.getDimSize(1),
                     k.getDimSize(3), v.getDimSize(3));
}

LogicalResult PagedAttentionOp::verify() {
  MemRefType q = getQ().getType(), kc = getKCache().getType(), vc = getVCache().getType(),
             o = getOut().getType();
  if (q.getRank() != 4 || o.getRank() != 4 || kc.getRank() != 4 || vc.getRank() != 4)
    return emitOpError("q and out must be [batch, heads, tokens, head dim]");
  if (kc.getDimSize(1) <= 0 || q.getDimSize(1) % kc.getDimSize(1))
    return emitOpError("query heads must be a multiple of the KV heads");
  if (failed(verifyPaged(*this, kc, vc, getBlockTable().getType(), getPositions().getType(),
                         q.getDimSize(0), q.getDimSize(2), kc.getDimSize(1), q.getDimSize(3),
                         vc.getDimSize(3))))
    return failure();
  if (o.getShape() != ArrayRef<int64_t>({q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), vc.getDimSize(3)}))
    return emitOpError("out must be [batch, heads, tokens, v head dim]");
  if (getConsts().getType().getNumElements() != 2)
    return emitOpError("consts must hold {0, -inf}");
  if (auto tl = getTilingAttr()) {
    ArrayRef<int64_t> t = tl.getTile();
    if (t.size() != 2 || (t[1] % kc.getDimSize(2) && kc.getDimSize(2) % t[1]) ||
        (tl.getSplits() > 1 && (q.getDimSize(2) != 1 || getWindow() > 0)) ||
        tl.getKv() != KvResidency::Streamed)
      return emitOpError("tiling must have tile [query rows, KV partition length (whole blocks "
                         "or a divisor of the block size)], splits for decode steps without a "
                         "window only");
  }
  return success();
}

LogicalResult GatherOp::verify() {
  for (auto [v, n] : {std::pair{getTable(), "table"}, {getIndices(), "indices"}, {getOut(), "out"}})
    if (failed(verifyBuffer(*this, v.getType(), n)))
      return failure();
  MemRefType t = getTable().getType(), i = getIndices().getType(), o = getOut().getType();
  if (!i.getElementType().isInteger(64) && !i.getElementType().isInteger(32))
    return emitOpError("indices must be i64 or i32");
  if (t.getRank() < 1 || !(isa<FloatType>(t.getElementType()) || t.getElementType().isInteger(8)) ||
      o.getElementType() != t.getElementType())
    return emitOpError("table and out must be float or 8-bit integer buffers of one type");
  int64_t row = t.getNumElements() / std::max<int64_t>(1, t.getDimSize(0));
  if (o.getNumElements() != i.getNumElements() * row)
    return emitOpError("out must hold one table row per index");
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 1)
      return emitOpError("tiling must have tile [rows]");
  return success();
}

LogicalResult MatmulOp::verify() {
  for (auto [v, n] : {std::pair{getLhs(), "lhs"}, {getRhs(), "rhs"}, {getOut(), "out"}})
    if (failed(verifyBuffer(*this, v.getType(), n)))
      return failure();
  Type ct = getComputeType();
  auto l = getLhs().getType(), r = getRhs().getType(), o = getOut().getType();
  if (ct.isInteger(8)) { // the tensor engine's integer mode
    if (l.getElementType() != ct || !getScale())
      return emitOpError("an 8-bit integer compute_type needs lhs of that type and int8 rhs with "
                         "a per-column scale");
  } else if (isa<FloatType>(ct) && ct.getIntOrFloatBitWidth() == 8) { // the FP8 mode
    if (l.getElementType() != ct || r.getElementType() != ct || getScaleBlock())
      return emitOpError("an 8-bit float compute_type needs lhs and rhs of that type");
  } else if (!ct.isF32() && !ct.isF16() && !ct.isBF16()) {
    return emitOpError("compute_type must be f32, f16, bf16, u8/i8 for 8-bit integer lhs, or an 8-bit "
                       "float for 8-bit float operands");
  }
  if (l.getRank() < 2 || r.getRank() < 2 || o.getRank() < 2)
    return emitOpError("operands must have rank >= 2");
  int64_t k = l.getDimSize(l.getRank() - (getTransposeLhs() ? 2 : 1));
  int64_t k2 = r.getDimSize(r.getRank() - (getTransposeRhs() ? 1 : 2));
  if (k != k2)
    return emitOpError("contraction sizes differ: ") << k << " vs " << k2;
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 3)
      return emitOpError("tiling must have tile [tm, tn, tk]");
  if (Value r = getResidual()) {
    if (failed(verifyBuffer(*this, r.getType(), "residual")))
      return failure();
    if (cast<MemRefType>(r.getType()).getShape() != o.getShape())
      return emitOpError("the residual must have the output's shape");
    if (getAlpha().convertToFloat() != 1.0f)
      return emitOpError("a residual needs alpha = 1");
  }
  Type rt = r.getElementType();
  int64_t block = getScaleBlock();
  if (Value s = getScale()) {
    auto st = cast<MemRefType>(s.getType());
    int64_t n = r.getDimSize(r.getRank() - (getTransposeRhs() ? 2 : 1));
    bool f8 = isa<FloatType>(rt) && rt.getIntOrFloatBitWidth() == 8;
    if (!rt.isSignlessInteger(8) && !(f8 && !ct.isInteger(8)) && !(rt.isSignlessInteger(4) && block))
      return emitOpError("a scale needs int8 rhs (or 8-bit float rhs with a float compute type, or int4 "
                         "rhs with a scale_block), got ")
             << rt;
    if (block < 0 || (block && (ct.isInteger(8) || r.getRank() != 2)))
      return emitOpError("scale_block needs 2-D rhs and a float compute type");
    SmallVector<int64_t> want{n};
    if (block)
      want = {(k + block - 1) / block, n};
    if (st.getShape() != ArrayRef<int64_t>(want) || !isa<FloatType>(st.getElementType()) ||
        !st.getLayout().isIdentity())
      return emitOpError("the scale must be a contiguous float buffer of ")
             << (block ? "[ceil(K / scale_block), N] = [" + std::to_string(want[0]) + ", " : "N = [")
             << n << "] elements, got " << st;
    if (rt.isSignlessInteger(4)) { // packed: every DMA starts a row at an even element
      int64_t inner = r.getDimSize(1);
      if (inner % 2 || !r.getLayout().isIdentity())
        return emitOpError("int4 rhs needs contiguous rows of an even length, got ") << r;
    }
    if (auto tl = getTilingAttr(); tl && block) {
      ArrayRef<int64_t> tile = tl.getTile();
      bool inBlock = block % tile[2] == 0 || (tile[2] >= k && k <= block);
      if (!inBlock || (rt.isSignlessInteger(4) && (getTransposeRhs() ? tile[2] : tile[1]) % 2))
        return emitOpError("tiling's tk must divide scale_block ")
               << block << (rt.isSignlessInteger(4) ? " and int4 rows need even tiles" : "");
    }
  } else if (rt.isInteger(8) || rt.isInteger(4) || (isa<FloatType>(rt) && rt.getIntOrFloatBitWidth() == 8)) {
    return emitOpError("narrow rhs needs a scale");
  } else if (block) {
    return emitOpError("scale_block needs a scale");
  }
  if (Value gb = getGridBias()) {
    auto gt = cast<MemRefType>(gb.getType());
    int64_t n = r.getDimSize(r.getRank() - (getTransposeRhs() ? 2 : 1));
    if (!getOutputGrid() || gt.getRank() != 1 || gt.getDimSize(0) != n || !isa<FloatType>(gt.getElementType()) ||
        !gt.getLayout().isIdentity())
      return emitOpError("grid_bias needs an output_grid and a contiguous float buffer of N = ") << n
             << " elements, got " << gt;
  }
  if (auto gt = getGridType())
    if (!getOutputGrid() || !isa<FloatType>(*gt) || gt->getIntOrFloatBitWidth() != 8 ||
        (*getOutputGrid())[1] != 0.0f)
      return emitOpError("a grid_type is an 8-bit float type of an output_grid without zero point");
  Type oe = o.getElementType();
  bool float8Out = isa<FloatType>(oe) && oe.getIntOrFloatBitWidth() == 8;
  if (auto oq = getOutputQuant())
    if (!(oe.isInteger(8) || (float8Out && (*oq)[1] == 0.0f)))
      return emitOpError("output_quant stores int8, uint8 or an 8-bit float (without zero point)");
  return success();
}

unsigned rbln::npu::numInputs(ElementwiseKind k) {
  if (k == ElementwiseKind::Select || k == ElementwiseKind::Quantize)
    return 3;
  if (k == ElementwiseKind::Rotary)
    return 4; // x, cos, sin, and the sign pattern [-1.. +1..] of rotate_half
  return isBinary(k) ? 2 : 1;
}

bool rbln::npu::isBinary(ElementwiseKind k) {
  switch (k) {
#define RBLN_BINARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                         \
  case ElementwiseKind::NPU_KIND:                                              \
    return true;
#include "rbln/Support/ElementwiseOps.def"
  default:
    return false;
  }
}

LogicalResult ElementwiseOp::verify() {
  unsigned want = numInputs(getKind());
  if (!getSaturate()) {
    Type ot = cast<MemRefType>(getOut().getType()).getElementType();
    if (getKind() != ElementwiseKind::Copy || !isa<FloatType>(ot) || ot.getIntOrFloatBitWidth() != 8)
      return emitOpError("saturate = false needs a copy into an 8-bit float buffer");
  }
  if ((getKind() == ElementwiseKind::Clip) != bool(getBounds()) ||
      (getBounds() && getBounds()->size() != 2))
    return emitOpError("clip needs bounds = [min, max], and only clip has bounds");
  if (getInputs().size() != want)
    return emitOpError("kind '") << stringifyElementwiseKind(getKind()) << "' takes " << want
                                 << " inputs, got " << getInputs().size();
  auto out = cast<MemRefType>(getOut().getType());
  SmallVector<Value> operands(getInputs());
  operands.push_back(getOut());
  for (Value v : operands) {
    auto t = cast<MemRefType>(v.getType());
    if (!t.getLayout().isIdentity() && getKind() != ElementwiseKind::Copy)
      return emitOpError("only copy kernels take strided views");
  }
  if (auto perm = getPerm()) {
    if (getKind() != ElementwiseKind::Copy)
      return emitOpError("perm is only allowed on copy");
    auto in = cast<MemRefType>(getInputs()[0].getType());
    if (int64_t(perm->size()) != in.getRank())
      return emitOpError("perm size must equal the input rank");
    for (size_t i = 0; i < perm->size(); ++i)
      if ((*perm)[i] < 0 || (*perm)[i] >= in.getRank() ||
          out.getDimSize(i) != in.getDimSize((*perm)[i]))
        return emitOpError("out dim ") << i << " must equal input dim " << (*perm)[i];
  } else {
    for (Value v : getInputs()) {
      auto in = cast<MemRefType>(v.getType());
      auto b = rbln::broadcastShapes(in.getShape(), out.getShape());
      if (failed(b) || ArrayRef<int64_t>(*b) != out.getShape())
        return emitOpError("input ") << in << " does not broadcast to " << out;
    }
  }
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 2)
      return emitOpError("tiling must have tile [rows, cols]");
  return success();
}

LogicalResult RowsOp::verify() {
  auto in = cast<MemRefType>(getInput().getType()), out = cast<MemRefType>(getOut().getType());
  if (in.getRank() != 2)
    return emitOpError("input must be a [rows, len] buffer");
  bool norm = getKind() == RowKind::LayerNorm || getKind() == RowKind::RmsNorm;
  if (norm) {
    if (out.getShape() != in.getShape())
      return emitOpError("a normalization's output has the input's shape");
    if (!getScale())
      return emitOpError("a normalization needs a scale");
    for (Value v : {getScale(), getBias()})
      if (v && cast<MemRefType>(v.getType()).getShape() != ArrayRef<int64_t>{in.getDimSize(1)})
        return emitOpError("scale and bias must be [") << in.getDimSize(1) << "]";
    if (getBias() && getKind() != RowKind::LayerNorm)
      return emitOpError("only layer_norm takes a bias");
    auto eightBit = [](Value v) { return cast<MemRefType>(v.getType()).getElementType().isInteger(8); };
    if (getOutputQuant() && !eightBit(getOut()))
      return emitOpError("output_quant stores int8 or uint8");
    if (getResidualQuant() && (!getResidual() || !eightBit(getResidual())))
      return emitOpError("residual_quant reads an int8 or uint8 residual");
    if (Value r = getResidual()) {
      if (failed(verifyBuffer(*this, r.getType(), "residual")))
        return failure();
      if (cast<MemRefType>(r.getType()).getShape() != in.getShape())
        return emitOpError("the residual must have the input's shape");
    }
  } else {
    if (out.getShape() != ArrayRef<int64_t>{in.getDimSize(0)})
      return emitOpError("a reduction's output is [") << in.getDimSize(0) << "]";
    if (getScale() || getBias() || getResidual() || getOutputQuant() || getResidualQuant())
      return emitOpError("a reduction takes no scale, bias, residual or quantization");
  }
  if ((getKind() == RowKind::MaxMin) != bool(getOut2()))
    return emitOpError("max_min, and only max_min, writes a second output");
  if (Value o2 = getOut2()) {
    if (failed(verifyBuffer(*this, o2.getType(), "out2")))
      return failure();
    if (cast<MemRefType>(o2.getType()) .getShape() != out.getShape())
      return emitOpError("out2 must have out's shape");
  }
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 1)
      return emitOpError("tiling must have tile [rows]");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (getInput().getType().getShape() != getOut().getType().getShape())
    return emitOpError("input and output shapes must match");
  if (auto tl = getTilingAttr())
    if (tl.getTile().size() != 1)
      return emitOpError("tiling must have tile [rows]");
  return success();
}

LogicalResult TilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> tile, int64_t ne, int64_t spm, int64_t splits,
                                 KvResidency kv) {
  if (tile.empty() || llvm::any_of(tile, [](int64_t v) { return v <= 0; }))
    return emitError() << "tile sizes must be positive";
  if (ne < 1 || spm < 0 || splits < 1)
    return emitError() << "a tiling needs ne >= 1, spm >= 0 and splits >= 1";
  return success();
}

// The tile-program ops' `custom<Waits>` and `custom<CpIndices>` directives (NpuTileOps.cpp).
namespace rbln::npu {
ParseResult parseWaits(OpAsmParser &p, SmallVectorImpl<OpAsmParser::UnresolvedOperand> &sems,
                       SmallVectorImpl<OpAsmParser::UnresolvedOperand> &counts);
void printWaits(OpAsmPrinter &p, Operation *op, OperandRange sems, OperandRange counts);
ParseResult parseCpIndices(OpAsmParser &p, SmallVectorImpl<OpAsmParser::UnresolvedOperand> &indices,
                           SmallVectorImpl<Type> &types);
void printCpIndices(OpAsmPrinter &p, Operation *op, OperandRange indices, TypeRange types);
} // namespace rbln::npu

#define GET_OP_CLASSES
#include "dialects/Npu/NpuOps.cpp.inc"
