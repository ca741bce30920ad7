//===- TileProgram.cpp - Expanding a tile program into instructions -------===//
//
// Mechanical: the program's buffers get their addresses in operand order,
// its semaphores a per-NE id each, its scratchpad buffers their offsets;
// each `npu.distribute` runs its body once per work item, in round-robin
// order (or, cut into steps, each NE's steps round-robin), evaluating the
// index arithmetic, and each engine op becomes one instruction with its
// waits and signal, each run-time value's op CP instructions on the
// registers npu-allocate-registers chose. Nothing is decided here.
//
//===----------------------------------------------------------------------===//
#include "passes/Kernels/ProgramBuilder.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>
#include <set>

namespace rbln::npu_to_isa {

namespace {

class Expander {
public:
  Expander(ProgramBuilder &p, TileProgramOp prog) : p(p), prog(prog) {}

  LogicalResult run() {
    Block &body = prog.getProgram();
    unsigned numSems = 0;
    for (Operation &op : body)
      if (auto s = dyn_cast<SemaphoreOp>(op))
        semKind[s] = numSems++;
    if (failed(p.beginKernel(prog, numSems)))
      return failure();
    if (uint64_t(prog.getSpm()) > p.t.spm_bytes())
      return prog.emitOpError("needs ") << prog.getSpm() << " bytes of scratchpad, target '"
                                        << p.t.name() << "' has " << p.t.spm_bytes();
    if (uint64_t(prog.getNe()) > p.t.num_ne())
      return prog.emitOpError("uses ") << prog.getNe() << " NEs, target '" << p.t.name()
                                       << "' has " << p.t.num_ne();
    for (auto [v, arg] : llvm::zip(prog.getBuffers(), body.getArguments())) {
      auto a = p.addressOf(v);
      if (failed(a))
        return failure();
      mem[arg] = *a;
    }
    for (Operation &op : body) {
      LogicalResult r =
          TypeSwitch<Operation *, LogicalResult>(&op)
              .Case([&](SemaphoreOp) { return success(); })
              .Case([&](AllocOp a) -> LogicalResult {
                if (!a.getOffset())
                  return a.emitOpError("has no offset (run npu-allocate-scratchpad)");
                if (spaceOf(a.getType()) != MemorySpace::Shm) {
                  spm[a] = *a.getOffset();
                  return success();
                }
                // The kernel's own SHM area (e.g. flash-decoding partials).
                int64_t end = *a.getOffset() + allocatedBytes(a.getType());
                if (uint64_t(end) > p.t.shm_bytes())
                  return a.emitOpError("ends at SHM byte ")
                         << end << ", target '" << p.t.name() << "' has " << p.t.shm_bytes();
                mem[a] = Addr{0, int64_t(*a.getOffset()), elementDType(a), isa::Space::Shm};
                return success();
              })
              .Case([&](DistributeOp d) { return distribute(d); })
              .Default([&](Operation *o) { return engineOrScalar(o); });
      if (failed(r))
        return failure();
    }
    p.endKernel();
    return success();
  }

private:
  ProgramBuilder &p;
  TileProgramOp prog;
  DenseMap<Value, unsigned> semKind;
  DenseMap<Value, Addr> mem;      // DRAM/SHM buffers
  DenseMap<Value, int64_t> spm;   // scratchpad buffers: byte offsets
  DenseMap<Value, int64_t> env;   // index values of the current work item
  unsigned ne = 0;
  // Each run-time value's register on the current NE (npu-allocate-registers
  // chose them).
  DenseMap<Value, unsigned> regs;
  // Signals each NE's commands carry so far, per semaphore (build order).
  DenseMap<std::pair<unsigned, unsigned>, int64_t> signals;
  // An instruction not yet emitted: a branch's target relative to it
  // (the instructions move as a whole), and whether its signal counts (not
  // for a skipped run's stand-ins).
  static constexpr int64_t kNoTarget = std::numeric_limits<int64_t>::min();
  struct Pending {
    Inst in;
    int64_t rel = kNoTarget;
    bool counted = true;
  };
  using Run = SmallVector<Pending>;
  // A distribute cut into steps (npu.end_step): each NE's steps, its current
  // one, and the deferred commands it has not issued yet.
  struct NeStream {
    SmallVector<Run> steps;
    Run cur, deferred;
  };
  bool streaming = false, deferring = false;
  std::vector<NeStream> streams;
  Run *capture = nullptr; // the body of an npu.cp.if_less being expanded

