//===- GraphToNpu.cpp - Bufferize graph ops into npu kernels --------------===//
#include "passes/Conversion/GraphToNpu/Passes.h"

#include "dialects/Graph/GraphDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/xxhash.h"
#include "rbln/Support/Elements.h"
#include "rbln/Target/TargetInfo.h"
#include "rbln/runtime/DType.h"

#include <cstring>
#include <limits>
#include <map>
#include <tuple>

namespace rbln {
#define GEN_PASS_DEF_CONVERTGRAPHTONPU
#include "passes/Conversion/GraphToNpu/Passes.h.inc"
} // namespace rbln

using namespace mlir;
using namespace rbln;

namespace {
/// The epilogue activation of a graph op as the npu dialect names it.
npu::Activation toNpu(graph::Activation a) {
  switch (a) {
  case graph::Activation::None: return npu::Activation::None;
  case graph::Activation::Relu: return npu::Activation::Relu;
  case graph::Activation::Sigmoid: return npu::Activation::Sigmoid;
  case graph::Activation::Tanh: return npu::Activation::Tanh;
  case graph::Activation::Gelu: return npu::Activation::Gelu;
  case graph::Activation::GeluTanh: return npu::Activation::GeluTanh;
  case graph::Activation::Silu: return npu::Activation::Silu;
  }
  llvm_unreachable("an activation without an npu counterpart");
}
} // namespace

namespace {

DType dtypeOfType(Type t) {
  return t.isF16() ? DType::F16 : t.isBF16() ? DType::BF16 : t.isInteger(1) ? DType::Bool : DType::F32;
}

/// Weights converted to the compute type once per module: every entry
/// function (prefill, each decode bucket) imports its own view of the same
/// weights; the first conversion of a given (bytes, from, to) is shared by
/// all of them, so each weight is converted once and held once.
class ConversionCache {
public:
  /// The converted constant of `attr` as `to` elements of `type`'s shape;
  /// null if its data is unavailable.
  ElementsAttr get(ElementsAttr attr, RankedTensorType type, Type to) {
    std::vector<char> owned;
    std::optional<ArrayRef<char>> data = getElementData(attr);
    if (!data) { // inline dense data (small constants): copy it
      if (!getElementBytes(attr, owned))
        return nullptr;
      data = ArrayRef<char>(owned);
    }
    Type from = type.getElementType();
    // The same view (entry functions importing one mapped weight file):
    // found by address, no hashing.
    ViewKey vk{data->data(), data->size(), from.getAsOpaquePointer(), to.getAsOpaquePointer()};
    if (owned.empty())
      if (auto it = byView.find(vk); it != byView.end())
        return it->second;
    uint64_t h = llvm::xxh3_64bits(
        ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data->data()), data->size()));
    Key key{h, data->size(), from.getAsOpaquePointer(), to.getAsOpaquePointer()};
    auto [lo, hi] = done.equal_range(key);
    for (auto it = lo; it != hi; ++it)
      if (it->second.sourceEquals(*data)) {
        if (owned.empty())
          byView[vk] = it->second.converted;
        return it->second.converted;
      }
    size_t n = size_t(type.getNumElements());
    std::vector<char> out(n * dtypeSize(dtypeOfType(to)));
    convertElements(reinterpret_cast<const uint8_t *>(data->data()), dtypeOfType(from),
                    reinterpret_cast<uint8_t *>(out.data()), dtypeOfType(to), n);
    std::string name = "cst";
    if (auto res = dyn_cast<DenseResourceElementsAttr>(attr))
      name = res.getRawHandle().getKey().str();
    ElementsAttr converted =
        makeResourceElements(RankedTensorType::get(type.getShape(), to), name, out);
    Entry e{converted, {}, std::move(owned)};
    // Remember the source to compare on a hash hit: a view stays valid while
    // the module holds the original constant; inline data is kept copied.
    e.source = e.ownedSource.empty() ? *data : ArrayRef<char>(e.ownedSource);
    done.emplace(key, std::move(e));
    if (owned.empty())
      byView[vk] = converted;
    return converted;
  }

