//===- GraphOps.cpp - Verifiers and folders of the graph dialect ----------===//
#include "dialects/Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace rbln::graph;

static LogicalResult verifyCompare(Operation *op, Type lhs, Type rhs, Type res) {
  auto l = cast<ShapedType>(lhs), r = cast<ShapedType>(rhs), o = cast<ShapedType>(res);
  if (l.getElementType() != r.getElementType())
    return op->emitOpError("operand element types must match, got ")
           << l.getElementType() << " and " << r.getElementType();
  if (!o.getElementType().isInteger(1))
    return op->emitOpError("result must be an i1 tensor");
  auto shape = broadcastShapes(l.getShape(), r.getShape());
  if (failed(shape) || ArrayRef<int64_t>(*shape) != o.getShape())
    return op->emitOpError("result shape must be the broadcast shape of the operands");
  return success();
}

static LogicalResult verifyBroadcast(Operation *op, Type lhs, Type rhs, Type res) {
  auto l = cast<ShapedType>(lhs), r = cast<ShapedType>(rhs), o = cast<ShapedType>(res);
  if (l.getElementType() != r.getElementType() || l.getElementType() != o.getElementType())
    return op->emitOpError("operand and result element types must match, got ")
           << l.getElementType() << ", " << r.getElementType() << " -> " << o.getElementType();
  auto shape = broadcastShapes(l.getShape(), r.getShape());
  if (failed(shape))
    return op->emitOpError("operand shapes ") << l << " and " << r << " do not broadcast";
  if (ArrayRef<int64_t>(*shape) != o.getShape())
    return op->emitOpError("result shape must be the broadcast shape of the operands");
  return success();
}

#define RBLN_BINARY_VERIFIER(OP)                                               \
  LogicalResult OP::verify() {                                                 \
    return verifyBroadcast(*this, getLhs().getType(), getRhs().getType(),      \
                           getType());                                         \
  }
#define RBLN_BINARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP) RBLN_BINARY_VERIFIER(GRAPH_OP)
#define RBLN_PREDICATE(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                      \
  LogicalResult GRAPH_OP::verify() {                                           \
    return verifyCompare(*this, getLhs().getType(), getRhs().getType(), getType()); \
  }
#define RBLN_LOGICAL(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                        \
  LogicalResult GRAPH_OP::verify() {                                           \
    if (!getType().getElementType().isInteger(1))                              \
      return emitOpError("operands and result must be i1 tensors");            \
    return verifyBroadcast(*this, getLhs().getType(), getRhs().getType(), getType()); \
  }
#include "rbln/Support/ElementwiseOps.def"

static bool isI1(Type t) { return cast<ShapedType>(t).getElementType().isInteger(1); }

LogicalResult IsNanOp::verify() {
  auto in = cast<ShapedType>(getInput().getType()), out = cast<ShapedType>(getType());
  if (!isa<FloatType>(in.getElementType()) || !isI1(out) || in.getShape() != out.getShape())
    return emitOpError("takes a floating-point tensor to an i1 tensor of its shape");
  return success();
}

LogicalResult SelectOp::verify() {
  if (!isI1(getCond().getType()))
    return emitOpError("condition must be an i1 tensor");
  auto x = cast<ShapedType>(getX().getType()), y = cast<ShapedType>(getY().getType()),
       o = cast<ShapedType>(getType());
  if (x.getElementType() != y.getElementType() || x.getElementType() != o.getElementType())
    return emitOpError("x, y and the result must have one element type");
  auto xy = broadcastShapes(x.getShape(), y.getShape());
  if (failed(xy))
    return emitOpError("x and y do not broadcast");
  auto all = broadcastShapes(*xy, cast<ShapedType>(getCond().getType()).getShape());
  if (failed(all) || ArrayRef<int64_t>(*all) != o.getShape())
    return emitOpError("result shape must be the broadcast shape of cond, x and y");
  return success();
}