  void out(const Inst &in, int64_t rel = kNoTarget, bool counted = true) {
    Pending x{in, rel, counted};
    if (capture)
      return capture->push_back(x);
    if (!streaming)
      return emit(x);
    NeStream &st = streams[ne];
    (deferring ? st.deferred : st.cur).push_back(x);
  }
  void emit(Pending x) {
    if (x.rel != kNoTarget)
      x.in[x.in.op == Opcode::Jmp ? unsigned(isa::fld::Jmp::target)
                                  : unsigned(isa::fld::Blt::target)] = p.pc + x.rel;
    p.emit(x.in, x.counted);
  }
  void endStep(bool keepEmpty) {
    NeStream &st = streams[ne];
    if (!st.cur.empty() || keepEmpty)
      st.steps.push_back(std::move(st.cur)), st.cur.clear();
  }

  /// The register npu-allocate-registers gave `op`'s result on this NE
  /// (and its expansion's scratch register).
  FailureOr<unsigned> defineReg(Operation *op, unsigned *scratch = nullptr) {
    auto a = op->getAttrOfType<RegsAttr>(RegsAttr::kName);
    if (!a || (a.getRegs().size() != 1 && a.getRegs().size() != size_t(prog.getNe())))
      return op->emitOpError("has no command-processor register for each NE (run "
                             "npu-allocate-registers)"),
             failure();
    if (scratch && !(*scratch = a.getScratch()))
      return op->emitOpError("has no scratch register (run npu-allocate-registers)"), failure();
    return regs[op->getResult(0)] = a.on(ne);
  }

  LogicalResult distribute(DistributeOp d) {
    unsigned numNe = unsigned(prog.getNe());
    int64_t steps = d.getSteps();
    LogicalResult r = success();
    auto run = [&](unsigned n, int64_t step) {
      if (failed(r))
        return;
      ne = n;
      int64_t iter = step / steps;
      env[d.getItem()] = int64_t(n) + iter * numNe;
      env[d.getIter()] = iter;
      env[d.getNe()] = n;
      if (steps > 1) {
        env[d.getStepOfItem()] = step % steps;
        env[d.getStep()] = step;
      }
      r = exec(d.getBody().front());
    };
    streaming = d.getBody().walk([](EndStepOp) { return WalkResult::interrupt(); }).wasInterrupted();
    if (!streaming) {
      roundRobin(numNe, d.getItems(), steps, run);
      return r;
    }
    // Cut into steps: the items in order, each NE's commands kept apart,
    // then step s of every NE before step s + 1 of any.
    streams.assign(numNe, NeStream());
    for (int64_t i = 0; i < d.getItems() && succeeded(r); ++i)
      run(unsigned(i % numNe), i / numNe);
    streaming = false;
    if (failed(r))
      return r;
    size_t rounds = 0;
    for (NeStream &st : streams) {
      if (!st.cur.empty())
        st.steps.push_back(std::move(st.cur));
      if (!st.deferred.empty())
        st.steps.push_back(std::move(st.deferred));
      rounds = std::max(rounds, st.steps.size());
    }
    for (size_t k = 0; k < rounds; ++k)
      for (NeStream &st : streams)
        if (k < st.steps.size())
          for (const Pending &x : st.steps[k])
            emit(x);
    return r;
  }

  /// The ops of a distribute body (or of an scf.if branch taken) for the
  /// current work item.
  LogicalResult exec(Block &block) {
    for (Operation &op : block)
      if (failed(engineOrScalar(&op)))
        return failure();
    return success();
  }

