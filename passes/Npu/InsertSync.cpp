//===- InsertSync.cpp - Waits and signals from a tile program's buffers ---===//
//
// A work item's commands run on several in-order engines of its NE (the DMA
// load and store queues, the vector and tensor engines), each one command at
// a time in issue order; between engines only semaphores order them. For a
// distribute written without any wait or signal, this pass derives them from
// what each command reads and writes in the scratchpad:
//
//  - Accesses are to buffer slots. A buffer indexed `[%iter mod n, ...]` is n
//    copies, one per item in turn, so a slot is used again n items later on
//    the NE; any other buffer is one slot, used again by the next item.
//  - Consecutive commands on one engine form a run: a run waits once, at its
//    first command, and signals once, at its last. A loop of one engine's
//    commands (rows gathered one DMA each) is part of its run: its first
//    iteration waits, its last signals (the loop must run at least once per
//    item, as a tile's rows do).
//  - A run must start after every run of another engine that touched a slot
//    it touches, one of the two writing: earlier in the same item (read after
//    write, write after read or write), or in the item that last used the
//    slot (n items back: the copy is reused).
//  - Such a need is dropped when it already holds through others: the run
//    waits for a run that waited for it, or its engine's previous run did.
//    (The runs of all items form a graph whose edges are these needs and
//    each engine's order; a need is kept only when no other path implies
//    it.)
//
// Each run another waits for signals its own semaphore once per item, so
// "run r of the item δ back" is `wait(%sem >= %iter + 1 - δ)` (no wait while
// that is <= 0: the first items). A run that touches what a run of an
// earlier distribute of the program touched (a table loaded once per NE)
// waits, on the NE's first item only, for all of that distribute's items on
// the NE (later items follow on their engine). Programs that carry any wait
// or signal are left as written: their kernels order themselves (steps,
// deferred tails, counts that vary per item, other NEs' semaphores).
//
//===----------------------------------------------------------------------===//
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <set>

namespace rbln::npu {
#define GEN_PASS_DEF_NPUINSERTSYNC
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

constexpr const char *kEngineName[kNumEngines] = {"load", "store", "vec", "mm"};

/// One scratchpad access of a command: a slot of `buf` (copy `iter mod
/// copies`, or the whole buffer when copies == 1).
struct Access {
  Value buf;
  int64_t copies = 1;
  bool write = false;
};

struct Command {
  Operation *op;
  Engine engine;
  SmallVector<Access, 3> accesses;
  unsigned run = 0;
  scf::ForOp loop; // the loop of the item it is in, if any
};

/// A need: run `run` of the item `back` items before this one is done.
using Need = std::pair<unsigned, int64_t>;

/// A run of an earlier distribute of the program: every item of it on this
/// NE is done.
using PriorNeed = std::pair<unsigned, unsigned>; // distribute, run

struct Run {
  Engine engine;
  unsigned first = 0, last = 0; // commands
  std::set<Need> needs;
  std::set<PriorNeed> prior;
};

/// The commands of one distribute, their runs and what each run waits for.
class Synchronizer {
public:
  explicit Synchronizer(DistributeOp d) : d(d) {}

  LogicalResult analyze() {
    if (failed(collect()))
      return failure();
    formRuns();
    for (unsigned r = 0; r < runs.size(); ++r)
      findNeeds(r);
    // Reduce against the full needs of every run (a transitive reduction of
    // the unrolled graph, which is acyclic: needs point back in time).
    kept.resize(runs.size());
    for (unsigned r = 0; r < runs.size(); ++r)
      for (const Need &n : runs[r].needs)
        if (!impliedWithout(r, n))
          kept[r].insert(n);
    return success();
  }

