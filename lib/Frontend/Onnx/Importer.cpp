//===- Importer.cpp - ONNX to the graph dialect ---------------------------===//
//
// A thin, generic importer: it walks the graph in order, keeps a symbol table
// from ONNX value names to MLIR values (or to compile-time constants), and
// hands each node to the handler registered for its (domain, op type) with
// the model's opset. Handlers live in OpHandlers.cpp.
//
//===----------------------------------------------------------------------===//
#include "rbln/Frontend/Onnx/Importer.h"

#include "ImporterImpl.h"

#include "rbln/runtime/Checked.h"
#include "dialects/Graph/GraphDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "rbln/Support/Elements.h"
#include "rbln/runtime/File.h"
#include "llvm/ADT/StringExtras.h"
#include "onnx/defs/schema.h"

#include <onnx/defs/parser.h>

#include "ExternalData.h"

#include <climits>
#include <mutex>
#include <tuple>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <map>
#include <sstream>

using namespace mlir;

namespace rbln::onnx_import {

std::string domainName(const std::string &d) { return d.empty() ? "ai.onnx" : d; }

FailureOr<Type> NodeContext::elementType(int32_t onnxType, Location loc, StringRef what) {
  MLIRContext *ctx = loc.getContext();
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return Float32Type::get(ctx);
  case onnx::TensorProto::FLOAT16: return Float16Type::get(ctx);
  case onnx::TensorProto::BFLOAT16: return BFloat16Type::get(ctx);
  case onnx::TensorProto::INT64: return IntegerType::get(ctx, 64);
  case onnx::TensorProto::INT32: return IntegerType::get(ctx, 32);
  case onnx::TensorProto::INT8: return IntegerType::get(ctx, 8);
  case onnx::TensorProto::UINT8: return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case onnx::TensorProto::BOOL: return IntegerType::get(ctx, 1);
  // The 8-bit floats (ONNX 1.14; newer than the onnx library rbln builds with).
  case kOnnxFloat8E4M3FN: return Float8E4M3FNType::get(ctx);
  case kOnnxFloat8E4M3FNUZ: return Float8E4M3FNUZType::get(ctx);
  case kOnnxFloat8E5M2: return Float8E5M2Type::get(ctx);
  case kOnnxFloat8E5M2FNUZ: return Float8E5M2FNUZType::get(ctx);
  case kOnnxInt4: return IntegerType::get(ctx, 4);
  case kOnnxUint4: return IntegerType::get(ctx, 4, IntegerType::Unsigned);
  default:
    break;
  }
  std::string name = onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(onnxType));
  // Types newer than the onnx library this was built with.
  static const char *const kNewer[] = {"FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
                                       "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1",
                                       "FLOAT8E8M0", "UINT2", "INT2"};
  if (name.empty() && onnxType >= 17 && onnxType < 17 + int32_t(std::size(kNewer)))
    name = kNewer[onnxType - 17];
  emitError(loc) << what << ": element type " << (name.empty() ? std::to_string(onnxType) : name)
                 << " is not supported (supported: float32, float16, bfloat16, the 8-bit floats, "
                    "int64, int32, int8, uint8, bool; int4 and uint4 for constants)";
  return failure();
}

namespace {

class Importer {
public:
  Importer(MLIRContext &ctx, std::string path, const ImportOptions &opts,
           std::shared_ptr<const onnx::ModelProto> proto)
      : ctx(ctx), b(&ctx), path(std::move(path)), opts(opts), proto(std::move(proto)),
        external(this->path) {}

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model);

private:
  Location nodeLoc(const onnx::NodeProto &n, size_t index) {
    std::string name = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    return NameLoc::get(StringAttr::get(&ctx, name), FileLineColLoc::get(&ctx, path, 0, 0));
  }
  LogicalResult importInitializer(const onnx::TensorProto &t, Location loc);
  /// checkShape, and the type's bytes against opts.maxTensorBytes.
  LogicalResult checkType(RankedTensorType type, Location loc, const Twine &what);

  MLIRContext &ctx;
  OpBuilder b;
  std::string path;
  const ImportOptions &opts;
  /// The model; constants with raw data are views into it (it lives as long
  /// as they do).
  std::shared_ptr<const onnx::ModelProto> proto;
  ExternalData external;
  SymbolTable symbols;
};

} // namespace

