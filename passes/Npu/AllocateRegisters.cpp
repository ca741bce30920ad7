//===- AllocateRegisters.cpp - CP registers for a tile program's values ---===//
//
// Linear scan over the program's structure, as the expansion issues it: each
// op defining a `!npu.reg` takes the lowest free register; a value's register
// is free again after its last use in its block (an op reading at most one
// register, without regions, frees its dying operands before its result
// takes one), or, when that use is a branch (scf.if, npu.cp.if_less), after
// its last use inside each branch. A loop body or a work item is allocated
// once: every iteration starts from the same free registers, since each ends
// with its own values dead. A value that some npu.end_step separates from a
// use gets a register per NE for the whole distribute. The registers go on
// the defining op as `npu.regs = #npu.regs<...>`.
//
//===----------------------------------------------------------------------===//
#include "passes/Kernels/ProgramBuilder.h"
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <set>

namespace rbln::npu {
#define GEN_PASS_DEF_NPUALLOCATEREGISTERS
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

class Allocator {
public:
  explicit Allocator(TileProgramOp prog) : prog(prog) {}

  LogicalResult run() {
    // The program's DRAM arguments take a register each (their addresses),
    // after the kernel-independent ones.
    first = rbln::npu_to_isa::kFirstKernelReg + argumentRegisters(prog.getBuffers());
    for (unsigned r = first; r < rbln::isa::kNumRegs; ++r)
      free.insert(r);
    return block(prog.getProgram());
  }

private:
  TileProgramOp prog;
  unsigned first = 0; // the program's first register after its arguments' addresses
  std::set<unsigned> free;
  DenseMap<Value, unsigned> regs;
  DenseMap<Value, SmallVector<unsigned>> pinned;
  DenseMap<Block *, DenseMap<Operation *, SmallVector<Value>>> lastUses;

  /// The run-time values whose last use in `op`'s block is `op` (a use
  /// nested in it counts as `op`).
  const SmallVector<Value> &dying(Operation *op) {
    Block *b = op->getBlock();
    auto it = lastUses.find(b);
    if (it == lastUses.end()) {
      DenseMap<Operation *, SmallVector<Value>> m;
      auto note = [&](Value v) {
        Operation *last = nullptr;
        for (Operation *u : v.getUsers()) {
          Operation *top = b->findAncestorOpInBlock(*u);
          if (top && (!last || last->isBeforeInBlock(top)))
            last = top;
        }
        if (last)
          m[last].push_back(v);
      };
      for (Operation &o : *b)
        for (Value v : o.getResults())
          if (isReg(v))
            note(v);
      it = lastUses.insert({b, std::move(m)}).first;
    }
    static const SmallVector<Value> none;
    auto d = it->second.find(op);
    return d == it->second.end() ? none : d->second;
  }
  static bool freesEarly(Operation *op) {
    return op->getNumRegions() == 0 && llvm::count_if(op->getOperands(), isReg) <= 1;
  }
  void release(Value v) {
    if (!pinned.count(v))
      free.insert(regs.lookup(v));
  }
  FailureOr<unsigned> take(Operation *op) {
    if (free.empty()) {
      size_t perNe = 0;
      for (auto &[v, rs] : pinned)
        perNe += rs.size();
      return op->emitOpError("needs more command-processor registers than the ")
             << rbln::isa::kNumRegs << " the command processor has: r" << first << "..r"
             << rbln::isa::kNumRegs - 1 << " all hold live values (" << perNe
             << " of them per-NE copies of values that live across npu.end_step; r1..r"
             << first - 1 << " hold the base addresses)",
             failure();
    }
    unsigned r = *free.begin();
    free.erase(free.begin());
    return r;
  }

  /// `inherited`: values of enclosing blocks whose last use there is the op
  /// holding `b`, a branch that runs at most once: each is free after its
  /// last use in `b` (at once when `b` does not use it).
  LogicalResult block(Block &b, ArrayRef<Value> inherited = {}) {
    DenseMap<Operation *, SmallVector<Value>> lastHere;
    for (Value v : inherited) {
      Operation *last = nullptr;
      for (Operation *u : v.getUsers())
        if (Operation *top = b.findAncestorOpInBlock(*u); top && (!last || last->isBeforeInBlock(top)))
          last = top;
      if (last)
        lastHere[last].push_back(v);
      else
        release(v);
    }
    for (Operation &op : b) {
      SmallVector<Value> dead(dying(&op));
      if (auto it = lastHere.find(&op); it != lastHere.end())
        dead.append(it->second);
      if (freesEarly(&op))
        for (Value v : dead)
          release(v);
      if (failed(define(&op)))
        return failure();
      if (auto d = dyn_cast<DistributeOp>(op)) {
        if (failed(distribute(d)))
          return failure();
      } else {
        // A branch (scf.if, npu.cp.if_less) runs once: what dies at it is
        // free inside after its last use there. A loop body runs again, so
        // outer values stay live through it.
        bool once = llvm::isa<scf::IfOp, CpIfLessOp>(op);
        for (Region &r : op.getRegions()) {
          // Each region starts from the same registers (an scf.if's
          // branches; a loop body, once for every iteration).
          std::set<unsigned> before = free;
          for (Block &inner : r)
            if (failed(block(inner, once ? ArrayRef<Value>(dead) : ArrayRef<Value>())))
              return failure();
          free = std::move(before);
        }
      }
      if (!freesEarly(&op))
        for (Value v : dead)
          release(v);
    }
    return success();
  }

