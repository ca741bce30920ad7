//===- ExternalData.h - Tensors stored beside an ONNX model ------*- C++ -*-===//
//
// ONNX external data: each file is mapped once per process (found by device,
// inode, size and mtime) and tensors are views into it, so weights are never
// copied. Locations must be relative paths inside the model's folder.
// Internal to the importer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ImporterImpl.h"

#include "rbln/runtime/Checked.h"
#include "rbln/runtime/File.h"
#include "mlir/IR/Diagnostics.h"

#include <fcntl.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace rbln::onnx_import {

using mlir::failure;
using mlir::FailureOr;
using mlir::Location;
using mlir::LogicalResult;
using mlir::success;
using llvm::StringRef;
using llvm::Twine;

/// A read-only mapping of a whole external-data file.
struct MappedFile {
  const char *data = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (data && size)
      munmap(const_cast<char *>(data), size);
  }
};

/// Reads tensors stored beside the model (ONNX external data): each file is
/// mapped once and tensors are views into it, so weights are never copied.
/// Locations must be relative paths inside the model's folder.
class ExternalData {
public:
  explicit ExternalData(const std::string &modelPath) {
    size_t slash = modelPath.find_last_of('/');
    dir = slash == std::string::npos ? "." : modelPath.substr(0, slash == 0 ? 1 : slash);
  }

  LogicalResult read(const onnx::TensorProto &t, size_t bytes, Location loc, ConstantData &out) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      char *end = nullptr;
      if (kv.key() == "location") {
        location = kv.value();
      } else if (kv.key() == "offset" || kv.key() == "length") {
        errno = 0;
        long long v = std::strtoll(kv.value().c_str(), &end, 10);
        if (errno || end == kv.value().c_str() || *end || v < 0)
          return emitError(loc) << "tensor '" << t.name() << "': external data " << kv.key()
                                << " '" << kv.value() << "' is not a non-negative integer";
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    auto fail = [&]() {
      return emitError(loc) << "tensor '" << t.name() << "': external data '" << location << "' ";
    };
    if (location.empty())
      return emitError(loc) << "tensor '" << t.name() << "' uses external data without a location";
    if (location.front() == '/')
      return fail() << "is an absolute path; locations must be relative to the model's folder";
    for (StringRef part : llvm::split(StringRef(location), '/'))
      if (part == "..")
        return fail() << "goes up with '..'; locations must stay inside the model's folder";
    if (length >= 0 && size_t(length) != bytes)
      return fail() << "gives length " << length << ", the tensor's shape needs " << bytes
                    << " bytes";
    std::string full = dir + "/" + location;
    auto it = files.find(full);
    if (it == files.end()) {
      // Symbolic links may not lead out of the folder either.
      char realDir[PATH_MAX], realFile[PATH_MAX];
      if (!realpath(dir.c_str(), realDir) || !realpath(full.c_str(), realFile))
        return fail() << "cannot be opened: " << std::strerror(errno) << " (looked for '" << full
                      << "')";
      std::string rd = std::string(realDir) + "/";
      if (std::string(realFile).compare(0, rd.size(), rd) != 0)
        return fail() << "resolves to '" << realFile << "', outside the model's folder";
      struct stat st;
      std::string err;
      int fd = rbln::openRegularFile(full, st, err);
      if (fd < 0)
        return fail() << "cannot be opened as a regular file: " << err;
      // One mapping per file in the process while any import holds it: the
      // prefill and every decode bucket import the same weights, and the
      // conversion to the compute type finds them by address.
      static std::mutex sharedMutex;
      static std::map<std::tuple<dev_t, ino_t, off_t, int64_t>, std::weak_ptr<MappedFile>> shared;
      auto fileKey = std::make_tuple(st.st_dev, st.st_ino, st.st_size,
                                     int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
      std::lock_guard<std::mutex> lock(sharedMutex);
      if (auto live = shared[fileKey].lock()) {
        close(fd);
        it = files.insert({full, std::move(live)}).first;
        const MappedFile &m = *it->second;
        if (uint64_t(offset) + bytes > m.size)
          return fail() << "is too short: the tensor needs bytes " << offset << ".."
                        << offset + int64_t(bytes) << ", the file has " << m.size;
        out = ConstantData(it->second, m.data + offset, bytes);
        return success();
      }
      auto m = std::make_shared<MappedFile>();
      m->size = size_t(st.st_size);
      if (m->size) {
        void *p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
          close(fd);
          return fail() << "cannot be mapped: " << std::strerror(errno);
        }
        m->data = static_cast<const char *>(p);
      }
      close(fd);
      shared[fileKey] = m;
      it = files.insert({full, std::move(m)}).first;
    }
    const MappedFile &m = *it->second;
    if (uint64_t(offset) + bytes > m.size)
      return fail() << "is too short: the tensor needs bytes " << offset << ".." << offset + int64_t(bytes)
                    << ", the file has " << m.size;
    out = ConstantData(it->second, m.data + offset, bytes);
    return success();
  }

private:
  std::string dir;
  std::map<std::string, std::shared_ptr<MappedFile>> files;
};

} // namespace rbln::onnx_import
