//===- SimulatorLanesTest.cpp - Worker lanes and lazy weight tiles ----------===//
//
// Each test writes a small program by hand, runs it on the `tiny` target and
// checks the result against a plain reference computed here.
//
//===----------------------------------------------------------------------===//
#include "SimProgram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace rbln;
using namespace rbln::isa;
using namespace rbln::test;

TEST(Simulator, WorkerLanesGiveIdenticalResults) {
  // The same 4-NE-style program (2 NEs on tiny, several tiles each) with and
  // without worker lanes: identical DRAM and identical timing.
  auto run = [](int threads) {
    Prog p;
    p.opts.threads = threads;
    p.randomF32(0, 4096, 7, -1, 1);
    int d = p.desc(DType::F32, DType::F32, {16, 16}, {16, 1}, {16, 1});
    for (unsigned ne = 0; ne < 2; ++ne)
      for (int t = 0; t < 6; ++t) {
        unsigned q = ne * p.t.neural_dma_queues_per_ne();
        uint8_t sem = uint8_t(ne * 4);
        int64_t src = 1024 * (2 * t + int(ne)) % 16384;
        Inst la = Prog::dma(Opcode::DmaNeural, q, Space::Spm, 0, Space::Dram, src, d);
        la.wait[0] = {uint8_t(sem + 2), uint32_t(t)};
        p.add(la);
        p.add(Prog::dma(Opcode::DmaNeural, q, Space::Spm, 1024, Space::Dram, src + 512, d)).signal = sem;
        Inst mm(Opcode::Mm, uint8_t(ne));
        mm[fld::Mm::a] = 0;
        mm[fld::Mm::b] = 1024;
        mm[fld::Mm::c] = 4096;
        mm[fld::Mm::m] = mm[fld::Mm::n] = mm[fld::Mm::k] = 16;
        mm.wait[0] = {sem, uint32_t(t + 1)};
        mm.signal = uint8_t(sem + 1);
        p.add(mm);
        Inst v(Opcode::VTanh, uint8_t(ne));
        v[fld::VTanh::dst] = 4096;
        v[fld::VTanh::src] = 4096;
        v[fld::VTanh::rows] = v[fld::VTanh::cols] = 16;
        v.wait[0] = {uint8_t(sem + 1), uint32_t(t + 1)};
        v.signal = uint8_t(sem + 3);
        p.add(v);
        Inst st = Prog::dma(Opcode::DmaNeural, q + 1, Space::Dram, 65536 + 1024 * (2 * t + int(ne)),
                            Space::Spm, 4096, d);
        st.wait[0] = {uint8_t(sem + 3), uint32_t(t + 1)};
        st.signal = uint8_t(sem + 2);
        p.add(st);
      }
    EXPECT_TRUE(p.run().ok());
    return std::make_pair(std::vector<uint8_t>(p.dram.begin() + 65536, p.dram.begin() + 65536 + 12 * 1024),
                          p.stats.cycles);
  };
  auto inline0 = run(0), lanes2 = run(2), lanes1 = run(1);
  EXPECT_EQ(inline0.first, lanes2.first);
  EXPECT_EQ(inline0.second, lanes2.second);
  EXPECT_EQ(inline0.first, lanes1.first);
}

