//===- HostTensor.h - Tensors in host memory, .npy I/O ----------*- C++ -*-===//
#pragma once

#include "rbln/runtime/DType.h"
#include "rbln/runtime/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace rbln {

struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
  /// Elements of a NumPy void dtype (`|V1`, `<V2`: how ml_dtypes' float8 and
  /// bfloat16 arrays save), held as F8E4M3FN or BF16 until the declared type
  /// of the input or output they are given for names them (withType).
  bool raw = false;

  /// This tensor's bytes as `declared` when it is raw of the same element
  /// size (false otherwise).
  bool withType(DType declared) {
    if (!raw || dtypeSize(declared) != dtypeSize(dtype))
      return false;
    dtype = declared;
    raw = false;
    return true;
  }

  uint64_t numel() const;
  uint64_t byteSize() const { return numel() * dtypeSize(dtype); }
  std::string typeString() const; ///< e.g. "2x3xf32"
};

/// Reads a NumPy .npy file (v1-v3, little-endian, C order).
Expected<HostTensor> readNpy(const std::string &path);
Status writeNpy(const std::string &path, const HostTensor &t);
/// Parses `2x3xf32=1,2,3,4,5,6` (iree-run-module style; a single value is
/// splatted, `4xf32` alone means zeros).
Expected<HostTensor> parseTensorLiteral(const std::string &text);
/// Prints `2x3xf32=[[1 2 3][4 5 6]]`, eliding the middle of long tensors.
std::string formatTensor(const HostTensor &t, size_t maxElements = 64);

} // namespace rbln