/// Decodes an ONNX TensorProto into raw little-endian bytes of `type`.
LogicalResult tensorBytes(const onnx::TensorProto &t, RankedTensorType type, Location loc,
                          std::vector<char> &out) {
  Type et = type.getElementType();
  unsigned width = et.isInteger(1) ? 1 : et.getIntOrFloatBitWidth() / 8;
  size_t n = size_t(type.getNumElements());
  size_t bytes = size_t(storageBytes(et, n));
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    emitError(loc) << "tensor '" << t.name()
                   << "' uses external data, which is only read for initializers";
    return failure();
  }
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes) {
      emitError(loc) << "tensor '" << t.name() << "' has " << t.raw_data().size()
                     << " bytes of raw data, its shape needs " << bytes;
      return failure();
    }
    out.assign(t.raw_data().begin(), t.raw_data().end());
    return success();
  }
  auto check = [&](size_t have) {
    if (have == n) {
      out.assign(bytes, 0); // only once the values are known to be there
      return true;
    }
    emitError(loc) << "tensor '" << t.name() << "' has " << have << " values, its shape needs " << n;
    return false;
  };
  if (isPacked4(et)) {
    // int32_data holds a byte (two values) per entry, as ONNX specifies and
    // ONNX Runtime reads it (onnx.parser's one value per entry is refused
    // by both).
    if (size_t(t.int32_data_size()) != bytes) {
      emitError(loc) << "tensor '" << t.name() << "' has " << t.int32_data_size()
                     << " int32_data entries; its shape needs " << bytes
                     << " (two 4-bit values each)";
      return failure();
    }
    out.resize(bytes);
    for (size_t i = 0; i < bytes; ++i)
      out[i] = char(uint8_t(t.int32_data(int(i))));
    return success();
  }
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    if (!check(size_t(t.float_data_size()))) return failure();
    std::memcpy(out.data(), t.float_data().data(), bytes);
    return success();
  case onnx::TensorProto::INT64:
    if (!check(size_t(t.int64_data_size()))) return failure();
    std::memcpy(out.data(), t.int64_data().data(), bytes);
    return success();
  case onnx::TensorProto::INT32: case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
  case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16:
  case kOnnxFloat8E4M3FN: case kOnnxFloat8E4M3FNUZ: case kOnnxFloat8E5M2: case kOnnxFloat8E5M2FNUZ:
    if (!check(size_t(t.int32_data_size()))) return failure();
    for (size_t i = 0; i < n; ++i) {
      int32_t v = t.int32_data(int(i));
      std::memcpy(out.data() + i * width, &v, width);
    }
    return success();
  default:
    emitError(loc) << "tensor '" << t.name() << "': unsupported storage";
    return failure();
  }
}

FailureOr<RankedTensorType> tensorProtoType(const onnx::TensorProto &t, Location loc) {
  auto et = NodeContext::elementType(t.data_type(), loc, "tensor '" + t.name() + "'");
  if (failed(et))
    return failure();
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  if (failed(checkShape(shape, loc, "tensor '" + t.name() + "'")))
    return failure();
  return RankedTensorType::get(shape, *et);
}

LogicalResult checkShape(ArrayRef<int64_t> shape, Location loc, const Twine &what) {
  for (int64_t d : shape)
    if (d < 0)
      return emitError(loc) << what << " has a negative dimension (" << d << ")";
  if (!checkedProduct(shape, kMaxTensorElements)) {
    std::string dims;
    for (int64_t d : shape)
      dims += (dims.empty() ? "" : "x") + std::to_string(d);
    return emitError(loc) << what << " has shape " << dims << ": more than 2^40 elements";
  }
  return success();
}

namespace {
/// Bytes of a tensor of `type` (whose element count checkShape bounded).
uint64_t typeBytes(RankedTensorType type) {
  return storageBytes(type.getElementType(), uint64_t(type.getNumElements()));
}
} // namespace

LogicalResult Importer::checkType(RankedTensorType type, Location loc, const Twine &what) {
  if (failed(checkShape(type.getShape(), loc, what)))
    return failure();
  if (typeBytes(type) > opts.maxTensorBytes) {
    std::string ts;
    llvm::raw_string_ostream os(ts);
    os << type;
    return emitError(loc) << what << " is " << ts << " (" << typeBytes(type)
                          << " bytes); the target's DRAM holds " << opts.maxTensorBytes << " bytes";
  }
  return success();
}