  /// Needs on earlier distributes `before` of the program: a run of another
  /// engine that touched a slot this run touches, one of the two writing.
  /// (The same engine's order covers its own.) Only the first item on the
  /// NE waits — the rest follow it on their engine — and not when a run it
  /// waits for in the item, or its engine's earlier run, already did.
  void findPriorNeeds(ArrayRef<std::unique_ptr<Synchronizer>> before) {
    std::vector<std::set<PriorNeed>> known(runs.size());
    priorKept.resize(runs.size());
    for (unsigned r = 0; r < runs.size(); ++r) {
      for (auto [j, other] : llvm::enumerate(before))
        for (unsigned q = 0; q < other->runs.size(); ++q)
          if (other->runs[q].engine != runs[r].engine && conflict(runs[r], *other, other->runs[q]))
            runs[r].prior.insert({unsigned(j), q});
      std::set<PriorNeed> inherited;
      for (unsigned e = 0; e < r; ++e)
        if (runs[e].engine == runs[r].engine)
          inherited.insert(known[e].begin(), known[e].end());
      for (const Need &n : kept[r])
        if (n.second == 0)
          inherited.insert(known[n.first].begin(), known[n.first].end());
      for (const PriorNeed &p : runs[r].prior)
        if (!inherited.count(p))
          priorKept[r].insert(p);
      known[r] = std::move(inherited);
      known[r].insert(runs[r].prior.begin(), runs[r].prior.end());
    }
  }

  DistributeOp d;
  SmallVector<Command> cmds;
  SmallVector<Run> runs;
  std::vector<std::set<Need>> kept;
  std::vector<std::set<PriorNeed>> priorKept;
  std::vector<Value> sems; // per run: its semaphore, when another waits for it

private:
  bool conflict(const Run &mine, const Synchronizer &other, const Run &theirs) const {
    for (unsigned i = mine.first; i <= mine.last; ++i)
      for (const Access &a : cmds[i].accesses)
        for (unsigned j = theirs.first; j <= theirs.last; ++j)
          for (const Access &b : other.cmds[j].accesses)
            if (a.buf == b.buf && (a.write || b.write))
              return true;
    return false;
  }

  /// The slot a command's access names: `[%iter mod n, ...]` on a buffer of
  /// n copies, else the whole buffer.
  Access access(Value buf, ValueRange idx, bool write) {
    Access a{buf, 1, write};
    auto type = cast<MemRefType>(buf.getType());
    if (idx.empty() || type.getRank() < 2 || type.getDimSize(0) < 2)
      return a;
    auto rem = idx[0].getDefiningOp<arith::RemSIOp>();
    if (!rem || rem.getLhs() != d.getIter())
      return a;
    auto n = rem.getRhs().getDefiningOp<arith::ConstantIndexOp>();
    if (n && n.value() == type.getDimSize(0))
      a.copies = n.value();
    return a;
  }

  LogicalResult collect() {
    if (d.getSteps() != 1)
      return d.emitOpError("is cut into steps: npu-insert-sync orders only one-step items; "
                           "write its waits and signals");
    auto add = [&](Operation &op, scf::ForOp loop) {
      auto e = cast<EngineOp>(&op);
      Command c{&op, e.getEngine(), {}, 0, loop};
      SmallVector<TileAccess> tiles;
      e.getTileAccesses(tiles);
      for (TileAccess &t : tiles)
        c.accesses.push_back(access(t.buf, ValueRange(t.indices), t.write));
      cmds.push_back(std::move(c));
    };
    for (Operation &op : d.getBody().front()) {
      if (llvm::isa<EngineOp>(op)) {
        add(op, {});
        continue;
      }
      if (op.getNumRegions() == 0)
        continue;
      // A loop of one engine's commands (a row per iteration) is part of
      // that engine's run.
      auto loop = dyn_cast<scf::ForOp>(op);
      std::optional<Engine> engine;
      bool oneEngine = loop != nullptr;
      if (loop)
        for (Operation &inner : loop.getBody()->without_terminator()) {
          auto e = dyn_cast<EngineOp>(inner);
          if (inner.getNumRegions() != 0 || (e && engine && *engine != e.getEngine()))
            oneEngine = false;
          if (e)
            engine = e.getEngine();
        }
      if (loop) {
        auto step = loop.getStep().getDefiningOp<arith::ConstantIndexOp>();
        oneEngine = oneEngine && step && step.value() == 1;
      }
      if (!oneEngine)
        return op.emitOpError("in a distribute without waits or signals: npu-insert-sync orders "
                              "straight-line commands and loops of one engine's; write its waits "
                              "and signals");
      for (Operation &inner : loop.getBody()->without_terminator())
        if (llvm::isa<EngineOp>(inner))
          add(inner, loop);
    }
    // A buffer is either copies indexed by the item or one slot throughout.
    DenseMap<Value, int64_t> copies;
    for (const Command &c : cmds)
      for (const Access &a : c.accesses)
        if (auto [it, fresh] = copies.try_emplace(a.buf, a.copies); !fresh && it->second != a.copies)
          return c.op->emitOpError("indexes a scratchpad buffer both by the item's copy and "
                                   "otherwise: npu-insert-sync cannot tell its slots apart");
    return success();
  }

