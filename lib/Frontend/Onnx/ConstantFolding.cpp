//===- ConstantFolding.cpp - Shape arithmetic evaluated at import ---------===//
//
// Exporters compute shapes with small integer subgraphs (Shape, Gather,
// Concat, Unsqueeze, arithmetic, Where, Range ...). With static shapes every
// such node has constant inputs, so the importer evaluates it on the host and
// the device never sees it. A node is folded when all its inputs are
// constants (Shape: when its input's shape is static, which it always is).
//
//===----------------------------------------------------------------------===//
#include "HostValue.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"

#include "rbln/runtime/Checked.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace mlir;

namespace rbln::onnx_import {

using namespace host;

FailureOr<bool> tryFoldConstantNode(NodeContext &nc) {
  const std::string &op = nc.node.op_type();
  if (!(nc.node.domain().empty() || nc.node.domain() == "ai.onnx") || nc.node.output_size() != 1)
    return false;
  MLIRContext *ctx = nc.loc.getContext();
  Type i64 = IntegerType::get(ctx, 64), i1 = IntegerType::get(ctx, 1);
  // LLM mode: results folded from the past length's stand-in are
  // step-dependent; the step's positions among them become run-time values.
  bool stepDependent = false;
  for (int k = 0; k < nc.node.input_size(); ++k)
    stepDependent |= nc.hasInput(k) && nc.symbol(k).stepDependent;
  stepDependent &= nc.stepPast > 0; // (only when the model has no position_ids)
  auto stepShape = nc.stepPositions ? cast<RankedTensorType>(nc.stepPositions.getType()).getShape()
                                    : ArrayRef<int64_t>();
  // Unsqueeze of the shared positions [S] with a new leading dim and S at
  // dim 1 ([1, S] or [1, S, 1]: position_ids, maybe with a trailing axis):
  // the per-sequence positions [B, S] replace it (models broadcast dim 0).
  if (stepDependent && op == "Unsqueeze" && nc.symbol(0).sharedPositions) {
    std::vector<int64_t> axes = nc.intsAttr("axes");
    if (nc.hasInput(1)) {
      auto a = nc.constantInts(1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    int64_t rank = 1 + int64_t(axes.size());
    for (int64_t &a : axes)
      a = a < 0 ? a + rank : a;
    llvm::sort(axes);
    if (!axes.empty() && axes[0] == 0 && (axes.size() == 1 || axes[1] > 1)) {
      SmallVector<int64_t> shape(stepShape);
      shape.append(size_t(rank - 2), 1);
      Value p = nc.stepPositions;
      if (rank > 2)
        p = graph::ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get(shape, i64), p);
      nc.setPositionsOutput(p);
      return true;
    }
  }
  // Read from the step's positions (stand-ins for run-time values): a mask
  // (bool) folds at the stand-in positions, where a paged KV cache's own
  // causal band replaces it; an integer folds as a stand-in the device
  // computes when something reads it; a float runs on the device.
  bool readsStandIn = false;
  for (int k = 0; k < nc.node.input_size(); ++k)
    readsStandIn |= nc.hasInput(k) && nc.symbol(k).standIn && op != "Shape" && op != "Size";
  auto finish = [&](FailureOr<HostValue> r) -> FailureOr<bool> {
    if (failed(r))
      return failure();
    if (readsStandIn && r->type != i1) {
      if (r->isFloat())
        return false;
      nc.setStandInOutput(RankedTensorType::get(r->shape, r->type), store(*r));
      return true;
    }
    if (stepDependent && !r->isFloat() && r->type != i1) {
      // past + i per row: [B, S] is position_ids itself, [S] the shared form.
      int64_t s = r->shape.empty() ? 1 : r->shape.back();
      bool positions = r->numel() > 0 && s > 0;
      for (int64_t k = 0; positions && k < r->numel(); ++k)
        positions = r->i[size_t(k)] == nc.stepPast + k % s;
      if (positions && r->type == i64 && ArrayRef<int64_t>(r->shape) == stepShape) {
        nc.setPositionsOutput(nc.stepPositions);
        return true;
      }
      nc.setConstantOutput(0, RankedTensorType::get(r->shape, r->type), store(*r));
      nc.markStepDependent(0, positions && r->shape.size() == 1 && s == stepShape.back());
      return true;
    }
    nc.setConstantOutput(0, RankedTensorType::get(r->shape, r->type), store(*r));
    if (stepDependent)
      nc.markStepDependent(0, false);
    return true;
  };
  if ((op == "Shape" || op == "Size") && !nc.hasInput(0))
    return nc.error() << "needs one input, has none", failure();
  if (op == "Shape") {
    auto t = nc.inputType(0);
    int64_t rank = t.getRank(), start = nc.intAttr("start", 0), end = nc.intAttr("end", rank);
    start = std::clamp(start < 0 ? start + rank : start, int64_t(0), rank);
    end = std::clamp(end < 0 ? end + rank : end, int64_t(0), rank);
    HostValue r = make(i64, {std::max<int64_t>(0, end - start)});
    for (int64_t d = start; d < end; ++d)
      r.i[size_t(d - start)] = t.getDimSize(d);
    return finish(r);
  }
  if (op == "Size") {
    HostValue r = make(i64, {});
    r.i[0] = nc.inputType(0).getNumElements();
    return finish(r);
  }
  // Everything else folds only with all-constant inputs.
  SmallVector<HostValue> in;
  for (int k = 0; k < nc.node.input_size(); ++k) {
    if (nc.node.input(k).empty()) {
      in.push_back(HostValue());
      continue;
    }
    const Symbol &s = nc.symbol(k);
    if (!s.isFoldable() || s.type.getNumElements() > kMaxFoldElements)
      return false; // (a large constant subgraph runs on the device)
    auto v = load(s);
    if (failed(v))
      return false;
    in.push_back(*v);
  }
  if (in.empty())
    return false;
  // Inputs that broadcast to more than kMaxFoldElements run on the device.
  {
    size_t rank = 0;
    for (const HostValue &v : in)
      rank = std::max(rank, v.shape.size());
    SmallVector<int64_t> dims(rank, 1);
    for (const HostValue &v : in)
      for (size_t d = 0; d < v.shape.size(); ++d)
        dims[rank - v.shape.size() + d] = std::max(dims[rank - v.shape.size() + d], v.shape[d]);
    if (!checkedProduct(dims, uint64_t(kMaxFoldElements)))
      return false;
  }
  auto binary = [&](function_ref<double(double, double)> f, bool boolean) {
    Type t = boolean ? i1 : in[0].type;
    bool ints = !in[0].isFloat();
    return finish(elementwise(nc, {in[0], in[1]}, t, [&](ArrayRef<double> a) {
      double r = f(a[0], a[1]);
      return ints && !boolean ? std::trunc(r) : r;
    }));
  };
  if (op == "Add") return binary([](double a, double b) { return a + b; }, false);
  if (op == "Sub") return binary([](double a, double b) { return a - b; }, false);
  if (op == "Mul") return binary([](double a, double b) { return a * b; }, false);
  if (op == "Div") {
    if (!in[0].isFloat())
      for (int64_t k = 0; k < in[1].numel(); ++k)
        if (in[1].at(k) == 0)
          return nc.error() << "integer division by zero in a constant expression", failure();
    return binary([](double a, double b) { return a / b; }, false);
  }
  if (op == "Equal") return binary([](double a, double b) { return double(a == b); }, true);
  if (op == "Less") return binary([](double a, double b) { return double(a < b); }, true);
  if (op == "Greater") return binary([](double a, double b) { return double(a > b); }, true);
  if (op == "LessOrEqual") return binary([](double a, double b) { return double(a <= b); }, true);
  if (op == "GreaterOrEqual") return binary([](double a, double b) { return double(a >= b); }, true);
  if (op == "Xor") return binary([](double a, double b) { return double((a != 0) != (b != 0)); }, true);
  if ((op == "Max" || op == "Min") && in.size() >= 1) {
    bool mx = op == "Max";
    FailureOr<HostValue> acc = in[0];
    for (size_t k = 1; k < in.size() && succeeded(acc); ++k)
      acc = elementwise(nc, {*acc, in[k]}, in[0].type, [&](ArrayRef<double> a) {
        if (std::isnan(a[0]) || std::isnan(a[1]))
          return a[0] + a[1];
        return mx ? std::max(a[0], a[1]) : std::min(a[0], a[1]);
      });
    return finish(acc);
  }
  if (op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin" || op == "ReduceProd") {
    // Axes from the second input (opset 13+ ReduceSum, 18+ the others) or
    // the attribute; none: all axes (or none with noop_with_empty_axes).
    int64_t rank = int64_t(in[0].shape.size());
    SmallVector<int64_t> axes;
    if (in.size() > 1 && in[1].numel() > 0)
      for (int64_t k = 0; k < in[1].numel(); ++k)
        axes.push_back(in[1].atInt(k));
    else
      for (int64_t a : nc.intsAttr("axes"))
        axes.push_back(a);
    if (axes.empty() && nc.intAttr("noop_with_empty_axes", 0))
      return finish(in[0]);
    SmallVector<bool> reduce(size_t(rank), axes.empty());
    for (int64_t a : axes) {
      a = a < 0 ? a + rank : a;
      if (a < 0 || a >= rank)
        return nc.error() << "axis " << a << " is out of range", failure();
      reduce[size_t(a)] = true;
    }
    bool keep = nc.intAttr("keepdims", 1) != 0;
    SmallVector<int64_t> outShape, keptShape;
    for (int64_t d = 0; d < rank; ++d) {
      keptShape.push_back(reduce[size_t(d)] ? 1 : in[0].shape[size_t(d)]);
      if (!reduce[size_t(d)] || keep)
        outShape.push_back(keptShape.back());
    }
    HostValue r = make(in[0].type, outShape);
    int64_t n = r.numel();
    std::vector<double> acc(size_t(n), op == "ReduceSum" ? 0.0 : op == "ReduceProd" ? 1.0
                                        : op == "ReduceMax" ? -INFINITY : INFINITY);
    SmallVector<int64_t> kept = stridesOf(keptShape);
    for (int64_t e = 0; e < in[0].numel(); ++e) {
      SmallVector<int64_t> idx = unravel(e, in[0].shape);
      int64_t o = 0;
      for (int64_t d = 0; d < rank; ++d)
        o += (reduce[size_t(d)] ? 0 : idx[size_t(d)]) * kept[size_t(d)];
      double v = in[0].at(e), &a = acc[size_t(o)];
      a = op == "ReduceSum" ? a + v : op == "ReduceProd" ? a * v : op == "ReduceMax" ? std::max(a, v) : std::min(a, v);
    }
    for (int64_t k = 0; k < n; ++k)
      set(r, k, acc[size_t(k)]);
    return finish(r);
  }
  if (op == "Expand" && in.size() == 2) {
    HostValue shape = make(in[0].type, {});
    shape.shape.clear();
    for (int64_t k = 0; k < in[1].numel(); ++k)
      shape.shape.push_back(in[1].atInt(k));
    if (!checkedProduct(shape.shape, uint64_t(kMaxFoldElements)))
      return false; // the handler checks and reports the shape
    if (shape.isFloat()) shape.f.assign(size_t(shape.numel()), 0.0);
    else shape.i.assign(size_t(shape.numel()), 0);
    return finish(elementwise(nc, {in[0], shape}, in[0].type, [](ArrayRef<double> a) { return a[0]; }));
  }
  if (op == "Trilu" && in.size() >= 1 && in[0].shape.size() >= 2) {
    bool hasK = in.size() > 1 && (in[1].isFloat() ? !in[1].f.empty() : !in[1].i.empty());
    int64_t k = hasK ? in[1].atInt(0) : 0;
    bool upper = nc.intAttr("upper", 1) != 0;
    HostValue r = in[0];
    size_t rank = r.shape.size();
    for (int64_t e = 0; e < r.numel(); ++e) {
      SmallVector<int64_t> idx = unravel(e, r.shape);
      int64_t d = idx[rank - 1] - idx[rank - 2];
      if (upper ? d < k : d > k)
        set(r, e, 0.0);
    }
    return finish(r);
  }
  if (op == "CumSum" && in.size() == 2) {
    int64_t rank = int64_t(in[0].shape.size()), axis = in[1].atInt(0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
      return nc.error() << "CumSum axis out of range", failure();
    bool exclusive = nc.intAttr("exclusive", 0) != 0, reverse = nc.intAttr("reverse", 0) != 0;
    HostValue r = in[0];
    SmallVector<int64_t> st = stridesOf(r.shape);
    int64_t n = r.shape[size_t(axis)], s = st[size_t(axis)];
    for (int64_t e = 0; e < r.numel(); ++e) {
      if (unravel(e, r.shape)[size_t(axis)] != 0)
        continue; // e is the start of a line along axis
      double acc = 0;
      for (int64_t q = 0; q < n; ++q) {
        int64_t i = reverse ? n - 1 - q : q, at = e + i * s;
        double x = in[0].at(at);
        if (!exclusive) acc += x;
        set(r, at, acc);
        if (exclusive) acc += x;
      }
    }
    return finish(r);
  }
  if (op == "ScatterND" && in.size() == 3) {
    if (nc.hasAttr("reduction") && nc.attr("reduction")->s() != "none")
      return nc.error() << "ScatterND reduction '" << nc.attr("reduction")->s() << "' is not supported",
             failure();
    HostValue r = in[0];
    const HostValue &idx = in[1], &upd = in[2];
    size_t k = size_t(idx.shape.back());
    SmallVector<int64_t> st = stridesOf(r.shape);
    int64_t slice = 1;
    for (size_t d = k; d < r.shape.size(); ++d) slice *= r.shape[d];
    int64_t count = idx.numel() / int64_t(std::max<size_t>(k, 1));
    for (int64_t q = 0; q < count; ++q) {
      int64_t off = 0;
      for (size_t j = 0; j < k; ++j) {
        int64_t v = idx.atInt(q * int64_t(k) + int64_t(j)), dim = r.shape[j];
        if (v < -dim || v >= dim)
          return nc.error() << "ScatterND index " << v << " out of range", failure();
        off += (v < 0 ? v + dim : v) * st[j];
      }
      for (int64_t e = 0; e < slice; ++e)
        set(r, off + e, upd.at(q * slice + e));
    }
    return finish(r);
  }
  if (op == "IsNaN")
    return finish(elementwise(nc, {in[0]}, i1, [](ArrayRef<double> a) { return double(std::isnan(a[0])); }));
  if (op == "And") return binary([](double a, double b) { return double(a != 0 && b != 0); }, true);
  if (op == "Or") return binary([](double a, double b) { return double(a != 0 || b != 0); }, true);
  if (op == "Not")
    return finish(elementwise(nc, {in[0]}, i1, [](ArrayRef<double> a) { return double(a[0] == 0); }));
  if (op == "Where" && in.size() == 3)
    return finish(elementwise(nc, {in[0], in[1], in[2]}, in[1].type,
                              [](ArrayRef<double> a) { return a[0] != 0 ? a[1] : a[2]; }));
  if (op == "Neg")
    return finish(elementwise(nc, {in[0]}, in[0].type, [](ArrayRef<double> a) { return -a[0]; }));
  if (op == "Abs")
    return finish(elementwise(nc, {in[0]}, in[0].type, [](ArrayRef<double> a) { return std::fabs(a[0]); }));
  if (op == "Round")
    return finish(elementwise(nc, {in[0]}, in[0].type, [](ArrayRef<double> a) {
      return double(std::nearbyint(float(a[0]))); // ties to even
    }));
  if (op == "DequantizeLinear" || op == "QuantizeLinear") {
    // The scale (and zero point) element for each element of x: one for
    // all, one per index along `axis`, or one per block of `block_size`.
    auto q = quantParams(nc, op == "QuantizeLinear");
    if (failed(q))
      return failure();
    if (op == "DequantizeLinear" && keepsNarrowWeights(nc, *q))
      return false; // narrow for the matmul kernel (QuantHandlers.cpp)
    const HostValue &x = in[0], &scale = in[1];
    const HostValue *zp = in.size() > 2 && in[2].type ? &in[2] : nullptr;
    HostValue r = make(q->outType, x.shape);
    SmallVector<int64_t> st = stridesOf(scale.shape);
    for (int64_t k = 0; k < x.numel(); ++k) {
      int64_t s = 0;
      if (scale.numel() > 1) {
        SmallVector<int64_t> idx = unravel(k, x.shape);
        if (scale.shape.size() == 1)
          s = idx[size_t(q->axis)];
        else
          for (size_t d = 0; d < idx.size(); ++d)
            s += (int64_t(d) == q->axis ? idx[d] / q->block : idx[d]) * st[d];
      }
      double z = zp ? zp->at(s) : 0.0;
      if (op == "DequantizeLinear") {
        set(r, k, double(float(float(x.at(k) - z) * float(scale.at(s)))));
      } else if (std::optional<DType> f8 = elementDType(q->outType); f8 && dtypeIsFloat8(*f8)) {
        float v = float(float(x.at(k)) / float(scale.at(s)) + float(z));
        set(r, k, double(f8ToFloat(floatToF8(v, *f8, nc.intAttr("saturate", 1) != 0), *f8)));
      } else {
        double v = double(std::nearbyint(float(x.at(k)) / float(scale.at(s)))) + z;
        set(r, k, std::clamp(v, q->lo, q->hi));
      }
    }
    return finish(r);
  }
  if (op == "Cast") {
    auto to = NodeContext::elementType(int32_t(nc.intAttr("to", 1)), nc.loc, "Cast 'to'");
    if (failed(to))
      return failure();
    if (isPacked4(*to))
      return nc.error() << "casting to " << *to << " is not supported", failure();
    bool toInt = !isa<FloatType>(*to);
    // An 8-bit float is rounded here, saturating or not as the node says.
    std::optional<DType> f8 = elementDType(*to);
    bool saturate = nc.intAttr("saturate", 1) != 0;
    return finish(elementwise(nc, {in[0]}, *to, [&](ArrayRef<double> a) {
      if (f8 && dtypeIsFloat8(*f8))
        return double(f8ToFloat(floatToF8(float(a[0]), *f8, saturate), *f8));
      return (*to).isInteger(1) ? double(a[0] != 0) : toInt ? std::trunc(a[0]) : a[0];
    }));
  }
  if (op == "Concat") {
    int64_t rank = int64_t(in[0].shape.size()), axis = nc.intAttr("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
      return nc.error() << "Concat axis out of range", failure();
    SmallVector<int64_t> shape(in[0].shape);
    shape[size_t(axis)] = 0;
    for (const HostValue &v : in) {
      if (int64_t(v.shape.size()) != rank || v.type != in[0].type)
        return nc.error() << "Concat operands disagree in rank or type", failure();
      shape[size_t(axis)] += v.shape[size_t(axis)];
    }
    HostValue r = make(in[0].type, shape);
    int64_t offset = 0;
    for (const HostValue &v : in) {
      for (int64_t k = 0; k < v.numel(); ++k) {
        SmallVector<int64_t> idx = unravel(k, v.shape);
        idx[size_t(axis)] += offset;
        int64_t o = 0;
        SmallVector<int64_t> st = stridesOf(shape);
        for (size_t d = 0; d < idx.size(); ++d)
          o += idx[d] * st[d];
        set(r, o, v.at(k));
      }
      offset += v.shape[size_t(axis)];
    }
    return finish(r);
  }
  if (op == "Gather") {
    const HostValue &data = in[0], &ind = in[1];
    int64_t rank = int64_t(data.shape.size()), axis = nc.intAttr("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
      return nc.error() << "Gather axis out of range", failure();
    SmallVector<int64_t> shape(data.shape.begin(), data.shape.begin() + axis);
    shape.append(ind.shape.begin(), ind.shape.end());
    shape.append(data.shape.begin() + axis + 1, data.shape.end());
    HostValue r = make(data.type, shape);
    SmallVector<int64_t> dst = stridesOf(data.shape);
    for (int64_t k = 0; k < r.numel(); ++k) {
      SmallVector<int64_t> idx = unravel(k, shape);
      int64_t o = 0;
      for (int64_t d = 0; d < axis; ++d)
        o += idx[size_t(d)] * dst[size_t(d)];
      SmallVector<int64_t> ii(idx.begin() + axis, idx.begin() + axis + int64_t(ind.shape.size()));
      int64_t pos = 0;
      SmallVector<int64_t> ist = stridesOf(ind.shape);
      for (size_t d = 0; d < ii.size(); ++d)
        pos += ii[d] * ist[d];
      int64_t g = ind.atInt(pos);
      if (g < 0) g += data.shape[size_t(axis)];
      if (g < 0 || g >= data.shape[size_t(axis)])
        return nc.error() << "Gather index " << ind.atInt(pos) << " is out of range", failure();
      o += g * dst[size_t(axis)];
      for (int64_t d = axis + 1; d < rank; ++d)
        o += idx[size_t(d - 1 + int64_t(ind.shape.size()))] * dst[size_t(d)];
      set(r, k, data.at(o));
    }
    return finish(r);
  }
  if (op == "Slice" && in.size() >= 3) {
    const HostValue &data = in[0];
    int64_t rank = int64_t(data.shape.size());
    SmallVector<int64_t> start(size_t(rank), 0), step(size_t(rank), 1), shape(data.shape);
    int64_t n = in[1].numel();
    for (int64_t k = 0; k < n; ++k) {
      int64_t axis = in.size() > 3 && in[3].numel() ? in[3].atInt(k) : k;
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank)
        return nc.error() << "Slice axis out of range", failure();
      int64_t dim = data.shape[size_t(axis)];
      int64_t st = in.size() > 4 && in[4].numel() ? in[4].atInt(k) : 1;
      if (st == 0)
        return nc.error() << "Slice step 0", failure();
      sliceAxis(dim, int64_t(std::clamp(in[1].at(k), -9.2e18, 9.2e18)),
                int64_t(std::clamp(in[2].at(k), -9.2e18, 9.2e18)), st, start[size_t(axis)],
                shape[size_t(axis)]);
      step[size_t(axis)] = st;
    }
    HostValue r = make(data.type, shape);
    SmallVector<int64_t> dst = stridesOf(data.shape);
    for (int64_t k = 0; k < r.numel(); ++k) {
      SmallVector<int64_t> idx = unravel(k, shape);
      int64_t o = 0;
      for (int64_t d = 0; d < rank; ++d)
        o += (start[size_t(d)] + idx[size_t(d)] * step[size_t(d)]) * dst[size_t(d)];
      set(r, k, data.at(o));
    }
    return finish(r);
  }
  if (op == "ConstantOfShape") {
    SmallVector<int64_t> shape;
    for (int64_t k = 0; k < in[0].numel(); ++k)
      shape.push_back(in[0].atInt(k));
    if (failed(checkShape(shape, nc.loc, "the ConstantOfShape result of node '" + nc.name() + "'")))
      return failure();
    if (!checkedProduct(shape, uint64_t(kMaxFoldElements)))
      return nc.error() << "ConstantOfShape would make more than 2^24 elements at compile time",
             failure();
    double value = 0;
    Type t = Float32Type::get(ctx);
    if (const auto *a = nc.attr("value")) {
      auto vt = tensorProtoType(a->t(), nc.loc);
      std::vector<char> bytes;
      if (failed(vt) || failed(tensorBytes(a->t(), *vt, nc.loc, bytes)))
        return failure();
      Symbol s;
      s.type = *vt;
      s.constantName = "value";
      s.constantData = bytes;
      auto v = load(s);
      if (failed(v) || v->numel() != 1)
        return nc.error() << "ConstantOfShape value must be one element", failure();
      t = vt->getElementType();
      value = v->at(0);
    }
    HostValue r = make(t, shape);
    for (int64_t k = 0; k < r.numel(); ++k)
      set(r, k, value);
    return finish(r);
  }
  if (op == "Range" && in.size() == 3) {
    double start = in[0].at(0), limit = in[1].at(0), delta = in[2].at(0);
    if (delta == 0)
      return nc.error() << "Range delta is 0", failure();
    double count = std::ceil((limit - start) / delta);
    if (!(count <= double(kMaxFoldElements)))
      return nc.error() << "Range(" << start << ", " << limit << ", " << delta
                        << ") has more than 2^24 elements or is not finite",
             failure();
    int64_t n = std::max<int64_t>(0, int64_t(count));
    HostValue r = make(in[0].type, {n});
    for (int64_t k = 0; k < n; ++k)
      set(r, k, start + double(k) * delta);
    return finish(r);
  }
  return false;
}

} // namespace rbln::onnx_import
