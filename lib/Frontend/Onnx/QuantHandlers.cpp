//===- QuantHandlers.cpp - Quantized ONNX: Q/DQ, integer matmuls ----------===//
//
// ONNX's linear quantization, as onnxruntime.quantization writes it around
// weights and activations:
//   DequantizeLinear: y = (x - zero_point) * scale
//   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
// with one scale for the tensor, one per index along `axis`, or one per
// `block_size` elements along it (blocked, opset 21). Constant weights read
// only as [K, N] matmul weights stay narrow (graph.dequantize; the matmul
// kernel scales its product's columns or each block of rows): symmetric
// int8 per column, and int8/int4/uint4 blocked along K as ONNX Runtime's
// MatMulNBitsQuantizer writes its QDQ format (keepsNarrowWeights); other all-constant nodes
// fold at import (ConstantFolding.cpp, through quantParams); the rest become
// elementwise graph ops: the DMA widens int8/uint8/int32 exactly to the
// float type; a quantize is one graph.quantize (divide, round, add the zero
// point, store saturating to int8/uint8). MatMulInteger as
// onnxruntime.quantization's quantize_dynamic writes it (run-time 8-bit
// activations, constant symmetric int8 weights) is an i32 graph.matmul in
// the tensor engine's INT8 mode (integerModeMatmul). The other integer
// matmuls (MatMulInteger's other forms, QLinearMatMul) compute
// (A - a_zero_point) x (B - b_zero_point) on float operands: exact while the
// sums stay below 2^24 in f32 (K x 255 x 255 < 2^24: K <= 258 for any
// values); constant weights minus their zero point fold to float constants
// at import. com.microsoft.MatMulNBits is MatMulNBits.cpp.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"

using namespace mlir;
using rbln::DType;

namespace rbln::onnx_import {

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
  auto isOne = [](RankedTensorType t) { return t.getNumElements() == 1 && t.getRank() <= 1; };
  if (hasZp && nc.inputType(2).getShape() != scale.getShape() &&
      !(isOne(nc.inputType(2)) && isOne(scale))) // [1] and [] alike: one for the tensor
    return nc.error() << "the zero point's shape " << nc.inputType(2) << " differs from the scale's "
                      << scale,
           failure();
  auto isNarrowInt = [](Type t) { return t.isInteger(8); }; // int8 or uint8
  auto isFloat8 = [](Type t) {
    std::optional<DType> d = elementDType(t);
    return d && dtypeIsFloat8(*d);
  };
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
    if (!isNarrowInt(q.outType) && !isFloat8(q.outType))
      return nc.error() << "quantizing to " << q.outType
                        << " is not supported (int8, uint8 and the 8-bit floats are)",
             failure();
    bool u = q.outType.isUnsignedInteger();
    q.lo = u ? 0 : -128, q.hi = u ? 255 : 127;
  } else {
    if (!isNarrowInt(xe) && !xe.isInteger(32) && !isPacked4(xe) && !isFloat8(xe))
      return nc.error() << "x has element type " << xe
                        << "; dequantizing int4, uint4, int8, uint8, int32 and the 8-bit floats "
                           "is supported",
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
/// Whether `z` is a constant of all zero bytes (a symmetric zero point).
bool isZeroConstant(const Symbol &z) {
  return z.isConstant() && llvm::all_of(z.constantData.bytes(), [](char c) { return c == 0; });
}
} // namespace

bool keepsNarrowWeights(NodeContext &nc, const QuantParams &q) {
  RankedTensorType x = nc.inputType(0);
  Type xe = x.getElementType();
  if (!nc.outputIsWeight || x.getRank() != 2 || !isa<FloatType>(q.outType) ||
      !nc.symbol(0).isConstant() || !nc.symbol(1).isConstant())
    return false;
  bool perTensor = nc.inputType(1).getNumElements() == 1 && nc.inputType(1).getRank() <= 1;
  bool blocked = q.block > 0 && q.axis == 0; // [K / B, N] scales
  bool perColumn = q.block == 0 && (perTensor || q.axis == 1);
  if (isPacked4(xe)) // any constant zero point: q - z lies in [-15, 15]
    return blocked && (!nc.hasInput(2) || nc.symbol(2).isConstant());
  bool float8 = isa<FloatType>(xe) && xe.getIntOrFloatBitWidth() == 8; // (FP8 weights: per column)
  if (!(xe.isSignlessInteger(8) && (blocked || perColumn)) && !(float8 && perColumn))
    return false;
  return !nc.hasInput(2) || isZeroConstant(nc.symbol(2));
}

