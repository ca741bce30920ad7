//===- OpHandlers.cpp - ONNX operators to graph ops -----------------------===//
//
// One handler per ONNX operator. Each checks what the op's specification
// allows at the model's opset and what this compiler supports, and emits
// graph ops (or a compile-time constant) at the node's location.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "rbln/runtime/Checked.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"
#include "rbln/runtime/DType.h"

#include <cstring>
#include <algorithm>
#include <limits>

using namespace mlir;
using rbln::DType;

namespace rbln::onnx_import {

FailureOr<Value> NodeContext::materialize(const std::string &name) {
  Symbol &s = symbols.at(name);
  if (s.value)
    return s.value;
  if (s.type.getNumElements() == 0)
    return error() << "'" << name << "' is empty (" << s.type
                   << "): empty tensors can only be concatenated (where they vanish) or "
                      "measured with Shape/Size";
  // A constant used as data: one dense_resource, created once, just before
  // its first use (so constants read in model order).
  ElementsAttr attr = makeResourceElementsView(s.type, s.constantName, s.constantData.bytes(),
                                              s.constantData.owner());
  s.value = graph::ConstantOp::create(b, NameLoc::get(b.getStringAttr(s.constantName), loc), attr)
                .getResult();
  return s.value;
}

const Symbol *NodeContext::constantSymbol(int i, StringRef what) {
  const Symbol &s = symbol(i);
  if (s.isConstant())
    return &s;
  error() << what << " (input " << i << ", '" << node.input(i)
          << "') must be a compile-time constant";
  return nullptr;
}

FailureOr<std::vector<int64_t>> NodeContext::constantInts(int i, StringRef what) {
  const Symbol *c = constantSymbol(i, what);
  if (!c)
    return failure();
  const Symbol &s = *c;
  Type et = s.type.getElementType();
  std::vector<int64_t> out;
  size_t n = size_t(s.type.getNumElements());
  for (size_t k = 0; k < n; ++k) {
    if (et.isInteger(64)) {
      int64_t v;
      std::memcpy(&v, s.constantData.data() + 8 * k, 8);
      out.push_back(v);
    } else if (et.isInteger(32)) {
      int32_t v;
      std::memcpy(&v, s.constantData.data() + 4 * k, 4);
      out.push_back(v);
    } else {
      error() << what << " must be an integer tensor";
      return failure();
    }
  }
  return out;
}

FailureOr<std::vector<float>> NodeContext::constantFloats(int i, StringRef what) {
  const Symbol *c = constantSymbol(i, what);
  if (!c)
    return failure();
  const Symbol &s = *c;
  Type et = s.type.getElementType();
  if (!isa<FloatType>(et)) {
    error() << what << " must be a floating-point tensor";
    return failure();
  }
  DType dt = et.isF16() ? DType::F16 : et.isBF16() ? DType::BF16 : DType::F32;
  if (!(et.isF16() || et.isBF16() || et.isF32())) {
    error() << what << " has unsupported type " << et;
    return failure();
  }
  std::vector<float> out;
  size_t n = size_t(s.type.getNumElements()), es = dtypeSize(dt);
  for (size_t k = 0; k < n; ++k)
    out.push_back(loadAsFloat(reinterpret_cast<const uint8_t *>(s.constantData.data()) + k * es, dt));
  return out;
}

LogicalResult NodeContext::expectInputs(int lo, int hi) {
  int n = node.input_size();
  while (n > 0 && node.input(n - 1).empty())
    --n;
  if (n < lo || n > hi) {
    error() << "expects " << lo << (lo == hi ? "" : " to " + std::to_string(hi)) << " inputs, has "
            << n;
    return failure();
  }
  if (node.output_size() < 1) {
    error() << "has no outputs";
    return failure();
  }
  return success();
}

LogicalResult NodeContext::expectFloat(int i) {
  Type et = inputType(i).getElementType();
  if (!isa<FloatType>(et)) {
    error() << "input " << i << " ('" << node.input(i) << "') has element type " << et
            << "; this version computes floating-point tensors only";
    return failure();
  }
  return success();
}

LogicalResult NodeContext::expectDeviceType(int i) {
  Type et = inputType(i).getElementType();
  if (!isa<FloatType>(et) && !et.isInteger(64) && !et.isInteger(32) && !et.isInteger(1)) {
    error() << "input " << i << " ('" << node.input(i) << "') has element type " << et
            << "; device tensors are floating point, int64, int32 or bool";
    return failure();
  }
  return success();
}

void NodeContext::setOutput(int i, Value v) {
  Symbol s;
  s.value = v;
  s.type = cast<RankedTensorType>(v.getType());
  symbols[node.output(i)] = std::move(s);
}

void NodeContext::setConstantOutput(int i, RankedTensorType type, ConstantData bytes) {
  Symbol s;
  s.type = type;
  s.constantName = node.output(i);
  s.constantData = std::move(bytes);
  // A constant computed from a step-dependent one is step-dependent too.
  for (int k = 0; k < node.input_size(); ++k)
    s.stepDependent |= hasInput(k) && symbols.count(node.input(k)) && symbol(k).stepDependent;
  symbols[node.output(i)] = std::move(s);
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
int64_t NodeContext::intAttr(StringRef name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}
float NodeContext::floatAttr(StringRef name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}
FailureOr<int64_t> NodeContext::axisAttr(StringRef name, int64_t dflt, int64_t rank) {
  int64_t axis = intAttr(name, dflt);
  if (axis < -rank || axis >= rank) {
    error() << "axis " << axis << " is out of range for rank " << rank;
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> NodeContext::intsAttr(StringRef name) const {
  const auto *a = attr(name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>();
}

namespace {

/// `OpTy(lhs, rhs)` with NumPy broadcasting, after checking the operands agree.
template <typename OpTy> FailureOr<Value> broadcastBinary(NodeContext &nc, Value lhs, Value rhs) {
  auto l = cast<RankedTensorType>(lhs.getType()), r = cast<RankedTensorType>(rhs.getType());
  if (l.getElementType() != r.getElementType())
    return nc.error() << "operand element types differ: " << l.getElementType() << " and "
                      << r.getElementType(),
           failure();
  auto shape = graph::broadcastShapes(l.getShape(), r.getShape());
  if (failed(shape))
    return nc.error() << "operand shapes " << l << " and " << r << " do not broadcast", failure();
  return Value(OpTy::create(nc.b, nc.loc, RankedTensorType::get(*shape, l.getElementType()), lhs, rhs));
}

template <typename OpTy> LogicalResult binary(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectFloat(0)) || failed(nc.expectFloat(1)))
    return failure();
  auto lhs = nc.input(0), rhs = nc.input(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  auto v = broadcastBinary<OpTy>(nc, *lhs, *rhs);
  if (failed(v))
    return failure();
  nc.setOutput(0, *v);
  return success();
}

template <typename OpTy> LogicalResult unary(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(nc.expectFloat(0)))
    return failure();
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, OpTy::create(nc.b, nc.loc, in->getType(), *in));
  return success();
}

Value reshape(NodeContext &nc, Value v, ArrayRef<int64_t> shape) {
  auto t = cast<RankedTensorType>(v.getType());
  return graph::ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get(shape, t.getElementType()), v);
}

LogicalResult matmul(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectFloat(0)) || failed(nc.expectFloat(1)))
    return failure();
  auto lhs = nc.input(0), rhs = nc.input(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  Value a = *lhs, bv = *rhs;
  auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(bv.getType());
  if (at.getRank() == 0 || bt.getRank() == 0)
    return nc.error() << "MatMul operands must have rank >= 1";
  // NumPy semantics: a 1-D lhs is a row, a 1-D rhs a column; both removed after.
  bool rowVec = at.getRank() == 1, colVec = bt.getRank() == 1;
  if (rowVec)
    a = reshape(nc, a, {1, at.getDimSize(0)});
  if (colVec)
    bv = reshape(nc, bv, {bt.getDimSize(0), 1});
  at = cast<RankedTensorType>(a.getType());
  bt = cast<RankedTensorType>(bv.getType());
  if (at.getElementType() != bt.getElementType())
    return nc.error() << "operand element types differ";
  int64_t k = at.getShape().back(), k2 = bt.getDimSize(bt.getRank() - 2);
  if (k != k2)
    return nc.error() << "inner dimensions differ: " << at << " x " << bt;
  auto batch = graph::broadcastShapes(at.getShape().drop_back(2), bt.getShape().drop_back(2));
  if (failed(batch))
    return nc.error() << "batch dimensions of " << at << " and " << bt << " do not broadcast";
  SmallVector<int64_t> shape(*batch);
  shape.push_back(at.getDimSize(at.getRank() - 2));
  shape.push_back(bt.getShape().back());
  Value r = graph::MatmulOp::create(nc.b, nc.loc, RankedTensorType::get(shape, at.getElementType()), a,
                                    bv, Value(), Value());
  if (rowVec || colVec) {
    SmallVector<int64_t> out(*batch);
    if (!rowVec)
      out.push_back(at.getDimSize(at.getRank() - 2));
    if (!colVec)
      out.push_back(bt.getShape().back());
    r = reshape(nc, r, out);
  }
  nc.setOutput(0, r);
  return success();
}

LogicalResult gemm(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 3)) || failed(nc.expectFloat(0)) || failed(nc.expectFloat(1)))
    return failure();
  auto at = nc.inputType(0), bt = nc.inputType(1);
  if (at.getRank() != 2 || bt.getRank() != 2)
    return nc.error() << "Gemm operands must be 2-D, got " << at << " and " << bt;
  bool ta = nc.intAttr("transA", 0) != 0, tb = nc.intAttr("transB", 0) != 0;
  int64_t m = at.getDimSize(ta ? 1 : 0), k = at.getDimSize(ta ? 0 : 1);
  int64_t k2 = bt.getDimSize(tb ? 1 : 0), n = bt.getDimSize(tb ? 0 : 1);
  if (k != k2)
    return nc.error() << "inner dimensions differ: A gives " << k << ", B gives " << k2;
  auto type = RankedTensorType::get({m, n}, at.getElementType());
  Value bias;
  if (nc.hasInput(2)) {
    if (failed(nc.expectFloat(2)))
      return failure();
    auto ct = nc.inputType(2);
    auto bs = graph::broadcastShapes(ct.getShape(), type.getShape());
    if (failed(bs) || ArrayRef<int64_t>(*bs) != type.getShape())
      return nc.error() << "C of shape " << ct << " does not broadcast to " << type;
    auto c = nc.input(2);
    if (failed(c))
      return failure();
    bias = *c;
  }
  auto a = nc.input(0), b = nc.input(1);
  if (failed(a) || failed(b))
    return failure();
  auto op = graph::MatmulOp::create(nc.b, nc.loc, type, *a, *b, bias, Value());
  op.setTransposeLhs(ta);
  op.setTransposeRhs(tb);
  op.setAlpha(APFloat(nc.floatAttr("alpha", 1.0f)));
  op.setBeta(APFloat(nc.floatAttr("beta", 1.0f)));
  nc.setOutput(0, op);
  return success();
}

