// Host API and device enumeration through PortAudio.
#include <portaudio.h>

#include <cstdlib>

#include "audioengine/devices.hpp"
#include "io/portaudio/pa_library.hpp"

namespace ae {

const char* to_string(DeviceState state) noexcept {
  switch (state) {
    case DeviceState::kStopped: return "stopped";
    case DeviceState::kRunning: return "running";
    case DeviceState::kFailed: return "failed";
  }
  return "unknown";
}

namespace {

constexpr int kProbeRatesHz[] = {8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 192000};

DeviceInfo describe(PaDeviceIndex id, bool probe_rates) {
  const PaDeviceInfo* d = Pa_GetDeviceInfo(id);
  const PaHostApiInfo* h = Pa_GetHostApiInfo(d->hostApi);
  DeviceInfo info;
  info.id = id;
  info.name = d->name != nullptr ? d->name : "";
  info.host_api = h != nullptr && h->name != nullptr ? h->name : "";
  info.host_api_index = d->hostApi;
  info.max_input_channels = d->maxInputChannels;
  info.max_output_channels = d->maxOutputChannels;
  info.default_sample_rate_hz = d->defaultSampleRate;
  info.default_low_input_latency_ms = d->defaultLowInputLatency * 1000.0;
  info.default_low_output_latency_ms = d->defaultLowOutputLatency * 1000.0;
  info.default_high_input_latency_ms = d->defaultHighInputLatency * 1000.0;
  info.default_high_output_latency_ms = d->defaultHighOutputLatency * 1000.0;
  info.is_default_input = h != nullptr && h->defaultInputDevice == id;
  info.is_default_output = h != nullptr && h->defaultOutputDevice == id;
  if (probe_rates) {
    for (int rate : kProbeRatesHz) {
      PaStreamParameters in{id, 1, paFloat32, d->defaultLowInputLatency, nullptr};
      PaStreamParameters out{id, 1, paFloat32, d->defaultLowOutputLatency, nullptr};
      const PaStreamParameters* pin = d->maxInputChannels > 0 ? &in : nullptr;
      const PaStreamParameters* pout = d->maxOutputChannels > 0 ? &out : nullptr;
      if (pin == nullptr && pout == nullptr) break;
      if (Pa_IsFormatSupported(pin, pout, rate) == paFormatIsSupported) info.supported_rates_hz.push_back(rate);
    }
  }
  return info;
}

// The host API matching `name` (case-insensitive, exact or prefix, e.g. "jack"), or the default for "".
Result<PaHostApiIndex> resolve_host_api(const std::string& name) {
  if (name.empty()) {
    const PaHostApiIndex def = Pa_GetDefaultHostApi();
    if (def < 0) return Result<PaHostApiIndex>(Error::kIo, "PortAudio: no default host API");
    return def;
  }
  const std::string want = pa::lower(name);
  std::string valid;
  for (PaHostApiIndex i = 0; i < Pa_GetHostApiCount(); ++i) {
    const std::string have = pa::lower(Pa_GetHostApiInfo(i)->name);
    if (have == want || have.rfind(want, 0) == 0) return i;
    valid += (valid.empty() ? "" : ", ") + std::string(Pa_GetHostApiInfo(i)->name);
  }
  return Result<PaHostApiIndex>(Error::kInvalidArgument,
                                "host API '" + name + "' not found; valid: " + (valid.empty() ? "(none)" : valid));
}

}  // namespace

Result<std::vector<HostApiInfo>> list_host_apis() {
  std::lock_guard lock(pa::library_mutex());
  pa::Session session;
  if (auto st = session.open(); !st.ok()) return Result<std::vector<HostApiInfo>>(st.error(), st.message());
  std::vector<HostApiInfo> out;
  const PaHostApiIndex def = Pa_GetDefaultHostApi();
  for (PaHostApiIndex i = 0; i < Pa_GetHostApiCount(); ++i) {
    const PaHostApiInfo* h = Pa_GetHostApiInfo(i);
    out.push_back(HostApiInfo{i, h->name, h->deviceCount, h->defaultInputDevice, h->defaultOutputDevice, i == def});
  }
  return out;
}

Result<std::vector<DeviceInfo>> list_devices(bool probe_rates) {
  std::lock_guard lock(pa::library_mutex());
  pa::Session session;
  if (auto st = session.open(); !st.ok()) return Result<std::vector<DeviceInfo>>(st.error(), st.message());
  std::vector<DeviceInfo> out;
  for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); ++i) out.push_back(describe(i, probe_rates));
  return out;
}

// Called with the library mutex held and a session open.
Result<DeviceInfo> find_device_locked(const std::string& host_api, const std::string& id_or_name, bool for_capture) {
  const char* what = for_capture ? "capture" : "playback";
  auto api = resolve_host_api(host_api);
  if (!api.ok()) return Result<DeviceInfo>(api.error(), api.message());
  const PaHostApiInfo* h = Pa_GetHostApiInfo(*api);
  auto usable = [&](PaDeviceIndex id) {
    const PaDeviceInfo* d = Pa_GetDeviceInfo(id);
    return d != nullptr && (for_capture ? d->maxInputChannels : d->maxOutputChannels) > 0;
  };
  if (id_or_name.empty()) {
    const PaDeviceIndex def = for_capture ? h->defaultInputDevice : h->defaultOutputDevice;
    if (def < 0 || !usable(def)) {
      return Result<DeviceInfo>(Error::kInvalidArgument, std::string("host API '") + h->name + "' has no default " +
                                                             what + " device");
    }
    return describe(def, false);
  }
  char* end = nullptr;
  const long id = std::strtol(id_or_name.c_str(), &end, 10);
  if (end != id_or_name.c_str() && *end == '\0') {
    if (id < 0 || id >= Pa_GetDeviceCount() || !usable(static_cast<PaDeviceIndex>(id))) {
      return Result<DeviceInfo>(Error::kInvalidArgument, std::string(what) + " device id " + id_or_name +
                                                             " is not a " + what + " device; valid ids: see "
                                                             "`audioengine devices`");
    }
    return describe(static_cast<PaDeviceIndex>(id), false);
  }
  std::string valid;
  PaDeviceIndex partial = -1;
  for (int i = 0; i < h->deviceCount; ++i) {
    const PaDeviceIndex id2 = Pa_HostApiDeviceIndexToDeviceIndex(*api, i);
    if (!usable(id2)) continue;
    const std::string name = Pa_GetDeviceInfo(id2)->name;
    if (name == id_or_name) return describe(id2, false);
    if (partial < 0 && pa::lower(name).find(pa::lower(id_or_name)) != std::string::npos) partial = id2;
    valid += (valid.empty() ? "'" : ", '") + name + "'";
  }
  if (partial >= 0) return describe(partial, false);
  return Result<DeviceInfo>(Error::kInvalidArgument, std::string(what) + " device '" + id_or_name +
                                                         "' not found on host API '" + h->name + "'; valid: " +
                                                         (valid.empty() ? "(none)" : valid));
}

Result<DeviceInfo> find_device(const std::string& host_api, const std::string& id_or_name, bool for_capture) {
  std::lock_guard lock(pa::library_mutex());
  pa::Session session;
  if (auto st = session.open(); !st.ok()) return Result<DeviceInfo>(st.error(), st.message());
  return find_device_locked(host_api, id_or_name, for_capture);
}

}  // namespace ae
