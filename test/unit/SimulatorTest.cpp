//===- SimulatorTest.cpp - Instruction semantics ----------------------------===//
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

TEST(Simulator, ScalarAluAndMemory) {
  Prog p;
  p.add(Prog::li(1, 100));
  p.add(Prog::li(2, -7));
  p.add(Prog::alu(Opcode::Add, 3, 1, 2, 0));  // 93
  p.add(Prog::alu(Opcode::Sub, 4, 1, 0, 58)); // 42
  p.add(Prog::alu(Opcode::Mul, 5, 2, 0, 6));  // -42
  p.add(Prog::alu(Opcode::Shl, 6, 1, 0, 3));  // 800
  p.add(Prog::alu(Opcode::Shr, 7, 1, 0, 2));  // 25
  p.add(Prog::alu(Opcode::And, 8, 1, 0, 12)); // 4
  p.add(Prog::alu(Opcode::Min, 9, 1, 2, 0));  // -7
  p.add(Prog::alu(Opcode::Max, 10, 1, 2, 0)); // 100
  p.add(Prog::li(0, 55));                     // r0 stays 0
  p.add(Prog::alu(Opcode::Add, 11, 0, 0, 0)); // 0
  storeRegs(p, 11);
  // ld.i32 sign-extends, ld.i64 does not truncate.
  Inst st32(Opcode::St32);
  st32[fld::St32::rs] = 2;
  st32[fld::St32::space] = int64_t(Space::Dram);
  st32[fld::St32::imm] = 200;
  p.add(st32);
  Inst ld32(Opcode::Ld32);
  ld32[fld::Ld32::rd] = 12;
  ld32[fld::Ld32::space] = int64_t(Space::Dram);
  ld32[fld::Ld32::imm] = 200;
  p.add(ld32);
  Inst st(Opcode::St64);
  st[fld::St64::rs] = 12;
  st[fld::St64::space] = int64_t(Space::Shm);
  st[fld::St64::imm] = 64;
  p.add(st);
  Inst ld(Opcode::Ld64);
  ld[fld::Ld64::rd] = 13;
  ld[fld::Ld64::space] = int64_t(Space::Shm);
  ld[fld::Ld64::imm] = 64;
  p.add(ld);
  Inst st13(Opcode::St64);
  st13[fld::St64::rs] = 13;
  st13[fld::St64::space] = int64_t(Space::Dram);
  st13[fld::St64::imm] = 96;
  p.add(st13);
  ASSERT_TRUE(p.run().ok());
  int64_t want[] = {100, -7, 93, 42, -42, 800, 25, 4, -7, 100, 0};
  for (int i = 0; i < 11; ++i)
    EXPECT_EQ(p.i64(size_t(8 * i)), want[i]) << "r" << i + 1;
  EXPECT_EQ(p.i64(96), -7);
}

TEST(Simulator, LoopsAndBranches) {
  // r1 = sum of 1..10 with a blt back-edge; beq/bne/bge/jmp skip poison.
  Prog p;
  p.add(Prog::li(1, 0));
  p.add(Prog::li(2, 1));
  p.add(Prog::li(3, 11));
  p.add(Prog::alu(Opcode::Add, 1, 1, 2, 0)); // 3: loop body
  p.add(Prog::alu(Opcode::Add, 2, 2, 0, 1));
  Inst blt(Opcode::Blt);
  blt[fld::Blt::ra] = 2;
  blt[fld::Blt::rb] = 3;
  blt[fld::Blt::target] = 3;
  p.add(blt);
  Inst beq(Opcode::Beq);
  beq[fld::Beq::ra] = 2;
  beq[fld::Beq::rb] = 3;
  beq[fld::Beq::target] = 8;
  p.add(beq);
  p.add(Prog::li(1, -1)); // skipped
  Inst jmp(Opcode::Jmp);  // 8
  jmp[fld::Jmp::target] = 10;
  p.add(jmp);
  p.add(Prog::li(1, -2)); // skipped
  Inst bge(Opcode::Bge);  // 10: 11 >= 11
  bge[fld::Bge::ra] = 2;
  bge[fld::Bge::rb] = 3;
  bge[fld::Bge::target] = 12;
  p.add(bge);
  p.add(Prog::li(1, -3)); // skipped
  Inst bne(Opcode::Bne);  // 12: equal, falls through
  bne[fld::Bne::ra] = 2;
  bne[fld::Bne::rb] = 3;
  bne[fld::Bne::target] = 0;
  p.add(bne);
  storeRegs(p, 1);
  ASSERT_TRUE(p.run().ok());
  EXPECT_EQ(p.i64(0), 55);
}