LogicalResult softmax(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(nc.expectFloat(0)))
    return failure();
  auto axis = nc.axisAttr("axis", -1, nc.inputType(0).getRank());
  auto in = nc.input(0);
  if (failed(axis) || failed(in))
    return failure();
  nc.setOutput(0, graph::SoftmaxOp::create(nc.b, nc.loc, in->getType(), *in,
                                           nc.b.getI64IntegerAttr(*axis)));
  return success();
}

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

LogicalResult constant(NodeContext &nc) {
  if (nc.node.output_size() != 1)
    return nc.error() << "Constant must have one output";
  MLIRContext *ctx = nc.loc.getContext();
  if (const auto *a = nc.attr("value")) {
    auto type = tensorProtoType(a->t(), nc.loc);
    if (failed(type))
      return failure();
    std::vector<char> bytes;
    if (failed(tensorBytes(a->t(), *type, nc.loc, bytes)))
      return failure();
    nc.setConstantOutput(0, *type, std::move(bytes));
    return success();
  }
  auto put = [&](ArrayRef<int64_t> shape, Type et, const void *data, size_t bytes) {
    std::vector<char> v(bytes);
    std::memcpy(v.data(), data, bytes);
    nc.setConstantOutput(0, RankedTensorType::get(shape, et), std::move(v));
    return success();
  };
  if (const auto *a = nc.attr("value_float")) {
    float f = a->f();
    return put({}, Float32Type::get(ctx), &f, 4);
  }
  if (const auto *a = nc.attr("value_floats"))
    return put({a->floats_size()}, Float32Type::get(ctx), a->floats().data(), 4 * size_t(a->floats_size()));
  if (const auto *a = nc.attr("value_int")) {
    int64_t i = a->i();
    return put({}, IntegerType::get(ctx, 64), &i, 8);
  }
  if (const auto *a = nc.attr("value_ints"))
    return put({a->ints_size()}, IntegerType::get(ctx, 64), a->ints().data(), 8 * size_t(a->ints_size()));
  return nc.error() << "Constant without a supported value attribute (value, value_float(s), "
                       "value_int(s))";
}

