//===- RotaryHandlers.cpp - Rotary embeddings from cos/sin caches ---------===//
//
// Rotary position embeddings as ONNX Runtime and ONNX express them with
// half-width cos/sin caches read at position ids: the `RotaryEmbedding`
// operators here (ONNX opset 23, com.microsoft), and GroupQueryAttention's
// do_rotary (AttentionHandlers.cpp) through the same two helpers. All become
// graph.rotary (rotate-half) on the rotated part of the head, with the
// interleaved form permuted to halves and back around it.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "dialects/Graph/GraphDialect.h"

using namespace mlir;

namespace rbln::onnx_import {
namespace {

/// A view of a contiguous 4-D x's last dim: `width` elements from `offset`.
Value lastDimView(NodeContext &nc, Value x, int64_t offset, int64_t width) {
  auto t = cast<RankedTensorType>(x.getType());
  int64_t a = t.getDimSize(1), s = t.getDimSize(2), d = t.getDimSize(3);
  return graph::ViewOp::create(nc.b, nc.loc, withShape(x, {t.getDimSize(0), a, s, width}), x,
                               nc.b.getI64IntegerAttr(offset),
                               nc.b.getDenseI64ArrayAttr({a * s * d, s * d, d, 1}));
}

/// [.., R] <-> [.., 2, R/2]^T: pairs (2i, 2i+1) to halves (i, R/2 + i) and
/// back (the same permutation of [.., R/2, 2] read the other way).
Value swapPairsAndHalves(NodeContext &nc, Value x, bool toHalves) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(t.getShape());
  int64_t r = shape.back();
  shape.pop_back();
  SmallVector<int64_t> split(shape), swapped(shape);
  split.append(toHalves ? SmallVector<int64_t>{r / 2, 2} : SmallVector<int64_t>{2, r / 2});
  swapped.append(toHalves ? SmallVector<int64_t>{2, r / 2} : SmallVector<int64_t>{r / 2, 2});
  Value v = graph::ReshapeOp::create(nc.b, nc.loc, withShape(x, split), x);
  v = graph::TransposeOp::create(nc.b, nc.loc, withShape(x, swapped), v,
                                 nc.b.getDenseI64ArrayAttr({0, 1, 2, 4, 3}));
  return graph::ReshapeOp::create(nc.b, nc.loc, t, v);
}

/// Positions of com.microsoft / ONNX RotaryEmbedding: a [B, S] input, or
/// (com.microsoft) one start offset for every sequence. `positions` is set
/// for run-time ones; else `constPositions`.
LogicalResult rotaryPositions(NodeContext &nc, int idx, int64_t b, int64_t s, Value &positions,
                              SmallVector<int64_t> &constPositions) {
  auto pt = nc.inputType(idx);
  if (!pt.getElementType().isInteger(64))
    return nc.error() << "position_ids must be int64, got " << pt;
  // One element: a start offset (the same as [1, 1] positions when B = S = 1).
  bool offset = pt.getNumElements() == 1;
  if (!offset && pt.getShape() != ArrayRef<int64_t>({b, s}))
    return nc.error() << "position_ids must be [" << b << ", " << s << "] (or one start offset), got "
                      << pt;
  if (nc.symbol(idx).isConstant()) {
    auto p = nc.constantInts(idx, "position_ids");
    if (failed(p))
      return failure();
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < s; ++j)
        constPositions.push_back(offset ? (*p)[0] + j : (*p)[size_t(i * s + j)]);
    return success();
  }
  if (offset && !(b == 1 && s == 1))
    return nc.error() << "a run-time start offset as position_ids is not supported; give [" << b
                      << ", " << s << "] positions";
  if (offset && pt.getShape() != ArrayRef<int64_t>({b, s})) {
    auto p = nc.input(idx);
    if (failed(p))
      return failure();
    positions = graph::ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get({b, s}, pt.getElementType()), *p);
    return success();
  }
  auto p = nc.input(idx);
  if (failed(p))
    return failure();
  positions = *p;
  return success();
}

