//===- Simulator.cpp - The event loop: engine queues, semaphores, time ---===//
//
// The CP dispatches commands into in-order engine queues; each step, the
// earliest command that can start (its waits hold, its engine is free) and
// the earliest completion compete, and whichever comes first happens. A
// completion signals its semaphore and wakes the queues waiting on it. The
// engines' work runs on worker lanes (Lanes.h) in an order the semaphores
// and barriers allow, so results and timing do not depend on the threads.
//
//===----------------------------------------------------------------------===//
#include "SimulatorImpl.h"

#ifdef RBLN_HAVE_CBLAS
#include <cblas.h>
#endif

#include <chrono>
#include <queue>
#include <thread>

namespace rbln {
double Stats::utilization(isa::Unit u) const {
  double busy = 0;
  unsigned n = 0;
  for (const EngineStats &e : engines)
    if (e.unit == u) {
      busy += e.busyCycles;
      ++n;
    }
  return (n == 0 || cycles <= 0) ? 0.0 : busy / (n * cycles);
}

std::unique_ptr<Device> createSimulator(proto::TargetDesc target, DeviceOptions opts) {
  return std::make_unique<sim::Simulator>(std::move(target), std::move(opts));
}
} // namespace rbln

namespace rbln::sim {

Simulator::Impl::Impl(const proto::TargetDesc &target, Options &o) : t(target), opts(o) {
  auto add = [&](std::string name, Unit u, unsigned ne) {
    Queue q;
    q.name = std::move(name);
    q.unit = u;
    q.ne = ne;
    queues.push_back(std::move(q));
  };
  taskBase = 0;
  for (unsigned i = 0; i < t.num_task_dma(); ++i)
    add(fmt::format("task-dma{}", i), Unit::TaskDma, 0);
  neuralBase = unsigned(queues.size());
  for (unsigned ne = 0; ne < t.num_ne(); ++ne)
    for (unsigned q = 0; q < t.neural_dma_queues_per_ne(); ++q)
      add(fmt::format("ne{}.dma{}", ne, q), Unit::NeuralDma, ne);
  tensorBase = unsigned(queues.size());
  for (unsigned ne = 0; ne < t.num_ne(); ++ne)
    add(fmt::format("ne{}.tensor", ne), Unit::Tensor, ne);
  vectorBase = unsigned(queues.size());
  for (unsigned ne = 0; ne < t.num_ne(); ++ne)
    add(fmt::format("ne{}.vector", ne), Unit::Vector, ne);
  spm.resize(t.num_ne());
  spmHigh.assign(t.num_ne(), 0);
  unsigned cores = std::thread::hardware_concurrency();
  unsigned n = opts.threads >= 0 ? unsigned(opts.threads) : std::min(cores, t.num_ne());
  if (!opts.compute)
    n = 1; // nothing to compute
  lanes = std::make_unique<Lanes>(n);
#ifdef RBLN_HAVE_CBLAS
  if (n > 1)
    openblas_set_num_threads(1); // the NEs are the parallelism
#endif
}

void Simulator::Impl::reset(const proto::Function &fn, const std::vector<Inst> &code,
                            uint8_t *dram, uint64_t dramBytes, const LaunchArgs &args,
                            Stats &stats, const std::function<std::string(unsigned)> &locate) {
  stats = Stats();
  this->stats = &stats;
  this->fn = &fn;
  this->code = &code;
  this->dram = dram;
  dramSize = dramBytes;
  trap.reset();
  trace.clear();
  dramFree = 0;
  shmFree = 0;
  sems.assign(t.cp().num_semaphores(), 0);
  semJob.assign(t.cp().num_semaphores(), std::vector<uint64_t>(lanes->size(), 0));
  semTimes.clear();
  if (t.cp().semaphore_latency_cycles() > 0)
    semTimes.resize(t.cp().num_semaphores());
  dramWriting = false;
  dramDebt = 0;
  barrierJob.assign(lanes->size(), 0);
  std::fill(spmHigh.begin(), spmHigh.end(), 0);
  for (Queue &q : queues) {
    q.pending.reset(t.cp().queue_depth());
    q.busy = false;
    q.freeAt = 0;
    q.readyAt = 0;
    q.completeAt = 0;
    q.busyCycles = 0;
    q.commands = 0;
  }
  std::fill(regs.begin(), regs.end(), 0);
  lazy.assign(t.num_ne(), {});
  pendingWrites.clear();
  touched.clear();
  roLo = args.weightsBytes ? dram + args.weights : nullptr;
  roHi = roLo ? roLo + args.weightsBytes : nullptr;
  regs[1] = args.argBlock;
  regs[2] = args.weights;
  regs[3] = args.scratch;
  this->locate = &locate;
  now = cpTime = lastEnd = 0;
  pc = 0;
  halted = cpBlocked = false;
  steps = 0;
  ready.assign((queues.size() + 63) / 64, 0);
  semWaiters.assign(t.cp().num_semaphores(), {});
  woken.clear();
  active = 0;
}

Status Simulator::Impl::eventLoop() {
  const std::vector<Inst> &code = *this->code;
  // An engine finishing a command: it frees the engine and completes the
  // command (signals, counts as drained) at once, or, for a DRAM access with
  // a latency, frees the engine first and completes `tail` cycles later.
  struct Event {
    double time;
    unsigned qi;
    enum Kind : uint8_t { FreeAndComplete, Free, Complete } kind;
    uint32_t pc;
    uint64_t job;
    bool operator>(const Event &o) const {
      return time != o.time ? time > o.time : qi != o.qi ? qi > o.qi : kind > o.kind;
    }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> inflight;
  // The wall-clock watchdog, looked at every 16 events (one event can be a
  // multi-million-element vector command; a clock read costs ~20 ns).
  auto started = std::chrono::steady_clock::now();
  uint64_t events = 0;
  while (true) {
    Status st = runCp();
    if (!st.ok())
      return st;
    if (opts.maxWallSeconds > 0 && (++events & 15) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >
            opts.maxWallSeconds)
      return makeError("{}: the simulation ran for more than {} s of wall time (--timeout)",
                       where(pc < code.size() ? pc : 0), opts.maxWallSeconds);
    // The earliest engine command that can start, against the earliest
    // completion: whichever comes first happens next.
    // (Ties go to the lowest queue index.)
    double best = kInf;
    unsigned bestQ = 0;
    for (unsigned w = 0; w < ready.size(); ++w)
      for (uint64_t bits = ready[w]; bits; bits &= bits - 1) {
        unsigned qi = w * 64 + unsigned(__builtin_ctzll(bits));
        const Queue &q = queues[qi];
        double start = std::max({now, q.freeAt, q.pending.front().dispatch, q.readyAt});
        if (start < best) {
          best = start;
          bestQ = qi;
        }
      }
    double tc = inflight.empty() ? kInf : inflight.top().time;
    if (best < kInf && best <= tc) {
      now = best;
      if (now > opts.maxCycles)
        return makeError("{}: the modeled time passed {:.0f} cycles (runaway loop?)",
                         where(queues[bestQ].pending.front().pc), opts.maxCycles);
      Queue &q = queues[bestQ];
      Cmd cmd = q.pending.front();
      q.pending.pop_front();
      ready[bestQ / 64] &= ~(uint64_t(1) << (bestQ % 64));
      const Inst &started = code[cmd.pc];
      bool onLane = started.unitKind() != Unit::TaskDma;
      if (onLane)
        orderAfterSignals(started, lanes->laneOf(q.ne));
      else
        lanes->waitAll(); // task DMA works on DRAM and SHM from this thread
      lastJob = 0;
      double dur = execute(bestQ, cmd, now);
      if (onLane && !lastJob && !deps.empty() && !lanes->allInline())
        // No work of its own (zero-sized, timing only): a stand-in job passes
        // its order on to whatever waits for its signal.
        lastJob = lanes->submit(q.ne, [] {}, deps.data(), unsigned(deps.size()));
      deps.clear();
      q.runningJob = onLane ? lastJob : 0;
      if (trap)
        return makeError("{}: {}", where(cmd.pc), trap->message);
      q.busy = true;
      q.freeAt = now + dur;
      q.busyCycles += dur;
      ++q.commands;
      // A queue completes in order: behind a previous command's latency.
      double complete = std::max(now + dur + tail, q.completeAt);
      q.completeAt = complete;
      if (complete > now + dur) {
        inflight.push({now + dur, bestQ, Event::Free, cmd.pc, q.runningJob});
        inflight.push({complete, bestQ, Event::Complete, cmd.pc, q.runningJob});
      } else {
        inflight.push({now + dur, bestQ, Event::FreeAndComplete, cmd.pc, q.runningJob});
      }
      if (!opts.tracePath.empty())
        trace.push_back({bestQ, cmd.pc, now, dur});
      continue;
    }
    if (tc < kInf) {
      now = tc;
      Event ev = inflight.top();
      inflight.pop();
      Queue &q = queues[ev.qi];
      if (ev.kind != Event::Complete)
        q.busy = false;
      if (ev.kind != Event::Free) {
        --active;
        lastEnd = std::max(lastEnd, now);
        const Inst &done = code[ev.pc];
        if (done.signal != kNoSem) {
          ++sems[done.signal];
          if (!semTimes.empty())
            semTimes[done.signal].add(now, sems[done.signal]);
          if (ev.job) {
            uint64_t &j = semJob[done.signal][lanes->laneOf(q.ne)];
            j = std::max(j, ev.job);
          }
          woken.swap(semWaiters[done.signal]); // (a head may wait on it again)
          for (unsigned w : woken)
            consider(w);
          woken.clear();
        }
      }
      if (ev.kind != Event::Complete)
        consider(ev.qi);
      continue;
    }
    if (halted)
      break;
    // Nothing runs, nothing completes, and the CP cannot go on: deadlock.
    std::string why;
    for (const Queue &q : queues) {
      if (q.pending.empty())
        continue;
      const Inst &h = code[q.pending.front().pc];
      for (const WaitCond &w : h.wait)
        if (w.active() && sems[w.sem] < int64_t(w.value))
          why += fmt::format("; {} waits for s{}>={} (s{}={}) at instruction {}", q.name,
                             unsigned(w.sem), w.value, unsigned(w.sem), sems[w.sem],
                             q.pending.front().pc);
    }
    return makeError("{}: deadlock: no engine can make progress{}", where(pc), why);
  }

  return Status::success();
}

Simulator::Simulator(proto::TargetDesc target, Options opts)
    : target_(std::move(target)), opts_(std::move(opts)),
      impl_(std::make_unique<Impl>(target_, opts_)) {}
Simulator::~Simulator() = default;

Status Simulator::run(const proto::Function &fn, const std::vector<Inst> &code,
                      uint8_t *dram, uint64_t dramBytes, const LaunchArgs &args, Stats &stats,
                      const std::function<std::string(unsigned)> &locate) {
  Impl &s = *impl_;
  const proto::TargetDesc &t = target_;
  // Every return path waits for outstanding tile math.
  struct Drain {
    Lanes *l;
    ~Drain() { l->waitAll(); }
  } drain{s.lanes.get()};
  s.reset(fn, code, dram, dramBytes, args, stats, locate);
  RBLN_RETURN_IF_ERROR(s.eventLoop());

  stats.cycles = s.lastEnd;
  stats.deviceSeconds = s.lastEnd / (t.clock_ghz() * 1e9);
  stats.hostLaunchSeconds = t.cp().host_launch_us() * 1e-6;
  for (const Queue &q : s.queues)
    stats.engines.push_back({q.name, q.unit, q.busyCycles, q.commands});
  for (uint64_t h : s.spmHigh)
    stats.spmHighWater = std::max(stats.spmHighWater, h);
  if (!s.opts.tracePath.empty())
    return s.writeTrace();
  return Status::success();
}

} // namespace rbln::sim