private:
  struct Key {
    uint64_t hash;
    size_t bytes;
    const void *from, *to;
    bool operator<(const Key &o) const {
      return std::tie(hash, bytes, from, to) < std::tie(o.hash, o.bytes, o.from, o.to);
    }
  };
  struct Entry {
    ElementsAttr converted;
    ArrayRef<char> source;
    std::vector<char> ownedSource;
    bool sourceEquals(ArrayRef<char> d) const {
      return source.size() == d.size() &&
             (source.data() == d.data() || std::memcmp(source.data(), d.data(), d.size()) == 0);
    }
  };
  using ViewKey = std::tuple<const char *, size_t, const void *, const void *>;
  std::multimap<Key, Entry> done;
  std::map<ViewKey, ElementsAttr> byView;
};

class Converter {
public:
  Converter(func::FuncOp fn, Type compute, bool fp8Mode, ConversionCache &converted)
      : fn(fn), b(fn), compute(compute), fp8Mode(fp8Mode), converted(converted) {}

  LogicalResult run();

private:
  /// Floats and predicates (i1, as 1.0/0.0) live in the compute type;
  /// integer tensors (model inputs, constants) and 8-bit floats (FP8
  /// weights, exact as they are) keep theirs.
  Type storageType(Type t) const {
    bool f8 = isa<FloatType>(t) && t.getIntOrFloatBitWidth() == 8;
    return (isa<FloatType>(t) && !f8) || t.isInteger(1) ? compute : t;
  }
  /// Whether every use of `d` is the rhs of a matmul whose columns are its
  /// axis (2-D weights), so the matmuls read its 8-bit input (int8 or an
  /// 8-bit float) and scale it.
  static bool readByMatmuls(graph::DequantizeOp d) {
    auto t = cast<RankedTensorType>(d.getType());
    Type qt = cast<RankedTensorType>(d.getInput().getType()).getElementType();
    if (t.getRank() != 2 || d->use_empty() ||
        !(qt.isSignlessInteger(8) || qt.isSignlessInteger(4) ||
          (isa<FloatType>(qt) && qt.getIntOrFloatBitWidth() == 8)))
      return false;
    return llvm::all_of(d->getUses(), [&](OpOperand &u) {
      auto m = dyn_cast<graph::MatmulOp>(u.getOwner());
      return m && u.getOperandNumber() == 1 && m.getLhs() != d.getResult() &&
             int64_t(d.getAxis()) == (m.getTransposeRhs() ? 0 : 1);
    });
  }
  MemRefType bufferType(Value tensor, bool storage = true) const {
    auto t = cast<RankedTensorType>(tensor.getType());
    return npu::dramBufferType(t.getShape(), storage ? storageType(t.getElementType())
                                                     : t.getElementType());
  }
  /// A 1-D f32 constant the kernels read (initial values, sign patterns).
  Value f32Constant(ArrayRef<float> vals, StringRef name, Location loc) {
    auto f32 = b.getF32Type();
    int64_t n = int64_t(vals.size());
    std::vector<char> bytes(reinterpret_cast<const char *>(vals.data()),
                            reinterpret_cast<const char *>(vals.data() + vals.size()));
    return npu::ConstantOp::create(b, loc, npu::dramBufferType({n}, f32),
                                   makeResourceElements(RankedTensorType::get({n}, f32), name, bytes),
                                   IntegerAttr());
  }
  /// {0, -inf}: the running statistics' initial values of attention kernels.
  Value attentionInit(Location loc) {
    return f32Constant({0.0f, -std::numeric_limits<float>::infinity()}, "attention_init", loc);
  }
  Value alloc(Value result, Location loc) {
    return npu::AllocOp::create(b, loc, bufferType(result), IntegerAttr(), StringAttr());
  }
  LogicalResult convertOp(Operation *op);
  /// `tensor`'s buffer copied once into a scratch buffer (placed in SHM by
  /// npu-plan-memory when it fits), for kernels whose command processor
  /// reads it entry by entry.
  Value onChip(Value tensor, Location loc) {
    // (Made before the first kernel that reads it; the later ones reuse it.)
    Value &c = onChipCopies[tensor];
    if (!c) {
      c = alloc(tensor, loc);
      copy(map.lookup(tensor), c, loc);
    }
    return c;
  }
  llvm::DenseMap<Value, Value> onChipCopies;
  /// A copy kernel (DMA only; casts when the element types differ).
  void copy(Value from, Value to, Location loc, DenseI64ArrayAttr perm = {}) {
    npu::ElementwiseOp::create(b, loc, npu::ElementwiseKind::Copy, ValueRange{from}, to, perm,
                               npu::TilingAttr(), DenseF32ArrayAttr());
  }

