#pragma once
// Records every event an engine dispatches, for tests that assert on what was published and when.

#include <mutex>
#include <vector>

#include "audioengine/engine.hpp"

namespace ae::test {

struct EventLog {
  std::mutex mutex;
  std::vector<AudioEvent> events;

  void attach(AudioEngine& e) {
    e.subscribe_all([this](const AudioEvent& ev) {
      std::lock_guard lock(mutex);
      events.push_back(ev);
    });
  }

  std::vector<AudioEvent> of(AudioEventType t) {
    std::lock_guard lock(mutex);
    std::vector<AudioEvent> out;
    for (const auto& ev : events) {
      if (ev.type == t) out.push_back(ev);
    }
    return out;
  }
};

}  // namespace ae::test
