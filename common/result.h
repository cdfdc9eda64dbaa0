// The one error type at module boundaries.
//
// A Result<T> holds either a value or an Error. An Error carries a stable,
// lowercase reason code a user or a program can act on ("mandate-revoked",
// "manifest-hash-mismatch") and a sentence of detail for people. Results are
// [[nodiscard]]: a refusal cannot be dropped silently. No exceptions on the
// per-request path; code that calls throwing libraries (Poco) catches at its
// edge and turns the exception into an Error.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace kp {

struct Error {
  std::string code;    // stable, kebab-case, e.g. "permission-denied"
  std::string detail;  // one sentence for a person

  std::string message() const { return detail.empty() ? code : code + ": " + detail; }
};

inline Error make_error(std::string code, std::string detail = {}) {
  return Error{std::move(code), std::move(detail)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace kp

#define KP_CONCAT_INNER(a, b) a##b
#define KP_CONCAT(a, b) KP_CONCAT_INNER(a, b)

// KP_GUARD(expr): return the error of a failed Result/Status expression.
#define KP_GUARD(expr)                                  \
  do {                                                  \
    auto&& kp_guard_r_ = (expr);                        \
    if (!kp_guard_r_.ok()) return kp_guard_r_.error();  \
  } while (0)

// KP_ENSURE(cond, code, detail): return an Error unless cond holds.
#define KP_ENSURE(cond, code, detail)                 \
  do {                                                \
    if (!(cond)) return ::kp::make_error(code, detail); \
  } while (0)

// KP_TRY(decl, expr): declare `decl` from the value of a Result or return its error.
#define KP_TRY(decl, expr) KP_TRY_IMPL(KP_CONCAT(kp_try_r_, __LINE__), decl, expr)
#define KP_TRY_IMPL(tmp, decl, expr)      \
  auto tmp = (expr);                      \
  if (!tmp.ok()) return tmp.error();      \
  decl = std::move(tmp).value()