LogicalResult QuantizeOp::verify() {
  auto x = cast<ShapedType>(getInput().getType()), s = cast<ShapedType>(getScale().getType()),
       z = cast<ShapedType>(getZeroPoint().getType()), o = cast<ShapedType>(getType());
  if (!isa<FloatType>(x.getElementType()) || s.getElementType() != x.getElementType() ||
      z.getElementType() != x.getElementType())
    return emitOpError("input, scale and zero point must have one floating-point element type");
  if (!o.getElementType().isInteger(8))
    return emitOpError("the result must be int8 or uint8, got ") << o.getElementType();
  auto sz = broadcastShapes(s.getShape(), z.getShape());
  if (failed(sz))
    return emitOpError("scale and zero point do not broadcast");
  auto all = broadcastShapes(x.getShape(), *sz);
  if (failed(all) || ArrayRef<int64_t>(*all) != x.getShape() || o.getShape() != x.getShape())
    return emitOpError("scale and zero point must broadcast to the input's shape, the result's");
  return success();
}

LogicalResult GatherOp::verify() {
  auto d = cast<RankedTensorType>(getData().getType());
  auto i = cast<RankedTensorType>(getIndices().getType());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= d.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank " << d.getRank();
  if (!i.getElementType().isInteger(64) && !i.getElementType().isInteger(32))
    return emitOpError("indices must be i64 or i32, got ") << i.getElementType();
  SmallVector<int64_t> shape(d.getShape().take_front(axis));
  llvm::append_range(shape, i.getShape());
  llvm::append_range(shape, d.getShape().drop_front(axis + 1));
  auto want = RankedTensorType::get(shape, d.getElementType());
  if (getType() != want)
    return emitOpError("result must be ") << want;
  return success();
}

LogicalResult ViewOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType()), out = cast<RankedTensorType>(getType());
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type must not change");
  ArrayRef<int64_t> strides = getStrides();
  if (int64_t(strides.size()) != out.getRank())
    return emitOpError("needs one stride per result dim");
  int64_t last = getOffset();
  if (last < 0 || llvm::any_of(strides, [](int64_t s) { return s < 0; }))
    return emitOpError("offset and strides must be non-negative");
  for (auto [n, s] : llvm::zip(out.getShape(), strides))
    last += (n - 1) * s;
  if (out.getNumElements() > 0 && last >= in.getNumElements())
    return emitOpError("reads element ") << last << " of an input with " << in.getNumElements();
  return success();
}

std::string rbln::graph::attentionTypeError(RankedTensorType q, RankedTensorType k,
                                            RankedTensorType v, RankedTensorType mask,
                                            RankedTensorType result) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4) {
    os << "q, k and v must be [batch, heads, sequence, head dim]";
    return msg;
  }
  if (q.getElementType() != k.getElementType() || q.getElementType() != v.getElementType() ||
      !isa<FloatType>(q.getElementType()))
    os << "q, k and v must share one floating-point type";
  else if (k.getDimSize(0) != q.getDimSize(0) || v.getDimSize(0) != q.getDimSize(0))
    os << "batch sizes differ: " << q << ", " << k << ", " << v;
  else if (v.getDimSize(1) != k.getDimSize(1) || k.getDimSize(1) == 0 ||
           q.getDimSize(1) % k.getDimSize(1) != 0)
    os << "query heads (" << q.getDimSize(1) << ") must be a multiple of the KV heads ("
       << k.getDimSize(1) << "), and k and v must have the same heads";
  else if (q.getDimSize(3) != k.getDimSize(3))
    os << "q and k head dims differ: " << q.getDimSize(3) << " vs " << k.getDimSize(3);
  else if (k.getDimSize(2) != v.getDimSize(2))
    os << "k and v sequence lengths differ";
  if (!msg.empty())
    return msg;
  SmallVector<int64_t> scores{q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), k.getDimSize(2)};
  if (mask) {
    auto bc = broadcastShapes(mask.getShape(), scores);
    if (mask.getRank() > 4 || failed(bc) || ArrayRef<int64_t>(*bc) != ArrayRef<int64_t>(scores))
      os << "mask " << mask << " does not broadcast to the scores [" << scores[0] << ", "
         << scores[1] << ", " << scores[2] << ", " << scores[3] << "]";
    else if (!mask.getElementType().isInteger(1) && mask.getElementType() != q.getElementType())
      os << "mask must be bool or q's element type, got " << mask.getElementType();
    if (!msg.empty())
      return msg;
  }
  auto want = RankedTensorType::get({q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), v.getDimSize(3)},
                                    q.getElementType());
  if (result != want)
    os << "result must be " << want;
  return msg;
}