  void formRuns() {
    for (unsigned i = 0; i < cmds.size(); ++i) {
      if (runs.empty() || runs.back().engine != cmds[i].engine)
        runs.push_back(Run{cmds[i].engine, i, i, {}});
      runs.back().last = i;
      cmds[i].run = unsigned(runs.size() - 1);
    }
  }

  void findNeeds(unsigned r) {
    Run &run = runs[r];
    for (unsigned i = run.first; i <= run.last; ++i)
      for (const Access &a : cmds[i].accesses)
        for (unsigned j = 0; j < cmds.size(); ++j) {
          const Command &o = cmds[j];
          if (o.engine == run.engine)
            continue; // its engine's order
          for (const Access &b : o.accesses) {
            if (b.buf != a.buf || (!a.write && !b.write))
              continue;
            if (j < i)
              run.needs.insert({o.run, 0}); // earlier in the item
            run.needs.insert({o.run, a.copies}); // the slot's last use
          }
        }
  }

  /// Run `r`'s engine's previous run, with how many items back it is.
  std::optional<Need> enginePredecessor(unsigned r) const {
    for (unsigned p = r; p-- > 0;)
      if (runs[p].engine == runs[r].engine)
        return Need{p, 0};
    for (unsigned p = unsigned(runs.size()); p-- > r + 1;)
      if (runs[p].engine == runs[r].engine)
        return Need{p, 1};
    return Need{r, 1}; // its own run of the item before
  }

