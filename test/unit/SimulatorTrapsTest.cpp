//===- SimulatorTrapsTest.cpp - Traps, runaway guards and deadlocks ---------===//
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

TEST(SimulatorTraps, TrapNamesItsCause) {
  Prog p;
  p.add(Prog::li(4, 3));
  Inst t(Opcode::Trap);
  t[fld::Trap::code] = 1;
  p.add(t);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("instruction 1 `trap"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("index out of range"), std::string::npos) << s.message();
}

TEST(SimulatorTraps, OutOfBoundsDma) {
  Prog p;
  int d = p.desc(DType::F32, DType::F32, {64}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, int64_t(p.dram.size()) - 16, d));
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("DMA source out of bounds"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("instruction 0 `dma.neural.0"), std::string::npos) << s.message();
}

TEST(SimulatorTraps, ScratchpadOverflow) {
  Prog p;
  Inst mm(Opcode::Mm, 1);
  mm[fld::Mm::c] = int64_t(p.t.spm_bytes()) - 64; // 8x8 f32 accumulator runs past the SPM
  mm[fld::Mm::m] = 8;
  mm[fld::Mm::n] = 8;
  mm[fld::Mm::k] = 8;
  p.add(mm);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mm accumulator c out of bounds: 256 bytes at spm"), std::string::npos)
      << s.message();
}

TEST(SimulatorTraps, Deadlock) {
  Prog p;
  Inst v = Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0,
                     p.desc(DType::F32, DType::F32, {4}, {1}, {1}));
  v.wait[0] = {7, 1}; // nothing ever signals s7
  p.add(v);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("deadlock"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ne0.dma0 waits for s7>=1 (s7=0)"), std::string::npos) << s.message();
}

TEST(SimulatorTraps, CpWaitDeadlock) {
  Prog p;
  Inst w(Opcode::Wait);
  w.wait[0] = {3, 2};
  p.add(w);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("deadlock"), std::string::npos) << s.message();
}

TEST(SimulatorTraps, RunawayLoop) {
  Prog p;
  p.opts.maxCpSteps = 10000;
  Inst j(Opcode::Jmp);
  j[fld::Jmp::target] = 0;
  p.add(j);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("runaway loop"), std::string::npos) << s.message();
}

TEST(SimulatorTraps, RunawayEngineCommands) {
  Prog p = engineLoop();
  p.opts.maxCommands = 5000;
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("dispatched 5000 engine commands (runaway loop?)"), std::string::npos)
      << s.message();
}

TEST(SimulatorTraps, RunawayModeledTime) {
  Prog p = engineLoop();
  p.opts.maxCycles = 1e5;
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("modeled time passed 100000 cycles (runaway loop?)"), std::string::npos)
      << s.message();
  EXPECT_LT(p.stats.commands, 100000u); // stopped by time, long before the command guard
}

TEST(SimulatorTraps, IllegalPaths) {
  {
    Prog p;
    p.add(Prog::dma(Opcode::DmaTask, 0, Space::Spm, 0, Space::Dram, 0,
                    p.desc(DType::F32, DType::F32, {4}, {1}, {1})));
    Status s = p.run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("task DMA cannot address a scratchpad"), std::string::npos);
  }
  {
    Prog p;
    Inst ld(Opcode::Ld64);
    ld[fld::Ld64::rd] = 1;
    ld[fld::Ld64::space] = int64_t(Space::Spm);
    p.add(ld);
    Status s = p.run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("cannot access a scratchpad"), std::string::npos);
  }
  {
    Prog p;
    p.add(Prog::li(1, 1));
    p.code.push_back(Prog::li(2, 2)); // no halt: run() appends one, so remove it
    p.fn.set_name("test");
    sim::Simulator s(p.t, p.opts);
    Status st = s.run(p.fn, p.code, p.dram, {0, 0, 0}, p.stats);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("without `halt`"), std::string::npos) << st.message();
  }
  {
    Prog p;
    p.t.set_neural_dma_dram_access(false);
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0,
                    p.desc(DType::F32, DType::F32, {4}, {1}, {1})));
    Status s = p.run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("no neural DMA path to DRAM"), std::string::npos);
  }
}

// --- timing ------------------------------------------------------------------

TEST(SimulatorTraps, EveryTrapCodeHasItsMessage) {
  // The trap table names each code the compiler emits; an unknown code
  // still stops the program, by number.
  for (auto [code, text] : {std::pair<TrapCode, const char *>{TrapCode::IndexOutOfRange, "index out of range"},
                            {TrapCode::PositionOutOfRange, "past --max-seq-len"},
                            {TrapCode::KvBlockOutOfRange, "KV block id out of range"}}) {
    Prog p;
    Inst t(Opcode::Trap);
    t[fld::Trap::code] = int64_t(code);
    p.add(t);
    Status s = p.run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
  }
  Prog p;
  Inst t(Opcode::Trap);
  t[fld::Trap::code] = 999;
  p.add(t);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("error code 999"), std::string::npos) << s.message();
}
