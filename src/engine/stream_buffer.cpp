#include "audioengine/stream_buffer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace ae {

StreamBuffer::StreamBuffer(BufferId id, const StreamBufferConfig& config)
    : id_(id),
      config_(config),
      frame_bytes_(bytes_per_frame(config.format)),
      capacity_frames_(static_cast<size_t>(config.format.sample_rate_hz) * static_cast<size_t>(config.capacity_ms) / 1000),
      ready_frames_(static_cast<size_t>(config.format.sample_rate_hz) * static_cast<size_t>(config.ready_threshold_ms) /
                    1000),
      storage_(capacity_frames_ * frame_bytes_) {}

size_t StreamBuffer::write(const void* data, size_t num_frames, int timeout_ms) {
  const auto* src = static_cast<const uint8_t*>(data);
  std::unique_lock lock(mutex_);
  if (config_.overflow == OverflowPolicy::kBlockProducer && buffered_frames_ + num_frames > capacity_frames_ &&
      timeout_ms > 0) {
    changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return buffered_frames_ + num_frames <= capacity_frames_; });
  }
  size_t accept = num_frames;
  const size_t room = capacity_frames_ - buffered_frames_;
  if (accept > room) {
    if (config_.overflow == OverflowPolicy::kDropOldest) {
      // Keep the newest capacity_frames_: the oldest buffered frames and, when the write alone is larger than the
      // buffer, the head of the write are displaced.
      if (accept > capacity_frames_) {
        const size_t skip = accept - capacity_frames_;
        overflow_frames_ += static_cast<int64_t>(skip);
        src += skip * frame_bytes_;
        accept = capacity_frames_;
      }
      const size_t displace = buffered_frames_ + accept - capacity_frames_;
      head_frame_ = (head_frame_ + displace) % capacity_frames_;
      buffered_frames_ -= displace;
      overflow_frames_ += static_cast<int64_t>(displace);
    } else {
      overflow_frames_ += static_cast<int64_t>(accept - room);
      accept = room;
    }
  }
  size_t tail = (head_frame_ + buffered_frames_) % std::max<size_t>(capacity_frames_, 1);
  for (size_t done = 0; done < accept;) {
    const size_t run = std::min(accept - done, capacity_frames_ - tail);
    std::memcpy(&storage_[tail * frame_bytes_], src + done * frame_bytes_, run * frame_bytes_);
    done += run;
    tail = (tail + run) % capacity_frames_;
  }
  buffered_frames_ += accept;
  frames_written_ += static_cast<int64_t>(accept);
  changed_.notify_all();
  return config_.overflow == OverflowPolicy::kDropOldest ? num_frames : accept;
}

void StreamBuffer::copy_out_locked(uint8_t* dst, size_t num_frames) {
  for (size_t done = 0; done < num_frames;) {
    const size_t run = std::min(num_frames - done, capacity_frames_ - head_frame_);
    if (dst != nullptr) std::memcpy(dst + done * frame_bytes_, &storage_[head_frame_ * frame_bytes_], run * frame_bytes_);
    done += run;
    head_frame_ = (head_frame_ + run) % capacity_frames_;
  }
  buffered_frames_ -= num_frames;
}

size_t StreamBuffer::read(void* data, size_t num_frames) {
  std::lock_guard lock(mutex_);
  const size_t n = std::min(num_frames, buffered_frames_);
  copy_out_locked(static_cast<uint8_t*>(data), n);
  underflow_frames_ += static_cast<int64_t>(num_frames - n);
  frames_read_ += static_cast<int64_t>(n);
  changed_.notify_all();
  return n;
}

size_t StreamBuffer::flush() {
  std::lock_guard lock(mutex_);
  const size_t n = buffered_frames_;
  copy_out_locked(nullptr, n);
  changed_.notify_all();
  return n;
}

bool StreamBuffer::wait_until_ready(int timeout_ms) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return buffered_frames_ >= ready_frames_ && buffered_frames_ > 0; });
}

BufferStatus StreamBuffer::status() const {
  std::lock_guard lock(mutex_);
  BufferStatus s;
  s.id = id_;
  s.name = config_.name;
  s.capacity_frames = capacity_frames_;
  s.buffered_frames = buffered_frames_;
  s.buffered_ms = 1000.0 * static_cast<double>(buffered_frames_) / config_.format.sample_rate_hz;
  s.ready = buffered_frames_ >= ready_frames_ && buffered_frames_ > 0;
  s.overflow_frames = overflow_frames_;
  s.underflow_frames = underflow_frames_;
  s.frames_written = frames_written_;
  s.frames_read = frames_read_;
  return s;
}

}  // namespace ae
