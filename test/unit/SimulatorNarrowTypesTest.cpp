//===- SimulatorNarrowTypesTest.cpp - Narrow element types --------------------===//
//
// The simulator's 8- and 4-bit paths, each against a plain reference
// computed here: int4 DMA sources (widened, or copied packed), non-saturating
// FP8 conversion, a narrow B the tensor engine widens, the validator's checks
// of them, and the integer mode's exact i32 sums.
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

TEST(Simulator, DmaWidensPackedInt4) {
  // ONNX INT4: two signed 4-bit values a byte, the lower index in the low
  // nibble. A [3, 6] tile of a [3, 8] int4 matrix (rows 4 bytes apart)
  // into SPM as f32, then back to DRAM: the values, sign-extended; DRAM
  // reads the tile's 9 bytes.
  Prog p;
  int8_t v[3][8];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 8; ++c)
      v[r][c] = int8_t((r * 8 + c) % 16 - 8); // -8 .. 7
  uint8_t *w = p.dram.data();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 8; c += 2)
      w[r * 4 + c / 2] = uint8_t((v[r][c] & 0xf) | ((v[r][c + 1] & 0xf) << 4));
  int in = p.desc(DType::I4, DType::F32, {3, 6}, {8, 1}, {6, 1});
  int out = p.desc(DType::F32, DType::F32, {18}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, in)).signal = 0;
  Inst back = Prog::dma(Opcode::DmaNeural, 1, Space::Dram, 4096, Space::Spm, 0, out);
  back.wait[0] = {0, 1};
  p.add(back);
  ASSERT_TRUE(p.run().ok());
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 6; ++c)
      EXPECT_EQ(p.f32(4096)[r * 6 + c], float(v[r][c])) << r << "," << c;
  EXPECT_EQ(p.stats.dramReadBytes, 9u);
}

TEST(Simulator, MatmulWidensANarrowB) {
  // Weights kept narrow in SPM: B stored as int8, int4 (copied into SPM as
  // packed bytes) or E4M3FN, A in f16; `mm ... bt` widens B exactly as it
  // reads it. Checked against the sums of the f16-rounded A times B's
  // values (small integers; for E4M3FN, codes chosen from its table:
  // 0x38 = 1.0, 0xb0 = -0.5, 0x44 = 3.0, 0x01 = 2^-9, 0x7e = 448).
  const int m = 3, n = 6, k = 8;
  for (DType bt : {DType::I8, DType::I4, DType::F8E4M3FN})
    for (bool tb : {false, true}) {
      Prog p;
      std::mt19937 rng(uint32_t(int(bt) * 2 + tb));
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      std::vector<float> a(size_t(m * k)), bv(size_t(k * n)); // B's values, stored order
      for (float &v : a) v = u(rng);
      const uint8_t f8codes[5] = {0x38, 0xb0, 0x44, 0x01, 0x7e};
      const float f8vals[5] = {1.0f, -0.5f, 3.0f, 1.0f / 512, 448.0f};
      std::vector<uint8_t> stored(size_t(k * n), 0);
      for (size_t i = 0; i < bv.size(); ++i) {
        int r = int(rng() % 15) - 7;
        if (bt == DType::F8E4M3FN) {
          int c = int(rng() % 5);
          bv[i] = f8vals[c];
          stored[i] = f8codes[c];
        } else if (bt == DType::I4) {
          bv[i] = float(r);
          int4Put(stored.data(), i, r); // (zeros where it goes: filled in order)
        } else {
          bv[i] = float(r * 17);
          stored[i] = uint8_t(int8_t(r * 17));
        }
      }
      std::memcpy(p.f32(0), a.data(), a.size() * 4);
      std::memcpy(p.dram.data() + 8192, stored.data(), dtypeBytes(bt, bv.size()));
      int da = p.desc(DType::F32, DType::F16, {m * k}, {1}, {1});
      int db = p.desc(bt, bt, {k * n}, {1}, {1}); // as stored, no widening
      int dc = p.desc(DType::F32, DType::F32, {m * n}, {1}, {1});
      p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, da)).signal = 0;
      p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 1024, Space::Dram, 8192, db)).signal = 0;
      Inst mm = Prog::mm(0, 2048, 0, 1024, m, n, k, DType::F16);
      mm[fld::Mm::bt] = int64_t(bt), mm[fld::Mm::tb] = tb;
      mm.wait[0] = {0, 2};
      mm.signal = 1;
      p.add(mm);
      Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 65536, Space::Spm, 2048, dc);
      out.wait[0] = {1, 1};
      p.add(out);
      ASSERT_TRUE(validateFunctionCode(p.fn, p.code, p.t).ok());
      Status st = p.run();
      ASSERT_TRUE(st.ok()) << st.message();
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double ref = 0;
          for (int l = 0; l < k; ++l)
            ref += double(halfToFloat(floatToHalf(a[size_t(i * k + l)]))) *
                   double(tb ? bv[size_t(j * k + l)] : bv[size_t(l * n + j)]);
          EXPECT_NEAR(p.f32(65536)[i * n + j], ref, 1e-3 * std::max(1.0, std::fabs(ref)))
              << dtypeName(bt) << " tb=" << tb << " " << i << "," << j;
        }
      // B crossed DRAM in its stored bytes (int4: half a byte each).
      EXPECT_EQ(p.stats.dramReadBytes, uint64_t(m * k * 4) + dtypeBytes(bt, uint64_t(k * n)));
    }
}

