//===- IsaTest.cpp - Encoding and decoding of every instruction -----------===//
#include "rbln/runtime/Isa.h"

#include <gtest/gtest.h>

#include "rbln/runtime/DType.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace rbln;
using namespace rbln::isa;

namespace {

/// A random valid value for a field.
int64_t randomValue(const FieldSpec &f, std::mt19937_64 &rng) {
  switch (f.kind) {
  case FieldKind::Reg: return int64_t(rng() % kNumRegs);
  case FieldKind::Space: return int64_t(rng() % 3);
  case FieldKind::DType: { // (4-bit elements only ever sit in DRAM: no instruction names them)
    int64_t v;
    do v = int64_t(rng() % kNumDTypes); while (dtypeIsPacked(DType(v)));
    return v;
  }
  case FieldKind::Flag: return int64_t(rng() % 2);
  case FieldKind::Bcast: return int64_t(rng() % 4);
  case FieldKind::F32: return int64_t(rng() & 0xffffffffu);
  case FieldKind::U: return f.bits >= 63 ? int64_t(rng() >> 1) : int64_t(rng() & ((uint64_t(1) << f.bits) - 1));
  case FieldKind::S: {
    if (f.bits >= 64) return int64_t(rng());
    int64_t lo = -(int64_t(1) << (f.bits - 1));
    return lo + int64_t(rng() % (uint64_t(1) << f.bits));
  }
  }
  return 0;
}

Inst randomInst(Opcode op, std::mt19937_64 &rng) {
  Inst in(op, uint8_t(rng() % 256));
  const InstSpec &s = spec(op);
  for (unsigned i = 0; i < s.numFields; ++i)
    in.f[i] = randomValue(s.fields[i], rng);
  if (rng() % 2) in.signal = uint8_t(rng() % 255);
  if (rng() % 2) in.wait[0] = {uint8_t(rng() % 255), uint32_t(rng())};
  if (rng() % 2) in.wait[1] = {uint8_t(rng() % 255), uint32_t(rng())};
  return in;
}

} // namespace

TEST(Isa, TableIsConsistent) {
  for (unsigned o = 0; o < kNumOpcodes; ++o) {
    const InstSpec &s = spec(Opcode(o));
    EXPECT_EQ(unsigned(s.op), o);
    EXPECT_EQ(lookup(s.mnemonic), &s) << s.mnemonic;
    unsigned bits = kHeaderBits;
    for (unsigned i = 0; i < s.numFields; ++i) {
      EXPECT_EQ(s.fields[i].offset, bits) << s.mnemonic << "." << s.fields[i].name;
      bits += s.fields[i].bits;
      EXPECT_EQ(s.fieldIndex(s.fields[i].name), int(i));
    }
    EXPECT_LE(bits, kWordBytes * 8) << s.mnemonic;
  }
  EXPECT_EQ(lookup("no.such.op"), nullptr);
}

// Every instruction, extreme and random field values: decode(encode(x)) == x.
TEST(Isa, EncodeDecodeRoundTripEveryInstruction) {
  std::mt19937_64 rng(42);
  for (unsigned o = 0; o < kNumOpcodes; ++o) {
    for (int trial = 0; trial < 200; ++trial) {
      Inst in = randomInst(Opcode(o), rng);
      uint8_t word[kWordBytes];
      ASSERT_TRUE(encode(in, word).ok()) << disassemble(in);
      auto back = decode(word);
      ASSERT_TRUE(back.ok()) << back.error();
      EXPECT_EQ(*back, in) << disassemble(in) << " vs " << disassemble(*back);
      EXPECT_EQ(disassemble(*back), disassemble(in));
    }
    // The extremes of every field.
    const InstSpec &s = spec(Opcode(o));
    for (unsigned i = 0; i < s.numFields; ++i) {
      const FieldSpec &f = s.fields[i];
      for (int64_t v : {int64_t(0),
                        f.kind == FieldKind::S ? (f.bits >= 64 ? INT64_MIN : -(int64_t(1) << (f.bits - 1))) : 0,
                        f.kind == FieldKind::S ? (f.bits >= 64 ? INT64_MAX : (int64_t(1) << (f.bits - 1)) - 1)
                        : f.kind == FieldKind::U ? int64_t((uint64_t(1) << f.bits) - 1)
                                                 : 0}) {
        Inst in{Opcode(o)};
        in.f[i] = v;
        uint8_t word[kWordBytes];
        ASSERT_TRUE(encode(in, word).ok()) << s.mnemonic << "." << f.name << "=" << v;
        auto back = decode(word);
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back->f[i], v) << s.mnemonic << "." << f.name;
      }
    }
  }
}

