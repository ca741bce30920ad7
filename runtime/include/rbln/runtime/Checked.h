//===- Checked.h - Overflow-checked size arithmetic -------------*- C++ -*-===//
//
// Every size, count, offset and product computed from values that came from
// outside (an ONNX file, an artifact, a target description, a command line)
// goes through these: a result that does not fit, or that passes a limit,
// is refused instead of wrapping. Header-only, no MLIR/LLVM, so the
// compiler, the runtime and the simulator share it.
//
//   Checked<uint64_t> bytes = dtypeSize(t);
//   for (int64_t d : shape) bytes *= d;       // a negative d poisons it too
//   if (!bytes.within(limit)) return error;   // overflowed, negative or > limit
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>

namespace rbln {

/// An integer that remembers whether any operation producing it overflowed
/// (or mixed in a negative value where T is unsigned). Once poisoned it stays
/// poisoned, so a chain of operations needs one check at the end.
template <typename T> class Checked {
  static_assert(std::is_integral_v<T>, "Checked<T> needs an integer type");

public:
  constexpr Checked(T v = 0) : v_(v) {}
  template <typename U, typename = std::enable_if_t<std::is_integral_v<U> && !std::is_same_v<U, T>>>
  constexpr Checked(U v) {
    ok_ = convert(v, v_);
  }

  template <typename U> Checked &operator+=(U rhs) { return apply(rhs, [](T a, T b, T &r) { return __builtin_add_overflow(a, b, &r); }); }
  template <typename U> Checked &operator-=(U rhs) { return apply(rhs, [](T a, T b, T &r) { return __builtin_sub_overflow(a, b, &r); }); }
  template <typename U> Checked &operator*=(U rhs) { return apply(rhs, [](T a, T b, T &r) { return __builtin_mul_overflow(a, b, &r); }); }
  Checked &operator+=(Checked rhs) { ok_ &= rhs.ok_; return *this += rhs.v_; }
  Checked &operator-=(Checked rhs) { ok_ &= rhs.ok_; return *this -= rhs.v_; }
  Checked &operator*=(Checked rhs) { ok_ &= rhs.ok_; return *this *= rhs.v_; }
  template <typename U> friend Checked operator+(Checked a, U b) { return a += b; }
  template <typename U> friend Checked operator-(Checked a, U b) { return a -= b; }
  template <typename U> friend Checked operator*(Checked a, U b) { return a *= b; }

  /// False once any operation overflowed.
  bool ok() const { return ok_; }
  /// True when no operation overflowed and the value is at most `limit`.
  bool within(T limit) const { return ok_ && v_ <= limit; }
  /// The value, when no operation overflowed.
  std::optional<T> get() const { return ok_ ? std::optional<T>(v_) : std::nullopt; }
  /// The value; only meaningful when ok().
  T value() const { return v_; }

private:
  template <typename U> static bool convert(U in, T &out) {
    if constexpr (std::is_same_v<U, T>) {
      out = in;
      return true;
    } else {
      return !__builtin_add_overflow(in, U(0), &out);
    }
  }
  template <typename U, typename F> Checked &apply(U rhs, F op) {
    T r;
    if (!convert(rhs, r) || op(v_, r, v_))
      ok_ = false;
    return *this;
  }

  T v_ = 0;
  bool ok_ = true;
};

/// The product of `dims` (element count of a shape), or nothing when a dim is
/// negative or the product passes `limit`.
template <typename Range>
std::optional<uint64_t> checkedProduct(const Range &dims, uint64_t limit = UINT64_MAX) {
  Checked<uint64_t> n = 1;
  for (auto d : dims)
    n *= d;
  return n.within(limit) ? n.get() : std::nullopt;
}
inline std::optional<uint64_t> checkedProduct(std::initializer_list<int64_t> dims,
                                              uint64_t limit = UINT64_MAX) {
  return checkedProduct<std::initializer_list<int64_t>>(dims, limit);
}

/// The largest element count the toolchain accepts for one tensor (2^40, a
/// documented constant of the artifact format: any offset computed from such
/// counts times an element size and a stride fits 64 bits).
constexpr uint64_t kMaxTensorElements = uint64_t(1) << 40;

} // namespace rbln
