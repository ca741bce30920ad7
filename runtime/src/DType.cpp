//===- DType.cpp - Element type conversions -------------------------------===//
#include "rbln/runtime/DType.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
  if (name == "fp8" || name == "f8E4M3") { out = DType::F8E4M3FN; return true; } // the usual FP8
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

namespace {
/// The shape of an 8-bit float type.
struct F8Format {
  int mantBits, bias;
  bool fnuz, hasInf; // FNUZ: NaN is 0x80, no -0; hasInf: E5M2's IEEE specials
  float maxFinite;
  uint32_t maxCode; // maxFinite's code (sign clear)
};
F8Format f8Format(DType t) {
  switch (t) {
  case DType::F8E4M3FN: return {3, 7, false, false, 448.0f, 0x7e};
  case DType::F8E5M2: return {2, 15, false, true, 57344.0f, 0x7b};
  case DType::F8E4M3FNUZ: return {3, 8, true, false, 240.0f, 0x7f};
  case DType::F8E5M2FNUZ: return {2, 16, true, false, 57344.0f, 0x7f};
  default: return {0, 0, false, false, 0.0f, 0};
  }
}
uint8_t f8NaN(const F8Format &f, uint8_t sign) { return f.fnuz ? 0x80 : f.hasInf ? uint8_t(sign | 0x7e) : uint8_t(sign | 0x7f); }
} // namespace

uint8_t floatToF8(float v, DType t, bool saturate) {
  // The common case — a finite value in the type's normal range — in
  // integer arithmetic on the binary32 bits: round the mantissa to the
  // type's bits, ties to even (a carry moves into the exponent, which is
  // right), and rebias. (floatToF8Reference, the readable form, handles
  // the rest: zeros, subnormals, overflow, NaN and infinities; unit test
  // DType.Float8FastPathMatchesTheReference compares the two.)
  F8Format f = f8Format(t);
  uint32_t x = floatBits(v), ax = x & 0x7fffffffu;
  int fe = int(ax >> 23) - 127;
  if (ax < 0x7f800000u && fe >= 1 - f.bias) {
    unsigned shift = unsigned(23 - f.mantBits);
    uint32_t r = (ax + ((1u << (shift - 1)) - 1u) + ((ax >> shift) & 1u)) >> shift;
    int re = int(r >> f.mantBits) - 127;
    uint32_t code = (uint32_t(re + f.bias) << f.mantBits) | (r & ((1u << f.mantBits) - 1u));
    if (code <= f.maxCode)
      return uint8_t(((x >> 24) & 0x80u) | code);
  }
  return floatToF8Reference(v, t, saturate);
}

uint8_t floatToF8Reference(float v, DType t, bool saturate) {
  F8Format f = f8Format(t);
  uint8_t sign = std::signbit(v) ? 0x80 : 0;
  if (std::isnan(v))
    return f8NaN(f, sign);
  float a = std::fabs(v);
  auto overflow = [&]() -> uint8_t {
    if (saturate)
      return uint8_t(sign | f.maxCode);
    return f.hasInf ? uint8_t(sign | 0x7c) : f8NaN(f, sign);
  };
  if (std::isinf(a))
    return overflow();
  int minExp = 1 - f.bias; // the smallest normal's exponent
  // Round |v| to the type's quantum at its binade (the subnormal quantum
  // below the normal range); nearbyint rounds ties to even.
  int e = a == 0.0f ? minExp : std::max(std::ilogb(a), minExp);
  float quantum = std::ldexp(1.0f, e - f.mantBits);
  float r = std::nearbyint(a / quantum) * quantum; // exact: a/quantum has < 24 bits
  if (r > f.maxFinite)
    return overflow();
  if (r == 0.0f)
    return f.fnuz ? 0 : sign;
  int re = std::ilogb(r);
  uint32_t code;
  if (re < minExp) { // subnormal: exponent field 0
    code = uint32_t(std::ldexp(r, f.mantBits - minExp));
  } else {
    uint32_t mant = uint32_t(std::ldexp(r, f.mantBits - re)) - (1u << f.mantBits);
    code = (uint32_t(re + f.bias) << f.mantBits) | mant;
  }
  return uint8_t(sign | code);
}

float f8ToFloat(uint8_t b, DType t) {
  F8Format f = f8Format(t);
  bool neg = b & 0x80;
  unsigned rest = b & 0x7f, expField = rest >> f.mantBits, mant = rest & ((1u << f.mantBits) - 1);
  unsigned expMax = (1u << (7 - f.mantBits)) - 1;
  if (f.fnuz && b == 0x80)
    return std::numeric_limits<float>::quiet_NaN();
  if (f.hasInf && expField == expMax)
    return mant ? std::numeric_limits<float>::quiet_NaN()
                : (neg ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity());
  if (!f.fnuz && !f.hasInf && rest == 0x7f)
    return std::numeric_limits<float>::quiet_NaN();
  float v = expField == 0 ? std::ldexp(float(mant), 1 - f.bias - f.mantBits)
                          : std::ldexp(float(mant + (1u << f.mantBits)), int(expField) - f.bias - f.mantBits);
  return neg ? -v : v;
}

