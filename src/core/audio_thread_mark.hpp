#pragma once
// The audio-thread mark of rt::ScopedAudioThread, for the library's own per-period paths to set inline: the public
// class is two calls across the library's boundary, which a caller stepping one period at a time pays every period.
// AudioEngine::tick_body() sets and restores it by hand, only for a tick that is not live (a live tick's thread is
// marked already), in the same test as its tick token.

namespace ae::rt::detail {

// Defined in realtime.cpp; is_audio_thread() reads it. initial-exec: see there. constinit: it has no dynamic
// initialiser, and saying so spares every access outside realtime.cpp the check for one.
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] extern constinit thread_local bool t_is_audio_thread;

}  // namespace ae::rt::detail
