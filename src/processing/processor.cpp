#include "audioengine/processor.hpp"

namespace ae {

const char* to_string(ProcessingStage stage) noexcept {
  switch (stage) {
    case ProcessingStage::kCapturePre: return "capture_pre";
    case ProcessingStage::kCapturePost: return "capture_post";
    case ProcessingStage::kRender: return "render";
  }
  return "unknown";
}

}  // namespace ae