TEST(Simulator, LanesFollowCrossNeSignalsAndCpLoads) {
  // A chain through DRAM that alternates between the NEs (so between the
  // event loop's thread and a worker): round r loads buffer r, applies tanh
  // and stores buffer r+1, after round r-1's store signalled. Midway the CP
  // waits for a round, loads a word of its output and stores it elsewhere.
  // Every thread count gives the DRAM and the cycles of the inline run.
  auto run = [](int threads) {
    Prog p;
    p.opts.threads = threads;
    p.randomF32(0, 256, 11, -2, 2);
    int d = p.desc(DType::F32, DType::F32, {16, 16}, {16, 1}, {16, 1});
    constexpr int kRounds = 12;
    for (int r = 0; r < kRounds; ++r) {
      unsigned ne = unsigned(r % 2), q = ne * p.t.neural_dma_queues_per_ne();
      Inst ld = Prog::dma(Opcode::DmaNeural, q, Space::Spm, 0, Space::Dram, 1024 * r, d);
      if (r > 0)
        ld.wait[0] = {uint8_t(r - 1), 1};
      // (the NE's previous round must have stored before its SPM is reused)
      if (r > 1)
        ld.wait[1] = {uint8_t(r - 2), 1};
      p.add(ld).signal = uint8_t(32 + r);
      Inst v(Opcode::VTanh, uint8_t(ne));
      v[fld::VTanh::dst] = 2048;
      v[fld::VTanh::src] = 0;
      v[fld::VTanh::rows] = v[fld::VTanh::cols] = 16;
      v.wait[0] = {uint8_t(32 + r), 1};
      p.add(v).signal = uint8_t(48 + r);
      Inst st = Prog::dma(Opcode::DmaNeural, q + 1, Space::Dram, 1024 * (r + 1), Space::Spm, 2048, d);
      st.wait[0] = {uint8_t(48 + r), 1};
      p.add(st).signal = uint8_t(r);
      if (r == 5) { // the CP copies word 3 of round 5's output to 65536
        Inst w(Opcode::Wait);
        w.wait[0] = {uint8_t(r), 1};
        p.add(w);
        Inst l(Opcode::Ld32);
        l[fld::Ld32::rd] = 5;
        l[fld::Ld32::space] = int64_t(Space::Dram);
        l[fld::Ld32::ra] = 0;
        l[fld::Ld32::imm] = 1024 * (r + 1) + 12;
        p.add(l);
        Inst sw(Opcode::St32);
        sw[fld::St32::rs] = 5;
        sw[fld::St32::space] = int64_t(Space::Dram);
        sw[fld::St32::ra] = 0;
        sw[fld::St32::imm] = 65536;
        p.add(sw);
      }
    }
    EXPECT_TRUE(p.run().ok());
    return std::make_pair(std::vector<uint8_t>(p.dram.begin(), p.dram.begin() + 65536 + 4),
                          p.stats.cycles);
  };
  auto inline0 = run(0);
  // The arithmetic itself, against the C library's tanh.
  std::vector<float> x(256);
  std::memcpy(x.data(), inline0.first.data(), 1024);
  for (int r = 0; r < 12; ++r)
    for (float &e : x)
      e = std::tanh(e);
  std::vector<float> last(256);
  std::memcpy(last.data(), inline0.first.data() + 12 * 1024, 1024);
  for (int i = 0; i < 256; ++i)
    EXPECT_NEAR(last[size_t(i)], x[size_t(i)], 1e-6f) << i;
  EXPECT_EQ(0, std::memcmp(inline0.first.data() + 65536, inline0.first.data() + 6 * 1024 + 12, 4));
  for (int threads : {2, 3, -1}) {
    auto r = run(threads);
    EXPECT_EQ(inline0.first, r.first) << threads << " threads";
    EXPECT_EQ(inline0.second, r.second) << threads << " threads";
  }
}