TEST(Isa, EncodeRejectsValuesThatDoNotFit) {
  uint8_t word[kWordBytes];
  Inst mm(Opcode::Mm);
  mm[fld::Mm::m] = 1 << 16;
  Status s = encode(mm, word);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("field 'm' value 65536 does not fit 16 bits"), std::string::npos) << s.message();
  Inst add(Opcode::Add);
  add[fld::Add::imm] = int64_t(1) << 39;
  EXPECT_FALSE(encode(add, word).ok());
  add[fld::Add::imm] = -(int64_t(1) << 39);
  EXPECT_TRUE(encode(add, word).ok());
  Inst dma(Opcode::DmaNeural);
  dma[fld::DmaNeural::dspace] = 3;
  EXPECT_FALSE(encode(dma, word).ok());
  Inst flag(Opcode::Mm);
  flag[fld::Mm::acc] = 2;
  EXPECT_FALSE(encode(flag, word).ok());
  Inst reg(Opcode::Li);
  reg[fld::Li::rd] = 32;
  EXPECT_FALSE(encode(reg, word).ok());
}

TEST(Isa, DecodeRejectsInvalidWords) {
  uint8_t word[kWordBytes] = {0};
  word[0] = uint8_t(kNumOpcodes);
  auto r = decode(word);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("unknown opcode"), std::string::npos);

  // Reserved bits after the last field of `halt` (which has none).
  std::memset(word, 0, sizeof(word));
  word[0] = uint8_t(Opcode::Halt);
  word[31] = 0x80;
  r = decode(word);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("reserved bits set"), std::string::npos) << r.error();

  // A wait value without a semaphore.
  std::memset(word, 0, sizeof(word));
  word[0] = uint8_t(Opcode::Barrier);
  word[3] = 0xff; // wait[0].sem = none
  word[4] = 5;    // but a value
  r = decode(word);
  ASSERT_FALSE(r.ok());

  // An invalid memory space (3) in a DMA.
  Inst dma(Opcode::DmaTask);
  ASSERT_TRUE(encode(dma, word).ok());
  unsigned off = spec(Opcode::DmaTask).fields[fld::DmaTask::dspace].offset;
  word[off / 8] |= uint8_t(3u << (off % 8));
  r = decode(word);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("field 'dspace' has invalid value 3"), std::string::npos) << r.error();
}

TEST(Isa, SignedFieldsSignExtend) {
  Inst ld(Opcode::Ld64);
  ld[fld::Ld64::imm] = -8;
  uint8_t word[kWordBytes];
  ASSERT_TRUE(encode(ld, word).ok());
  auto back = decode(word);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[fld::Ld64::imm], -8);
}

TEST(Isa, Disassembly) {
  Inst mm(Opcode::Mm, 3);
  mm[fld::Mm::m] = 32;
  mm[fld::Mm::in] = int64_t(DType::F16);
  mm.wait[0] = {1, 2};
  mm.signal = 4;
  std::string d = disassemble(mm);
  EXPECT_NE(d.find("mm.3 "), std::string::npos) << d;
  EXPECT_NE(d.find("m=32"), std::string::npos) << d;
  EXPECT_NE(d.find("in=f16"), std::string::npos) << d;
  EXPECT_NE(d.find("wait(s1>=2) signal(s4)"), std::string::npos) << d;
  EXPECT_EQ(disassemble(Inst(Opcode::Halt)), "halt");
}

TEST(DType, HalfConversionMatchesIeee) {
  // Values whose binary16 encodings are fixed by IEEE 754.
  struct Case { float f; uint16_t h; } cases[] = {
      {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000}, {65504.0f, 0x7bff},
      {65520.0f, 0x7c00}, {5.960464477539063e-08f, 0x0001}, {6.103515625e-05f, 0x0400},
      {0.333333343f, 0x3555}, {1.0f + 1.0f / 2048, 0x3c00} /* tie to even */,
      {1.0f + 3.0f / 2048, 0x3c02} /* tie to even, up */, {INFINITY, 0x7c00}, {-INFINITY, 0xfc00}};
  for (const Case &c : cases) {
    EXPECT_EQ(floatToHalf(c.f), c.h) << c.f;
    if (c.h != 0x7c00 || std::isinf(c.f))
      EXPECT_EQ(floatToHalf(halfToFloat(c.h)), c.h);
  }
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  // Every half value survives half -> float -> half.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; // NaN payloads
    EXPECT_EQ(floatToHalf(halfToFloat(uint16_t(h))), h);
  }
}

