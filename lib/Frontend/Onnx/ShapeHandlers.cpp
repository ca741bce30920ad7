//===- ShapeHandlers.cpp - Transpose, Reshape, Squeeze, Unsqueeze, Flatten, Expand ===//
#include "ImporterImpl.h"

#include "rbln/runtime/Checked.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"
#include "rbln/runtime/DType.h"

#include <algorithm>
#include <cstring>
#include <limits>

using namespace mlir;
using rbln::DType;

namespace rbln::onnx_import {

namespace {

LogicalResult transpose(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(nc.expectFloat(0)))
    return failure();
  auto t = nc.inputType(0);
  std::vector<int64_t> perm = nc.intsAttr("perm");
  if (perm.empty())
    for (int64_t i = t.getRank() - 1; i >= 0; --i)
      perm.push_back(i);
  if (int64_t(perm.size()) != t.getRank())
    return nc.error() << "perm has " << perm.size() << " entries for an input of rank " << t.getRank();
  SmallVector<int64_t> shape;
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= t.getRank() || seen[size_t(p)])
      return nc.error() << "perm is not a permutation of 0.." << t.getRank() - 1;
    seen[size_t(p)] = true;
    shape.push_back(t.getDimSize(p));
  }
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, graph::TransposeOp::create(nc.b, nc.loc,
                                             RankedTensorType::get(shape, t.getElementType()), *in,
                                             nc.b.getDenseI64ArrayAttr(perm)));
  return success();
}

/// Reinterprets input 0 with `shape`: a view, or a new constant.
LogicalResult reshapeTo(NodeContext &nc, ArrayRef<int64_t> shape) {
  auto t = nc.inputType(0);
  auto type = RankedTensorType::get(shape, t.getElementType());
  const Symbol &s = nc.symbol(0);
  if (s.isConstant() && !s.value) {
    nc.setConstantOutput(0, type, s.constantData);
    return success();
  }
  if (s.standIn && !nc.makingRuntime) { // (the view is made when the device reads it)
    nc.setStandInOutput(type, s.constantData);
    return success();
  }
  if (failed(nc.expectDeviceType(0)))
    return failure();
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, type == t ? *in : Value(graph::ReshapeOp::create(nc.b, nc.loc, type, *in)));
  return success();
}

LogicalResult reshapeOp(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)))
    return failure();
  auto t = nc.inputType(0);
  auto target = nc.constantInts(1, "the shape");
  if (failed(target))
    return failure();
  bool allowZero = nc.intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t known = 1, inferAt = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t d = (*target)[i];
    if (d == 0 && !allowZero) {
      if (int64_t(i) >= t.getRank())
        return nc.error() << "shape entry " << i << " is 0 (copy) but the input has rank " << t.getRank();
      d = t.getDimSize(int64_t(i));
    }
    if (d == -1) {
      if (inferAt >= 0)
        return nc.error() << "shape has more than one -1";
      inferAt = int64_t(i);
    } else if (d < 0) {
      return nc.error() << "shape entry " << i << " is " << d;
    } else {
      Checked<int64_t> product = Checked<int64_t>(known) * d;
      if (!product.ok())
        return nc.error() << "the shape's entries multiply past 2^63";
      known = product.value();
    }
    shape.push_back(d);
  }
  if (inferAt >= 0) {
    if (known == 0 || t.getNumElements() % known != 0)
      return nc.error() << "cannot infer the -1 entry: " << t.getNumElements()
                        << " elements do not divide by " << known;
    shape[size_t(inferAt)] = t.getNumElements() / known;
    known *= shape[size_t(inferAt)];
  }
  if (known != t.getNumElements())
    return nc.error() << "cannot reshape " << t << " (" << t.getNumElements() << " elements) to "
                      << known << " elements";
  return reshapeTo(nc, shape);
}

/// Squeeze/Unsqueeze axes: from the `axes` input (opset >= 13) or attribute.
FailureOr<std::vector<int64_t>> axesOf(NodeContext &nc, int rank, bool required) {
  std::vector<int64_t> axes;
  if (nc.hasInput(1)) {
    auto v = nc.constantInts(1, "axes");
    if (failed(v))
      return failure();
    axes = *v;
  } else if (nc.hasAttr("axes")) {
    axes = nc.intsAttr("axes");
  } else if (required) {
    nc.error() << "needs axes";
    return failure();
  }
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank) {
      nc.error() << "axis " << a << " is out of range for rank " << rank;
      return failure();
    }
    if (a < 0)
      a += rank;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
    nc.error() << "axes repeat";
    return failure();
  }
  return axes;
}

LogicalResult squeeze(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 2)))
    return failure();
  auto t = nc.inputType(0);
  auto axes = axesOf(nc, int(t.getRank()), false);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    bool listed = llvm::is_contained(*axes, d);
    if (listed && t.getDimSize(d) != 1)
      return nc.error() << "cannot squeeze dim " << d << " of size " << t.getDimSize(d);
    if (!(listed || (axes->empty() && t.getDimSize(d) == 1)))
      shape.push_back(t.getDimSize(d));
  }
  return reshapeTo(nc, shape);
}

LogicalResult unsqueeze(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 2)))
    return failure();
  auto t = nc.inputType(0);
  int64_t rank = t.getRank() + int64_t(nc.hasInput(1) ? nc.symbol(1).type.getNumElements()
                                                      : int64_t(nc.intsAttr("axes").size()));
  auto axes = axesOf(nc, int(rank), true);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> shape;
  int64_t src = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(llvm::is_contained(*axes, d) ? 1 : t.getDimSize(src++));
  return reshapeTo(nc, shape);
}

LogicalResult flatten(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)))
    return failure();
  auto t = nc.inputType(0);
  int64_t axis = nc.intAttr("axis", 1), rank = t.getRank();
  if (axis < -rank || axis > rank)
    return nc.error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= t.getDimSize(d);
  return reshapeTo(nc, {outer, inner});
}

LogicalResult expand(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)))
    return failure();
  auto t = nc.inputType(0);
  auto target = nc.constantInts(1, "the shape");
  if (failed(target))
    return failure();
  auto shape = graph::broadcastShapes(t.getShape(), *target);
  if (failed(shape))
    return nc.error() << "cannot expand " << t << " to the shape given";
  if (failed(nc.expectDeviceType(0)))
    return failure();
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  auto type = RankedTensorType::get(*shape, t.getElementType());
  if (type == t)
    nc.setOutput(0, *in);
  else
    nc.setOutput(0, graph::ExpandOp::create(nc.b, nc.loc, type, *in));
  return success();
}

} // namespace

const OpHandler kShapeHandlers[] = {
    {"", "Transpose", transpose},
    {"", "Reshape", reshapeOp},
    {"", "Squeeze", squeeze},
    {"", "Unsqueeze", unsqueeze},
    {"", "Flatten", flatten},
    {"", "Expand", expand},
};
const size_t kNumShapeHandlers = std::size(kShapeHandlers);

} // namespace rbln::onnx_import
