#pragma once
// PortAudioClock: the engine's DeviceClock on PortAudio streams (see devices.hpp for the behaviour).
//
// Threads
// - control: start(), stop(), streams(), stats().
// - the device callback (PortAudio's or the sound server's thread): converts, runs ticks through drive().
//   Marked as the audio thread for its whole duration; it allocates nothing and takes no lock.
// - ae-device: watches the driving stream; on a failure or a stall it reports the fault, closes the streams and
//   reopens them per the recovery policy. Every PortAudio stream call after start() is made on this thread.

#include <portaudio.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audioengine/clock.hpp"
#include "audioengine/config.hpp"
#include "audioengine/devices.hpp"
#include "audioengine/format_converter.hpp"
#include "audioengine/spsc_ring.hpp"
#include "io/portaudio/pa_library.hpp"

namespace ae {

// What the watchdog reports to its owner (on ae-device).
struct DeviceFault {
  Error code = Error::kIo;
  int32_t detail = 0;      // a PortAudio error code, or -1 for a stall
  DeviceState from = DeviceState::kRunning;
  DeviceState to = DeviceState::kFailed;
  std::string message;
};

class PortAudioClock final : public DeviceClock {
 public:
  using FaultCallback = std::function<void(const DeviceFault&)>;
  PortAudioClock(const DeviceConfig& config, ResamplerKind resampler, FaultCallback on_fault);
  ~PortAudioClock() override;

  // Opens and starts the streams of the config. Errors: kInvalidArgument for a device or host API that does not
  // exist (the message lists the valid ones), kUnsupported for a format the device refuses, kIo when PortAudio
  // fails, kAlreadyRunning.
  Status start(TickTarget* target, size_t period_frames, int sample_rate_hz) override;
  Status stop(int timeout_ms) override;
  bool running() const noexcept override { return running_.load(std::memory_order_acquire); }

  DuplexStreams streams() const;
  DeviceStats stats() const;

 private:
  enum class Role { kDuplex, kCaptureDriver, kCaptureFeeder, kPlaybackDriver };
  struct StreamSlot {
    PaStream* stream = nullptr;
    Role role = Role::kDuplex;
    PortAudioClock* owner = nullptr;
    int rate_hz = 0;   // the stream's device rate
    double output_latency_s = 0;  // PortAudio's reported output latency: the fallback for a missing DAC time
  };

  static int callback(const void* input, void* output, unsigned long frames, const PaStreamCallbackTimeInfo* time,
                      PaStreamCallbackFlags flags, void* user) noexcept;
  void on_callback(Role role, const void* input, void* output, size_t frames, PaStreamCallbackFlags flags) noexcept;
  // Device frames queued ahead of this callback's output buffer, from the callback's timestamps.
  static int64_t device_frames_ahead(const StreamSlot& slot, const PaStreamCallbackTimeInfo* time) noexcept;
  // Publishes to the next tick what lies between it and the DAC (device, FIFO, converter) in engine samples.
  void publish_output_pending() noexcept;
  void capture_in(const float* input, size_t frames) noexcept;
  void run_ticks_from_fifo(bool with_playback) noexcept;
  void playback_out(float* output, size_t frames) noexcept;
  void fill_output_from_ticks(size_t frames, bool capture_from_feeder) noexcept;
  void append_output(const float* engine_samples) noexcept;

  // Control / ae-device: open with the library mutex held; `fallback` opens the host API's defaults.
  Status open_streams(bool fallback);
  void close_streams();
  void watch();

  DeviceConfig config_;
  ResamplerKind resampler_kind_;
  FaultCallback on_fault_;
  size_t period_ = 0;
  int engine_rate_hz_ = 0;

  pa::Session session_;
  StreamSlot slots_[2];
  int num_slots_ = 0;
  int driver_slot_ = 0;
  std::string capture_name_;   // resolved names, used to find the devices again on a reopen
  std::string playback_name_;
  int device_rate_hz_ = 0;
  int device_period_frames_ = 0;
  int capture_channels_ = 0;
  int playback_channels_ = 0;
  bool has_capture_ = false;
  bool has_playback_ = false;
  DuplexStreams info_;

  // Audio-thread state, allocated by open_streams() while no callback runs.
  std::unique_ptr<FormatConverter> capture_conv_;
  std::unique_ptr<FormatConverter> playback_conv_;
  std::vector<float> capture_tmp_;    // one converted callback piece (engine rate)
  std::vector<float> capture_fifo_;   // engine-rate samples waiting for a full period
  size_t capture_read_ = 0, capture_write_ = 0;
  std::vector<float> engine_in_;      // one engine period of capture (feeder mode)
  std::vector<float> engine_out_;     // one engine period of playback
  std::vector<float> playback_tmp_;   // one converted engine period (device rate, interleaved)
  std::vector<float> output_fifo_;    // interleaved device-rate samples waiting for the device
  size_t output_read_ = 0, output_write_ = 0;
  size_t max_piece_frames_ = 0;
  int64_t device_frames_ahead_ = 0;        // of the current callback (device frames)
  int64_t playback_conv_delay_samples_ = 0;  // the playback converter's delay (engine samples)
  std::vector<float> silence_;
  std::unique_ptr<SpscRing<float>> feeder_ring_;   // two-stream mode: capture thread -> playback thread
  size_t feeder_target_samples_ = 0;

  // Counters (the audio thread writes, anyone reads).
  std::atomic<int64_t> callbacks_{0}, xruns_{0}, captured_{0}, consumed_{0}, played_frames_{0},
      out_underflow_{0}, drift_dropped_{0}, drift_inserted_{0}, feeder_discarded_{0}, failures_{0}, reopens_{0},
      callback_max_ns_{0}, callbacks_over_period_{0};
  // Released at the end of every callback, acquired after the streams are closed: whatever the last callback
  // wrote to the buffers happens-before the control side reuses or frees them, even when the host API's own
  // synchronisation is not visible (an abandoned stream).
  std::atomic<uint64_t> callback_exits_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> stop_watch_{false};
  mutable std::mutex status_mutex_;   // last_error_ and info_ (control and ae-device only)
  std::string last_error_;
  bool wedged_ = false;   // a stream could not be closed: the PortAudio session is abandoned (ae-device/control)
  std::thread watchdog_;
};

}  // namespace ae
