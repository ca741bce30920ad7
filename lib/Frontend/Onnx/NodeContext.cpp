//===- NodeContext.cpp - What an op handler sees of its node ----------------===//
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

FailureOr<Value> NodeContext::materialize(const std::string &name) {
  Symbol &s = symbols.at(name);
  if (s.value)
    return s.value;
  if (s.standIn) {
    // Computed from the step's positions: the node that makes it runs now,
    // its inputs made the same way (the stand-in stays for later folds).
    Symbol saved = s;
    const OpHandler *h = saved.runtimeNode ? findHandler(saved.runtimeNode->domain(),
                                                         saved.runtimeNode->op_type())
                                           : nullptr;
    if (!h)
      return error() << "'" << name << "' is computed from the step's positions, and nothing "
                                         "computes it on the device",
             failure();
    NodeContext nc(b, Location(saved.runtimeLoc), *saved.runtimeNode, symbols, saved.runtimeOpset);
    nc.stepPositions = stepPositions;
    nc.makingRuntime = true;
    if (failed(h->fn(nc)))
      return failure();
    Symbol &made = symbols.at(name);
    Value v = made.value;
    made = std::move(saved);
    made.value = v;
    return v;
  }
  if (s.type.getNumElements() == 0)
    return error() << "'" << name << "' is empty (" << s.type
                   << "): empty tensors can only be concatenated (where they vanish) or "
                      "measured with Shape/Size";
  if (isPacked4(s.type.getElementType()) && !allowPacked4)
    return error() << "'" << name << "' is " << s.type
                   << ": 4-bit tensors are supported only as the weights of a DequantizeLinear "
                      "read by a MatMul (blocked along K, or per column)";
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
  if (s.standIn) {
    error() << what << " (input " << i << ", '" << node.input(i)
            << "') is computed from the step's positions, which are run-time values; it must be "
               "a compile-time constant";
    return nullptr;
  }
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
  if (!hasInput(i)) { // an empty name leaves an input out: not one a handler requires
    error() << "input " << i << " is required, but the node leaves it out (an empty name)";
    return failure();
  }
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
  if (!isa<FloatType>(et) && !et.isInteger(64) && !et.isInteger(32) && !et.isInteger(8) &&
      !et.isInteger(1)) {
    error() << "input " << i << " ('" << node.input(i) << "') has element type " << et
            << "; device tensors are floating point, int64, int32, int8, uint8 or bool";
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

void NodeContext::setPositionsOutput(Value runtime) {
  auto type = cast<RankedTensorType>(runtime.getType());
  int64_t s = cast<RankedTensorType>(stepPositions.getType()).getShape().back();
  std::vector<char> bytes(size_t(type.getNumElements()) * 8);
  for (int64_t k = 0; k < type.getNumElements(); ++k) {
    int64_t v = stepPast + k % s;
    std::memcpy(bytes.data() + 8 * k, &v, 8);
  }
  setConstantOutput(0, type, ConstantData(std::move(bytes)));
  Symbol &out = symbols.at(node.output(0));
  out.value = runtime;
  out.stepDependent = out.standIn = true;
}

void NodeContext::setStandInOutput(RankedTensorType type, ConstantData bytes) {
  setConstantOutput(0, type, std::move(bytes));
  Symbol &out = symbols.at(node.output(0));
  out.stepDependent = out.standIn = true;
  out.runtimeNode = &node;
  out.runtimeLoc = loc;
  out.runtimeOpset = opset;
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

} // namespace rbln::onnx_import
