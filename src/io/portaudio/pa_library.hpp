#pragma once
// PortAudio's library lifetime: Pa_Initialize / Pa_Terminate are reference-counted by PortAudio but not
// thread-safe, and PortAudio's JACK host API keeps the client name by pointer. PaSession serialises both.

#include <mutex>
#include <string>

#include "audioengine/devices.hpp"
#include "audioengine/result.hpp"

namespace ae::pa {

// The mutex every PortAudio control call (initialize, terminate, device queries, open, close) is made under.
std::mutex& library_mutex();

// One reference to an initialized PortAudio. Thread: control. RT-safe: no.
class Session {
 public:
  Session() = default;
  ~Session() { close(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Initializes PortAudio (JACK clients opened afterwards are named `jack_client_name`). Error kIo with
  // PortAudio's message. Call with library_mutex() held.
  Status open(const std::string& jack_client_name = "audioengine");
  // Drops the reference. Call with library_mutex() held.
  void close();
  bool is_open() const { return open_; }
  // Forgets the reference without terminating PortAudio: for a session whose streams could not be closed
  // (terminating would wait for them again). Call with library_mutex() held.
  void abandon() { open_ = false; }

 private:
  bool open_ = false;
};

// Lower-case copy. Thread: any. RT-safe: no.
std::string lower(std::string s);

}  // namespace ae::pa

namespace ae {
// find_device() for callers that already hold the library mutex with a session open.
Result<DeviceInfo> find_device_locked(const std::string& host_api, const std::string& id_or_name, bool for_capture);
}  // namespace ae