LogicalResult identity(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)))
    return failure();
  const Symbol &s = nc.symbol(0);
  if (s.isConstant() && !s.value) {
    nc.setConstantOutput(0, s.type, s.constantData);
    return success();
  }
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, *in);
  return success();
}

/// Max and Min take one or more inputs, broadcast together.
template <typename OpTy> LogicalResult variadic(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 64)))
    return failure();
  if (failed(nc.expectFloat(0)))
    return failure();
  auto acc = nc.input(0);
  if (failed(acc))
    return failure();
  Value v = *acc;
  for (int i = 1; i < nc.node.input_size(); ++i) {
    if (failed(nc.expectFloat(i)))
      return failure();
    auto next = nc.input(i);
    if (failed(next))
      return failure();
    auto combined = broadcastBinary<OpTy>(nc, v, *next);
    if (failed(combined))
      return failure();
    v = *combined;
  }
  nc.setOutput(0, v);
  return success();
}

LogicalResult gelu(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)) || failed(nc.expectFloat(0)))
    return failure();
  std::string approx = "none";
  if (const auto *a = nc.attr("approximate"))
    approx = a->s();
  if (approx != "none" && approx != "tanh")
    return nc.error() << "approximate='" << approx << "' is not a GELU mode (none, tanh)";
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  auto op = graph::GeluOp::create(nc.b, nc.loc, in->getType(), *in);
  op.setTanhApproximation(approx == "tanh");
  nc.setOutput(0, op);
  return success();
}

