// Counts heap allocations and mutex locks made on the audio thread. Linked into audioengine's own executables
// (tests, benchmarks, the CLI) so that "the audio thread never allocates or locks" is measured, not assumed.
//
// Sanitizer runtimes replace the same functions; under a sanitizer the probe compiles to nothing and
// probe_installed() stays false, so tests that need it skip with a reason.

#include <audioengine/realtime.hpp>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AE_RT_PROBE_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AE_RT_PROBE_ENABLED 0
#endif
#endif
#ifndef AE_RT_PROBE_ENABLED
#define AE_RT_PROBE_ENABLED 1
#endif

#if AE_RT_PROBE_ENABLED
#include <dlfcn.h>
#include <pthread.h>

#include <cstdlib>
#include <new>

// glibc's own allocator entry points, so the replacements below can forward to them.
extern "C" void* __libc_malloc(size_t size);
extern "C" void* __libc_calloc(size_t n, size_t size);
extern "C" void* __libc_realloc(void* p, size_t size);

namespace {

struct ProbeInstaller {
  ProbeInstaller() { ae::rt::set_probe_installed(); }
} g_probe_installer;

inline void note_allocation() {
  if (ae::rt::is_audio_thread()) ae::rt::record_allocation();
}

void* allocate(size_t size) {
  note_allocation();
  if (size == 0) size = 1;
  void* p = __libc_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* allocate_aligned(size_t size, std::align_val_t align) {
  note_allocation();
  size_t a = static_cast<size_t>(align);
  if (size == 0) size = a;
  size = (size + a - 1) / a * a;
  void* p = std::aligned_alloc(a, size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

using MutexFn = int (*)(pthread_mutex_t*);
MutexFn real_fn(const char* name) { return reinterpret_cast<MutexFn>(dlsym(RTLD_NEXT, name)); }

}  // namespace

void* operator new(size_t size) { return allocate(size); }
void* operator new[](size_t size) { return allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  note_allocation();
  return __libc_malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  note_allocation();
  return __libc_malloc(size == 0 ? 1 : size);
}
void* operator new(size_t size, std::align_val_t align) { return allocate_aligned(size, align); }
void* operator new[](size_t size, std::align_val_t align) { return allocate_aligned(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

extern "C" {

// malloc itself is counted too: C libraries (soxr, speex, libsndfile) allocate through it.
void* malloc(size_t size) {
  note_allocation();
  return __libc_malloc(size);
}

void* calloc(size_t n, size_t size) {
  note_allocation();
  return __libc_calloc(n, size);
}

void* realloc(void* p, size_t size) {
  note_allocation();
  return __libc_realloc(p, size);
}

int pthread_mutex_lock(pthread_mutex_t* m) {
  static MutexFn real = real_fn("pthread_mutex_lock");
  if (ae::rt::is_audio_thread()) ae::rt::record_mutex_lock();
  return real(m);
}

int pthread_mutex_trylock(pthread_mutex_t* m) {
  static MutexFn real = real_fn("pthread_mutex_trylock");
  if (ae::rt::is_audio_thread()) ae::rt::record_mutex_lock();
  return real(m);
}

}  // extern "C"
#endif