/// RotaryEmbedding: ONNX opset 23 (X, cos_cache, sin_cache[, position_ids])
/// or com.microsoft (input, position_ids, cos_cache, sin_cache); X 4-D
/// [B, H, S, D] or 3-D [B, S, hidden] with num_heads.
LogicalResult rotaryEmbedding(NodeContext &nc) {
  bool ms = nc.node.domain() == "com.microsoft";
  if (failed(nc.expectInputs(ms ? 4 : 3, 4)) || failed(nc.expectFloat(0)))
    return failure();
  int xIdx = 0, posIdx = ms ? 1 : 3, cosIdx = ms ? 2 : 1, sinIdx = ms ? 3 : 2;
  if (ms && nc.intAttr("is_packed_batching", 0) != 0)
    return nc.error() << "is_packed_batching is not supported";
  if (ms && nc.floatAttr("scale", 1.0f) != 1.0f)
    return nc.error() << "scale other than 1 is not supported";
  auto xt = nc.inputType(xIdx);
  Type et = xt.getElementType();
  int64_t heads = nc.intAttr("num_heads", 0);
  int64_t b, s, h, d;
  bool headsFirst = xt.getRank() == 4;
  if (xt.getRank() == 4) {
    b = xt.getDimSize(0), h = xt.getDimSize(1), s = xt.getDimSize(2), d = xt.getDimSize(3);
  } else if (xt.getRank() == 3) {
    // com.microsoft infers the heads from the caches when num_heads is unset.
    int64_t rot = nc.intAttr("rotary_embedding_dim", 0);
    if (heads <= 0 && rot == 0 && nc.inputType(cosIdx).getRank() == 2)
      heads = xt.getDimSize(2) / (2 * nc.inputType(cosIdx).getDimSize(1));
    if (heads <= 0 || xt.getDimSize(2) % heads)
      return nc.error() << "a 3-D input needs num_heads dividing its hidden size " << xt.getDimSize(2);
    b = xt.getDimSize(0), s = xt.getDimSize(1), h = heads, d = xt.getDimSize(2) / heads;
  } else {
    return nc.error() << "input must be 4-D [B, H, S, D] or 3-D [B, S, hidden], got " << xt;
  }
  Value positions;
  SmallVector<int64_t> constPositions;
  if (nc.hasInput(posIdx)) {
    if (failed(rotaryPositions(nc, posIdx, b, s, positions, constPositions)))
      return failure();
  } else if (nc.inputType(cosIdx).getRank() != 3) {
    return nc.error() << "without position_ids the caches must be gathered already: [" << b << ", "
                      << s << ", rotary_dim / 2]";
  }
  auto tables = rotaryTables(nc, b, s, d, et, cosIdx, sinIdx, positions, constPositions, headsFirst);
  if (failed(tables))
    return failure();
  int64_t r = cast<RankedTensorType>(tables->first.getType()).getDimSize(3);
  if (int64_t want = nc.intAttr("rotary_embedding_dim", 0); want != 0 && want != r)
    return nc.error() << "rotary_embedding_dim " << want << " does not match the caches' width " << r;
  auto x = nc.input(xIdx);
  if (failed(x))
    return failure();
  Value x4 = headsFirst ? *x : Value(graph::ReshapeOp::create(nc.b, nc.loc, withShape(*x, {b, s, h, d}), *x));
  Value y = applyRotary(nc, x4, *tables, nc.intAttr("interleaved", 0) != 0);
  nc.setOutput(0, headsFirst ? y : Value(graph::ReshapeOp::create(nc.b, nc.loc, xt, y)));
  return success();
}

} // namespace

