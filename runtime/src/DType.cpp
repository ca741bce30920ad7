//===- DType.cpp - Element type conversions -------------------------------===//
#include "rbln/runtime/DType.h"

#include <cmath>

namespace rbln {

bool parseDType(std::string_view name, DType &out) {
  for (unsigned i = 0; i < kNumDTypes; ++i) {
    if (name == dtypeName(DType(i))) {
      out = DType(i);
      return true;
    }
  }
  if (name == "fp32" || name == "float32") { out = DType::F32; return true; }
  if (name == "fp16" || name == "float16") { out = DType::F16; return true; }
  if (name == "bfloat16") { out = DType::BF16; return true; }
  return false;
}

uint16_t floatToHalf(float f) {
  uint32_t x = floatBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // inf or NaN (keep NaN quiet and non-zero)
    return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
  if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to inf
    return uint16_t(sign | 0x7c00u);
  if (absx < 0x38800000u) { // result is subnormal (or zero) in half
    // Scale so the half subnormal LSB (2^-24) becomes 1, then round to even.
    float a = bitsFloat(absx) * 16777216.0f; // 2^24, exact
    uint32_t v = uint32_t(std::nearbyint(a)); // default mode: nearest even
    return uint16_t(sign | v);
  }
  uint32_t mant = absx & 0x7fffffu;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
    ++h; // may carry into the exponent, which is still correct
  return uint16_t(sign | h);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    float v = float(mant) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31)
    return bitsFloat(sign | 0x7f800000u | (mant << 13));
  return bitsFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t floatToBF16(float f) {
  uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40u);
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return uint16_t(x >> 16);
}

float loadAsFloat(const uint8_t *p, DType t) {
  switch (t) {
  case DType::F32: { float v; std::memcpy(&v, p, 4); return v; }
  case DType::F16: { uint16_t v; std::memcpy(&v, p, 2); return halfToFloat(v); }
  case DType::BF16: { uint16_t v; std::memcpy(&v, p, 2); return bf16ToFloat(v); }
  case DType::I32: { int32_t v; std::memcpy(&v, p, 4); return float(v); }
  case DType::I64: { int64_t v; std::memcpy(&v, p, 8); return float(v); }
  case DType::I8: return float(int8_t(*p));
  case DType::U8: return float(*p);
  case DType::Bool: return *p ? 1.0f : 0.0f;
  }
  return 0.0f;
}

void storeFromFloat(uint8_t *p, DType t, float v) {
  switch (t) {
  case DType::F32: std::memcpy(p, &v, 4); return;
  case DType::F16: { uint16_t h = floatToHalf(v); std::memcpy(p, &h, 2); return; }
  case DType::BF16: { uint16_t h = floatToBF16(v); std::memcpy(p, &h, 2); return; }
  case DType::I32: { int32_t i = int32_t(v); std::memcpy(p, &i, 4); return; }
  case DType::I64: { int64_t i = int64_t(v); std::memcpy(p, &i, 8); return; }
  case DType::I8: *p = uint8_t(int8_t(v)); return;
  case DType::U8: *p = uint8_t(v); return;
  case DType::Bool: *p = v != 0.0f; return;
  }
}

} // namespace rbln