TEST(Simulator, BarrierOrdersLanesWithoutSemaphores) {
  // Kernels separated by barriers, as the compiler emits them: NE 1 writes
  // a buffer, and after the barrier NE 0 reads it with no semaphore between
  // them (the barrier is the only order), eight times back and forth.
  auto run = [](int threads) {
    Prog p;
    p.opts.threads = threads;
    for (int i = 0; i < 256; ++i)
      p.f32(0)[i] = 0.01f * float(i) - 1.0f;
    int d = p.desc(DType::F32, DType::F32, {16, 16}, {16, 1}, {16, 1});
    for (int r = 0; r < 8; ++r) {
      unsigned ne = unsigned((r + 1) % 2), q = ne * p.t.neural_dma_queues_per_ne();
      uint8_t sem = uint8_t(3 * r);
      p.add(Prog::dma(Opcode::DmaNeural, q, Space::Spm, 0, Space::Dram, 1024 * r, d)).signal = sem;
      Inst v(Opcode::VSigmoid, uint8_t(ne));
      v[fld::VSigmoid::dst] = 1024;
      v[fld::VSigmoid::src] = 0;
      v[fld::VSigmoid::rows] = v[fld::VSigmoid::cols] = 16;
      v.wait[0] = {sem, 1};
      p.add(v).signal = uint8_t(sem + 1);
      Inst st = Prog::dma(Opcode::DmaNeural, q + 1, Space::Dram, 1024 * (r + 1), Space::Spm, 1024, d);
      st.wait[0] = {uint8_t(sem + 1), 1};
      p.add(st);
      p.add(Inst(Opcode::Barrier));
    }
    EXPECT_TRUE(p.run().ok());
    return std::vector<float>(p.f32(8 * 1024), p.f32(8 * 1024) + 256);
  };
  std::vector<float> want(256);
  for (int i = 0; i < 256; ++i) {
    float x = 0.01f * float(i) - 1.0f;
    for (int r = 0; r < 8; ++r)
      x = 1.0f / (1.0f + std::exp(-x));
    want[size_t(i)] = x;
  }
  for (int threads : {0, 2, 3}) {
    std::vector<float> got = run(threads);
    for (int i = 0; i < 256; ++i)
      EXPECT_NEAR(got[size_t(i)], want[size_t(i)], 1e-6f) << threads << " threads, " << i;
  }
}

TEST(Simulator, LazyWeightTilesSurvivePartialOverwrites) {
  // A tile of read-only weights DMA'd into a scratchpad is not copied until
  // something other than a matmul touches it. Here a later DMA overwrites
  // part of it (cutting two of its rows), and a copy then reads it all: the
  // rows outside keep the weights, the overwritten bytes the new data.
  auto run = [](int threads) {
    Prog p;
    p.opts.threads = threads;
    p.args.weights = 0x40000;
    p.args.weightsBytes = 0x10000;
    for (int i = 0; i < 0x4000; ++i)
      p.f32(0x40000)[i] = float(i);
    for (int i = 0; i < 32; ++i)
      p.f32(0x1000)[i] = -1.0f - float(i);
    // 8 rows of 16 floats, 64 floats apart in the weights, dense in SPM 0.
    int tile = p.desc(DType::F32, DType::F32, {8, 16}, {64, 1}, {16, 1});
    int run32 = p.desc(DType::F32, DType::F32, {32}, {1}, {1});
    int all = p.desc(DType::F32, DType::F32, {128}, {1}, {1});
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0x40000 + 4 * 64 * 3, tile))
        .signal = 0;
    Inst ow = Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 200, Space::Dram, 0x1000, run32);
    ow.wait[0] = {0, 1};
    p.add(ow).signal = 1;
    Inst cp(Opcode::VCopy, 0);
    cp[fld::VCopy::dst] = 4096;
    cp[fld::VCopy::src] = 0;
    cp[fld::VCopy::rows] = 8;
    cp[fld::VCopy::cols] = 16;
    cp.wait[0] = {1, 1};
    p.add(cp).signal = 2;
    Inst st = Prog::dma(Opcode::DmaNeural, 1, Space::Dram, 0x2000, Space::Spm, 4096, all);
    st.wait[0] = {2, 1};
    p.add(st);
    EXPECT_TRUE(p.run().ok());
    return std::vector<float>(p.f32(0x2000), p.f32(0x2000) + 128);
  };
  std::vector<float> want(128);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 16; ++c)
      want[size_t(r * 16 + c)] = float((3 + r) * 64 + c);
  for (int i = 0; i < 32; ++i) // bytes 200..328 of the tile: floats 50..81
    want[size_t(50 + i)] = -1.0f - float(i);
  for (int threads : {0, 2})
    EXPECT_EQ(run(threads), want) << threads << " threads";
}