LogicalResult AttentionOp::verify() {
  auto mask = getMask() ? cast<RankedTensorType>(getMask().getType()) : RankedTensorType();
  auto q = cast<RankedTensorType>(getQ().getType());
  auto result = cast<RankedTensorType>(getType());
  if (getOutputQuant()) { // an 8-bit result of the float result's shape
    if (!result.getElementType().isInteger(8))
      return emitOpError("an output_quant needs an int8 or uint8 result, got ") << result.getElementType();
    result = result.clone(q.getElementType());
  }
  std::string err = attentionTypeError(q, cast<RankedTensorType>(getK().getType()),
                                       cast<RankedTensorType>(getV().getType()), mask, result);
  if (!err.empty())
    return emitOpError(err);
  if (getSoftcap().convertToFloat() < 0)
    return emitOpError("softcap must be >= 0 (0: none)");
  if (int64_t(getWindow()) < 0 || (getWindow() > 0 && !getCausal()))
    return emitOpError("a sliding window must be positive and needs causal attention");
  return success();
}

LogicalResult PagedAttentionOp::verify() {
  auto q = cast<RankedTensorType>(getQ().getType()), k = cast<RankedTensorType>(getK().getType()),
       v = cast<RankedTensorType>(getV().getType()), out = cast<RankedTensorType>(getType());
  std::string err = attentionTypeError(q, k, v, RankedTensorType(), out);
  if (!err.empty())
    return emitOpError(err);
  if (q.getDimSize(2) != k.getDimSize(2))
    return emitOpError("q and this step's k must have the same number of tokens");
  auto kc = cast<RankedTensorType>(getKCache().getType()),
       vc = cast<RankedTensorType>(getVCache().getType());
  for (auto [c, d, what] : {std::tuple(kc, k.getDimSize(3), "k_cache"),
                            std::tuple(vc, v.getDimSize(3), "v_cache")}) {
    if (c.getRank() != 4 || c.getDimSize(1) != k.getDimSize(1) || c.getDimSize(3) != d ||
        ShapedType::isDynamic(c.getDimSize(2)) || !isa<FloatType>(c.getElementType()))
      return emitOpError(what) << " must be [num_blocks, " << k.getDimSize(1)
                               << ", block_size, " << d << "] floats, got " << c;
  }
  if (kc.getDimSize(2) != vc.getDimSize(2))
    return emitOpError("k_cache and v_cache must have the same block size");
  auto bt = cast<RankedTensorType>(getBlockTable().getType()),
       pos = cast<RankedTensorType>(getPositions().getType());
  if (bt.getRank() != 2 || bt.getDimSize(0) != q.getDimSize(0) || !bt.getElementType().isInteger(32))
    return emitOpError("block_table must be i32 [") << q.getDimSize(0) << ", max_blocks], got " << bt;
  if (pos.getRank() != 2 || pos.getDimSize(0) != q.getDimSize(0) ||
      pos.getDimSize(1) != q.getDimSize(2) || !pos.getElementType().isInteger(64))
    return emitOpError("positions must be i64 [") << q.getDimSize(0) << ", " << q.getDimSize(2)
                                                  << "], got " << pos;
  if (getSoftcap().convertToFloat() < 0)
    return emitOpError("softcap must be >= 0 (0: none)");
  return success();
}

