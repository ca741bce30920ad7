//===- IndexHandlers.cpp - Indexing, comparison and logic ops -------------===//
//
// Gather, GatherND, Slice, Split and Concat on device tensors, and the
// comparisons, logic and Where that attention masks are built from. With all
// inputs constant these nodes never get here: ConstantFolding evaluates them.
//
// Indices known at compile time usually walk the data affinely (a slice, a
// broadcast, an arange): such a gather becomes a graph.view, a strided DMA
// read, instead of a gather kernel.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "dialects/Graph/GraphDialect.h"

#include <cstring>
#include <numeric>

using namespace mlir;

namespace rbln::onnx_import {
namespace {

/// Checks compile-time indices against their dims (`dimOf(k)` for the k-th)
/// and wraps negatives.
LogicalResult wrapIndices(NodeContext &nc, std::vector<int64_t> &idx,
                          function_ref<int64_t(size_t)> dimOf) {
  for (size_t k = 0; k < idx.size(); ++k) {
    int64_t dim = dimOf(k), &v = idx[k];
    if (v < -dim || v >= dim)
      return nc.error() << "index " << v << " is out of range for a dimension of " << dim;
    if (v < 0)
      v += dim;
  }
  return success();
}

/// If `offsetOf(out index)` (an element of the input) is affine in the output
/// index with non-negative strides, the view that reads it; else null.
Value affineView(NodeContext &nc, Value input, ArrayRef<int64_t> outShape,
                 function_ref<int64_t(ArrayRef<int64_t>)> offsetOf) {
  int64_t numel = std::accumulate(outShape.begin(), outShape.end(), int64_t(1),
                                  std::multiplies<int64_t>());
  if (numel == 0)
    return {};
  SmallVector<int64_t> zero(outShape.size(), 0), strides(outShape.size(), 0);
  int64_t base = offsetOf(zero);
  for (size_t d = 0; d < outShape.size(); ++d) {
    if (outShape[d] < 2)
      continue;
    SmallVector<int64_t> e = zero;
    e[d] = 1;
    strides[d] = offsetOf(e) - base;
    if (strides[d] < 0)
      return {};
  }
  for (int64_t k = 0; k < numel; ++k) {
    SmallVector<int64_t> idx = unravel(k, outShape);
    int64_t want = base;
    for (size_t d = 0; d < idx.size(); ++d)
      want += idx[d] * strides[d];
    if (offsetOf(idx) != want)
      return {};
  }
  auto it = cast<RankedTensorType>(input.getType());
  auto type = RankedTensorType::get(outShape, it.getElementType());
  return graph::ViewOp::create(nc.b, nc.loc, type, input, nc.b.getI64IntegerAttr(base),
                               nc.b.getDenseI64ArrayAttr(strides));
}

LogicalResult gather(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectDeviceType(0)))
    return failure();
  auto dt = nc.inputType(0), it = nc.inputType(1);
  int64_t rank = dt.getRank();
  auto axisOr = nc.axisAttr("axis", 0, rank);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  if (!it.getElementType().isInteger(64) && !it.getElementType().isInteger(32))
    return nc.error() << "indices must be int64 or int32, got " << it.getElementType();
  SmallVector<int64_t> shape(dt.getShape().take_front(axis));
  llvm::append_range(shape, it.getShape());
  llvm::append_range(shape, dt.getShape().drop_front(axis + 1));
  auto data = nc.input(0);
  if (failed(data))
    return failure();
  int64_t dim = dt.getDimSize(axis);
  if (nc.symbol(1).isConstant()) {
    auto idx = nc.constantInts(1, "the indices");
    if (failed(idx))
      return failure();
    if (failed(wrapIndices(nc, *idx, [&](size_t) { return dim; })))
      return failure();
    SmallVector<int64_t> ds = stridesOf(dt.getShape()), is = stridesOf(it.getShape());
    int64_t qRank = it.getRank();
    Value v = affineView(nc, *data, shape, [&](ArrayRef<int64_t> o) {
      int64_t off = 0, q = 0;
      for (int64_t d = 0; d < axis; ++d)
        off += o[size_t(d)] * ds[size_t(d)];
      for (int64_t d = 0; d < qRank; ++d)
        q += o[size_t(axis + d)] * is[size_t(d)];
      off += (*idx)[size_t(q)] * ds[size_t(axis)];
      for (int64_t d = axis + 1; d < rank; ++d)
        off += o[size_t(d - 1 + qRank)] * ds[size_t(d)];
      return off;
    });
    if (v) {
      nc.setOutput(0, v);
      return success();
    }
  }
  if (axis != 0)
    return nc.error() << "a gather on axis " << axis
                      << " needs indices known at compile time that step through the data "
                         "regularly; run-time indices are supported on axis 0 (embeddings)";
  // The rows are copied in the table's type: float, or the 8-bit integers
  // of a quantized embedding (DequantizeLinear follows the gather).
  if (!isa<FloatType>(dt.getElementType()) && !dt.getElementType().isInteger(8))
    return nc.error() << "a gather with run-time indices reads floating-point or 8-bit integer "
                         "tables, got "
                      << dt.getElementType();
  auto indices = nc.input(1);
  if (failed(indices))
    return failure();
  nc.setOutput(0, graph::GatherOp::create(nc.b, nc.loc,
                                          RankedTensorType::get(shape, dt.getElementType()),
                                          *data, *indices, nc.b.getI64IntegerAttr(0)));
  return success();
}