TEST(Isa, WordsOfTheOlderLayoutDecode) {
  // Format 1.0-1.3 wrote DType fields in 3 bits; an artifact of that
  // version still runs. Lay out an `mm` word as such a writer did: every
  // field after `in` one bit lower.
  Inst mm(Opcode::Mm, 2);
  mm[fld::Mm::m] = 64;
  mm[fld::Mm::k] = 96;
  mm[fld::Mm::in] = int64_t(DType::U8);
  mm[fld::Mm::acc] = 1;
  mm[fld::Mm::tb] = 1;
  uint8_t word[kWordBytes] = {0}, legacy[kWordBytes] = {0};
  ASSERT_TRUE(encode(mm, word).ok());
  unsigned inOff = spec(Opcode::Mm).fields[fld::Mm::in].offset;
  auto bit = [](const uint8_t *w, unsigned b) { return (w[b / 8] >> (b % 8)) & 1u; };
  for (unsigned b = 0; b < kWordBytes * 8; ++b) {
    unsigned from = b < inOff + kLegacyDTypeBits ? b : b + 1; // the 4th bit of `in` dropped
    if (from < kWordBytes * 8 && bit(word, from))
      legacy[b / 8] |= uint8_t(1u << (b % 8));
  }
  auto back = decode(legacy, kLegacyDTypeBits);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(*back == mm) << disassemble(*back);
  // Read in the new layout, the same bytes mean something else.
  auto misread = decode(legacy);
  EXPECT_FALSE(misread.ok() && *misread == mm);
}

TEST(DType, Float8MatchesTheOcpTables) {
  // Encodings fixed by the OCP 8-bit floating point specification (E4M3FN,
  // E5M2) and by the FNUZ definitions ONNX adopted (bias 8 / 16, NaN 0x80).
  struct Case { DType t; float f; uint8_t code; bool saturate; } cases[] = {
      {DType::F8E4M3FN, 1.0f, 0x38, true}, {DType::F8E4M3FN, 448.0f, 0x7e, true},
      {DType::F8E4M3FN, -448.0f, 0xfe, true}, {DType::F8E4M3FN, 0x1p-9f, 0x01, true},
      {DType::F8E4M3FN, 0x1p-6f, 0x08, true}, {DType::F8E4M3FN, 1e6f, 0x7e, true},
      {DType::F8E4M3FN, INFINITY, 0x7e, true}, {DType::F8E4M3FN, 1e6f, 0x7f, false},
      {DType::F8E4M3FN, 1.0625f, 0x38, true} /* tie to even */,
      {DType::F8E4M3FN, 1.1875f, 0x3a, true} /* tie, up to even */,
      {DType::F8E4M3FN, 0x1p-11f, 0x00, true} /* tie to zero */,
      {DType::F8E4M3FN, -0.0f, 0x80, true},
      {DType::F8E5M2, 1.0f, 0x3c, true}, {DType::F8E5M2, 57344.0f, 0x7b, true},
      {DType::F8E5M2, 0x1p-16f, 0x01, true}, {DType::F8E5M2, 1e6f, 0x7b, true},
      {DType::F8E5M2, 1e6f, 0x7c, false}, {DType::F8E5M2, -INFINITY, 0xfc, false},
      {DType::F8E4M3FNUZ, 1.0f, 0x40, true}, {DType::F8E4M3FNUZ, 240.0f, 0x7f, true},
      {DType::F8E4M3FNUZ, 0x1p-10f, 0x01, true}, {DType::F8E4M3FNUZ, -0.0f, 0x00, true},
      {DType::F8E4M3FNUZ, 1e6f, 0x80, false},
      {DType::F8E5M2FNUZ, 1.0f, 0x40, true}, {DType::F8E5M2FNUZ, 57344.0f, 0x7f, true},
      {DType::F8E5M2FNUZ, 0x1p-17f, 0x01, true}};
  for (const Case &c : cases)
    EXPECT_EQ(floatToF8(c.f, c.t, c.saturate), c.code)
        << dtypeName(c.t) << " " << c.f << (c.saturate ? "" : " (no saturation)");
  for (DType t : {DType::F8E4M3FN, DType::F8E5M2, DType::F8E4M3FNUZ, DType::F8E5M2FNUZ}) {
    EXPECT_TRUE(std::isnan(f8ToFloat(floatToF8(NAN, t), t))) << dtypeName(t);
    // Every code but NaNs survives f8 -> float -> f8, and through the bulk
    // path (E5M2's infinities only without saturation: they saturate).
    for (unsigned b = 0; b < 256; ++b) {
      float v = f8ToFloat(uint8_t(b), t);
      if (std::isnan(v))
        continue;
      if (std::isinf(v)) {
        EXPECT_EQ(floatToF8(v, t, false), b);
        continue;
      }
      EXPECT_EQ(floatToF8(v, t), b) << dtypeName(t) << " code " << b;
      uint8_t viaBulk = 0;
      convertElements(reinterpret_cast<const uint8_t *>(&v), DType::F32, &viaBulk, t, 1);
      EXPECT_EQ(viaBulk, b);
    }
  }
}