  /// Whether `n` holds once run `r` has its other needs and its engine's
  /// order: a path back to it through other runs' needs and engine orders.
  bool impliedWithout(unsigned r, Need n) const {
    std::set<Need> seen;
    SmallVector<Need> work;
    auto push = [&](Need x) {
      if (x.second <= n.second && seen.insert(x).second)
        work.push_back(x);
    };
    for (const Need &m : runs[r].needs)
      if (m != n)
        push(m);
    if (auto p = enginePredecessor(r))
      push(*p);
    while (!work.empty()) {
      Need x = work.pop_back_val();
      if (x == n)
        return true;
      for (const Need &m : runs[x.first].needs)
        push({m.first, m.second + x.second});
      if (auto p = enginePredecessor(x.first))
        push({p->first, p->second + x.second});
    }
    return false;
  }

public:
  /// Waits at each run's first command, signals at the last command of each
  /// run another waits for (`sems`, made by the program).
  LogicalResult emit(ArrayRef<std::unique_ptr<Synchronizer>> all) {
    auto prog = d->getParentOfType<TileProgramOp>();
    OpBuilder b(prog.getContext());
    // Counts: the item `back` items before this one has signalled once per
    // item, so the count is iter + 1 - back.
    DenseMap<int64_t, Value> counts;
    auto countFor = [&](int64_t back) {
      Value &v = counts[back];
      if (v)
        return v;
      if (back == 1)
        return v = d.getIter();
      Value c = prog.getIndexConstant(std::abs(1 - back));
      v = back == 0 ? Value(arith::AddIOp::create(b, d.getLoc(), d.getIter(), c))
                    : Value(arith::SubIOp::create(b, d.getLoc(), d.getIter(), c));
      return v;
    };
    // An earlier distribute's items on this NE, waited for by the first item.
    DenseMap<unsigned, Value> priorCounts;
    auto priorCountFor = [&](unsigned j) {
      Value &v = priorCounts[j];
      if (v)
        return v;
      int64_t items = all[j]->d.getItems(), nes = prog.getNe();
      Location loc = d.getLoc();
      // (One op per statement: the IR's order must not follow the host
      // compiler's order of evaluating arguments.)
      Value onNe;
      if (items % nes == 0) {
        onNe = prog.getIndexConstant(items / nes);
      } else {
        Value top = prog.getIndexConstant(items + nes - 1);
        Value left = arith::SubIOp::create(b, loc, top, d.getNe());
        Value divisor = prog.getIndexConstant(nes);
        onNe = arith::DivSIOp::create(b, loc, left, divisor);
      }
      Value zero = prog.getIndexConstant(0);
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, d.getIter(), zero);
      return v = arith::SelectOp::create(b, loc, first, onNe, zero);
    };
    for (unsigned r = 0; r < runs.size(); ++r) {
      size_t n = kept[r].size() + priorKept[r].size();
      if (n > 2)
        return cmds[runs[r].first].op->emitOpError("needs ") << n << " waits; an instruction has two";
      SmallVector<Value> ws, cs;
      Command &first = cmds[runs[r].first];
      // A count where it is first needed, in the item (before its loop).
      b.setInsertionPoint(first.loop ? first.loop.getOperation() : first.op);
      for (const Need &k : kept[r]) { // in the runs' order
        ws.push_back(sems[k.first]);
        cs.push_back(countFor(k.second));
      }
      for (const PriorNeed &p : priorKept[r]) {
        ws.push_back(all[p.first]->sems[p.second]);
        cs.push_back(priorCountFor(p.first));
      }
      if (first.loop && !cs.empty()) {
        // In a loop, the first iteration waits (later ones follow it).
        OpBuilder ib(first.op);
        Location loc = first.op->getLoc();
        Value isFirst = arith::CmpIOp::create(ib, loc, arith::CmpIPredicate::eq,
                                              first.loop.getInductionVar(),
                                              first.loop.getLowerBound());
        Value zero = prog.getIndexConstant(0);
        for (Value &c : cs)
          c = arith::SelectOp::create(ib, loc, isFirst, c, zero);
      }
      setWaits(first.op, ws, cs);
      if (sems[r])
        signalOnce(cmds[runs[r].last], sems[r], prog);
    }
    return success();
  }

private:
  /// `cmd` signals `sem` once per item: in a loop, only on its last
  /// iteration (a version of the command with the signal, one without).
  void signalOnce(Command &cmd, Value sem, TileProgramOp prog) {
    if (!cmd.loop) {
      setSignal(cmd.op, sem);
      return;
    }
    OpBuilder ib(cmd.op);
    Location loc = cmd.op->getLoc();
    Value one = prog.getIndexConstant(1);
    Value last = arith::SubIOp::create(ib, loc, cmd.loop.getUpperBound(), one);
    Value isLast = arith::CmpIOp::create(ib, loc, arith::CmpIPredicate::eq,
                                         cmd.loop.getInductionVar(), last);
    auto branch = scf::IfOp::create(ib, loc, isLast, /*withElseRegion=*/true);
    cmd.op->moveBefore(branch.elseBlock()->getTerminator());
    OpBuilder tb(branch.thenBlock()->getTerminator());
    setSignal(tb.clone(*cmd.op), sem);
  }