  func::FuncOp fn;
  OpBuilder b;
  Type compute;
  bool fp8Mode; ///< the target's tensor engine multiplies FP8 operands
  ConversionCache &converted;
  IRMapping map;
};

LogicalResult Converter::run() {
  MLIRContext *ctx = fn.getContext();
  FunctionType ft = fn.getFunctionType();
  for (Type t : ft.getInputs()) {
    Type et = cast<RankedTensorType>(t).getElementType();
    if (!isa<FloatType>(et) && !et.isInteger(64) && !et.isInteger(32) && !et.isInteger(8) &&
        !et.isInteger(1))
      return fn.emitError("model inputs must be f32, f16, bf16, i64, i32, i8, ui8 or bool tensors, got ")
             << t;
  }
  for (Type t : ft.getResults()) {
    Type et = cast<RankedTensorType>(t).getElementType();
    if (!isa<FloatType>(et) && !et.isInteger(1) && !et.isInteger(8) && !et.isInteger(32) &&
        !et.isInteger(64))
      return fn.emitError("model outputs must be floating-point, int64, int32, int8, uint8 or bool "
                          "tensors, got ")
             << t;
  }
  SmallVector<Type> args;
  for (Type t : ft.getInputs())
    args.push_back(npu::dramBufferType(cast<RankedTensorType>(t).getShape(),
                                       cast<RankedTensorType>(t).getElementType()));
  for (Type t : ft.getResults())
    args.push_back(npu::dramBufferType(cast<RankedTensorType>(t).getShape(),
                                       cast<RankedTensorType>(t).getElementType()));
  b.setInsertionPoint(fn);
  auto newFn = func::FuncOp::create(b, fn.getLoc(), fn.getName(), FunctionType::get(ctx, args, {}));
  Block *entry = newFn.addEntryBlock();
  unsigned numIn = ft.getNumInputs();
  for (unsigned i = 0; i < numIn; ++i) {
    for (NamedAttribute a : fn.getArgAttrDict(i) ? fn.getArgAttrDict(i).getValue() : ArrayRef<NamedAttribute>()) // rbln.name, rbln.kv_cache
      newFn.setArgAttr(i, a.getName(), a.getValue());
    map.map(fn.getArgument(i), entry->getArgument(i));
  }
  for (unsigned i = 0; i < ft.getNumResults(); ++i) {
    if (auto name = fn.getResultAttrOfType<StringAttr>(i, "rbln.name"))
      newFn.setArgAttr(numIn + i, "rbln.name", name);
    newFn.setArgAttr(numIn + i, "rbln.output", UnitAttr::get(ctx));
  }
  b.setInsertionPointToStart(entry);
  for (Operation &op : fn.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        Value buf = map.lookup(v);
        Value out = entry->getArgument(numIn + unsigned(i));
        // The producing kernel can write the output directly; otherwise copy
        // (an input or constant returned as is, a view, a repeated result,
        // which is copied from the output written first).
        // Kernels convert on their store DMA, so the output may differ from
        // the compute type; a view of the buffer may not (it keeps the type).
        auto allocOp = buf.getDefiningOp<npu::AllocOp>();
        if (allocOp && (buf.getType() == out.getType() ||
                        llvm::none_of(buf.getUsers(), [](Operation *u) { return isa<npu::ViewOp>(u); }))) {
          buf.replaceAllUsesWith(out);
          allocOp.erase();
          map.map(v, out);
          continue;
        }
        copy(buf, out, ret.getLoc());
      }
      func::ReturnOp::create(b, ret.getLoc());
      continue;
    }
    if (failed(convertOp(&op)))
      return failure();
  }
  fn.erase();
  return success();
}

