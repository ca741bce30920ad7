//===- NpuIsaDialect.cpp - The npuisa dialect -----------------------------===//
#include "dialects/NpuIsa/NpuIsaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

#include <cstring>

using namespace mlir;
using namespace rbln;
using namespace rbln::npuisa;

#include "dialects/NpuIsa/NpuIsaDialect.cpp.inc"

void NpuIsaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/NpuIsa/NpuIsaOps.cpp.inc"
      >();
}

std::optional<DType> rbln::npuisa::toDType(Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isF16()) return DType::F16;
  if (t.isBF16()) return DType::BF16;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(64)) return DType::I64;
  if (t.isInteger(8)) return DType::I8;
  if (t.isInteger(1)) return DType::Bool;
  return std::nullopt;
}

Expected<isa::Inst> rbln::npuisa::toInst(InstOp op) {
  const isa::InstSpec *s = isa::lookup(op.getMnemonic());
  if (!s)
    return makeError("unknown instruction '{}'", op.getMnemonic().str());
  int64_t unit = int64_t(op.getUnit()), signal = int64_t(op.getSignal());
  isa::Inst inst(s->op, uint8_t(unit));
  if (unit < 0 || unit > 255)
    return makeError("unit {} does not fit 8 bits", unit);
  ArrayRef<int64_t> f = op.getFields();
  if (f.size() != s->numFields)
    return makeError("'{}' has {} fields, {} given", s->mnemonic, s->numFields, f.size());
  for (size_t i = 0; i < f.size(); ++i)
    inst.f[i] = f[i];
  ArrayRef<int64_t> w = op.getWaits();
  if (w.size() % 2 || w.size() > 4)
    return makeError("at most two wait conditions (semaphore, value)");
  for (size_t i = 0; i < w.size(); i += 2) {
    if (w[i] < 0 || w[i] >= isa::kNoSem || w[i + 1] < 0 || w[i + 1] > int64_t(UINT32_MAX))
      return makeError("wait condition s{} >= {} does not fit the encoding", w[i], w[i + 1]);
    inst.wait[i / 2] = {uint8_t(w[i]), uint32_t(w[i + 1])};
  }
  if (signal >= int64_t(isa::kNoSem) || signal < -1)
    return makeError("signal semaphore {} does not fit the encoding", signal);
  inst.signal = signal < 0 ? isa::kNoSem : uint8_t(signal);
  uint8_t word[isa::kWordBytes];
  Status st = isa::encode(inst, word);
  if (!st.ok())
    return st;
  return inst;
}

InstOp rbln::npuisa::createInst(OpBuilder &b, Location loc, const isa::Inst &inst) {
  const isa::InstSpec &s = inst.spec();
  SmallVector<int64_t> fields(inst.f.begin(), inst.f.begin() + s.numFields);
  SmallVector<int64_t> waits;
  for (const isa::WaitCond &w : inst.wait)
    if (w.active()) {
      waits.push_back(w.sem);
      waits.push_back(w.value);
    }
  int64_t signal = inst.signal == isa::kNoSem ? -1 : inst.signal;
  return InstOp::create(b, loc, b.getStringAttr(s.mnemonic), b.getI64IntegerAttr(inst.unit),
                        b.getDenseI64ArrayAttr(fields), b.getDenseI64ArrayAttr(waits),
                        b.getI64IntegerAttr(signal));
}

LogicalResult InstOp::verify() {
  auto inst = toInst(*this);
  if (!inst.ok())
    return emitOpError(inst.error());
  return success();
}

void InstOp::print(OpAsmPrinter &p) {
  p << " " << getMnemonic();
  const isa::InstSpec *s = isa::lookup(getMnemonic());
  if (!s || s->unit != isa::Unit::Cp)
    p << "[" << int64_t(getUnit()) << "]";
  ArrayRef<int64_t> f = getFields();
  for (size_t i = 0; i < f.size(); ++i) {
    p << (i ? ", " : " ");
    if (!s || i >= s->numFields) {
      p << f[i];
      continue;
    }
    const isa::FieldSpec &fs = s->fields[i];
    p << fs.name << " = ";
    switch (fs.kind) {
    case isa::FieldKind::Space: p << isa::spaceName(isa::Space(f[i])); break;
    case isa::FieldKind::DType: p << dtypeName(DType(f[i])); break;
    case isa::FieldKind::Bcast: p << isa::bcastName(isa::Bcast(f[i])); break;
    case isa::FieldKind::Reg: p << "r" << f[i]; break;
    default: p << f[i];
    }
  }
  ArrayRef<int64_t> w = getWaits();
  if (!w.empty()) {
    p << " wait(";
    for (size_t i = 0; i + 1 < w.size(); i += 2)
      p << (i ? ", " : "") << "s" << w[i] << " >= " << w[i + 1];
    p << ")";
  }
  if (int64_t(getSignal()) >= 0)
    p << " signal(s" << int64_t(getSignal()) << ")";
  p.printOptionalAttrDict((*this)->getAttrs(),
                          {"mnemonic", "unit", "fields", "waits", "signal"});
}