namespace {

/// The narrow weights of a DequantizeLinear that keepsNarrowWeights: x as
/// it is (int8, or int4 without a zero point), else q - z per block as
/// int4 when every value lies in [-8, 7] and rows pack whole bytes, or as
/// int8.
FailureOr<Value> narrowWeights(NodeContext &nc, const QuantParams &q) {
  RankedTensorType x = nc.inputType(0);
  Type xe = x.getElementType();
  bool hasZp = nc.hasInput(2) && !isZeroConstant(nc.symbol(2));
  int64_t k = x.getDimSize(0), n = x.getDimSize(1);
  if (!isPacked4(xe) || (xe.isSignlessInteger() && !hasZp && n % 2 == 0)) {
    nc.allowPacked4 = true;
    auto w = nc.input(0);
    nc.allowPacked4 = false;
    return w;
  }
  bool unsignedX = xe.isUnsignedInteger();
  auto nibble = [&](const char *data, int64_t i) {
    const auto *u = reinterpret_cast<const uint8_t *>(data);
    return unsignedX ? (u[i / 2] >> (4 * (i % 2))) & 0xf : int4At(u, uint64_t(i));
  };
  const char *xd = nc.symbol(0).constantData.data();
  const char *zd = hasZp ? nc.symbol(2).constantData.data() : nullptr;
  std::vector<int> v(size_t(k * n));
  bool fits4 = n % 2 == 0;
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      int64_t i = r * n + c;
      int d = nibble(xd, i) - (zd ? nibble(zd, (r / q.block) * n + c) : 0);
      v[size_t(i)] = d;
      fits4 &= d >= -8 && d <= 7;
    }
  std::vector<char> bytes(size_t(fits4 ? storageBytes(IntegerType::get(nc.b.getContext(), 4), uint64_t(k * n))
                                       : uint64_t(k * n)),
                          0);
  for (size_t i = 0; i < v.size(); ++i) {
    if (fits4)
      int4Put(reinterpret_cast<uint8_t *>(bytes.data()), i, v[i]);
    else
      bytes[i] = char(int8_t(v[i]));
  }
  auto t = RankedTensorType::get({k, n}, IntegerType::get(nc.b.getContext(), fits4 ? 4 : 8));
  return Value(graph::ConstantOp::create(
      nc.b, nc.loc, makeResourceElements(t, nc.node.input(0) + (fits4 ? "_int4" : "_int8"), bytes)));
}

} // namespace

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
    DType dt = *elementDType(t.getElementType());
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
  if (keepsNarrowWeights(nc, *q)) {
    // Narrow weights with a scale per column (a per-tensor scale repeated)
    // or per block of rows, which the matmul applies.
    RankedTensorType x = nc.inputType(0);
    int64_t axis = 1; // the columns of [K, N] weights
    auto scale = floatInput(nc, 1, q->outType, false);
    auto w = narrowWeights(nc, *q);
    if (failed(scale) || failed(w))
      return failure();
    auto rt = RankedTensorType::get(x.getShape(), q->outType);
    if (q->block > 0) {
      nc.setOutput(0, graph::DequantizeOp::create(nc.b, nc.loc, rt, *w, *scale, nc.b.getI64IntegerAttr(axis),
                                                  nc.b.getI64IntegerAttr(q->block)));
      return success();
    }
    Value s = *scale;
    int64_t n = x.getDimSize(axis);
    auto st = RankedTensorType::get({n}, q->outType);
    if (cast<RankedTensorType>(s.getType()).getShape() != st.getShape()) { // one for all
      auto one = nc.constantFloats(1, "the scale");
      if (failed(one))
        return failure();
      s = graph::ConstantOp::create(
          nc.b, nc.loc, DenseElementsAttr::get(st, nc.b.getFloatAttr(q->outType, (*one)[0])));
    }
    nc.setOutput(0, graph::DequantizeOp::create(nc.b, nc.loc, rt, *w, s, nc.b.getI64IntegerAttr(axis)));
    return success();
  }
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

