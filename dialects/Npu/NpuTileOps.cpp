//===- NpuTileOps.cpp - The npu dialect's tile-program level --------------===//
#include "dialects/Npu/NpuDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "rbln/runtime/Isa.h"

using namespace mlir;
using namespace rbln;
using namespace rbln::npu;

// --- #npu.vop<...> -----------------------------------------------------------

static bool isVectorClass(unsigned op) {
  if (op >= isa::kNumOpcodes)
    return false;
  isa::InstClass c = isa::classOf(isa::Opcode(op));
  return c == isa::InstClass::VBinary || c == isa::InstClass::VUnary || c == isa::InstClass::VReduce ||
         c == isa::InstClass::VCast;
}

bool VectorOpAttr::isBinary() const {
  return isa::classOf(isa::Opcode(getOpcode())) == isa::InstClass::VBinary;
}

StringRef VectorOpAttr::getInstMnemonic() const { return isa::spec(isa::Opcode(getOpcode())).mnemonic; }

LogicalResult VectorOpAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned op) {
  if (!isVectorClass(op))
    return emitError() << "opcode " << op << " is not a vector-engine instruction of class VBinary, VUnary or VReduce";
  return success();
}

Attribute VectorOpAttr::parse(AsmParser &p, Type) {
  std::string mnemonic;
  SMLoc at = p.getCurrentLocation();
  if (p.parseLess() || p.parseKeywordOrString(&mnemonic) || p.parseGreater())
    return {};
  const isa::InstSpec *s = isa::lookup(mnemonic);
  if (!s || !isVectorClass(unsigned(s->op))) {
    p.emitError(at) << "'" << mnemonic << "' is not a vector instruction in Isa.def";
    return {};
  }
  return VectorOpAttr::get(p.getContext(), unsigned(s->op));
}

void VectorOpAttr::print(AsmPrinter &p) const { p << "<" << getInstMnemonic() << ">"; }

// --- #npu.trap<...> -------------------------------------------------------------

namespace {
struct TrapName {
  const char *name;
  unsigned code;
};
constexpr TrapName kTraps[] = {
#define RBLN_TRAP(E_, C_, M_) {#E_, C_},
#include "rbln/runtime/Isa.def"
};
} // namespace

LogicalResult TrapAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned code) {
  for (const TrapName &t : kTraps)
    if (t.code == code)
      return success();
  return emitError() << "trap code " << code << " is not in Isa.def's trap table";
}

Attribute TrapAttr::parse(AsmParser &p, Type) {
  std::string name;
  SMLoc at = p.getCurrentLocation();
  if (p.parseLess() || p.parseKeywordOrString(&name) || p.parseGreater())
    return {};
  for (const TrapName &t : kTraps)
    if (name == t.name)
      return TrapAttr::get(p.getContext(), t.code);
  p.emitError(at) << "'" << name << "' is not a trap in Isa.def";
  return {};
}

void TrapAttr::print(AsmPrinter &p) const {
  for (const TrapName &t : kTraps)
    if (t.code == getCode())
      p << "<" << t.name << ">";
}

// --- #npu.regs<r6, r7 scratch r9> ---------------------------------------------

LogicalResult RegsAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               ArrayRef<unsigned> regs, unsigned scratch) {
  if (regs.empty())
    return emitError() << "names no register";
  for (unsigned r : regs)
    if (r == 0 || r >= rbln::isa::kNumRegs)
      return emitError() << "r" << r << " is not an allocatable register (r1..r"
                         << rbln::isa::kNumRegs - 1 << ")";
  if (scratch >= rbln::isa::kNumRegs)
    return emitError() << "scratch r" << scratch << " is past r" << rbln::isa::kNumRegs - 1;
  return success();
}

