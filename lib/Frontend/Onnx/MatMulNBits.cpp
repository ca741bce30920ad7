//===- MatMulNBits.cpp - com.microsoft.MatMulNBits: block-wise 4/8-bit weights ===//
//
// ONNX Runtime GenAI's int4 models and onnxruntime.quantization's
// MatMulNBitsQuantizer write this contrib op. Its weights become a
// graph.dequantize with block_size that the matmul kernel reads narrow
// (int4 or int8, scales per block), or a float constant when their zero
// points do not allow that.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"

using namespace mlir;

namespace rbln::onnx_import {

/// com.microsoft.MatMulNBits (ONNX Runtime GenAI's int4/int8 weights,
/// onnxruntime.quantization's MatMulNBitsQuantizer): Y = A x W^T (+ bias)
/// with W [N, K] stored as `bits`-bit unsigned values, `block_size` of them
/// per block along K, each block with its scale and zero point (default
/// 2^(bits-1)); 4-bit values and zero points two per byte, low nibble first.
/// Weights stay narrow when the matmul kernel can read them as they are
/// (the branch below); otherwise they are dequantized to a float constant
/// at import.
LogicalResult matmulNBits(NodeContext &nc) {
  if (failed(nc.expectInputs(3, 6)) || failed(nc.expectFloat(0)))
    return failure();
  int64_t k = nc.intAttr("K", 0), n = nc.intAttr("N", 0), bits = nc.intAttr("bits", 4),
          bs = nc.intAttr("block_size", 0);
  if (bits != 4 && bits != 8)
    return nc.error() << "bits = " << bits << " is not supported (4 and 8 are)";
  if (k <= 0 || n <= 0 || bs < 16 || bs > (int64_t(1) << 24) || (bs & (bs - 1)) != 0 || k > (int64_t(1) << 24) ||
      n > (int64_t(1) << 24))
    return nc.error() << "K = " << k << ", N = " << n << ", block_size = " << bs
                      << " are not a valid MatMulNBits shape (positive; block_size a power of two >= 16)";
  if (nc.hasInput(4))
    return nc.error() << "g_idx (act-order quantization) is not supported";
  RankedTensorType at = nc.inputType(0);
  if (at.getRank() < 1 || at.getShape().back() != k)
    return nc.error() << "A " << at << " does not end in K = " << k;
  int64_t blocks = ceilDiv(k, bs), blob = bs * bits / 8;
  for (int i : {1, 2, 3})
    if (nc.hasInput(i) && !nc.symbol(i).isConstant())
      return nc.error() << "input " << i << " ('" << nc.node.input(i)
                        << "') must be a constant: the quantized weights are dequantized at import";
  RankedTensorType bt = nc.inputType(1), st = nc.inputType(2);
  if (!bt.getElementType().isInteger(8) || bt.getNumElements() != n * blocks * blob)
    return nc.error() << "B " << bt << " must hold N x ceil(K / block_size) x "
                      << "block_size * bits / 8 = " << n * blocks * blob << " uint8 values";
  if (!isa<FloatType>(st.getElementType()) || st.getNumElements() != n * blocks)
    return nc.error() << "scales " << st << " must hold N x ceil(K / block_size) = " << n * blocks
                      << " floats";
  // Zero points: packed like B (uint8) or one float per block.
  bool zpFloat = false;
  if (nc.hasInput(3)) {
    RankedTensorType zt = nc.inputType(3);
    zpFloat = isa<FloatType>(zt.getElementType());
    int64_t want = zpFloat ? n * blocks : n * ceilDiv(blocks * bits, 8);
    if ((!zpFloat && !zt.getElementType().isInteger(8)) || zt.getNumElements() != want)
      return nc.error() << "zero_points " << zt << " must hold " << want
                        << (zpFloat ? " floats" : " packed uint8 values");
  }
  const uint8_t *q = reinterpret_cast<const uint8_t *>(nc.symbol(1).constantData.data());
  auto scales = nc.constantFloats(2, "scales");
  if (failed(scales))
    return failure();
  std::vector<float> zpf;
  if (zpFloat) {
    auto z = nc.constantFloats(3, "zero_points");
    if (failed(z))
      return failure();
    zpf = *z;
  }
  const uint8_t *zp = nc.hasInput(3) && !zpFloat
                          ? reinterpret_cast<const uint8_t *>(nc.symbol(3).constantData.data())
                          : nullptr;
  int64_t zpRow = ceilDiv(blocks * bits, 8);
  auto unpack = [&](const uint8_t *p, int64_t i) {
    return bits == 8 ? int(p[i]) : int((p[i / 2] >> (4 * (i % 2))) & 0xf);
  };
  auto a = nc.input(0);
  if (failed(a))
    return failure();
  auto addBias = [&](Value y) -> LogicalResult {
    if (nc.hasInput(5)) {
      auto bias = nc.input(5);
      if (failed(bias))
        return failure();
      auto r = broadcastBinary<graph::AddOp>(nc, y, *bias);
      if (failed(r))
        return failure();
      y = *r;
    }
    nc.setOutput(0, y);
    return success();
  };
  // Narrow: q - z as int4 (symmetric 4-bit: z = 8) or int8 (4-bit with
  // other zero points, in [-15, 15]; symmetric 8-bit: z = 128), W [N, K]
  // read transposed, scales [blocks, N] applied per block by the matmul.
  // Needs a uint8 zero point per block (or none), K even for int4's
  // packing, and a float A the kernel computes in.
  bool zpSymmetric = !zpFloat;
  if (zp)
    for (int64_t col = 0; col < n && zpSymmetric; ++col)
      for (int64_t b = 0; b < blocks; ++b)
        if (unpack(zp + col * zpRow, b) != (1 << (bits - 1))) {
          zpSymmetric = false;
          break;
        }
  bool asInt4 = bits == 4 && zpSymmetric && k % 2 == 0;
  bool asInt8 = !asInt4 && !zpFloat && (bits == 4 || zpSymmetric);
  Type et = at.getElementType();
  if ((asInt4 || asInt8) && (et.isF32() || et.isF16() || et.isBF16())) {
    std::vector<char> qn(size_t(asInt4 ? n * k / 2 : n * k));
    std::vector<float> sc(size_t(blocks * n));
    for (int64_t col = 0; col < n; ++col)
      for (int64_t b = 0; b < blocks; ++b) {
        int z = zp ? unpack(zp + col * zpRow, b) : 1 << (bits - 1);
        sc[size_t(b * n + col)] = (*scales)[size_t(col * blocks + b)];
        const uint8_t *blk = q + (col * blocks + b) * blob;
        for (int64_t e = 0; e < bs && b * bs + e < k; ++e) {
          int v = unpack(blk, e) - z;
          size_t i = size_t(col * k + b * bs + e);
          if (asInt4)
            int4Put(reinterpret_cast<uint8_t *>(qn.data()), i, v);
          else
            qn[i] = char(int8_t(v));
        }
      }
    MLIRContext *ctx = nc.b.getContext();
    auto qt = RankedTensorType::get({n, k}, IntegerType::get(ctx, asInt4 ? 4 : 8));
    Value qv = graph::ConstantOp::create(nc.b, nc.loc,
                                         makeResourceElements(qt, nc.node.input(1) + (asInt4 ? "_int4" : "_int8"), qn));
    auto st = RankedTensorType::get({blocks, n}, nc.b.getF32Type());
    Value sv = graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(st, ArrayRef<float>(sc)));
    if (!et.isF32())
      sv = graph::CastOp::create(nc.b, nc.loc, RankedTensorType::get({blocks, n}, et), sv);
    Value w = graph::DequantizeOp::create(nc.b, nc.loc, RankedTensorType::get({n, k}, et), qv, sv,
                                          nc.b.getI64IntegerAttr(0), nc.b.getI64IntegerAttr(bs));
    Value lhs = *a;
    if (at.getRank() == 1)
      lhs = reshape(nc, lhs, {1, k});
    auto lt = cast<RankedTensorType>(lhs.getType());
    SmallVector<int64_t> shape(lt.getShape());
    shape.back() = n;
    auto mm = graph::MatmulOp::create(nc.b, nc.loc, RankedTensorType::get(shape, et), lhs, w, Value(), Value());
    mm.setTransposeRhs(true);
    Value y = mm;
    if (at.getRank() == 1)
      y = reshape(nc, y, {n});
    return addBias(y);
  }
  std::vector<float> w(size_t(k * n)); // [K, N] for the matmul
  for (int64_t col = 0; col < n; ++col)
    for (int64_t b = 0; b < blocks; ++b) {
      float scale = (*scales)[size_t(col * blocks + b)];
      float z = zpFloat ? zpf[size_t(col * blocks + b)]
                : zp    ? float(unpack(zp + col * zpRow, b))
                        : float(1 << (bits - 1));
      const uint8_t *blk = q + (col * blocks + b) * blob;
      for (int64_t e = 0; e < bs && b * bs + e < k; ++e)
        w[size_t((b * bs + e) * n + col)] = (float(unpack(blk, e)) - z) * scale;
    }
  SmallVector<Attribute> attrs;
  Value wv;
  if (et.isF32()) {
    wv = graph::ConstantOp::create(
        nc.b, nc.loc, DenseElementsAttr::get(RankedTensorType::get({k, n}, et), ArrayRef<float>(w)));
  } else {
    for (float v : w)
      attrs.push_back(nc.b.getFloatAttr(et, v));
    wv = graph::ConstantOp::create(nc.b, nc.loc,
                                   DenseElementsAttr::get(RankedTensorType::get({k, n}, et), attrs));
  }
  auto y = numpyMatmul(nc, *a, wv);
  if (failed(y))
    return failure();
  return addBias(*y);
}

} // namespace rbln::onnx_import
