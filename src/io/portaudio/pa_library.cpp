#include "io/portaudio/pa_library.hpp"

#include <pa_jack.h>
#include <portaudio.h>

#include <algorithm>
#include <cctype>

namespace ae::pa {

std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

Status Session::open(const std::string& jack_client_name) {
  if (open_) return ok_status();
  // PortAudio's JACK host API keeps the pointer, not a copy: the name must outlive the session.
  static std::string client_name;
  client_name = jack_client_name;
  PaJack_SetClientName(client_name.c_str());
  const PaError err = Pa_Initialize();
  if (err != paNoError) {
    return Status(Error::kIo, std::string("PortAudio: Pa_Initialize failed: ") + Pa_GetErrorText(err));
  }
  open_ = true;
  return ok_status();
}

void Session::close() {
  if (!open_) return;
  Pa_Terminate();
  open_ = false;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace ae::pa