Attribute RegsAttr::parse(AsmParser &p, Type) {
  SmallVector<unsigned> regs;
  unsigned scratch = 0;
  auto reg = [&](unsigned &r) -> ParseResult {
    std::string k;
    SMLoc at = p.getCurrentLocation();
    if (p.parseKeywordOrString(&k))
      return failure();
    if (k.size() < 2 || k[0] != 'r' || StringRef(k).drop_front().getAsInteger(10, r))
      return p.emitError(at) << "expected a register such as r6, got '" << k << "'";
    return success();
  };
  if (p.parseLess() || p.parseCommaSeparatedList([&]() -> ParseResult {
        unsigned r;
        if (reg(r))
          return failure();
        regs.push_back(r);
        return success();
      }))
    return {};
  if (succeeded(p.parseOptionalKeyword("scratch")) && reg(scratch))
    return {};
  if (p.parseGreater())
    return {};
  return RegsAttr::getChecked([&] { return p.emitError(p.getNameLoc()); }, p.getContext(),
                              ArrayRef<unsigned>(regs),
                              scratch);
}

void RegsAttr::print(AsmPrinter &p) const {
  p << "<";
  llvm::interleaveComma(getRegs(), p, [&](unsigned r) { p << "r" << r; });
  if (getScratch())
    p << " scratch r" << getScratch();
  p << ">";
}

// --- command-processor ops ---------------------------------------------------

/// Indices of a CP op: one per dimension of a DRAM/SHM buffer.
static LogicalResult verifyCpIndices(Operation *op, MemRefType t, size_t n) {
  if (spaceOf(t) == MemorySpace::Spm)
    return op->emitOpError("reads DRAM or SHM, not the scratchpad");
  if (int64_t(n) != t.getRank())
    return op->emitOpError("takes ") << t.getRank() << " indices, got " << n;
  return success();
}

LogicalResult CpLoadIndexOp::verify() {
  auto t = cast<MemRefType>(getBuffer().getType());
  if (!t.getElementType().isInteger(64) && !t.getElementType().isInteger(32))
    return emitOpError("loads i64 or i32 elements, not ") << t.getElementType();
  return verifyCpIndices(*this, t, getIndices().size());
}

LogicalResult CpAddressOp::verify() {
  auto t = cast<MemRefType>(getBuffer().getType());
  SmallVector<int64_t> strides;
  int64_t off;
  if (failed(t.getStridesAndOffset(strides, off)))
    return emitOpError("needs a strided buffer");
  return verifyCpIndices(*this, t, getIndices().size());
}

LogicalResult CpDivOp::verify() {
  if (getDivisor() <= 0)
    return emitOpError("divisor must be positive, got ") << getDivisor();
  return success();
}
LogicalResult CpRemOp::verify() {
  int64_t d = getDivisor();
  if (d <= 0 || (d & (d - 1)))
    return emitOpError("divisor must be a power of two, got ") << d;
  return success();
}

LogicalResult CpIfLessOp::verify() {
  if (!(*this)->getParentOfType<DistributeOp>())
    return emitOpError("must be inside an npu.distribute");
  if (getBody().walk([](Operation *o) {
        return llvm::isa<EndStepOp, DeferredOp, IssueDeferredOp>(o) ? WalkResult::interrupt()
                                                                   : WalkResult::advance();
      }).wasInterrupted())
    return emitOpError("body holds no npu.end_step, npu.deferred or npu.issue_deferred "
                       "(it is skipped or run as one piece)");
  return success();
}

/// Whether operand `i` of `op` is one of its waits' semaphores.
static bool isWaitSem(Operation *op, unsigned i) {
  auto e = dyn_cast<EngineOp>(op);
  if (!e)
    return false;
  OperandRange sems = e.getWaitSemsMutable();
  return !sems.empty() && i >= sems.getBeginOperandIndex() &&
         i < sems.getBeginOperandIndex() + sems.size();
}

LogicalResult SemOnOp::verify() {
  if (!getSem().getDefiningOp<SemaphoreOp>())
    return emitOpError("names an npu.semaphore");
  for (OpOperand &u : getResult().getUses())
    if (!llvm::isa<SemCountOp>(u.getOwner()) && !isWaitSem(u.getOwner(), u.getOperandNumber()))
      return emitOpError("is only waited on or counted (a command signals its own NE's semaphores)");
  return success();
}