LogicalResult Importer::importInitializer(const onnx::TensorProto &t, Location loc) {
  auto type = tensorProtoType(t, loc);
  if (failed(type) || failed(checkType(*type, loc, "initializer '" + t.name() + "'")))
    return failure();
  Symbol s;
  s.type = *type;
  s.constantName = t.name();
  size_t bytes = size_t(storageBytes(type->getElementType(), uint64_t(type->getNumElements())));
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    if (failed(external.read(t, bytes, loc, s.constantData)))
      return failure();
  } else if (t.has_raw_data() && t.raw_data().size() == bytes) {
    s.constantData = ConstantData(proto, t.raw_data().data(), bytes); // a view, no copy
  } else {
    std::vector<char> data;
    if (failed(tensorBytes(t, *type, loc, data)))
      return failure();
    s.constantData = std::move(data);
  }
  symbols[t.name()] = std::move(s);
  return success();
}

OwningOpRef<ModuleOp> Importer::run(const onnx::ModelProto &model) {
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  const onnx::GraphProto &g = model.graph();
  int64_t opset = -1;
  std::map<std::string, int64_t> domainOpsets;
  for (const auto &imp : model.opset_import()) {
    domainOpsets[domainName(imp.domain())] = imp.version();
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  }
  if (opset < 0) {
    emitError(fileLoc) << "the model imports no version of the default ONNX domain";
    return nullptr;
  }
  if (opset < kMinOpset) {
    // An older model imports as opset kMinOpset when each of its default-
    // domain operators has the same definition at both (ONNX's schema
    // registry: the same since-version), e.g. MatMulInteger (10) or
    // DynamicQuantizeLinear (11).
    for (const onnx::NodeProto &node : g.node()) {
      if (!(node.domain().empty() || node.domain() == "ai.onnx"))
        continue;
      const onnx::OpSchema *then = onnx::OpSchemaRegistry::Schema(node.op_type(), int(opset));
      const onnx::OpSchema *now = onnx::OpSchemaRegistry::Schema(node.op_type(), int(kMinOpset));
      if (!then || !now || then->since_version() != now->since_version()) {
        emitError(fileLoc) << "the model uses opset " << opset << " of the default ONNX domain; "
                           << "rbln supports opset " << kMinOpset << " to " << kMaxOpset
                           << ", and its " << node.op_type() << " node"
                           << (node.name().empty() ? "" : " '" + node.name() + "'")
                           << " changed since (convert it with onnx.version_converter)";
        return nullptr;
      }
    }
    opset = kMinOpset;
    domainOpsets[domainName("")] = kMinOpset;
  }
  if (opset > kMaxOpset) {
    emitError(fileLoc) << "the model uses opset " << opset << "; rbln supports up to " << kMaxOpset;
    return nullptr;
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  b.setInsertionPointToEnd(module->getBody());

  bool ok = true;
  for (const auto &init : g.initializer())
    ok &= succeeded(importInitializer(init, NameLoc::get(StringAttr::get(&ctx, init.name()), fileLoc)));
  if (!ok)
    return nullptr;

  // Graph inputs that are not initializers become function arguments.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &[name, value] : opts.boundValues) {
    Location loc = NameLoc::get(StringAttr::get(&ctx, name), fileLoc);
    bool isInput = llvm::any_of(g.input(), [&](const auto &in) { return in.name() == name; });
    if (!isInput) {
      emitError(loc) << "--bind-value names '" << name << "', which is not a graph input";
      return nullptr;
    }
    auto et = NodeContext::elementType(value.onnxType, loc, "bound value '" + name + "'");
    if (failed(et))
      return nullptr;
    if (isPacked4(*et)) {
      emitError(loc) << "bound value '" << name << "' has element type " << *et
                     << "; 4-bit values are supported only in initializers";
      return nullptr;
    }
    Symbol s;
    if (failed(checkShape(value.shape, loc, "bound value '" + name + "'")))
      return nullptr;
    s.type = RankedTensorType::get(value.shape, *et);
    if (failed(checkType(s.type, loc, "bound value '" + name + "'")))
      return nullptr;
    s.constantName = name;
    s.constantData = value.bytes;
    s.stepDependent = opts.stepPositionsShape && name == "attention_mask";
    symbols[name] = std::move(s);
  }
  for (const auto &in : g.input()) {
    if (symbols.count(in.name()))
      continue;
    Location loc = NameLoc::get(StringAttr::get(&ctx, in.name()), fileLoc);
    if (!in.type().has_tensor_type()) {
      emitError(loc) << "input '" << in.name() << "' is not a tensor";
      return nullptr;
    }
    const auto &tt = in.type().tensor_type();
    auto et = NodeContext::elementType(tt.elem_type(), loc, "input '" + in.name() + "'");
    if (failed(et))
      return nullptr;
    if (isPacked4(*et)) {
      emitError(loc) << "input '" << in.name() << "' has element type " << *et
                     << "; 4-bit tensors are supported only as initializers (DequantizeLinear's "
                        "weights)";
      return nullptr;
    }
    if (!tt.has_shape()) {
      emitError(loc) << "input '" << in.name() << "' has no shape; static shapes are required";
      return nullptr;
    }
    SmallVector<int64_t> shape;
    // An explicit shape (--input-shape, or the caller's shapeOf) or the dims.
    std::optional<std::vector<int64_t>> fixed;
    if (auto it = opts.inputShapes.find(in.name()); it != opts.inputShapes.end()) {
      fixed = it->second;
    } else if (opts.shapeOf) {
      std::vector<int64_t> declared;
      for (const auto &d : tt.shape().dim())
        declared.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
      fixed = opts.shapeOf(in.name(), declared);
    }
    if (fixed) {
      // -1 in a shape from shapeOf: not decided there, bound from --dim below.
      auto bound = &*fixed;
      // An explicit shape must agree with every static dim the model declares.
      if (int(bound->size()) != tt.shape().dim_size()) {
        emitError(loc) << "--input-shape for '" << in.name() << "' has " << bound->size()
                       << " dims, the model declares " << tt.shape().dim_size();
        return nullptr;
      }
      for (int i = 0; i < tt.shape().dim_size(); ++i) {
        const auto &d = tt.shape().dim(i);
        if (d.has_dim_value() && d.dim_value() >= 0 && (*bound)[size_t(i)] >= 0 &&
            d.dim_value() != (*bound)[size_t(i)]) {
          emitError(loc) << "--input-shape for '" << in.name() << "' sets dim " << i << " to "
                         << (*bound)[size_t(i)] << ", the model fixes it to " << d.dim_value();
          return nullptr;
        }
      }
    }
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto &d = tt.shape().dim(i);
      if (fixed && (*fixed)[size_t(i)] >= 0) {
        shape.push_back((*fixed)[size_t(i)]);
        continue;
      }
      if (d.has_dim_value() && d.dim_value() >= 0) {
        shape.push_back(d.dim_value());
        continue;
      }
      auto named = d.has_dim_param() ? opts.dims.find(d.dim_param()) : opts.dims.end();
      if (named == opts.dims.end()) {
        emitError(loc) << "input '" << in.name() << "' dim " << i << " is dynamic"
                       << (d.has_dim_param() ? " ('" + d.dim_param() + "')" : std::string())
                       << "; bind it with "
                       << (d.has_dim_param() ? "--dim=" + d.dim_param() + "=<size> or " : std::string())
                       << "--input-shape=" << in.name() << "=<shape>";
        return nullptr;
      }
      shape.push_back(named->second);
    }
    for (int64_t d : shape)
      if (d <= 0) {
        emitError(loc) << "input '" << in.name() << "' has a dimension of " << d
                       << "; empty tensors are not supported";
        return nullptr;
      }
    if (failed(checkShape(shape, loc, "input '" + in.name() + "'")))
      return nullptr;
    argTypes.push_back(RankedTensorType::get(shape, *et));
    if (failed(checkType(cast<RankedTensorType>(argTypes.back()), loc, "input '" + in.name() + "'")))
      return nullptr;
    argNames.push_back(in.name());
  }

  // LLM mode: the step's positions, the model's position_ids or one added.
  bool addedPositions = false;
  if (opts.stepPositionsShape && !llvm::is_contained(argNames, "position_ids")) {
    if (symbols.count("position_ids")) {
      emitError(fileLoc) << "'position_ids' names a value of the model that is not an input; "
                            "LLM mode cannot add the step's positions under that name";
      return nullptr;
    }
    argTypes.push_back(RankedTensorType::get(*opts.stepPositionsShape, b.getI64Type()));
    argNames.push_back("position_ids");
    addedPositions = true;
  }
  auto fn = func::FuncOp::create(b, fileLoc, opts.functionName, b.getFunctionType(argTypes, {}));
  Block *entry = fn.addEntryBlock();
  for (size_t i = 0; i < argNames.size(); ++i) {
    fn.setArgAttr(unsigned(i), "rbln.name", b.getStringAttr(argNames[i]));
    Symbol s;
    s.value = entry->getArgument(unsigned(i));
    s.type = cast<RankedTensorType>(argTypes[i]);
    s.stepDependent = opts.stepPositionsShape && StringRef(argNames[i]).starts_with("past_key_values");
    symbols[argNames[i]] = std::move(s);
  }
  b.setInsertionPointToStart(entry);

  // Values every consumer of which reads as a matmul's [K, N] weights
  // (MatMul's B, or Gemm's without transB): dequantized weights that may
  // stay int8 for the kernel, with a scale per column.
  llvm::StringMap<bool> weightOnly;
  for (const onnx::NodeProto &node : g.node())
    for (int k = 0; k < node.input_size(); ++k) {
      bool transB = llvm::any_of(node.attribute(), [](const onnx::AttributeProto &a) {
        return a.name() == "transB" && a.i() != 0;
      });
      bool asWeight = k == 1 && (node.domain().empty() || node.domain() == "ai.onnx") &&
                      (node.op_type() == "MatMul" || (node.op_type() == "Gemm" && !transB));
      auto [it, fresh] = weightOnly.try_emplace(node.input(k), asWeight);
      if (!fresh)
        it->second = it->second && asWeight;
    }
  for (const auto &o : g.output())
    weightOnly[o.name()] = false;

  SmallVector<NamedAttribute> nodeTypes;
  SmallVector<Attribute> nodeOrder;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &node = g.node(i);
    Location loc = nodeLoc(node, size_t(i));
    std::string qualified = node.domain().empty() || node.domain() == "ai.onnx"
                                ? node.op_type()
                                : node.domain() + "." + node.op_type();
    nodeTypes.push_back(b.getNamedAttr(cast<NameLoc>(loc).getName(), b.getStringAttr(qualified)));
    nodeOrder.push_back(cast<NameLoc>(loc).getName());
    auto domainOpset = domainOpsets.find(domainName(node.domain()));
    if (domainOpset == domainOpsets.end()) {
      emitError(loc) << "node '" << cast<NameLoc>(loc).getName().str() << "' (" << node.op_type()
                     << ") is in domain '" << domainName(node.domain())
                     << "', which the model does not import";
      return nullptr;
    }
    NodeContext nc(b, loc, node, symbols, domainOpset->second);
    nc.outputIsWeight = node.output_size() == 1 && weightOnly.lookup(node.output(0));
    if (opts.stepPositionsShape) {
      nc.stepPositions = symbols.at("position_ids").value;
      nc.stepPast = addedPositions ? opts.stepPast : 0;
    }
    bool undefined = false;
    for (const std::string &in : node.input())
      undefined |= !in.empty() && !symbols.count(in);
    if (!undefined) {
      FailureOr<bool> folded = tryFoldConstantNode(nc);
      if (failed(folded))
        return nullptr;
      if (*folded)
        continue;
    }
    const OpHandler *h = findHandler(node.domain(), node.op_type());
    if (!h) {
      emitError(loc) << "unsupported operator '" << node.op_type() << "' (domain '"
                     << domainName(node.domain()) << "', opset " << domainOpset->second
                     << ") at node '" << nc.name()
                     << "'; see docs/ops.md for the supported operators";
      return nullptr;
    }
    for (const std::string &in : node.input())
      if (!in.empty() && !symbols.count(in)) {
        emitError(loc) << "node '" << nc.name() << "' (" << node.op_type() << ") reads '" << in
                       << "', which no earlier node, input or initializer defines";
        return nullptr;
      }
    if (failed(h->fn(nc)))
      return nullptr;
    // Shapes a node derives from its operands (broadcasts, shape operands)
    // are bounded like the model's own.
    for (const std::string &out : node.output()) {
      auto it = symbols.find(out);
      if (it != symbols.end() && it->second.type &&
          failed(checkType(it->second.type, loc, "the result '" + out + "' of node '" + nc.name() + "'")))
        return nullptr;
    }
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  SmallVector<std::string> resultNames;
  for (const auto &out : g.output()) {
    auto it = symbols.find(out.name());
    Location loc = NameLoc::get(StringAttr::get(&ctx, out.name()), fileLoc);
    if (it == symbols.end()) {
      emitError(loc) << "graph output '" << out.name() << "' is not produced by any node";
      return nullptr;
    }
    if (it->second.type && it->second.type.getNumElements() == 0) {
      emitError(loc) << "graph output '" << out.name() << "' is empty; empty tensors are not supported";
      return nullptr;
    }
    const onnx::NodeProto none; // (the context keeps a reference: it must outlive it)
    NodeContext nc(b, loc, none, symbols, opset);
    FailureOr<Value> v = nc.materialize(out.name());
    if (failed(v))
      return nullptr;
    auto type = cast<RankedTensorType>(v->getType());
    if (out.type().has_tensor_type() && out.type().tensor_type().has_shape()) {
      const auto &shape = out.type().tensor_type().shape();
      bool same = shape.dim_size() == type.getRank();
      for (int d = 0; same && d < shape.dim_size(); ++d)
        if (shape.dim(d).has_dim_value() && shape.dim(d).dim_value() != type.getDimSize(d))
          same = false;
      if (!same) {
        emitError(loc) << "graph output '" << out.name() << "' is declared with another shape than "
                       << "the computed " << type;
        return nullptr;
      }
    }
    results.push_back(*v);
    resultTypes.push_back(type);
    resultNames.push_back(out.name());
  }
  func::ReturnOp::create(b, fileLoc, results);
  if (addedPositions && entry->getArgument(unsigned(argNames.size() - 1)).use_empty()) {
    emitError(fileLoc)
        << "the decoder has no 'position_ids' input and computes its positions in a form rbln "
           "cannot make run-time values (from past_key_values' shapes, which a paged KV cache "
           "replaces); supported: a 'position_ids' input, or GroupQueryAttention with do_rotary "
           "(ONNX Runtime GenAI's builder)";
    return nullptr;
  }
  fn.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  for (size_t i = 0; i < resultNames.size(); ++i)
    fn.setResultAttr(unsigned(i), "rbln.name", b.getStringAttr(resultNames[i]));
  (*module)->setAttr("rbln.onnx_nodes", b.getDictionaryAttr(nodeTypes));
  (*module)->setAttr("rbln.onnx_node_order", b.getArrayAttr(nodeOrder));
  if (!model.producer_name().empty())
    (*module)->setAttr("rbln.producer", b.getStringAttr(model.producer_name()));
  return module;
}

