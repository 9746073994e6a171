#pragma once
// StreamBuffer: a bounded buffer of audio in one format between the caller's own threads (e.g. a network
// receiver and the code that feeds the engine), with a readiness threshold, an overflow policy and every
// overflowed or underflowed frame counted. It uses a mutex and is not meant for the audio thread: the engine's
// own hot paths use the lock-free queues (get_capture_queue / get_playback_queue).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "audioengine/config.hpp"
#include "audioengine/format.hpp"

namespace ae {

using BufferId = uint32_t;

struct StreamBufferConfig {
  std::string name = "stream";
  AudioFormat format;             // what is written and read
  int capacity_ms = 1000;
  int ready_threshold_ms = 100;   // wait_for_buffer_ready() returns once this much is buffered
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;
};

struct BufferStatus {
  BufferId id = 0;
  std::string name;
  size_t capacity_frames = 0;
  size_t buffered_frames = 0;
  double buffered_ms = 0;
  bool ready = false;
  int64_t overflow_frames = 0;    // written frames that were dropped (newest) or displaced (oldest)
  int64_t underflow_frames = 0;   // frames a reader asked for and did not get
  int64_t frames_written = 0;
  int64_t frames_read = 0;
};

class StreamBuffer {
 public:
  // Allocates. Thread: control. RT-safe: no.
  StreamBuffer(BufferId id, const StreamBufferConfig& config);

  // Writes whole frames (bytes in the buffer's format); applies the overflow policy; returns frames accepted
  // (kDropOldest accepts all, displacing the oldest; kDropNewest accepts what fits; kBlockProducer waits up to
  // `timeout_ms` for room, then accepts what fits). Thread: any. RT-safe: no.
  size_t write(const void* data, size_t num_frames, int timeout_ms = 0);
  // Reads up to `num_frames`; a short read counts the shortfall as underflow. Thread: any. RT-safe: no.
  size_t read(void* data, size_t num_frames);
  // Discards everything buffered; returns the frames discarded. Thread: any. RT-safe: no.
  size_t flush();
  // Blocks until ready_threshold_ms is buffered; false on timeout. Thread: any. RT-safe: no.
  bool wait_until_ready(int timeout_ms) const;
  BufferStatus status() const;
  const StreamBufferConfig& config() const { return config_; }
  size_t memory_bytes() const { return storage_.size(); }

 private:
  void copy_out_locked(uint8_t* dst, size_t num_frames);

  const BufferId id_;
  const StreamBufferConfig config_;
  const size_t frame_bytes_;
  const size_t capacity_frames_;
  const size_t ready_frames_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<uint8_t> storage_;
  size_t head_frame_ = 0;      // oldest buffered frame
  size_t buffered_frames_ = 0;
  int64_t overflow_frames_ = 0;
  int64_t underflow_frames_ = 0;
  int64_t frames_written_ = 0;
  int64_t frames_read_ = 0;
};

}  // namespace ae
