//===- Lanes.h - Per-NE worker lanes for the simulator's tile math -*- C++ -*-===//
//
// The event loop decides when every command starts; the arithmetic and data
// movement of an NE's commands (neural DMA, tensor, vector) then run on that
// NE's lane, in start order, while the loop goes on. Lanes are FIFO; NEs
// share lanes when there are fewer cores. Cross-lane ordering follows the
// program's own synchronization: a command whose semaphore was signalled by
// a command on another lane waits for that lane to reach that job first, and
// the CP waits for every lane before it touches memory itself.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rbln::sim {

class Lanes {
public:
  /// `lanes` = 0 runs every job inline.
  explicit Lanes(unsigned lanes) {
    for (unsigned i = 0; i < lanes; ++i)
      lanes_.push_back(std::make_unique<Lane>());
    for (auto &l : lanes_)
      l->thread = std::thread([lane = l.get()] { lane->loop(); });
  }
  ~Lanes() {
    for (auto &l : lanes_) {
      {
        std::lock_guard<std::mutex> g(l->mu);
        l->stop = true;
      }
      l->cv.notify_all();
      l->thread.join();
    }
  }
  unsigned size() const { return unsigned(lanes_.size()); }

  unsigned laneOf(unsigned ne) const { return lanes_.empty() ? 0 : ne % unsigned(lanes_.size()); }

  /// Queues `job` on the NE's lane; returns its sequence number in the lane.
  uint64_t submit(unsigned ne, std::function<void()> job) {
    if (lanes_.empty()) {
      job();
      return 0;
    }
    Lane &l = *lanes_[laneOf(ne)];
    uint64_t seq;
    {
      std::lock_guard<std::mutex> g(l.mu);
      l.jobs.push_back(std::move(job));
      ++l.pending;
      seq = ++l.submitted;
    }
    l.cv.notify_all();
    return seq;
  }
  /// Waits until job `seq` of `lane` (and all before it) has finished.
  void waitFor(unsigned lane, uint64_t seq) {
    if (lane < lanes_.size())
      lanes_[lane]->waitSeq(seq);
  }
  /// Waits until every job submitted for `ne` has finished.
  void wait(unsigned ne) {
    if (!lanes_.empty())
      lanes_[ne % lanes_.size()]->drain();
  }
  void waitAll() {
    for (auto &l : lanes_)
      l->drain();
  }

private:
  struct Lane {
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> jobs;
    size_t pending = 0;
    uint64_t submitted = 0, completed = 0;
    bool stop = false;
    void loop() {
      std::unique_lock<std::mutex> g(mu);
      while (true) {
        cv.wait(g, [&] { return stop || !jobs.empty(); });
        if (jobs.empty())
          return;
        std::function<void()> job = std::move(jobs.front());
        jobs.pop_front();
        g.unlock();
        job();
        g.lock();
        --pending;
        ++completed;
        cv.notify_all();
      }
    }
    void waitSeq(uint64_t seq) {
      std::unique_lock<std::mutex> g(mu);
      cv.wait(g, [&] { return completed >= seq; });
    }
    void drain() {
      std::unique_lock<std::mutex> g(mu);
      cv.wait(g, [&] { return pending == 0; });
    }
  };
  std::vector<std::unique_ptr<Lane>> lanes_;
};

} // namespace rbln::sim