TEST(Simulator, DmaStridedTransposeWithCast) {
  // A 4x6 f32 matrix at dram[0]; bring its transpose into SPM as f16, then
  // back to dram[4096] as f32 with a row stride of 8. Small integers are
  // exact in f16, so the result is exactly the transpose.
  Prog p;
  for (int i = 0; i < 24; ++i)
    p.f32(0)[i] = float(i - 7);
  int in = p.desc(DType::F32, DType::F16, {6, 4}, {1, 6}, {4, 1});
  int out = p.desc(DType::F16, DType::F32, {6, 4}, {4, 1}, {8, 1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 128, Space::Dram, 0, in)).signal = 0;
  Inst back = Prog::dma(Opcode::DmaNeural, 1, Space::Dram, 4096, Space::Spm, 128, out);
  back.wait[0] = {0, 1};
  p.add(back);
  ASSERT_TRUE(p.run().ok());
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(p.f32(4096)[r * 8 + c], float(c * 6 + r - 7)) << r << "," << c;
  EXPECT_EQ(p.stats.dramReadBytes, 24u * 4);
  EXPECT_EQ(p.stats.dramWriteBytes, 24u * 4);
  EXPECT_EQ(p.stats.spmHighWater, 128u + 24 * 2);
}

TEST(Simulator, DmaRegisterAddressingAndBroadcast) {
  // Address = register + offset, read at dispatch; stride 0 broadcasts.
  Prog p;
  p.f32(512)[0] = 3.5f;
  int bc = p.desc(DType::F32, DType::F32, {3, 4}, {0, 0}, {4, 1});
  int out = p.desc(DType::F32, DType::F32, {12}, {1}, {1});
  p.add(Prog::li(5, 500));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 12, bc, 0, 5)).signal = 1;
  p.add(Prog::li(5, 9999999)); // changing r5 afterwards does not move the DMA
  p.add(Prog::li(6, 2048));
  Inst st = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 0, Space::Spm, 0, out, 6, 0);
  st.wait[0] = {1, 1};
  p.add(st);
  ASSERT_TRUE(p.run().ok());
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(p.f32(2048)[i], 3.5f);
}

TEST(Simulator, TaskDmaThroughSharedMemory) {
  Prog p;
  for (int i = 0; i < 16; ++i)
    p.f32(0)[i] = float(i * i);
  int d = p.desc(DType::F32, DType::F32, {16}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaTask, 0, Space::Shm, 256, Space::Dram, 0, d)).signal = 2;
  Inst back = Prog::dma(Opcode::DmaTask, 0, Space::Dram, 1024, Space::Shm, 256, d);
  back.wait[0] = {2, 1};
  p.add(back);
  ASSERT_TRUE(p.run().ok());
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(p.f32(1024)[i], float(i * i));
  EXPECT_EQ(p.stats.shmWriteBytes, 64u);
}

