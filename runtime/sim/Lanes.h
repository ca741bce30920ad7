//===- Lanes.h - Per-NE lanes for the simulator's tile math -----*- C++ -*-===//
//
// The event loop decides when every command starts; the arithmetic and data
// movement of an NE's commands (neural DMA, tensor, vector) then run on that
// NE's lane, in start order, while the loop goes on. NEs share lanes when
// there are fewer lanes than NEs.
//
// With N threads, lanes 1..N-1 are worker threads and lane 0 belongs to the
// event loop's own thread, which runs lane 0's jobs as soon as what they
// wait for on other lanes is done (checked at every submit) and whenever it
// would otherwise wait: the loop's timing work and lane 0's arithmetic share
// one core, the workers have the others.
//
// Cross-lane ordering follows the program's own synchronization: a job whose
// command waits on a semaphore that a command on another lane signalled
// first waits for that lane to reach that job, and a job after a barrier for
// every lane's jobs before it (Simulator.cpp computes these waits). A job
// only ever waits for jobs submitted before it, and lanes run their jobs in
// order, so no lane waits forever. When the CP touches memory itself, a load
// waits for the queued DMAs writing what it reads, a store or task DMA for
// every lane.
//
// A decode step hands over ~10^4 jobs of a few microseconds each, so the
// handoff must cost far less than a futex wake-up or a heap allocation: each
// lane is a ring of fixed slots holding the job in place; workers spin
// briefly for the next job before they sleep, and waiters spin.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace rbln::sim {

class Lanes {
public:
  /// One job's wait: job `seq` of lane `lane` must have finished first.
  struct Dep {
    unsigned lane;
    uint64_t seq;
  };
  static constexpr unsigned kMaxDeps = 8;

  /// `threads` <= 1 runs every job inline, at submit, on the caller's
  /// thread; more make lane 0 the caller's and start threads - 1 workers.
  explicit Lanes(unsigned threads) {
    unsigned n = threads <= 1 ? 1 : threads;
    for (unsigned i = 0; i < n; ++i)
      lanes_.push_back(std::make_unique<Lane>());
    for (unsigned i = 1; i < n; ++i)
      lanes_[i]->thread = std::thread([this, i] { workerLoop(*lanes_[i]); });
  }
  ~Lanes() {
    for (unsigned i = 1; i < lanes_.size(); ++i) {
      Lane &l = *lanes_[i];
      {
        std::lock_guard<std::mutex> g(l.mu);
        l.stop.store(true, std::memory_order_seq_cst);
      }
      l.cv.notify_all();
      l.thread.join();
    }
  }
  Lanes(const Lanes &) = delete;
  Lanes &operator=(const Lanes &) = delete;

  unsigned size() const { return unsigned(lanes_.size()); }
  bool allInline() const { return lanes_.size() == 1; }
  /// The caller's lane takes NE 0 only (its thread also runs the event
  /// loop); the workers share the other NEs round-robin.
  unsigned laneOf(unsigned ne) const {
    return size() == 1 || ne == 0 ? 0 : 1 + (ne - 1) % (size() - 1);
  }

  /// Queues `job` on the NE's lane, to start once `deps` (jobs of other
  /// lanes) have finished; returns its sequence number in the lane. Inline:
  /// runs it at once and returns 0. Caller's thread only.
  template <class F>
  uint64_t submit(unsigned ne, F &&job, const Dep *deps = nullptr, unsigned numDeps = 0) {
    if (allInline()) {
      job();
      return 0;
    }
    for (unsigned i = kMaxDeps; i < numDeps; ++i) // (more lanes than a slot keeps)
      waitFor(deps[i].lane, deps[i].seq);
    unsigned lane = laneOf(ne);
    Lane &l = *lanes_[lane];
    uint64_t seq = l.queued.load(std::memory_order_relaxed) + 1;
    while (seq - l.completed.load(std::memory_order_acquire) > kRing) // full
      if (!runOwn())
        relax();
    l.put(seq, std::forward<F>(job), deps, numDeps);
    if (lane != 0 && l.sleeping.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> g(l.mu);
      l.cv.notify_one();
    }
    serve();
    return seq;
  }
  /// Runs the caller lane's jobs that can run now (whose waits on other
  /// lanes are over), so that no worker waits for them later and the caller
  /// never blocks here. Caller's thread.
  void serve() {
    if (allInline())
      return;
    while (runOwn(false)) {
    }
  }
  /// Waits until job `seq` of `lane` (and all before it) has finished,
  /// running the caller lane's jobs meanwhile. Caller's thread.
  void waitFor(unsigned lane, uint64_t seq) {
    if (allInline() || lane >= size())
      return;
    const Lane &l = *lanes_[lane];
    for (unsigned i = 0; l.completed.load(std::memory_order_acquire) < seq; ++i)
      if (!runOwn())
        backoff(i);
  }
  /// Whether job `seq` of `lane` has finished.
  bool finished(unsigned lane, uint64_t seq) const {
    return allInline() || lane >= size() ||
           lanes_[lane]->completed.load(std::memory_order_acquire) >= seq;
  }
  /// The sequence number of the last job submitted to `lane` (0: none).
  uint64_t submitted(unsigned lane) const {
    return allInline() ? 0 : lanes_[lane]->queued.load(std::memory_order_relaxed);
  }
  /// Waits for every job submitted so far. Caller's thread.
  void waitAll() {
    for (unsigned i = 0; i < size(); ++i)
      waitFor(i, lanes_[i]->queued.load(std::memory_order_relaxed));
  }

private:
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  static void backoff(unsigned i) {
    if (i < 4096)
      relax();
    else
      std::this_thread::yield();
  }
  static constexpr size_t kSlotBytes = 512;
  static constexpr uint64_t kRing = 1024;

