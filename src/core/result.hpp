#pragma once
// Expected failures as values. Every fallible function in Escala returns Result<T>;
// exceptions never cross a module boundary.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace escala {

// One code per kind of failure a caller may want to branch on. The HTTP adapter maps
// them to status codes (see adapters/http_api/errors.cpp).
enum class ErrorCode {
  kInvalidArgument,    // input has the wrong shape or value; `field` names it
  kUnknownField,       // input names a field that does not exist
  kNotFound,           // the thing does not exist, or the caller may not know it does
  kAlreadyExists,      // a unique key is taken
  kInvalidTransition,  // the case's state does not allow this action now
  kConflict,           // what the caller read has changed since (optimistic concurrency)
  kPermissionDenied,   // authenticated, but the role may not do this
  kUnauthenticated,    // no valid credentials
  kRateLimited,        // too many attempts; try later
  kPayloadTooLarge,    // input exceeds a configured limit
  kUnavailable,        // a dependency (database, disk) failed; retrying may help
  kInternal,           // a bug: an invariant did not hold
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;  // the offending input field, when there is one
};

inline Error make_error(ErrorCode code, std::string message, std::string field = {}) {
  return Error{code, std::move(message), std::move(field)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status ok_status() { return {}; }

}  // namespace escala

// Propagates an error from an expression returning Result<T>/Status.
#define ESCALA_TRY(expr)                          \
  do {                                            \
    auto&& escala_try_r_ = (expr);                \
    if (!escala_try_r_.ok()) return escala_try_r_.error(); \
  } while (0)
