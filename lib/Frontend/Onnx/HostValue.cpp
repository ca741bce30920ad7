//===- HostValue.cpp - Tensors the importer evaluates on the host ---------===//
#include "HostValue.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"

#include "rbln/runtime/Checked.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;

namespace rbln::onnx_import::host {

/// A double as an int64, saturating (NaN: 0) instead of undefined behaviour.
int64_t saturate(double x) {
  if (!(x == x))
    return 0;
  if (x >= 9223372036854775807.0)
    return std::numeric_limits<int64_t>::max();
  if (x <= -9223372036854775808.0)
    return std::numeric_limits<int64_t>::min();
  return int64_t(x);
}
int64_t HostValue::atInt(int64_t k) const { return isFloat() ? saturate(f[size_t(k)]) : i[size_t(k)]; }

unsigned byteWidth(Type t) { return t.isInteger(1) ? 1 : t.getIntOrFloatBitWidth() / 8; }

FailureOr<HostValue> load(const Symbol &s) {
  HostValue v;
  v.type = s.type.getElementType();
  v.shape.assign(s.type.getShape().begin(), s.type.getShape().end());
  int64_t n = v.numel();
  const char *p = s.constantData.data();
  if (isPacked4(v.type)) { // two a byte; int4 sign-extends, uint4 does not
    const auto *u = reinterpret_cast<const uint8_t *>(p);
    for (int64_t k = 0; k < n; ++k)
      v.i.push_back(v.type.isUnsignedInteger() ? (u[k / 2] >> (4 * (k % 2))) & 0xf : int4At(u, uint64_t(k)));
    return v;
  }
  std::optional<DType> f8 = elementDType(v.type);
  if (f8 && !dtypeIsFloat8(*f8))
    f8.reset();
  unsigned w = byteWidth(v.type);
  for (int64_t k = 0; k < n; ++k, p += w) {
    if (f8) v.f.push_back(f8ToFloat(uint8_t(*p), *f8));
    else if (v.type.isF32()) { float x; std::memcpy(&x, p, 4); v.f.push_back(x); }
    else if (v.type.isF16() || v.type.isBF16()) {
      uint16_t h; std::memcpy(&h, p, 2);
      v.f.push_back(v.type.isF16() ? halfToFloat(h) : bf16ToFloat(h));
    }
    else if (v.type.isInteger(64)) { int64_t x; std::memcpy(&x, p, 8); v.i.push_back(x); }
    else if (v.type.isInteger(32)) { int32_t x; std::memcpy(&x, p, 4); v.i.push_back(x); }
    else if (v.type.isUnsignedInteger(8)) { v.i.push_back(uint8_t(*p)); }
    else if (v.type.isInteger(8)) { v.i.push_back(int8_t(*p)); }
    else if (v.type.isInteger(1)) { v.i.push_back(*p != 0); }
    else return failure();
  }
  return v;
}

std::vector<char> store(const HostValue &v) {
  if (isPacked4(v.type)) {
    std::vector<char> out(size_t(storageBytes(v.type, uint64_t(v.numel()))), 0);
    for (int64_t k = 0; k < v.numel(); ++k) // (only moved, never computed: in range)
      int4Put(reinterpret_cast<uint8_t *>(out.data()), uint64_t(k), int(v.i[size_t(k)]));
    return out;
  }
  std::optional<DType> f8 = elementDType(v.type);
  if (f8 && !dtypeIsFloat8(*f8))
    f8.reset();
  unsigned w = byteWidth(v.type);
  std::vector<char> out(size_t(v.numel()) * w);
  char *p = out.data();
  for (int64_t k = 0; k < v.numel(); ++k, p += w) {
    // (an 8-bit float value was rounded when computed: Cast, QuantizeLinear)
    if (f8) *p = char(floatToF8(float(v.f[size_t(k)]), *f8, false));
    else if (v.type.isF32()) { float x = float(v.f[size_t(k)]); std::memcpy(p, &x, 4); }
    else if (v.type.isF16()) { uint16_t h = floatToHalf(float(v.f[size_t(k)])); std::memcpy(p, &h, 2); }
    else if (v.type.isBF16()) { uint16_t h = floatToBF16(float(v.f[size_t(k)])); std::memcpy(p, &h, 2); }
    else if (v.type.isInteger(64)) { std::memcpy(p, &v.i[size_t(k)], 8); }
    else if (v.type.isInteger(32)) { int32_t x = int32_t(v.i[size_t(k)]); std::memcpy(p, &x, 4); }
    else { *p = char(v.i[size_t(k)]); }
  }
  return out;
}

HostValue make(Type type, ArrayRef<int64_t> shape) {
  HostValue v;
  v.type = type;
  v.shape.assign(shape.begin(), shape.end());
  if (v.isFloat()) v.f.assign(size_t(v.numel()), 0.0);
  else v.i.assign(size_t(v.numel()), 0);
  return v;
}

void set(HostValue &v, int64_t k, double x) {
  if (v.isFloat()) v.f[size_t(k)] = x;
  else v.i[size_t(k)] = saturate(x);
}


/// Element k of `v` read at output index `idx` under NumPy broadcasting.
double bcastAt(const HostValue &v, ArrayRef<int64_t> idx) {
  SmallVector<int64_t> st = stridesOf(v.shape);
  int64_t off = 0;
  size_t lead = idx.size() - v.shape.size();
  for (size_t d = 0; d < v.shape.size(); ++d)
    off += (v.shape[d] == 1 ? 0 : idx[lead + d]) * st[d];
  return v.at(off);
}


FailureOr<HostValue> elementwise(NodeContext &nc, ArrayRef<HostValue> in, Type outType,
                                 function_ref<double(ArrayRef<double>)> fn) {
  SmallVector<int64_t> shape;
  for (const HostValue &v : in) {
    size_t rank = std::max(shape.size(), v.shape.size());
    SmallVector<int64_t> out(rank);
    for (size_t d = 0; d < rank; ++d) {
      int64_t a = d < rank - shape.size() ? 1 : shape[d - (rank - shape.size())];
      int64_t b = d < rank - v.shape.size() ? 1 : v.shape[d - (rank - v.shape.size())];
      if (a != b && a != 1 && b != 1)
        return nc.error() << "constant operands do not broadcast", failure();
      out[d] = a == 1 ? b : a;
    }
    shape = out;
  }
  if (!checkedProduct(shape, uint64_t(kMaxFoldElements)))
    return nc.error() << "folding this node would evaluate more than 2^24 elements on the host",
           failure();
  HostValue r = make(outType, shape);
  SmallVector<double> args(in.size());
  for (int64_t k = 0; k < r.numel(); ++k) {
    SmallVector<int64_t> idx = unravel(k, shape);
    for (size_t a = 0; a < in.size(); ++a)
      args[a] = bcastAt(in[a], idx);
    set(r, k, fn(args));
  }
  return r;
}

} // namespace rbln::onnx_import::host