namespace {
/// A float as integer type T: truncated toward zero, saturated at T's range
/// (converting an out-of-range float is undefined behaviour in C++).
template <typename T> T saturate(float v) {
  if (!(v == v))
    return 0;
  if (v <= float(std::numeric_limits<T>::min()))
    return std::numeric_limits<T>::min();
  if (v >= float(std::numeric_limits<T>::max()))
    return std::numeric_limits<T>::max();
  return T(v);
}
} // namespace

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
  case DType::F8E4M3FN: case DType::F8E5M2: case DType::F8E4M3FNUZ: case DType::F8E5M2FNUZ:
    return f8ToFloat(*p, t);
  case DType::I4: return float(int4At(p, 0));
  }
  return 0.0f;
}

void storeFromFloat(uint8_t *p, DType t, float v) {
  switch (t) {
  case DType::F32: std::memcpy(p, &v, 4); return;
  case DType::F16: { uint16_t h = floatToHalf(v); std::memcpy(p, &h, 2); return; }
  case DType::BF16: { uint16_t h = floatToBF16(v); std::memcpy(p, &h, 2); return; }
  case DType::I32: { int32_t i = saturate<int32_t>(v); std::memcpy(p, &i, 4); return; }
  case DType::I64: { int64_t i = saturate<int64_t>(v); std::memcpy(p, &i, 8); return; }
  case DType::I8: *p = uint8_t(saturate<int8_t>(v)); return;
  case DType::U8: *p = saturate<uint8_t>(v); return;
  case DType::Bool: *p = v != 0.0f; return;
  case DType::F8E4M3FN: case DType::F8E5M2: case DType::F8E4M3FNUZ: case DType::F8E5M2FNUZ:
    *p = floatToF8(v, t); return;
  case DType::I4: // the low nibble, saturated to [-8, 7]
    *p = uint8_t((*p & 0xf0u) | (uint8_t(std::clamp<int>(saturate<int8_t>(v), -8, 7)) & 0x0fu));
    return;
  }
}

namespace {
#if defined(__x86_64__)
/// f32 -> f16 with F16C, eight at a time; NaNs canonical as floatToHalf's.
__attribute__((target("avx,f16c"))) void halfF16c(const float *in, uint16_t *out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(in + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), h);
  }
  for (; i < n; ++i)
    out[i] = floatToHalf(in[i]);
  for (size_t k = 0; k < n; ++k)
    if ((out[k] & 0x7c00u) == 0x7c00u && (out[k] & 0x3ffu))
      out[k] = uint16_t((out[k] & 0x8000u) | 0x7e00u);
}
#endif

void convertRange(const uint8_t *in, DType from, uint8_t *out, DType to, size_t n) {
  if (from == to) {
    std::memcpy(out, in, n * dtypeSize(from));
    return;
  }
  if (from == DType::F32 && (to == DType::F16 || to == DType::BF16)) {
    // Blocks through an aligned buffer (the source may be unaligned).
    float buf[1024];
    for (size_t i = 0; i < n; i += 1024) {
      size_t m = std::min<size_t>(1024, n - i);
      std::memcpy(buf, in + 4 * i, 4 * m);
      uint16_t hb[1024];
#if defined(__x86_64__)
      static const bool f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
      if (to == DType::F16 && f16c)
        halfF16c(buf, hb, m);
      else
#endif
        for (size_t k = 0; k < m; ++k)
          hb[k] = to == DType::F16 ? floatToHalf(buf[k]) : floatToBF16(buf[k]);
      std::memcpy(out + 2 * i, hb, 2 * m);
    }
    return;
  }
  unsigned fs = dtypeSize(from), ts = dtypeSize(to);
  for (size_t i = 0; i < n; ++i)
    storeFromFloat(out + i * ts, to, loadAsFloat(in + i * fs, from));
}
} // namespace

void convertElements(const uint8_t *in, DType from, uint8_t *out, DType to, size_t n) {
  // Split big arrays over the cores (the compiler converts GBs of weights).
  constexpr size_t kPerThread = size_t(1) << 22;
  unsigned threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                      (n + kPerThread - 1) / kPerThread);
  if (threads <= 1) {
    convertRange(in, from, out, to, n);
    return;
  }
  size_t per = (n + threads - 1) / threads;
  unsigned fs = dtypeSize(from), ts = dtypeSize(to);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    size_t lo = t * per, hi = std::min(n, lo + per);
    if (lo < hi)
      pool.emplace_back(convertRange, in + lo * fs, from, out + lo * ts, to, hi - lo);
  }
  convertRange(in, from, out, to, std::min(n, per));
  for (std::thread &th : pool)
    th.join();
}

} // namespace rbln
