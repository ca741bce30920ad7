//===- Error.h - Status and Expected for the runtime ------------*- C++ -*-===//
//
// The runtime never aborts on bad input: every fallible call returns a Status
// or an Expected<T> carrying a message a user can act on.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace rbln {

class [[nodiscard]] Status {
public:
  /// InvalidInput: the caller's request was refused before anything ran or
  /// changed (a serving layer answers it as a bad request).
  enum class Kind { Ok, Error, InvalidInput };
  Status() = default;
  static Status success() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    return s;
  }
  static Status invalidInput(std::string message) {
    Status s = error(std::move(message));
    s.kind_ = Kind::InvalidInput;
    return s;
  }
  bool ok() const { return !failed_; }
  Kind kind() const { return !failed_ ? Kind::Ok : kind_; }
  const std::string &message() const { return message_; }

private:
  bool failed_ = false;
  Kind kind_ = Kind::Error;
  std::string message_;
};

template <typename... Args>
Status makeError(fmt::format_string<Args...> f, Args &&...args) {
  return Status::error(fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
Status makeInvalidInput(fmt::format_string<Args...> f, Args &&...args) {
  return Status::invalidInput(fmt::format(f, std::forward<Args>(args)...));
}

template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value_(std::move(value)) {}
  Expected(Status status) : status_(std::move(status)) {}
  bool ok() const { return value_.has_value(); }
  T &operator*() { return *value_; }
  const T &operator*() const { return *value_; }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }
  const Status &status() const { return status_; }
  const std::string &error() const { return status_.message(); }

private:
  std::optional<T> value_;
  Status status_;
};

} // namespace rbln

#define RBLN_RETURN_IF_ERROR(expr)                                             \
  do {                                                                         \
    ::rbln::Status _s = (expr);                                                \
    if (!_s.ok())                                                              \
      return _s;                                                               \
  } while (0)