LogicalResult RotaryOp::verify() {
  auto x = cast<RankedTensorType>(getInput().getType());
  if (getType() != x)
    return emitOpError("result type must equal the input type");
  if (x.getRank() < 1 || x.getShape().back() % 2 != 0)
    return emitOpError("the last dim must be even, got ") << x;
  for (Value v : {getCos(), getSin()}) {
    auto t = cast<RankedTensorType>(v.getType());
    auto b = broadcastShapes(t.getShape(), x.getShape());
    if (t.getElementType() != x.getElementType() || failed(b) || ArrayRef<int64_t>(*b) != x.getShape())
      return emitOpError("cos and sin must broadcast to the input, got ") << t;
  }
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  auto out = cast<RankedTensorType>(getType());
  int64_t axis = getAxis(), sum = 0;
  if (axis < 0 || axis >= out.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank " << out.getRank();
  for (Value v : getInputs()) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType() != out.getElementType() || t.getRank() != out.getRank())
      return emitOpError("inputs must have the result's rank and element type, got ") << t;
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != out.getDimSize(d))
        return emitOpError("input ") << t << " differs from the result outside the axis";
    sum += t.getDimSize(axis);
  }
  if (sum != out.getDimSize(axis))
    return emitOpError("result dim ") << axis << " must be " << sum;
  return success();
}

LogicalResult ReduceOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType()), out = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> axes = getAxes();
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= in.getRank() || (i && axes[i] <= axes[i - 1]))
      return emitOpError("axes must be sorted, distinct and within rank ") << in.getRank();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(in.getDimSize(d));
    else if (getKeepdims())
      shape.push_back(1);
  }
  if (ArrayRef<int64_t>(shape) != out.getShape() || in.getElementType() != out.getElementType())
    return emitOpError("result must be ") << RankedTensorType::get(shape, in.getElementType());
  return success();
}

LogicalResult NormOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  int64_t axis = int64_t(getAxis());
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank " << in.getRank();
  auto eightBit = [](Type t) { return cast<RankedTensorType>(t).getElementType().isInteger(8); };
  auto shaped = [&](Type t) { return cast<RankedTensorType>(t).getShape() == in.getShape(); };
  if (getOutputQuant() ? !(shaped(getType()) && eightBit(getType())) : getType() != in)
    return emitOpError(getOutputQuant() ? "with output_quant the result is int8 or uint8 of the input's shape"
                                        : "result type must equal the input type");
  if (Value r = getResidual(); r && (getResidualQuant() ? !(shaped(r.getType()) && eightBit(r.getType()))
                                                        : r.getType() != in))
    return emitOpError("residual type ") << r.getType() << " must be the input type " << in
                                         << (getResidualQuant() ? "'s shape in int8 or uint8" : "");
  if (getResidualQuant() && !getResidual())
    return emitOpError("residual_quant needs a residual");
  int64_t normElems = 1;
  for (int64_t d : in.getShape().drop_front(axis))
    normElems *= d;
  for (Value v : {getScale(), getBias()}) {
    if (!v)
      continue;
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType() != in.getElementType() || t.getNumElements() != normElems)
      return emitOpError("scale and bias must hold the ")
             << normElems << " elements of the normalized dims in the input's element type, got "
             << t;
  }
  if (getKind() == NormKind::Rms && getBias())
    return emitOpError("RMS normalization has no bias");
  return success();
}