  LogicalResult engineOrScalar(Operation *op) {
    {
      LogicalResult r = TypeSwitch<Operation *, LogicalResult>(op)
                            .Case([&](DmaOp o) { return dma(o); })
                            .Case([&](VecOp o) { return vec(o); })
                            .Case([&](MmOp o) { return mm(o); })
                            .Case([&](CpConstOp o) -> LogicalResult {
                              auto rd = defineReg(o);
                              if (failed(rd))
                                return failure();
                              out(p.li(*rd, o.getValue()));
                              return success();
                            })
                            .Case([&](CpFromIndexOp o) -> LogicalResult {
                              auto rd = defineReg(o);
                              if (failed(rd))
                                return failure();
                              out(p.li(*rd, val(o.getValue())));
                              return success();
                            })
                            .Case([&](CpLoadIndexOp o) { return loadIndex(o); })
                            .Case([&](CpWrapIndexOp o) { return wrapIndex(o); })
                            .Case([&](CpCheckRangeOp o) -> LogicalResult {
                              // Two branches over a trap each: 0 <= v, v < bound.
                              Inst trap(Opcode::Trap);
                              trap[isa::fld::Trap::code] = int64_t(o.getTrap().getCode());
                              unsigned rv = regs.lookup(o.getValue());
                              out(branch(Opcode::Bge, rv, 0), 2);
                              out(trap);
                              out(branch(Opcode::Blt, rv, regs.lookup(o.getBound())), 2);
                              out(trap);
                              return success();
                            })
                            .Case([&](CpIfLessOp o) { return ifLess(o); })
                            .Case([&](CpAddOp o) { return binary(o, Opcode::Add); })
                            .Case([&](CpSubOp o) { return binary(o, Opcode::Sub); })
                            .Case([&](CpMulOp o) { return binary(o, Opcode::Mul); })
                            .Case([&](CpMinOp o) { return binary(o, Opcode::Min); })
                            .Case([&](CpMaxOp o) { return binary(o, Opcode::Max); })
                            .Case([&](CpAddressOp o) { return address(o); })
                            .Case([&](CpDimOp o) { return dim(o); })
                            .Case([&](CpDivOp o) {
                              uint64_t d = uint64_t(o.getDivisor());
                              return llvm::isPowerOf2_64(d) ? pow2(o, Opcode::Shr, llvm::Log2_64(d))
                                                            : pow2(o, Opcode::Div, int64_t(d));
                            })
                            .Case([&](CpRemOp o) { return pow2(o, Opcode::And, o.getDivisor() - 1); })
                            .Case([&](scf::ForOp o) -> LogicalResult {
                              int64_t step = val(o.getStep());
                              if (step <= 0)
                                return o.emitOpError("in a tile program needs a positive step");
                              for (int64_t i = val(o.getLowerBound()); i < val(o.getUpperBound());
                                   i += step) {
                                env[o.getInductionVar()] = i;
                                if (failed(exec(*o.getBody())))
                                  return failure();
                              }
                              return success();
                            })
                            .Case([&](scf::IfOp o) -> LogicalResult {
                              if (o.getNumResults())
                                return o.emitOpError("in a tile program yields no values");
                              if (val(o.getCondition()))
                                return exec(o.getThenRegion().front());
                              if (!o.getElseRegion().empty())
                                return exec(o.getElseRegion().front());
                              return success();
                            })
                            .Case([&](scf::YieldOp) { return success(); })
                            .Case([&](SoftmaxStepOp o) { return softmaxStep(o); })
                            .Case([&](SemCountOp o) -> LogicalResult {
                              env[o.getCount()] = signals.lookup(semOf(o.getSem()));
                              return success();
                            })
                            .Case([&](SemOnOp) { return success(); })
                            .Case([&](EndStepOp o) -> LogicalResult {
                              endStep(o.getKeepEmpty());
                              return success();
                            })
                            .Case([&](DeferredOp o) -> LogicalResult {
                              if (!streaming)
                                return o.emitOpError("needs a distribute cut into steps");
                              if (!streams[ne].deferred.empty())
                                return o.emitOpError("while the NE's last deferred commands are not issued");
                              deferring = true;
                              LogicalResult r = exec(o.getBody().front());
                              deferring = false;
                              return r;
                            })
                            .Case([&](IssueDeferredOp o) -> LogicalResult {
                              if (!streaming)
                                return o.emitOpError("needs a distribute cut into steps");
                              NeStream &st = streams[ne];
                              if (capture)
                                return o.emitOpError("inside npu.cp.if_less");
                              st.cur.append(st.deferred.begin(), st.deferred.end());
                              st.deferred.clear();
                              return success();
                            })
                            .Default([&](Operation *o) { return scalar(o); });
      return r;
    }
  }