/// x / scale (x when `scale` is null) rounded half to even, plus the zero
/// point (if any), saturated to `out` (int8 or uint8) by the cast.
FailureOr<Value> requantize(NodeContext &nc, Value x, Value scale, Value zp, Type out) {
  if (scale) { // one kernel: graph.quantize
    auto xt = cast<RankedTensorType>(x.getType());
    Value z = zp ? zp : scalarConst(nc, xt.getElementType(), 0.0);
    auto ok = [&](Value v) {
      auto t = cast<RankedTensorType>(v.getType());
      auto bs = graph::broadcastShapes(xt.getShape(), t.getShape());
      return t.getElementType() == xt.getElementType() && succeeded(bs) &&
             ArrayRef<int64_t>(*bs) == xt.getShape();
    };
    if (ok(scale) && ok(z))
      return Value(graph::QuantizeOp::create(nc.b, nc.loc, RankedTensorType::get(xt.getShape(), out), x,
                                             scale, z));
  }
  FailureOr<Value> d = scale ? broadcastBinary<graph::DivOp>(nc, x, scale) : FailureOr<Value>(x);
  if (failed(d))
    return failure();
  Value y = graph::RoundOp::create(nc.b, nc.loc, d->getType(), *d);
  if (zp) {
    auto a = broadcastBinary<graph::AddOp>(nc, y, zp);
    if (failed(a))
      return failure();
    y = *a;
  }
  // The cast saturates to the integer type's range (the DMA's conversion).
  return castTo(nc, y, out);
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
  FailureOr<Value> z = *zp ? alongAxis(nc, *zp, *q) : FailureOr<Value>(Value());
  if (failed(s) || failed(z))
    return failure();
  if (isa<FloatType>(q->outType)) {
    // An 8-bit float: x / scale (+ the zero point, which ONNX requires to
    // be zero), rounded to nearest even by the cast, saturating or not as
    // the node says.
    auto d = broadcastBinary<graph::DivOp>(nc, *x, *s);
    if (failed(d))
      return failure();
    Value y = *d;
    if (*z) {
      auto a = broadcastBinary<graph::AddOp>(nc, y, *z);
      if (failed(a))
        return failure();
      y = *a;
    }
    auto c = graph::CastOp::create(nc.b, nc.loc,
                                   RankedTensorType::get(cast<RankedTensorType>(y.getType()).getShape(),
                                                         q->outType),
                                   y);
    c.setSaturate(nc.intAttr("saturate", 1) != 0);
    nc.setOutput(0, c.getResult());
    return success();
  }
  auto y = requantize(nc, *x, *s, *z, q->outType);
  if (failed(y))
    return failure();
  nc.setOutput(0, *y);
  return success();
}

