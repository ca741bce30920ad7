//===- HostTensor.cpp - .npy files and tensor literals --------------------===//
#include "rbln/runtime/HostTensor.h"

#include "rbln/runtime/File.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace rbln {

uint64_t HostTensor::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape)
    n *= uint64_t(d);
  return n;
}

std::string HostTensor::typeString() const {
  std::string s;
  for (int64_t d : shape)
    s += fmt::format("{}x", d);
  return s + dtypeName(dtype);
}

namespace {
const char *npyDescr(DType t) {
  switch (t) {
  case DType::F32: return "<f4";
  case DType::F16: return "<f2";
  case DType::BF16: return "<V2"; // no NumPy dtype: ml_dtypes' bfloat16 saves as raw bytes
  case DType::I32: return "<i4";
  case DType::I64: return "<i8";
  case DType::I8: return "|i1";
  case DType::U8: return "|u1";
  case DType::Bool: return "|b1";
  case DType::F8E4M3FN: case DType::F8E5M2: case DType::F8E4M3FNUZ: case DType::F8E5M2FNUZ:
    return "|V1"; // as ml_dtypes' float8 arrays save
  case DType::I4: return nullptr; // weights only: never a host tensor
  }
  return nullptr;
}

/// Extracts the value of `'key': value` from a .npy header dictionary.
std::string headerField(const std::string &h, const std::string &key) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos)
    return "";
  size_t colon = h.find(':', k);
  if (colon == std::string::npos)
    return "";
  size_t b = h.find_first_not_of(' ', colon + 1);
  if (b == std::string::npos)
    return "";
  size_t e;
  if (h[b] == '(')
    e = h.find(')', b) + 1;
  else if (h[b] == '\'')
    e = h.find('\'', b + 1) + 1;
  else
    e = h.find_first_of(",}", b);
  if (e == std::string::npos || e == 0)
    return "";
  return h.substr(b, e - b);
}
} // namespace

Expected<HostTensor> readNpy(const std::string &path) {
  // Arrays are inputs of one model run: 64 GiB is past any device's DRAM.
  auto file = readRegularFile(path, uint64_t(64) << 30);
  if (!file.ok())
    return file.status();
  std::string &bytes = *file;
  auto fail = [&](const std::string &why) { return makeError("'{}' is not a valid .npy file: {}", path, why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return fail("bad magic");
  uint8_t major = uint8_t(bytes[6]);
  size_t hlen, hoff;
  if (major == 1) {
    hlen = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    hoff = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated header");
    uint32_t l;
    std::memcpy(&l, bytes.data() + 8, 4);
    hlen = l;
    hoff = 12;
  } else {
    return fail(fmt::format("unsupported version {}", major));
  }
  if (hoff + hlen > bytes.size())
    return fail("truncated header");
  std::string h = bytes.substr(hoff, hlen);
  std::string descr = headerField(h, "descr");
  std::string order = headerField(h, "fortran_order");
  std::string shape = headerField(h, "shape");
  if (descr.size() < 2 || shape.empty())
    return fail("header lacks descr or shape");
  if (order.rfind("True", 0) == 0)
    return fail("Fortran order is not supported; save with np.ascontiguousarray");
  descr = descr.substr(1, descr.size() - 2);
  HostTensor t;
  bool found = false;
  // ml_dtypes' float8_e5m2 saves as `<f1`, a float NumPy itself lacks.
  if (descr == "|V1" || descr == "<V1" || descr == "V1" || descr == "|V2" || descr == "<V2" ||
      descr == "V2" || descr == "<f1" || descr == "|f1") {
    // Raw elements (bfloat16 and the float8s of ml_dtypes save so): the
    // declared type of the input or output they are used for gives them
    // meaning (HostTensor::raw).
    t.dtype = descr.back() == '1' ? DType::F8E4M3FN : DType::BF16;
    t.raw = true;
    found = true;
  }
  for (unsigned i = 0; i < kNumDTypes && !found; ++i) {
    const char *d = npyDescr(DType(i));
    if (d && d[1] != 'V' &&
        (descr == d || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == d + 1))) {
      t.dtype = DType(i);
      found = true;
    }
  }
  if (!found)
    return fail(fmt::format("element type '{}' is not supported (use float32, float16, int32, "
                            "int64, int8, uint8, bool, or ml_dtypes' bfloat16 and float8 types)",
                            descr));
  std::string dims = shape.substr(1, shape.size() - 2);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos)
      continue;
    char *end = nullptr;
    long long v = std::strtoll(item.c_str() + b, &end, 10);
    if (v < 0)
      return fail("negative dimension");
    t.shape.push_back(v);
  }
  uint64_t need = t.byteSize();
  size_t off = hoff + hlen;
  if (bytes.size() - off < need)
    return fail(fmt::format("data is {} bytes, shape {} needs {}", bytes.size() - off,
                            t.typeString(), need));
  t.data.assign(bytes.begin() + long(off), bytes.begin() + long(off + need));
  return t;
}

