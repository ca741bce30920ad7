//===- InsertSync.cpp - Waits and signals from a tile program's buffers ---===//
//
// A work item's commands run on several in-order engines of its NE (the DMA
// load and store queues, the vector and tensor engines), each one command at
// a time in issue order; between engines only semaphores order them. For a
// distribute written without any wait or signal, this pass derives them from
// what each command reads and writes in the scratchpad:
//
//  - An item is one step, or `steps` steps (a matmul's k-steps). A command
//    runs on every step, or only on the item's first or last step (in an
//    `scf.if` on `%k == 0` or `%k == steps - 1`: an output tile's bias load,
//    its epilogue and store).
//  - Accesses are to buffer slots. A buffer indexed `[%iter mod n, ...]` is n
//    copies, one per item in turn; `[%step mod n, ...]`, one per step in
//    turn; any other buffer is one slot.
//  - Consecutive commands on one engine, on the same steps, form a run: a
//    run waits once, at its first command, and signals once, at its last. A
//    loop of one engine's commands (rows gathered one DMA each) is part of
//    its run: its first iteration waits, its last signals (the loop must run
//    at least once per item, as a tile's rows do).
//  - A run must start after the latest run of another engine that touched a
//    slot it touches, one of the two writing (earlier runs of that engine
//    follow in its order).
//  - Such a need is dropped when it already holds through others: the run
//    waits for a run that waited for it, or its engine's previous run did.
//
// The pass unrolls enough items of a steady state to find each run's needs
// and drop those implied by a path through the others' needs and the
// engines' orders (a transitive reduction of the unrolled graph, which is
// acyclic: needs point back in time). A need must be the same at every step
// an every-step run runs on.
//
// Each run another waits for signals its own semaphore each time it runs:
// per step (per item when items are one step) or, for a first- or last-step
// run, per item. So "run r, δ of its steps or items back" is
// `wait(%sem >= %step + 1 - δ)` or `wait(%sem >= %iter + 1 - δ)` (no wait
// while that is <= 0: the first items). A run that touches what a run of an
// earlier distribute of the program touched (a table loaded once per NE)
// waits, on the NE's first item only, for all of that distribute's items on
// the NE (later items follow on their engine). Programs that carry any wait
// or signal are left as written: their kernels order themselves (deferred
// tails, counts that vary per item, other NEs' semaphores).
//
//===----------------------------------------------------------------------===//
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <map>
#include <set>

namespace rbln::npu {
#define GEN_PASS_DEF_NPUINSERTSYNC
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

constexpr const char *kEngineName[kNumEngines] = {"load", "store", "vec", "mm"};

/// Which copy of a buffer an access names: the whole buffer, or copy
/// `%iter mod copies` or `%step mod copies`.
enum class Rotation { None, Item, Step };

struct Access {
  Value buf;
  Rotation rot = Rotation::None;
  int64_t copies = 1;
  bool write = false;
};

/// The steps of an item a command runs on.
enum class Phase { Every, First, Last };

struct Command {
  Operation *op;
  Engine engine;
  SmallVector<Access, 3> accesses;
  unsigned run = 0;
  scf::ForOp loop; // the loop of the item it is in, if any
  scf::IfOp guard; // the branch that runs it on the first or last step only
  Phase phase = Phase::Every;
};

/// A need: run `run`, `back` of its counts (its steps, or its items for a
/// first- or last-step run) before this one, is done.
using Need = std::pair<unsigned, int64_t>;

/// A run of an earlier distribute of the program: every item of it on this
/// NE is done.
using PriorNeed = std::pair<unsigned, unsigned>; // distribute, run

struct Run {
  Engine engine;
  Phase phase;
  unsigned first = 0, last = 0; // commands
  std::set<PriorNeed> prior;
  /// Whether it counts items (runs once per item) rather than steps.
  bool perItem() const { return phase != Phase::Every; }
};

/// The commands of one distribute, their runs and what each run waits for.
class Synchronizer {
public:
  explicit Synchronizer(DistributeOp d) : d(d), steps(d.getSteps()) {}

  LogicalResult analyze() {
    if (failed(collect()))
      return failure();
    formRuns();
    return reduce();
  }

