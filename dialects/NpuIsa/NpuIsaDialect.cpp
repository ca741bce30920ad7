//===- NpuIsaDialect.cpp - The npuisa dialect -----------------------------===//
//
// The instruction ops are generated from Isa.def (IsaOpsGen.cpp); this file
// holds what they share: one printer, parser and verifier driven by the
// instruction table, and the conversions between ops and isa::Inst.
//
//===----------------------------------------------------------------------===//
#include "rbln/Support/Elements.h"
#include "dialects/NpuIsa/NpuIsaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

#include <cstring>

using namespace mlir;
using namespace rbln;
using namespace rbln::npuisa;

#include "dialects/NpuIsa/NpuIsaDialect.cpp.inc"
#include "dialects/NpuIsa/NpuIsaEnums.cpp.inc"
#include "dialects/NpuIsa/NpuIsaInterfaces.cpp.inc"

void NpuIsaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/NpuIsa/NpuIsaOps.cpp.inc"
      >();
}

std::optional<DType> rbln::npuisa::toDType(Type t) { return rbln::elementDType(t); }

Type rbln::npuisa::typeOf(MLIRContext *ctx, DType d) {
  switch (d) {
  case DType::F32: return Float32Type::get(ctx);
  case DType::F16: return Float16Type::get(ctx);
  case DType::BF16: return BFloat16Type::get(ctx);
  case DType::I32: return IntegerType::get(ctx, 32);
  case DType::I64: return IntegerType::get(ctx, 64);
  case DType::I8: return IntegerType::get(ctx, 8);
  case DType::U8: return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case DType::Bool: return IntegerType::get(ctx, 1);
  case DType::F8E4M3FN: return Float8E4M3FNType::get(ctx);
  case DType::F8E5M2: return Float8E5M2Type::get(ctx);
  case DType::F8E4M3FNUZ: return Float8E4M3FNUZType::get(ctx);
  case DType::F8E5M2FNUZ: return Float8E5M2FNUZType::get(ctx);
  case DType::I4: return IntegerType::get(ctx, 4);
  }
  return Float32Type::get(ctx);
}

//===----------------------------------------------------------------------===//
// Ops <-> isa::Inst (the switches are generated from Isa.def)
//===----------------------------------------------------------------------===//

namespace {
FloatAttr f32Attr(OpBuilder &b, int64_t bits) {
  return b.getFloatAttr(b.getF32Type(), APFloat(APFloat::IEEEsingle(), APInt(32, uint64_t(bits))));
}
DenseI64ArrayAttr waitsAttr(OpBuilder &b, const isa::Inst &in) {
  SmallVector<int64_t, 4> w;
  for (const isa::WaitCond &c : in.wait)
    if (c.active()) {
      w.push_back(c.sem);
      w.push_back(c.value);
    }
  return w.empty() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(w);
}
IntegerAttr signalAttr(OpBuilder &b, const isa::Inst &in) {
  return in.signal == isa::kNoSem ? IntegerAttr() : b.getI32IntegerAttr(in.signal);
}
} // namespace

Operation *rbln::npuisa::createInst(OpBuilder &b, Location loc, const isa::Inst &in,
                                    const LabelNamer &labelOf) {
  switch (in.op) {
#define RBLN_NPUISA_BUILD
#include "dialects/NpuIsa/NpuIsaInst.cpp.inc"
  default: break;
  }
  llvm_unreachable("an opcode without an op");
}

Expected<isa::Inst> rbln::npuisa::toInst(InstOpInterface iface, const LabelResolver &labels) {
  Operation *op = iface.getOperation();
  isa::Inst in(iface.getOpcode());
#define RBLN_READ_DTYPE(K, GET)                                                                    \
  {                                                                                                \
    auto d = toDType(GET);                                                                         \
    if (!d)                                                                                        \
      return makeError("field '{}' has no ISA element type", in.spec().fields[K].name);           \
    in[K] = int64_t(*d);                                                                           \
  }
#define RBLN_READ_LABEL(K, GET)                                                                    \
  {                                                                                                \
    in[K] = 0;                                                                                     \
    if (labels) {                                                                                  \
      auto pc = labels(GET);                                                                       \
      if (!pc)                                                                                     \
        return makeError("branch target '{}' is not a label of this function", (GET).str());      \
      in[K] = *pc;                                                                                 \
    }                                                                                              \
  }
#define RBLN_READ_HEADER(UNIT, WAITS, SIGNAL)                                                      \
  {                                                                                                \
    in.unit = uint8_t(UNIT);                                                                       \
    if (auto w = (WAITS)) {                                                                        \
      if (w->size() % 2 || w->size() > 4)                                                          \
        return makeError("at most two wait conditions (semaphore, value)");                       \
      for (size_t i = 0; i < w->size(); i += 2) {                                                  \
        int64_t sem = (*w)[i], val = (*w)[i + 1];                                                  \
        if (sem < 0 || sem >= isa::kNoSem || val < 0 || val > int64_t(UINT32_MAX))                 \
          return makeError("wait condition s{} >= {} does not fit the encoding", sem, val);        \
        in.wait[i / 2] = {uint8_t(sem), uint32_t(val)};                                            \
      }                                                                                            \
    }                                                                                              \
    if (auto s = (SIGNAL)) {                                                                       \
      if (*s >= isa::kNoSem)                                                                       \
        return makeError("signal semaphore {} does not fit the encoding", *s);                     \
      in.signal = uint8_t(*s);                                                                     \
    }                                                                                              \
  }
  switch (in.op) {
#define RBLN_NPUISA_READ
#include "dialects/NpuIsa/NpuIsaInst.cpp.inc"
  default: break;
  }
#undef RBLN_READ_DTYPE
#undef RBLN_READ_LABEL
#undef RBLN_READ_HEADER
  (void)op;
  return in;
}

