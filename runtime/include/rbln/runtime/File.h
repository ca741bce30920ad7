//===- File.h - Opening files from outside safely ---------------*- C++ -*-===//
//
// Paths come from users: a FIFO must not block the tool forever, and a
// directory or device is not a model, an artifact or an array. Every file the
// toolchain reads from a path goes through openRegularFile.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Error.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rbln {

/// Opens `path` for reading if it is a regular file, without blocking (a FIFO
/// is refused, not waited on). Returns the descriptor and fills `st`, or -1
/// with `err` naming the path and the reason.
inline int openRegularFile(const std::string &path, struct stat &st, std::string &err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    err = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    err = fmt::format("'{}' is not a regular file", path);
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0)
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

/// The whole of a regular file, refusing files over `limit` bytes.
inline Expected<std::string> readRegularFile(const std::string &path, uint64_t limit) {
  struct stat st;
  std::string err;
  int fd = openRegularFile(path, st, err);
  if (fd < 0)
    return Status::error(err);
  if (uint64_t(st.st_size) > limit) {
    ::close(fd);
    return makeError("'{}' has {} bytes; at most {} are read", path, uint64_t(st.st_size), limit);
  }
  std::string bytes(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return makeError("cannot read '{}': {}", path, n == 0 ? "it is shorter than its size" : std::strerror(e));
    }
    got += size_t(n);
  }
  ::close(fd);
  return bytes;
}

} // namespace rbln