/// Operand `i` (int8 or uint8) minus its zero point `zpIndex` (absent, a
/// scalar, or `rowZp`: one per row of a matrix operand, else one per column),
/// in f32: folded at import when both are constants.
FailureOr<Value> centered(NodeContext &nc, int i, int zpIndex, bool rowZp, StringRef what) {
  RankedTensorType t = nc.inputType(i);
  Type f32 = nc.b.getF32Type();
  if (!t.getElementType().isInteger(8))
    return nc.error() << what << " has element type " << t.getElementType()
                      << "; int8 and uint8 are supported",
           failure();
  bool hasZp = nc.hasInput(zpIndex);
  if (hasZp) {
    RankedTensorType zt = nc.inputType(zpIndex);
    int64_t want = t.getRank() < 2 ? 1 : t.getDimSize(t.getRank() - (rowZp ? 2 : 1));
    if (zt.getElementType() != t.getElementType())
      return nc.error() << what << "'s zero point has element type " << zt.getElementType()
                        << ", " << what << " " << t.getElementType(),
             failure();
    if (zt.getRank() > 1 || (zt.getNumElements() != 1 && zt.getNumElements() != want))
      return nc.error() << what << "'s zero point must be a scalar or have " << want
                        << " elements, got " << zt,
             failure();
  }
  // The zero point as a value that broadcasts against the operand.
  auto zeroPoint = [&]() -> FailureOr<Value> {
    auto z = floatInput(nc, zpIndex, f32, /*zeroPoint=*/true);
    if (failed(z) || !*z)
      return z;
    auto zt = cast<RankedTensorType>(z->getType());
    if (rowZp && zt.getNumElements() > 1)
      return reshape(nc, *z, {zt.getNumElements(), 1});
    return z;
  };
  const Symbol &x = nc.symbol(i);
  if (x.isConstant() && (!hasZp || nc.symbol(zpIndex).isConstant())) {
    DType dt = *elementDType(t.getElementType());
    auto at = [&](const Symbol &s, int64_t k) {
      return loadAsFloat(reinterpret_cast<const uint8_t *>(s.constantData.data()) + k, dt);
    };
    int64_t n = t.getNumElements(), cols = t.getRank() ? t.getShape().back() : 1;
    int64_t rows = t.getRank() >= 2 ? t.getDimSize(t.getRank() - 2) : 1;
    int64_t zn = hasZp ? nc.inputType(zpIndex).getNumElements() : 0;
    SmallVector<float> vals(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
      int64_t zk = zn <= 1 ? 0 : rowZp ? (k / cols) % rows : k % cols;
      vals[size_t(k)] = at(x, k) - (hasZp ? at(nc.symbol(zpIndex), zk) : 0.0f);
    }
    return Value(graph::ConstantOp::create(
        nc.b, nc.loc, DenseElementsAttr::get(RankedTensorType::get(t.getShape(), f32), ArrayRef<float>(vals))));
  }
  auto v = nc.input(i);
  auto z = zeroPoint();
  if (failed(v) || failed(z))
    return failure();
  Value f = castTo(nc, *v, f32);
  if (!*z)
    return f;
  return broadcastBinary<graph::SubOp>(nc, f, *z);
}

/// MatMulInteger as onnxruntime.quantization's quantize_dynamic writes it
/// (run-time uint8/int8 activations with one zero point, constant symmetric
/// int8 [K, N] weights): the tensor engine's integer mode on the 8-bit
/// values, A x B exact in i32, with the zero point's share
/// -a_zero_point x colsum(B) added as an i32 bias; the result is the i32
/// the node returns. Null when the node has another form.
FailureOr<Value> integerModeMatmul(NodeContext &nc) {
  RankedTensorType at = nc.inputType(0), bt = nc.inputType(1);
  const Symbol &w = nc.symbol(1);
  if (!at.getElementType().isInteger(8) || !bt.getElementType().isSignlessInteger(8) ||
      bt.getRank() != 2 || !w.isConstant() || nc.symbol(0).isConstant())
    return Value();
  if (nc.hasInput(3) && !isZeroConstant(nc.symbol(3))) // the weights' zero point: absent or all zeros
    return Value();
  if (nc.hasInput(2) && (nc.inputType(2).getNumElements() != 1 ||
                         nc.inputType(2).getElementType() != at.getElementType()))
    return Value();
  int64_t k = bt.getDimSize(0), n = bt.getDimSize(1);
  if (at.getRank() < 1 || at.getShape().back() != k)
    return nc.error() << "inner dimensions differ: " << at << " x " << bt, failure();
  Type f32 = nc.b.getF32Type(), i32 = nc.b.getI32Type();
  auto q = nc.input(1);
  auto a = nc.input(0);
  if (failed(q) || failed(a))
    return failure();
  auto ones = RankedTensorType::get({n}, f32);
  Value rhs = graph::DequantizeOp::create(
      nc.b, nc.loc, RankedTensorType::get(bt.getShape(), f32), *q,
      graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(ones, nc.b.getF32FloatAttr(1.0f))),
      nc.b.getI64IntegerAttr(1));
  // -a_zero_point x colsum(B) in i32 (|colsum| <= 128 K).
  Value bias;
  if (nc.hasInput(2)) {
    SmallVector<int32_t> negSums;
    for (int64_t s : int8ColumnSums(reinterpret_cast<const int8_t *>(w.constantData.data()), k, n))
      negSums.push_back(int32_t(-s));
    auto it = RankedTensorType::get({n}, i32);
    Value sums = graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(it, ArrayRef<int32_t>(negSums)));
    auto zp = nc.input(2);
    if (failed(zp))
      return failure();
    Value z = reshape(nc, castTo(nc, *zp, i32), {});
    bias = graph::MulOp::create(nc.b, nc.loc, it, sums, z);
  }
  Value lhs = *a;
  bool row = at.getRank() == 1;
  if (row)
    lhs = reshape(nc, lhs, {1, k});
  SmallVector<int64_t> shape(cast<RankedTensorType>(lhs.getType()).getShape());
  shape.back() = n;
  Value y = graph::MatmulOp::create(nc.b, nc.loc, RankedTensorType::get(shape, i32), lhs, rhs, bias, Value());
  return row ? reshape(nc, y, {n}) : y;
}