LogicalResult gatherND(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectDeviceType(0)))
    return failure();
  if (nc.intAttr("batch_dims", 0) != 0)
    return nc.error() << "batch_dims other than 0 is not supported";
  auto dt = nc.inputType(0), it = nc.inputType(1);
  auto idx = nc.constantInts(1, "GatherND indices");
  if (failed(idx))
    return failure();
  if (it.getRank() < 1)
    return nc.error() << "indices must have rank >= 1";
  int64_t k = it.getDimSize(it.getRank() - 1), rank = dt.getRank();
  if (k > rank)
    return nc.error() << "indices address " << k << " dims of a rank-" << rank << " tensor";
  SmallVector<int64_t> shape(it.getShape().drop_back());
  llvm::append_range(shape, dt.getShape().drop_front(k));
  if (failed(wrapIndices(nc, *idx, [&](size_t q) { return dt.getDimSize(int64_t(q) % k); })))
    return failure();
  auto data = nc.input(0);
  if (failed(data))
    return failure();
  SmallVector<int64_t> ds = stridesOf(dt.getShape());
  SmallVector<int64_t> qShape(it.getShape().drop_back());
  SmallVector<int64_t> qs = stridesOf(qShape);
  int64_t qRank = int64_t(qShape.size());
  Value v = affineView(nc, *data, shape, [&](ArrayRef<int64_t> o) {
    int64_t q = 0, off = 0;
    for (int64_t d = 0; d < qRank; ++d)
      q += o[size_t(d)] * qs[size_t(d)];
    for (int64_t j = 0; j < k; ++j)
      off += (*idx)[size_t(q * k + j)] * ds[size_t(j)];
    for (int64_t d = k; d < rank; ++d)
      off += o[size_t(qRank + d - k)] * ds[size_t(d)];
    return off;
  });
  if (!v)
    return nc.error() << "GatherND indices must step through the data regularly (an affine "
                         "pattern); these do not";
  nc.setOutput(0, v);
  return success();
}

