//===- ImporterImpl.h - Importer internals shared with handlers -*- C++ -*-===//
#pragma once

#include "dialects/Graph/GraphDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"

#include "rbln/runtime/DType.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace rbln::onnx_import {

/// Default-domain opsets the importer accepts. Every handler implements its
/// operator's semantics for all versions up to kMaxOpset (onnx 1.23's schemas:
/// versions after 13 of the supported operators only add element types; see
/// docs/ops.md). A handler for an operator whose semantics change inside this
/// range must check NodeContext::opset.
constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 28;
/// TensorProto.DataType values of the 8-bit floats (ONNX 1.14), which the
/// onnx library rbln builds with (1.12) does not name.
constexpr int32_t kOnnxFloat8E4M3FN = 17, kOnnxFloat8E4M3FNUZ = 18, kOnnxFloat8E5M2 = 19,
                  kOnnxFloat8E5M2FNUZ = 20;
/// ... and of the packed 4-bit integers (ONNX 1.16): two values a byte, the
/// lower index in the low nibble.
constexpr int32_t kOnnxUint4 = 21, kOnnxInt4 = 22;
/// Whether `t` is a packed 4-bit integer type (i4, ui4), which only
/// initializers and Constant nodes can have.
inline bool isPacked4(mlir::Type t) { return t.isInteger(4); }
/// Bytes that `n` elements of `t` take in an ONNX tensor's raw data: one per
/// bool, two 4-bit values per byte (rounded up), else the type's width.
inline uint64_t storageBytes(mlir::Type t, uint64_t n) {
  if (t.isInteger(1))
    return n;
  return (n * t.getIntOrFloatBitWidth() + 7) / 8;
}

/// The bytes of a compile-time constant: owned, or a view of memory that
/// `owner` keeps alive (a memory-mapped external-data file, the model's
/// protobuf). Copies share the bytes; weights are never copied whole.
class ConstantData {
public:
  ConstantData() = default;
  ConstantData(std::vector<char> bytes) { *this = std::move(bytes); }
  ConstantData(std::shared_ptr<const void> owner, const char *data, size_t size)
      : keep(std::move(owner)), ptr(data), len(size) {}
  ConstantData &operator=(std::vector<char> bytes) {
    auto v = std::make_shared<std::vector<char>>(std::move(bytes));
    ptr = v->data(), len = v->size(), keep = std::move(v);
    return *this;
  }
  const char *data() const { return ptr; }
  size_t size() const { return len; }
  llvm::ArrayRef<char> bytes() const { return {ptr, len}; }
  const std::shared_ptr<const void> &owner() const { return keep; }

private:
  std::shared_ptr<const void> keep;
  const char *ptr = nullptr;
  size_t len = 0;
};

/// What an ONNX value name stands for: an SSA value, a compile-time constant
/// (initializer or Constant node, materialized on first use as data), or both.
struct Symbol {
  mlir::Value value;
  mlir::RankedTensorType type;
  std::string constantName;
  ConstantData constantData;
  /// LLM mode: a compile-time stand-in that depends on the step's past
  /// length (the past caches' shapes, the bound attention mask, anything
  /// folded from them): its value is right for one step only.
  bool stepDependent = false;
  /// ... and it is the step's positions shared by the batch, [S] = past + i
  /// (transformers' cache_position when the model has no position_ids).
  bool sharedPositions = false;
  /// ... and its constant is only the stand-in for a run-time value computed
  /// from the step's positions (a model without position_ids reads them from
  /// the added input): `value`, or made on first use as data by
  /// `runtimeNode`. Folds that make a bool (a mask) use the stand-in -- the
  /// band at the stand-in positions, which a paged KV cache replaces by its
  /// own -- while anything computed on the device reads the run-time value.
  bool standIn = false;
  const onnx::NodeProto *runtimeNode = nullptr;
  mlir::LocationAttr runtimeLoc;
  int64_t runtimeOpset = 0;
  /// A compile-time constant a handler may read as data (not a stand-in).
  bool isConstant() const { return !constantName.empty() && !standIn; }
  /// Folding may read it: a constant or a stand-in.
  bool isFoldable() const { return !constantName.empty(); }
};
using SymbolTable = std::unordered_map<std::string, Symbol>;

std::string domainName(const std::string &d);
/// Checks a shape that came from outside (an ONNX file, a shape operand, a
/// command line): no negative dims and at most `maxElements` elements
/// (checked arithmetic: dims like [2^62, 4] do not wrap to 0). Emits an
/// error naming `what` at `loc` otherwise.
mlir::LogicalResult checkShape(llvm::ArrayRef<int64_t> shape, mlir::Location loc,
                               const llvm::Twine &what);