LogicalResult DequantizeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType()), s = cast<RankedTensorType>(getScale().getType());
  auto out = cast<RankedTensorType>(getType());
  int64_t axis = getAxis(), block = getBlockSize();
  Type it = in.getElementType();
  if (!it.isSignlessInteger(8) && !it.isSignlessInteger(32) && !it.isSignlessInteger(4) &&
      !(isa<FloatType>(it) && it.getIntOrFloatBitWidth() == 8))
    return emitOpError("input must be int8, int4, int32 or an 8-bit float, got ") << it;
  if (!isa<FloatType>(out.getElementType()) || s.getElementType() != out.getElementType())
    return emitOpError("scale and result must have one floating-point type");
  if (out.getShape() != in.getShape())
    return emitOpError("shape must not change");
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " is out of range";
  if (block < 0)
    return emitOpError("block_size must not be negative");
  if (block > 0) {
    if (in.getRank() != 2)
      return emitOpError("blocks of scales need 2-D input");
    int64_t k = in.getDimSize(1 - axis), n = in.getDimSize(axis);
    if (s.getShape() != ArrayRef<int64_t>{(k + block - 1) / block, n})
      return emitOpError("scale must be [ceil(K / block_size), N] = [") << (k + block - 1) / block << ", "
             << n << "], got " << s;
    return success();
  }
  if (it.isSignlessInteger(4))
    return emitOpError("int4 input needs a block_size");
  if (s.getRank() != 1 || s.getDimSize(0) != in.getDimSize(axis))
    return emitOpError("scale must be 1-D with dim ") << axis << "'s size " << in.getDimSize(axis);
  return success();
}

