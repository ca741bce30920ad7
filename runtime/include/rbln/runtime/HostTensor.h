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