  /// A job in place: the callable (or, if it is too large, a pointer to it).
  /// (Only the bytes written move between cores: the header comes first,
  /// next to the job, and jobs keep their captures small.)
  struct alignas(64) Slot {
    void (*run)(void *) = nullptr;
    void (*destroy)(void *) = nullptr;
    unsigned numDeps = 0;
    alignas(std::max_align_t) unsigned char store[kSlotBytes];
    Dep deps[kMaxDeps];
  };

  struct Lane {
    std::unique_ptr<Slot[]> ring{new Slot[kRing]};
    // Written by the producer and by the consumer: a cache line each, or
    // every handoff bounces one line between the cores.
    alignas(64) std::atomic<uint64_t> queued{0};
    alignas(64) std::atomic<uint64_t> completed{0};
    alignas(64) char pad = 0;
    // Worker lanes only:
    std::thread thread;
    std::atomic<bool> sleeping{false}, stop{false};
    std::mutex mu; ///< only for sleeping and waking
    std::condition_variable cv;

    template <class F> void put(uint64_t seq, F &&job, const Dep *deps, unsigned numDeps) {
      using Fn = std::decay_t<F>;
      Slot &s = ring[(seq - 1) % kRing];
      if constexpr (sizeof(Fn) <= kSlotBytes && alignof(Fn) <= alignof(std::max_align_t)) {
        new (s.store) Fn(std::forward<F>(job));
        s.run = [](void *p) { (*static_cast<Fn *>(p))(); };
        s.destroy = [](void *p) { static_cast<Fn *>(p)->~Fn(); };
      } else {
        *reinterpret_cast<Fn **>(s.store) = new Fn(std::forward<F>(job));
        s.run = [](void *p) { (**static_cast<Fn **>(p))(); };
        s.destroy = [](void *p) { delete *static_cast<Fn **>(p); };
      }
      s.numDeps = numDeps < kMaxDeps ? numDeps : kMaxDeps;
      for (unsigned i = 0; i < s.numDeps; ++i)
        s.deps[i] = deps[i];
      queued.store(seq, std::memory_order_seq_cst);
    }
  };

  /// Runs one job a lane holds, in order, once the jobs it waits for on
  /// other lanes have finished. (A job waiting for one of lane 0's spins
  /// until the caller's thread runs it: the caller runs lane 0's jobs at
  /// every submit and whenever it waits.)
  void runSlot(Lane &l, uint64_t index) {
    Slot &s = l.ring[index % kRing];
    for (unsigned i = 0; i < s.numDeps; ++i) {
      const Lane &d = *lanes_[s.deps[i].lane];
      for (unsigned k = 0; d.completed.load(std::memory_order_acquire) < s.deps[i].seq; ++k)
        backoff(k);
    }
    s.run(s.store);
    s.destroy(s.store);
    l.completed.store(index + 1, std::memory_order_release);
  }
  /// Runs the caller lane's next job, if it has one (and, unless `block`,
  /// only if the jobs it waits for have finished). Caller's thread.
  bool runOwn(bool block = true) {
    Lane &l = *lanes_[0];
    uint64_t done = l.completed.load(std::memory_order_relaxed);
    if (done == l.queued.load(std::memory_order_relaxed))
      return false;
    if (!block) {
      const Slot &s = l.ring[done % kRing];
      for (unsigned i = 0; i < s.numDeps; ++i)
        if (!finished(s.deps[i].lane, s.deps[i].seq))
          return false;
    }
    runSlot(l, done);
    return true;
  }
  void workerLoop(Lane &l) {
    uint64_t taken = 0;
    while (true) {
      // Spin a little for the next job: the event loop usually hands one
      // over within microseconds, and a futex wake-up costs more.
      for (int i = 0; i < 20000 && l.queued.load(std::memory_order_acquire) == taken; ++i)
        relax();
      if (l.queued.load(std::memory_order_acquire) == taken) {
        std::unique_lock<std::mutex> g(l.mu);
        l.sleeping.store(true, std::memory_order_seq_cst);
        while (l.queued.load(std::memory_order_seq_cst) == taken &&
               !l.stop.load(std::memory_order_seq_cst))
          l.cv.wait(g);
        l.sleeping.store(false, std::memory_order_relaxed);
        if (l.queued.load(std::memory_order_acquire) == taken)
          return; // stopped with nothing queued
      }
      runSlot(l, taken++);
    }
  }

  std::vector<std::unique_ptr<Lane>> lanes_;
};

} // namespace rbln::sim