namespace rbln::npu {
/// `[%i, %r : !npu.reg, ...]`: an index without a type is an `index`.
ParseResult parseCpIndices(OpAsmParser &p, SmallVectorImpl<OpAsmParser::UnresolvedOperand> &indices,
                           SmallVectorImpl<Type> &types) {
  return p.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, [&]() -> ParseResult {
    OpAsmParser::UnresolvedOperand v;
    Type t = p.getBuilder().getIndexType();
    if (p.parseOperand(v) || (succeeded(p.parseOptionalColon()) && p.parseType(t)))
      return failure();
    indices.push_back(v);
    types.push_back(t);
    return success();
  });
}

void printCpIndices(OpAsmPrinter &p, Operation *, OperandRange indices, TypeRange types) {
  p << "[";
  for (size_t i = 0; i < indices.size(); ++i) {
    p << (i ? ", " : "") << indices[i];
    if (!types[i].isIndex())
      p << " : " << types[i];
  }
  p << "]";
}
} // namespace rbln::npu

// --- wait(%s >= %n, ...) -------------------------------------------------------

namespace rbln::npu {
ParseResult parseWaits(OpAsmParser &p, SmallVectorImpl<OpAsmParser::UnresolvedOperand> &sems,
                       SmallVectorImpl<OpAsmParser::UnresolvedOperand> &counts) {
  return p.parseCommaSeparatedList([&]() -> ParseResult {
    OpAsmParser::UnresolvedOperand s, n;
    if (p.parseOperand(s) || p.parseGreater() || p.parseEqual() || p.parseOperand(n))
      return failure();
    sems.push_back(s);
    counts.push_back(n);
    return success();
  });
}

void printWaits(OpAsmPrinter &p, Operation *, OperandRange sems, OperandRange counts) {
  for (size_t i = 0; i < sems.size(); ++i)
    p << (i ? ", " : "") << sems[i] << " >= " << counts[i];
}
} // namespace rbln::npu

/// The end of a region op's custom form: `attributes {...}` and the body
/// (one block, whose arguments are `args`).
static ParseResult parseAttrsAndBody(OpAsmParser &p, OperationState &st,
                                     ArrayRef<OpAsmParser::Argument> args) {
  if (p.parseOptionalAttrDictWithKeyword(st.attributes))
    return failure();
  Region *body = st.addRegion();
  if (p.parseRegion(*body, args))
    return failure();
  if (body->empty())
    body->emplaceBlock();
  return success();
}

// --- npu.tile_program ------------------------------------------------------------

ParseResult TileProgramOp::parse(OpAsmParser &p, OperationState &st) {
  KernelKindAttr kernel;
  int64_t ne = 0, spm = 0;
  if (p.parseCustomAttributeWithFallback(kernel) || p.parseKeyword("ne") || p.parseEqual() ||
      p.parseInteger(ne) || p.parseKeyword("spm") || p.parseEqual() || p.parseInteger(spm) ||
      p.parseKeyword("ins"))
    return failure();
  SmallVector<OpAsmParser::Argument> args;
  SmallVector<OpAsmParser::UnresolvedOperand> operands;
  if (p.parseCommaSeparatedList(AsmParser::Delimiter::Paren, [&]() -> ParseResult {
        OpAsmParser::Argument a;
        OpAsmParser::UnresolvedOperand v;
        if (p.parseArgument(a) || p.parseEqual() || p.parseOperand(v) || p.parseColonType(a.type))
          return failure();
        args.push_back(a);
        operands.push_back(v);
        return success();
      }))
    return failure();
  for (auto [a, v] : llvm::zip(args, operands))
    if (p.resolveOperand(v, a.type, st.operands))
      return failure();
  Builder &b = p.getBuilder();
  st.addAttribute(getKernelAttrName(st.name), kernel);
  st.addAttribute(getNeAttrName(st.name), b.getI64IntegerAttr(ne));
  st.addAttribute(getSpmAttrName(st.name), b.getI64IntegerAttr(spm));
  return parseAttrsAndBody(p, st, args);
}

void TileProgramOp::print(OpAsmPrinter &p) {
  p << " ";
  p.printStrippedAttrOrType(getKernelAttr());
  p << " ne = " << getNe() << " spm = " << getSpm() << " ins(";
  for (auto [i, v] : llvm::enumerate(getBuffers())) {
    BlockArgument a = getProgram().getArgument(unsigned(i));
    p << (i ? ", " : "");
    p.printRegionArgument(a, {}, /*omitType=*/true);
    p << " = " << v << " : " << v.getType();
  }
  p << ")";
  p.printOptionalAttrDictWithKeyword((*this)->getAttrs(),
                                     {getKernelAttrName(), getNeAttrName(), getSpmAttrName()});
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false);
}

