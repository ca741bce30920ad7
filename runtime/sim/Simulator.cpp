//===- Simulator.cpp - Functional and timing simulation -------------------===//
#include "Simulator.h"

#include "Lanes.h"

#include "rbln/runtime/DType.h"
#include "rbln/runtime/Target.h"

#ifdef RBLN_HAVE_CBLAS
#include <cblas.h>
#else
#include <Eigen/Core>
#endif

#include <algorithm>
#include <chrono>
#include <array>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <queue>

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
using namespace isa;

namespace {
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
  uint32_t runningPc = 0;
  uint64_t runningJob = 0; ///< lane job of the running command (0: none)
  double freeAt = 0;
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

/// The arithmetic of one mm: C (+)= op(A) op(B) on one NE's scratchpad.
void mmCompute(uint8_t *base, const Inst &in, DType dt, const uint8_t *aPtr, int64_t lda,
               const uint8_t *bPtr, int64_t ldb) {
  using namespace fld;
  int64_t m = in[Mm::m], n = in[Mm::n], k = in[Mm::k];
  unsigned es = dtypeSize(dt);
  std::vector<float> tmpA, tmpB;
#ifndef RBLN_HAVE_CBLAS
      using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      using Map = Eigen::Map<Mat>;
#endif
      // An operand of rows x cols with row stride ld (elements); f32 in
      // place, else converted into a dense copy (whose ld becomes cols).
      auto operand = [&](const uint8_t *p0, int64_t rows, int64_t cols, int64_t &ld,
                         std::vector<float> &tmp) -> float * {
        uint8_t *p = const_cast<uint8_t *>(p0);
        if (dt == DType::F32 && (reinterpret_cast<uintptr_t>(p) % alignof(float)) == 0)
          return reinterpret_cast<float *>(p);
        tmp.resize(size_t(rows * cols));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c)
            tmp[size_t(r * cols + c)] = loadAsFloat(p + (r * ld + c) * es, dt);
        ld = cols;
        return tmp.data();
      };
      // Stored shapes: a is m x k (k x m if ta), b is k x n (n x k if tb).
      float *a = operand(aPtr, in[Mm::ta] ? k : m, in[Mm::ta] ? m : k, lda, tmpA);
      float *b = operand(bPtr, in[Mm::tb] ? n : k, in[Mm::tb] ? k : n, ldb, tmpB);
      float *c = reinterpret_cast<float *>(base + in[Mm::c]);
#ifdef RBLN_HAVE_CBLAS
      // OpenBLAS picks kernels for the host CPU at run time. One row (a
      // decode step's GEMV) skips sgemm's packing of B: b is read once.
      if (m == 1) {
        // a is one row: with ta it is k x 1, its elements lda apart
        int incA = in[Mm::ta] ? int(lda) : 1;
        if (in[Mm::tb]) // b stored n x k: c = b a
          cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(k), 1.0f, b, int(ldb), a, incA,
                      in[Mm::acc] ? 1.0f : 0.0f, c, 1);
        else // b stored k x n: c = b^T a
          cblas_sgemv(CblasRowMajor, CblasTrans, int(k), int(n), 1.0f, b, int(ldb), a, incA,
                      in[Mm::acc] ? 1.0f : 0.0f, c, 1);
        return;
      }
      cblas_sgemm(CblasRowMajor, in[Mm::ta] ? CblasTrans : CblasNoTrans,
                  in[Mm::tb] ? CblasTrans : CblasNoTrans, int(m), int(n), int(k), 1.0f, a,
                  int(lda), b, int(ldb), in[Mm::acc] ? 1.0f : 0.0f, c, int(n));
#else
      Map cm(c, m, n);
      Map am(a, in[Mm::ta] ? k : m, in[Mm::ta] ? m : k);
      Map bm(b, in[Mm::tb] ? n : k, in[Mm::tb] ? k : n);
      auto run = [&](const auto &A, const auto &B) {
        if (in[Mm::acc])
          cm.noalias() += A * B;
        else
          cm.noalias() = A * B;
      };
      if (in[Mm::ta] && in[Mm::tb]) run(am.transpose(), bm.transpose());
      else if (in[Mm::ta]) run(am.transpose(), bm);
      else if (in[Mm::tb]) run(am, bm.transpose());
      else run(am, bm);