LogicalResult clip(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 3)) || failed(nc.expectFloat(0)))
    return failure();
  float bounds[2] = {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  for (int i = 1; i <= 2; ++i) {
    if (!nc.hasInput(i))
      continue;
    auto v = nc.constantFloats(i, i == 1 ? "min" : "max");
    if (failed(v))
      return failure();
    if (v->size() != 1)
      return nc.error() << (i == 1 ? "min" : "max") << " must be a scalar";
    bounds[i - 1] = (*v)[0];
  }
  // min > max is allowed: every value becomes max (max then min, as specified).
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, graph::ClipOp::create(nc.b, nc.loc, in->getType(), *in,
                                        nc.b.getF32FloatAttr(bounds[0]),
                                        nc.b.getF32FloatAttr(bounds[1])));
  return success();
}

LogicalResult castOp(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 1)))
    return failure();
  const auto *to = nc.attr("to");
  if (!to)
    return nc.error() << "Cast needs a 'to' attribute";
  auto et = NodeContext::elementType(int32_t(to->i()), nc.loc, "Cast 'to'");
  if (failed(et))
    return failure();
  auto t = nc.inputType(0);
  auto type = RankedTensorType::get(t.getShape(), *et);
  if (failed(nc.expectDeviceType(0)))
    return failure();
  if (!isa<FloatType>(*et) && !(*et).isInteger(1) && !(*et).isInteger(64) && !(*et).isInteger(32))
    return nc.error() << "casting to " << *et
                      << " is not supported (device tensors are floating point, int64, int32 or bool)";
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  nc.setOutput(0, graph::CastOp::create(nc.b, nc.loc, type, *in));
  return success();
}