static ParseResult parseSem(OpAsmParser &parser, int64_t &sem) {
  std::string kw;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeywordOrString(&kw))
    return failure();
  if (kw.size() < 2 || kw[0] != 's' || !llvm::all_of(kw.substr(1), ::isdigit))
    return parser.emitError(loc, "expected a semaphore like s3");
  sem = std::stoll(kw.substr(1));
  return success();
}

ParseResult InstOp::parse(OpAsmParser &parser, OperationState &result) {
  Builder &b = parser.getBuilder();
  std::string mnemonic;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeywordOrString(&mnemonic))
    return failure();
  const isa::InstSpec *s = isa::lookup(mnemonic);
  if (!s)
    return parser.emitError(loc, "unknown instruction '") << mnemonic << "'";
  int64_t unit = 0;
  if (succeeded(parser.parseOptionalLSquare()))
    if (parser.parseInteger(unit) || parser.parseRSquare())
      return failure();
  SmallVector<int64_t> fields;
  for (unsigned i = 0; i < s->numFields; ++i) {
    const isa::FieldSpec &fs = s->fields[i];
    if (i && parser.parseComma())
      return failure();
    if (parser.parseKeyword(fs.name) || parser.parseEqual())
      return failure();
    int64_t v = 0;
    SMLoc vloc = parser.getCurrentLocation();
    switch (fs.kind) {
    case isa::FieldKind::Space: case isa::FieldKind::DType: case isa::FieldKind::Bcast:
    case isa::FieldKind::Reg: {
      std::string kw;
      if (parser.parseKeywordOrString(&kw))
        return failure();
      bool found = false;
      for (int64_t c = 0; c < 256 && !found; ++c) {
        const char *name = fs.kind == isa::FieldKind::Space ? (c <= 2 ? isa::spaceName(isa::Space(c)) : nullptr)
                           : fs.kind == isa::FieldKind::DType ? (c < int64_t(kNumDTypes) ? dtypeName(DType(c)) : nullptr)
                           : fs.kind == isa::FieldKind::Bcast ? (c <= 3 ? isa::bcastName(isa::Bcast(c)) : nullptr)
                           : nullptr;
        if (fs.kind == isa::FieldKind::Reg && c < int64_t(isa::kNumRegs) && kw == "r" + std::to_string(c))
          found = true, v = c;
        else if (name && kw == name)
          found = true, v = c;
      }
      if (!found)
        return parser.emitError(vloc, "invalid value '") << kw << "' for field '" << fs.name << "'";
      break;
    }
    default:
      if (parser.parseInteger(v))
        return failure();
    }
    fields.push_back(v);
  }
  SmallVector<int64_t> waits;
  if (succeeded(parser.parseOptionalKeyword("wait"))) {
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
  }
  int64_t signal = -1;
  if (succeeded(parser.parseOptionalKeyword("signal"))) {
    if (parser.parseLParen() || parseSem(parser, signal) || parser.parseRParen())
      return failure();
  }
  if (parser.parseOptionalAttrDict(result.attributes))
    return failure();
  result.addAttribute("mnemonic", b.getStringAttr(mnemonic));
  result.addAttribute("unit", b.getI64IntegerAttr(unit));
  result.addAttribute("fields", b.getDenseI64ArrayAttr(fields));
  result.addAttribute("waits", b.getDenseI64ArrayAttr(waits));
  result.addAttribute("signal", b.getI64IntegerAttr(signal));
  return success();
}

LogicalResult DescOp::verify() {
  size_t n = getSizes().size();
  if (n < 1 || n > 4)
    return emitOpError("a DMA descriptor has 1 to 4 dims, got ") << n;
  if (getSrcStrides().size() != n || getDstStrides().size() != n)
    return emitOpError("strides must have one entry per dim");
  if (!toDType(getSrcType()) || !toDType(getDstType()))
    return emitOpError("element types must be f32, f16, bf16 or i1/i8/i32/i64");
  for (size_t i = 0; i < n; ++i)
    if (getSizes()[i] < 0 || getSrcStrides()[i] < 0 || getDstStrides()[i] < 0)
      return emitOpError("sizes and strides must be non-negative");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/NpuIsa/NpuIsaOps.cpp.inc"