/// MatMulInteger: (A - a_zero_point) x (B - b_zero_point) as int32; the
/// zero points per tensor, per row of A or per column of B.
LogicalResult matmulInteger(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 4)))
    return failure();
  auto direct = integerModeMatmul(nc);
  if (failed(direct))
    return failure();
  if (*direct) {
    nc.setOutput(0, *direct);
    return success();
  }
  auto a = centered(nc, 0, 2, /*rowZp=*/true, "A");
  auto b = centered(nc, 1, 3, /*rowZp=*/false, "B");
  if (failed(a) || failed(b))
    return failure();
  auto y = numpyMatmul(nc, *a, *b);
  if (failed(y))
    return failure();
  nc.setOutput(0, castTo(nc, *y, nc.b.getI32Type()));
  return success();
}

/// QLinearMatMul: quantize((A - za) x (B - zb) * (sa * sb / sy)) with the
/// output's zero point; scales per tensor, per row of A or column of B.
LogicalResult qlinearMatmul(NodeContext &nc) {
  if (failed(nc.expectInputs(8, 8)))
    return failure();
  Type f32 = nc.b.getF32Type();
  Type out = nc.inputType(7).getElementType();
  if (!out.isInteger(8))
    return nc.error() << "y_zero_point has element type " << out << "; int8 and uint8 are supported";
  for (int s : {1, 4, 6})
    if (!isa<FloatType>(nc.inputType(s).getElementType()))
      return nc.error() << "input " << s << " ('" << nc.node.input(s)
                        << "') is a scale and must be floating point";
  auto a = centered(nc, 0, 2, /*rowZp=*/true, "a");
  auto b = centered(nc, 3, 5, /*rowZp=*/false, "b");
  auto sa = floatInput(nc, 1, f32, false), sb = floatInput(nc, 4, f32, false),
       sy = floatInput(nc, 6, f32, false), zy = floatInput(nc, 7, f32, true);
  if (failed(a) || failed(b) || failed(sa) || failed(sb) || failed(sy) || failed(zy))
    return failure();
  auto acc = numpyMatmul(nc, *a, *b);
  if (failed(acc))
    return failure();
  // The accumulator times sa * sb / sy: per-row scales of a as a column.
  Value rowScale = *sa;
  if (auto st = cast<RankedTensorType>(rowScale.getType()); st.getNumElements() > 1)
    rowScale = reshape(nc, rowScale, {st.getNumElements(), 1});
  auto ab = broadcastBinary<graph::MulOp>(nc, rowScale, *sb);
  if (failed(ab))
    return failure();
  auto m = broadcastBinary<graph::DivOp>(nc, *ab, *sy);
  if (failed(m))
    return failure();
  auto scaled = broadcastBinary<graph::MulOp>(nc, *acc, *m);
  if (failed(scaled))
    return failure();
  auto y = requantize(nc, *scaled, Value(), *zy, out);
  if (failed(y))
    return failure();
  nc.setOutput(0, *y);
  return success();
}