/// ReduceSum/Mean/Max: axes from the input (ReduceSum >= 13, the others
/// >= 18) or the attribute; empty axes reduce everything unless
/// noop_with_empty_axes.
template <graph::ReduceKind Kind> LogicalResult reduce(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 2)) || failed(nc.expectFloat(0)))
    return failure();
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  std::vector<int64_t> axes;
  if (nc.hasInput(1) && Kind != graph::ReduceKind::Sum && nc.opset < 18)
    return nc.error() << "axes as an input needs opset 18 (opset " << nc.opset
                      << " takes the 'axes' attribute)";
  if (nc.hasAttr("axes") && (Kind == graph::ReduceKind::Sum || nc.opset >= 18))
    return nc.error() << "'axes' is an input, not an attribute, at opset " << nc.opset;
  if (nc.hasInput(1)) {
    auto v = nc.constantInts(1, "axes");
    if (failed(v))
      return failure();
    axes = *v;
  } else {
    axes = nc.intsAttr("axes");
  }
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  if (axes.empty()) {
    if (nc.intAttr("noop_with_empty_axes", 0)) {
      nc.setOutput(0, *in);
      return success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank)
      return nc.error() << "axis " << a << " is out of range for rank " << rank;
    if (a < 0)
      a += rank;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  bool keep = nc.intAttr("keepdims", 1) != 0;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(t.getDimSize(d));
    else if (keep)
      shape.push_back(1);
  }
  auto op = graph::ReduceOp::create(nc.b, nc.loc, RankedTensorType::get(shape, t.getElementType()),
                                    *in, graph::ReduceKindAttr::get(nc.b.getContext(), Kind),
                                    nc.b.getDenseI64ArrayAttr(axes), nc.b.getBoolAttr(keep));
  nc.setOutput(0, op);
  return success();
}

/// LayerNormalization, RMSNormalization and com.microsoft's
/// SimplifiedLayerNormalization: normalize over dims axis..rank-1.
/// The optional statistics outputs of a normalization over dims axis.. (shape:
/// x with those dims kept as 1), computed alongside from reductions: the mean
/// (layer only) as output `meanOut`, 1/sqrt(var + eps) (layer) or
/// 1/sqrt(mean(x^2) + eps) (RMS) as output `invStdOut`.
void normStatistics(NodeContext &nc, Value x, int64_t axis, float eps, bool layer, int meanOut,
                    int invStdOut) {
  auto want = [&](int i) { return nc.node.output_size() > i && !nc.node.output(i).empty(); };
  bool wantMean = layer && want(meanOut), wantInvStd = want(invStdOut);
  if (!wantMean && !wantInvStd)
    return;
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> axes, kept(t.getShape());
  for (int64_t d = axis; d < t.getRank(); ++d) {
    axes.push_back(d);
    kept[size_t(d)] = 1;
  }
  auto statType = RankedTensorType::get(kept, t.getElementType());
  auto mean = [&](Value v) {
    return graph::ReduceOp::create(
        nc.b, nc.loc, statType, v,
        graph::ReduceKindAttr::get(nc.b.getContext(), graph::ReduceKind::Mean),
        nc.b.getDenseI64ArrayAttr(axes), nc.b.getBoolAttr(true));
  };
  Value centered = x;
  if (layer) {
    Value mu = mean(x);
    if (wantMean)
      nc.setOutput(meanOut, mu);
    centered = graph::SubOp::create(nc.b, nc.loc, t, x, mu);
  }
  if (wantInvStd) {
    Value sq = graph::MulOp::create(nc.b, nc.loc, t, centered, centered);
    auto scalar = RankedTensorType::get({}, t.getElementType());
    Value epsC = graph::ConstantOp::create(
        nc.b, nc.loc, DenseElementsAttr::get(scalar, nc.b.getFloatAttr(t.getElementType(), eps)));
    Value var = graph::AddOp::create(nc.b, nc.loc, statType, mean(sq), epsC);
    Value sd = graph::SqrtOp::create(nc.b, nc.loc, statType, var);
    nc.setOutput(invStdOut, graph::ReciprocalOp::create(nc.b, nc.loc, statType, sd));
  }
}