LogicalResult Converter::convertOp(Operation *op) {
  Location loc = op->getLoc();
  auto in = [&](unsigned i) { return map.lookup(op->getOperand(i)); };
  auto elementwise = [&](npu::ElementwiseKind kind, ValueRange inputs) {
    Value out = alloc(op->getResult(0), loc);
    npu::ElementwiseOp::create(b, loc, kind, inputs, out, DenseI64ArrayAttr(), npu::TilingAttr(),
                               DenseF32ArrayAttr());
    map.map(op->getResult(0), out);
    return success();
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](graph::ConstantOp c) -> LogicalResult {
        auto attr = cast<ElementsAttr>(c.getValue());
        auto type = cast<RankedTensorType>(c.getType());
        Type st = storageType(type.getElementType());
        if (st == type.getElementType()) {
          // Same bytes on the device: the weight pool takes this very blob
          // (a mapped external-data file stays mapped, not copied).
          auto buf = npu::ConstantOp::create(b, loc, bufferType(c.getResult()), attr, IntegerAttr());
          map.map(c.getResult(), buf.getResult());
          return success();
        }
        ElementsAttr data = converted.get(attr, type, st);
        if (!data)
          return c.emitError("constant data is unavailable");
        auto buf = npu::ConstantOp::create(b, loc, bufferType(c.getResult()), data, IntegerAttr());
        map.map(c.getResult(), buf.getResult());
        return success();
      })
      .Case([&](graph::ReshapeOp r) -> LogicalResult {
        Value src = in(0);
        auto st = cast<MemRefType>(src.getType());
        auto rt = cast<RankedTensorType>(r.getType());
        map.map(r.getResult(), npu::ViewOp::create(b, loc, npu::dramBufferType(rt.getShape(),
                                                                               st.getElementType()),
                                                   src));
        return success();
      })
      .Case([&](graph::DequantizeOp d) -> LogicalResult {
        if (readByMatmuls(d))
          return success(); // they read the int8 weights and apply the scale
        if (d.getBlockSize())
          return d.emitOpError("with blocks of scales (int4 or group-wise weights) is only supported as "
                               "the weights of matmuls");
        // Elsewhere: q * scale, the scale viewed along its axis.
        auto qt = cast<RankedTensorType>(d.getInput().getType());
        Value s = in(1);
        int64_t axis = int64_t(d.getAxis());
        if (axis != qt.getRank() - 1) {
          SmallVector<int64_t> shape(size_t(qt.getRank() - axis), 1);
          shape[0] = qt.getDimSize(axis);
          s = npu::ViewOp::create(b, loc,
                                  npu::dramBufferType(shape, cast<MemRefType>(s.getType()).getElementType()), s);
        }
        return elementwise(npu::ElementwiseKind::Mul, {in(0), s});
      })
      .Case([&](graph::MatmulOp m) -> LogicalResult {
        Value out = alloc(m.getResult(), loc);
        Value bias = m.getBias() ? map.lookup(m.getBias()) : Value();
        Value residual = m.getResidual() ? map.lookup(m.getResidual()) : Value();
        // int8 weights with a scale per column: the kernel applies it.
        auto deq = m.getRhs().getDefiningOp<graph::DequantizeOp>();
        bool fused = deq && readByMatmuls(deq);
        Value rhs = fused ? map.lookup(deq.getInput()) : in(1);
        // u8/i8 activations times int8 weights: the tensor engine's integer
        // mode (8-bit tiles, exact i32 sums) in place of the float compute
        // type; FP8 activations times FP8 weights: its FP8 mode, if it has one.
        Type lhsType = cast<RankedTensorType>(m.getLhs().getType()).getElementType();
        bool fp8 = fused && fp8Mode && isa<FloatType>(lhsType) && lhsType.getIntOrFloatBitWidth() == 8 &&
                   cast<RankedTensorType>(deq.getInput().getType()).getElementType() == lhsType &&
                   !deq.getBlockSize();
        Type ct = (fused && lhsType.isInteger(8)) || fp8 ? lhsType : compute;
        auto k = npu::MatmulOp::create(b, loc, in(0), rhs, bias, residual, out, ct);
        if (fused) {
          k.getScaleMutable().assign(map.lookup(deq.getScale()));
          if (int64_t block = int64_t(deq.getBlockSize()))
            k.setScaleBlock(block);
        }
        k.setTransposeLhs(m.getTransposeLhs());
        k.setTransposeRhs(m.getTransposeRhs());
        k.setAlpha(m.getAlpha());
        k.setBeta(m.getBeta());
        k.setActivation(toNpu(m.getActivation()));
        if (auto grid = m.getOutputGridAttr())
          k.setOutputGridAttr(grid);
        if (Value gb = m.getGridBias())
          k.getGridBiasMutable().assign(map.lookup(gb));
        if (auto quant = m.getOutputQuantAttr())
          k.setOutputQuantAttr(quant);
        if (auto gt = m.getGridTypeAttr())
          k.setGridTypeAttr(gt);
        map.map(m.getResult(), out);
        return success();
      })