namespace {
/// Runs one mm on NE 0 with A, B placed in SPM by DMA from DRAM; C returns to
/// dram[65536]. Reference computed in double.
void checkMm(int m, int n, int k, DType in, bool ta, bool tb, bool acc) {
  Prog p;
  std::mt19937 rng(m * 131 + n * 7 + k + ta * 2 + tb + acc * 3);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(size_t(m * k)), b(size_t(k * n)), c0(size_t(m * n));
  for (float &v : a) v = u(rng);
  for (float &v : b) v = u(rng);
  for (float &v : c0) v = u(rng);
  // Stored operands: A is m x k (k x m if ta), B is k x n (n x k if tb).
  std::memcpy(p.f32(0), a.data(), a.size() * 4);
  std::memcpy(p.f32(16384), b.data(), b.size() * 4);
  std::memcpy(p.f32(32768), c0.data(), c0.size() * 4);
  unsigned es = dtypeSize(in);
  int da = p.desc(DType::F32, in, {int64_t(a.size())}, {1}, {1});
  int db = p.desc(DType::F32, in, {int64_t(b.size())}, {1}, {1});
  int dc = p.desc(DType::F32, DType::F32, {int64_t(c0.size())}, {1}, {1});
  int64_t sa = 0, sb = int64_t(a.size()) * es, sc = 32768;
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, sa, Space::Dram, 0, da));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, sb, Space::Dram, 16384, db));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, sc, Space::Dram, 32768, dc)).signal = 0;
  Inst mm(Opcode::Mm, 0);
  mm[fld::Mm::c] = sc;
  mm[fld::Mm::a] = sa;
  mm[fld::Mm::b] = sb;
  mm[fld::Mm::m] = m;
  mm[fld::Mm::n] = n;
  mm[fld::Mm::k] = k;
  mm[fld::Mm::in] = int64_t(in);
  mm[fld::Mm::acc] = acc;
  mm[fld::Mm::ta] = ta;
  mm[fld::Mm::tb] = tb;
  mm.wait[0] = {0, 1};
  mm.signal = 1;
  p.add(mm);
  Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 65536, Space::Spm, sc, dc);
  out.wait[0] = {1, 1};
  p.add(out);
  ASSERT_TRUE(p.run().ok());
  auto q = [&](float v) { return in == DType::F16 ? double(halfToFloat(floatToHalf(v))) : double(v); };
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double ref = acc ? c0[size_t(i * n + j)] : 0.0;
      for (int l = 0; l < k; ++l)
        ref += q(ta ? a[size_t(l * m + i)] : a[size_t(i * k + l)]) *
               q(tb ? b[size_t(j * k + l)] : b[size_t(l * n + j)]);
      EXPECT_NEAR(p.f32(65536)[i * n + j], ref, 1e-4 * std::sqrt(double(k)))
          << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb << " acc=" << acc;
    }
  EXPECT_EQ(p.stats.tensorMacs, uint64_t(m * n * k));
}
} // namespace

TEST(Simulator, MatmulTileEveryVariant) {
  for (DType in : {DType::F32, DType::F16, DType::BF16})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool acc : {false, true}) {
          if (in == DType::BF16 && (ta || tb))
            continue;
          if (in == DType::BF16)
            continue; // bf16 rounding is checked end to end
          checkMm(5, 7, 9, in, ta, tb, acc);
        }
  checkMm(17, 33, 64, DType::F32, false, false, false);
}

TEST(Simulator, RoundTiesToEven) {
  Prog p;
  const std::vector<float> x = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f, 0.49999997f, -7.25f, 1e7f + 1};
  const std::vector<float> want = {-2, -2, 0, 0, 2, 2, 4, 0, -7, 1e7f + 1};
  int n = int(x.size());
  std::memcpy(p.f32(0), x.data(), size_t(n) * 4);
  int d = p.desc(DType::F32, DType::F32, {n}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d)).signal = 0;
  Inst in(Opcode::VRound, 0);
  in[fld::VRound::dst] = 256;
  in[fld::VRound::src] = 0;
  in[fld::VRound::rows] = 1;
  in[fld::VRound::cols] = n;
  in.wait[0] = {0, 1};
  in.signal = 1;
  p.add(in);
  Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 4096, Space::Spm, 256, d);
  out.wait[0] = {1, 1};
  p.add(out);
  ASSERT_TRUE(p.run().ok());
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(p.f32(4096)[i], want[size_t(i)]) << "round(" << x[size_t(i)] << ")";
}