#endif
    }

} // namespace

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
  void settle(unsigned ne, int64_t off, uint64_t len, bool overwrite) {
    auto &v = lazy[ne];
    if (v.empty())
      return;
    int64_t end = off + int64_t(len);
    std::array<Lazy, 2> rest; // what stays lazy of one entry
    for (size_t i = 0; i < v.size();) {
      Lazy e = v[i];
      int64_t eEnd = e.off + int64_t(e.len);
      if (!(e.off < end && off < eEnd)) {
        ++i;
        continue;
      }
      v[i] = v.back();
      v.pop_back();
      int64_t rows = int64_t(e.len / e.rowBytes), rb = int64_t(e.rowBytes);
      auto copyRows = [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
          std::memcpy(spmOf(ne) + e.off + r * rb, e.src + r * int64_t(e.srcStride), size_t(rb));
      };
      if (!overwrite) {
        copyRows(0, rows);
        continue;
      }
      // About to be overwritten in [off, end): the rows wholly inside need
      // nothing, the (at most two) rows cut by an edge are copied, the rows
      // outside stay lazy. (A partly overlapped stale operand tile would
      // otherwise be copied whole.)
      int64_t firstIn = std::clamp<int64_t>((off - e.off + rb - 1) / rb, 0, rows);
      int64_t endIn = std::clamp<int64_t>((end - e.off) / rb, firstIn, rows);
      int64_t cutLo = std::clamp<int64_t>((off - e.off) / rb, 0, firstIn);
      int64_t cutHi = std::clamp<int64_t>((end - e.off + rb - 1) / rb, endIn, rows);
      copyRows(cutLo, firstIn);
      copyRows(endIn, cutHi);
      unsigned n = 0;
      if (cutLo > 0)
        rest[n++] = {e.off, uint64_t(cutLo * rb), e.src, e.rowBytes, e.srcStride};
      if (cutHi < rows)
        rest[n++] = {e.off + cutHi * rb, uint64_t((rows - cutHi) * rb),
                     e.src + cutHi * int64_t(e.srcStride), e.rowBytes, e.srcStride};
      for (unsigned k = 0; k < n; ++k)
        v.push_back(rest[k]); // (appended behind the scan: outside the range)
    }
  }
  /// Where an mm operand of `rows` x `rowBytes` is: in the weights (with
  /// their row stride) when one lazy entry holds it whole, else in the
  /// (settled) scratchpad, dense.
  std::pair<const uint8_t *, uint64_t> operandPtr(unsigned ne, int64_t off, uint64_t rows,
                                                  uint64_t rowBytes) {
    uint64_t len = rows * rowBytes;
    for (const Lazy &e : lazy[ne])
      if (e.off == off && e.len == len && e.rowBytes == rowBytes)
        return {e.src, e.srcStride};
    settle(ne, off, len, false);
    return {spmOf(ne) + off, rowBytes};
  }

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
  void awaitWrites(Space space, int64_t addr, uint64_t len) {
    size_t keep = 0;
    for (const PendingWrite &w : pendingWrites) {
      if (lanes->finished(w.lane, w.seq))
        continue;
      if (w.space == space && w.lo < addr + int64_t(len) && addr < w.hi)
        lanes->waitFor(w.lane, w.seq);
      else
        pendingWrites[keep++] = w;
    }
    pendingWrites.resize(keep);
  }

  // Per-run state.
  const proto::Function *fn = nullptr;
  const std::vector<Inst> *code = nullptr;
  uint8_t *dram = nullptr;
  uint64_t dramSize = 0;
  Stats *stats = nullptr;
  double dramFree = 0, shmFree = 0;
  std::vector<TraceEvent> trace;
  std::optional<Trap> trap;

  Impl(const proto::TargetDesc &target, Options &o) : t(target), opts(o) {
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
                  const char *what, uint64_t traffic = ~uint64_t(0)) {
    if (traffic == ~uint64_t(0))
      traffic = len;
    uint64_t size = 0;
    switch (space) {
    case Space::Dram: size = dramSize; break;
    case Space::Shm: size = t.shm_bytes(); break;
    case Space::Spm: size = t.spm_bytes(); break;
    }
    if (addr < 0 || uint64_t(addr) > size || len > size - uint64_t(addr)) {
      fail(fmt::format("{} out of bounds: {} bytes at {}[{:#x}] (the {} has {:#x} bytes)", what,
                       len, spaceName(space), addr, spaceName(space), size));
      return nullptr;
    }
    switch (space) {
    case Space::Dram:
      (write ? stats->dramWriteBytes : stats->dramReadBytes) += traffic;
      return dram;
    case Space::Shm:
      if (!shmPtr())
        break;
      (write ? stats->shmWriteBytes : stats->shmReadBytes) += traffic;
      return shmPtr();
    case Space::Spm:
      if (!spmOf(ne))
        break;
      (write ? stats->spmWriteBytes : stats->spmReadBytes) += traffic;
      spmHigh[ne] = std::max<uint64_t>(spmHigh[ne], uint64_t(addr) + len);
      touched.push_back({ne, addr, len, lazyReads && !write, false});
      return spmOf(ne);
    }
    // The host could not back the simulated memory (calloc failed).
    fail(fmt::format("{}: cannot allocate the {} bytes of simulated {} on the host", what, size,
                     spaceName(space)));
    return nullptr;
  }

  /// An engine operand in NE `ne`'s scratchpad: in bounds (as access) and
  /// aligned to its element size — the engines read and write whole
  /// elements, so a misaligned operand traps instead of reading torn ones.
  uint8_t *operand(unsigned ne, unsigned align, int64_t addr, uint64_t len, bool write,
                   const char *what) {
    if (align > 1 && addr % int64_t(align) != 0) {
      fail(fmt::format("{} at spm[{:#x}] is not aligned to its {}-byte elements", what, addr, align));
      return nullptr;
    }
    return access(Space::Spm, ne, addr, len, write, what);
  }

  // --- engine commands ----------------------------------------------------
  /// Executes the command at `pc` on queue `qi` starting at `now`; returns
  /// its duration in cycles.
  double execute(unsigned qi, const Cmd &cmd, double now) {
    const Inst &in = (*code)[cmd.pc];
    touched.clear();
    switch (in.unitKind()) {
    case Unit::TaskDma: case Unit::NeuralDma: return dma(qi, in, cmd, now);
    case Unit::Tensor: return mm(queues[qi].ne, in);
    case Unit::Vector: return vec(queues[qi].ne, in, cmd);
    case Unit::Cp: break;
    }
    return 0;
  }

  double dma(unsigned qi, const Inst &in, const Cmd &cmd, double now) {
    using namespace fld;
    const Queue &q = queues[qi];
    bool neural = in.op == Opcode::DmaNeural;
    Space ds = Space(in[DmaTask::dspace]), ss = Space(in[DmaTask::sspace]);
    for (Space sp : {ds, ss}) {
      if (!neural && sp == Space::Spm) {
        fail("task DMA cannot address a scratchpad (use dma.neural)");
        return 0;
      }
      if (neural && sp == Space::Dram && !t.neural_dma_dram_access()) {
        fail(fmt::format("target '{}' has no neural DMA path to DRAM", t.name()));
        return 0;
      }
    }
    const proto::DmaDesc &d = fn->dma_descs(int(in[DmaTask::desc]));
    DType st = DType(d.src_dtype()), dt = DType(d.dst_dtype());
    unsigned se = dtypeSize(st), de = dtypeSize(dt);
    int nd = d.sizes_size();
    int64_t sizes[4] = {1, 1, 1, 1}, sst[4] = {0, 0, 0, 0}, dst[4] = {0, 0, 0, 0};
    for (int i = 0; i < nd; ++i) {
      sizes[4 - nd + i] = d.sizes(i);
      sst[4 - nd + i] = d.src_strides(i);
      dst[4 - nd + i] = d.dst_strides(i);
    }
    uint64_t count = uint64_t(sizes[0] * sizes[1] * sizes[2] * sizes[3]);
    // Extent touched on each side: the last element's offset plus one.
    auto extent = [&](const int64_t *str, unsigned esz) -> int64_t {
      if (count == 0)
        return 0;
      int64_t last = 0;
      for (int i = 0; i < 4; ++i)
        last += (sizes[i] - 1) * str[i];
      return (last + 1) * int64_t(esz);
    };
    for (int i = 0; i < 4; ++i)
      if (sst[i] < 0 || dst[i] < 0) {
        fail("negative DMA stride");
        return 0;
      }
    // Addresses were computed from the registers at dispatch.
    int64_t saddr = cmd.srcAddr;
    int64_t daddr = cmd.dstAddr;
    int64_t sext = extent(sst, se), dext = extent(dst, de);
    uint8_t *sp = access(ss, q.ne, saddr, uint64_t(sext), false, "DMA source", count * se);
    if (!sp) return 0;
    uint8_t *dp = access(ds, q.ne, daddr, uint64_t(dext), true, "DMA destination", count * de);
    if (!dp) return 0;
    if (ds == Space::Spm) // wholly rewritten (a strided write copies older lazy bytes first)
      touched.back().overwrite = sst[3] >= 0 && dext == int64_t(count * de);
    auto copy = [=] {
      const uint8_t *s0 = sp + saddr;
      uint8_t *d0 = dp + daddr;
      bool rowCopy = st == dt && sst[3] == 1 && dst[3] == 1;
      for (int64_t i0 = 0; i0 < sizes[0]; ++i0)
        for (int64_t i1 = 0; i1 < sizes[1]; ++i1)
          for (int64_t i2 = 0; i2 < sizes[2]; ++i2) {
            int64_t so = i0 * sst[0] + i1 * sst[1] + i2 * sst[2];
            int64_t doff = i0 * dst[0] + i1 * dst[1] + i2 * dst[2];
            if (rowCopy) {
              std::memmove(d0 + doff * de, s0 + so * se, size_t(sizes[3]) * se);
              continue;
            }
            for (int64_t i3 = 0; i3 < sizes[3]; ++i3) {
              const uint8_t *sp3 = s0 + (so + i3 * sst[3]) * se;
              uint8_t *dp3 = d0 + (doff + i3 * dst[3]) * de;
              if (st == dt)
                std::memmove(dp3, sp3, se); // source and destination may overlap
              else
                storeFromFloat(dp3, dt, loadAsFloat(sp3, st));
            }
          }
    };
    // Dense weights into a scratchpad, element for element: lazily (above).
    // (rows of sizes[3] elements, dense in SPM, sst[2] apart in the weights)
    bool lazyCopy = neural && ds == Space::Spm && ss == Space::Dram && st == dt && sizes[0] == 1 &&
                    sizes[1] == 1 && sst[3] == 1 && dst[3] == 1 && dst[2] == sizes[3] &&
                    sst[2] >= sizes[3] && roLo && sp + saddr >= roLo && sp + saddr + sext <= roHi;
    if (opts.compute && count && lazyCopy) {
      const uint8_t *src = sp + saddr;
      unsigned ne = q.ne;
      uint64_t rowBytes = uint64_t(sizes[3]) * se, stride = uint64_t(sst[2]) * se;
      uint64_t len = uint64_t(sizes[2]) * rowBytes;
      submit(ne, [this, ne, daddr, len, src, rowBytes, stride] {
        lazy[ne].push_back({daddr, len, src, rowBytes, stride});
      });
    } else if (opts.compute && count) {
      if (neural) {
        submit(q.ne, copy);
        if (lastJob && ds != Space::Spm)
          pendingWrites.push_back({ds, daddr, daddr + dext, lanes->laneOf(q.ne), lastJob});
      } else {
        copy(); // task DMA runs here; the event loop drained the lanes first
      }
    }
    // Timing: setup, then the transfer at the slower of the engine link and
    // the shared DRAM channel. Runs shorter than a DRAM burst cost a burst.
    uint64_t runLen = 1;
    bool srcDense = sst[3] == 1, dstDense = dst[3] == 1;
    if (srcDense && dstDense)
      runLen = uint64_t(sizes[3]);
    uint64_t runs = runLen ? count / runLen : 0;
    uint64_t runBytes = runLen * std::max(se, de);
    bool touchesDram = ss == Space::Dram || ds == Space::Dram;
    uint64_t effBytes = touchesDram ? runs * std::max<uint64_t>(runBytes, t.dram_burst_bytes())
                                    : count * std::max(se, de);
    double link = neural ? t.neural_dma_bytes_per_cycle() : t.task_dma_bytes_per_cycle();
    double dataStart = now + t.dma_setup_cycles();
    double xfer = double(effBytes) / link;
    // The shared channels (DRAM, and SHM when the target gives its rate)
    // carry each side that lives on them.
    auto channel = [&](double &free, double bytes, double bytesPerCycle) {
      dataStart = std::max(dataStart, free);
      double onChannel = bytes / bytesPerCycle;
      free = dataStart + onChannel;
      xfer = std::max(xfer, onChannel);
    };
    int dramSides = (ss == Space::Dram) + (ds == Space::Dram);
    int shmSides = (ss == Space::Shm) + (ds == Space::Shm);
    if (dramSides)
      channel(dramFree, double(effBytes) * dramSides, dramBytesPerCycle(t));
    if (shmSides && t.shm_gbps() > 0)
      channel(shmFree, double(count * std::max(se, de)) * shmSides, shmBytesPerCycle(t));
    return dataStart + xfer - now;
  }

  double mm(unsigned ne, const Inst &in) {
    using namespace fld;
    int64_t m = in[Mm::m], n = in[Mm::n], k = in[Mm::k];
    DType dt = DType(in[Mm::in]);
    if (dt != DType::F32 && dt != DType::F16 && dt != DType::BF16) {
      fail(fmt::format("mm input type {} is not supported by the tensor engine", dtypeName(dt)));
      return 0;
    }
    unsigned es = dtypeSize(dt);
    lazyReads = true;
    uint8_t *base = operand(ne, es, in[Mm::a], uint64_t(m * k) * es, false, "mm operand a");
    bool okB = base && operand(ne, es, in[Mm::b], uint64_t(k * n) * es, false, "mm operand b");
    lazyReads = false;
    if (!okB || !operand(ne, 4, in[Mm::c], uint64_t(m * n) * 4, true, "mm accumulator c"))
      return 0;
    if (in[Mm::acc])
      stats->spmReadBytes += uint64_t(m * n) * 4;
    stats->tensorMacs += uint64_t(m * n * k);
    stats->tensorRooflineCycles += double(m * n * k) / (macsPerCycle(t, uint32_t(dt)) * t.num_ne());
    if (opts.compute && m && n && k)
      submit(ne, [this, ne, base, &in, dt, m, n, k, es] {
        // Stored shapes: a is m x k (k x m if ta), b is k x n (n x k if tb).
        uint64_t aCols = uint64_t(in[Mm::ta] ? m : k), bCols = uint64_t(in[Mm::tb] ? k : n);
        auto [a, aStride] = operandPtr(ne, in[Mm::a], uint64_t(m * k) / aCols, aCols * es);
        auto [b, bStride] = operandPtr(ne, in[Mm::b], uint64_t(k * n) / bCols, bCols * es);
        mmCompute(base, in, dt, a, int64_t(aStride / es), b, int64_t(bStride / es));
      });
    const auto &te = t.tensor();
    double padded = double((m + te.array_rows() - 1) / te.array_rows() * te.array_rows()) *
                    double((n + te.array_cols() - 1) / te.array_cols() * te.array_cols()) *
                    double(k);
    return padded / macsPerCycle(t, uint32_t(dt)) + te.pipeline_fill_cycles();
  }

  double vec(unsigned ne, const Inst &in, const Cmd &cmd) {
    using namespace fld;
    const auto &ve = t.vector();
    Opcode op = in.op;
    auto cost = [&](uint64_t elems, uint32_t perOp) {
      return double((elems + ve.lanes() - 1) / ve.lanes()) * perOp + ve.latency_cycles();
    };
    if (op == Opcode::VCast) {
      int64_t rows = in[VCast::rows], cols = in[VCast::cols];
      DType from = DType(in[VCast::from]), to = DType(in[VCast::to]);
      uint64_t nel = uint64_t(rows * cols);
      uint8_t *b = operand(ne, dtypeSize(from), in[VCast::src], nel * dtypeSize(from), false, "v.cast source");
      if (!b || !operand(ne, dtypeSize(to), in[VCast::dst], nel * dtypeSize(to), true, "v.cast destination"))
        return 0;
      if (opts.compute)
        submit(ne, [=, &in] { // (the instruction lives in the code vector; the job only reads it)
        // Through a temporary: source and destination may overlap.
        std::vector<float> tmp(nel);
        for (uint64_t i = 0; i < nel; ++i)
          tmp[i] = loadAsFloat(b + in[VCast::src] + i * dtypeSize(from), from);
        for (uint64_t i = 0; i < nel; ++i)
          storeFromFloat(b + in[VCast::dst] + i * dtypeSize(to), to, tmp[i]);
      });
      return cost(nel, ve.simple_op_cycles());
    }
    if (op == Opcode::VSoftmaxStep) {
      // One pass of FlashAttention's online softmax over s [rows, cols] with
      // the running statistics m, l and the rescale factor alpha stored as
      // three rows of `rows` floats at `stats`:
      //   x = scale * s; m' = max(m, max_c x); ms = m' == -inf ? 0 : m'
      //   s = exp(x - ms); alpha = exp(m - ms); l = alpha * l + sum_c s; m = m'
      int64_t rows = in[VSoftmaxStep::rows], cols = in[VSoftmaxStep::cols];
      uint64_t nel = uint64_t(rows * cols);
      uint8_t *b = operand(ne, 4, in[VSoftmaxStep::s], nel * 4, true, "softmax tile");
      if (!b || !operand(ne, 4, in[VSoftmaxStep::stats], uint64_t(3 * rows) * 4, true,
                        "softmax statistics"))
        return 0;
      if (opts.compute)
        submit(ne, [=, &in] {
          float *sp = reinterpret_cast<float *>(b + in[VSoftmaxStep::s]);
          float *m = reinterpret_cast<float *>(b + in[VSoftmaxStep::stats]);
          float *l = m + rows, *alpha = m + 2 * rows;
          float scale = bitsFloat(uint32_t(in[VSoftmaxStep::scale]));
          for (int64_t r = 0; r < rows; ++r) {
            float *x = sp + r * cols, mx = m[r];
            for (int64_t c = 0; c < cols; ++c) {
              x[c] *= scale;
              mx = (x[c] != x[c] || mx != mx) ? x[c] + mx : std::max(mx, x[c]);
            }
            float ms = std::isinf(mx) && mx < 0 ? 0.0f : mx, sum = 0;
            for (int64_t c = 0; c < cols; ++c) {
              x[c] = std::exp(x[c] - ms);
              sum += x[c];
            }
            alpha[r] = std::exp(m[r] - ms);
            l[r] = alpha[r] * l[r] + sum;
            m[r] = mx;
          }
        });
      // One read of the tile, one exp per element, one write.
      return cost(nel, ve.transcendental_op_cycles() + ve.simple_op_cycles());
    }
    if (op == Opcode::VMaskUpper) {
      int64_t rows = in[VMaskUpper::rows], cols = in[VMaskUpper::cols];
      // The diagonal clamped to where it still decides something (rows and
      // columns are field-sized): no overflow in rowStep * r + diag below.
      int64_t diag = std::clamp<int64_t>(wrapAdd(in[VMaskUpper::diag], cmd.reg), -rows - 1, cols + 1);
      int64_t rowStep = in[VMaskUpper::flat] ? 0 : 1;
      bool lower = in[VMaskUpper::lower] != 0;
      uint64_t nel = uint64_t(rows * cols);
      uint8_t *b = operand(ne, 4, in[VMaskUpper::src], nel * 4, false, "vector src");
      if (!b || !operand(ne, 4, in[VMaskUpper::dst], nel * 4, true, "vector dst"))
        return 0;
      if (opts.compute)
        submit(ne, [=, &in] {
          const float *src = reinterpret_cast<const float *>(b + in[VMaskUpper::src]);
          float *dst = reinterpret_cast<float *>(b + in[VMaskUpper::dst]);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
              dst[r * cols + c] = (lower ? c < rowStep * r + diag : c > rowStep * r + diag)
                                      ? -std::numeric_limits<float>::infinity()
                                               : src[r * cols + c];
        });
      return cost(nel, ve.simple_op_cycles());
    }
    bool binary = op >= Opcode::VAdd && op <= Opcode::VSel;
    if (binary) {
      int64_t rows = in[VAdd::rows], cols = in[VAdd::cols];
      uint64_t nel = uint64_t(rows * cols);
      Bcast bc = Bcast(in[VAdd::bcast]);
      uint64_t n1 = bc == Bcast::None ? nel : bc == Bcast::Row ? uint64_t(cols)
                                           : bc == Bcast::Col ? uint64_t(rows) : 0;
      uint8_t *b = operand(ne, 4, in[VAdd::src0], nel * 4, false, "vector src0");
      if (!b || (n1 && !operand(ne, 4, in[VAdd::src1], n1 * 4, false, "vector src1")) ||
          !operand(ne, 4, in[VAdd::dst], nel * 4, true, "vector dst"))
        return 0;
      if (opts.compute)
        submit(ne, [=, &in] {
        const float *s0 = reinterpret_cast<const float *>(b + in[VAdd::src0]);
        const float *s1 = reinterpret_cast<const float *>(b + in[VAdd::src1]);
        float *d = reinterpret_cast<float *>(b + in[VAdd::dst]);
        float imm = bitsFloat(uint32_t(in[VAdd::scalar]));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            float x = s0[r * cols + c];
            float y = bc == Bcast::None ? s1[r * cols + c]
                      : bc == Bcast::Row ? s1[c]
                      : bc == Bcast::Col ? s1[r] : imm;
            float z = 0;
            switch (op) {
            case Opcode::VAdd: z = x + y; break;
            case Opcode::VSub: z = x - y; break;
            case Opcode::VMul: z = x * y; break;
            case Opcode::VDiv: z = x / y; break;
            // max/min propagate NaN, as IEEE maximum/minimum and NumPy do.
            case Opcode::VMax: z = (x != x || y != y) ? x + y : std::max(x, y); break;
            case Opcode::VMin: z = (x != x || y != y) ? x + y : std::min(x, y); break;
            case Opcode::VPow: z = std::pow(x, y); break;
            case Opcode::VCmpEq: z = x == y; break;
            case Opcode::VCmpNe: z = x != y; break;
            case Opcode::VCmpLt: z = x < y; break;
            case Opcode::VCmpLe: z = x <= y; break;
            case Opcode::VCmpGt: z = x > y; break;
            case Opcode::VCmpGe: z = x >= y; break;
            case Opcode::VSel: z = x != 0.0f ? y : d[r * cols + c]; break;
            default: break;
            }
            d[r * cols + c] = z;
          }
      });
      return cost(nel, op == Opcode::VDiv || op == Opcode::VPow ? ve.transcendental_op_cycles()
                                                                 : ve.simple_op_cycles());
    }
    // Unary and row reductions share VUN fields.
    int64_t rows = in[VExp::rows], cols = in[VExp::cols];
    uint64_t nel = uint64_t(rows * cols);
    bool reduce = op == Opcode::VRedMax || op == Opcode::VRedSum;
    uint8_t *b = operand(ne, 4, in[VExp::src], nel * 4, false, "vector src");
    if (!b || !operand(ne, 4, in[VExp::dst], (reduce ? uint64_t(rows) : nel) * 4, true,
                      "vector dst"))
      return 0;
    if (opts.compute)
      submit(ne, [=, &in] {
      const float *s = reinterpret_cast<const float *>(b + in[VExp::src]);
      float *d = reinterpret_cast<float *>(b + in[VExp::dst]);
      if (reduce) {
        for (int64_t r = 0; r < rows; ++r) {
          float acc = op == Opcode::VRedMax ? -std::numeric_limits<float>::infinity() : 0.0f;
          for (int64_t c = 0; c < cols; ++c)
            acc = op == Opcode::VRedMax ? std::max(acc, s[r * cols + c]) : acc + s[r * cols + c];
          d[r] = acc;
        }
      } else {
        for (uint64_t i = 0; i < nel; ++i) {
          float x = s[i], z = x;
          switch (op) {
          case Opcode::VExp: z = std::exp(x); break;
          case Opcode::VLog: z = std::log(x); break;
          case Opcode::VSqrt: z = std::sqrt(x); break;
          case Opcode::VRsqrt: z = 1.0f / std::sqrt(x); break;
          case Opcode::VRecip: z = 1.0f / x; break;
          case Opcode::VNeg: z = -x; break;
          case Opcode::VTanh: z = std::tanh(x); break;
          case Opcode::VSigmoid: z = 1.0f / (1.0f + std::exp(-x)); break;
          case Opcode::VRelu: z = x < 0.0f ? 0.0f : x; break; // NaN stays NaN
          case Opcode::VCopy: z = x; break;
          case Opcode::VAbs: z = std::fabs(x); break;
          case Opcode::VErf: z = std::erf(x); break;
          case Opcode::VSin: z = std::sin(x); break;
          case Opcode::VCos: z = std::cos(x); break;
          case Opcode::VGelu: z = 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); break;
          case Opcode::VGeluTanh:
            z = 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
            break;
          case Opcode::VSilu: z = x / (1.0f + std::exp(-x)); break;
          default: break;
          }
          d[i] = z;
        }
      }
    });
    uint32_t per = reduce ? ve.reduce_op_cycles()
                   : (op == Opcode::VRelu || op == Opcode::VCopy || op == Opcode::VNeg ||
                      op == Opcode::VAbs)
                       ? ve.simple_op_cycles()
                       : ve.transcendental_op_cycles();
    return cost(nel, per);
  }

  std::vector<int64_t> regs = std::vector<int64_t>(kNumRegs, 0);
};

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
  stats = Stats();
  s.fn = &fn;
  s.code = &code;
  s.dram = dram;
  s.dramSize = dramBytes;
  s.stats = &stats;
  s.trap.reset();
  s.trace.clear();
  s.dramFree = 0;
  s.shmFree = 0;
  s.sems.assign(t.cp().num_semaphores(), 0);
  s.semJob.assign(t.cp().num_semaphores(), std::vector<uint64_t>(s.lanes->size(), 0));
  s.barrierJob.assign(s.lanes->size(), 0);
  std::fill(s.spmHigh.begin(), s.spmHigh.end(), 0);
  for (Queue &q : s.queues) {
    q.pending.reset(t.cp().queue_depth());
    q.busy = false;
    q.freeAt = 0;
    q.busyCycles = 0;
    q.commands = 0;
  }
  std::fill(s.regs.begin(), s.regs.end(), 0);
  s.lazy.assign(t.num_ne(), {});
  s.pendingWrites.clear();
  s.touched.clear();
  s.roLo = args.weightsBytes ? dram + args.weights : nullptr;
  s.roHi = s.roLo ? s.roLo + args.weightsBytes : nullptr;
  s.regs[1] = args.argBlock;
  s.regs[2] = args.weights;
  s.regs[3] = args.scratch;

  double now = 0, cpTime = 0, lastEnd = 0;
  uint32_t pc = 0;
  bool halted = false, cpBlocked = false;
  uint64_t steps = 0;
  std::priority_queue<std::pair<double, unsigned>, std::vector<std::pair<double, unsigned>>,
                      std::greater<>>
      inflight;

  auto where = [&](uint32_t at) {
    std::string loc = locate ? locate(at) : std::string();
    return fmt::format("trap in function '{}' at instruction {} `{}`{}", fn.name(), at,
                       at < code.size() ? disassemble(code[at]) : "?",
                       loc.empty() ? "" : fmt::format(" (ONNX node '{}')", loc));
  };
  // The queues that can start their next command (idle, a head whose waits
  // hold) as a bitset, and per semaphore the queues whose head waits for it.
  // Semaphores only grow, so a head that may start stays startable; a queue
  // is looked at again only when its head, its busy state or a semaphore it
  // waits on changes, not on every event (a decode step has ~10^5 events).
  std::vector<uint64_t> ready((s.queues.size() + 63) / 64, 0);
  std::vector<std::vector<unsigned>> semWaiters(t.cp().num_semaphores());
  std::vector<unsigned> woken;
  uint64_t active = 0; ///< commands pending or running, over all queues
  auto consider = [&](unsigned qi) {
    Queue &q = s.queues[qi];
    if (q.busy || q.pending.empty())
      return;
    for (const WaitCond &w : code[q.pending.front().pc].wait)
      if (w.active() && s.sems[w.sem] < int64_t(w.value)) {
        semWaiters[w.sem].push_back(qi);
        return;
      }
    ready[qi / 64] |= uint64_t(1) << (qi % 64);
  };
  auto allIdle = [&] { return active == 0; };

  auto runCp = [&]() -> Status {
    if (cpBlocked) {
      cpTime = std::max(cpTime, now);
      cpBlocked = false;
    }
    while (!halted) {
      if (pc >= code.size())
        return makeError("{}: the program ran past its last instruction without `halt`",
                         where(pc ? pc - 1 : 0));
      if (++steps > s.opts.maxCpSteps)
        return makeError("{}: the command processor executed {} instructions (runaway loop?)",
                         where(pc), s.opts.maxCpSteps);
      const Inst &in = code[pc];
      if (in.unitKind() != Unit::Cp) {
        Queue &q = s.queues[s.queueOf(in)];
        if (q.pending.size() + (q.busy ? 1 : 0) >= t.cp().queue_depth()) {
          cpBlocked = true;
          --steps;
          return Status::success();
        }
        Cmd cmd{pc, cpTime + t.cp().dispatch_cycles()};
        if (in.op == Opcode::DmaTask || in.op == Opcode::DmaNeural) {
          // Addresses are taken from the registers at dispatch: the CP may
          // change them before the command starts.
          using namespace fld;
          cmd.srcAddr = wrapAdd(s.regs[in[DmaTask::sreg]], in[DmaTask::soff]);
          cmd.dstAddr = wrapAdd(s.regs[in[DmaTask::dreg]], in[DmaTask::doff]);
        } else if (in.op == Opcode::VMaskUpper) {
          cmd.reg = s.regs[in[fld::VMaskUpper::rdiag]];
        }
        q.pending.push_back(cmd);
        ++active;
        if (q.pending.size() == 1)
          consider(unsigned(&q - s.queues.data()));
        cpTime += t.cp().dispatch_cycles();
        if (++stats.commands > s.opts.maxCommands)
          return makeError("{}: the program dispatched {} engine commands (runaway loop?)", where(pc),
                           s.opts.maxCommands);
        ++pc;
        continue;
      }
      ++stats.cpInstructions;
      using namespace fld;
      auto &r = s.regs;
      auto alu = [&](auto f) {
        int64_t v = f(r[in[Add::ra]], wrapAdd(r[in[Add::rb]], in[Add::imm]));
        if (in[Add::rd] != 0)
          r[in[Add::rd]] = v;
      };
      uint32_t next = pc + 1;
      switch (in.op) {
      case Opcode::Li:
        if (in[Li::rd] != 0) r[in[Li::rd]] = in[Li::imm];
        break;
      case Opcode::Add: alu([](int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }); break;
      case Opcode::Sub: alu([](int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }); break;
      case Opcode::Mul: alu([](int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }); break;
      case Opcode::Shl: alu([](int64_t a, int64_t b) { return b < 0 || b > 63 ? 0 : int64_t(uint64_t(a) << b); }); break;
      case Opcode::Shr: alu([](int64_t a, int64_t b) { return b < 0 || b > 63 ? 0 : int64_t(uint64_t(a) >> b); }); break;
      case Opcode::And: alu([](int64_t a, int64_t b) { return a & b; }); break;
      case Opcode::Min: alu([](int64_t a, int64_t b) { return std::min(a, b); }); break;
      case Opcode::Max: alu([](int64_t a, int64_t b) { return std::max(a, b); }); break;
      case Opcode::Div:
        alu([](int64_t a, int64_t b) {
          return b == 0 || (a == std::numeric_limits<int64_t>::min() && b == -1) ? 0 : a / b;
        });
        break;
      case Opcode::Ld32: case Opcode::Ld64: case Opcode::St32: case Opcode::St64: {
        bool load = in.op == Opcode::Ld32 || in.op == Opcode::Ld64;
        unsigned bytes = (in.op == Opcode::Ld32 || in.op == Opcode::St32) ? 4 : 8;
        Space space = Space(in[Ld32::space]);
        if (space == Space::Spm)
          return makeError("{}: the command processor cannot access a scratchpad", where(pc));
        int64_t addr = wrapAdd(r[in[Ld32::ra]], in[Ld32::imm]);
        // The CP sees memory as the engines left it: a load waits for the
        // lane jobs still writing those bytes, a store for every lane job
        // (any of them may read them).
        if (load)
          s.awaitWrites(space, addr, bytes);
        else
          s.lanes->waitAll();
        uint8_t *base = s.access(space, 0, addr, bytes, !load, load ? "CP load" : "CP store");
        if (!base)
          return makeError("{}: {}", where(pc), s.trap->message);
        if (load) {
          int64_t v = 0;
          if (bytes == 4) {
            int32_t x;
            std::memcpy(&x, base + addr, 4);
            v = x;
          } else {
            std::memcpy(&v, base + addr, 8);
          }
          if (in[Ld32::rd] != 0) r[in[Ld32::rd]] = v;
        } else {
          int64_t v = r[in[St32::rs]];
          std::memcpy(base + addr, &v, bytes);
        }
        break;
      }
      case Opcode::Blt: if (r[in[Blt::ra]] < r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
      case Opcode::Bge: if (r[in[Blt::ra]] >= r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
      case Opcode::Beq: if (r[in[Blt::ra]] == r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
      case Opcode::Bne: if (r[in[Blt::ra]] != r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
      case Opcode::Jmp: next = uint32_t(in[Jmp::target]); break;
      case Opcode::Trap: {
        int64_t code = in[fld::Trap::code];
        return makeError("{}: {}", where(pc),
                         code == 1   ? std::string("index out of range")
                         : code == 2 ? std::string("position out of range (past --max-seq-len)")
                         : code == 3 ? std::string("KV block id out of range")
                                     : fmt::format("error code {}", code));
      }
      case Opcode::Wait:
        if (!s.waitsHold(in)) {
          cpBlocked = true;
          --steps;
          --stats.cpInstructions;
          return Status::success();
        }
        break;
      case Opcode::Barrier: case Opcode::Halt:
        if (!allIdle()) {
          cpBlocked = true;
          --steps;
          --stats.cpInstructions;
          return Status::success();
        }
        if (in.op == Opcode::Barrier) {
          // Later commands rely on everything before the barrier being done,
          // with or without semaphores: their jobs wait for every lane's
          // jobs up to here (the event loop itself goes on).
          for (unsigned l = 0; l < s.lanes->size(); ++l)
            s.barrierJob[l] = s.lanes->submitted(l);
        } else {
          s.lanes->waitAll();
          halted = true;
          lastEnd = std::max({lastEnd, cpTime, now});
          return Status::success();
        }
        break;
      default:
        break;
      }
      cpTime += t.cp().scalar_op_cycles();
      pc = next;
    }
    return Status::success();
  };

  // The wall-clock watchdog, looked at every 16 events (one event can be a
  // multi-million-element vector command; a clock read costs ~20 ns).
  auto started = std::chrono::steady_clock::now();
  uint64_t events = 0;
  while (true) {
    Status st = runCp();
    if (!st.ok())
      return st;
    if (s.opts.maxWallSeconds > 0 && (++events & 15) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >
            s.opts.maxWallSeconds)
      return makeError("{}: the simulation ran for more than {} s of wall time (--timeout)",
                       where(pc < code.size() ? pc : 0), s.opts.maxWallSeconds);
    // The earliest engine command that can start, against the earliest
    // completion: whichever comes first happens next.
    // (Ties go to the lowest queue index.)
    double best = kInf;
    unsigned bestQ = 0;
    for (unsigned w = 0; w < ready.size(); ++w)
      for (uint64_t bits = ready[w]; bits; bits &= bits - 1) {
        unsigned qi = w * 64 + unsigned(__builtin_ctzll(bits));
        const Queue &q = s.queues[qi];
        double start = std::max({now, q.freeAt, q.pending.front().dispatch});
        if (start < best) {
          best = start;
          bestQ = qi;
        }
      }
    double tc = inflight.empty() ? kInf : inflight.top().first;
    if (best < kInf && best <= tc) {
      now = best;
      if (now > s.opts.maxCycles)
        return makeError("{}: the modeled time passed {:.0f} cycles (runaway loop?)",
                         where(s.queues[bestQ].pending.front().pc), s.opts.maxCycles);
      Queue &q = s.queues[bestQ];
      Cmd cmd = q.pending.front();
      q.pending.pop_front();
      ready[bestQ / 64] &= ~(uint64_t(1) << (bestQ % 64));
      const Inst &started = code[cmd.pc];
      bool onLane = started.unitKind() != Unit::TaskDma;
      if (onLane)
        s.orderAfterSignals(started, s.lanes->laneOf(q.ne));
      else
        s.lanes->waitAll(); // task DMA works on DRAM and SHM from this thread
      s.lastJob = 0;
      double dur = s.execute(bestQ, cmd, now);
      if (onLane && !s.lastJob && !s.deps.empty() && !s.lanes->allInline())
        // No work of its own (zero-sized, timing only): a stand-in job passes
        // its order on to whatever waits for its signal.
        s.lastJob = s.lanes->submit(q.ne, [] {}, s.deps.data(), unsigned(s.deps.size()));
      s.deps.clear();
      q.runningJob = onLane ? s.lastJob : 0;
      if (s.trap)
        return makeError("{}: {}", where(cmd.pc), s.trap->message);
      q.busy = true;
      q.runningPc = cmd.pc;
      q.freeAt = now + dur;
      q.busyCycles += dur;
      ++q.commands;
      inflight.push({now + dur, bestQ});
      if (!s.opts.tracePath.empty())
        s.trace.push_back({bestQ, cmd.pc, now, dur});
      continue;
    }
    if (tc < kInf) {
      now = tc;
      unsigned qi = inflight.top().second;
      inflight.pop();
      Queue &q = s.queues[qi];
      q.busy = false;
      --active;
      lastEnd = std::max(lastEnd, now);
      const Inst &done = code[q.runningPc];
      if (done.signal != kNoSem) {
        ++s.sems[done.signal];
        if (q.runningJob) {
          uint64_t &j = s.semJob[done.signal][s.lanes->laneOf(q.ne)];
          j = std::max(j, q.runningJob);
        }
        woken.swap(semWaiters[done.signal]); // (a head may wait on it again)
        for (unsigned w : woken)
          consider(w);
        woken.clear();
      }
      consider(qi);
      continue;
    }
    if (halted)
      break;
    // Nothing runs, nothing completes, and the CP cannot go on: deadlock.
    std::string why;
    for (const Queue &q : s.queues) {
      if (q.pending.empty())
        continue;
      const Inst &h = code[q.pending.front().pc];
      for (const WaitCond &w : h.wait)
        if (w.active() && s.sems[w.sem] < int64_t(w.value))
          why += fmt::format("; {} waits for s{}>={} (s{}={}) at instruction {}", q.name,
                             unsigned(w.sem), w.value, unsigned(w.sem), s.sems[w.sem],
                             q.pending.front().pc);
    }
    return makeError("{}: deadlock: no engine can make progress{}", where(pc), why);
  }

  stats.cycles = lastEnd;
  stats.deviceSeconds = lastEnd / (t.clock_ghz() * 1e9);
  stats.hostLaunchSeconds = t.cp().host_launch_us() * 1e-6;
  for (const Queue &q : s.queues)
    stats.engines.push_back({q.name, q.unit, q.busyCycles, q.commands});
  for (uint64_t h : s.spmHigh)
    stats.spmHighWater = std::max(stats.spmHighWater, h);

  if (!s.opts.tracePath.empty()) {
    std::ofstream out(s.opts.tracePath);
    if (!out)
      return makeError("cannot write trace '{}'", s.opts.tracePath);
    double usPerCycle = 1e-3 / t.clock_ghz();
    out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    out << fmt::format("{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{{\"name\":\"{} ({})\"}}}}",
                       t.name(), fn.name());
    for (unsigned qi = 0; qi < s.queues.size(); ++qi)
      out << fmt::format(",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":\"{}\"}}}}",
                         qi, s.queues[qi].name);
    for (const TraceEvent &e : s.trace) {
      std::string loc = locate ? locate(e.pc) : std::string();
      std::string safe;
      for (char c : loc)
        safe += (c == '"' || c == '\\') ? '_' : c;
      out << fmt::format(",\n{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\",\"pid\":1,\"tid\":{},"
                         "\"ts\":{:.4f},\"dur\":{:.4f},\"args\":{{\"pc\":{},\"node\":\"{}\"}}}}",
                         code[e.pc].spec().mnemonic, unitName(s.queues[e.queue].unit), e.queue,
                         e.start * usPerCycle, e.dur * usPerCycle, e.pc, safe);
    }
    out << "\n]}\n";
  }
  return Status::success();
}

} // namespace rbln::sim