  /// Needs on earlier distributes `before` of the program: a run of another
  /// engine that touched a slot this run touches, one of the two writing.
  /// (The same engine's order covers its own.) Only the first item on the
  /// NE waits — the rest follow it on their engine — and not when a run it
  /// waits for in the item, or its engine's earlier run, already did.
  LogicalResult findPriorNeeds(ArrayRef<std::unique_ptr<Synchronizer>> before) {
    std::vector<std::set<PriorNeed>> known(runs.size());
    priorKept.resize(runs.size());
    for (unsigned r = 0; r < runs.size(); ++r) {
      for (auto [j, other] : llvm::enumerate(before))
        for (unsigned q = 0; q < other->runs.size(); ++q)
          if (other->runs[q].engine != runs[r].engine && conflict(runs[r], *other, other->runs[q]))
            runs[r].prior.insert({unsigned(j), q});
      if (!runs[r].prior.empty() && steps != 1)
        return cmds[runs[r].first].op->emitOpError(
            "is cut into steps and touches what an earlier distribute of the program touched: "
            "npu-insert-sync cannot order it; write its waits and signals");
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
    return success();
  }

  DistributeOp d;
  int64_t steps;
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

  /// The slot a command's access names: `[%iter mod n, ...]` or
  /// `[%step mod n, ...]` on a buffer of n copies, else the whole buffer.
  Access access(Value buf, ValueRange idx, bool write) {
    Access a{buf, Rotation::None, 1, write};
    auto type = cast<MemRefType>(buf.getType());
    if (idx.empty() || type.getRank() < 2 || type.getDimSize(0) < 2)
      return a;
    auto rem = idx[0].getDefiningOp<arith::RemSIOp>();
    if (!rem)
      return a;
    Rotation rot = rem.getLhs() == d.getIter()                  ? Rotation::Item
                   : steps != 1 && rem.getLhs() == d.getStep() ? Rotation::Step
                                                                : Rotation::None;
    auto n = rem.getRhs().getDefiningOp<arith::ConstantIndexOp>();
    if (rot != Rotation::None && n && n.value() == type.getDimSize(0)) {
      a.rot = steps == 1 ? Rotation::Item : rot; // one step: the step is the item
      a.copies = n.value();
    }
    return a;
  }

  /// The steps an `scf.if` runs its commands on: `%k == 0` or
  /// `%k == steps - 1` in a distribute cut into steps.
  std::optional<Phase> phaseOf(scf::IfOp branch) {
    if (steps == 1 || !branch.getElseRegion().empty())
      return std::nullopt;
    auto cmp = branch.getCondition().getDefiningOp<arith::CmpIOp>();
    if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::eq || cmp.getLhs() != d.getStepOfItem())
      return std::nullopt;
    auto k = cmp.getRhs().getDefiningOp<arith::ConstantIndexOp>();
    if (!k)
      return std::nullopt;
    if (k.value() == 0)
      return Phase::First;
    if (k.value() == steps - 1)
      return Phase::Last;
    return std::nullopt;
  }

  LogicalResult collect() {
    auto add = [&](Operation &op, scf::ForOp loop, scf::IfOp guard, Phase phase) {
      auto e = cast<EngineOp>(&op);
      Command c{&op, e.getEngine(), {}, 0, loop, guard, phase};
      SmallVector<TileAccess> tiles;
      e.getTileAccesses(tiles);
      for (TileAccess &t : tiles)
        c.accesses.push_back(access(t.buf, ValueRange(t.indices), t.write));
      cmds.push_back(std::move(c));
    };
    for (Operation &op : d.getBody().front()) {
      if (llvm::isa<EngineOp>(op)) {
        add(op, {}, {}, Phase::Every);
        continue;
      }
      if (op.getNumRegions() == 0)
        continue;
      // Commands on the item's first or last step only.
      if (auto branch = dyn_cast<scf::IfOp>(op)) {
        std::optional<Phase> phase = phaseOf(branch);
        if (!phase || llvm::any_of(branch.thenBlock()->getOperations(),
                                   [](Operation &x) { return x.getNumRegions() != 0; }))
          return op.emitOpError("in a distribute without waits or signals: npu-insert-sync orders "
                                "only branches that run straight-line commands on an item's first "
                                "or last step; write its waits and signals");
        for (Operation &inner : branch.thenBlock()->getOperations())
          if (llvm::isa<EngineOp>(inner))
            add(inner, {}, branch, *phase);
        continue;
      }
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
                              "straight-line commands, loops of one engine's and branches on an "
                              "item's first or last step; write its waits and signals");
      for (Operation &inner : loop.getBody()->without_terminator())
        if (llvm::isa<EngineOp>(inner))
          add(inner, loop, {}, Phase::Every);
    }
    // A buffer is copies used in turn by items, or by steps, or one slot
    // throughout; copies by step only on every step.
    DenseMap<Value, std::pair<Rotation, int64_t>> slots;
    for (const Command &c : cmds)
      for (const Access &a : c.accesses) {
        auto [it, fresh] = slots.try_emplace(a.buf, a.rot, a.copies);
        if (!fresh && it->second != std::make_pair(a.rot, a.copies))
          return c.op->emitOpError("indexes a scratchpad buffer both by the item's or step's copy "
                                   "and otherwise: npu-insert-sync cannot tell its slots apart");
        if (a.rot == Rotation::Step && c.phase != Phase::Every)
          return c.op->emitOpError("runs on an item's first or last step but indexes a buffer by "
                                   "the step's copy: npu-insert-sync cannot tell which copy");
      }
    return success();
  }