  /// Forms in `rd` the buffer's base register plus each register index
  /// times its stride in bytes (`Mul`, or `Shl` when `shift` and the scale
  /// is a power of two); returns the bytes the per-item indices add, and
  /// whether there was a register index.
  /// Whether `o` has several register indices (its expansion then needs
  /// the scratch register).
  static bool severalRegs(ValueRange idx) {
    return llvm::count_if(idx, isReg) > 1;
  }
  /// Forms in `rd` the buffer's base register plus each register index
  /// times its stride in bytes (`Mul`, or `Shl` when `shift` and the scale
  /// is a power of two; the second and later via `scratch`); returns the
  /// bytes the per-item indices add, and whether there was a register index.
  /// A 4-bit buffer's unit-stride index is halved (`Shr`): its kernels
  /// address only even elements (the matmul verifier's even rows and tiles).
  FailureOr<std::pair<int64_t, bool>> regOffset(Operation *op, Value buf, ValueRange idx, unsigned rd,
                                                unsigned scratch, bool shift) {
    int64_t bits = elementBits(buf), bytes = 0;
    const Addr &a = mem.find(buf)->second;
    bool any = false;
    for (auto [i, s] : llvm::zip(idx, stridesOf(buf))) {
      if (!isReg(i)) {
        if (val(i) * s * bits % 8)
          return op->emitOpError("addresses a 4-bit element at an odd index");
        bytes += val(i) * s * bits / 8;
        continue;
      }
      int64_t scaleBits = s * bits;
      unsigned dst = any ? scratch : rd;
      if (scaleBits == 4) {
        out(ProgramBuilder::alu(Opcode::Shr, dst, regs.lookup(i), 0, 1));
      } else if (scaleBits % 8) {
        return op->emitOpError("indexes 4-bit elements with a stride of ") << s;
      } else {
        int64_t scale = scaleBits / 8;
        if (shift && scale > 0 && llvm::isPowerOf2_64(uint64_t(scale)))
          out(ProgramBuilder::alu(Opcode::Shl, dst, regs.lookup(i), 0, llvm::Log2_64(uint64_t(scale))));
        else
          out(ProgramBuilder::alu(Opcode::Mul, dst, regs.lookup(i), 0, scale));
      }
      out(ProgramBuilder::alu(Opcode::Add, rd, rd, any ? dst : a.reg, 0));
      any = true;
    }
    return std::pair{bytes, any};
  }