template <graph::NormKind Kind> LogicalResult norm(NodeContext &nc) {
  bool layer = Kind == graph::NormKind::Layer;
  if (failed(nc.expectInputs(2, layer ? 3 : 2)) || failed(nc.expectFloat(0)) ||
      failed(nc.expectFloat(1)))
    return failure();
  for (int i = 1; i < nc.node.output_size(); ++i)
    if (!nc.node.output(i).empty() && !layer)
      return nc.error() << "output " << i << " ('" << nc.node.output(i)
                        << "', the saved statistics) is not supported; only Y";
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  auto axisOr = nc.axisAttr("axis", -1, rank);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  int64_t len = 1;
  for (int64_t d = axis; d < rank; ++d)
    len *= t.getDimSize(d);
  for (int i = 1; i < 3; ++i)
    if (nc.hasInput(i) && nc.inputType(i).getNumElements() != len)
      return nc.error() << (i == 1 ? "scale" : "bias") << " has " << nc.inputType(i).getNumElements()
                        << " elements; this version needs all " << len
                        << " of the normalized dims (no broadcasting)";
  auto x = nc.input(0), scale = nc.input(1);
  if (failed(x) || failed(scale))
    return failure();
  auto bv = nc.optionalInput(2);
  if (failed(bv))
    return failure();
  Value bias = *bv;
  for (Value v : {*scale, bias})
    if (v && cast<RankedTensorType>(v.getType()).getElementType() != t.getElementType())
      return nc.error() << "scale and bias must have the input's element type";
  float eps = nc.floatAttr("epsilon", 1e-5f);
  auto op = graph::NormOp::create(nc.b, nc.loc, t, *x, *scale, bias, Value(),
                                  graph::NormKindAttr::get(nc.b.getContext(), Kind),
                                  nc.b.getI64IntegerAttr(axis), nc.b.getF32FloatAttr(eps));
  nc.setOutput(0, op);
  // LayerNormalization's optional Mean and InvStdDev outputs.
  normStatistics(nc, *x, axis, eps, layer, 1, 2);
  return success();
}

/// com.microsoft Skip(Simplified)LayerNormalization: s = input + skip (+
/// bias), then a layer (RMS) normalization of s over the last dim; the
/// optional output 3 is s.
template <graph::NormKind Kind> LogicalResult skipNorm(NodeContext &nc) {
  bool layer = Kind == graph::NormKind::Layer;
  int biasIn = layer ? 4 : 3;
  if (failed(nc.expectInputs(3, biasIn + 1)) || failed(nc.expectFloat(0)) ||
      failed(nc.expectFloat(1)))
    return failure();
  if (!layer && nc.node.output_size() > 1 && !nc.node.output(1).empty())
    return nc.error() << "output 1 ('" << nc.node.output(1)
                      << "', the mean) is not defined for the simplified (RMS) normalization";
  auto t = nc.inputType(0);
  int64_t d = t.getShape().back();
  auto in = nc.input(0), skip = nc.input(1), gamma = nc.input(2);
  if (failed(in) || failed(skip) || failed(gamma))
    return failure();
  auto sum = broadcastBinary<graph::AddOp>(nc, *in, *skip);
  if (failed(sum))
    return failure();
  Value s = *sum;
  if (nc.hasInput(biasIn)) {
    auto bias = nc.input(biasIn);
    if (failed(bias))
      return failure();
    auto withBias = broadcastBinary<graph::AddOp>(nc, s, *bias);
    if (failed(withBias))
      return failure();
    s = *withBias;
  }
  if (cast<RankedTensorType>(s.getType()) != t)
    return nc.error() << "skip and bias must broadcast to the input " << t;
  Value beta;
  if (layer && nc.hasInput(3)) {
    auto b = nc.input(3);
    if (failed(b))
      return failure();
    beta = *b;
  }
  for (Value v : {*gamma, beta})
    if (v && cast<RankedTensorType>(v.getType()).getNumElements() != d)
      return nc.error() << "gamma and beta must have the " << d << " elements of the last dim";
  auto flat = [&](Value v) {
    return v ? reshape(nc, v, {d}) : v;
  };
  float eps = nc.floatAttr("epsilon", 1e-12f);
  nc.setOutput(0, graph::NormOp::create(nc.b, nc.loc, t, s, flat(*gamma), flat(beta), Value(),
                                        graph::NormKindAttr::get(nc.b.getContext(), Kind),
                                        nc.b.getI64IntegerAttr(t.getRank() - 1),
                                        nc.b.getF32FloatAttr(eps)));
  if (nc.node.output_size() > 3 && !nc.node.output(3).empty())
    nc.setOutput(3, s);
  normStatistics(nc, s, t.getRank() - 1, eps, layer, 1, 2);
  return success();
}