  static void setWaits(Operation *op, ValueRange sems, ValueRange counts) {
    auto e = cast<EngineOp>(op);
    e.getWaitSemsMutable().assign(sems);
    e.getWaitCountsMutable().assign(counts); // after: the first changed the segments
  }
  static void setSignal(Operation *op, Value sem) { cast<EngineOp>(op).getSignalMutable().assign(sem); }
};

/// Orders every distribute of `prog` (written without waits or signals).
LogicalResult synchronize(TileProgramOp prog) {
  std::vector<std::unique_ptr<Synchronizer>> ds;
  for (auto d : prog.getProgram().getOps<DistributeOp>()) {
    ds.push_back(std::make_unique<Synchronizer>(d));
    if (failed(ds.back()->analyze()))
      return failure();
  }
  // Only the scratchpad is ordered: DRAM or SHM a command writes must not be
  // read back by another.
  DenseSet<Value> stored;
  for (auto &d : ds)
    for (const Command &c : d->cmds)
      if (auto x = dyn_cast<DmaOp>(c.op); x && x.getQueue() == DmaQueue::Store)
        stored.insert(x.getDst());
  for (auto &d : ds)
    for (const Command &c : d->cmds)
      if (auto x = dyn_cast<DmaOp>(c.op); x && stored.contains(x.getSrc()))
        return c.op->emitOpError("reads a buffer the program also writes outside the "
                                 "scratchpad: npu-insert-sync orders only scratchpad accesses; "
                                 "write its waits and signals");
  for (size_t k = 0; k < ds.size(); ++k)
    ds[k]->findPriorNeeds(ArrayRef(ds).take_front(k));
  // A semaphore per run another waits for, in program order, named after
  // its engine.
  for (auto &d : ds)
    d->sems.assign(d->runs.size(), Value());
  std::vector<std::vector<bool>> waited;
  for (auto &d : ds)
    waited.emplace_back(d->runs.size(), false);
  for (auto [k, d] : llvm::enumerate(ds))
    for (unsigned r = 0; r < d->runs.size(); ++r) {
      for (const Need &n : d->kept[r])
        waited[k][n.first] = true;
      for (const PriorNeed &p : d->priorKept[r])
        waited[p.first][p.second] = true;
    }
  OpBuilder b(prog.getContext());
  b.setInsertionPointToStart(&prog.getProgram());
  unsigned perEngine[kNumEngines] = {};
  for (auto [k, d] : llvm::enumerate(ds))
    for (unsigned r = 0; r < d->runs.size(); ++r) {
      if (!waited[k][r])
        continue;
      unsigned nth = perEngine[unsigned(d->runs[r].engine)]++;
      std::string name = kEngineName[unsigned(d->runs[r].engine)];
      if (nth)
        name += "_" + std::to_string(nth + 1);
      d->sems[r] = SemaphoreOp::create(b, prog.getLoc(), SemaphoreType::get(b.getContext()),
                                       b.getStringAttr(name));
    }
  for (auto &d : ds)
    if (failed(d->emit(ds)))
      return failure();
  return success();
}

struct NpuInsertSync : rbln::npu::impl::NpuInsertSyncBase<NpuInsertSync> {
  void runOnOperation() override {
    SmallVector<TileProgramOp> todo;
    getOperation().walk([&](TileProgramOp prog) {
      // A program that orders any of its commands orders all of them.
      if (!prog.getProgram().walk([](Operation *op) {
            auto e = dyn_cast<EngineOp>(op);
            return (e && e.isOrdered()) || llvm::isa<SemCountOp, SemOnOp>(op)
                       ? WalkResult::interrupt()
                       : WalkResult::advance();
          }).wasInterrupted())
        todo.push_back(prog);
    });
    for (TileProgramOp prog : todo)
      if (failed(synchronize(prog)))
        return signalPassFailure();
  }
};

} // namespace