TEST(Simulator, VectorOps) {
  Prog p;
  const int rows = 3, cols = 5, n = rows * cols;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[size_t(i)] = 0.25f * float(i) - 1.6f;
    y[size_t(i)] = 0.5f + 0.1f * float(i);
  }
  std::memcpy(p.f32(0), x.data(), n * 4);
  std::memcpy(p.f32(256), y.data(), n * 4);
  int d = p.desc(DType::F32, DType::F32, {n}, {1}, {1});
  // SPM: x at 0, y at 256, results from 1024 (one slot of 64 floats each).
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 256, Space::Dram, 256, d)).signal = 0;
  struct V { Opcode op; Bcast bc; float imm; };
  std::vector<V> bin = {{Opcode::VAdd, Bcast::None, 0}, {Opcode::VSub, Bcast::Row, 0},
                        {Opcode::VMul, Bcast::Col, 0},  {Opcode::VDiv, Bcast::Imm, 4.0f},
                        {Opcode::VMax, Bcast::None, 0}, {Opcode::VMin, Bcast::Imm, 0.1f}};
  std::vector<Opcode> un = {Opcode::VExp,   Opcode::VLog,      Opcode::VSqrt,   Opcode::VRsqrt,
                            Opcode::VRecip, Opcode::VNeg,      Opcode::VTanh,   Opcode::VSigmoid,
                            Opcode::VRelu,  Opcode::VCopy,     Opcode::VRedMax, Opcode::VRedSum,
                            Opcode::VAbs,   Opcode::VErf,      Opcode::VSin,    Opcode::VCos,
                            Opcode::VGelu,  Opcode::VGeluTanh, Opcode::VSilu,   Opcode::VRound};
  bin.push_back({Opcode::VPow, Bcast::None, 0});
  int slot = 0;
  auto at = [](int s) { return int64_t(1024 + 256 * s); };
  bool first = true;
  for (const V &v : bin) {
    Inst in(v.op, 0);
    in[fld::VAdd::dst] = at(slot++);
    in[fld::VAdd::src0] = 0;
    in[fld::VAdd::src1] = 256;
    in[fld::VAdd::rows] = rows;
    in[fld::VAdd::cols] = cols;
    in[fld::VAdd::bcast] = int64_t(v.bc);
    in[fld::VAdd::scalar] = int64_t(floatBits(v.imm));
    if (first) in.wait[0] = {0, 1}, first = false;
    p.add(in);
  }
  for (Opcode op : un) {
    Inst in(op, 0);
    in[fld::VExp::dst] = at(slot++);
    in[fld::VExp::src] = op == Opcode::VLog || op == Opcode::VSqrt || op == Opcode::VRsqrt ? 256 : 0;
    in[fld::VExp::rows] = rows;
    in[fld::VExp::cols] = cols;
    p.add(in);
  }
  Inst cast(Opcode::VCast, 0); // f32 -> f16 -> f32 in place at a new slot
  cast[fld::VCast::dst] = at(slot);
  cast[fld::VCast::src] = 0;
  cast[fld::VCast::rows] = rows;
  cast[fld::VCast::cols] = cols;
  cast[fld::VCast::from] = int64_t(DType::F32);
  cast[fld::VCast::to] = int64_t(DType::F16);
  p.add(cast);
  Inst cast2 = cast;
  cast2[fld::VCast::src] = at(slot);
  cast2[fld::VCast::dst] = at(slot + 1);
  cast2[fld::VCast::from] = int64_t(DType::F16);
  cast2[fld::VCast::to] = int64_t(DType::F32);
  cast2.signal = 1;
  p.add(cast2);
  int all = p.desc(DType::F32, DType::F32, {int64_t(256 * (slot + 2) / 4)}, {1}, {1});
  Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 8192, Space::Spm, 1024, all);
  out.wait[0] = {1, 1};
  p.add(out);
  ASSERT_TRUE(p.run().ok());
  auto res = [&](int s, int i) { return p.f32(size_t(8192 + 256 * s))[i]; };
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      int i = r * cols + c;
      float a = x[size_t(i)], b = y[size_t(i)];
      EXPECT_FLOAT_EQ(res(0, i), a + b);
      EXPECT_FLOAT_EQ(res(1, i), a - y[size_t(c)]);
      EXPECT_FLOAT_EQ(res(2, i), a * y[size_t(r)]);
      EXPECT_FLOAT_EQ(res(3, i), a / 4.0f);
      EXPECT_FLOAT_EQ(res(4, i), std::max(a, b));
      EXPECT_FLOAT_EQ(res(5, i), std::min(a, 0.1f));
      float pw = std::pow(a, b); // NaN for a negative base and a fractional power, as in C
      if (std::isnan(pw))
        EXPECT_TRUE(std::isnan(res(6, i)));
      else
        EXPECT_FLOAT_EQ(res(6, i), pw);
      EXPECT_FLOAT_EQ(res(7, i), std::exp(a));
      EXPECT_FLOAT_EQ(res(8, i), std::log(b));
      EXPECT_FLOAT_EQ(res(9, i), std::sqrt(b));
      EXPECT_FLOAT_EQ(res(10, i), 1.0f / std::sqrt(b));
      EXPECT_FLOAT_EQ(res(11, i), 1.0f / a);
      EXPECT_FLOAT_EQ(res(12, i), -a);
      EXPECT_FLOAT_EQ(res(13, i), std::tanh(a));
      EXPECT_NEAR(res(14, i), 1.0 / (1.0 + std::exp(-double(a))), 1e-6);
      EXPECT_FLOAT_EQ(res(15, i), a > 0 ? a : 0.0f);
      EXPECT_FLOAT_EQ(res(16, i), a);
      EXPECT_FLOAT_EQ(res(19, i), std::fabs(a));
      EXPECT_NEAR(res(20, i), std::erf(double(a)), 1e-6);
      EXPECT_NEAR(res(21, i), std::sin(double(a)), 1e-6);
      EXPECT_NEAR(res(22, i), std::cos(double(a)), 1e-6);
      double da = a;
      EXPECT_NEAR(res(23, i), 0.5 * da * (1 + std::erf(da / std::sqrt(2.0))), 1e-6);
      EXPECT_NEAR(res(24, i),
                  0.5 * da * (1 + std::tanh(std::sqrt(2 / M_PI) * (da + 0.044715 * da * da * da))), 1e-6);
      EXPECT_NEAR(res(25, i), da / (1 + std::exp(-da)), 1e-6);
      EXPECT_EQ(res(26, i), float(std::lround(double(a)))); // no ties among these
      // f32 -> f16 -> f32: within half an f16 ulp (11 significant bits).
      float h = res(28, i);
      EXPECT_NEAR(h, a, std::fabs(a) * (1.0f / 2048) + 1e-7f);
    }
  for (int r = 0; r < rows; ++r) {
    float mx = -INFINITY, sum = 0;
    for (int c = 0; c < cols; ++c) {
      mx = std::max(mx, x[size_t(r * cols + c)]);
      sum += x[size_t(r * cols + c)];
    }
    EXPECT_FLOAT_EQ(res(17, r), mx);
    EXPECT_NEAR(res(18, r), sum, 1e-5);
  }
}