/// GatherElements with compile-time indices: out[i] = data[i with i[axis]
/// replaced by indices[i]], as a view when affine.
LogicalResult gatherElements(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectDeviceType(0)))
    return failure();
  auto dt = nc.inputType(0), it = nc.inputType(1);
  int64_t rank = dt.getRank();
  auto axisOr = nc.axisAttr("axis", 0, rank);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  if (it.getRank() != rank)
    return nc.error() << "indices must have the data's rank " << rank;
  auto idx = nc.constantInts(1, "GatherElements indices");
  if (failed(idx))
    return failure();
  if (failed(wrapIndices(nc, *idx, [&](size_t) { return dt.getDimSize(axis); })))
    return failure();
  auto data = nc.input(0);
  if (failed(data))
    return failure();
  SmallVector<int64_t> ds = stridesOf(dt.getShape()), is = stridesOf(it.getShape());
  Value v = affineView(nc, *data, it.getShape(), [&](ArrayRef<int64_t> o) {
    int64_t q = 0, off = 0;
    for (int64_t d = 0; d < rank; ++d)
      q += o[size_t(d)] * is[size_t(d)];
    for (int64_t d = 0; d < rank; ++d)
      off += (d == axis ? (*idx)[size_t(q)] : o[size_t(d)]) * ds[size_t(d)];
    return off;
  });
  if (!v)
    return nc.error() << "GatherElements indices must step through the data regularly (an affine "
                         "pattern); these do not";
  nc.setOutput(0, v);
  return success();
}

/// A view of input 0 taking `start`/`step`/`size` along each dim.
void sliceView(NodeContext &nc, Value data, ArrayRef<int64_t> start, ArrayRef<int64_t> step,
               ArrayRef<int64_t> size, int out) {
  auto t = cast<RankedTensorType>(data.getType());
  SmallVector<int64_t> ds = stridesOf(t.getShape()), strides;
  int64_t off = 0;
  for (size_t d = 0; d < ds.size(); ++d) {
    off += start[d] * ds[d];
    strides.push_back(step[d] * ds[d]);
  }
  if (ArrayRef<int64_t>(size) == t.getShape()) {
    nc.setOutput(out, data);
    return;
  }
  auto type = RankedTensorType::get(size, t.getElementType());
  nc.setOutput(out, graph::ViewOp::create(nc.b, nc.loc, type, data, nc.b.getI64IntegerAttr(off),
                                          nc.b.getDenseI64ArrayAttr(strides)));
}

LogicalResult slice(NodeContext &nc) {
  if (failed(nc.expectInputs(3, 5)) || failed(nc.expectDeviceType(0)))
    return failure();
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  auto starts = nc.constantInts(1, "Slice starts"), ends = nc.constantInts(2, "Slice ends");
  if (failed(starts) || failed(ends))
    return failure();
  std::vector<int64_t> axes, steps;
  if (nc.hasInput(3)) {
    auto a = nc.constantInts(3, "Slice axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(int64_t(i));
  }
  if (nc.hasInput(4)) {
    auto s = nc.constantInts(4, "Slice steps");
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return nc.error() << "starts, ends, axes and steps must have one length";
  SmallVector<int64_t> start(size_t(rank), 0), step(size_t(rank), 1), size(t.getShape());
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank)
      return nc.error() << "axis " << axes[i] << " is out of range for rank " << rank;
    int64_t dim = t.getDimSize(axis), st = steps[i];
    if (st <= 0)
      return nc.error() << "step " << st
                        << " on a device tensor: only positive steps are supported (the NPU's "
                           "DMA strides are non-negative)";
    sliceAxis(dim, (*starts)[i], (*ends)[i], st, start[size_t(axis)], size[size_t(axis)]);
    step[size_t(axis)] = st;
  }
  if (llvm::is_contained(size, 0)) {
    // An empty slice (Phi-3's q[..., rotary_dim:] when the rotary covers the
    // whole head): an empty constant, which Concat drops.
    nc.setConstantOutput(0, RankedTensorType::get(size, t.getElementType()), std::vector<char>());
    return success();
  }
  auto data = nc.input(0);
  if (failed(data))
    return failure();
  sliceView(nc, *data, start, step, size, 0);
  return success();
}