/// Elements the importer evaluates on the host when folding a node (2^24, a
/// 4096x4096 causal mask; 128 MiB of doubles):
/// larger all-constant nodes are left to the device.
constexpr int64_t kMaxFoldElements = int64_t(1) << 24;
mlir::LogicalResult tensorBytes(const onnx::TensorProto &t, mlir::RankedTensorType type,
                                mlir::Location loc, std::vector<char> &out);
mlir::FailureOr<mlir::RankedTensorType> tensorProtoType(const onnx::TensorProto &t,
                                                        mlir::Location loc);

/// v's element type with `shape`.
inline mlir::RankedTensorType withShape(mlir::Value v, llvm::ArrayRef<int64_t> shape) {
  return mlir::RankedTensorType::get(shape,
                                     mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType());
}

/// Row-major element strides of a shape.
inline llvm::SmallVector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    s[size_t(d)] = s[size_t(d) + 1] * shape[size_t(d) + 1];
  return s;
}
/// The multi-index of flat element k of a row-major shape.
inline llvm::SmallVector<int64_t> unravel(int64_t k, llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> idx(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    idx[size_t(d)] = shape[size_t(d)] ? k % shape[size_t(d)] : 0;
    k = shape[size_t(d)] ? k / shape[size_t(d)] : 0;
  }
  return idx;
}

/// ONNX Slice along one dim of size `dim`: the first index and the element
/// count for starts/ends `b`, `e` (negatives from the end, clamped) and a
/// non-zero step.
inline void sliceAxis(int64_t dim, int64_t b, int64_t e, int64_t step, int64_t &start,
                      int64_t &size) {
  if (b < 0) b += dim;
  if (e < 0) e += dim;
  // (Written so that no step, however large, overflows: the steps come
  // from the model.)
  if (step > 0) {
    b = std::clamp(b, int64_t(0), dim);
    e = std::clamp(e, int64_t(0), dim);
    size = e > b ? (e - b - 1) / step + 1 : 0;
  } else {
    b = std::clamp(b, int64_t(0), std::max<int64_t>(dim - 1, 0));
    e = std::clamp(e, int64_t(-1), dim - 1);
    int64_t magnitude = step == std::numeric_limits<int64_t>::min()
                            ? std::numeric_limits<int64_t>::max()
                            : -step;
    size = b > e && dim > 0 ? (b - e - 1) / magnitude + 1 : 0;
  }
  start = b;
}

/// The view a handler has of one node.
class NodeContext {
public:
  NodeContext(mlir::OpBuilder &b, mlir::Location loc, const onnx::NodeProto &node,
              SymbolTable &symbols, int64_t opset)
      : b(b), loc(loc), node(node), opset(opset), symbols(symbols) {}

  mlir::OpBuilder &b;
  mlir::Location loc;
  const onnx::NodeProto &node;
  int64_t opset;
  /// LLM mode's run-time positions of the step's tokens (int64 [B, S]), or
  /// null outside LLM mode (ImportOptions::stepPositionsShape).
  mlir::Value stepPositions;
  /// Whether the node's one output is read only as [K, N] matmul weights
  /// (MatMul's B, Gemm's without transB).
  bool outputIsWeight = false;
  /// Whether materialize may create a 4-bit constant (the narrow weights of
  /// a DequantizeLinear that keepsNarrowWeights).
  bool allowPacked4 = false;
  /// LLM mode's stand-in for the past length (ImportOptions::stepPast) when
  /// the model has no position_ids input and the importer added it; else 0.
  int64_t stepPast = 0;
  /// Whether the node runs to make the run-time value behind a stand-in
  /// (Symbol::standIn), so it must not make another stand-in.
  bool makingRuntime = false;
  /// Marks output i (a folded constant) as step-dependent.
  void markStepDependent(int i, bool sharedPositions) {
    Symbol &s = symbols.at(node.output(i));
    s.stepDependent = true;
    s.sharedPositions = sharedPositions;
  }

  /// The node's name, or `<op type>_<index>` for unnamed nodes (as in its
  /// location).
  std::string name() const {
    if (auto n = mlir::dyn_cast<mlir::NameLoc>(loc))
      return n.getName().str();
    return node.name().empty() ? node.op_type() : node.name();
  }
  /// An error at the node: "node 'fc1' (Gemm): ...".
  mlir::InFlightDiagnostic error() {
    return mlir::emitError(loc) << "node '" << name() << "' (" << node.op_type() << "): ";
  }