TEST(Simulator, CompareAndSelect) {
  // x and y share values (equal, NaN, infinities) so that every predicate
  // sees true and false; v.sel keeps dst where the condition is 0.
  Prog p;
  const float nan = std::nanf(""), inf = INFINITY;
  std::vector<float> x = {1, 2, 3, nan, -inf, 0, -0.0f, 5}, y = {1, 3, 2, 1, -inf, -0.0f, 1, nan};
  const int n = int(x.size());
  std::memcpy(p.f32(0), x.data(), size_t(n) * 4);
  std::memcpy(p.f32(256), y.data(), size_t(n) * 4);
  int d = p.desc(DType::F32, DType::F32, {n}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 256, Space::Dram, 256, d)).signal = 0;
  std::vector<Opcode> ops = {Opcode::VCmpEq, Opcode::VCmpNe, Opcode::VCmpLt,
                             Opcode::VCmpLe, Opcode::VCmpGt, Opcode::VCmpGe};
  auto vb = [](Opcode op, int64_t dst, int64_t a, int64_t b, int cols, Bcast bc, float imm) {
    Inst in(op, 0);
    in[fld::VAdd::dst] = dst;
    in[fld::VAdd::src0] = a;
    in[fld::VAdd::src1] = b;
    in[fld::VAdd::rows] = 1;
    in[fld::VAdd::cols] = cols;
    in[fld::VAdd::bcast] = int64_t(bc);
    in[fld::VAdd::scalar] = int64_t(floatBits(imm));
    return in;
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    Inst in = vb(ops[i], 1024 + 256 * int64_t(i), 0, 256, n, Bcast::None, 0);
    if (i == 0)
      in.wait[0] = {0, 1};
    p.add(in);
  }
  // sel: dst starts as y (copy), takes x where (x < y) is 1; then takes -7
  // (an immediate) where (x == y) is 1.
  Inst cp(Opcode::VCopy, 0);
  cp[fld::VExp::dst] = 3072;
  cp[fld::VExp::src] = 256;
  cp[fld::VExp::rows] = 1;
  cp[fld::VExp::cols] = n;
  p.add(cp);
  p.add(vb(Opcode::VSel, 3072, 1024 + 2 * 256, 0, n, Bcast::None, 0));
  p.add(vb(Opcode::VSel, 3072, 1024, 0, n, Bcast::Imm, -7.0f)).signal = 1;
  int all = p.desc(DType::F32, DType::F32, {9 * 64}, {1}, {1});
  Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 8192, Space::Spm, 1024, all);
  out.wait[0] = {1, 1};
  p.add(out);
  ASSERT_TRUE(p.run().ok());
  auto res = [&](int s, int i) { return p.f32(size_t(8192 + 256 * s))[i]; };
  for (int i = 0; i < n; ++i) {
    float a = x[size_t(i)], b = y[size_t(i)];
    EXPECT_EQ(res(0, i), a == b ? 1.0f : 0.0f) << i;
    EXPECT_EQ(res(1, i), a != b ? 1.0f : 0.0f) << i;
    EXPECT_EQ(res(2, i), a < b ? 1.0f : 0.0f) << i;
    EXPECT_EQ(res(3, i), a <= b ? 1.0f : 0.0f) << i;
    EXPECT_EQ(res(4, i), a > b ? 1.0f : 0.0f) << i;
    EXPECT_EQ(res(5, i), a >= b ? 1.0f : 0.0f) << i;
    float sel = a == b ? -7.0f : a < b ? a : b;
    if (std::isnan(sel))
      EXPECT_TRUE(std::isnan(res(8, i))) << i;
    else
      EXPECT_EQ(res(8, i), sel) << i;
  }
}