Value TileProgramOp::getIndexConstant(int64_t v) {
  Block &body = getProgram();
  for (auto c : body.getOps<arith::ConstantIndexOp>())
    if (c.value() == v)
      return c;
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  return arith::ConstantIndexOp::create(b, getLoc(), v);
}

LogicalResult TileProgramOp::verifyRegions() {
  Block &b = getProgram();
  if (b.getNumArguments() != getBuffers().size())
    return emitOpError("binds ") << getBuffers().size() << " buffers but its region takes "
                                 << b.getNumArguments();
  for (auto [v, a] : llvm::zip(getBuffers(), b.getArguments()))
    if (v.getType() != a.getType())
      return emitOpError("binds a buffer of type ") << v.getType() << " to an argument of type "
                                                    << a.getType();
  if (getNe() < 1)
    return emitOpError("uses ") << getNe() << " NEs";
  for (Operation &op : b)
    if (auto a = dyn_cast<AllocOp>(op)) {
      std::optional<MemorySpace> space = spaceOf(a.getType());
      if (space != MemorySpace::Spm && space != MemorySpace::Shm)
        return a.emitOpError("in a tile program must be in #npu.space<spm> or #npu.space<shm>");
      if (!a.getOffset())
        continue; // placed by npu-allocate-scratchpad
      if (*a.getOffset() < 0)
        return a.emitOpError("has a negative offset");
      if (space == MemorySpace::Shm)
        continue; // the kernel's own SHM area (bounded by the target when placed)
      int64_t bytes = *a.getOffset() + allocatedBytes(a.getType());
      if (bytes > getSpm())
        return a.emitOpError("ends at byte ") << bytes << ", past the program's " << getSpm()
                                              << " scratchpad bytes";
    }
  return success();
}

// --- npu.semaphore -------------------------------------------------------------

void SemaphoreOp::getAsmResultNames(function_ref<void(Value, StringRef)> setName) {
  setName(getResult(), getName());
}

void AllocOp::getAsmResultNames(function_ref<void(Value, StringRef)> setName) {
  if (auto n = getName())
    setName(getResult(), *n);
}

LogicalResult AllocOp::verify() {
  if (getItemLocal() && getStepLocal())
    return emitOpError("is both item_local and step_local");
  return success();
}

// --- npu.distribute --------------------------------------------------------------

ParseResult DistributeOp::parse(OpAsmParser &p, OperationState &st) {
  SmallVector<OpAsmParser::Argument> args(3);
  int64_t items = 0, steps = 1;
  if (p.parseArgument(args[0]) || p.parseComma() || p.parseArgument(args[1]) ||
      p.parseKeyword("on") || p.parseArgument(args[2]) || p.parseKeyword("items") ||
      p.parseEqual() || p.parseInteger(items))
    return failure();
  if (succeeded(p.parseOptionalKeyword("steps"))) {
    args.resize(5);
    if (p.parseEqual() || p.parseInteger(steps) || p.parseLParen() || p.parseArgument(args[3]) ||
        p.parseComma() || p.parseArgument(args[4]) || p.parseRParen())
      return failure();
    st.addAttribute(getStepsAttrName(st.name), p.getBuilder().getI64IntegerAttr(steps));
  }
  for (auto &a : args)
    a.type = p.getBuilder().getIndexType();
  st.addAttribute(getItemsAttrName(st.name), p.getBuilder().getI64IntegerAttr(items));
  return parseAttrsAndBody(p, st, args);
}

void DistributeOp::print(OpAsmPrinter &p) {
  p << " " << getItem() << ", " << getIter() << " on " << getNe() << " items = " << getItems();
  if (getBody().getNumArguments() == 5)
    p << " steps = " << getSteps() << " (" << getStepOfItem() << ", " << getStep() << ")";
  p.printOptionalAttrDictWithKeyword((*this)->getAttrs(), {getItemsAttrName(), getStepsAttrName()});
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false);
}