TEST(Simulator, NarrowBAndPackedCopiesAreValidated) {
  // What validateFunctionCode refuses: a narrow B in the integer mode or of
  // a type the engine does not widen, int4 rows of an odd length, and int4
  // copies other than whole bytes of dense rows.
  auto mmWith = [](DType in, DType bt, int64_t n, bool tb) {
    Prog p;
    Inst mm = Prog::mm(0, 0, 0, 0, 1, n, 4, in);
    mm[fld::Mm::bt] = int64_t(bt), mm[fld::Mm::tb] = tb;
    p.add(mm);
    return validateFunctionCode(p.fn, p.code, p.t);
  };
  EXPECT_TRUE(mmWith(DType::F16, DType::I4, 6, false).ok());
  EXPECT_TRUE(mmWith(DType::F16, DType::F32, 6, false).ok()); // (a word older than 1.6: B of `in`)
  EXPECT_TRUE(mmWith(DType::U8, DType::I8, 6, false).ok());
  EXPECT_FALSE(mmWith(DType::F16, DType::I4, 5, false).ok());
  EXPECT_TRUE(mmWith(DType::F16, DType::I4, 5, true).ok()); // rows of k = 4
  EXPECT_FALSE(mmWith(DType::U8, DType::I4, 6, false).ok());
  EXPECT_FALSE(mmWith(DType::F16, DType::I32, 6, false).ok());
  EXPECT_TRUE(mmWith(DType::F16, DType::F8E4M3FN, 6, false).ok());
  auto copy = [](std::vector<int64_t> sizes, std::vector<int64_t> ss, std::vector<int64_t> ds, DType dst) {
    Prog p;
    p.desc(DType::I4, dst, sizes, ss, ds);
    return validateFunctionCode(p.fn, p.code, p.t);
  };
  EXPECT_TRUE(copy({3, 6}, {8, 1}, {6, 1}, DType::I4).ok());
  EXPECT_TRUE(copy({3, 5}, {8, 1}, {5, 1}, DType::F16).ok()); // widened: any length
  EXPECT_FALSE(copy({3, 5}, {8, 1}, {6, 1}, DType::I4).ok()); // odd rows
  EXPECT_FALSE(copy({3, 6}, {7, 1}, {6, 1}, DType::I4).ok()); // a row at an odd element
  EXPECT_FALSE(copy({6, 2}, {1, 6}, {2, 1}, DType::I4).ok()); // strided inner source
}