LogicalResult split(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 2)) || failed(nc.expectDeviceType(0)))
    return failure();
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  auto axisOr = nc.axisAttr("axis", 0, rank);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  int64_t dim = t.getDimSize(axis), n = nc.node.output_size();
  std::vector<int64_t> sizes;
  if (nc.hasInput(1)) {
    auto s = nc.constantInts(1, "the split sizes");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (nc.hasAttr("split")) {
    sizes = nc.intsAttr("split");
  } else {
    int64_t parts = nc.intAttr("num_outputs", n);
    if (parts != n || parts <= 0)
      return nc.error() << "num_outputs (" << parts << ") must be the node's number of outputs ("
                        << n << ")";
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::min(chunk, dim - i * chunk));
  }
  if (int64_t(sizes.size()) != n ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim ||
      llvm::any_of(sizes, [](int64_t s) { return s < 0; }))
    return nc.error() << "split sizes must be non-negative, one per output, and add up to " << dim;
  auto data = nc.input(0);
  if (failed(data))
    return failure();
  SmallVector<int64_t> start(size_t(rank), 0), step(size_t(rank), 1), size(t.getShape());
  for (int64_t i = 0, at = 0; i < n; at += sizes[size_t(i)], ++i) {
    start[size_t(axis)] = at;
    size[size_t(axis)] = sizes[size_t(i)];
    if (nc.node.output(int(i)).empty())
      continue;
    if (sizes[size_t(i)] == 0) // an empty part: only a Concat may take it (and skips it)
      nc.setConstantOutput(int(i), RankedTensorType::get(size, t.getElementType()), {});
    else
      sliceView(nc, *data, start, step, size, int(i));
  }
  return success();
}

LogicalResult concat(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1024)))
    return failure();
  auto t0 = nc.inputType(0);
  int64_t rank = t0.getRank();
  auto axisOr = nc.axisAttr("axis", 0, rank);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  SmallVector<Value> inputs;
  SmallVector<int64_t> shape(t0.getShape());
  shape[size_t(axis)] = 0;
  for (int i = 0; i < nc.node.input_size(); ++i) {
    if (failed(nc.expectDeviceType(i)))
      return failure();
    auto t = nc.inputType(i);
    if (t.getRank() != rank || t.getElementType() != t0.getElementType())
      return nc.error() << "input " << i << " has type " << t << ", input 0 has " << t0;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.getDimSize(d) != t0.getDimSize(d))
        return nc.error() << "input " << i << " " << t << " differs from input 0 " << t0
                          << " outside axis " << axis;
    shape[size_t(axis)] += t.getDimSize(axis);
    if (t.getNumElements() == 0)
      continue;
    auto v = nc.input(i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  auto type = RankedTensorType::get(shape, t0.getElementType());
  nc.setOutput(0, inputs.size() == 1 ? inputs[0]
                                     : Value(graph::ConcatOp::create(nc.b, nc.loc, type, inputs,
                                                                     nc.b.getI64IntegerAttr(axis))));
  return success();
}

/// Comparison: operands of one (float or integer) type, an i1 result.
template <typename OpTy> LogicalResult compare(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectDeviceType(0)) ||
      failed(nc.expectDeviceType(1)))
    return failure();
  auto l = nc.inputType(0), r = nc.inputType(1);
  if (l.getElementType() != r.getElementType())
    return nc.error() << "operand element types differ: " << l.getElementType() << " and "
                      << r.getElementType();
  auto shape = graph::broadcastShapes(l.getShape(), r.getShape());
  if (failed(shape))
    return nc.error() << "operand shapes " << l << " and " << r << " do not broadcast";
  auto lhs = nc.input(0), rhs = nc.input(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  nc.setOutput(0, OpTy::create(nc.b, nc.loc, RankedTensorType::get(*shape, nc.b.getI1Type()),
                               *lhs, *rhs));
  return success();
}

LogicalResult expectBool(NodeContext &nc, int i) {
  if (!nc.inputType(i).getElementType().isInteger(1))
    return nc.error() << "input " << i << " ('" << nc.node.input(i) << "') must be bool, got "
                      << nc.inputType(i).getElementType();
  return success();
}