Status writeNpy(const std::string &path, const HostTensor &t) {
  const char *descr = npyDescr(t.dtype);
  if (!descr)
    return makeError("cannot write {} as .npy (no NumPy dtype)", dtypeName(t.dtype));
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i)
    shape += fmt::format("{}{}", t.shape[i], t.shape.size() == 1 ? "," : (i + 1 < t.shape.size() ? ", " : ""));
  shape += ")";
  std::string h = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return makeError("cannot open '{}' for writing: {}", path, std::strerror(errno));
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t l = uint16_t(h.size());
  out.write(reinterpret_cast<const char *>(&l), 2);
  out.write(h.data(), std::streamsize(h.size()));
  out.write(reinterpret_cast<const char *>(t.data.data()), std::streamsize(t.data.size()));
  if (!out)
    return makeError("cannot write '{}'", path);
  return Status::success();
}

Expected<HostTensor> parseTensorLiteral(const std::string &text) {
  size_t eq = text.find('=');
  std::string type = text.substr(0, eq);
  HostTensor t;
  std::vector<std::string> parts;
  std::stringstream ss(type);
  std::string p;
  while (std::getline(ss, p, 'x'))
    parts.push_back(p);
  if (parts.empty() || !parseDType(parts.back(), t.dtype))
    return makeError("'{}': expected a type like 2x3xf32 (element types: f32, f16, bf16, i32, "
                     "i64, i8, u8, i1, f8E4M3FN, f8E5M2, f8E4M3FNUZ, f8E5M2FNUZ)", text);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    char *end = nullptr;
    long long v = std::strtoll(parts[i].c_str(), &end, 10);
    if (parts[i].empty() || *end || v < 0)
      return makeError("'{}': bad dimension '{}'", text, parts[i]);
    t.shape.push_back(v);
  }
  uint64_t n = t.numel();
  if (n > (uint64_t(1) << 32))
    return makeError("'{}': tensor too large for a literal", text);
  t.data.assign(size_t(t.byteSize()), 0);
  if (eq == std::string::npos)
    return t;
  std::vector<double> vals;
  std::stringstream vs(text.substr(eq + 1));
  std::string v;
  while (std::getline(vs, v, ',')) {
    char *end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || (*end && *end != ' '))
      return makeError("'{}': bad value '{}'", text, v);
    vals.push_back(d);
  }
  if (vals.size() != 1 && vals.size() != n)
    return makeError("'{}': {} values given, the type has {} elements", text, vals.size(), n);
  unsigned es = dtypeSize(t.dtype);
  for (uint64_t i = 0; i < n; ++i) {
    double d = vals.size() == 1 ? vals[0] : vals[i];
    uint8_t *dst = t.data.data() + i * es;
    if (t.dtype == DType::I64) {
      int64_t x = int64_t(d);
      std::memcpy(dst, &x, 8);
    } else if (t.dtype == DType::I32) {
      int32_t x = int32_t(d);
      std::memcpy(dst, &x, 4);
    } else {
      storeFromFloat(dst, t.dtype, float(d));
    }
  }
  return t;
}

std::string formatTensor(const HostTensor &t, size_t maxElements) {
  std::string out = t.typeString() + "=";
  uint64_t n = t.numel();
  int64_t last = t.shape.empty() ? 1 : t.shape.back();
  unsigned es = dtypeSize(t.dtype);
  auto elem = [&](uint64_t i) {
    const uint8_t *p = t.data.data() + i * es;
    if (t.dtype == DType::I64) { int64_t v; std::memcpy(&v, p, 8); return fmt::format("{}", v); }
    if (t.dtype == DType::I32) { int32_t v; std::memcpy(&v, p, 4); return fmt::format("{}", v); }
    return fmt::format("{:.6g}", loadAsFloat(p, t.dtype));
  };
  out += "[";
  for (uint64_t i = 0; i < n; ++i) {
    if (n > maxElements && i == maxElements / 2) {
      out += " ... ";
      i = n - maxElements / 2;
    }
    out += elem(i);
    if (i + 1 < n)
      out += (last > 0 && (i + 1) % uint64_t(last) == 0) ? "][" : " ";
  }
  return out + "]";
}

} // namespace rbln