  bool hasInput(int i) const { return i < node.input_size() && !node.input(i).empty(); }
  const Symbol &symbol(int i) const { return symbols.at(node.input(i)); }
  mlir::RankedTensorType inputType(int i) const { return symbol(i).type; }
  mlir::FailureOr<mlir::Value> input(int i) { return materialize(node.input(i)); }
  /// An optional input: a null Value when the node leaves it out.
  mlir::FailureOr<mlir::Value> optionalInput(int i) {
    return hasInput(i) ? input(i) : mlir::FailureOr<mlir::Value>(mlir::Value());
  }
  mlir::FailureOr<mlir::Value> materialize(const std::string &name);
  /// Output 0 is `runtime` (the step's positions, [B, S] or [B, S, 1]) with
  /// the stand-in past + i per row.
  void setPositionsOutput(mlir::Value runtime);
  /// Output 0 is the folded `type`/`bytes`, a stand-in for what this node
  /// computes on the device from stand-in inputs (made when first read).
  void setStandInOutput(mlir::RankedTensorType type, ConstantData bytes);
  /// Input i's symbol if it is a compile-time constant; else an error naming
  /// `what`, and null.
  const Symbol *constantSymbol(int i, llvm::StringRef what);
  /// The compile-time integer values of input i (a constant), or an error.
  mlir::FailureOr<std::vector<int64_t>> constantInts(int i, llvm::StringRef what);
  /// The compile-time floating-point values of input i (a constant).
  mlir::FailureOr<std::vector<float>> constantFloats(int i, llvm::StringRef what);
  /// Checks that the node has between lo and hi inputs.
  mlir::LogicalResult expectInputs(int lo, int hi);
  /// Checks that input i is a floating-point tensor the NPU computes on.
  mlir::LogicalResult expectFloat(int i);
  /// Checks that input i has a type device tensors can have: a float, i64,
  /// i32 or bool (predicates).
  mlir::LogicalResult expectDeviceType(int i);

  void setOutput(int i, mlir::Value v);
  void setConstantOutput(int i, mlir::RankedTensorType type, ConstantData bytes);

  bool hasAttr(llvm::StringRef name) const { return attr(name) != nullptr; }
  int64_t intAttr(llvm::StringRef name, int64_t dflt) const;
  float floatAttr(llvm::StringRef name, float dflt) const;
  std::vector<int64_t> intsAttr(llvm::StringRef name) const;
  /// The integer attribute `name` (default `dflt`) as an axis of a rank-`rank`
  /// tensor, negatives counted from the end; an error when out of range.
  mlir::FailureOr<int64_t> axisAttr(llvm::StringRef name, int64_t dflt, int64_t rank);
  const onnx::AttributeProto *attr(llvm::StringRef name) const;

  static mlir::FailureOr<mlir::Type> elementType(int32_t onnxType, mlir::Location loc,
                                                 llvm::StringRef what);

private:
  SymbolTable &symbols;
};

struct OpHandler {
  const char *domain; ///< "" for the default domain
  const char *opType;
  mlir::LogicalResult (*fn)(NodeContext &);
};
const OpHandler *findHandler(const std::string &domain, const std::string &opType);
/// Shape operators: Transpose, Reshape, Squeeze, Unsqueeze, Flatten, Expand
/// (ShapeHandlers.cpp).
extern const OpHandler kShapeHandlers[];
extern const size_t kNumShapeHandlers;
/// Reductions and normalizations (NormHandlers.cpp).
extern const OpHandler kNormHandlers[];
extern const size_t kNumNormHandlers;

/// `OpTy(lhs, rhs)` with NumPy broadcasting, after checking the operands agree.
template <typename OpTy>
mlir::FailureOr<mlir::Value> broadcastBinary(NodeContext &nc, mlir::Value lhs, mlir::Value rhs) {
  auto l = mlir::cast<mlir::RankedTensorType>(lhs.getType()), r = mlir::cast<mlir::RankedTensorType>(rhs.getType());
  if (l.getElementType() != r.getElementType())
    return nc.error() << "operand element types differ: " << l.getElementType() << " and "
                      << r.getElementType(),
           mlir::failure();
  auto shape = graph::broadcastShapes(l.getShape(), r.getShape());
  if (mlir::failed(shape))
    return nc.error() << "operand shapes " << l << " and " << r << " do not broadcast", mlir::failure();
  return mlir::Value(
      OpTy::create(nc.b, nc.loc, mlir::RankedTensorType::get(*shape, l.getElementType()), lhs, rhs));
}


