#pragma once
// The audio-thread mark of rt::ScopedAudioThread, inline, for the library's own per-period paths: the public class
// is two calls across the library's boundary, which a caller stepping one period at a time pays every period.

namespace ae::rt::detail {

// Defined in realtime.cpp; is_audio_thread() reads it. initial-exec: see there. constinit: it has no dynamic
// initialiser, and saying so spares every access outside realtime.cpp the check for one.
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] extern constinit thread_local bool t_is_audio_thread;

// Same contract as rt::ScopedAudioThread. Thread: the audio thread itself. RT-safe: yes.
class AudioThreadMark {
 public:
  AudioThreadMark() noexcept : previous_(t_is_audio_thread) { t_is_audio_thread = true; }
  ~AudioThreadMark() { t_is_audio_thread = previous_; }
  AudioThreadMark(const AudioThreadMark&) = delete;
  AudioThreadMark& operator=(const AudioThreadMark&) = delete;

 private:
  bool previous_;
};

}  // namespace ae::rt::detail