void DistributeOp::getAsmBlockArgumentNames(Region &r, OpAsmSetValueNameFn setName) {
  setName(r.getArgument(0), "item");
  setName(r.getArgument(1), "iter");
  setName(r.getArgument(2), "ne");
  if (r.getNumArguments() == 5) {
    setName(r.getArgument(3), "k");
    setName(r.getArgument(4), "step");
  }
}

LogicalResult DistributeOp::verifyRegions() {
  Block &b = getBody().front();
  unsigned want = getSteps() > 1 ? 5 : 3;
  if (b.getNumArguments() != want || !llvm::all_of(b.getArgumentTypes(), [](Type t) {
        return t.isIndex();
      }))
    return emitOpError("body must take (item, iteration, NE") << (want == 5 ? ", step of item, step" : "")
                                                             << ") as index values";
  if (getSteps() < 1)
    return emitOpError("has ") << getSteps() << " steps per item";
  auto holds = [&](auto tag) {
    using Op = decltype(tag);
    return getBody().walk([](Op) { return WalkResult::interrupt(); }).wasInterrupted();
  };
  bool cut = holds(EndStepOp());
  if (getSteps() > 1 && cut)
    return emitOpError("with `steps` issues at step granularity already: no npu.end_step inside");
  if (!cut && (holds(DeferredOp()) || holds(IssueDeferredOp())))
    return emitOpError("defers commands only when cut into steps (npu.end_step)");
  if (getItems() < 0)
    return emitOpError("has ") << getItems() << " items";
  return success();
}

// --- npu.dma / npu.vec -------------------------------------------------------------

static LogicalResult verifyIndices(Operation *op, StringRef what, Value buf, ValueRange idx) {
  auto t = cast<MemRefType>(buf.getType());
  if (int64_t(idx.size()) != t.getRank())
    return op->emitOpError() << what << " takes " << t.getRank() << " indices, got " << idx.size();
  return success();
}

static LogicalResult verifySync(Operation *op, ValueRange sems, ValueRange counts) {
  if (sems.size() != counts.size())
    return op->emitOpError("has ") << sems.size() << " wait semaphores but " << counts.size()
                                   << " counts";
  if (sems.size() > 2)
    return op->emitOpError("waits on ") << sems.size() << " semaphores; an instruction has two waits";
  return success();
}

LogicalResult DmaOp::verify() {
  bool srcSpm = spaceOf(getSrc().getType()) == MemorySpace::Spm;
  bool dstSpm = spaceOf(getDst().getType()) == MemorySpace::Spm;
  if (srcSpm == dstSpm)
    return emitOpError("moves data between DRAM/SHM and the scratchpad: exactly one side must be "
                       "in #npu.space<spm>");
  auto regs = [](ValueRange idx) { return llvm::any_of(idx, isReg); };
  if (regs(srcSpm ? getSrcIndices() : getDstIndices()))
    return emitOpError("indexes the scratchpad with a run-time value: only the DRAM/SHM side's "
                       "indices may be registers");
  if (getAddress() && regs(srcSpm ? getDstIndices() : getSrcIndices()))
    return emitOpError("has both `at(...)` and run-time indices (npu-dynamic-dma forms one address)");
  if (failed(verifyIndices(*this, "the source", getSrc(), getSrcIndices())) ||
      failed(verifyIndices(*this, "the destination", getDst(), getDstIndices())) ||
      failed(verifySync(*this, getWaitSems(), getWaitCounts())) ||
      failed(verifyListOfOperandsOrIntegers(*this, "sizes", getStaticSizes().size(),
                                            getStaticSizes(), getSizes())) ||
      failed(verifyListOfOperandsOrIntegers(*this, "source strides", getSrcStrides().size(),
                                            getSrcStrides(), getSrcDynStrides())) ||
      failed(verifyListOfOperandsOrIntegers(*this, "destination strides", getDstStrides().size(),
                                            getDstStrides(), getDstDynStrides())))
    return failure();
  size_t rank = getStaticSizes().size();
  if (rank < 1 || rank > 4 || getSrcStrides().size() != rank || getDstStrides().size() != rank)
    return emitOpError("describes a box of 1 to 4 dimensions with a stride per dimension on each "
                       "side; got ")
           << rank << " sizes, " << getSrcStrides().size() << " and " << getDstStrides().size()
           << " strides";
  return success();
}