  LogicalResult loadIndex(CpLoadIndexOp o) {
    unsigned scratch = 0;
    auto rd = defineReg(o, severalRegs(o.getIndices()) ? &scratch : nullptr);
    if (failed(rd))
      return failure();
    const Addr &a = mem.find(o.getBuffer())->second;
    auto off = regOffset(o, o.getBuffer(), o.getIndices(), *rd, scratch, /*shift=*/true);
    if (failed(off))
      return failure();
    auto [bytes, any] = *off;
    out(p.load(elementBytes(o.getBuffer()) == 8 ? Opcode::Ld64 : Opcode::Ld32, *rd,
               any ? *rd : a.reg, a.off + bytes, a.space));
    return success();
  }
  LogicalResult wrapIndex(CpWrapIndexOp o) {
    unsigned ri = regs.lookup(o.getIndex()), tmp = 0;
    auto rd = defineReg(o, &tmp);
    if (failed(rd))
      return failure();
    // rd = ri + (ri < 0) * size, branch-free: the sign bit is 1 or 0.
    out(ProgramBuilder::alu(Opcode::Shr, tmp, ri, 0, 63));
    out(ProgramBuilder::alu(Opcode::Mul, tmp, tmp, 0, o.getSize()));
    out(ProgramBuilder::alu(Opcode::Add, *rd, ri, tmp, 0));
    return success();
  }
  LogicalResult address(CpAddressOp o) {
    unsigned scratch = 0;
    auto rd = defineReg(o, severalRegs(o.getIndices()) ? &scratch : nullptr);
    if (failed(rd))
      return failure();
    auto off = regOffset(o, o.getBuffer(), o.getIndices(), *rd, scratch, /*shift=*/false);
    if (failed(off))
      return failure();
    auto [bytes, any] = *off;
    unsigned base = any ? *rd : mem.find(o.getBuffer())->second.reg;
    if (bytes || !any)
      out(ProgramBuilder::alu(Opcode::Add, *rd, base, 0, bytes));
    return success();
  }
  LogicalResult dim(CpDimOp o) {
    auto arg = dyn_cast<BlockArgument>(o.getBuffer());
    Value bound = arg && arg.getOwner() == &prog.getProgram() ? prog.getBuffers()[arg.getArgNumber()]
                                                               : Value();
    auto rd = defineReg(o);
    if (failed(rd))
      return failure();
    auto ld = bound ? p.loadLeadingDim(bound, *rd) : FailureOr<Inst>(failure());
    if (failed(ld))
      return o.emitOpError("needs a buffer the program binds to a function argument");
    out(*ld);
    return success();
  }
  template <typename Op> LogicalResult pow2(Op o, Opcode op, int64_t imm) {
    unsigned ra = regs.lookup(o.getValue());
    auto rd = defineReg(o);
    if (failed(rd))
      return failure();
    out(ProgramBuilder::alu(op, *rd, ra, 0, imm));
    return success();
  }

  static Inst branch(Opcode op, unsigned ra, unsigned rb) {
    Inst in(op);
    in[isa::fld::Blt::ra] = ra;
    in[isa::fld::Blt::rb] = rb;
    return in;
  }
  /// rd = lhs op rhs: rhs a register, or an immediate known per item.
  LogicalResult binary(Operation *o, Opcode op) {
    Value lhs = o->getOperand(0), rhs = o->getOperand(1);
    bool reg = isReg(rhs);
    unsigned ra = regs.lookup(lhs), rb = reg ? regs.lookup(rhs) : 0;
    auto rd = defineReg(o);
    if (failed(rd))
      return failure();
    out(ProgramBuilder::alu(op, *rd, ra, rb, reg ? 0 : val(rhs)));
    return success();
  }
  /// `bge lhs, rhs -> stand-ins; body; jmp -> end; stand-ins: an empty
  /// command per signal the body gives, on the same engine or queue.
  LogicalResult ifLess(CpIfLessOp o) {
    Run body;
    Run *outer = capture;
    capture = &body;
    LogicalResult r = exec(o.getBody().front());
    capture = outer;
    if (failed(r))
      return failure();
    Run credits;
    for (const Pending &x : body) {
      if (x.in.signal == isa::kNoSem || !x.counted)
        continue;
      Inst c;
      switch (isa::unitOf(x.in.op)) {
      case isa::Unit::NeuralDma:
        c = p.dma(x.in.unit, true, Addr{0, 0, DType::F32}, 0,
                  p.desc(DType::F32, DType::F32, {0}, {1}, {1}));
        break;
      case isa::Unit::Tensor:
        c = Inst(Opcode::Mm, x.in.unit);
        break;
      case isa::Unit::Vector:
        c = ProgramBuilder::vun(Opcode::VCopy, x.in.unit, 0, 0, 0, 0);
        break;
      default:
        return o.emitOpError("signals from a command without an empty form to stand in for it");
      }
      c.signal = x.in.signal;
      credits.push_back({c, kNoTarget, /*counted=*/false});
    }
    int64_t n = int64_t(body.size());
    out(branch(Opcode::Bge, regs.lookup(o.getLhs()), regs.lookup(o.getRhs())), n + 2);
    for (const Pending &x : body)
      out(x.in, x.rel, x.counted);
    out(Inst(Opcode::Jmp), int64_t(credits.size()) + 1);
    for (const Pending &x : credits)
      out(x.in, x.rel, x.counted);
    return success();
  }

  int64_t val(Value v) const { return env.lookup(v); }

