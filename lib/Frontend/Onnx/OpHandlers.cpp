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

namespace {

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

LogicalResult matmul(NodeContext &nc) {
  if (failed(nc.expectInputs(2, 2)) || failed(nc.expectFloat(0)) || failed(nc.expectFloat(1)))
    return failure();
  auto lhs = nc.input(0), rhs = nc.input(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  auto r = numpyMatmul(nc, *lhs, *rhs);
  if (failed(r))
    return failure();
  nc.setOutput(0, *r);
  return success();
}

} // namespace

FailureOr<Value> numpyMatmul(NodeContext &nc, Value a, Value bv) {
  auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(bv.getType());
  if (at.getRank() == 0 || bt.getRank() == 0)
    return nc.error() << "MatMul operands must have rank >= 1", failure();
  // NumPy semantics: a 1-D lhs is a row, a 1-D rhs a column; both removed after.
  bool rowVec = at.getRank() == 1, colVec = bt.getRank() == 1;
  if (rowVec)
    a = reshape(nc, a, {1, at.getDimSize(0)});
  if (colVec)
    bv = reshape(nc, bv, {bt.getDimSize(0), 1});
  at = cast<RankedTensorType>(a.getType());
  bt = cast<RankedTensorType>(bv.getType());
  // (An 8-bit integer lhs against float rhs: quantized activations times
  // dequantized weights, the integer matmuls' form.)
  bool intLhs = at.getElementType().isInteger(8) && isa<FloatType>(bt.getElementType());
  if (!intLhs && at.getElementType() != bt.getElementType())
    return nc.error() << "operand element types differ", failure();
  int64_t k = at.getShape().back(), k2 = bt.getDimSize(bt.getRank() - 2);
  if (k != k2)
    return nc.error() << "inner dimensions differ: " << at << " x " << bt, failure();
  auto batch = graph::broadcastShapes(at.getShape().drop_back(2), bt.getShape().drop_back(2));
  if (failed(batch))
    return nc.error() << "batch dimensions of " << at << " and " << bt << " do not broadcast",
           failure();
  SmallVector<int64_t> shape(*batch);
  shape.push_back(at.getDimSize(at.getRank() - 2));
  shape.push_back(bt.getShape().back());
  Value r = graph::MatmulOp::create(nc.b, nc.loc, RankedTensorType::get(shape, bt.getElementType()), a,
                                    bv, Value(), Value());
  if (rowVec || colVec) {
    SmallVector<int64_t> out(*batch);
    if (!rowVec)
      out.push_back(at.getDimSize(at.getRank() - 2));
    if (!colVec)
      out.push_back(bt.getShape().back());
    r = reshape(nc, r, out);
  }
  return r;
}

namespace {

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
  if (s.standIn && !nc.makingRuntime) {
    nc.setStandInOutput(s.type, s.constantData);
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
  if (!isa<FloatType>(*et) && !(*et).isInteger(1) && !(*et).isInteger(64) && !(*et).isInteger(32) &&
      !(*et).isInteger(8))
    return nc.error() << "casting to " << *et
                      << " is not supported (device tensors are floating point, int64, int32, "
                         "int8, uint8 or bool)";
  // saturate=0 (to an 8-bit float: past the largest finite value is
  // infinity or NaN) is the storing DMA's non-saturating conversion.
  bool saturate = true;
  if (auto d = elementDType(*et); d && dtypeIsFloat8(*d))
    saturate = nc.intAttr("saturate", 1) != 0;
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  auto cast = graph::CastOp::create(nc.b, nc.loc, type, *in);
  cast.setSaturate(saturate);
  nc.setOutput(0, cast);
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
    {"", "Constant", constant},
    {"", "Identity", identity},
};

} // namespace

const OpHandler *findHandler(const std::string &domain, const std::string &opType) {
  std::string d = domain == "ai.onnx" ? "" : domain;
  for (const OpHandler &h : kHandlers)
    if (d == h.domain && opType == h.opType)
      return &h;
  for (auto [table, n] : {std::pair<const OpHandler *, size_t>{kShapeHandlers, kNumShapeHandlers},
                         std::pair<const OpHandler *, size_t>{kNormHandlers, kNumNormHandlers},
                         std::pair<const OpHandler *, size_t>{kIndexHandlers, kNumIndexHandlers},
                         std::pair<const OpHandler *, size_t>{kAttentionHandlers, kNumAttentionHandlers},
                         std::pair<const OpHandler *, size_t>{kRotaryHandlers, kNumRotaryHandlers},
                         std::pair<const OpHandler *, size_t>{kQuantHandlers, kNumQuantHandlers}})
    for (size_t i = 0; i < n; ++i)
      if (d == table[i].domain && opType == table[i].opType)
        return &table[i];
  return nullptr;
}

} // namespace rbln::onnx_import