// floatToF8's integer fast path equals the reference rounding for every
// binary32 whose upper 16 bits are any pattern and whose lower 16 are 0, 1,
// 0x8000 or 0xffff: every sign, exponent and the mantissa bits where the four
// types round (bits 19 and 20 and the sticky bits below them, exactly half
// and either side of it), both saturation modes.
TEST(DType, Float8FastPathMatchesTheReference) {
  for (DType t : {DType::F8E4M3FN, DType::F8E5M2, DType::F8E4M3FNUZ, DType::F8E5M2FNUZ})
    for (bool sat : {true, false})
      for (uint32_t hi = 0; hi < 0x10000u; ++hi)
        for (uint32_t lo : {0x0u, 0x1u, 0x8000u, 0xffffu}) {
          float v = bitsFloat(hi << 16 | lo);
          ASSERT_EQ(floatToF8(v, t, sat), floatToF8Reference(v, t, sat))
              << dtypeName(t) << " " << std::hex << (hi << 16 | lo) << " saturate " << sat;
        }
}

TEST(DType, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBF16(bitsFloat(0x3f808000)), 0x3f80); // tie, even stays
  EXPECT_EQ(floatToBF16(bitsFloat(0x3f818000)), 0x3f82); // tie, odd rounds up
  EXPECT_EQ(floatToBF16(bitsFloat(0x3f808001)), 0x3f81);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBF16(NAN))));
}

TEST(DType, BulkConversionMatchesTheScalarOne) {
  // convertElements (F16C where the CPU has it, threads for large arrays)
  // gives bit for bit what floatToHalf/floatToBF16 give, NaNs included, so
  // artifacts do not depend on the compiling machine.
  std::vector<uint32_t> bits;
  for (uint64_t x = 0; x <= 0xffffffffull; x += 251)
    bits.push_back(uint32_t(x));
  for (uint32_t x : {0x0u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00001u, 0xffbfffffu,
                     0x477ff000u, 0x477fefffu, 0x33000000u, 0x33000001u, 0x387fc000u, 0x38800000u})
    bits.push_back(x);
  size_t n = bits.size();
  std::vector<uint16_t> half(n), bf(n);
  convertElements(reinterpret_cast<const uint8_t *>(bits.data()), DType::F32,
                  reinterpret_cast<uint8_t *>(half.data()), DType::F16, n);
  convertElements(reinterpret_cast<const uint8_t *>(bits.data()), DType::F32,
                  reinterpret_cast<uint8_t *>(bf.data()), DType::BF16, n);
  size_t badHalf = 0, badBf = 0;
  for (size_t i = 0; i < n; ++i) {
    badHalf += half[i] != floatToHalf(bitsFloat(bits[i]));
    badBf += bf[i] != floatToBF16(bitsFloat(bits[i]));
  }
  EXPECT_EQ(badHalf, 0u);
  EXPECT_EQ(badBf, 0u);
  // Saturating float -> integer stores (no undefined conversions).
  uint8_t out[8];
  storeFromFloat(out, DType::I32, 1e30f);
  int32_t i32;
  std::memcpy(&i32, out, 4);
  EXPECT_EQ(i32, std::numeric_limits<int32_t>::max());
  storeFromFloat(out, DType::I64, -std::numeric_limits<float>::infinity());
  int64_t i64;
  std::memcpy(&i64, out, 8);
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::min());
  storeFromFloat(out, DType::I8, std::nanf(""));
  EXPECT_EQ(out[0], 0);
}