  LogicalResult define(Operation *op) {
    if (op->getNumResults() != 1 || !isReg(op->getResult(0)))
      return success();
    Value v = op->getResult(0);
    MLIRContext *ctx = op->getContext();
    SmallVector<unsigned> rs;
    if (auto it = pinned.find(v); it != pinned.end()) {
      rs = it->second;
    } else {
      auto r = take(op);
      if (failed(r))
        return failure();
      regs[v] = *r;
      rs.push_back(*r);
    }
    // The expansion's intermediate: a wrapped index's correction, or the
    // second and later register indices of an address.
    unsigned scratch = 0;
    bool needsScratch = llvm::isa<CpWrapIndexOp>(op);
    if (llvm::isa<CpLoadIndexOp, CpAddressOp>(op))
      needsScratch = llvm::count_if(op->getOperands(), isReg) > 1;
    if (needsScratch) {
      auto t = take(op);
      if (failed(t))
        return failure();
      scratch = *t;
      free.insert(*t);
    }
    if (v.use_empty()) // no use to free it at
      release(v);
    op->setAttr(RegsAttr::kName, RegsAttr::get(ctx, rs, scratch));
    return success();
  }

  /// Reserves a register per NE for each run-time value of a distribute
  /// cut into steps that an npu.end_step separates from a use (in program
  /// order; a use inside a loop the value is defined outside of counts as
  /// the loop's end), then allocates the body once.
  LogicalResult distribute(DistributeOp d) {
    DenseMap<Operation *, unsigned> pos;
    SmallVector<unsigned> cuts;
    unsigned n = 0;
    d.getBody().walk<WalkOrder::PreOrder>([&](Operation *o) {
      pos[o] = n++;
      if (llvm::isa<EndStepOp>(o))
        cuts.push_back(pos[o]);
    });
    auto lastInside = [&](Operation *loop) {
      unsigned last = pos[loop];
      loop->walk([&](Operation *o) { last = std::max(last, pos[o]); });
      return last;
    };
    SmallVector<Value> values;
    d.getBody().walk([&](Operation *o) {
      for (Value v : o->getResults())
        if (isReg(v))
          values.push_back(v);
    });
    SmallVector<Value> mine;
    for (Value v : values) {
      Operation *def = v.getDefiningOp();
      unsigned from = pos[def], to = from;
      for (Operation *u : v.getUsers()) {
        unsigned at = pos[u];
        for (Operation *a = u->getParentOp(); a && a != d; a = a->getParentOp())
          if (llvm::isa<scf::ForOp>(a) && !a->isProperAncestor(def))
            at = std::max(at, lastInside(a));
        to = std::max(to, at);
      }
      if (llvm::none_of(cuts, [&](unsigned c) { return c > from && c < to; }))
        continue;
      SmallVector<unsigned> rs;
      for (int64_t i = 0; i < prog.getNe(); ++i) {
        auto r = take(def);
        if (failed(r))
          return def->emitRemark("lives across npu.end_step: a register on each of the ")
                     << prog.getNe() << " NEs",
                 failure();
        rs.push_back(*r);
      }
      pinned[v] = std::move(rs);
      mine.push_back(v);
    }
    std::set<unsigned> before = free;
    if (failed(block(d.getBody().front())))
      return failure();
    free = std::move(before);
    for (Value v : mine) {
      free.insert(pinned[v].begin(), pinned[v].end());
      pinned.erase(v);
    }
    return success();
  }
};

struct NpuAllocateRegistersPass
    : rbln::npu::impl::NpuAllocateRegistersBase<NpuAllocateRegistersPass> {
  void runOnOperation() override {
    WalkResult r = getOperation().walk([](TileProgramOp p) {
      return failed(Allocator(p).run()) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