//===----------------------------------------------------------------------===//
// One printer, parser and verifier for every instruction op
//===----------------------------------------------------------------------===//

void rbln::npuisa::printInst(OpAsmPrinter &p, Operation *op) {
  const isa::InstSpec &s = isa::spec(cast<InstOpInterface>(op).getOpcode());
  if (s.unit != isa::Unit::Cp)
    if (auto u = op->getAttrOfType<IntegerAttr>("unit"))
      p << "[" << u.getInt() << "]";
  SmallVector<StringRef> elided = {"unit", "waits", "signal"};
  for (unsigned i = 0; i < s.numFields; ++i) {
    const isa::FieldSpec &fs = s.fields[i];
    elided.push_back(fs.name);
    p << (i ? ", " : " ") << fs.name << " = ";
    Attribute a = op->getAttr(fs.name);
    if (!a) {
      p << "<missing>";
      continue;
    }
    switch (fs.kind) {
    case isa::FieldKind::Reg: p << "r" << cast<IntegerAttr>(a).getInt(); break;
    case isa::FieldKind::Space: p << stringifyMemSpace(cast<MemSpaceAttr>(a).getValue()); break;
    case isa::FieldKind::Bcast: p << stringifyBroadcast(cast<BroadcastAttr>(a).getValue()); break;
    case isa::FieldKind::DType: p << cast<TypeAttr>(a).getValue(); break;
    case isa::FieldKind::Flag: p << (cast<BoolAttr>(a).getValue() ? 1 : 0); break;
    case isa::FieldKind::F32: p.printFloat(cast<FloatAttr>(a).getValue()); break;
    case isa::FieldKind::Label: p.printKeywordOrString(cast<StringAttr>(a).getValue()); break;
    case isa::FieldKind::U: case isa::FieldKind::S: p << cast<IntegerAttr>(a).getInt(); break;
    }
  }
  if (auto w = op->getAttrOfType<DenseI64ArrayAttr>("waits"); w && !w.empty()) {
    p << " wait(";
    ArrayRef<int64_t> v = w.asArrayRef();
    for (size_t i = 0; i + 1 < v.size(); i += 2)
      p << (i ? ", " : "") << "s" << v[i] << " >= " << v[i + 1];
    p << ")";
  }
  if (auto sig = op->getAttrOfType<IntegerAttr>("signal"))
    p << " signal(s" << sig.getInt() << ")";
  p.printOptionalAttrDict(op->getAttrs(), elided);
}

static ParseResult parseSem(OpAsmParser &parser, int64_t &sem) {
  std::string kw;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeywordOrString(&kw))
    return failure();
  if (kw.size() < 2 || kw[0] != 's' || !llvm::all_of(kw.substr(1), ::isdigit) || kw.size() > 5)
    return parser.emitError(loc, "expected a semaphore like s3");
  sem = std::stoll(kw.substr(1));
  return success();
}