/// ONNX/NumPy MatMul of two float values (1-D operands as a row or a
/// column, batch dims broadcast), naming the node in errors.
mlir::FailureOr<mlir::Value> numpyMatmul(NodeContext &nc, mlir::Value a, mlir::Value b);

/// A float scalar constant of `et`.
inline mlir::Value scalarConst(NodeContext &nc, mlir::Type et, double v) {
  return graph::ConstantOp::create(
      nc.b, nc.loc,
      mlir::DenseElementsAttr::get(mlir::RankedTensorType::get({}, et), nc.b.getFloatAttr(et, v)));
}

/// `v` reshaped to `shape` (same element count).
inline mlir::Value reshape(NodeContext &nc, mlir::Value v, llvm::ArrayRef<int64_t> shape) {
  auto t = mlir::cast<mlir::RankedTensorType>(v.getType());
  return graph::ReshapeOp::create(nc.b, nc.loc, mlir::RankedTensorType::get(shape, t.getElementType()), v);
}

/// Gather/Slice/Split/Concat, comparisons, logic and Where (IndexHandlers.cpp).
extern const OpHandler kIndexHandlers[];
extern const size_t kNumIndexHandlers;
/// Attention operators (AttentionHandlers.cpp).
extern const OpHandler kAttentionHandlers[];
extern const size_t kNumAttentionHandlers;

/// RotaryEmbedding (ONNX opset 23, com.microsoft) (RotaryHandlers.cpp).
extern const OpHandler kRotaryHandlers[];
extern const size_t kNumRotaryHandlers;

/// Rotary tables for graph.rotary (each half-angle twice, full width R) from
/// ONNX Runtime-style half-width caches, inputs `cosInput`/`sinInput`:
/// [max_positions, R/2] read at `positions` (int64 [B, S], a run-time value)
/// or, when it is null, at the compile-time `constPositions` (row-major
/// [B, S]); or already gathered, [B, S, R/2]. Shaped [B, 1, S, R] for a
/// [B, H, S, D] input (`headsFirst`), else [B, S, 1, R] for [B, S, H, D].
mlir::FailureOr<std::pair<mlir::Value, mlir::Value>>
rotaryTables(NodeContext &nc, int64_t batch, int64_t seq, int64_t headSize, mlir::Type et,
             int cosInput, int sinInput, mlir::Value positions,
             llvm::ArrayRef<int64_t> constPositions, bool headsFirst);
/// x (4-D, head size last) with its first R dims (the tables' width)
/// rotated and the rest passed through: rotate-half, or pairs (2i, 2i+1)
/// when `interleaved`.
mlir::Value applyRotary(NodeContext &nc, mlir::Value x, std::pair<mlir::Value, mlir::Value> tables,
                        bool interleaved);

/// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
/// QLinearMatMul (QuantHandlers.cpp), com.microsoft.MatMulNBits.
extern const OpHandler kQuantHandlers[];
extern const size_t kNumQuantHandlers;
/// com.microsoft.MatMulNBits (MatMulNBits.cpp).
mlir::LogicalResult matmulNBits(NodeContext &nc);
/// ceil(a / b) for a >= 0, b > 0.
inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// A QuantizeLinear / DequantizeLinear node's checked parameters: the
/// result's element type, the axis and block size of its scale (block 0:
/// per tensor or per axis), and for quantizing the result type's range.
struct QuantParams {
  mlir::Type outType;
  int64_t axis = 0, block = 0;
  double lo = 0, hi = 0;
};
mlir::FailureOr<QuantParams> quantParams(NodeContext &nc, bool quantize);
/// Whether a DequantizeLinear node keeps its weights narrow for the matmul
/// that reads them (graph.dequantize): a constant 2-D x read only as [K, N]
/// matmul weights with a constant float scale, and either
///  - int8 or an 8-bit float with a scale per tensor or per column (axis 1), or
///  - int8, int4 or uint4 blocked along K (axis 0, `block_size`; what
///    ONNX Runtime's MatMulNBitsQuantizer writes in its QDQ format),
/// with no zero point or an all-zero one (uint4: any constant zero point;
/// the weights become q - z). Otherwise a constant node folds to floats.
bool keepsNarrowWeights(NodeContext &nc, const QuantParams &q);

/// Evaluates the node on the host when all its inputs are constants (shape
/// arithmetic); true if it did, false if the node is not foldable, failure
/// after an error.
mlir::FailureOr<bool> tryFoldConstantNode(NodeContext &nc);

} // namespace rbln::onnx_import