  void formRuns() {
    for (unsigned i = 0; i < cmds.size(); ++i) {
      const Command &c = cmds[i];
      if (runs.empty() || runs.back().engine != c.engine || runs.back().phase != c.phase ||
          cmds[runs.back().last].guard != c.guard)
        runs.push_back(Run{c.engine, c.phase, i, i, {}});
      runs.back().last = i;
      cmds[i].run = unsigned(runs.size() - 1);
    }
  }

  bool runsOn(const Run &r, int64_t k) const {
    return r.phase == Phase::Every || (r.phase == Phase::First ? k == 0 : k == steps - 1);
  }

  /// Unrolls items of the NE, finds every run's needs in the last of them
  /// and keeps those no other path implies.
  LogicalResult reduce() {
    // Enough items that the last one's needs reach back into items that
    // have theirs: the most copies of a buffer, in items and in steps.
    int64_t itemCopies = 1, stepCopies = 1;
    for (const Command &c : cmds)
      for (const Access &a : c.accesses)
        (a.rot == Rotation::Step ? stepCopies : itemCopies) =
            std::max(a.rot == Rotation::Step ? stepCopies : itemCopies, a.copies);
    int64_t items = itemCopies + (stepCopies + steps - 1) / steps + 2;
    struct Instance {
      unsigned run;
      int64_t item, step;
    };
    std::vector<Instance> insts;
    for (int64_t i = 0; i < items; ++i)
      for (int64_t k = 0; k < steps; ++k)
        for (unsigned r = 0; r < runs.size(); ++r)
          if (runsOn(runs[r], k))
            insts.push_back({r, i, i * steps + k});
    // Sweep in issue order: each instance needs the latest instance of each
    // other engine's run that touched one of its slots, one of the two
    // writing; and it follows its engine's previous instance.
    std::vector<SmallVector<int, 4>> needs(insts.size());
    std::vector<int> enginePrev(insts.size(), -1);
    int lastOn[kNumEngines] = {-1, -1, -1, -1};
    // (buffer, slot, run) -> latest instance touching / writing it
    std::map<std::tuple<void *, int64_t, unsigned>, std::pair<int, int>> touched;
    for (int x = 0; x < int(insts.size()); ++x) {
      const Instance &in = insts[size_t(x)];
      const Run &run = runs[in.run];
      auto slotOf = [&](const Access &a) {
        return a.rot == Rotation::Item ? in.item % a.copies
               : a.rot == Rotation::Step ? in.step % a.copies
                                         : 0;
      };
      std::map<unsigned, int> latest; // run -> instance
      for (unsigned i = run.first; i <= run.last; ++i)
        for (const Access &a : cmds[i].accesses)
          for (unsigned q = 0; q < runs.size(); ++q) {
            if (runs[q].engine == run.engine)
              continue; // its engine's order
            auto it = touched.find({a.buf.getAsOpaquePointer(), slotOf(a), q});
            if (it == touched.end())
              continue;
            int y = a.write ? it->second.first : it->second.second;
            if (y >= 0)
              latest[q] = std::max(latest.count(q) ? latest[q] : -1, y);
          }
      for (auto [q, y] : latest)
        needs[size_t(x)].push_back(y);
      for (unsigned i = run.first; i <= run.last; ++i)
        for (const Access &a : cmds[i].accesses) {
          auto &t = touched.try_emplace({a.buf.getAsOpaquePointer(), slotOf(a), in.run}, -1, -1)
                        .first->second;
          t.first = x;
          if (a.write)
            t.second = x;
        }
      enginePrev[size_t(x)] = lastOn[unsigned(run.engine)];
      lastOn[unsigned(run.engine)] = x;
    }
    // Whether instance x's need y holds through its other needs and its
    // engine's order.
    auto implied = [&](int x, int y) {
      std::set<int> seen;
      SmallVector<int> work;
      auto push = [&](int z) {
        if (z >= y && seen.insert(z).second)
          work.push_back(z);
      };
      for (int z : needs[size_t(x)])
        if (z != y)
          push(z);
      push(enginePrev[size_t(x)]);
      while (!work.empty()) {
        int z = work.pop_back_val();
        if (z == y)
          return true;
        for (int w : needs[size_t(z)])
          push(w);
        push(enginePrev[size_t(z)]);
      }
      return false;
    };
    // The last item's needs, in the unit each needed run counts in: one
    // value per needed run, the same on every step the run runs on.
    kept.assign(runs.size(), {});
    std::vector<std::map<unsigned, int64_t>> back(runs.size());
    auto varies = [&](unsigned r, unsigned q) {
      return cmds[runs[r].first].op->emitOpError("needs ")
             << kEngineName[unsigned(runs[q].engine)]
             << " commands of a different step or item on different steps of its item: "
                "npu-insert-sync cannot order it; write its waits and signals";
    };
    for (int x = 0; x < int(insts.size()); ++x) {
      const Instance &in = insts[size_t(x)];
      if (in.item != items - 1)
        continue;
      for (int y : needs[size_t(x)]) {
        const Instance &to = insts[size_t(y)];
        int64_t delta = runs[to.run].perItem() ? in.item - to.item : in.step - to.step;
        if (implied(x, y))
          continue;
        auto [it, fresh] = back[in.run].try_emplace(to.run, delta);
        if (!fresh && it->second != delta)
          return varies(in.run, to.run);
        kept[in.run].insert({to.run, delta});
      }
    }
    // A wait kept for one step holds on the others only if what it names
    // was issued before them (else it would wait for a later command).
    std::map<std::pair<unsigned, int64_t>, int> at; // (run, step) -> instance
    for (int x = 0; x < int(insts.size()); ++x)
      at[{insts[size_t(x)].run, insts[size_t(x)].step}] = x;
    for (int x = 0; x < int(insts.size()); ++x) {
      const Instance &in = insts[size_t(x)];
      if (in.item != items - 1)
        continue;
      for (const Need &n : kept[in.run]) {
        const Run &q = runs[n.first];
        int64_t step = !q.perItem() ? in.step - n.second
                       : (in.item - n.second) * steps + (q.phase == Phase::First ? 0 : steps - 1);
        auto it = at.find({n.first, step});
        if (it == at.end() || it->second >= x)
          return varies(in.run, n.first);
      }
    }
    return success();
  }

public:
  /// Waits at each run's first command, signals at the last command of each
  /// run another waits for (`sems`, made by the program).
  LogicalResult emit(ArrayRef<std::unique_ptr<Synchronizer>> all) {
    auto prog = d->getParentOfType<TileProgramOp>();
    OpBuilder b(prog.getContext());
    // Counts: the run's instance `back` of its steps (or items) before this
    // one has signalled once per step (item) so far, so the count is
    // step + 1 - back (iter + 1 - back).
    std::map<std::pair<bool, int64_t>, Value> counts;
    auto countFor = [&](const Need &k) {
      bool perItem = runs[k.first].perItem() || steps == 1;
      int64_t back = k.second;
      Value &v = counts[{perItem, back}];
      if (v)
        return v;
      Value base = perItem ? d.getIter() : d.getStep();
      if (back == 1)
        return v = base;
      Value c = prog.getIndexConstant(std::abs(1 - back));
      v = back == 0 ? Value(arith::AddIOp::create(b, d.getLoc(), base, c))
                    : Value(arith::SubIOp::create(b, d.getLoc(), base, c));
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
      // A count where it is first needed, in the item (before its loop or
      // branch).
      b.setInsertionPoint(d.getBody().front().findAncestorOpInBlock(*first.op));
      for (const Need &k : kept[r]) { // in the runs' order
        ws.push_back(sems[k.first]);
        cs.push_back(countFor(k));
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
    if (failed(ds[k]->findPriorNeeds(ArrayRef(ds).take_front(k))))
      return failure();
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
