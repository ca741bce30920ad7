//===- DType.h - Element types and host conversions -------------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace rbln {

/// Element types. The numeric values are the ISA's DType field encoding and
/// match rbln.proto's DType enum. The four 8-bit floats are ONNX's (and
/// MLIR's, and ml_dtypes'): E4M3FN (bias 7, max 448, NaN S.1111.111, no
/// infinities), E5M2 (IEEE-like, bias 15, max 57344, infinities), and the
/// FNUZ variants (bias 8 / 16, one NaN 0x80, no infinities, no -0).
/// I4 is ONNX's INT4: signed 4-bit integers packed two per byte, the lower
/// index in the low nibble. It exists only as weights in DRAM that a DMA
/// widens on the way into a scratchpad (int4 weights, w4a16); no engine
/// computes on it, no model input or output has it.
enum class DType : uint8_t {
  F32 = 0, F16 = 1, BF16 = 2, I32 = 3, I64 = 4, I8 = 5, U8 = 6, Bool = 7,
  F8E4M3FN = 8, F8E5M2 = 9, F8E4M3FNUZ = 10, F8E5M2FNUZ = 11, I4 = 12
};

/// Integer types (and bool): the data that indexes and counts.
inline bool dtypeIsInteger(DType d) {
  return d == DType::I32 || d == DType::I64 || d == DType::I8 || d == DType::U8 || d == DType::Bool;
}
constexpr unsigned kNumDTypes = 13;

inline bool dtypeIsFloat8(DType d) {
  return d == DType::F8E4M3FN || d == DType::F8E5M2 || d == DType::F8E4M3FNUZ || d == DType::F8E5M2FNUZ;
}

/// Bytes one element occupies alone (a 4-bit element: its whole byte). A
/// run of n elements takes dtypeBytes(t, n): packed types share bytes.
inline unsigned dtypeSize(DType t) {
  switch (t) {
  case DType::I4: return 1;
  case DType::F32: case DType::I32: return 4;
  case DType::F16: case DType::BF16: return 2;
  case DType::I64: return 8;
  case DType::I8: case DType::U8: case DType::Bool: return 1;
  case DType::F8E4M3FN: case DType::F8E5M2: case DType::F8E4M3FNUZ: case DType::F8E5M2FNUZ: return 1;
  }
  return 0;
}

inline unsigned dtypeBits(DType t) { return t == DType::I4 ? 4 : 8 * dtypeSize(t); }
/// Bytes `n` consecutive elements occupy (4-bit ones two to a byte).
inline uint64_t dtypeBytes(DType t, uint64_t n) {
  return t == DType::I4 ? (n + 1) / 2 : n * dtypeSize(t);
}
/// Whether elements of `t` share bytes (they are addressed in nibbles).
inline bool dtypeIsPacked(DType t) { return t == DType::I4; }

/// Element `i` of a packed 4-bit run starting at `base`, sign-extended.
inline int int4At(const uint8_t *base, uint64_t i) {
  int nib = (base[i / 2] >> (4 * (i % 2))) & 0xf;
  return nib >= 8 ? nib - 16 : nib;
}
/// Writes v (in [-8, 7]) as element `i` of a packed 4-bit run whose byte
/// holds zeros where it goes (a run being filled in order).
inline void int4Put(uint8_t *base, uint64_t i, int v) {
  base[i / 2] = uint8_t(base[i / 2] | ((unsigned(v) & 0xfu) << (4 * (i % 2))));
}

inline const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::I8: return "i8";
  case DType::U8: return "u8";
  case DType::Bool: return "i1";
  case DType::F8E4M3FN: return "f8E4M3FN";
  case DType::F8E5M2: return "f8E5M2";
  case DType::F8E4M3FNUZ: return "f8E4M3FNUZ";
  case DType::F8E5M2FNUZ: return "f8E5M2FNUZ";
  case DType::I4: return "i4";
  }
  return "?";
}

bool parseDType(std::string_view name, DType &out);

inline uint32_t floatBits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bitsFloat(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

/// IEEE binary16 <-> binary32, round to nearest even, with subnormals,
/// infinities and NaN, as the NPU's conversion units do.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
/// bfloat16: the top half of binary32, round to nearest even; NaN stays NaN.
uint16_t floatToBF16(float f);
inline float bf16ToFloat(uint16_t b) { return bitsFloat(uint32_t(b) << 16); }

/// 8-bit floats (t one of the four F8 types) <-> binary32, round to nearest
/// even, subnormals kept. With
/// `saturate` (ONNX Cast's default) a value past the largest finite one,
/// infinities included, becomes that value with its sign; without, it
/// becomes an infinity (E5M2) or NaN (the types without infinities). NaN
/// stays NaN; FNUZ types have no -0 (it becomes +0).
uint8_t floatToF8(float f, DType t, bool saturate = true);
/// The same, by rounding |v| to the type's quantum in float arithmetic: the
/// readable form floatToF8's integer fast path is checked against.
uint8_t floatToF8Reference(float f, DType t, bool saturate = true);
float f8ToFloat(uint8_t b, DType t);

/// Reads element `i` of `data` (of type t) as float; writes float v as type t.
/// Float-to-integer stores saturate to the integer's range (NaN gives 0);
/// float-to-8-bit-float stores saturate (floatToF8). I4 reads and writes
/// the low nibble of the byte (a packed run is read with int4At).
float loadAsFloat(const uint8_t *data, DType t);
void storeFromFloat(uint8_t *data, DType t, float v);

/// Converts `n` elements from type `from` at `in` to type `to` at `out`,
/// with the same results as storeFromFloat(loadAsFloat(...)) element by
/// element. f32 -> f16 uses the CPU's F16C conversion when it has one
/// (~20x the scalar loop; NaNs are made canonical, so artifacts do not
/// depend on the compiling machine); large arrays are split over threads.
void convertElements(const uint8_t *in, DType from, uint8_t *out, DType to, size_t n);

} // namespace rbln