LogicalResult VecOp::verify() {
  for (Value v : {getDst(), getSrc0()})
    if (spaceOf(v.getType()) != MemorySpace::Spm)
      return emitOpError("operands must be scratchpad tiles (#npu.space<spm>)");
  bool binary = getOp().isBinary();
  if (binary && !getSrc1() && getBcast() != Broadcast::Imm)
    return emitOpError("'") << getOp().getInstMnemonic()
                            << "' takes a second source or bcast imm";
  if (!binary && (getSrc1() || getBcast() != Broadcast::None))
    return emitOpError("'") << getOp().getInstMnemonic() << "' takes one source";
  if (getSrc1() && spaceOf(getSrc1().getType()) != MemorySpace::Spm)
    return emitOpError("operands must be scratchpad tiles (#npu.space<spm>)");
  if (getStaticShape().size() != 2)
    return emitOpError("shape is [rows, cols]");
  if (failed(verifyIndices(*this, "dst", getDst(), getDstIndices())) ||
      failed(verifyIndices(*this, "src0", getSrc0(), getSrc0Indices())) ||
      (getSrc1() && failed(verifyIndices(*this, "src1", getSrc1(), getSrc1Indices()))) ||
      failed(verifySync(*this, getWaitSems(), getWaitCounts())) ||
      failed(verifyListOfOperandsOrIntegers(*this, "shape", 2, getStaticShape(), getShape())))
    return failure();
  return success();
}

LogicalResult SoftmaxStepOp::verify() {
  for (Value v : {getScores(), getStats()}) {
    auto t = cast<MemRefType>(v.getType());
    if (spaceOf(t) != MemorySpace::Spm || !t.getElementType().isF32())
      return emitOpError("scores and stats must be f32 scratchpad tiles");
  }
  if (getStaticShape().size() != 2)
    return emitOpError("shape is [rows, cols]");
  if (failed(verifyIndices(*this, "scores", getScores(), getScoreIndices())) ||
      failed(verifyIndices(*this, "stats", getStats(), getStatsIndices())) ||
      failed(verifySync(*this, getWaitSems(), getWaitCounts())) ||
      failed(verifyListOfOperandsOrIntegers(*this, "shape", 2, getStaticShape(), getShape())))
    return failure();
  return success();
}

void SemCountOp::getAsmResultNames(function_ref<void(Value, StringRef)> setName) {
  if (auto s = getSem().getDefiningOp<SemaphoreOp>())
    setName(getCount(), (s.getName() + "_count").str());
}

/// Issue-order ops belong to a distribute body (its scf.if / scf.for too).
static LogicalResult verifyInDistribute(Operation *op) {
  if (!op->getParentOfType<DistributeOp>())
    return op->emitOpError("must be inside an npu.distribute");
  return success();
}
LogicalResult EndStepOp::verify() { return verifyInDistribute(*this); }
LogicalResult SemCountOp::verify() { return verifyInDistribute(*this); }
LogicalResult IssueDeferredOp::verify() { return verifyInDistribute(*this); }
LogicalResult DeferredOp::verify() {
  if (getBody().walk([](Operation *o) {
        return llvm::isa<DeferredOp, IssueDeferredOp, EndStepOp>(o) ? WalkResult::interrupt()
                                                                  : WalkResult::advance();
      }).wasInterrupted())
    return emitOpError("body holds no npu.end_step, npu.deferred or npu.issue_deferred");
  // Registers are allocated in build order: one read when the commands are
  // issued, later, may have been given to another value by then.
  if (getBody().walk([](Operation *o) {
        return llvm::any_of(o->getOperands(), isReg) || llvm::any_of(o->getResults(), isReg)
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      }).wasInterrupted())
    return emitOpError("body reads or defines no command-processor value (its register could be "
                       "reused before the commands are issued)");
  return verifyInDistribute(*this);
}

