//===- QuantHandlers.cpp - QuantizeLinear and DequantizeLinear ------------===//
//
// ONNX's linear quantization, as onnxruntime.quantization writes it around
// weights and activations:
//   DequantizeLinear: y = (x - zero_point) * scale
//   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
// with one scale for the tensor, one per index along `axis`, or one per
// `block_size` elements along it (blocked, opset 21). All-constant nodes
// (quantized weights) fold at import (ConstantFolding.cpp, through
// quantParams); the others become elementwise graph ops: the DMA widens
// int8/uint8/int32 exactly to the float type, and writes the rounded result
// back as int8/uint8, saturating.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/runtime/DType.h"

using namespace mlir;
using rbln::DType;

namespace rbln::onnx_import {
namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
} // namespace

FailureOr<QuantParams> quantParams(NodeContext &nc, bool quantize) {
  if (failed(nc.expectInputs(2, 3)))
    return failure();
  QuantParams q;
  RankedTensorType x = nc.inputType(0), scale = nc.inputType(1);
  Type xe = x.getElementType(), se = scale.getElementType();
  if (!isa<FloatType>(se))
    return nc.error() << "the scale has element type " << se << "; it must be floating point",
           failure();
  bool hasZp = nc.hasInput(2);
  Type zpe = hasZp ? nc.inputType(2).getElementType() : Type();
  if (hasZp && nc.inputType(2).getShape() != scale.getShape())
    return nc.error() << "the zero point's shape " << nc.inputType(2) << " differs from the scale's "
                      << scale,
           failure();
  auto isNarrowInt = [](Type t) { return t.isInteger(8); }; // int8 or uint8
  if (quantize) {
    if (!isa<FloatType>(xe))
      return nc.error() << "x has element type " << xe << "; it must be floating point", failure();
    if (hasZp) {
      q.outType = zpe;
    } else if (nc.hasAttr("output_dtype") && nc.intAttr("output_dtype", 0) != 0) {
      auto t = NodeContext::elementType(int32_t(nc.intAttr("output_dtype", 0)), nc.loc,
                                        "QuantizeLinear 'output_dtype'");
      if (failed(t))
        return failure();
      q.outType = *t;
    } else {
      q.outType = IntegerType::get(nc.b.getContext(), 8, IntegerType::Unsigned);
    }
    if (!isNarrowInt(q.outType))
      return nc.error() << "quantizing to " << q.outType
                        << " is not supported (int8 and uint8 are)",
             failure();
    bool u = q.outType.isUnsignedInteger();
    q.lo = u ? 0 : -128, q.hi = u ? 255 : 127;
  } else {
    if (!isNarrowInt(xe) && !xe.isInteger(32))
      return nc.error() << "x has element type " << xe
                        << "; dequantizing int8, uint8 and int32 is supported",
             failure();
    if (hasZp && zpe != xe)
      return nc.error() << "the zero point's element type " << zpe << " differs from x's " << xe,
             failure();
    q.outType = se;
    if (nc.hasAttr("output_dtype") && nc.intAttr("output_dtype", 0) != 0) {
      auto t = NodeContext::elementType(int32_t(nc.intAttr("output_dtype", 0)), nc.loc,
                                        "DequantizeLinear 'output_dtype'");
      if (failed(t))
        return failure();
      q.outType = *t;
      if (!isa<FloatType>(q.outType))
        return nc.error() << "output_dtype " << q.outType << " is not floating point", failure();
    }
  }
  // Per tensor, per axis, or blocked along the axis.
  int64_t rank = x.getRank();
  q.block = nc.intAttr("block_size", 0);
  if (scale.getNumElements() == 1 && scale.getRank() <= 1 && q.block == 0)
    return q;
  auto axis = nc.axisAttr("axis", 1, rank);
  if (failed(axis))
    return failure();
  q.axis = *axis;
  int64_t c = x.getDimSize(q.axis);
  if (q.block == 0) {
    if (scale.getRank() != 1 || scale.getDimSize(0) != c)
      return nc.error() << "a per-axis scale must be 1-D with x's dim " << q.axis << " (" << c
                        << ") elements, got " << scale,
             failure();
    return q;
  }
  if (q.block < 0)
    return nc.error() << "block_size " << q.block << " is negative", failure();
  bool ok = scale.getRank() == rank;
  for (int64_t d = 0; ok && d < rank; ++d)
    ok = scale.getDimSize(d) == (d == q.axis ? ceilDiv(c, q.block) : x.getDimSize(d));
  if (!ok)
    return nc.error() << "a blocked scale must have x's shape with dim " << q.axis
                      << " divided by block_size " << q.block << " (rounded up), got " << scale,
           failure();
  return q;
}