/// DynamicQuantizeLinear: uint8 with the scale and zero point of x's range
/// (widened to include 0): scale = (max - min) / 255 (1 / 255 for an
/// all-zero x), zero point = round(clamp(-min / scale, 0, 255)).
LogicalResult dynamicQuantizeLinear(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(nc.expectFloat(0)))
    return failure();
  auto x = nc.input(0);
  if (failed(x))
    return failure();
  Type f32 = nc.b.getF32Type();
  Value xf = castTo(nc, *x, f32);
  auto t = cast<RankedTensorType>(xf.getType());
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, t.getRank()));
  auto scalarType = RankedTensorType::get({}, f32);
  auto over = [&](graph::ReduceKind kind, Value v, RankedTensorType to, ArrayRef<int64_t> dims) -> Value {
    return graph::ReduceOp::create(nc.b, nc.loc, to, v, graph::ReduceKindAttr::get(nc.b.getContext(), kind),
                                   nc.b.getDenseI64ArrayAttr(dims), nc.b.getBoolAttr(false));
  };
  // The max (min) of every element in two row reductions: along the last
  // dim (one value per row), then over the rows, so neither needs the whole
  // tensor in the scratchpad at once.
  auto reduceAll = [&](graph::ReduceKind kind, Value v) -> Value {
    if (t.getRank() == 0)
      return v;
    if (t.getRank() == 1)
      return over(kind, v, scalarType, all);
    auto rows = RankedTensorType::get(t.getShape().drop_back(), f32);
    return over(kind, over(kind, v, rows, {t.getRank() - 1}), scalarType, ArrayRef<int64_t>(all).drop_back());
  };
  Value zero = scalarConst(nc, f32, 0.0f);
  Value hi = graph::MaxOp::create(nc.b, nc.loc, scalarType, reduceAll(graph::ReduceKind::Max, xf), zero);
  Value lo = graph::MinOp::create(nc.b, nc.loc, scalarType, reduceAll(graph::ReduceKind::Min, xf), zero);
  Value range = graph::SubOp::create(nc.b, nc.loc, scalarType, hi, lo);
  Value empty = graph::EqualOp::create(nc.b, nc.loc, RankedTensorType::get({}, nc.b.getI1Type()), range, zero);
  range = graph::SelectOp::create(nc.b, nc.loc, scalarType, empty, scalarConst(nc, f32, 1.0f), range);
  Value scale = graph::DivOp::create(nc.b, nc.loc, scalarType, range, scalarConst(nc, f32, 255.0f));
  // zero point: qmin - min / scale, clamped to [0, 255], rounded.
  Value zp = graph::DivOp::create(nc.b, nc.loc, scalarType, lo, scale);
  zp = graph::SubOp::create(nc.b, nc.loc, scalarType, zero, zp);
  zp = graph::MaxOp::create(nc.b, nc.loc, scalarType, zp, zero);
  zp = graph::MinOp::create(nc.b, nc.loc, scalarType, zp, scalarConst(nc, f32, 255.0f));
  zp = graph::RoundOp::create(nc.b, nc.loc, scalarType, zp);
  Type u8 = IntegerType::get(nc.b.getContext(), 8, IntegerType::Unsigned);
  auto y = requantize(nc, xf, scale, zp, u8);
  if (failed(y))
    return failure();
  nc.setOutput(0, *y);
  nc.setOutput(1, castTo(nc, scale, t.getElementType() == f32 ? f32 : cast<RankedTensorType>(x->getType()).getElementType()));
  nc.setOutput(2, castTo(nc, zp, u8));
  return success();
}

} // namespace

const OpHandler kQuantHandlers[] = {
    {"com.microsoft", "MatMulNBits", matmulNBits},
    {"", "DequantizeLinear", dequantizeLinear},
    {"", "QuantizeLinear", quantizeLinear},
    {"", "MatMulInteger", matmulInteger},
    {"", "QLinearMatMul", qlinearMatmul},
    {"", "DynamicQuantizeLinear", dynamicQuantizeLinear},
};
const size_t kNumQuantHandlers = std::size(kQuantHandlers);

} // namespace rbln::onnx_import