const OpHandler kHandlers[] = {
    // Variadic forms first: findHandler returns the first match.
    {"", "Max", variadic<graph::MaxOp>},
    {"", "Min", variadic<graph::MinOp>},
#define RBLN_UNARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP) {"", #ONNX, unary<graph::GRAPH_OP>},
#define RBLN_BINARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP) {"", #ONNX, binary<graph::GRAPH_OP>},
#define RBLN_PREDICATE(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)
#define RBLN_LOGICAL(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)
#include "rbln/Support/ElementwiseOps.def"
    {"", "Gelu", gelu},
    {"", "Clip", clip},
    {"", "Cast", castOp},
    {"", "MatMul", matmul},
    {"", "Gemm", gemm},
    {"", "Softmax", softmax},
    {"", "Transpose", transpose},
    {"", "Reshape", reshapeOp},
    {"", "Squeeze", squeeze},
    {"", "Unsqueeze", unsqueeze},
    {"", "Flatten", flatten},
    {"", "Expand", expand},
    {"", "ReduceSum", reduce<graph::ReduceKind::Sum>},
    {"", "ReduceMean", reduce<graph::ReduceKind::Mean>},
    {"", "ReduceMax", reduce<graph::ReduceKind::Max>},
    {"", "LayerNormalization", norm<graph::NormKind::Layer>},
    {"", "RMSNormalization", norm<graph::NormKind::Rms>},
    {"com.microsoft", "SimplifiedLayerNormalization", norm<graph::NormKind::Rms>},
    // ONNX Runtime registers SimplifiedLayerNormalization in the default
    // domain too, and its GenAI model builder writes it there.
    {"", "SimplifiedLayerNormalization", norm<graph::NormKind::Rms>},
    {"com.microsoft", "SkipSimplifiedLayerNormalization", skipNorm<graph::NormKind::Rms>},
    {"com.microsoft", "SkipLayerNormalization", skipNorm<graph::NormKind::Layer>},
    {"", "Constant", constant},
    {"", "Identity", identity},
};

} // namespace

const OpHandler *findHandler(const std::string &domain, const std::string &opType) {
  std::string d = domain == "ai.onnx" ? "" : domain;
  for (const OpHandler &h : kHandlers)
    if (d == h.domain && opType == h.opType)
      return &h;
  for (auto [table, n] : {std::pair<const OpHandler *, size_t>{kIndexHandlers, kNumIndexHandlers},
                         std::pair<const OpHandler *, size_t>{kAttentionHandlers, kNumAttentionHandlers},
                         std::pair<const OpHandler *, size_t>{kRotaryHandlers, kNumRotaryHandlers}})
    for (size_t i = 0; i < n; ++i)
      if (d == table[i].domain && opType == table[i].opType)
        return &table[i];
  return nullptr;
}

} // namespace rbln::onnx_import