  /// Index arithmetic, evaluated for the current work item.
  LogicalResult scalar(Operation *op) {
    auto bin = [&](auto f) -> LogicalResult {
      env[op->getResult(0)] = f(val(op->getOperand(0)), val(op->getOperand(1)));
      return success();
    };
    return TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](arith::ConstantIndexOp c) {
          env[c] = c.value();
          return success();
        })
        .Case([&](arith::AddIOp) { return bin([](int64_t a, int64_t b) { return a + b; }); })
        .Case([&](arith::SubIOp) { return bin([](int64_t a, int64_t b) { return a - b; }); })
        .Case([&](arith::MulIOp) { return bin([](int64_t a, int64_t b) { return a * b; }); })
        .Case([&](arith::MinSIOp) { return bin([](int64_t a, int64_t b) { return std::min(a, b); }); })
        .Case([&](arith::MaxSIOp) { return bin([](int64_t a, int64_t b) { return std::max(a, b); }); })
        .Case([&](arith::RemSIOp) { return bin([](int64_t a, int64_t b) { return b ? a % b : 0; }); })
        .Case([&](arith::DivSIOp) { return bin([](int64_t a, int64_t b) { return b ? a / b : 0; }); })
        .Case([&](arith::ConstantOp c) -> LogicalResult {
          auto i = dyn_cast<IntegerAttr>(c.getValue());
          if (!i)
            return c.emitOpError("in a tile program must be an integer or index constant");
          env[c] = i.getType().isInteger(1) ? int64_t(i.getValue().getBoolValue()) : i.getInt();
          return success();
        })
        .Case([&](arith::OrIOp) { return bin([](int64_t a, int64_t b) { return a | b; }); })
        .Case([&](arith::AndIOp) { return bin([](int64_t a, int64_t b) { return a & b; }); })
        .Case([&](arith::CmpIOp c) -> LogicalResult {
          using P = arith::CmpIPredicate;
          P pred = c.getPredicate();
          if (pred != P::eq && pred != P::ne && pred != P::slt && pred != P::sle &&
              pred != P::sgt && pred != P::sge)
            return c.emitOpError("predicate is not one a tile program evaluates (signed or equality)");
          return bin([pred](int64_t a, int64_t b) -> int64_t {
            switch (pred) {
            case P::eq: return a == b;
            case P::ne: return a != b;
            case P::slt: return a < b;
            case P::sle: return a <= b;
            case P::sgt: return a > b;
            default: return a >= b;
            }
          });
        })
        .Case([&](arith::SelectOp s) {
          env[s] = val(s.getCondition()) ? val(s.getTrueValue()) : val(s.getFalseValue());
          return success();
        })
        .Default([&](Operation *o) {
          return o->emitOpError("cannot be expanded into instructions inside an npu.tile_program");
        });
  }