LogicalResult CastOp::verify() {
  auto in = cast<ShapedType>(getInput().getType()), out = cast<ShapedType>(getType());
  if (in.getShape() != out.getShape())
    return emitOpError("shape must not change");
  auto ok = [](Type t) {
    return isa<FloatType>(t) || t.isInteger(1) || t.isInteger(8) || t.isInteger(32) || t.isInteger(64);
  };
  if (!ok(in.getElementType()) || !ok(out.getElementType()))
    return emitOpError("converts between f32, f16, bf16, i64, i32, i8, ui8 and i1, got ")
           << in.getElementType() << " to " << out.getElementType();
  Type ot = out.getElementType();
  if (!getSaturate() && !(isa<FloatType>(ot) && ot.getIntOrFloatBitWidth() == 8))
    return emitOpError("saturate = false applies to casts to an 8-bit float, not to ") << ot;
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult ConstantOp::verify() {
  if (!isa<ElementsAttr>(getValue()))
    return emitOpError("value must be an elements attribute (dense or dense_resource)");
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult MatmulOp::verify() {
  auto l = cast<RankedTensorType>(getLhs().getType());
  auto r = cast<RankedTensorType>(getRhs().getType());
  auto o = cast<RankedTensorType>(getType());
  if (l.getRank() < 2 || r.getRank() < 2)
    return emitOpError("operands must have rank >= 2 (the importer lifts 1-D MatMul operands)");
  // lhs may hold 8-bit integers or 8-bit floats (quantized activations,
  // read as their values) against float rhs and result.
  // (An integer matmul's result may be i32: its exact integer sums.)
  Type le = l.getElementType();
  bool float8Lhs = isa<FloatType>(le) && le.getIntOrFloatBitWidth() == 8;
  bool intLhs = (le.isInteger(8) || float8Lhs) && isa<FloatType>(r.getElementType());
  bool i32Result = intLhs && !float8Lhs && o.getElementType().isSignlessInteger(32);
  // A quantized result: int8, uint8 or an 8-bit float from output_quant.
  Type oe = o.getElementType();
  bool float8Result = isa<FloatType>(oe) && oe.getIntOrFloatBitWidth() == 8;
  bool quantResult = getOutputQuant() && (oe.isInteger(8) || float8Result);
  if (getOutputQuant() && !quantResult)
    return emitOpError("an output_quant needs an int8, uint8 or 8-bit float result, got ") << oe;
  if (float8Result && getOutputQuant() && (*getOutputQuant())[1] != 0.0f)
    return emitOpError("an 8-bit float output_quant has no zero point");
  if (auto gt = getGridType()) {
    bool f8 = isa<FloatType>(*gt) && gt->getIntOrFloatBitWidth() == 8;
    if (!getOutputGrid() || !f8 || (*getOutputGrid())[1] != 0.0f)
      return emitOpError("a grid_type is an 8-bit float type of an output_grid without zero point");
  }
  if ((!intLhs && l.getElementType() != r.getElementType()) ||
      (r.getElementType() != o.getElementType() && !i32Result && !quantResult))
    return emitOpError("operand and result element types must match (or lhs be 8-bit integers or floats)");
  int64_t m = l.getDimSize(l.getRank() - (getTransposeLhs() ? 1 : 2));
  int64_t k = l.getDimSize(l.getRank() - (getTransposeLhs() ? 2 : 1));
  int64_t k2 = r.getDimSize(r.getRank() - (getTransposeRhs() ? 1 : 2));
  int64_t n = r.getDimSize(r.getRank() - (getTransposeRhs() ? 2 : 1));
  if (k != k2)
    return emitOpError("contraction sizes differ: lhs has ") << k << ", rhs has " << k2;
  auto batch = broadcastShapes(l.getShape().drop_back(2), r.getShape().drop_back(2));
  if (failed(batch))
    return emitOpError("batch dimensions do not broadcast");
  SmallVector<int64_t> expect(*batch);
  expect.push_back(m);
  expect.push_back(n);
  if (ArrayRef<int64_t>(expect) != o.getShape())
    return emitOpError("result shape must be batch x ") << m << " x " << n;
  // The epilogue's float type (a quantized result's is rhs's).
  Type ft = quantResult ? r.getElementType() : o.getElementType();
  if (Value b = getBias()) {
    auto bt = cast<RankedTensorType>(b.getType());
    if (bt.getElementType() != ft)
      return emitOpError("bias element type must match the result");
    auto bs = broadcastShapes(bt.getShape(), o.getShape());
    if (failed(bs) || ArrayRef<int64_t>(*bs) != o.getShape())
      return emitOpError("bias shape ") << bt << " does not broadcast to the result " << o;
  }
  if (Value r = getResidual()) {
    if (r.getType() != o.clone(ft))
      return emitOpError("residual type ") << r.getType() << " must be the result type " << o.clone(ft);
    if (getAlpha().convertToFloat() != 1.0f)
      return emitOpError("a residual needs alpha = 1");
  }
  if (Value g = getGridBias()) {
    if (!getOutputGrid())
      return emitOpError("a grid_bias needs an output_grid");
    if (g.getType() != RankedTensorType::get({o.getShape().back()}, ft))
      return emitOpError("grid_bias must be one value per column: ")
             << RankedTensorType::get({o.getShape().back()}, ft) << ", got " << g.getType();
  }
  if (getOutputGrid() && !isa<FloatType>(ft))
    return emitOpError("an output_grid needs a float result");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = cast<RankedTensorType>(getType()).getRank();
  int64_t axis = int64_t(getAxis());
  if (axis < -rank || axis >= rank)
    return emitOpError("axis ") << getAxis() << " is out of range for rank " << rank;
  return success();
}

LogicalResult TransposeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> perm = getPerm();
  if (int64_t(perm.size()) != in.getRank())
    return emitOpError("perm has ") << perm.size() << " entries for rank " << in.getRank();
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank() || seen[p])
      return emitOpError("perm is not a permutation");
    seen[p] = true;
  }
  for (size_t i = 0; i < perm.size(); ++i)
    if (out.getDimSize(i) != in.getDimSize(perm[i]))
      return emitOpError("result dim ") << i << " must be input dim " << perm[i];
  if (in.getElementType() != out.getElementType())
    return emitOpError("element types must match");
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ") << in << " (" << in.getNumElements() << " elements) to "
                                          << out << " (" << out.getNumElements() << " elements)";
  if (in.getElementType() != out.getElementType())
    return emitOpError("element types must match");
  return success();
}

LogicalResult ExpandOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType()), out = cast<RankedTensorType>(getType());
  auto b = broadcastShapes(in.getShape(), out.getShape());
  if (failed(b) || ArrayRef<int64_t>(*b) != out.getShape())
    return emitOpError("cannot broadcast ") << in << " to " << out;
  if (in.getElementType() != out.getElementType())
    return emitOpError("element types must match");
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

#define GET_OP_CLASSES
#include "dialects/Graph/GraphOps.cpp.inc"
