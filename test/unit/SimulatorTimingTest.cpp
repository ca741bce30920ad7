//===- SimulatorTimingTest.cpp - The timing model, term by term -------------===//
//
// Each test writes a small program by hand, runs it on the `tiny` target and
// checks the result against a plain reference computed here.
//
//===----------------------------------------------------------------------===//
#include "SimProgram.h"
#include "rbln/runtime/Artifact.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace rbln;
using namespace rbln::isa;
using namespace rbln::test;

namespace {
/// `mm` of m = n = k = `size` on NE 0: a at SPM 0, b at `b`, c at `c`.
Inst squareMm(int64_t size, DType in, int64_t b, int64_t c) { return Prog::mm(0, c, 0, b, size, size, size, in); }
} // namespace

TEST(SimulatorTiming, DmaCostsSetupPlusBytesOverBandwidth) {
  Prog p;
  int d = p.desc(DType::F32, DType::F32, {1024}, {1}, {1}); // 4 KiB contiguous
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
  ASSERT_TRUE(p.run().ok());
  const auto &t = p.t;
  double link = 4096.0 / t.neural_dma_bytes_per_cycle();
  double dram = 4096.0 / dramBytesPerCycle(t);
  double want = t.cp().dispatch_cycles() + t.dma_setup_cycles() + std::max(link, dram);
  EXPECT_NEAR(p.stats.cycles, want, 1e-6);
}