FailureOr<std::pair<Value, Value>> rotaryTables(NodeContext &nc, int64_t b, int64_t s, int64_t d,
                                                Type et, int cosInput, int sinInput,
                                                Value positions, ArrayRef<int64_t> constPositions,
                                                bool headsFirst) {
  auto ct = nc.inputType(cosInput), st = nc.inputType(sinInput);
  bool gathered = ct.getRank() == 3;
  if ((ct.getRank() != 2 && !gathered) || ct != st || ct.getElementType() != et ||
      (gathered && (ct.getDimSize(0) != b || ct.getDimSize(1) != s)))
    return nc.error() << "cos_cache and sin_cache must both be [max_positions, rotary_dim / 2]"
                      << (gathered ? " (or [B, S, rotary_dim / 2] at the positions)" : "") << " of "
                      << et << ", got " << ct << " and " << st;
  int64_t half = ct.getShape().back(), r = 2 * half, maxPos = ct.getDimSize(0);
  if (half <= 0 || r > d)
    return nc.error() << "the rotary width " << r << " (2 x the caches' " << half
                      << ") must be positive and at most the head size " << d;
  auto fullType = RankedTensorType::get(headsFirst ? ArrayRef<int64_t>{b, 1, s, r}
                                                   : ArrayRef<int64_t>{b, s, 1, r},
                                        et);
  auto halfType = RankedTensorType::get(headsFirst ? ArrayRef<int64_t>{b, 1, s, half}
                                                   : ArrayRef<int64_t>{b, s, 1, half},
                                        et);
  Value tables[2];
  for (int k = 0; k < 2; ++k) {
    int idx = k ? sinInput : cosInput;
    const char *what = k ? "sin_cache" : "cos_cache";
    if (!positions && !gathered) {
      auto cache = nc.constantFloats(idx, what);
      if (failed(cache))
        return failure();
      SmallVector<APFloat> vals;
      const auto &sem = cast<FloatType>(et).getFloatSemantics();
      for (int64_t p : constPositions) {
        if (p < 0 || p >= maxPos)
          return nc.error() << "position " << p << " is outside the rotary caches' " << maxPos
                            << " positions";
        for (int64_t j = 0; j < r; ++j) {
          APFloat f((*cache)[size_t(p * half + j % half)]);
          bool lost;
          f.convert(sem, APFloat::rmNearestTiesToEven, &lost);
          vals.push_back(f);
        }
      }
      tables[k] = graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(fullType, vals));
      continue;
    }
    auto cache = nc.input(idx);
    if (failed(cache))
      return failure();
    Value rows = *cache;
    if (!gathered)
      rows = graph::GatherOp::create(nc.b, nc.loc, RankedTensorType::get({b, s, half}, et), rows,
                                     positions, nc.b.getI64IntegerAttr(0));
    Value t = graph::ReshapeOp::create(nc.b, nc.loc, halfType, rows);
    tables[k] = graph::ConcatOp::create(nc.b, nc.loc, fullType, ValueRange{t, t},
                                        nc.b.getI64IntegerAttr(3));
  }
  return std::make_pair(tables[0], tables[1]);
}

Value applyRotary(NodeContext &nc, Value x, std::pair<Value, Value> tables, bool interleaved) {
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t d = xt.getDimSize(3), r = cast<RankedTensorType>(tables.first.getType()).getDimSize(3);
  Value rot = r == d ? x : lastDimView(nc, x, 0, r);
  if (interleaved)
    rot = swapPairsAndHalves(nc, rot, true);
  rot = graph::RotaryOp::create(nc.b, nc.loc, rot.getType(), rot, tables.first, tables.second);
  if (interleaved)
    rot = swapPairsAndHalves(nc, rot, false);
  if (r == d)
    return rot;
  return graph::ConcatOp::create(nc.b, nc.loc, xt, ValueRange{rot, lastDimView(nc, x, r, d - r)},
                                 nc.b.getI64IntegerAttr(3));
}

const OpHandler kRotaryHandlers[] = {
    {"", "RotaryEmbedding", rotaryEmbedding},
    {"com.microsoft", "RotaryEmbedding", rotaryEmbedding},
};
const size_t kNumRotaryHandlers = std::size(kRotaryHandlers);

} // namespace rbln::onnx_import