TEST(Simulator, DmaNonSaturatingFloat8) {
  // ONNX Cast saturate=0 to E4M3FN: past 448 is NaN (S.1111.111), not 448
  // (0x7e, what the default conversion gives); to E5M2 past 57344 is
  // infinity (S.11111.00). Codes from the OCP FP8 tables.
  Prog p;
  const float in[4] = {1000.0f, -1000.0f, 448.0f, 3.0f};
  for (int i = 0; i < 4; ++i)
    p.f32(0)[i] = in[i];
  p.f32(16)[0] = 1e6f;
  int e4 = p.desc(DType::F32, DType::F8E4M3FN, {4}, {1}, {1});
  p.fn.mutable_dma_descs(e4)->set_no_saturate(true);
  int e4sat = p.desc(DType::F32, DType::F8E4M3FN, {4}, {1}, {1});
  int e5 = p.desc(DType::F32, DType::F8E5M2, {1}, {1}, {1});
  p.fn.mutable_dma_descs(e5)->set_no_saturate(true);
  int back = p.desc(DType::F8E4M3FN, DType::F8E4M3FN, {12}, {1}, {1});
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, e4)).signal = 0;
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 4, Space::Dram, 0, e4sat)).signal = 0;
  p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 8, Space::Dram, 16, e5)).signal = 0;
  Inst st = Prog::dma(Opcode::DmaNeural, 1, Space::Dram, 4096, Space::Spm, 0, back);
  st.wait[0] = {0, 3};
  p.add(st);
  ASSERT_TRUE(p.run().ok());
  const uint8_t want[9] = {0x7f, 0xff, 0x7e, 0x44, 0x7e, 0xfe, 0x7e, 0x44, 0x7c};
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(p.dram[4096 + i], want[i]) << i;
}

// The integer mode: u8 (or i8) A times i8 B, summed exactly in an i32
// accumulator -- sums past 2^24, where an f32 accumulator would round, come
// out exact (checked against int64 sums), and `acc` adds to the i32 held.
TEST(Simulator, IntegerMatmulSumsExactlyInI32) {
  for (DType in : {DType::U8, DType::I8})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int m = 3, n = 5, k = 1200; // k x 255 x 127 > 2^24
        Prog p;
        std::mt19937 rng(uint32_t(k + ta * 2 + tb + int(in)));
        std::vector<uint8_t> a(size_t(m * k)), b(size_t(k * n));
        for (uint8_t &v : a) v = uint8_t(in == DType::U8 ? 200 + rng() % 56 : 100 + rng() % 28);
        for (uint8_t &v : b) v = uint8_t(int8_t(120 + int(rng() % 8))); // large positive int8
        std::vector<int32_t> c0(size_t(m * n));
        for (int32_t &v : c0) v = int32_t(rng() % 2001) - 1000;
        std::memcpy(p.dram.data(), a.data(), a.size());
        std::memcpy(p.dram.data() + 8192, b.data(), b.size());
        std::memcpy(p.dram.data() + 16384, c0.data(), c0.size() * 4);
        int da = p.desc(in, in, {int64_t(a.size())}, {1}, {1});
        int db = p.desc(DType::I8, DType::I8, {int64_t(b.size())}, {1}, {1});
        int dc = p.desc(DType::I32, DType::I32, {int64_t(c0.size())}, {1}, {1});
        p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 0, da));
        p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 8192, Space::Dram, 8192, db));
        p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 16384, Space::Dram, 16384, dc)).signal = 0;
        for (int rep = 0; rep < 2; ++rep) { // C = A B, then C += A B
          Inst mm = Prog::mm(0, 16384, 0, 8192, m, n, k, in);
          mm[fld::Mm::acc] = rep;
          mm[fld::Mm::ta] = ta, mm[fld::Mm::tb] = tb;
          if (rep == 0)
            mm.wait[0] = {0, 1};
          mm.signal = 1;
          p.add(mm);
        }
        Inst out = Prog::dma(Opcode::DmaNeural, 0, Space::Dram, 32768, Space::Spm, 16384, dc);
        out.wait[0] = {1, 2};
        p.add(out);
        ASSERT_TRUE(p.run().ok());
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) {
            int64_t sum = 0;
            for (int l = 0; l < k; ++l) {
              uint8_t av = ta ? a[size_t(l * m + i)] : a[size_t(i * k + l)];
              uint8_t bv = tb ? b[size_t(j * k + l)] : b[size_t(l * n + j)];
              sum += (in == DType::U8 ? int64_t(av) : int64_t(int8_t(av))) * int64_t(int8_t(bv));
            }
            ASSERT_GT(sum, int64_t(1) << 24);
            int32_t got;
            std::memcpy(&got, p.dram.data() + 32768 + (i * n + j) * 4, 4);
            EXPECT_EQ(int64_t(got), 2 * sum) << dtypeName(in) << " ta=" << ta << " tb=" << tb;
          }
        EXPECT_EQ(p.stats.tensorMacs, uint64_t(2 * m * n * k));
      }
}

// v.round rounds ties to even, as ONNX's Round and QuantizeLinear do.
