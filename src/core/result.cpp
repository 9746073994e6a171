#include "audioengine/result.hpp"

namespace ae {

const char* to_string(Error error) noexcept {
  switch (error) {
    case Error::kOk: return "ok";
    case Error::kInvalidArgument: return "invalid_argument";
    case Error::kInvalidFormat: return "invalid_format";
    case Error::kInvalidConfig: return "invalid_config";
    case Error::kNotInitialized: return "not_initialized";
    case Error::kAlreadyRunning: return "already_running";
    case Error::kNotRunning: return "not_running";
    case Error::kQueueFull: return "queue_full";
    case Error::kTimeout: return "timeout";
    case Error::kIo: return "io";
    case Error::kUnsupported: return "unsupported";
    case Error::kShutdown: return "shutdown";
    case Error::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace ae