TEST(Simulator, MaskUpperFromPositions) {
  // 3x5 tile, diag = 1: column c is masked in row r when c > r + 1.
  Prog p;
  const int rows = 3, cols = 5, n = rows * cols;
  for (int i = 0; i < n; ++i)
    p.f32(0)[i] = float(i + 1);
  int d = p.desc(DType::F32, DType::F32, {n}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d)).signal = 0;
  Inst m(Opcode::VMaskUpper, 0);
  m[fld::VMaskUpper::dst] = 256;
  m[fld::VMaskUpper::src] = 0;
  m[fld::VMaskUpper::rows] = rows;
  m[fld::VMaskUpper::cols] = cols;
  m[fld::VMaskUpper::diag] = 1;
  m.wait[0] = {0, 1};
  m.signal = 1;
  p.add(m);
  Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 4096, Space::Spm, 256, d);
  out.wait[0] = {1, 1};
  p.add(out);
  ASSERT_TRUE(p.run().ok());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      float got = p.f32(4096)[r * cols + c];
      if (c > r + 1)
        EXPECT_TRUE(std::isinf(got) && got < 0) << r << "," << c;
      else
        EXPECT_EQ(got, float(r * cols + c + 1)) << r << "," << c;
    }
}

TEST(Simulator, SoftmaxStepMatchesTwoTileSoftmax) {
  // Two v.softmax_step over the column halves of a 3x8 matrix, then
  // O = sum_t alpha-rescaled P_t (here: P summed per row), give the row sums
  // of a plain softmax computed in double: the result must be exp(x - max)
  // normalized by l, and row 2 (all -inf) must keep l = 0.
  Prog p;
  const int rows = 3, cols = 8, half = 4;
  std::vector<float> x(rows * cols);
  for (int i = 0; i < rows * cols; ++i)
    x[size_t(i)] = 0.37f * float((i * 7) % 11) - 1.5f;
  for (int c = 0; c < cols; ++c)
    x[size_t(2 * cols + c)] = -INFINITY;
  // Tiles t0 = columns 0..3, t1 = columns 4..7, laid out [rows, half] each.
  for (int t = 0; t < 2; ++t)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < half; ++c)
        p.f32(size_t(t) * 256)[r * half + c] = x[size_t(r * cols + t * half + c)];
  // stats at 1024: m = -inf, l = 0, alpha = 0.
  for (int r = 0; r < rows; ++r) {
    p.f32(1024)[r] = -INFINITY;
    p.f32(1024)[rows + r] = 0;
    p.f32(1024)[2 * rows + r] = 0;
  }
  int d = p.desc(DType::F32, DType::F32, {128}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, d));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 256, Space::Dram, 256, d));
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 1024, Space::Dram, 1024, d)).signal = 0;
  const float scale = 0.5f;
  for (int t = 0; t < 2; ++t) {
    Inst st(Opcode::VSoftmaxStep, 0);
    st[fld::VSoftmaxStep::s] = 256 * t;
    st[fld::VSoftmaxStep::stats] = 1024;
    st[fld::VSoftmaxStep::rows] = rows;
    st[fld::VSoftmaxStep::cols] = half;
    st[fld::VSoftmaxStep::scale] = int64_t(floatBits(scale));
    if (t == 0)
      st.wait[0] = {0, 1};
    if (t == 1)
      st.signal = 1;
    p.add(st);
    if (t == 0) { // keep tile 0's stats: copy m, l, alpha after step 0 to 2048
      Inst cp(Opcode::VCopy, 0);
      cp[fld::VExp::dst] = 2048;
      cp[fld::VExp::src] = 1024;
      cp[fld::VExp::rows] = 1;
      cp[fld::VExp::cols] = 3 * rows;
      p.add(cp);
    }
  }
  Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 8192, Space::Spm, 0, p.desc(DType::F32, DType::F32, {1024}, {1}, {1}));
  out.wait[0] = {1, 1};
  p.add(out);
  ASSERT_TRUE(p.run().ok());
  auto spm = [&](int off) { return p.f32(size_t(8192 + off)); };
  for (int r = 0; r < 2; ++r) {
    double mx = -INFINITY, m0 = -INFINITY;
    for (int c = 0; c < cols; ++c)
      mx = std::max(mx, double(scale) * x[size_t(r * cols + c)]);
    for (int c = 0; c < half; ++c)
      m0 = std::max(m0, double(scale) * x[size_t(r * cols + c)]);
    double l = 0;
    for (int c = 0; c < cols; ++c)
      l += std::exp(double(scale) * x[size_t(r * cols + c)] - mx);
    EXPECT_NEAR(spm(1024)[r], mx, 1e-6);               // final m
    EXPECT_NEAR(spm(1024)[rows + r], l, 1e-5 * l);     // final l
    EXPECT_NEAR(spm(1024)[2 * rows + r], std::exp(m0 - mx), 1e-6); // alpha of step 1
    for (int c = 0; c < half; ++c) // P of tile 1, relative to the running max
      EXPECT_NEAR(spm(256)[r * half + c], std::exp(double(scale) * x[size_t(r * cols + half + c)] - mx), 1e-6);
  }
  EXPECT_TRUE(std::isinf(spm(1024)[2]) && spm(1024)[2] < 0); // all-masked row: m stays -inf
  EXPECT_EQ(spm(1024)[rows + 2], 0.0f);                        // and l stays 0
}