OwningOpRef<ModuleOp> importBuffer(MLIRContext &ctx, StringRef data, const std::string &path,
                                   bool textFormat, const ImportOptions &opts) {
  ctx.loadDialect<graph::GraphDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  auto model = std::make_shared<onnx::ModelProto>();
  if (textFormat) {
    std::string text = data.str();
    // ONNX's parser throws on some malformed numbers and brackets
    // (std::stoll out of range, ...): that is a parse error too.
    std::string why;
    try {
      auto status = onnx::OnnxParser::Parse(*model, text.c_str());
      if (!status.IsOK())
        why = status.ErrorMessage();
    } catch (const std::exception &e) {
      why = std::string("malformed text (") + e.what() + ")";
    }
    if (!why.empty()) {
      emitError(fileLoc) << "cannot parse '" << path << "' as ONNX text format: " << why;
      return nullptr;
    }
  } else if (data.size() > size_t(INT_MAX) || !model->ParseFromArray(data.data(), int(data.size()))) {
    emitError(fileLoc) << "cannot parse '" << path
                       << (data.size() > size_t(INT_MAX)
                               ? "': a protobuf over 2 GiB; store the weights as external data"
                               : "' as an ONNX model (malformed or truncated protobuf)");
    return nullptr;
  }
  if (opts.prepare) {
    ImportOptions local = opts;
    local.prepare = nullptr;
    std::vector<std::string> names;
    for (const auto &in : model->graph().input())
      names.push_back(in.name());
    opts.prepare(names, local);
    return Importer(ctx, path, local, model).run(*model);
  }
  return Importer(ctx, path, opts, model).run(*model);
}

OwningOpRef<ModuleOp> importFile(MLIRContext &ctx, const std::string &path,
                                 const ImportOptions &opts) {
  // Mapped, not read into a string: the protobuf parser copies what it keeps.
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  struct stat st;
  std::string err;
  int fd = rbln::openRegularFile(path, st, err);
  if (fd < 0) {
    emitError(fileLoc) << err;
    return nullptr;
  }
  MappedFile m;
  m.size = size_t(st.st_size);
  if (m.size) {
    void *p = mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      emitError(fileLoc) << "cannot map '" << path << "': " << std::strerror(errno);
      close(fd);
      return nullptr;
    }
    m.data = static_cast<const char *>(p);
  }
  close(fd);
  bool text = StringRef(path).ends_with(".onnxtxt");
  return importBuffer(ctx, StringRef(m.data ? m.data : "", m.size), path, text, opts);
}

} // namespace rbln::onnx_import
