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
#define GET_ATTRDEF_CLASSES
#include "dialects/Npu/NpuAttrs.cpp.inc"

void NpuDialect::initialize() {
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

static LogicalResult verifyDram(Operation *op, Type t, StringRef what) {
  auto m = cast<MemRefType>(t);
  auto space = dyn_cast_or_null<MemorySpaceAttr>(m.getMemorySpace());
  if (!space || space.getValue() != MemorySpace::Dram)
    return op->emitOpError() << what << " must be a buffer in #npu.space<dram>, got " << t;
  if (!m.getLayout().isIdentity())
    return op->emitOpError() << what << " must have the identity layout";
  return success();
}

LogicalResult ConstantOp::verify() {
  auto vt = cast<ShapedType>(getValue().getType());
  if (vt.getShape() != getType().getShape() || vt.getElementType() != getType().getElementType())
    return emitOpError("value type ") << vt << " does not match the buffer " << getType();
  return verifyDram(*this, getType(), "result");
}

LogicalResult ViewOp::verify() {
  if (getSource().getType().getNumElements() != getType().getNumElements() ||
      getSource().getType().getElementType() != getType().getElementType())
    return emitOpError("a view must keep the element count and type");
  return success();
}

LogicalResult MatmulOp::verify() {
  for (auto [v, n] : {std::pair{getLhs(), "lhs"}, {getRhs(), "rhs"}, {getOut(), "out"}})
    if (failed(verifyDram(*this, v.getType(), n)))
      return failure();
  Type ct = getComputeType();
  if (!ct.isF32() && !ct.isF16() && !ct.isBF16())
    return emitOpError("compute_type must be f32, f16 or bf16");
  auto l = getLhs().getType(), r = getRhs().getType(), o = getOut().getType();
  if (l.getRank() < 2 || r.getRank() < 2 || o.getRank() < 2)
    return emitOpError("operands must have rank >= 2");
  int64_t k = l.getDimSize(l.getRank() - (getTransposeLhs() ? 2 : 1));
  int64_t k2 = r.getDimSize(r.getRank() - (getTransposeRhs() ? 1 : 2));
  if (k != k2)
    return emitOpError("contraction sizes differ: ") << k << " vs " << k2;
  if (auto t = getTile()) {
    if (t->size() != 3 || llvm::any_of(*t, [](int64_t v) { return v <= 0; }))
      return emitOpError("tile must be [tm, tn, tk] with positive sizes");
  }
  return success();
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
  unsigned want = isBinary(getKind()) ? 2 : 1;
  if ((getKind() == ElementwiseKind::Clip) != bool(getBounds()) ||
      (getBounds() && getBounds()->size() != 2))
    return emitOpError("clip needs bounds = [min, max], and only clip has bounds");
  if (getInputs().size() != want)
    return emitOpError("kind '") << stringifyElementwiseKind(getKind()) << "' takes " << want
                                 << " inputs, got " << getInputs().size();
  auto out = cast<MemRefType>(getOut().getType());
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
      auto b = rbln::graph::broadcastShapes(in.getShape(), out.getShape());
      if (failed(b) || ArrayRef<int64_t>(*b) != out.getShape())
        return emitOpError("input ") << in << " does not broadcast to " << out;
    }
  }
  if (auto t = getTile())
    if (t->size() != 2 || (*t)[0] <= 0 || (*t)[1] <= 0)
      return emitOpError("tile must be [rows, cols] with positive sizes");
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
  } else {
    if (out.getShape() != ArrayRef<int64_t>{in.getDimSize(0)})
      return emitOpError("a reduction's output is [") << in.getDimSize(0) << "]";
    if (getScale() || getBias())
      return emitOpError("a reduction takes no scale or bias");
  }
  if (auto t = getTile())
    if (t->size() != 1 || (*t)[0] <= 0)
      return emitOpError("tile must be [rows] with a positive size");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (getInput().getType().getShape() != getOut().getType().getShape())
    return emitOpError("input and output shapes must match");
  if (auto t = getTile())
    if (t->size() != 1 || (*t)[0] <= 0)
      return emitOpError("tile must be [rows] with a positive size");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Npu/NpuOps.cpp.inc"