  /// The element offset of `idx` in `buf` (strides of its layout, without
  /// the layout's offset: DRAM addresses include it already).
  DenseMap<Value, SmallVector<int64_t>> strideCache; // per buffer, asked per instruction
  const SmallVector<int64_t> &stridesOf(Value buf) {
    auto it = strideCache.find(buf);
    if (it == strideCache.end()) {
      SmallVector<int64_t> strides;
      int64_t off;
      (void)cast<MemRefType>(buf.getType()).getStridesAndOffset(strides, off);
      it = strideCache.insert({buf, std::move(strides)}).first;
    }
    return it->second;
  }
  static int64_t elementBytes(Value buf) {
    return int64_t(cast<MemRefType>(buf.getType()).getElementTypeBitWidth() / 8);
  }
  static int64_t elementBits(Value buf) { // (i1 buffers hold a byte each)
    unsigned bits = cast<MemRefType>(buf.getType()).getElementTypeBitWidth();
    return bits == 1 ? 8 : int64_t(bits);
  }
  static DType elementDType(Value buf) {
    return dtypeOf(cast<MemRefType>(buf.getType()).getElementType());
  }
  int64_t linear(Value buf, ValueRange idx) {
    int64_t e = 0;
    for (auto [i, s] : llvm::zip(idx, stridesOf(buf)))
      e += val(i) * s;
    return e;
  }
  /// (a 4-bit buffer is addressed at even elements: the matmul verifier's
  /// even rows and tiles)
  int64_t spmBytes(Value buf, ValueRange idx) {
    return spm.lookup(buf) + linear(buf, idx) * elementBits(buf) / 8;
  }
  SmallVector<int64_t, 4> sizes(ArrayRef<int64_t> stat, ValueRange dyn) const {
    SmallVector<int64_t, 4> out;
    size_t d = 0;
    for (int64_t s : stat)
      out.push_back(ShapedType::isDynamic(s) ? val(dyn[d++]) : s);
    return out;
  }
  /// (NE, kind) of a semaphore value: this NE's, or another's (npu.sem_on).
  std::pair<unsigned, unsigned> semOf(Value s) const {
    if (auto on = s.getDefiningOp<SemOnOp>())
      return {unsigned(val(on.getNeIndex())), semKind.lookup(on.getSem())};
    return {ne, semKind.lookup(s)};
  }
  LogicalResult sync(Operation *op, Inst &in, ValueRange sems, ValueRange counts, Value signal) {
    for (auto [s, n] : llvm::zip(sems, counts)) {
      auto [wne, kind] = semOf(s);
      if (wne >= unsigned(prog.getNe()))
        return op->emitOpError("waits on NE ") << wne << " of a program on " << prog.getNe();
      ProgramBuilder::addWait(in, p.sem(wne, kind), val(n));
    }
    if (signal) {
      p.setSignal(in, p.sem(ne, semKind.lookup(signal)));
      ++signals[{ne, semKind.lookup(signal)}];
    }
    return success();
  }

  LogicalResult dma(DmaOp o) {
    bool toSpm = spaceOf(o.getDst().getType()) == MemorySpace::Spm;
    Value memBuf = toSpm ? o.getSrc() : o.getDst(), spmBuf = toSpm ? o.getDst() : o.getSrc();
    ValueRange memIdx = toSpm ? o.getSrcIndices() : o.getDstIndices();
    ValueRange spmIdx = toSpm ? o.getDstIndices() : o.getSrcIndices();
    auto it = mem.find(memBuf);
    if (it == mem.end() || !spm.count(spmBuf))
      return o.emitOpError("reads or writes a buffer that is not the program's");
    int64_t desc = p.desc(elementDType(o.getSrc()), elementDType(o.getDst()), sizes(o.getStaticSizes(), o.getSizes()),
                          sizes(o.getSrcStrides(), o.getSrcDynStrides()),
                          sizes(o.getDstStrides(), o.getDstDynStrides()), o.getSaturate());
    unsigned queue = o.getQueue() == DmaQueue::Load ? p.loadQueue(ne) : p.storeQueue(ne);
    if (llvm::any_of(memIdx, isReg))
      return o.emitOpError("indexes DRAM/SHM with a run-time value (run npu-dynamic-dma)");
    int64_t first = linear(memBuf, memIdx);
    if (dtypeIsPacked(it->second.dtype) && first % 2)
      return o.emitOpError("addresses a 4-bit element at an odd index");
    Addr at = it->second.plus(first);
    if (Value a = o.getAddress()) // a dynamic DMA: the row's address is a register
      at.reg = regs.lookup(a);
    Inst in = p.dma(queue, toSpm, at, spmBytes(spmBuf, spmIdx), desc);
    if (failed(sync(o, in, o.getWaitSems(), o.getWaitCounts(), o.getSignal())))
      return failure();
    out(in);
    return success();
  }

  LogicalResult mm(MmOp o) {
    using namespace isa::fld;
    SmallVector<int64_t, 4> shape = sizes(o.getStaticShape(), o.getShape());
    Inst in(Opcode::Mm, uint8_t(ne));
    in[Mm::c] = spmBytes(o.getAcc(), o.getAccIndices());
    in[Mm::a] = spmBytes(o.getA(), o.getAIndices());
    in[Mm::b] = spmBytes(o.getB(), o.getBIndices());
    in[Mm::m] = shape[0];
    in[Mm::n] = shape[1];
    in[Mm::k] = shape[2];
    in[Mm::in] = int64_t(elementDType(o.getA()));
    in[Mm::bt] = int64_t(elementDType(o.getB())); // (narrower than `in`: widened on read)
    in[Mm::acc] = val(o.getAccumulate()) != 0;
    in[Mm::ta] = o.getTransposeA();
    in[Mm::tb] = o.getTransposeB();
    if (failed(sync(o, in, o.getWaitSems(), o.getWaitCounts(), o.getSignal())))
      return failure();
    out(in);
    return success();
  }