TEST(Simulator, CpWaitAndBarrierOrderTheCommandProcessor) {
  // A DMA brings a value into SHM and signals s5; `cp.wait s5>=1` holds the
  // CP until then, so its load sees the value. A second DMA is only covered
  // by `barrier`. The CP's clock advances past both completions.
  Prog p;
  int64_t v = 0x1234567890, w = -99;
  std::memcpy(p.dram.data(), &v, 8);
  std::memcpy(p.dram.data() + 8, &w, 8);
  int d = p.desc(DType::I64, DType::I64, {1}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaTask, 0, Space::Shm, 0, Space::Dram, 0, d)).signal = 5;
  Inst wait(Opcode::Wait);
  wait.wait[0] = {5, 1};
  p.add(wait);
  Inst ld(Opcode::Ld64);
  ld[fld::Ld64::rd] = 1;
  ld[fld::Ld64::space] = int64_t(Space::Shm);
  p.add(ld);
  p.add(Prog::dma(Opcode::DmaTask, 0, Space::Shm, 8, Space::Dram, 8, d));
  p.add(Inst(Opcode::Barrier));
  Inst ld2(Opcode::Ld64);
  ld2[fld::Ld64::rd] = 2;
  ld2[fld::Ld64::space] = int64_t(Space::Shm);
  ld2[fld::Ld64::imm] = 8;
  p.add(ld2);
  storeRegs(p, 2);
  ASSERT_TRUE(p.run().ok());
  EXPECT_EQ(p.i64(0), v);
  EXPECT_EQ(p.i64(8), w);
  EXPECT_GE(p.stats.cycles, 2.0 * p.t.dma_setup_cycles());
}

// --- traps -------------------------------------------------------------------