ParseResult rbln::npuisa::parseInst(OpAsmParser &parser, OperationState &result,
                                    isa::Opcode opcode) {
  Builder &b = parser.getBuilder();
  MLIRContext *ctx = b.getContext();
  const isa::InstSpec &s = isa::spec(opcode);
  if (s.unit != isa::Unit::Cp) {
    int64_t unit = 0;
    SMLoc uloc = parser.getCurrentLocation();
    if (parser.parseLSquare() || parser.parseInteger(unit) || parser.parseRSquare())
      return failure();
    if (unit < 0 || unit > 255)
      return parser.emitError(uloc, "unit ") << unit << " does not fit 8 bits";
    result.addAttribute("unit", b.getI32IntegerAttr(int32_t(unit)));
  }
  for (unsigned i = 0; i < s.numFields; ++i) {
    const isa::FieldSpec &fs = s.fields[i];
    if (i && parser.parseComma())
      return failure();
    if (parser.parseKeyword(fs.name) || parser.parseEqual())
      return failure();
    SMLoc vloc = parser.getCurrentLocation();
    auto invalid = [&](StringRef v) {
      return parser.emitError(vloc, "invalid value '") << v << "' for field '" << fs.name << "'";
    };
    Attribute a;
    switch (fs.kind) {
    case isa::FieldKind::Reg: case isa::FieldKind::Space: case isa::FieldKind::Bcast: {
      std::string kw;
      if (parser.parseKeywordOrString(&kw))
        return failure();
      if (fs.kind == isa::FieldKind::Space) {
        auto v = symbolizeMemSpace(kw);
        if (!v)
          return invalid(kw);
        a = MemSpaceAttr::get(ctx, *v);
      } else if (fs.kind == isa::FieldKind::Bcast) {
        auto v = symbolizeBroadcast(kw);
        if (!v)
          return invalid(kw);
        a = BroadcastAttr::get(ctx, *v);
      } else {
        if (kw.size() < 2 || kw.size() > 3 || kw[0] != 'r' || !llvm::all_of(kw.substr(1), ::isdigit) ||
            std::stoi(kw.substr(1)) >= int(isa::kNumRegs))
          return invalid(kw);
        a = b.getI32IntegerAttr(std::stoi(kw.substr(1)));
      }
      break;
    }
    case isa::FieldKind::DType: {
      Type t;
      if (parser.parseType(t))
        return failure();
      a = TypeAttr::get(t);
      break;
    }
    case isa::FieldKind::F32: {
      APFloat v(0.0f);
      if (parser.parseFloat(APFloat::IEEEsingle(), v))
        return failure();
      a = b.getFloatAttr(b.getF32Type(), v);
      break;
    }
    case isa::FieldKind::Label: {
      std::string name;
      if (parser.parseKeywordOrString(&name))
        return failure();
      a = b.getStringAttr(name);
      break;
    }
    case isa::FieldKind::Flag: {
      int64_t v = 0;
      if (parser.parseInteger(v))
        return failure();
      if (v != 0 && v != 1)
        return invalid(std::to_string(v));
      a = b.getBoolAttr(v != 0);
      break;
    }
    case isa::FieldKind::U: case isa::FieldKind::S: {
      int64_t v = 0;
      if (parser.parseInteger(v))
        return failure();
      a = b.getI64IntegerAttr(v);
      break;
    }
    }
    result.addAttribute(fs.name, a);
  }
  if (succeeded(parser.parseOptionalKeyword("wait"))) {
    SmallVector<int64_t> waits;
    if (parser.parseLParen())
      return failure();
    do {
      int64_t sem, val;
      if (parseSem(parser, sem) || parser.parseGreater() || parser.parseEqual() ||
          parser.parseInteger(val))
        return failure();
      waits.push_back(sem);
      waits.push_back(val);
    } while (succeeded(parser.parseOptionalComma()));
    if (parser.parseRParen())
      return failure();
    result.addAttribute("waits", b.getDenseI64ArrayAttr(waits));
  }
  if (succeeded(parser.parseOptionalKeyword("signal"))) {
    int64_t signal;
    if (parser.parseLParen() || parseSem(parser, signal) || parser.parseRParen())
      return failure();
    result.addAttribute("signal", b.getI32IntegerAttr(int32_t(signal)));
  }
  return parser.parseOptionalAttrDict(result.attributes);
}

LogicalResult rbln::npuisa::verifyInst(Operation *op) {
  auto inst = toInst(cast<InstOpInterface>(op));
  if (!inst.ok())
    return op->emitOpError(inst.error());
  // Every field fits its width: the encoder the emitter uses says so.
  uint8_t word[isa::kWordBytes];
  if (Status st = isa::encode(*inst, word); !st.ok())
    return op->emitOpError(st.message());
  return success();
}

//===----------------------------------------------------------------------===//
// Labels and descriptors
//===----------------------------------------------------------------------===//

void LabelOp::print(OpAsmPrinter &p) {
  p << " ";
  p.printKeywordOrString(getName());
  p.printOptionalAttrDict((*this)->getAttrs(), {"name"});
}

ParseResult LabelOp::parse(OpAsmParser &parser, OperationState &result) {
  std::string name;
  if (parser.parseKeywordOrString(&name))
    return failure();
  result.addAttribute("name", parser.getBuilder().getStringAttr(name));
  return parser.parseOptionalAttrDict(result.attributes);
}

LogicalResult DescOp::verify() {
  size_t n = getSizes().size();
  if (n < 1 || n > 4)
    return emitOpError("a DMA descriptor has 1 to 4 dims, got ") << n;
  if (getSrcStrides().size() != n || getDstStrides().size() != n)
    return emitOpError("strides must have one entry per dim");
  if (!toDType(getSrcType()) || !toDType(getDstType()))
    return emitOpError("element types must be f32, f16, bf16 or i1/i8/ui8/i32/i64");
  for (size_t i = 0; i < n; ++i)
    if (getSizes()[i] < 0 || getSrcStrides()[i] < 0 || getDstStrides()[i] < 0)
      return emitOpError("sizes and strides must be non-negative");
  if (!getSaturate() && !dtypeIsFloat8(*toDType(getDstType())))
    return emitOpError("saturate = false applies to conversions to an 8-bit float");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/NpuIsa/NpuIsaOps.cpp.inc"