  /// The masks that mask something, then v.softmax_step; waits on the
  /// first, the signal on the last.
  LogicalResult softmaxStep(SoftmaxStepOp o) {
    using namespace isa::fld;
    SmallVector<int64_t, 4> shape = sizes(o.getStaticShape(), o.getShape());
    int64_t rows = shape[0], cols = shape[1], s = spmBytes(o.getScores(), o.getScoreIndices());
    SmallVector<Inst, 3> insts;
    Value shift = o.getShift();
    int64_t rowStep = o.getSharedPosition() ? 0 : 1;
    auto mask = [&](int64_t diag, bool lower) {
      Inst m(Opcode::VMaskUpper, uint8_t(ne));
      m[VMaskUpper::dst] = s, m[VMaskUpper::src] = s, m[VMaskUpper::rows] = rows;
      m[VMaskUpper::cols] = cols, m[VMaskUpper::diag] = diag;
      if (shift)
        m[VMaskUpper::rdiag] = regs.lookup(shift);
      if (lower)
        m[VMaskUpper::lower] = 1;
      if (!rowStep)
        m[VMaskUpper::flat] = 1;
      insts.push_back(m);
    };
    // Without a run-time shift, a mask only where it masks something.
    if (Value c = o.getCausal(); c && (shift || val(c) < cols - 1)) // column > row + diag
      mask(val(c), false);
    if (Value w = o.getWindow(); w && (shift || rowStep * (rows - 1) + val(w) > 0)) // column < row + diag
      mask(val(w), true);
    Inst sm(Opcode::VSoftmaxStep, uint8_t(ne));
    sm[VSoftmaxStep::s] = s, sm[VSoftmaxStep::stats] = spmBytes(o.getStats(), o.getStatsIndices());
    sm[VSoftmaxStep::rows] = rows, sm[VSoftmaxStep::cols] = cols;
    sm[VSoftmaxStep::scale] = int64_t(floatBits(o.getScale().convertToFloat()));
    insts.push_back(sm);
    if (failed(sync(o, insts.front(), o.getWaitSems(), o.getWaitCounts(), Value())) ||
        failed(sync(o, insts.back(), {}, {}, o.getSignal())))
      return failure();
    for (const Inst &in : insts)
      out(in);
    return success();
  }

  LogicalResult vec(VecOp o) {
    auto opcode = isa::Opcode(o.getOp().getOpcode());
    SmallVector<int64_t, 4> shape = sizes(o.getStaticShape(), o.getShape());
    int64_t dst = spmBytes(o.getDst(), o.getDstIndices());
    int64_t src0 = spmBytes(o.getSrc0(), o.getSrc0Indices());
    Inst in;
    if (o.getOp().isBinary()) {
      int64_t src1 = o.getSrc1() ? spmBytes(o.getSrc1(), o.getSrc1Indices()) : 0;
      in = ProgramBuilder::vec(opcode, ne, dst, src0, src1, shape[0], shape[1],
                               isa::Bcast(o.getBcast()), o.getScalar().convertToFloat());
    } else if (opcode == Opcode::VCast) {
      in = ProgramBuilder::vcast(ne, dst, src0, shape[0], shape[1], elementDType(o.getSrc0()),
                                 elementDType(o.getDst()));
    } else {
      in = ProgramBuilder::vun(opcode, ne, dst, src0, shape[0], shape[1]);
    }
    if (failed(sync(o, in, o.getWaitSems(), o.getWaitCounts(), o.getSignal())))
      return failure();
    out(in);
    return success();
  }
};

} // namespace

LogicalResult lowerTileProgram(ProgramBuilder &p, TileProgramOp op) { return Expander(p, op).run(); }

} // namespace rbln::npu_to_isa
