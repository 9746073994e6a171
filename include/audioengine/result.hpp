#pragma once
// Error codes and Result<T>: how every fallible call in audioengine reports failure.
//
// No exceptions cross the audio path. Control-plane calls return Result<T>; `value()` on an error is a
// programmer error and aborts with the message (it never returns a silent default).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ae {

enum class Error {
  kOk = 0,
  kInvalidArgument,   // a parameter is outside its valid range; the message names it
  kInvalidFormat,     // an AudioFormat that the engine cannot handle
  kInvalidConfig,     // EngineConfig failed validate_config
  kNotInitialized,    // the call needs initialize() first
  kAlreadyRunning,    // the call needs the engine (or capture) stopped
  kNotRunning,        // the call needs the engine (or capture) started
  kQueueFull,         // a bounded queue had no room and the policy rejected the data
  kTimeout,           // a blocking call ran out of time
  kIo,                // a file or device operation failed
  kUnsupported,       // valid request that this build or backend cannot serve
  kShutdown,          // the engine is shutting down
  kInternal,          // a broken invariant inside audioengine
};

// Short stable name, e.g. "invalid_argument".
const char* to_string(Error error) noexcept;

// An error code plus a human message that names the field, the value and what would be valid.
struct ErrorInfo {
  Error code = Error::kOk;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor): implicit by design
  Result(ErrorInfo error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  Result(Error code, std::string message) : data_(ErrorInfo{code, std::move(message)}) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Aborts with the error message when the result holds an error: checking ok() first is the caller's job.
  T& value() & { check(); return std::get<0>(data_); }
  const T& value() const& { check(); return std::get<0>(data_); }
  T&& value() && { check(); return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  Error error() const noexcept { return ok() ? Error::kOk : std::get<1>(data_).code; }
  const std::string& message() const noexcept {
    static const std::string kEmpty;
    return ok() ? kEmpty : std::get<1>(data_).message;
  }
  const ErrorInfo& error_info() const { return std::get<1>(data_); }

 private:
  void check() const {
    if (!ok()) {
      std::fprintf(stderr, "audioengine: value() called on an error result: %s: %s\n",
                   to_string(std::get<1>(data_).code), std::get<1>(data_).message.c_str());
      std::abort();
    }
  }
  std::variant<T, ErrorInfo> data_;
};

// Result for calls that return nothing on success.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace ae
