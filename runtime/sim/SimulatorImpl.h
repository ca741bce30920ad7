//===- SimulatorImpl.h - The simulator's state, shared by its parts -*- C++ -*-===//
//
// The simulator split by concern, one file each, over this state:
//   Simulator.cpp         the event loop: engine queues, semaphores, time
//   CommandProcessor.cpp  scalar code and the dispatch of engine commands
//   Dma.cpp               task and neural DMA: copies and their timing on
//                         the engine link and the DRAM and SHM channels
//   TensorEngine.cpp      mm: the tile GEMM and its cost on the array
//   VectorEngine.cpp      vector instructions and their costs
//   Memory.cpp            bounds-checked access to DRAM, SHM and SPM, and
//                         weights read in place by matmuls (lazy copies)
//   Trace.cpp             the Chrome/Perfetto trace
// Internal to runtime/sim; callers use Device.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Lanes.h"
#include "Simulator.h"

#include "rbln/runtime/DType.h"
#include "rbln/runtime/Target.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace rbln::sim {
using namespace isa;

/// Register arithmetic wraps (two's complement), as the hardware's adders
/// do; the result is then bounds-checked where it is used as an address.
inline int64_t wrapAdd(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Cmd {
  uint32_t pc;
  double dispatch;
  int64_t srcAddr = 0, dstAddr = 0; ///< DMA addresses, from registers at dispatch
  int64_t reg = 0;                  ///< a vector command's register operand, read at dispatch
};

/// A queue's dispatched commands: at most the CP's queue depth, so a ring
/// (a deque allocated and freed a chunk every dozen commands).
class CmdRing {
public:
  void reset(size_t capacity) {
    buf_.assign(std::max<size_t>(capacity, 1), Cmd{});
    head_ = count_ = 0;
  }
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  const Cmd &front() const { return buf_[head_]; }
  void push_back(const Cmd &c) { buf_[(head_ + count_++) % buf_.size()] = c; }
  void pop_front() {
    head_ = (head_ + 1) % buf_.size();
    --count_;
  }

private:
  std::vector<Cmd> buf_;
  size_t head_ = 0, count_ = 0;
};

struct Queue {
  std::string name;
  Unit unit;
  unsigned ne = 0; ///< owning NE (neural DMA, tensor, vector)
  CmdRing pending;
  bool busy = false;
  uint64_t runningJob = 0; ///< lane job of the running command (0: none)
  double freeAt = 0;
  double readyAt = 0; ///< when its head's waits became visible (semaphore latency)
  double completeAt = 0; ///< when its last started command completes
  double busyCycles = 0;
  uint64_t commands = 0;
};

struct TraceEvent {
  unsigned queue;
  uint32_t pc;
  double start, dur;
};

/// A trap: the message, completed with the instruction by the caller.
struct Trap {
  std::string message;
};

struct Simulator::Impl {
  const proto::TargetDesc &t;
  Options &opts;
  std::vector<Queue> queues;
  unsigned taskBase = 0, neuralBase = 0, tensorBase = 0, vectorBase = 0;
  /// Zeroed memory from calloc: large blocks come from fresh zero pages, so
  /// a 4 MiB scratchpad costs nothing until the program touches it.
  struct ZeroedBuffer {
    std::unique_ptr<uint8_t, decltype(&std::free)> p{nullptr, &std::free};
    uint8_t *get(size_t n) {
      if (!p)
        p.reset(static_cast<uint8_t *>(std::calloc(n, 1)));
      return p.get();
    }
  };
  std::vector<ZeroedBuffer> spm; ///< per NE, allocated on first use
  ZeroedBuffer shm;
  std::vector<uint64_t> spmHigh;
  std::vector<int64_t> sems;
  std::unique_ptr<Lanes> lanes;
  /// Per semaphore and lane: the latest lane job whose command signalled it.
  std::vector<std::vector<uint64_t>> semJob;
  uint64_t lastJob = 0; ///< sequence number of the job the current command submitted
  // --- weights copied into a scratchpad lazily --------------------------------
  // A dense DMA of read-only weights into SPM is not copied when it runs: the
  // SPM range remembers its source, a matmul reads the weights from there,
  // and any other command touching the range copies them first. (The copy
  // of every weight tile was 40% of a decode step's simulation; timing and
  // traffic are charged as for the copy.) Only the NE's own lane touches its
  // list, in command order.
  struct SpmRange {
    unsigned ne;
    int64_t off;
    uint64_t len;
    bool lazyOk;    ///< a matmul operand: may be read from the weights
    bool overwrite; ///< a DMA destination: lazy entries inside are dropped
  };
  /// `len` bytes at SPM `off` hold `len / rowBytes` rows of `rowBytes`,
  /// row r at `src + r * srcStride` (a tile of a weight matrix).
  struct Lazy {
    int64_t off;
    uint64_t len;
    const uint8_t *src;
    uint64_t rowBytes, srcStride;
  };
  std::vector<SpmRange> touched; ///< SPM ranges of the command being issued
  bool lazyReads = false;        ///< access() records reads that may stay lazy
  std::vector<std::vector<Lazy>> lazy;
  const uint8_t *roLo = nullptr, *roHi = nullptr; ///< the weights in DRAM

  /// Copies (or, for a range about to be wholly overwritten, drops) the lazy
  /// entries overlapping [off, off+len) of NE ne. Runs on the NE's lane.
  void settle(unsigned ne, int64_t off, uint64_t len, bool overwrite);
  /// Where an mm operand of `rows` x `rowBytes` is: in the weights (with
  /// their row stride) when one lazy entry holds it whole, else in the
  /// (settled) scratchpad, dense.
  std::pair<const uint8_t *, uint64_t> operandPtr(unsigned ne, int64_t off, uint64_t rows,
                                                  uint64_t rowBytes);

  template <class Job> void submit(unsigned ne, Job &&job) {
    // Settle the lazy ranges this command touches (except those it reads as
    // matmul operands), on its lane, before it runs.
    if (lanes->allInline()) { // no job object, no allocation
      for (const SpmRange &r : touched)
        if (!r.lazyOk)
          settle(r.ne, r.off, r.len, r.overwrite);
      touched.clear();
      job();
      lastJob = 0;
      return;
    }
    // Otherwise the job settles them on its lane; a few ranges travel in
    // the job itself, compactly (no allocation), more in a vector.
    struct Range {
      uint32_t off, len;
      bool overwrite;
    };
    constexpr unsigned kFew = 4;
    std::array<Range, kFew> few;
    unsigned n = 0;
    bool many = false;
    for (const SpmRange &r : touched)
      if (!r.lazyOk) {
        if (n < kFew)
          few[n] = {uint32_t(r.off), uint32_t(r.len), r.overwrite};
        many |= n++ >= kFew;
      }
    auto dep = deps.data();
    unsigned numDeps = unsigned(deps.size());
    if (many) {
      std::vector<SpmRange> all;
      for (const SpmRange &r : touched)
        if (!r.lazyOk)
          all.push_back(r);
      lastJob = lanes->submit(
          ne,
          [this, all = std::move(all), job = std::forward<Job>(job)]() mutable {
            for (const SpmRange &r : all)
              settle(r.ne, r.off, r.len, r.overwrite);
            job();
          },
          dep, numDeps);
    } else {
      lastJob = lanes->submit(
          ne,
          [this, ne, few, n, job = std::forward<Job>(job)]() mutable {
            for (unsigned i = 0; i < n; ++i)
              settle(ne, few[i].off, few[i].len, few[i].overwrite);
            job();
          },
          dep, numDeps);
    }
    touched.clear();
    deps.clear();
  }
  /// The jobs of other lanes that a command starting on `lane` must follow:
  /// those of the commands that signalled the semaphores it waits on, and
  /// every job before the last barrier (the latest per lane).
  std::vector<Lanes::Dep> deps;
  std::vector<uint64_t> barrierJob; ///< per lane: its last job before the last barrier
  void orderAfterSignals(const Inst &in, unsigned lane) {
    deps.clear();
    for (unsigned l = 0; l < lanes->size(); ++l) {
      if (l == lane)
        continue;
      uint64_t seq = barrierJob[l];
      for (const WaitCond &w : in.wait)
        if (w.active())
          seq = std::max(seq, semJob[w.sem][l]);
      if (seq && !lanes->finished(l, seq))
        deps.push_back({l, seq});
    }
  }

  /// DRAM and SHM ranges that queued lane jobs (neural DMA) write, so that a
  /// CP load waits only for the jobs writing what it reads.
  struct PendingWrite {
    Space space;
    int64_t lo, hi;
    unsigned lane;
    uint64_t seq;
  };
  std::vector<PendingWrite> pendingWrites;
  void awaitWrites(Space space, int64_t addr, uint64_t len);

  // Per-run state.
  const proto::Function *fn = nullptr;
  const std::vector<Inst> *code = nullptr;
  uint8_t *dram = nullptr;
  uint64_t dramSize = 0;
  Stats *stats = nullptr;
  double dramFree = 0, shmFree = 0;
  bool dramWriting = false; ///< the DRAM channel's direction after the last DMA
  double dramDebt = 0;      ///< CP loads' channel cycles not yet charged to a DMA
  std::vector<TraceEvent> trace;
  std::optional<Trap> trap;

  Impl(const proto::TargetDesc &target, Options &o);

  unsigned queueOf(const Inst &in) const {
    switch (in.unitKind()) {
    case Unit::TaskDma: return taskBase + in.unit;
    case Unit::NeuralDma: return neuralBase + in.unit;
    case Unit::Tensor: return tensorBase + in.unit;
    case Unit::Vector: return vectorBase + in.unit;
    case Unit::Cp: break;
    }
    return ~0u;
  }

  bool waitsHold(const Inst &in) const {
    for (const WaitCond &w : in.wait)
      if (w.active() && sems[w.sem] < int64_t(w.value))
        return false;
    return true;
  }

  void fail(std::string msg) {
    if (!trap)
      trap = Trap{std::move(msg)};
  }

  // --- memories -----------------------------------------------------------
  uint8_t *spmOf(unsigned ne) { return spm[ne].get(t.spm_bytes()); }
  uint8_t *shmPtr() { return shm.get(t.shm_bytes()); }

  /// Checks [addr, addr+len) in `space`, records traffic; returns the base
  /// pointer of the space or nullptr after recording a trap.
  uint8_t *access(Space space, unsigned ne, int64_t addr, uint64_t len, bool write,
                  const char *what, uint64_t traffic = ~uint64_t(0));

  /// An engine operand in NE `ne`'s scratchpad: in bounds (as access) and
  /// aligned to its element size — the engines read and write whole
  /// elements, so a misaligned operand traps instead of reading torn ones.
  uint8_t *operand(unsigned ne, unsigned align, int64_t addr, uint64_t len, bool write,
                   const char *what);

  // --- engine commands ----------------------------------------------------
  /// Executes the command at `pc` on queue `qi` starting at `now`; returns
  /// its duration in cycles.
  double execute(unsigned qi, const Cmd &cmd, double now) {
    const Inst &in = (*code)[cmd.pc];
    touched.clear();
    tail = 0;
    switch (in.unitKind()) {
    case Unit::TaskDma: case Unit::NeuralDma: return dma(qi, in, cmd, now);
    case Unit::Tensor: return mm(queues[qi].ne, in);
    case Unit::Vector: return vec(queues[qi].ne, in, cmd);
    case Unit::Cp: break;
    }
    return 0;
  }

  double dma(unsigned qi, const Inst &in, const Cmd &cmd, double now);
  double dramRows(const int64_t sizes[4], const int64_t str[4], unsigned ebits) const;
  /// Set by a command that completes after its engine is free again (a DRAM
  /// access's latency): cycles from the engine's end to the completion.
  double tail = 0;

  double mm(unsigned ne, const Inst &in);

  double vec(unsigned ne, const Inst &in, const Cmd &cmd);

  // --- the event loop (Simulator.cpp) and the CP (CommandProcessor.cpp) ------
  const std::function<std::string(unsigned)> *locate = nullptr;
  double now = 0, cpTime = 0, lastEnd = 0;
  uint32_t pc = 0;
  bool halted = false, cpBlocked = false;
  uint64_t steps = 0;
  // The queues that can start their next command (idle, a head whose waits
  // hold) as a bitset, and per semaphore the queues whose head waits for it.
  // Semaphores only grow, so a head that may start stays startable; a queue
  // is looked at again only when its head, its busy state or a semaphore it
  // waits on changes, not on every event (a decode step has ~10^5 events).
  std::vector<uint64_t> ready;
  std::vector<std::vector<unsigned>> semWaiters;
  std::vector<unsigned> woken;
  uint64_t active = 0; ///< commands pending or running, over all queues
  void consider(unsigned qi) {
    Queue &q = queues[qi];
    if (q.busy || q.pending.empty())
      return;
    const Inst &head = (*code)[q.pending.front().pc];
    for (const WaitCond &w : head.wait)
      if (w.active() && sems[w.sem] < int64_t(w.value)) {
        semWaiters[w.sem].push_back(qi);
        return;
      }
    q.readyAt = visibleAt(head);
    ready[qi / 64] |= uint64_t(1) << (qi % 64);
  }
  /// Per semaphore, when its latest increments happened (a ring: count c
  /// was reached at times[(c - 1) % kSemHistory]), kept only when the
  /// target models the latency. Waits name recent counts (a kernel's
  /// pipeline depth back); one further back than the ring is taken as
  /// reached at the oldest time kept, which can only delay it.
  static constexpr size_t kSemHistory = 1024;
  struct SemHistory {
    std::vector<double> times;
    void add(double time, int64_t count) {
      size_t i = size_t(count - 1) % kSemHistory;
      if (times.size() <= i)
        times.push_back(time);
      else
        times[i] = time;
    }
    double reached(int64_t value, int64_t count) const {
      if (count - value >= int64_t(times.size())) // older than the ring: its oldest entry
        value = count - int64_t(times.size()) + 1;
      return times[size_t(value - 1) % kSemHistory];
    }
  };
  std::vector<SemHistory> semTimes;
  /// When the waits of `in` (which hold) became visible to it: the signal
  /// that satisfied each plus the target's semaphore latency.
  double visibleAt(const Inst &in) const {
    double at = 0;
    if (semTimes.empty())
      return at;
    for (const WaitCond &w : in.wait)
      if (w.active() && w.value > 0)
        at = std::max(at, semTimes[w.sem].reached(int64_t(w.value), sems[w.sem]) +
                              t.cp().semaphore_latency_cycles());
    return at;
  }
  /// Resets the per-run state for `fn`'s `code` over `dram`.
  void reset(const proto::Function &fn, const std::vector<Inst> &code, uint8_t *dram,
             uint64_t dramBytes, const LaunchArgs &args, Stats &stats,
             const std::function<std::string(unsigned)> &locate);
  /// Runs until the program halts, traps or deadlocks.
  Status eventLoop();
  /// Runs the CP until it halts or must wait (a full queue, a semaphore, a
  /// barrier).
  Status runCp();
  /// "trap in function 'f' at instruction i `...` (ONNX node 'n')".
  std::string where(uint32_t at) const;
  Status writeTrace() const;

  std::vector<int64_t> regs = std::vector<int64_t>(kNumRegs, 0);
};

} // namespace rbln::sim