#define RBLN_UNARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                          \
  .Case([&](graph::GRAPH_OP) { return elementwise(npu::ElementwiseKind::NPU_KIND, {in(0)}); })
#define RBLN_BINARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                         \
  .Case([&](graph::GRAPH_OP) {                                                 \
    return elementwise(npu::ElementwiseKind::NPU_KIND, {in(0), in(1)});        \
  })
#include "rbln/Support/ElementwiseOps.def"
      .Case([&](graph::SiluOp) { return elementwise(npu::ElementwiseKind::Silu, {in(0)}); })
      .Case([&](graph::AttentionOp a) -> LogicalResult {
        Value out = alloc(a.getResult(), loc);
        auto f32 = b.getF32Type();
        auto cst = [&](ArrayRef<float> vals, StringRef name) { return f32Constant(vals, name, loc); };
        const float inf = std::numeric_limits<float>::infinity();
        Value consts = attentionInit(loc);
        Value mask;
        if (Value m = a.getMask()) {
          mask = map.lookup(m);
          if (cast<RankedTensorType>(m.getType()).getElementType().isInteger(1)) {
            // A bool mask becomes additive: 0 where kept, -inf where masked.
            auto mt = cast<MemRefType>(mask.getType());
            Value add = npu::AllocOp::create(b, loc, npu::dramBufferType(mt.getShape(), compute),
                                             IntegerAttr(), StringAttr());
            Value zero = npu::ViewOp::create(b, loc, npu::dramBufferType({}, f32),
                                             cst({0.0f}, "mask_keep"));
            Value ninf = npu::ViewOp::create(b, loc, npu::dramBufferType({}, f32),
                                             cst({-inf}, "mask_drop"));
            npu::ElementwiseOp::create(b, loc, npu::ElementwiseKind::Select,
                                       ValueRange{mask, zero, ninf}, add, DenseI64ArrayAttr(),
                                       npu::TilingAttr(), DenseF32ArrayAttr());
            mask = add;
          }
        }
        npu::FlashAttentionOp::create(b, loc, in(0), in(1), in(2), mask, consts, out, a.getScaleAttr(),
                                      a.getCausalAttr(), a.getCausalOffsetAttr(), a.getSoftcapAttr(),
                                      TypeAttr::get(compute), npu::TilingAttr(), a.getWindowAttr(),
                                      a.getOutputQuantAttr());
        map.map(a.getResult(), out);
        return success();
      })
      .Case([&](graph::PagedAttentionOp a) -> LogicalResult {
        // The command processor reads the block table and the positions an
        // entry at a time: from a copy made once per step (an intermediate,
        // so in SHM), not from DRAM, where each read waits out the access
        // latency.
        Value table = onChip(a.getBlockTable(), loc), positions = onChip(a.getPositions(), loc);
        // Append this step's K/V to the caches, then attend over them.
        npu::KvCacheWriteOp::create(b, loc, in(1), in(2), positions, table, in(3), in(4),
                                    npu::TilingAttr());
        Value out = alloc(a.getResult(), loc);
        Value consts = attentionInit(loc);
        npu::PagedAttentionOp::create(b, loc, in(0), in(3), in(4), table, positions, consts, out,
                                      a.getScaleAttr(), a.getSoftcapAttr(), TypeAttr::get(compute),
                                      npu::TilingAttr(), a.getWindowAttr());
        map.map(a.getResult(), out);
        return success();
      })
      .Case([&](graph::RotaryOp rot) {
        // rotate_half's sign pattern, read with row broadcast by the kernel.
        int64_t d = cast<RankedTensorType>(rot.getType()).getShape().back();
        std::vector<float> sign(size_t(d), 1.0f);
        std::fill(sign.begin(), sign.begin() + d / 2, -1.0f);
        Value signBuf = f32Constant(sign, "rotate_half_sign", loc);
        return elementwise(npu::ElementwiseKind::Rotary, {in(0), in(1), in(2), signBuf});
      })
      .Case([&](graph::NotOp) { return elementwise(npu::ElementwiseKind::Not, {in(0)}); })
      .Case([&](graph::IsNanOp) { return elementwise(npu::ElementwiseKind::IsNan, {in(0)}); })
      .Case([&](graph::SelectOp) {
        return elementwise(npu::ElementwiseKind::Select, {in(0), in(1), in(2)});
      })
      .Case([&](graph::QuantizeOp) {
        return elementwise(npu::ElementwiseKind::Quantize, {in(0), in(1), in(2)});
      })
      .Case([&](graph::GatherOp g) -> LogicalResult {
        if (g.getAxis() != 0)
          return g.emitError("a gather with run-time indices runs on axis 0 only");
        Value out = alloc(g.getResult(), loc);
        npu::GatherOp::create(b, loc, in(0), in(1), out, npu::TilingAttr());
        map.map(g.getResult(), out);
        return success();
      })
      .Case([&](graph::ViewOp v) -> LogicalResult {
        // A strided window of the (contiguous) input buffer, copied out.
        Value src = in(0);
        auto st = cast<MemRefType>(src.getType());
        auto rt = cast<RankedTensorType>(v.getType());
        auto layout = StridedLayoutAttr::get(b.getContext(), v.getOffset(), v.getStrides());
        auto vt = MemRefType::get(rt.getShape(), st.getElementType(), layout, st.getMemorySpace());
        Value window = npu::ViewOp::create(b, loc, vt, src);
        Value out = alloc(v.getResult(), loc);
        copy(window, out, loc);
        map.map(v.getResult(), out);
        return success();
      })
      .Case([&](graph::ConcatOp c) -> LogicalResult {
        // Each input is copied into its window of the output.
        Value out = alloc(c.getResult(), loc);
        auto ot = cast<MemRefType>(out.getType());
        SmallVector<int64_t> strides = npu::contiguousStridesOf(ot.getShape());
        int64_t axis = c.getAxis(), at = 0;
        for (auto [i, v] : llvm::enumerate(c.getInputs())) {
          auto it = cast<RankedTensorType>(v.getType());
          if (it.getNumElements() > 0) {
            auto layout = StridedLayoutAttr::get(b.getContext(), at * strides[size_t(axis)], strides);
            auto vt = MemRefType::get(it.getShape(), ot.getElementType(), layout, ot.getMemorySpace());
            copy(map.lookup(v), npu::ViewOp::create(b, loc, vt, out), loc);
          }
          at += it.getDimSize(axis);
        }
        map.map(c.getResult(), out);
        return success();
      })
      .Case([&](graph::GeluOp g) {
        return elementwise(g.getTanhApproximation() ? npu::ElementwiseKind::GeluTanh
                                                    : npu::ElementwiseKind::Gelu,
                           {in(0)});
      })
      .Case([&](graph::ClipOp c) -> LogicalResult {
        Value out = alloc(c.getResult(), loc);
        npu::ElementwiseOp::create(
            b, loc, npu::ElementwiseKind::Clip, ValueRange{in(0)}, out, DenseI64ArrayAttr(),
            npu::TilingAttr(),
            b.getDenseF32ArrayAttr({c.getMin().convertToFloat(), c.getMax().convertToFloat()}));
        map.map(c.getResult(), out);
        return success();
      })
      .Case([&](graph::ReduceOp r) -> LogicalResult {
        if (map.contains(r.getResult()))
          return success(); // lowered with its max/min sibling (below)
        // Move the reduced axes innermost (a transpose, unless they already
        // are), view the input as [rows, len] and reduce each row.
        auto t = cast<RankedTensorType>(r.getInput().getType());
        int64_t rank = t.getRank();
        ArrayRef<int64_t> axes = r.getAxes();
        SmallVector<int64_t> perm;
        for (int64_t d = 0; d < rank; ++d)
          if (!llvm::is_contained(axes, d))
            perm.push_back(d);
        perm.append(axes.begin(), axes.end());
        int64_t len = 1;
        for (int64_t a : axes)
          len *= t.getDimSize(a);
        int64_t rows = t.getNumElements() / std::max<int64_t>(len, 1);
        Value src = in(0);
        Type st = cast<MemRefType>(src.getType()).getElementType();
        if (!llvm::equal(perm, llvm::seq<int64_t>(0, rank))) {
          SmallVector<int64_t> shape;
          for (int64_t p : perm)
            shape.push_back(t.getDimSize(p));
          Value moved = npu::AllocOp::create(b, loc, npu::dramBufferType(shape, st), IntegerAttr(), StringAttr());
          copy(src, moved, loc, b.getDenseI64ArrayAttr(perm));
          src = moved;
        }
        Value x2 = npu::ViewOp::create(b, loc, npu::dramBufferType({rows, len}, st), src);
        Value out = alloc(r.getResult(), loc);
        Value y1 = npu::ViewOp::create(
            b, loc, npu::dramBufferType({rows}, cast<MemRefType>(out.getType()).getElementType()), out);
        npu::RowKind kind = r.getKind() == graph::ReduceKind::Sum    ? npu::RowKind::Sum
                            : r.getKind() == graph::ReduceKind::Mean ? npu::RowKind::Mean
                            : r.getKind() == graph::ReduceKind::Min  ? npu::RowKind::Min
                                                                     : npu::RowKind::Max;
        // A max and a min of the same rows (DynamicQuantizeLinear's range):
        // one kernel, one pass over the input.
        graph::ReduceOp sibling;
        if (kind == npu::RowKind::Max || kind == npu::RowKind::Min)
          for (Operation *user : r.getInput().getUsers()) {
            auto o = dyn_cast<graph::ReduceOp>(user);
            if (o && o != r && o.getAxes() == r.getAxes() && o.getKeepdims() == r.getKeepdims() &&
                o.getType() == r.getType() &&
                o.getKind() == (kind == npu::RowKind::Max ? graph::ReduceKind::Min : graph::ReduceKind::Max)) {
              sibling = o;
              break;
            }
          }
        if (sibling) {
          Value out2 = alloc(sibling.getResult(), loc);
          Value y2 = npu::ViewOp::create(
              b, loc, npu::dramBufferType({rows}, cast<MemRefType>(out2.getType()).getElementType()), out2);
          bool isMax = kind == npu::RowKind::Max;
          npu::RowsOp::create(b, b.getFusedLoc({loc, sibling.getLoc()}), npu::RowKind::MaxMin, x2, Value(),
                              Value(), Value(), isMax ? y1 : y2, isMax ? y2 : y1, APFloat(0.0f),
                              npu::TilingAttr(), nullptr, nullptr);
          map.map(r.getResult(), out);
          map.map(sibling.getResult(), out2);
          return success();
        }
        npu::RowsOp::create(b, loc, kind, x2, Value(), Value(), Value(), y1, Value(), APFloat(0.0f),
                            npu::TilingAttr(), nullptr, nullptr);
        map.map(r.getResult(), out);
        return success();
      })
      .Case([&](graph::NormOp n) -> LogicalResult {
        auto t = cast<RankedTensorType>(n.getInput().getType());
        int64_t len = 1;
        for (int64_t d : t.getShape().drop_front(int64_t(n.getAxis())))
          len *= d;
        int64_t rows = t.getNumElements() / std::max<int64_t>(len, 1);
        auto view2 = [&](Value v, ArrayRef<int64_t> shape) -> Value {
          Type et = cast<MemRefType>(v.getType()).getElementType();
          return npu::ViewOp::create(b, loc, npu::dramBufferType(shape, et), v);
        };
        Value out = alloc(n.getResult(), loc);
        Value scale = view2(map.lookup(n.getScale()), {len});
        Value bias = n.getBias() ? view2(map.lookup(n.getBias()), {len}) : Value();
        npu::RowsOp::create(b, loc,
                            n.getKind() == graph::NormKind::Layer ? npu::RowKind::LayerNorm
                                                                  : npu::RowKind::RmsNorm,
                            view2(in(0), {rows, len}), scale, bias,
                            n.getResidual() ? view2(map.lookup(n.getResidual()), {rows, len}) : Value(),
                            view2(out, {rows, len}), Value(), n.getEpsilon(), npu::TilingAttr(),
                            n.getResidualQuantAttr(), n.getOutputQuantAttr()); // (8-bit: QDQ models)
        map.map(n.getResult(), out);
        return success();
      })
      .Case([&](graph::ExpandOp e) -> LogicalResult {
        Value out = alloc(e.getResult(), loc);
        copy(in(0), out, loc); // the copy kernel broadcasts with stride-0 DMA reads
        map.map(e.getResult(), out);
        return success();
      })
      .Case([&](graph::CastOp c) -> LogicalResult {
        // Intermediates are stored in the compute type; a cast is then a copy
        // whose DMA rounds to the target type on the way out.
        auto t = cast<RankedTensorType>(c.getType());
        if (t.getElementType().isInteger(1)) // x != 0, as 1.0/0.0 in the compute type
          return elementwise(npu::ElementwiseKind::NonZero, {in(0)});
        Value out = npu::AllocOp::create(b, loc, npu::dramBufferType(t.getShape(), t.getElementType()),
                                         IntegerAttr(), StringAttr());
        auto k = npu::ElementwiseOp::create(b, loc, npu::ElementwiseKind::Copy, ValueRange{in(0)}, out,
                                            DenseI64ArrayAttr(), npu::TilingAttr(), DenseF32ArrayAttr());
        k.setSaturate(c.getSaturate()); // (saturate=0: the store's conversion does not saturate)
        map.map(c.getResult(), out);
        return success();
      })
      .Case([&](graph::TransposeOp t) -> LogicalResult {
        Value out = alloc(t.getResult(), loc);
        copy(in(0), out, loc, t.getPermAttr());
        map.map(t.getResult(), out);
        return success();
      })
      .Case([&](graph::SoftmaxOp s) -> LogicalResult {
        // The kernel normalizes rows; another axis is moved innermost by a
        // transpose (a DMA-only kernel) and moved back after.
        auto type = cast<RankedTensorType>(s.getType());
        int64_t rank = type.getRank(), axis = int64_t(s.getAxis());
        Value out = alloc(s.getResult(), loc);
        if (axis == rank - 1) {
          npu::SoftmaxOp::create(b, loc, in(0), out, npu::TilingAttr());
          map.map(s.getResult(), out);
          return success();
        }
        SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
        std::swap(perm[size_t(axis)], perm[size_t(rank - 1)]);
        SmallVector<int64_t> shape(type.getShape());
        std::swap(shape[size_t(axis)], shape[size_t(rank - 1)]);
        Type st = cast<MemRefType>(out.getType()).getElementType();
        auto moved = npu::AllocOp::create(b, loc, npu::dramBufferType(shape, st), IntegerAttr(), StringAttr());
        auto normed = npu::AllocOp::create(b, loc, npu::dramBufferType(shape, st), IntegerAttr(), StringAttr());
        auto permAttr = b.getDenseI64ArrayAttr(perm);
        copy(in(0), moved, loc, permAttr);
        npu::SoftmaxOp::create(b, loc, moved, normed, npu::TilingAttr());
        copy(normed, out, loc, permAttr);
        map.map(s.getResult(), out);
        return success();
      })
      .Default([&](Operation *o) {
        return o->emitError("no NPU lowering for '") << o->getName() << "'";
      });
}

struct ConvertGraphToNpuPass : rbln::impl::ConvertGraphToNpuBase<ConvertGraphToNpuPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Type compute;
    if (computeType == "f32") compute = Float32Type::get(ctx);
    else if (computeType == "f16") compute = Float16Type::get(ctx);
    else if (computeType == "bf16") compute = BFloat16Type::get(ctx);
    else {
      getOperation().emitError("compute-type must be f32, f16 or bf16, not '") << computeType << "'";
      return signalPassFailure();
    }
    auto t = lookupTarget(getOperation(), target);
    if (failed(t))
      return signalPassFailure();
    SmallVector<func::FuncOp> fns(getOperation().getOps<func::FuncOp>());
    ConversionCache converted;
    for (func::FuncOp fn : fns)
      if (failed(Converter(fn, compute, t->tensor().fp8_macs_per_pe() > 0, converted).run()))
        return signalPassFailure();
  }
};

} // namespace