LogicalResult MmOp::verify() {
  for (Value v : {getAcc(), getA(), getB()})
    if (spaceOf(v.getType()) != MemorySpace::Spm)
      return emitOpError("operands must be scratchpad tiles (#npu.space<spm>)");
  Type acc = cast<MemRefType>(getAcc().getType()).getElementType();
  Type a = cast<MemRefType>(getA().getType()).getElementType();
  Type bt = cast<MemRefType>(getB().getType()).getElementType();
  if (a.isInteger(8)) { // the integer mode: u8 or i8 times i8, exact in i32
    if (!bt.isSignlessInteger(8) && !bt.isSignedInteger(8))
      return emitOpError("an 8-bit integer a needs an int8 b, got ") << bt;
    if (!acc.isInteger(32))
      return emitOpError("8-bit integer operands accumulate in i32, got ") << acc;
  } else {
    if (!acc.isF32())
      return emitOpError("accumulates in f32");
    // b in a's type, or narrower (weights kept narrow in the scratchpad:
    // int8, int4, an 8-bit float), widened exactly as the engine reads it.
    bool narrowB = bt.isSignlessInteger(8) || bt.isSignlessInteger(4) ||
                   (mlir::isa<FloatType>(bt) && bt.getIntOrFloatBitWidth() == 8);
    if (a != bt && !(mlir::isa<FloatType>(a) && a.getIntOrFloatBitWidth() >= 16 && narrowB))
      return emitOpError("b must be in a's compute type, or int8, int4 or an 8-bit float under a float a; got ")
             << a << " and " << bt;
    if (bt.isSignlessInteger(4)) { // rows of whole bytes
      auto shape = getStaticShape();
      int64_t row = shape.size() == 3 ? (getTransposeB() ? shape[2] : shape[1]) : 0;
      if (!ShapedType::isDynamic(row) && row % 2)
        return emitOpError("an int4 b needs rows of an even length, got ") << row;
    }
  }
  if (getStaticShape().size() != 3)
    return emitOpError("shape is [m, n, k]");
  if (failed(verifyIndices(*this, "acc", getAcc(), getAccIndices())) ||
      failed(verifyIndices(*this, "a", getA(), getAIndices())) ||
      failed(verifyIndices(*this, "b", getB(), getBIndices())) ||
      failed(verifySync(*this, getWaitSems(), getWaitCounts())) ||
      failed(verifyListOfOperandsOrIntegers(*this, "shape", 3, getStaticShape(), getShape())))
    return failure();
  return success();
}

// --- EngineOp: the engine and the scratchpad tiles of each command ----------------

Engine DmaOp::getEngine() {
  return getQueue() == DmaQueue::Load ? Engine::LoadQueue : Engine::StoreQueue;
}
void DmaOp::getTileAccesses(SmallVectorImpl<TileAccess> &accesses) {
  // One side is the scratchpad: written by a load, read by a store.
  if (spaceOf(getDst().getType()) == MemorySpace::Spm)
    accesses.push_back({getDst(), getDstIndicesMutable(), true});
  else
    accesses.push_back({getSrc(), getSrcIndicesMutable(), false});
}

Engine VecOp::getEngine() { return Engine::Vector; }
void VecOp::getTileAccesses(SmallVectorImpl<TileAccess> &accesses) {
  accesses.push_back({getSrc0(), getSrc0IndicesMutable(), false});
  if (getSrc1())
    accesses.push_back({getSrc1(), getSrc1IndicesMutable(), false});
  accesses.push_back({getDst(), getDstIndicesMutable(), true});
}

Engine MmOp::getEngine() { return Engine::Tensor; }
void MmOp::getTileAccesses(SmallVectorImpl<TileAccess> &accesses) {
  accesses.push_back({getA(), getAIndicesMutable(), false});
  accesses.push_back({getB(), getBIndicesMutable(), false});
  accesses.push_back({getAcc(), getAccIndicesMutable(), true}); // read too when accumulating
}

Engine SoftmaxStepOp::getEngine() { return Engine::Vector; }
void SoftmaxStepOp::getTileAccesses(SmallVectorImpl<TileAccess> &accesses) {
  accesses.push_back({getScores(), getScoreIndicesMutable(), true});
  accesses.push_back({getStats(), getStatsIndicesMutable(), true});
}