namespace {

/// `v` (a scale or zero point) shaped to broadcast against x: as is per
/// tensor, [C, 1, ..] per axis, repeated block_size times along the axis
/// when blocked.
FailureOr<Value> alongAxis(NodeContext &nc, Value v, const QuantParams &q) {
  RankedTensorType x = nc.inputType(0);
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getNumElements() == 1 && t.getRank() <= 1 && q.block == 0)
    return v;
  SmallVector<int64_t> shape(x.getShape());
  if (q.block == 0) {
    SmallVector<int64_t> s(size_t(x.getRank() - q.axis), 1);
    s[0] = shape[size_t(q.axis)];
    return reshape(nc, v, s);
  }
  int64_t c = shape[size_t(q.axis)];
  if (c % q.block != 0)
    return nc.error() << "x's dim " << q.axis << " (" << c << ") is not a multiple of block_size "
                      << q.block << " (run-time blocked scales must tile it exactly)",
           failure();
  // [.., C/B, ..] -> [.., C/B, 1, ..] -> [.., C/B, B, ..] -> [.., C, ..]
  SmallVector<int64_t> split(t.getShape());
  split.insert(split.begin() + q.axis + 1, 1);
  Value r = reshape(nc, v, split);
  split[size_t(q.axis + 1)] = q.block;
  r = graph::ExpandOp::create(nc.b, nc.loc, RankedTensorType::get(split, t.getElementType()), r);
  return reshape(nc, r, shape);
}

Value castTo(NodeContext &nc, Value v, Type et) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() == et)
    return v;
  return graph::CastOp::create(nc.b, nc.loc, RankedTensorType::get(t.getShape(), et), v);
}

/// Input `i` (a scale or zero point) in the float type `et`: a constant
/// converted at import, else a cast on the device. Null for a zero point
/// that is absent or all zeros (symmetric quantization: nothing to add).
FailureOr<Value> floatInput(NodeContext &nc, int i, Type et, bool zeroPoint) {
  if (!nc.hasInput(i))
    return Value();
  RankedTensorType t = nc.inputType(i);
  if (const Symbol &c = nc.symbol(i); c.isConstant()) {
    // (quantParams checked the types: float scales, int8/uint8/int32 zero
    // points.)
    Type ct = t.getElementType();
    DType dt = ct.isF16()                   ? DType::F16
               : ct.isBF16()                ? DType::BF16
               : ct.isUnsignedInteger(8)    ? DType::U8
               : ct.isInteger(8)            ? DType::I8
               : ct.isInteger(32)           ? DType::I32
                                            : DType::F32;
    std::vector<float> vals;
    for (int64_t k = 0; k < t.getNumElements(); ++k)
      vals.push_back(loadAsFloat(
          reinterpret_cast<const uint8_t *>(c.constantData.data()) + size_t(k) * dtypeSize(dt), dt));
    if (zeroPoint && llvm::all_of(vals, [](float v) { return v == 0; }))
      return Value();
    SmallVector<Attribute> attrs;
    for (float v : vals)
      attrs.push_back(nc.b.getFloatAttr(et, v));
    return Value(graph::ConstantOp::create(
        nc.b, nc.loc, DenseElementsAttr::get(RankedTensorType::get(t.getShape(), et), attrs)));
  }
  auto v = nc.input(i);
  if (failed(v))
    return failure();
  return castTo(nc, *v, et);
}

LogicalResult dequantizeLinear(NodeContext &nc) {
  auto q = quantParams(nc, /*quantize=*/false);
  if (failed(q))
    return failure();
  auto x = nc.input(0);
  auto scale = floatInput(nc, 1, q->outType, false), zp = floatInput(nc, 2, q->outType, true);
  if (failed(x) || failed(scale) || failed(zp))
    return failure();
  Value y = castTo(nc, *x, q->outType);
  if (*zp) {
    auto z = alongAxis(nc, *zp, *q);
    if (failed(z))
      return failure();
    auto d = broadcastBinary<graph::SubOp>(nc, y, *z);
    if (failed(d))
      return failure();
    y = *d;
  }
  auto s = alongAxis(nc, *scale, *q);
  if (failed(s))
    return failure();
  auto r = broadcastBinary<graph::MulOp>(nc, y, *s);
  if (failed(r))
    return failure();
  nc.setOutput(0, *r);
  return success();
}

LogicalResult quantizeLinear(NodeContext &nc) {
  auto q = quantParams(nc, /*quantize=*/true);
  if (failed(q))
    return failure();
  auto x = nc.input(0);
  if (failed(x))
    return failure();
  Type ft = cast<RankedTensorType>(x->getType()).getElementType();
  auto scale = floatInput(nc, 1, ft, false), zp = floatInput(nc, 2, ft, true);
  if (failed(scale) || failed(zp))
    return failure();
  auto s = alongAxis(nc, *scale, *q);
  if (failed(s))
    return failure();
  auto d = broadcastBinary<graph::DivOp>(nc, *x, *s);
  if (failed(d))
    return failure();
  Value y = graph::RoundOp::create(nc.b, nc.loc, d->getType(), *d);
  if (*zp) {
    auto z = alongAxis(nc, *zp, *q);
    if (failed(z))
      return failure();
    auto a = broadcastBinary<graph::AddOp>(nc, y, *z);
    if (failed(a))
      return failure();
    y = *a;
  }
  // The cast saturates to the integer type's range (the DMA's conversion).
  nc.setOutput(0, castTo(nc, y, q->outType));
  return success();
}

} // namespace

const OpHandler kQuantHandlers[] = {
    {"", "DequantizeLinear", dequantizeLinear},
    {"", "QuantizeLinear", quantizeLinear},
};
const size_t kNumQuantHandlers = std::size(kQuantHandlers);

} // namespace rbln::onnx_import