template <typename OpTy> LogicalResult logical(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(expectBool(nc, 0)) || failed(expectBool(nc, 1)))
    return failure();
  auto shape = graph::broadcastShapes(nc.inputType(0).getShape(), nc.inputType(1).getShape());
  if (failed(shape))
    return nc.error() << "operand shapes do not broadcast";
  auto lhs = nc.input(0), rhs = nc.input(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  nc.setOutput(0, OpTy::create(nc.b, nc.loc, RankedTensorType::get(*shape, nc.b.getI1Type()),
                               *lhs, *rhs));
  return success();
}

LogicalResult notOp(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(expectBool(nc, 0)))
    return failure();
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, graph::NotOp::create(nc.b, nc.loc, in->getType(), *in));
  return success();
}

LogicalResult isNan(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(nc.expectFloat(0)))
    return failure();
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  auto t = cast<RankedTensorType>(in->getType());
  nc.setOutput(0, graph::IsNanOp::create(nc.b, nc.loc,
                                         RankedTensorType::get(t.getShape(), nc.b.getI1Type()), *in));
  return success();
}

LogicalResult where(NodeContext &nc) {
  if (failed(nc.expectInputs(3, 3)) || failed(expectBool(nc, 0)))
    return failure();
  auto x = nc.inputType(1), y = nc.inputType(2);
  if (x.getElementType() != y.getElementType())
    return nc.error() << "x and y element types differ: " << x.getElementType() << " and "
                      << y.getElementType();
  Type et = x.getElementType();
  if (!isa<FloatType>(et) && !et.isInteger(1))
    return nc.error() << "Where on device tensors selects floating-point or bool values, got "
                      << et;
  auto xy = graph::broadcastShapes(x.getShape(), y.getShape());
  auto shape = succeeded(xy) ? graph::broadcastShapes(*xy, nc.inputType(0).getShape()) : xy;
  if (failed(shape))
    return nc.error() << "condition, x and y do not broadcast";
  auto c = nc.input(0), a = nc.input(1), b = nc.input(2);
  if (failed(c) || failed(a) || failed(b))
    return failure();
  nc.setOutput(0, graph::SelectOp::create(nc.b, nc.loc, RankedTensorType::get(*shape, et), *c, *a,
                                          *b));
  return success();
}

/// A constant tensor of `type` from `values` (float types or i1).
Value constantOf(NodeContext &nc, RankedTensorType type, ArrayRef<float> values) {
  Type et = type.getElementType();
  if (et.isInteger(1)) {
    SmallVector<bool> bits;
    for (float v : values)
      bits.push_back(v != 0);
    return graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(type, ArrayRef<bool>(bits)));
  }
  SmallVector<APFloat> vals;
  for (float v : values) {
    APFloat f(v);
    bool lost;
    f.convert(cast<FloatType>(et).getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    vals.push_back(f);
  }
  return graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(type, vals));
}

/// Trilu on a device tensor: a select with the (compile-time) triangle mask.
LogicalResult trilu(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 2)) || failed(nc.expectFloat(0)))
    return failure();
  auto t = nc.inputType(0);
  if (t.getRank() < 2)
    return nc.error() << "input must have rank >= 2";
  int64_t k = 0;
  if (nc.hasInput(1)) {
    auto kv = nc.constantInts(1, "Trilu k");
    if (failed(kv) || kv->size() != 1)
      return failed(kv) ? failure() : (nc.error() << "k must be one integer", failure());
    k = (*kv)[0];
  }
  bool upper = nc.intAttr("upper", 1) != 0;
  int64_t n = t.getDimSize(t.getRank() - 2), m = t.getDimSize(t.getRank() - 1);
  std::vector<float> mask;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      mask.push_back(upper ? float(j - i >= k) : float(j - i <= k));
  auto x = nc.input(0);
  if (failed(x))
    return failure();
  Value cond = constantOf(nc, RankedTensorType::get({n, m}, nc.b.getI1Type()), mask);
  Value zero = constantOf(nc, RankedTensorType::get({}, t.getElementType()), {0.0f});
  nc.setOutput(0, graph::SelectOp::create(nc.b, nc.loc, t, cond, *x, zero));
  return success();
}

