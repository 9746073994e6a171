#pragma once
// Sanitizer settings for the tests that run a real sound server. Include from exactly one source file of a test
// executable: the sanitizer runtimes look these functions up by name when the process starts.

#if defined(__SANITIZE_THREAD__)
// PortAudio's ALSA host API loads ALSA's PulseAudio plugin, whose libpulse threads synchronise in ways
// ThreadSanitizer cannot see (uninstrumented atomics): its reports are about libpulse's own state, not ours.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libpulse.so.0\nrace:libpulsecommon-16.1.so\nrace:libasound_module_pcm_pulse.so\n";
}
// The killed-JACK-server test leaves libjack's client thread behind on purpose (see PortAudioClock::close_streams).
extern "C" const char* __tsan_default_options() { return "report_thread_leaks=0"; }
#endif

#if defined(__SANITIZE_ADDRESS__)
// ALSA plugins that PortAudio's ALSA host API loads (dlopen) allocate in their initialisers and are unloaded
// before exit: LeakSanitizer reports those as leaks of an unknown module. Not ours.
// The slow unwinder sees through those libraries' frames, so the suppression can match.
extern "C" const char* __lsan_default_suppressions() { return "leak:snd_dlopen\nleak:libpulse\n"; }
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
#endif