TEST(SimulatorTiming, DramCarriesTheDramSidesBytes) {
  // 64 Ki int8 elements widened to f16 in SPM: the link moves 2 bytes per
  // element, DRAM 1. With a link much faster than DRAM the transfer takes
  // the int8 bytes' DRAM time, half of an f16 copy's.
  auto run = [](DType from) {
    Prog p;
    p.t.set_neural_dma_bytes_per_cycle(1024);
    int d = p.desc(from, DType::F16, {65536}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  const auto &t = Prog().t;
  double fixed = t.cp().dispatch_cycles() + t.dma_setup_cycles();
  double i8 = run(DType::I8) - fixed, f16 = run(DType::F16) - fixed, i4 = run(DType::I4) - fixed;
  EXPECT_NEAR(i8, 65536.0 / dramBytesPerCycle(t), 1e-6);
  EXPECT_NEAR(f16, 2 * i8, 1e-6);
  EXPECT_NEAR(i4, i8 / 2, 1e-6); // int4: two elements a byte
}

TEST(SimulatorTiming, DramBandwidthIsShared) {
  // Two NEs each move 64 KiB from DRAM at once: they cannot both run at the
  // full DRAM rate, so the pair takes about twice one transfer.
  auto run = [](int nes) {
    Prog p;
    int d = p.desc(DType::F32, DType::F32, {16384}, {1}, {1});
    for (int ne = 0; ne < nes; ++ne)
      p.add(Prog::dma(Opcode::DmaNeural, unsigned(ne * p.t.neural_dma_queues_per_ne()), Space::Spm,
                      0, Space::Dram, 65536 * ne, d));
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  double one = run(1), two = run(2);
  EXPECT_GT(two, 1.8 * one);
  EXPECT_LT(two, 2.2 * one);
}

TEST(SimulatorTiming, ShmBandwidthIsSharedAndOffTheDramChannel) {
  // Four NEs each read 64 KiB from SHM at once. The SHM channel (shm_gbps)
  // carries all of them; DRAM carries none. Without the SHM rate only each
  // queue's link bounds them, so they run side by side.
  auto run = [](int nes, double shmGbps, double *dramBytes = nullptr) {
    Prog p;
    p.t.set_num_ne(4);
    p.t.set_shm_gbps(shmGbps);
    int d = p.desc(DType::F32, DType::F32, {16384}, {1}, {1});
    for (int ne = 0; ne < nes; ++ne)
      p.add(Prog::dma(Opcode::DmaNeural, unsigned(ne * p.t.neural_dma_queues_per_ne()), Space::Spm,
                      0, Space::Shm, 65536 * ne, d));
    EXPECT_TRUE(p.run().ok());
    if (dramBytes)
      *dramBytes = double(p.stats.dramReadBytes + p.stats.dramWriteBytes);
    return p.stats.cycles;
  };
  double dram = -1;
  double one = run(1, 16), four = run(4, 16, &dram);
  EXPECT_EQ(dram, 0);
  // 16 GB/s at 1 GHz is the tiny link's 16 B/cycle: four readers take 4x.
  EXPECT_GT(four, 3.6 * one);
  EXPECT_LT(four, 4.4 * one);
  EXPECT_LT(run(4, 0), 1.2 * run(1, 0));
}

TEST(SimulatorTiming, ShortRunsCostWholeBursts) {
  auto run = [](bool strided) {
    Prog p;
    int d = strided ? p.desc(DType::F32, DType::F32, {4096}, {16}, {1})
                    : p.desc(DType::F32, DType::F32, {4096}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  // 4-byte runs each pay a 32-byte burst on tiny: about 8x the contiguous time.
  EXPECT_GT(run(true), 6 * run(false));
}

TEST(SimulatorTiming, BroadcastSourceIsReadOnce) {
  // One f32 scalar repeated over 4096 SPM elements (stride 0) is read once
  // (one burst on the channel, not a burst per element): no slower than a
  // contiguous 16 KiB copy, bound by the link writing the SPM side.
  auto run = [](int64_t stride) {
    Prog p;
    int d = p.desc(DType::F32, DType::F32, {4096}, {stride}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    EXPECT_TRUE(p.run().ok());
    return std::pair{p.stats.cycles, p.stats.dramReadBytes};
  };
  auto [bcast, bcastBytes] = run(0);
  auto [dense, denseBytes] = run(1);
  Prog p;
  EXPECT_EQ(bcastBytes, 4u);
  EXPECT_EQ(denseBytes, 16384u);
  EXPECT_LE(bcast, dense);
  double link = 16384.0 / p.t.neural_dma_bytes_per_cycle();
  EXPECT_NEAR(bcast, p.t.cp().dispatch_cycles() + p.t.dma_setup_cycles() + link, 1.0);
}

TEST(SimulatorTiming, MatmulRateAndUtilizationBounds) {
  Prog p;
  p.add(squareMm(64, DType::F16, 16384, 32768));
  p.opts.compute = false;
  ASSERT_TRUE(p.run().ok());
  // tiny's 8x8 array at 2 FP16 MACs per PE and the chip's clock: 128 per cycle.
  double macs = 8 * 8 * 2;
  EXPECT_EQ(macsPerCycle(p.t, uint32_t(DType::F16)), macs);
  double want = 64.0 * 64 * 64 / macs + p.t.tensor().pipeline_fill_cycles();
  const sim::EngineStats *ne0 = nullptr;
  for (const auto &e : p.stats.engines)
    if (e.name == "ne0.tensor")
      ne0 = &e;
  ASSERT_NE(ne0, nullptr);
  EXPECT_NEAR(ne0->busyCycles, want, 1e-6);
  // One NE's tensor engine busy for `want` of the run's cycles: the class
  // average over the target's NEs; nothing else ran.
  unsigned numNe = p.t.num_ne();
  EXPECT_NEAR(p.stats.utilization(Unit::Tensor), want / (numNe * p.stats.cycles), 1e-12);
  EXPECT_EQ(p.stats.utilization(Unit::Vector), 0.0);
  EXPECT_EQ(p.stats.utilization(Unit::NeuralDma), 0.0);
  // The roofline: the MACs at every NE's peak; one mm on one NE reaches at
  // most 1/numNe of it, less its pipeline fill.
  EXPECT_EQ(p.stats.tensorMacs, 64u * 64 * 64);
  double roof = 64.0 * 64 * 64 / (macs * numNe);
  EXPECT_NEAR(p.stats.tensorRooflineCycles, roof, 1e-9);
  EXPECT_LT(p.stats.tensorRooflineCycles / p.stats.cycles, 1.0 / numNe);
}

TEST(SimulatorTiming, Fp8ModeRunsAtTheTargetsFp8Rate) {
  // tiny's FP8 mode: 4 MACs per PE, twice its FP16 rate, so the same mm
  // takes half the array time; a target without an FP8 rate (atom: none
  // published) refuses FP8 operands, in the validator and the simulator.
  auto busy = [](DType in) {
    Prog p;
    p.add(squareMm(64, in, 16384, 32768));
    p.opts.compute = false;
    EXPECT_TRUE(validateFunctionCode(p.fn, p.code, p.t).ok());
    EXPECT_TRUE(p.run().ok());
    for (const auto &e : p.stats.engines)
      if (e.name == "ne0.tensor")
        return e.busyCycles - p.t.tensor().pipeline_fill_cycles();
    return -1.0;
  };
  EXPECT_EQ(macsPerCycle(*loadTarget("tiny"), uint32_t(DType::F8E4M3FN)), 8.0 * 8 * 4);
  EXPECT_NEAR(busy(DType::F8E4M3FN), busy(DType::F16) / 2, 1e-9);
  EXPECT_NEAR(busy(DType::F8E5M2), busy(DType::F16) / 2, 1e-9);
  Prog atom;
  atom.t = *loadTarget("atom");
  atom.add(squareMm(64, DType::F8E4M3FN, 16384, 32768));
  EXPECT_FALSE(validateFunctionCode(atom.fn, atom.code, atom.t).ok());
  atom.opts.compute = false;
  EXPECT_FALSE(atom.run().ok());
}

TEST(SimulatorTiming, VectorCostClassesChargeTheirRates) {
  // Distinct per-element rates, so each cost class of Isa.def is told apart:
  // one command of each on a 10x100 tile (1000 elements, 8 lanes: 125 lane
  // groups) is charged its class's rate per group plus the latency.
  const uint32_t simple = 2, transcendental = 7, reduce = 5, lanes = 8, latency = 11;
  struct Case {
    Opcode op;
    double perGroup;
  } cases[] = {{Opcode::VAdd, simple},
               {Opcode::VDiv, transcendental},
               {Opcode::VExp, transcendental},
               {Opcode::VRelu, simple},
               {Opcode::VRedSum, reduce},
               {Opcode::VMaskUpper, simple},
               {Opcode::VCast, simple},
               // scale + row max, exp + row sum
               {Opcode::VSoftmaxStep, simple + reduce + transcendental + reduce}};
  for (const Case &c : cases) {
    Prog p;
    auto *ve = p.t.mutable_vector();
    ve->set_lanes(lanes);
    ve->set_simple_op_cycles(simple);
    ve->set_transcendental_op_cycles(transcendental);
    ve->set_reduce_op_cycles(reduce);
    ve->set_latency_cycles(latency);
    Inst in(c.op, 0);
    // rows and cols sit at the same field index in every vector layout
    // that has them; set them by name.
    const InstSpec &sp = spec(c.op);
    in[unsigned(sp.fieldIndex("rows"))] = 10;
    in[unsigned(sp.fieldIndex("cols"))] = 100;
    if (c.op == Opcode::VCast) {
      in[fld::VCast::from] = int64_t(DType::F32);
      in[fld::VCast::to] = int64_t(DType::F32);
    }
    if (c.op == Opcode::VSoftmaxStep)
      in[fld::VSoftmaxStep::stats] = 8192;
    else
      in[unsigned(sp.fieldIndex("dst"))] = 8192;
    p.add(in);
    p.opts.compute = false;
    ASSERT_TRUE(p.run().ok()) << sp.mnemonic;
    double busy = 0;
    for (const auto &e : p.stats.engines)
      if (e.name == "ne0.vector")
        busy = e.busyCycles;
    EXPECT_NEAR(busy, 125 * c.perGroup + latency, 1e-9) << sp.mnemonic;
  }
}

TEST(SimulatorTiming, NoComputeGivesTheSameTiming) {
  auto run = [](bool compute) {
    Prog p;
    p.opts.compute = compute;
    int d = p.desc(DType::F32, DType::F16, {32, 32}, {32, 1}, {32, 1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 4096, Space::Dram, 4096, d)).signal = 0;
    p.add(squareMm(32, DType::F16, 4096, 8192)).wait[0] = {0, 1};
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  EXPECT_EQ(run(true), run(false));
}

// --- The calibrated terms (target.proto): each test sets one on `tiny`
// (which models none of them) and checks what it adds. -----------------------

namespace {
/// One 4 KiB DMA DRAM -> SPM as `runs` runs of 4096/runs bytes, `stride`
/// bytes apart in DRAM; returns the run's cycles.
double dramRead(Prog &p, int runs, int64_t stride) {
  int64_t runElems = 1024 / runs;
  int d = p.desc(DType::F32, DType::F32, {runs, runElems}, {stride / 4, 1}, {runElems, 1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
  EXPECT_TRUE(p.run().ok());
  return p.stats.cycles;
}
double ideal4KiB(const proto::TargetDesc &t) {
  return t.cp().dispatch_cycles() + t.dma_setup_cycles() + 4096.0 / dramBytesPerCycle(t);
}
} // namespace

TEST(SimulatorTiming, TensorRateFollowsTheArrayShapeAndClock) {
  auto busy = [](auto edit) {
    Prog p;
    edit(p.t);
    p.add(squareMm(64, DType::F16, 16384, 32768));
    p.opts.compute = false;
    EXPECT_TRUE(p.run().ok());
    for (const auto &e : p.stats.engines)
      if (e.name == "ne0.tensor")
        return e.busyCycles - p.t.tensor().pipeline_fill_cycles();
    return -1.0;
  };
  double base = busy([](proto::TargetDesc &) {});
  EXPECT_NEAR(base, 64.0 * 64 * 64 / (8 * 8 * 2), 1e-9);
  // Twice the columns, or the array at twice the chip's clock: half the time.
  EXPECT_NEAR(busy([](proto::TargetDesc &t) { t.mutable_tensor()->set_array_cols(16); }), base / 2, 1e-9);
  EXPECT_NEAR(busy([](proto::TargetDesc &t) { t.mutable_tensor()->set_clock_ghz(2.0); }), base / 2, 1e-9);
  EXPECT_NEAR(busy([](proto::TargetDesc &t) { t.mutable_tensor()->set_fp16_macs_per_pe(4); }), base / 2, 1e-9);
  // A description from before version 1.3 gives the rate per cycle.
  EXPECT_NEAR(busy([](proto::TargetDesc &t) {
                auto *te = t.mutable_tensor();
                te->set_fp16_macs_per_pe(0), te->set_bf16_macs_per_pe(0), te->set_fp32_macs_per_pe(0);
                te->set_int8_macs_per_pe(0), te->set_fp16_macs_per_cycle(512);
              }),
              base / 4, 1e-9);
}

TEST(SimulatorTiming, DramRowActivationsCostWhatTheBanksCannotHide) {
  // One channel of 2 banks, 256-byte pages, 40 ns (cycles on tiny) per row
  // miss: each activation costs 20 cycles of channel time.
  auto run = [](int runs, int64_t stride, double rowMiss) {
    Prog p;
    auto *d = p.t.mutable_dram();
    d->set_channels(1), d->set_banks_per_channel(2), d->set_page_bytes(256);
    d->set_row_miss_ns(rowMiss);
    return dramRead(p, runs, stride);
  };
  double ideal = ideal4KiB(Prog().t);
  EXPECT_NEAR(run(1, 4096, 0), ideal, 1e-9);
  EXPECT_NEAR(run(1, 4096, 40), ideal + 16 * 20, 1e-9);   // contiguous: 16 pages
  EXPECT_NEAR(run(16, 1024, 40), ideal + 16 * 20, 1e-9);  // 256-byte rows: one page each
  EXPECT_NEAR(run(64, 1024, 40), ideal + 64 * 20, 1e-9);  // 64-byte rows: a page each
  EXPECT_NEAR(run(64, 64, 40), ideal + 16 * 20, 1e-9);    // adjacent rows merge: 16 pages
}

TEST(SimulatorTiming, DramRefreshStretchesChannelTime) {
  Prog p;
  p.t.mutable_dram()->set_refresh_interval_ns(1000);
  p.t.mutable_dram()->set_refresh_ns(100);
  const auto &t = p.t;
  double cycles = dramRead(p, 1, 4096);
  EXPECT_NEAR(cycles, t.cp().dispatch_cycles() + t.dma_setup_cycles() + 4096.0 / 16 / 0.9, 1e-9);
  EXPECT_NEAR(dramRefreshFraction(t), 0.1, 1e-12);
}

TEST(SimulatorTiming, DramTurnaroundOnEachDirectionChange) {
  // Read, write, read on one queue: two changes of direction.
  auto run = [](double turn) {
    Prog p;
    p.t.mutable_dram()->set_rw_turnaround_ns(turn);
    int d = p.desc(DType::F32, DType::F32, {1024}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 8192, Space::Spm, 0, d));
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  EXPECT_NEAR(run(25) - run(0), 2 * 25, 1e-9);
}

TEST(SimulatorTiming, DramLatencyDelaysCompletionNotTheQueue) {
  // Two reads back to back on one queue, then an mm waiting for the second:
  // the queue issues the second read while the first's data is in flight,
  // so the latency is paid once, and the mm starts after it.
  auto run = [](double latency, double *mmStart) {
    Prog p;
    p.t.mutable_dram()->set_access_latency_ns(latency);
    int d = p.desc(DType::F32, DType::F32, {1024}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 4096, Space::Dram, 4096, d)).signal = 0;
    p.add(squareMm(8, DType::F32, 4096, 8192)).wait[0] = {0, 1};
    p.opts.compute = false;
    EXPECT_TRUE(p.run().ok());
    double dmaBusy = 0, mmBusy = 0;
    for (const auto &e : p.stats.engines) {
      if (e.name == "ne0.dma0") dmaBusy = e.busyCycles;
      if (e.name == "ne0.tensor") mmBusy = e.busyCycles;
    }
    *mmStart = p.stats.cycles - mmBusy;
    return dmaBusy;
  };
  double start0, start300;
  double busy0 = run(0, &start0), busy300 = run(300, &start300);
  EXPECT_NEAR(busy300, busy0, 1e-9); // the engine is not held by the latency
  EXPECT_NEAR(start300 - start0, 300, 1e-9);
}

TEST(SimulatorTiming, CpDramLoadStallsForTheLatencyAndUsesTheChannel) {
  auto run = [](double latency, bool thenDma) {
    Prog p;
    p.t.mutable_dram()->set_access_latency_ns(latency);
    Inst ld(Opcode::Ld64);
    ld[fld::Ld32::rd] = 5;
    ld[fld::Ld32::space] = int64_t(Space::Dram);
    ld[fld::Ld32::ra] = 0;
    ld[fld::Ld32::imm] = 65536;
    p.add(ld);
    if (thenDma) {
      int d = p.desc(DType::F32, DType::F32, {1024}, {1}, {1});
      p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    }
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  EXPECT_NEAR(run(120, false) - run(0, false), 120, 1e-9);
  // The load's burst (32 bytes at 16 B/cycle) is on the channel before the DMA's data.
  const auto &t = Prog().t;
  EXPECT_NEAR(run(0, true), t.cp().scalar_op_cycles() + ideal4KiB(t) + 32.0 / 16, 1e-9);
}

TEST(SimulatorTiming, SemaphoreLatencyAndBarrierCycles) {
  // A DMA signals s0; the vector engine's command waits for it, and so does
  // the CP before a barrier. Each hand-off costs the semaphore latency once
  // on the critical path; the barrier its cycles.
  auto run = [](uint32_t sem, uint32_t barrier) {
    Prog p;
    p.t.mutable_cp()->set_semaphore_latency_cycles(sem);
    p.t.mutable_cp()->set_barrier_cycles(barrier);
    int d = p.desc(DType::F32, DType::F32, {1024}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d)).signal = 0;
    Inst v(Opcode::VRelu, 0);
    v[fld::VExp::dst] = 8192;
    v[fld::VExp::rows] = 1;
    v[fld::VExp::cols] = 16;
    v.wait[0] = {0, 1};
    v.signal = 1;
    p.add(v);
    Inst w(Opcode::Wait);
    w.wait[0] = {1, 1};
    p.add(w);
    p.add(Inst(Opcode::Barrier));
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
    p.opts.compute = false;
    EXPECT_TRUE(p.run().ok());
    return p.stats.cycles;
  };
  double base = run(0, 0);
  EXPECT_NEAR(run(7, 0) - base, 2 * 7, 1e-9); // DMA -> vector, vector -> CP wait
  EXPECT_NEAR(run(0, 50) - base, 50, 1e-9);
}

TEST(SimulatorTiming, HostLaunchIsChargedPerRun) {
  Prog p;
  p.t.mutable_cp()->set_host_launch_us(12.5);
  p.add(Inst(Opcode::Halt));
  ASSERT_TRUE(p.run().ok());
  EXPECT_DOUBLE_EQ(p.stats.hostLaunchSeconds, 12.5e-6);
}

TEST(SimulatorTiming, TimingOnlyRunsMoveTheIndicesTheCpReads) {
  // A kernel copies an index DRAM -> SPM -> SHM; the CP reads it there and
  // issues that many DMAs. Without computing results the copy still
  // happens (integer data steers the control flow), so the timing is the
  // computed run's.
  auto run = [](bool compute) {
    Prog p;
    p.opts.compute = compute;
    const int64_t count = 3;
    std::memcpy(p.dram.data() + 65536, &count, sizeof count);
    int idx = p.desc(DType::I64, DType::I64, {1}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 65536, idx)).signal = 0;
    Inst toShm = Prog::dma(Opcode::DmaNeural, 0, Space::Shm, 0, Space::Spm, 0, idx);
    toShm.wait[0] = {0, 1};
    p.add(toShm);
    p.add(Inst(Opcode::Barrier));
    Inst ld(Opcode::Ld64);
    ld[fld::Ld32::rd] = 5;
    ld[fld::Ld32::space] = int64_t(Space::Shm);
    p.add(ld);
    // r6 counts up to r5: one 4 KiB DMA per step.
    p.add(Prog::li(6, 0));
    int d = p.desc(DType::F32, DType::F32, {1024}, {1}, {1});
    uint32_t loop = uint32_t(p.code.size());
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 4096, Space::Dram, 0, d));
    p.add(Prog::alu(Opcode::Add, 6, 6, 0, 1));
    Inst blt(Opcode::Blt);
    blt[fld::Blt::ra] = 6;
    blt[fld::Blt::rb] = 5;
    blt[fld::Blt::target] = loop;
    p.add(blt);
    EXPECT_TRUE(p.run().ok());
    EXPECT_EQ(p.stats.dramReadBytes, 8u + 3 * 4096) << (compute ? "computed" : "timing only");
    return p.stats.cycles;
  };
  EXPECT_EQ(run(false), run(true));
}