/// CumSum on a device tensor: a matmul with a constant triangle of ones on
/// the tensor engine (the summed axis moved innermost and back).
LogicalResult cumSum(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectFloat(0)))
    return failure();
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  auto av = nc.constantInts(1, "the CumSum axis");
  if (failed(av))
    return failure();
  if (av->size() != 1 || (*av)[0] < -rank || (*av)[0] >= rank)
    return nc.error() << "axis must be one integer within rank " << rank;
  int64_t axis = (*av)[0] < 0 ? (*av)[0] + rank : (*av)[0];
  bool exclusive = nc.intAttr("exclusive", 0) != 0, reverse = nc.intAttr("reverse", 0) != 0;
  int64_t n = t.getDimSize(axis);
  // y[.., j] = sum_i x[.., i] * T[i, j].
  std::vector<float> tri;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      bool in = reverse ? (exclusive ? i > j : i >= j) : (exclusive ? i < j : i <= j);
      tri.push_back(in ? 1.0f : 0.0f);
    }
  auto x = nc.input(0);
  if (failed(x))
    return failure();
  Value v = *x;
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank)), shape(t.getShape());
  std::swap(perm[size_t(axis)], perm.back());
  std::swap(shape[size_t(axis)], shape.back());
  auto movedType = RankedTensorType::get(shape, t.getElementType());
  bool move = axis != rank - 1;
  if (move)
    v = graph::TransposeOp::create(nc.b, nc.loc, movedType, v, nc.b.getDenseI64ArrayAttr(perm));
  Value triC = constantOf(nc, RankedTensorType::get({n, n}, t.getElementType()), tri);
  if (rank == 1) {
    v = graph::ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get({1, n}, t.getElementType()), v);
    v = graph::MatmulOp::create(nc.b, nc.loc, RankedTensorType::get({1, n}, t.getElementType()), v, triC,
                                Value(), Value());
    v = graph::ReshapeOp::create(nc.b, nc.loc, t, v);
  } else {
    v = graph::MatmulOp::create(nc.b, nc.loc, movedType, v, triC, Value(), Value());
  }
  if (move)
    v = graph::TransposeOp::create(nc.b, nc.loc, t, v, nc.b.getDenseI64ArrayAttr(perm));
  nc.setOutput(0, v);
  return success();
}

LogicalResult notOnDevice(NodeContext &nc) {
  return nc.error() << "runs only when all its inputs are compile-time constants (it is folded); "
                       "here some are computed at run time";
}

} // namespace

const OpHandler kIndexHandlers[] = {
    {"", "Trilu", trilu},
    {"", "CumSum", cumSum},
    {"", "ScatterND", notOnDevice},
    {"", "Gather", gather},
    {"", "GatherND", gatherND},
    {"", "GatherElements", gatherElements},
    {"", "Slice", slice},
    {"", "Split", split},
    {"", "Concat", concat},
    {"", "Equal", compare<graph::EqualOp>},
    {"", "Less", compare<graph::LessOp>},
    {"", "LessOrEqual", compare<graph::LessEqualOp>},
    {"", "Greater", compare<graph::GreaterOp>},
    {"", "GreaterOrEqual", compare<graph::GreaterEqualOp>},
    {"", "And", logical<graph::AndOp>},
    {"", "Or", logical<graph::OrOp>},
    {"", "Xor", logical<graph::XorOp>},
    {"", "Not", notOp},
    {"", "IsNaN", isNan},
    {"", "Where", where},
};
const size_t kNumIndexHandlers = std::size(kIndexHandlers);

} // namespace rbln::onnx_import
