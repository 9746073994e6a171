// audioengine._core: the C++ API as a Python extension, name for name. The asyncio layer
// (python/audioengine/*.py) builds the awaitables, async iterators and event delivery on top of it.
//
// GIL rules
// - Every binding that may wait or take an engine lock runs with the GIL released (py::call_guard): advance,
//   interrupt_playback, read_chunk, wait_for_event, shutdown, queue_playback (a blocking overflow policy)...
//   A thread holding the GIL must never wait for ae-events, which needs the GIL to run Python callbacks.
// - Callbacks run on ae-events; they take the GIL for the duration of the Python call only. The asyncio layer
//   passes callbacks that do nothing but loop.call_soon_threadsafe(...).
// - Audio crosses as raw bytes of any buffer-protocol object (bytes, bytearray, memoryview, numpy arrays): the
//   engine reads the caller's memory directly while the GIL is released; the buffer stays pinned meanwhile.

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/devices.hpp"
#include "audioengine/echo_canceller.hpp"
#include "audioengine/endpointing.hpp"
#include "audioengine/file_io.hpp"
#include "audioengine/silero_vad.hpp"
#include "audioengine/speech_synth.hpp"
#include "audioengine/vad_stream.hpp"
#include "audioengine/webrtc_vad.hpp"

namespace py = pybind11;

namespace {

// ---- errors ----------------------------------------------------------------------------------------------------
// A failed Status / Result on its way to Python; translated into the class of audioengine._errors that matches
// its code (AudioEngineError and one subclass per Error).
struct StatusError {
  ae::Error code;
  std::string message;
};

void check(const ae::Status& st) {
  if (!st.ok()) throw StatusError{st.error(), st.message()};
}

template <typename T>
T unwrap(ae::Result<T>&& r) {
  if (!r.ok()) throw StatusError{r.error(), r.message()};
  return std::move(r).value();
}

// ---- buffers -----------------------------------------------------------------------------------------------------
// A C-contiguous view of any buffer-protocol object, released in the destructor (which may run without the GIL
// held only if the view was released already; we release it with the GIL, see BufferView::release).
class BufferView {
 public:
  explicit BufferView(const py::handle& obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) throw py::error_already_set();
  }
  ~BufferView() { PyBuffer_Release(&view_); }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  const void* data() const { return view_.buf; }
  size_t num_bytes() const { return static_cast<size_t>(view_.len); }
  // The element format ('h' int16, 'f' float32, 'B' bytes...), without byte-order prefix.
  std::string format() const {
    std::string f = view_.format != nullptr ? view_.format : "B";
    if (!f.empty() && (f[0] == '<' || f[0] == '=' || f[0] == '@')) f.erase(0, 1);
    return f;
  }
  size_t item_bytes() const { return static_cast<size_t>(view_.itemsize); }

 private:
  Py_buffer view_{};
};

// The sample type a buffer's own element format implies, when it implies one: int16 arrays are PCM16, float32
// arrays are f32. Plain bytes say nothing (nullopt).
std::optional<ae::SampleType> implied_sample_type(const BufferView& b) {
  const std::string f = b.format();
  if (f == "h" && b.item_bytes() == 2) return ae::SampleType::kPcm16;
  if (f == "f" && b.item_bytes() == 4) return ae::SampleType::kFloat32;
  return std::nullopt;
}

// Mono float samples from a buffer: float32 arrays and raw bytes (read as float32) are used in place; int16 arrays
// are PCM16 and decoded into `scratch`. `what` names the call in the error for anything else.
std::span<const float> float_samples(const BufferView& b, std::vector<float>& scratch, const char* what) {
  const auto t = implied_sample_type(b);
  if (t == ae::SampleType::kPcm16) {
    scratch.resize(b.num_bytes() / 2);
    ae::decode_samples(b.data(), ae::SampleType::kPcm16, scratch.size(), scratch.data());
    return {scratch.data(), scratch.size()};
  }
  const std::string f = b.format();
  if (t != ae::SampleType::kFloat32 && !(f == "B" || f == "b" || f == "c")) {
    throw StatusError{ae::Error::kInvalidArgument, std::string(what) + ": samples must be float32 (array('f'), "
                                                   "float32 bytes) or int16 (array('h')), not format '" + f + "'"};
  }
  if (b.num_bytes() % sizeof(float) != 0) {
    throw StatusError{ae::Error::kInvalidArgument, std::string(what) + ": " + std::to_string(b.num_bytes()) +
                                                   " bytes is not a whole number of float32 samples"};
  }
  return {static_cast<const float*>(b.data()), b.num_bytes() / sizeof(float)};
}

py::bytes to_bytes(const void* data, size_t num_bytes) {
  return py::bytes(static_cast<const char*>(data), num_bytes);
}

// ---- events ------------------------------------------------------------------------------------------------------
// The payload of an event as a dict, chosen by its type (the C++ union read through the member that is valid).
py::dict event_payload(const ae::AudioEvent& ev) {
  py::dict d;
  const double rate = ev.sample_rate_hz > 0 ? ev.sample_rate_hz : 1.0;
  switch (ev.type) {
    case ae::AudioEventType::kVadSpeechStart:
    case ae::AudioEventType::kVadSpeechEnd:
    case ae::AudioEventType::kEndpoint:
      d["probability"] = ev.vad.probability;
      d["speech_start_sample"] = ev.vad.speech_start_sample;
      d["speech_end_sample"] = ev.vad.speech_end_sample;
      d["speech_start_ms"] = ev.vad.speech_start_sample >= 0 ? 1000.0 * ev.vad.speech_start_sample / rate : -1.0;
      d["speech_end_ms"] = ev.vad.speech_end_sample >= 0 ? 1000.0 * ev.vad.speech_end_sample / rate : -1.0;
      d["padded_start_sample"] = ev.vad.padded_start_sample;
      if (ev.type == ae::AudioEventType::kEndpoint) d["reason"] = ev.vad.endpoint_reason;
      break;
    case ae::AudioEventType::kInterrupt:
      d["flushed_samples"] = ev.interrupt.flushed_samples;
      d["played_samples"] = ev.interrupt.played_samples;
      d["item_id"] = ev.interrupt.item_id;
      d["reason"] = ev.interrupt.reason;
      d["played_ms"] = 1000.0 * static_cast<double>(ev.interrupt.played_samples) / rate;
      d["audio_flushed_ms"] = 1000.0 * static_cast<double>(ev.interrupt.flushed_samples) / rate;
      d["heard_at_decision_samples"] = ev.interrupt.heard_at_decision_samples;
      d["heard_at_decision_ms"] = 1000.0 * static_cast<double>(ev.interrupt.heard_at_decision_samples) / rate;
      d["in_device_samples"] = ev.interrupt.played_samples - ev.interrupt.heard_at_decision_samples;
      d["output_silent_at_samples"] = ev.interrupt.output_silent_at_samples;
      d["speech_run_samples"] = ev.interrupt.speech_run_samples;
      break;
    case ae::AudioEventType::kPlaybackStarted:
    case ae::AudioEventType::kPlaybackComplete:
    case ae::AudioEventType::kQueueDrained:
    case ae::AudioEventType::kPlaybackPaused:
    case ae::AudioEventType::kPlaybackResumed:
      d["item_id"] = ev.playback.item_id;
      d["samples"] = ev.playback.samples;
      // Where the output reaches the listener (PLAYBACK_COMPLETE: the item's last sample leaves the speaker).
      d["played_out_at_samples"] = ev.playback.played_out_at_samples;
      d["played_out_at_ms"] = 1000.0 * static_cast<double>(ev.playback.played_out_at_samples) / rate;
      break;
    case ae::AudioEventType::kBufferOverflow:
    case ae::AudioEventType::kBufferUnderflow:
    case ae::AudioEventType::kBufferReady:
      d["buffer_id"] = ev.buffer.buffer_id;
      d["samples"] = ev.buffer.samples;
      break;
    case ae::AudioEventType::kModeChanged:
      d["from"] = ae::ProcessingMode(ev.state.from);
      d["to"] = ae::ProcessingMode(ev.state.to);
      break;
    case ae::AudioEventType::kTurnChanged:
      d["from"] = ae::ConversationState(ev.state.from);
      d["to"] = ae::ConversationState(ev.state.to);
      break;
    case ae::AudioEventType::kStateChanged:
      d["from"] = ev.state.from;
      d["to"] = ev.state.to;
      break;
    case ae::AudioEventType::kError:
      d["code"] = ev.error.code;
      d["detail"] = ev.error.detail;
      break;
    case ae::AudioEventType::kCustom:
      d["code"] = ev.custom.code;
      d["value"] = ev.custom.value;
      d["text"] = std::string(ev.custom.text, strnlen(ev.custom.text, ae::kCustomEventTextBytes));
      break;
    case ae::AudioEventType::kCount:
      break;
  }
  return d;
}

// Python callables kept by C++ (event callbacks, filters, the chunk callback) may be destroyed on any thread:
// take the GIL for it, unless the interpreter is already gone (then the reference is leaked on purpose).
struct PyRef {
  py::object fn;
  explicit PyRef(py::object f) : fn(std::move(f)) {}
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef() {
    if (!Py_IsInitialized() || _Py_IsFinalizing()) {
      fn.release();
      return;
    }
    py::gil_scoped_acquire gil;
    fn = py::object();
  }
};

// Wraps a Python callable into an EventCallback that holds the GIL only for the call. An exception it raises is
// printed as unraisable (the bus counts it too) and dispatch goes on.
ae::EventCallback event_callback(py::object fn) {
  auto ref = std::make_shared<PyRef>(std::move(fn));
  return [ref](const ae::AudioEvent& ev) {
    if (_Py_IsFinalizing()) return;
    py::gil_scoped_acquire gil;
    try {
      ref->fn(ev);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("audioengine event callback");
      throw std::runtime_error("python callback raised");
    }
  };
}

ae::EventFilter event_filter(const py::object& fn) {
  if (fn.is_none()) return {};
  auto ref = std::make_shared<PyRef>(fn);
  return [ref](const ae::AudioEvent& ev) {
    if (_Py_IsFinalizing()) return false;
    py::gil_scoped_acquire gil;
    try {
      return ref->fn(ev).cast<bool>();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("audioengine event filter");
      throw std::runtime_error("python filter raised");
    }
  };
}

// The engine is destroyed without the GIL: its shutdown waits for ae-events, which may be waiting for the GIL.
struct EngineDeleter {
  void operator()(ae::AudioEngine* e) const {
    if (e == nullptr) return;
    if (PyGILState_Check() != 0) {
      py::gil_scoped_release release;
      delete e;
    } else {
      delete e;
    }
  }
};
using EnginePtr = std::unique_ptr<ae::AudioEngine, EngineDeleter>;

struct FileWriter {
  std::unique_ptr<ae::AudioFileWriter> writer;
  int channels = 1;
};

ae::AudioFormat default_playback_format(const ae::AudioEngine& e) {
  return ae::AudioFormat{e.sample_rate_hz(), 1, e.config().audio.playback_sample_type};
}

// queue_playback / play_audio: `format` None means the engine's playback format, with the sample type taken
// from the buffer when it says (int16 or float32 arrays).
ae::AudioFormat playback_format_for(const ae::AudioEngine& e, const BufferView& b, const py::object& format) {
  if (!format.is_none()) return format.cast<ae::AudioFormat>();
  ae::AudioFormat f = default_playback_format(e);
  if (auto t = implied_sample_type(b)) f.sample_type = *t;
  return f;
}

// The echo processor and the block size it was prepared for (process() splits longer input into such blocks).
struct PyEchoProcessor {
  std::unique_ptr<ae::EchoProcessor> processor;
  size_t max_frames = 0;
  int sample_rate_hz = 0;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "audioengine C++ API (low level); use the package `audioengine` for the asyncio layer";

  // Imported now so that a broken package fails at import, not at the first error.
  py::module_::import("audioengine._errors");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object exc = py::module_::import("audioengine._errors").attr("make_error")(ae::to_string(e.code),
                                                                                        e.message);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });

  m.attr("__version__") = ae::kVersionString;
  m.attr("VERSION_MAJOR") = ae::kVersionMajor;
  m.attr("VERSION_MINOR") = ae::kVersionMinor;
  m.attr("VERSION_PATCH") = ae::kVersionPatch;

  // ---- enums: member names are the C++ kNames in upper snake case --------------------------------------------
  py::enum_<ae::Error>(m, "Error")
      .value("OK", ae::Error::kOk)
      .value("INVALID_ARGUMENT", ae::Error::kInvalidArgument)
      .value("INVALID_FORMAT", ae::Error::kInvalidFormat)
      .value("INVALID_CONFIG", ae::Error::kInvalidConfig)
      .value("NOT_INITIALIZED", ae::Error::kNotInitialized)
      .value("ALREADY_RUNNING", ae::Error::kAlreadyRunning)
      .value("NOT_RUNNING", ae::Error::kNotRunning)
      .value("QUEUE_FULL", ae::Error::kQueueFull)
      .value("TIMEOUT", ae::Error::kTimeout)
      .value("IO", ae::Error::kIo)
      .value("UNSUPPORTED", ae::Error::kUnsupported)
      .value("SHUTDOWN", ae::Error::kShutdown)
      .value("INTERNAL", ae::Error::kInternal);
  py::enum_<ae::SampleType>(m, "SampleType")
      .value("PCM16", ae::SampleType::kPcm16)
      .value("FLOAT32", ae::SampleType::kFloat32)
      .value("MULAW", ae::SampleType::kMulaw)
      .value("ALAW", ae::SampleType::kAlaw);
  py::enum_<ae::VadAlgorithm>(m, "VadAlgorithm")
      .value("ENERGY", ae::VadAlgorithm::kEnergy)
      .value("WEBRTC", ae::VadAlgorithm::kWebRtc)
      .value("SILERO", ae::VadAlgorithm::kSilero);
  py::enum_<ae::VadState>(m, "VadState").value("SILENCE", ae::VadState::kSilence).value("SPEAKING", ae::VadState::kSpeaking);
  py::enum_<ae::AudioEventType>(m, "AudioEventType")
      .value("VAD_SPEECH_START", ae::AudioEventType::kVadSpeechStart)
      .value("VAD_SPEECH_END", ae::AudioEventType::kVadSpeechEnd)
      .value("ENDPOINT", ae::AudioEventType::kEndpoint)
      .value("INTERRUPT", ae::AudioEventType::kInterrupt)
      .value("PLAYBACK_STARTED", ae::AudioEventType::kPlaybackStarted)
      .value("PLAYBACK_COMPLETE", ae::AudioEventType::kPlaybackComplete)
      .value("QUEUE_DRAINED", ae::AudioEventType::kQueueDrained)
      .value("BUFFER_OVERFLOW", ae::AudioEventType::kBufferOverflow)
      .value("BUFFER_UNDERFLOW", ae::AudioEventType::kBufferUnderflow)
      .value("BUFFER_READY", ae::AudioEventType::kBufferReady)
      .value("STATE_CHANGED", ae::AudioEventType::kStateChanged)
      .value("ERROR", ae::AudioEventType::kError)
      .value("CUSTOM", ae::AudioEventType::kCustom)
      .value("MODE_CHANGED", ae::AudioEventType::kModeChanged)
      .value("TURN_CHANGED", ae::AudioEventType::kTurnChanged)
      .value("PLAYBACK_PAUSED", ae::AudioEventType::kPlaybackPaused)
      .value("PLAYBACK_RESUMED", ae::AudioEventType::kPlaybackResumed);
  py::enum_<ae::ConversationState>(m, "ConversationState")
      .value("IDLE", ae::ConversationState::kIdle)
      .value("USER_SPEAKING", ae::ConversationState::kUserSpeaking)
      .value("AI_SPEAKING", ae::ConversationState::kAiSpeaking)
      .value("OVERLAP", ae::ConversationState::kOverlap);
  py::enum_<ae::TurnTakingMode>(m, "TurnTakingMode")
      .value("AUTOMATIC", ae::TurnTakingMode::kAutomatic)
      .value("MANUAL", ae::TurnTakingMode::kManual);
  py::enum_<ae::BargeInRecovery>(m, "BargeInRecovery")
      .value("OFF", ae::BargeInRecovery::kOff)
      .value("PAUSE", ae::BargeInRecovery::kPause)
      .value("DUCK", ae::BargeInRecovery::kDuck);
  py::enum_<ae::EchoGateMode>(m, "EchoGateMode")
      .value("AUTO", ae::EchoGateMode::kAuto)
      .value("ON", ae::EchoGateMode::kOn)
      .value("OFF", ae::EchoGateMode::kOff);
  py::enum_<ae::PlaybackPriority>(m, "PlaybackPriority")
      .value("NORMAL", ae::PlaybackPriority::kNormal)
      .value("REPLACE", ae::PlaybackPriority::kReplace)
      .value("NEXT", ae::PlaybackPriority::kNext)
      .value("INTERJECT", ae::PlaybackPriority::kInterject);
  py::enum_<ae::ProcessingStage>(m, "ProcessingStage")
      .value("CAPTURE_PRE", ae::ProcessingStage::kCapturePre)
      .value("CAPTURE_POST", ae::ProcessingStage::kCapturePost)
      .value("RENDER", ae::ProcessingStage::kRender);
  m.attr("MODE_FAST_LANE") = ae::kModeFastLane;
  m.attr("MODE_QUALITY") = ae::kModeQuality;
  m.attr("ALL_MODES") = ae::kAllModes;
  py::enum_<ae::ProcessingMode>(m, "ProcessingMode")
      .value("FAST_LANE", ae::ProcessingMode::kFastLane)
      .value("QUALITY", ae::ProcessingMode::kQuality)
      .value("ADAPTIVE", ae::ProcessingMode::kAdaptive);
  py::class_<ae::AdaptiveModeConfig>(m, "AdaptiveModeConfig")
      .def(py::init<>())
      .def(py::init([](double high, double low, int up, int down) { return ae::AdaptiveModeConfig{high, low, up, down}; }),
           py::arg("high_load_fraction") = 0.7, py::arg("low_load_fraction") = 0.4, py::arg("ticks_to_fast_lane") = 3,
           py::arg("ticks_to_quality") = 50)
      .def_readwrite("high_load_fraction", &ae::AdaptiveModeConfig::high_load_fraction)
      .def_readwrite("low_load_fraction", &ae::AdaptiveModeConfig::low_load_fraction)
      .def_readwrite("ticks_to_fast_lane", &ae::AdaptiveModeConfig::ticks_to_fast_lane)
      .def_readwrite("ticks_to_quality", &ae::AdaptiveModeConfig::ticks_to_quality);
  py::enum_<ae::InterruptReason>(m, "InterruptReason")
      .value("BARGE_IN", ae::InterruptReason::kBargeIn)
      .value("USER", ae::InterruptReason::kUser)
      .value("FLUSH", ae::InterruptReason::kFlush);
  py::enum_<ae::OverflowPolicy>(m, "OverflowPolicy")
      .value("BLOCK_PRODUCER", ae::OverflowPolicy::kBlockProducer)
      .value("DROP_OLDEST", ae::OverflowPolicy::kDropOldest)
      .value("DROP_NEWEST", ae::OverflowPolicy::kDropNewest);
  py::enum_<ae::ClockSource>(m, "ClockSource").value("VIRTUAL", ae::ClockSource::kVirtual).value("DEVICE", ae::ClockSource::kDevice);
  py::enum_<ae::VirtualClockMode>(m, "VirtualClockMode")
      .value("INLINE", ae::VirtualClockMode::kInline)
      .value("STEPPED", ae::VirtualClockMode::kStepped)
      .value("FREE_RUN", ae::VirtualClockMode::kFreeRun)
      .value("REALTIME", ae::VirtualClockMode::kRealtime);
  py::enum_<ae::ResamplerKind>(m, "ResamplerKind").value("SPEEX", ae::ResamplerKind::kSpeex).value("SOXR", ae::ResamplerKind::kSoxr);

  m.def("event_type_name", [](ae::AudioEventType t) { return std::string(ae::to_string(t)); });
  m.def("parse_event_type", [](const std::string& s) { return ae::parse_event_type(s); });
  m.def("error_name", [](ae::Error e) { return std::string(ae::to_string(e)); });

  // ---- formats ----------------------------------------------------------------------------------------------
  py::class_<ae::AudioFormat>(m, "AudioFormat")
      .def(py::init([](int sample_rate_hz, int channels, ae::SampleType sample_type) {
             return ae::AudioFormat{sample_rate_hz, channels, sample_type};
           }),
           py::arg("sample_rate_hz") = 16000, py::arg("channels") = 1, py::arg("sample_type") = ae::SampleType::kPcm16)
      .def_readwrite("sample_rate_hz", &ae::AudioFormat::sample_rate_hz)
      .def_readwrite("channels", &ae::AudioFormat::channels)
      .def_readwrite("sample_type", &ae::AudioFormat::sample_type)
      .def("__eq__", [](const ae::AudioFormat& a, const ae::AudioFormat& b) { return a == b; })
      .def("__str__", [](const ae::AudioFormat& f) { return ae::to_string(f); })
      .def("__repr__", [](const ae::AudioFormat& f) { return "AudioFormat('" + ae::to_string(f) + "')"; });
  m.def("bytes_per_sample", &ae::bytes_per_sample, py::arg("sample_type"));
  m.def("bytes_per_frame", &ae::bytes_per_frame, py::arg("format"));
  m.def("sample_type_name", [](ae::SampleType t) { return std::string(ae::to_string(t)); });
  m.def("parse_playback_priority", [](const std::string& s) { return unwrap(ae::parse_playback_priority(s)); },
        "PlaybackPriority from its name (normal, replace, next, interject; any case); InvalidArgumentError "
        "otherwise.");
  m.def("parse_sample_type", [](const std::string& s) { return unwrap(ae::parse_sample_type(s)); });
  m.def("parse_audio_format", [](const std::string& s) { return unwrap(ae::parse_audio_format(s)); });
  m.def("validate_format", [](const ae::AudioFormat& f) { check(ae::validate_format(f)); }, py::arg("format"));
  m.def("negotiate_format", [](const ae::AudioFormat& wanted, const std::vector<ae::AudioFormat>& offered) {
    return unwrap(ae::negotiate_format(wanted, offered));
  }, py::arg("wanted"), py::arg("offered"));
  py::class_<ae::SupportedFormats>(m, "SupportedFormats")
      .def_readonly("sample_types", &ae::SupportedFormats::sample_types)
      .def_readonly("common_sample_rates_hz", &ae::SupportedFormats::common_sample_rates_hz)
      .def_readonly("min_sample_rate_hz", &ae::SupportedFormats::min_sample_rate_hz)
      .def_readonly("max_sample_rate_hz", &ae::SupportedFormats::max_sample_rate_hz)
      .def_readonly("max_channels", &ae::SupportedFormats::max_channels);
  m.def("get_supported_formats", &ae::get_supported_formats);
  // decode_samples / encode_samples on buffers: bytes of `sample_type` <-> float32 bytes.
  m.def("decode_samples", [](const py::buffer& src, ae::SampleType type) {
    BufferView b(src);
    const size_t n = b.num_bytes() / ae::bytes_per_sample(type);
    std::vector<float> out(n);
    {
      py::gil_scoped_release release;
      ae::decode_samples(b.data(), type, n, out.data());
    }
    return to_bytes(out.data(), n * sizeof(float));
  }, py::arg("data"), py::arg("sample_type"), "Decodes samples of `sample_type` into float32 bytes.");
  m.def("encode_samples", [](const py::buffer& src, ae::SampleType type) {
    BufferView b(src);
    const size_t n = b.num_bytes() / sizeof(float);
    std::string out(n * ae::bytes_per_sample(type), '\0');
    {
      py::gil_scoped_release release;
      ae::encode_samples(static_cast<const float*>(b.data()), n, type, out.data());
    }
    return py::bytes(out);
  }, py::arg("samples_f32"), py::arg("sample_type"), "Encodes float32 samples into `sample_type` bytes.");

  // ---- speech synthesis -------------------------------------------------------------------------------------
  py::class_<ae::SpeechOptions>(m, "SpeechOptions")
      .def(py::init<>())
      .def_readwrite("voice", &ae::SpeechOptions::voice)
      .def_readwrite("words_per_minute", &ae::SpeechOptions::words_per_minute)
      .def_readwrite("pitch", &ae::SpeechOptions::pitch)
      .def_readwrite("sample_rate_hz", &ae::SpeechOptions::sample_rate_hz);
  m.def("synthesize_speech", [](const std::string& text, const ae::SpeechOptions& options) {
    std::optional<ae::Result<std::vector<float>>> r;
    {
      py::gil_scoped_release release;
      r.emplace(ae::synthesize_speech(text, options));
    }
    auto v = unwrap(std::move(*r));
    return to_bytes(v.data(), v.size() * sizeof(float));
  }, py::arg("text"), py::arg("options") = ae::SpeechOptions{},
        "Mono float32 samples (bytes) at options.sample_rate_hz, synthesized with espeak-ng.");

  // ---- config -----------------------------------------------------------------------------------------------
  py::class_<ae::ConfigIssue>(m, "ConfigIssue")
      .def_readonly("field", &ae::ConfigIssue::field)
      .def_readonly("value", &ae::ConfigIssue::value)
      .def_readonly("valid", &ae::ConfigIssue::valid)
      .def("__str__", [](const ae::ConfigIssue& i) { return ae::to_string(i); })
      .def("__repr__", [](const ae::ConfigIssue& i) { return "ConfigIssue('" + ae::to_string(i) + "')"; });
  py::class_<ae::VadConfig>(m, "VadConfig")
      .def(py::init<>())
      .def_readwrite("enabled", &ae::VadConfig::enabled)
      .def_readwrite("algorithm", &ae::VadConfig::algorithm)
      .def_readwrite("activation_threshold", &ae::VadConfig::activation_threshold)
      .def_readwrite("deactivation_threshold", &ae::VadConfig::deactivation_threshold)
      .def_readwrite("min_speech_ms", &ae::VadConfig::min_speech_ms)
      .def_readwrite("min_silence_ms", &ae::VadConfig::min_silence_ms)
      .def_readwrite("prefix_padding_ms", &ae::VadConfig::prefix_padding_ms)
      .def_readwrite("energy_margin_db", &ae::VadConfig::energy_margin_db)
      .def_readwrite("energy_floor_dbfs", &ae::VadConfig::energy_floor_dbfs)
      .def_readwrite("noise_floor_attack_ms", &ae::VadConfig::noise_floor_attack_ms)
      .def_readwrite("noise_floor_release_ms", &ae::VadConfig::noise_floor_release_ms)
      .def_readwrite("noise_floor_speech_release_ms", &ae::VadConfig::noise_floor_speech_release_ms)
      .def_readwrite("webrtc_aggressiveness", &ae::VadConfig::webrtc_aggressiveness);
  m.def("validate_vad_config", [](const ae::VadConfig& c) { check(ae::validate_vad_config(c)); }, py::arg("config"));
  py::enum_<ae::CaptureDelivery>(m, "CaptureDelivery")
      .value("ALL", ae::CaptureDelivery::kAll)
      .value("SPEECH_ONLY", ae::CaptureDelivery::kSpeechOnly);
  py::class_<ae::AudioConfig>(m, "AudioConfig")
      .def(py::init<>())
      .def_readwrite("sample_rate_hz", &ae::AudioConfig::sample_rate_hz)
      .def_readwrite("chunk_duration_ms", &ae::AudioConfig::chunk_duration_ms)
      .def_readwrite("chunk_sample_type", &ae::AudioConfig::chunk_sample_type)
      .def_readwrite("playback_sample_type", &ae::AudioConfig::playback_sample_type)
      .def_readwrite("resampler", &ae::AudioConfig::resampler)
      .def_readwrite("capture_delivery", &ae::AudioConfig::capture_delivery);
  py::class_<ae::QueueConfig>(m, "QueueConfig")
      .def(py::init<>())
      .def_readwrite("capture_capacity_ms", &ae::QueueConfig::capture_capacity_ms)
      .def_readwrite("playback_capacity_ms", &ae::QueueConfig::playback_capacity_ms)
      .def_readwrite("urgent_capacity_ms", &ae::QueueConfig::urgent_capacity_ms)
      .def_readwrite("chunk_queue_capacity_ms", &ae::QueueConfig::chunk_queue_capacity_ms)
      .def_readwrite("playback_overflow", &ae::QueueConfig::playback_overflow)
      .def_readwrite("capture_overflow", &ae::QueueConfig::capture_overflow)
      .def_readwrite("block_timeout_ms", &ae::QueueConfig::block_timeout_ms)
      .def_readwrite("max_items", &ae::QueueConfig::max_items);
  py::class_<ae::BargeInConfig>(m, "BargeInConfig")
      .def(py::init<>())
      .def_readwrite("enabled", &ae::BargeInConfig::enabled)
      .def_readwrite("min_speech_ms", &ae::BargeInConfig::min_speech_ms)
      .def_readwrite("probability_threshold", &ae::BargeInConfig::probability_threshold)
      .def_readwrite("fade_out_ms", &ae::BargeInConfig::fade_out_ms)
      .def_readwrite("recovery", &ae::BargeInConfig::recovery)
      .def_readwrite("duck_gain", &ae::BargeInConfig::duck_gain)
      .def_readwrite("resume_after_ms", &ae::BargeInConfig::resume_after_ms)
      .def_readwrite("echo_gate", &ae::BargeInConfig::echo_gate)
      .def_readwrite("vad_echo_gate", &ae::BargeInConfig::vad_echo_gate)
      .def_readwrite("echo_gate_margin_db", &ae::BargeInConfig::echo_gate_margin_db)
      .def_readwrite("echo_gate_tail_ms", &ae::BargeInConfig::echo_gate_tail_ms)
      .def_readwrite("echo_gate_min_near_end_ms", &ae::BargeInConfig::echo_gate_min_near_end_ms)
      .def_readwrite("echo_gate_tail_fall_db", &ae::BargeInConfig::echo_gate_tail_fall_db)
      .def_readwrite("echo_gate_max_coupling_db", &ae::BargeInConfig::echo_gate_max_coupling_db)
      .def_readwrite("echo_gate_bands", &ae::BargeInConfig::echo_gate_bands)
      .def_readwrite("echo_gate_min_bands", &ae::BargeInConfig::echo_gate_min_bands);
  py::class_<ae::EventConfig>(m, "EventConfig")
      .def(py::init<>())
      .def_readwrite("rt_capacity", &ae::EventConfig::rt_capacity)
      .def_readwrite("control_capacity", &ae::EventConfig::control_capacity)
      .def_readwrite("dispatch_interval_us", &ae::EventConfig::dispatch_interval_us)
      .def_readwrite("history_size", &ae::EventConfig::history_size);
  py::class_<ae::MetricsConfig>(m, "MetricsConfig").def(py::init<>()).def_readwrite("stage_timing", &ae::MetricsConfig::stage_timing);
  py::class_<ae::ClockConfig>(m, "ClockConfig")
      .def(py::init<>())
      .def_readwrite("source", &ae::ClockConfig::source)
      .def_readwrite("virtual_mode", &ae::ClockConfig::virtual_mode);
  py::enum_<ae::DuplexMode>(m, "DuplexMode")
      .value("FULL", ae::DuplexMode::kFull)
      .value("CAPTURE_ONLY", ae::DuplexMode::kCaptureOnly)
      .value("PLAYBACK_ONLY", ae::DuplexMode::kPlaybackOnly);
  py::class_<ae::DeviceConfig>(m, "DeviceConfig")
      .def(py::init<>())
      .def_readwrite("host_api", &ae::DeviceConfig::host_api)
      .def_readwrite("capture_host_api", &ae::DeviceConfig::capture_host_api)
      .def_readwrite("playback_host_api", &ae::DeviceConfig::playback_host_api)
      .def_readwrite("capture_device", &ae::DeviceConfig::capture_device)
      .def_readwrite("playback_device", &ae::DeviceConfig::playback_device)
      .def_readwrite("duplex_mode", &ae::DeviceConfig::duplex_mode)
      .def_readwrite("sample_rate_hz", &ae::DeviceConfig::sample_rate_hz)
      .def_readwrite("period_frames", &ae::DeviceConfig::period_frames)
      .def_readwrite("capture_channels", &ae::DeviceConfig::capture_channels)
      .def_readwrite("playback_channels", &ae::DeviceConfig::playback_channels)
      .def_readwrite("suggested_latency_ms", &ae::DeviceConfig::suggested_latency_ms)
      .def_readwrite("client_name", &ae::DeviceConfig::client_name);
  py::class_<ae::DeviceInfo>(m, "DeviceInfo")
      .def_readonly("id", &ae::DeviceInfo::id)
      .def_readonly("name", &ae::DeviceInfo::name)
      .def_readonly("host_api", &ae::DeviceInfo::host_api)
      .def_readonly("max_input_channels", &ae::DeviceInfo::max_input_channels)
      .def_readonly("max_output_channels", &ae::DeviceInfo::max_output_channels)
      .def_readonly("default_sample_rate_hz", &ae::DeviceInfo::default_sample_rate_hz)
      .def_readonly("is_default_input", &ae::DeviceInfo::is_default_input)
      .def_readonly("is_default_output", &ae::DeviceInfo::is_default_output)
      .def("__repr__", [](const ae::DeviceInfo& d) {
        return "<DeviceInfo " + std::to_string(d.id) + " '" + d.name + "' (" + d.host_api + ") in " +
               std::to_string(d.max_input_channels) + " out " + std::to_string(d.max_output_channels) + ">";
      });
  m.def("list_devices", [](bool probe_rates) { return unwrap(ae::list_devices(probe_rates)); },
        py::arg("probe_rates") = false, py::call_guard<py::gil_scoped_release>());
  py::class_<ae::HostApiInfo>(m, "HostApiInfo")
      .def_readonly("index", &ae::HostApiInfo::index)
      .def_readonly("name", &ae::HostApiInfo::name)
      .def_readonly("device_count", &ae::HostApiInfo::device_count)
      .def_readonly("default_input_device", &ae::HostApiInfo::default_input_device)
      .def_readonly("default_output_device", &ae::HostApiInfo::default_output_device)
      .def_readonly("is_default", &ae::HostApiInfo::is_default)
      .def("__repr__", [](const ae::HostApiInfo& h) {
        return "<HostApiInfo " + std::to_string(h.index) + " '" + h.name + "' devices " +
               std::to_string(h.device_count) + ">";
      });
  m.def("list_host_apis", [] { return unwrap(ae::list_host_apis()); }, py::call_guard<py::gil_scoped_release>());
  py::enum_<ae::DeviceState>(m, "DeviceState")
      .value("STOPPED", ae::DeviceState::kStopped)
      .value("RUNNING", ae::DeviceState::kRunning)
      .value("FAILED", ae::DeviceState::kFailed);
  py::class_<ae::DeviceStreamInfo>(m, "DeviceStreamInfo")
      .def_readonly("open", &ae::DeviceStreamInfo::open)
      .def_readonly("shares_stream", &ae::DeviceStreamInfo::shares_stream)
      .def_readonly("device_id", &ae::DeviceStreamInfo::device_id)
      .def_readonly("device_name", &ae::DeviceStreamInfo::device_name)
      .def_readonly("host_api", &ae::DeviceStreamInfo::host_api)
      .def_readonly("sample_rate_hz", &ae::DeviceStreamInfo::sample_rate_hz)
      .def_readonly("channels", &ae::DeviceStreamInfo::channels)
      .def_readonly("period_frames", &ae::DeviceStreamInfo::period_frames)
      .def_readonly("device_latency_ms", &ae::DeviceStreamInfo::device_latency_ms)
      .def_readonly("converter_delay_ms", &ae::DeviceStreamInfo::converter_delay_ms)
      .def_readonly("fifo_latency_ms", &ae::DeviceStreamInfo::fifo_latency_ms)
      .def_readonly("engine_period_ms", &ae::DeviceStreamInfo::engine_period_ms)
      .def_readonly("total_latency_ms", &ae::DeviceStreamInfo::total_latency_ms);
  py::class_<ae::DuplexStreams>(m, "DuplexStreams")
      .def_readonly("capture", &ae::DuplexStreams::capture)
      .def_readonly("playback", &ae::DuplexStreams::playback);
  py::class_<ae::DeviceStats>(m, "DeviceStats")
#define AE_STAT(name) .def_readonly(#name, &ae::DeviceStats::name)
      AE_STAT(callbacks) AE_STAT(ticks) AE_STAT(xruns) AE_STAT(callback_max_us) AE_STAT(callbacks_over_period)
      AE_STAT(captured_samples) AE_STAT(consumed_samples)
      AE_STAT(fifo_samples) AE_STAT(played_frames) AE_STAT(playback_fifo_underflow_frames)
      AE_STAT(drift_dropped_samples) AE_STAT(drift_inserted_samples) AE_STAT(failures) AE_STAT(reopens)
      AE_STAT(running) AE_STAT(failed) AE_STAT(last_error)
#undef AE_STAT
      ;

  // ---- VAD over held audio, endpointing, Silero -------------------------------------------------------------
  py::enum_<ae::EndpointState>(m, "EndpointState")
      .value("IDLE", ae::EndpointState::kIdle)
      .value("IN_UTTERANCE", ae::EndpointState::kInUtterance)
      .value("TRAILING_SILENCE", ae::EndpointState::kTrailingSilence);
  py::enum_<ae::EndpointReason>(m, "EndpointReason")
      .value("NONE", ae::EndpointReason::kNone)
      .value("SILENCE", ae::EndpointReason::kSilence)
      .value("MAX_UTTERANCE", ae::EndpointReason::kMaxUtterance)
      .value("FORCED", ae::EndpointReason::kForced);
  m.def("endpoint_state_name", [](ae::EndpointState s) { return std::string(ae::to_string(s)); });
  m.def("endpoint_reason_name", [](ae::EndpointReason r) { return std::string(ae::to_string(r)); });
  py::class_<ae::EndpointConfig>(m, "EndpointConfig")
      .def(py::init<>())
      .def_readwrite("silence_timeout_ms", &ae::EndpointConfig::silence_timeout_ms)
      .def_readwrite("min_utterance_ms", &ae::EndpointConfig::min_utterance_ms)
      .def_readwrite("max_utterance_ms", &ae::EndpointConfig::max_utterance_ms)
      .def_readwrite("enabled", &ae::EndpointConfig::enabled)
      .def_readwrite("adaptive", &ae::EndpointConfig::adaptive)
      .def_readwrite("adaptive_factor", &ae::EndpointConfig::adaptive_factor)
      .def_readwrite("adaptive_min_timeout_ms", &ae::EndpointConfig::adaptive_min_timeout_ms)
      .def_readwrite("adaptive_max_timeout_ms", &ae::EndpointConfig::adaptive_max_timeout_ms);
  m.def("validate_endpoint_config", [](const ae::EndpointConfig& c) { check(ae::validate_endpoint_config(c)); },
        py::arg("config"));
  py::class_<ae::VadFrame>(m, "VadFrame")
      .def_readonly("start_sample", &ae::VadFrame::start_sample)
      .def_readonly("probability", &ae::VadFrame::probability)
      .def_readonly("state", &ae::VadFrame::state)
      .def("__repr__", [](const ae::VadFrame& f) {
        return "VadFrame(start_sample " + std::to_string(f.start_sample) + ", probability " +
               std::to_string(f.probability) + ", " + (f.state == ae::VadState::kSpeaking ? "SPEAKING" : "SILENCE") +
               ")";
      });
  // The detector on its own: prepare(rate, max_frames), then process() frames of up to max_frames samples.
  py::class_<ae::SileroVad>(m, "SileroVad")
      .def_static("create", [](const std::string& path) { return unwrap(ae::SileroVad::create(path)); },
                  py::arg("model_path"), py::call_guard<py::gil_scoped_release>())
      .def_static("default_model_path", &ae::SileroVad::default_model_path)
      .def_static("model_path_from_environment", &ae::SileroVad::model_path_from_environment)
      .def("prepare", [](ae::SileroVad& v, int rate, size_t max_frames) { check(v.prepare(rate, max_frames)); },
           py::arg("sample_rate_hz"), py::arg("max_frames"))
      .def("process", [](ae::SileroVad& v, const py::buffer& data) {
        BufferView b(data);
        std::vector<float> scratch;
        const auto x = float_samples(b, scratch, "SileroVad.process");
        // The GIL stays held: the detector has one owner thread, and the GIL keeps Python threads from racing.
        return v.process(x.data(), x.size());
      }, py::arg("samples"), "Probability of the latest complete chunk (0 before the first). Float32 or int16.")
      .def("reset", &ae::SileroVad::reset)
      .def("chunk_samples", &ae::SileroVad::chunk_samples)
      .def("context_samples", &ae::SileroVad::context_samples)
      .def("chunks_processed", &ae::SileroVad::chunks_processed);
  py::class_<ae::WebRtcVad>(m, "WebRtcVad")
      .def_static("create", [](int aggressiveness) { return unwrap(ae::WebRtcVad::create(aggressiveness)); },
                  py::arg("aggressiveness") = ae::VadConfig{}.webrtc_aggressiveness)
      .def_static("processing_rate_for", &ae::WebRtcVad::processing_rate_for, py::arg("sample_rate_hz"))
      .def("prepare", [](ae::WebRtcVad& v, int rate, size_t max_frames) { check(v.prepare(rate, max_frames)); },
           py::arg("sample_rate_hz"), py::arg("max_frames"))
      .def("process", [](ae::WebRtcVad& v, const py::buffer& data) {
        BufferView b(data);
        std::vector<float> scratch;
        const auto x = float_samples(b, scratch, "WebRtcVad.process");
        // The GIL stays held: the detector has one owner thread, and the GIL keeps Python threads from racing.
        return v.process(x.data(), x.size());
      }, py::arg("samples"),
           "Share of the 10 ms sub-frames completed by this call that are speech (the last decision when none "
           "completed). Float32 or int16.")
      .def("reset", &ae::WebRtcVad::reset)
      .def("aggressiveness", &ae::WebRtcVad::aggressiveness)
      .def("processing_rate_hz", &ae::WebRtcVad::processing_rate_hz)
      .def("sub_frame_samples", &ae::WebRtcVad::sub_frame_samples)
      .def("resampler_delay_ms", &ae::WebRtcVad::resampler_delay_ms)
      .def("sub_frames_processed", &ae::WebRtcVad::sub_frames_processed)
      .def("last_decision", &ae::WebRtcVad::last_decision);

  // ---- echo processing ---------------------------------------------------------------------------------------
  py::enum_<ae::EchoImplementation>(m, "EchoImplementation")
      .value("WEBRTC", ae::EchoImplementation::kWebRtc)
      .value("SPEEX", ae::EchoImplementation::kSpeex);
  py::enum_<ae::EchoSuppression>(m, "EchoSuppression")
      .value("LOW", ae::EchoSuppression::kLow)
      .value("MODERATE", ae::EchoSuppression::kModerate)
      .value("HIGH", ae::EchoSuppression::kHigh)
      .value("ADAPTIVE", ae::EchoSuppression::kAdaptive);
  py::enum_<ae::NoiseSuppressionLevel>(m, "NoiseSuppressionLevel")
      .value("OFF", ae::NoiseSuppressionLevel::kOff)
      .value("LOW", ae::NoiseSuppressionLevel::kLow)
      .value("MODERATE", ae::NoiseSuppressionLevel::kModerate)
      .value("HIGH", ae::NoiseSuppressionLevel::kHigh)
      .value("VERY_HIGH", ae::NoiseSuppressionLevel::kVeryHigh);
  py::class_<ae::EchoCancellerConfig>(m, "EchoCancellerConfig")
      .def(py::init<>())
      // An EchoImplementation or its name, "webrtc" or "speex" (any case).
      .def_property("implementation", [](const ae::EchoCancellerConfig& c) { return c.implementation; },
                    [](ae::EchoCancellerConfig& c, const py::object& v) {
                      if (!py::isinstance<py::str>(v)) {
                        c.implementation = v.cast<ae::EchoImplementation>();
                        return;
                      }
                      std::string name = v.cast<std::string>();
                      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                      if (name == "webrtc") c.implementation = ae::EchoImplementation::kWebRtc;
                      else if (name == "speex") c.implementation = ae::EchoImplementation::kSpeex;
                      else check(ae::Status(ae::Error::kInvalidArgument, "EchoCancellerConfig.implementation = '" +
                                            v.cast<std::string>() + "' (valid: 'webrtc', 'speex')"));
                    })
      .def_readwrite("suppression", &ae::EchoCancellerConfig::suppression)
      .def_readwrite("noise_suppression", &ae::EchoCancellerConfig::noise_suppression)
      .def_readwrite("agc_enabled", &ae::EchoCancellerConfig::agc_enabled)
      .def_readwrite("agc_target_level_dbfs", &ae::EchoCancellerConfig::agc_target_level_dbfs)
      .def_readwrite("agc_compression_gain_db", &ae::EchoCancellerConfig::agc_compression_gain_db)
      .def_readwrite("agc_limiter", &ae::EchoCancellerConfig::agc_limiter)
      .def_readwrite("high_pass_filter", &ae::EchoCancellerConfig::high_pass_filter)
      .def_readwrite("delay_agnostic", &ae::EchoCancellerConfig::delay_agnostic)
      .def_readwrite("extended_filter", &ae::EchoCancellerConfig::extended_filter)
      .def_readwrite("stream_delay_ms", &ae::EchoCancellerConfig::stream_delay_ms)
      .def_readwrite("vad_copy", &ae::EchoCancellerConfig::vad_copy)
      .def_readwrite("vad_copy_suppression", &ae::EchoCancellerConfig::vad_copy_suppression)
      .def("validate", [](const ae::EchoCancellerConfig& c) { check(c.validate()); });
  py::class_<ae::DuplexMetrics>(m, "DuplexMetrics")
      .def_readonly("erle_db", &ae::DuplexMetrics::erle_db)
      .def_readonly("delay_ms", &ae::DuplexMetrics::delay_ms)
      .def_readonly("double_talk_fraction", &ae::DuplexMetrics::double_talk_fraction)
      .def_readonly("far_end_active_fraction", &ae::DuplexMetrics::far_end_active_fraction)
      .def_readonly("frames", &ae::DuplexMetrics::frames);
  py::class_<PyEchoProcessor>(m, "EchoProcessor")
      .def_static("create", [](const ae::EchoCancellerConfig& c) {
        return PyEchoProcessor{unwrap(ae::make_echo_processor(c)), 0, 0};
      }, py::arg("config") = ae::EchoCancellerConfig{})
      .def("prepare", [](PyEchoProcessor& p, int rate, size_t max_frames) {
        check(p.processor->prepare(rate, max_frames));
        p.max_frames = max_frames;
        p.sample_rate_hz = rate;
      }, py::arg("sample_rate_hz"), py::arg("max_frames"))
      .def("process", [](PyEchoProcessor& p, const py::buffer& data, const py::object& render, int echo_delay_ms) {
        if (p.max_frames == 0) check(ae::Status(ae::Error::kNotInitialized, "EchoProcessor.process: prepare() first"));
        BufferView b(data);
        std::vector<float> scratch, render_scratch;
        const auto x = float_samples(b, scratch, "EchoProcessor.process");
        std::vector<float> out(x.begin(), x.end());
        std::span<const float> far;
        std::optional<BufferView> rb;
        if (!render.is_none()) {
          rb.emplace(render.cast<py::buffer>());
          far = float_samples(*rb, render_scratch, "EchoProcessor.process render");
          if (far.size() != x.size())
            check(ae::Status(ae::Error::kInvalidArgument, "EchoProcessor.process: render has " +
                                                              std::to_string(far.size()) + " samples, samples " +
                                                              std::to_string(x.size()) + " (they must match)"));
        }
        // In blocks of max_frames (the processor's contract); the GIL stays held: one owner thread.
        for (size_t off = 0; off < out.size(); off += p.max_frames) {
          const size_t n = std::min(p.max_frames, out.size() - off);
          ae::ProcessContext ctx;
          ctx.sample_rate_hz = p.sample_rate_hz;
          ctx.t_samples = static_cast<int64_t>(off);
          ctx.stage = ae::ProcessingStage::kCapturePre;
          ctx.render = far.empty() ? nullptr : far.data() + off;
          ctx.render_frames = far.empty() ? 0 : n;
          ctx.echo_delay_ms = echo_delay_ms;
          p.processor->process(out.data() + off, n, ctx);
        }
        return to_bytes(out.data(), out.size() * sizeof(float));
      }, py::arg("samples"), py::arg("render") = py::none(), py::arg("echo_delay_ms") = -1,
         "Processes microphone samples (float32 or int16) with the speaker signal of the same ticks as the echo "
         "reference; returns float32 bytes. Sent to the processor in blocks of max_frames.")
      .def("reset", [](PyEchoProcessor& p) { p.processor->reset(); })
      .def("name", [](const PyEchoProcessor& p) { return std::string(p.processor->name()); })
      .def("latency_samples", [](const PyEchoProcessor& p) { return p.processor->latency_samples(); })
      .def("duplex_metrics", [](const PyEchoProcessor& p) { return p.processor->duplex_metrics(); })
      .def("double_talk", [](const PyEchoProcessor& p) { return p.processor->double_talk(); });

  // ---- audio files --------------------------------------------------------------------------------------------
  py::class_<ae::AudioFileInfo>(m, "AudioFileInfo")
      .def_readonly("sample_rate_hz", &ae::AudioFileInfo::sample_rate_hz)
      .def_readonly("channels", &ae::AudioFileInfo::channels)
      .def_readonly("num_frames", &ae::AudioFileInfo::num_frames)
      .def_readonly("container", &ae::AudioFileInfo::container);
  py::class_<ae::AudioFileReader>(m, "AudioFileReader")
      .def_static("open", [](const std::string& path, int rate, int channels, ae::ResamplerKind resampler) {
        return unwrap(ae::AudioFileReader::open(path, rate, channels, resampler));
      }, py::arg("path"), py::arg("output_rate_hz") = 0, py::arg("output_channels") = 0,
         py::arg("resampler") = ae::ResamplerKind::kSoxr, py::call_guard<py::gil_scoped_release>())
      .def("read", [](ae::AudioFileReader& r, size_t max_frames) {
        std::vector<float> out(max_frames * static_cast<size_t>(r.output_channels()));
        size_t n = 0;
        {
          py::gil_scoped_release release;
          n = r.read(out.data(), max_frames);
        }
        return to_bytes(out.data(), n * static_cast<size_t>(r.output_channels()) * sizeof(float));
      }, py::arg("max_frames"),
         "Up to max_frames interleaved float32 frames as bytes; b'' at the end. One thread at a time.")
      .def_static("read_all", [](const std::string& path, int rate, int channels) {
        std::optional<ae::Result<std::vector<float>>> res;
        {
          py::gil_scoped_release release;
          res.emplace(ae::AudioFileReader::read_all(path, rate, channels));
        }
        auto v = unwrap(std::move(*res));
        return to_bytes(v.data(), v.size() * sizeof(float));
      }, py::arg("path"), py::arg("output_rate_hz") = 0, py::arg("output_channels") = 0,
         "The whole file, converted, as interleaved float32 bytes.")
      .def("info", &ae::AudioFileReader::info)
      .def("output_rate_hz", &ae::AudioFileReader::output_rate_hz)
      .def("output_channels", &ae::AudioFileReader::output_channels);
  // AudioFileWriter does not expose its input channel count; the binding keeps it to split samples into frames.
  py::class_<FileWriter>(m, "AudioFileWriter")
      .def_static("create", [](const std::string& path, const ae::AudioFormat& file_format, int rate, int channels) {
        return FileWriter{unwrap(ae::AudioFileWriter::create(path, file_format, rate, channels)), channels};
      }, py::arg("path"), py::arg("file_format"), py::arg("input_rate_hz"), py::arg("input_channels"),
         py::call_guard<py::gil_scoped_release>())
      .def("write", [](FileWriter& w, const py::buffer& data) {
        BufferView b(data);
        std::vector<float> scratch;
        const auto x = float_samples(b, scratch, "AudioFileWriter.write");
        const auto channels = static_cast<size_t>(w.channels);
        if (x.size() % channels != 0) {
          throw StatusError{ae::Error::kInvalidArgument,
                            "AudioFileWriter.write: " + std::to_string(x.size()) +
                                " samples is not a whole number of frames of " + std::to_string(channels) +
                                " channels"};
        }
        py::gil_scoped_release r;
        check(w.writer->write(x.data(), x.size() / channels));
      }, py::arg("samples"),
         "Interleaved float32 (or int16) samples at the input rate and channel count. One thread at a time.")
      .def("close", [](FileWriter& w) { check(w.writer->close()); }, py::call_guard<py::gil_scoped_release>())
      .def("frames_written", [](const FileWriter& w) { return w.writer->frames_written(); });
  py::class_<ae::SinkConfig>(m, "SinkConfig").def(py::init<>()).def_readwrite("memory_capacity_ms", &ae::SinkConfig::memory_capacity_ms);
  py::class_<ae::EchoConfig>(m, "EchoConfig")
      .def(py::init<>())
      .def_readwrite("enabled", &ae::EchoConfig::enabled)
      .def_readwrite("canceller", &ae::EchoConfig::canceller);
  py::class_<ae::EngineConfig>(m, "EngineConfig")
      .def(py::init<>())
      .def_readwrite("audio", &ae::EngineConfig::audio)
      .def_readwrite("vad", &ae::EngineConfig::vad)
      .def_readwrite("endpoint", &ae::EngineConfig::endpoint)
      .def_readwrite("barge_in", &ae::EngineConfig::barge_in)
      .def_readwrite("queues", &ae::EngineConfig::queues)
      .def_readwrite("events", &ae::EngineConfig::events)
      .def_readwrite("metrics", &ae::EngineConfig::metrics)
      .def_readwrite("clock", &ae::EngineConfig::clock)
      .def_readwrite("sink", &ae::EngineConfig::sink)
      .def_readwrite("device", &ae::EngineConfig::device)
      .def_readwrite("echo", &ae::EngineConfig::echo)
      .def_readwrite("shutdown_timeout_ms", &ae::EngineConfig::shutdown_timeout_ms)
      .def_static("fast_lane", &ae::EngineConfig::fast_lane)
      .def_static("quality", &ae::EngineConfig::quality)
      .def_static("telephony", &ae::EngineConfig::telephony)
      .def_static("wideband", &ae::EngineConfig::wideband);
  m.def("validate_config", &ae::validate_config, py::arg("config"));
  m.def("format_config_issues", &ae::format_config_issues, py::arg("issues"));
  py::class_<ae::ConfigUpdate>(m, "ConfigUpdate")
      .def_readonly("applied", &ae::ConfigUpdate::applied)
      .def_readonly("needs_restart", &ae::ConfigUpdate::needs_restart);
  m.def("diff_config", &ae::diff_config, py::arg("a"), py::arg("b"));

  // ---- events -----------------------------------------------------------------------------------------------
  py::class_<ae::AudioEvent>(m, "AudioEvent")
      .def_readonly("type", &ae::AudioEvent::type)
      .def_readonly("sequence", &ae::AudioEvent::sequence)
      .def_readonly("t_samples", &ae::AudioEvent::t_samples)
      .def_readonly("sample_rate_hz", &ae::AudioEvent::sample_rate_hz)
      .def_property_readonly("t_ms", &ae::AudioEvent::t_ms)
      .def("payload", &event_payload, "The type's data as a dict.")
      .def("__repr__", [](const ae::AudioEvent& ev) {
        return std::string("AudioEvent(") + ae::to_string(ev.type) + ", seq " + std::to_string(ev.sequence) +
               ", t_samples " + std::to_string(ev.t_samples) + ")";
      });
  m.def("make_custom_event", [](int64_t code, double value, const std::string& text) {
    return ae::make_custom_event(0, 0, code, value, text);
  }, py::arg("code") = 0, py::arg("value") = 0.0, py::arg("text") = "");
  m.def("make_event", [](ae::AudioEventType type) {
    ae::AudioEvent ev{};
    ev.type = type;
    return ev;
  }, py::arg("type"), "A zeroed event of `type` (for emit_event).");

  // ---- metrics ----------------------------------------------------------------------------------------------
  py::class_<ae::StageTiming>(m, "StageTiming")
      .def_readonly("count", &ae::StageTiming::count)
      .def_readonly("mean_ns", &ae::StageTiming::mean_ns)
      .def_readonly("p50_ns", &ae::StageTiming::p50_ns)
      .def_readonly("p99_ns", &ae::StageTiming::p99_ns)
      .def_readonly("max_ns", &ae::StageTiming::max_ns);
  py::class_<ae::EngineMetrics>(m, "EngineMetrics")
#define AE_METRIC(name) .def_readonly(#name, &ae::EngineMetrics::name)
      AE_METRIC(ticks) AE_METRIC(processed_samples) AE_METRIC(processed_ms) AE_METRIC(chunks_delivered)
      AE_METRIC(chunks_dropped) AE_METRIC(capture_dropped_samples) AE_METRIC(source_idle_samples)
      AE_METRIC(played_samples) AE_METRIC(playback_dropped_samples) AE_METRIC(flushed_samples)
      AE_METRIC(stale_samples_dropped) AE_METRIC(playback_underruns) AE_METRIC(sink_overwritten_samples)
      AE_METRIC(interruptions) AE_METRIC(barge_ins) AE_METRIC(barge_in_echo_gated_runs) AE_METRIC(vad_echo_vetoed_segments)
      AE_METRIC(vad_speech_starts) AE_METRIC(endpoints)
      AE_METRIC(speech_gated_samples) AE_METRIC(prefix_truncated_samples) AE_METRIC(mode_switches) AE_METRIC(events_published)
      AE_METRIC(events_dropped) AE_METRIC(events_dispatched) AE_METRIC(callback_exceptions)
      AE_METRIC(buffer_overflow_samples) AE_METRIC(buffer_underflow_samples) AE_METRIC(audio_thread_allocations)
      AE_METRIC(audio_thread_mutex_locks) AE_METRIC(tick) AE_METRIC(capture_stage) AE_METRIC(vad_stage)
      AE_METRIC(playback_stage) AE_METRIC(output_stage) AE_METRIC(tick_budget_ms) AE_METRIC(stage_samples_dropped)
      AE_METRIC(echo_cancellation) AE_METRIC(echo_erle_db) AE_METRIC(echo_delay_ms) AE_METRIC(echo_double_talk_fraction)
      AE_METRIC(echo_far_end_active_fraction) AE_METRIC(echo_frames)
#undef AE_METRIC
      ;
  m.def("metrics_to_json", &ae::to_json, py::arg("metrics"));
  py::class_<ae::LatencyStats>(m, "LatencyStats")
      .def_readonly("count", &ae::LatencyStats::count)
      .def_readonly("last_samples", &ae::LatencyStats::last_samples)
      .def_readonly("last_ms", &ae::LatencyStats::last_ms)
      .def_readonly("mean_ms", &ae::LatencyStats::mean_ms)
      .def_readonly("p50_ms", &ae::LatencyStats::p50_ms)
      .def_readonly("max_ms", &ae::LatencyStats::max_ms);
  py::class_<ae::ConversationMetrics>(m, "ConversationMetrics")
      .def_readonly("user_turns", &ae::ConversationMetrics::user_turns)
      .def_readonly("ai_turns", &ae::ConversationMetrics::ai_turns)
      .def_readonly("overlaps", &ae::ConversationMetrics::overlaps)
      .def_readonly("interruptions", &ae::ConversationMetrics::interruptions)
      .def_readonly("barge_ins", &ae::ConversationMetrics::barge_ins)
      .def_readonly("false_interruptions", &ae::ConversationMetrics::false_interruptions)
      .def_readonly("turn_changes", &ae::ConversationMetrics::turn_changes)
      .def_readonly("response_latency", &ae::ConversationMetrics::response_latency)
      .def_readonly("interrupt_latency", &ae::ConversationMetrics::interrupt_latency);

  // ---- engine value types -----------------------------------------------------------------------------------
  py::class_<ae::ChunkInfo>(m, "ChunkInfo")
      .def_readonly("sequence", &ae::ChunkInfo::sequence)
      .def_readonly("start_sample", &ae::ChunkInfo::start_sample)
      .def_readonly("num_frames", &ae::ChunkInfo::num_frames)
      .def_readonly("sample_rate_hz", &ae::ChunkInfo::sample_rate_hz)
      .def_readonly("vad_probability", &ae::ChunkInfo::vad_probability)
      .def_readonly("vad_state", &ae::ChunkInfo::vad_state)
      .def_readonly("speech_started", &ae::ChunkInfo::speech_started)
      .def_readonly("speech_ended", &ae::ChunkInfo::speech_ended)
      .def_readonly("endpoint", &ae::ChunkInfo::endpoint)
      .def_property_readonly("start_ms", &ae::ChunkInfo::start_ms);
  py::class_<ae::CaptureChunk>(m, "CaptureChunk")
      .def_readonly("info", &ae::CaptureChunk::info)
      .def_readonly("format", &ae::CaptureChunk::format)
      .def_property_readonly("data", [](const ae::CaptureChunk& c) { return to_bytes(c.data.data(), c.data.size()); },
                             "The samples in `format` (bytes).")
      .def_property_readonly("samples", [](const ae::CaptureChunk& c) {
        return to_bytes(c.samples.data(), c.samples.size() * sizeof(float));
      }, "The same samples as float32 bytes.");
  py::class_<ae::InterruptResult>(m, "InterruptResult")
      .def_readonly("was_playing", &ae::InterruptResult::was_playing)
      .def_readonly("item_id", &ae::InterruptResult::item_id)
      .def_readonly("played_samples", &ae::InterruptResult::played_samples)
      .def_readonly("flushed_samples", &ae::InterruptResult::flushed_samples)
      .def_readonly("played_ms", &ae::InterruptResult::played_ms)
      .def_readonly("audio_flushed_ms", &ae::InterruptResult::audio_flushed_ms)
      .def_readonly("at_sample", &ae::InterruptResult::at_sample)
      .def_readonly("reason", &ae::InterruptResult::reason)
      .def_readonly("heard_at_decision_samples", &ae::InterruptResult::heard_at_decision_samples,
                    "Of played_samples, those past the DAC when the engine cut its output (device timestamps).")
      .def_readonly("heard_at_decision_ms", &ae::InterruptResult::heard_at_decision_ms)
      .def_readonly("in_device_samples", &ae::InterruptResult::in_device_samples,
                    "Delivered but still in the device's path at the cut; they play out.")
      .def_readonly("output_silent_at_samples", &ae::InterruptResult::output_silent_at_samples,
                    "Engine timeline position where the speaker goes silent (at_sample + pending output).")
      .def_readonly("held_item_id", &ae::InterruptResult::held_item_id,
                    "The item an INTERJECT item was holding when the cut came (0: none); cut too.")
      .def_readonly("held_played_samples", &ae::InterruptResult::held_played_samples,
                    "What the held item played before it was held (its PLAYBACK_PAUSED's samples).")
      .def_readonly("held_played_ms", &ae::InterruptResult::held_played_ms)
      .def("__repr__", [](const ae::InterruptResult& r) {
        return "InterruptResult(item " + std::to_string(r.item_id) + ", played_ms " + std::to_string(r.played_ms) +
               ", audio_flushed_ms " + std::to_string(r.audio_flushed_ms) + ")";
      });
  py::class_<ae::FlushAllResult>(m, "FlushAllResult")
      .def_readonly("playback_bytes", &ae::FlushAllResult::playback_bytes)
      .def_readonly("capture_samples", &ae::FlushAllResult::capture_samples)
      .def_readonly("chunks", &ae::FlushAllResult::chunks)
      .def_readonly("stream_buffer_frames", &ae::FlushAllResult::stream_buffer_frames);
  py::class_<ae::QueueDepths>(m, "QueueDepths")
      .def_readonly("capture_samples", &ae::QueueDepths::capture_samples)
      .def_readonly("playback_samples", &ae::QueueDepths::playback_samples)
      .def_readonly("chunks", &ae::QueueDepths::chunks)
      .def_readonly("capture_ms", &ae::QueueDepths::capture_ms)
      .def_readonly("playback_ms", &ae::QueueDepths::playback_ms);
  py::class_<ae::ResourceStatus>(m, "ResourceStatus")
      .def_readonly("initialized", &ae::ResourceStatus::initialized)
      .def_readonly("running", &ae::ResourceStatus::running)
      .def_readonly("capturing", &ae::ResourceStatus::capturing)
      .def_readonly("clock", &ae::ResourceStatus::clock)
      .def_readonly("clock_mode", &ae::ResourceStatus::clock_mode)
      .def_readonly("sink", &ae::ResourceStatus::sink)
      .def_readonly("threads", &ae::ResourceStatus::threads)
      .def_readonly("audio_buffer_bytes", &ae::ResourceStatus::audio_buffer_bytes)
      .def_readonly("event_buffer_bytes", &ae::ResourceStatus::event_buffer_bytes)
      .def_readonly("ticks", &ae::ResourceStatus::ticks)
      .def_readonly("vad_detectors", &ae::ResourceStatus::vad_detectors);

  // ---- stream buffers ---------------------------------------------------------------------------------------
  py::class_<ae::StreamBufferConfig>(m, "StreamBufferConfig")
      .def(py::init<>())
      .def_readwrite("name", &ae::StreamBufferConfig::name)
      .def_readwrite("format", &ae::StreamBufferConfig::format)
      .def_readwrite("capacity_ms", &ae::StreamBufferConfig::capacity_ms)
      .def_readwrite("ready_threshold_ms", &ae::StreamBufferConfig::ready_threshold_ms)
      .def_readwrite("overflow", &ae::StreamBufferConfig::overflow);
  py::class_<ae::BufferStatus>(m, "BufferStatus")
      .def_readonly("id", &ae::BufferStatus::id)
      .def_readonly("name", &ae::BufferStatus::name)
      .def_readonly("capacity_frames", &ae::BufferStatus::capacity_frames)
      .def_readonly("buffered_frames", &ae::BufferStatus::buffered_frames)
      .def_readonly("buffered_ms", &ae::BufferStatus::buffered_ms)
      .def_readonly("ready", &ae::BufferStatus::ready)
      .def_readonly("overflow_frames", &ae::BufferStatus::overflow_frames)
      .def_readonly("underflow_frames", &ae::BufferStatus::underflow_frames)
      .def_readonly("frames_written", &ae::BufferStatus::frames_written)
      .def_readonly("frames_read", &ae::BufferStatus::frames_read);
  // Owned by the engine: a Python StreamBuffer keeps its engine alive (keep_alive on get_stream_buffer) and is
  // valid until the engine shuts down.
  py::class_<ae::StreamBuffer>(m, "StreamBuffer")
      .def("write", [](ae::StreamBuffer& b, const py::buffer& data, int timeout_ms) {
        BufferView v(data);
        const size_t frame = ae::bytes_per_frame(b.config().format);
        if (v.num_bytes() % frame != 0) {
          throw StatusError{ae::Error::kInvalidArgument,
                            "StreamBuffer.write: " + std::to_string(v.num_bytes()) +
                                " bytes is not a whole number of frames of " + ae::to_string(b.config().format) +
                                " (" + std::to_string(frame) + " bytes each)"};
        }
        py::gil_scoped_release release;
        return b.write(v.data(), v.num_bytes() / frame, timeout_ms);
      }, py::arg("data"), py::arg("timeout_ms") = 0, "Writes whole frames; returns the frames accepted.")
      .def("read", [](ae::StreamBuffer& b, size_t num_frames) {
        std::string out(num_frames * ae::bytes_per_frame(b.config().format), '\0');
        size_t got = 0;
        {
          py::gil_scoped_release release;
          got = b.read(out.data(), num_frames);
        }
        out.resize(got * ae::bytes_per_frame(b.config().format));
        return py::bytes(out);
      }, py::arg("num_frames"), "Up to num_frames frames as bytes (short reads count as underflow).")
      .def("flush", &ae::StreamBuffer::flush, py::call_guard<py::gil_scoped_release>())
      .def("wait_until_ready", &ae::StreamBuffer::wait_until_ready, py::arg("timeout_ms"),
           py::call_guard<py::gil_scoped_release>())
      .def("status", &ae::StreamBuffer::status, py::call_guard<py::gil_scoped_release>())
      .def("config", &ae::StreamBuffer::config)
      .def("memory_bytes", &ae::StreamBuffer::memory_bytes);

  // ---- the engine -------------------------------------------------------------------------------------------
  using E = ae::AudioEngine;
  using release = py::call_guard<py::gil_scoped_release>;
  py::class_<E, EnginePtr>(m, "AudioEngine")
      .def_static("create", [](const ae::EngineConfig& c) { return EnginePtr(E::create(c).release()); },
                  py::arg("config") = ae::EngineConfig{})
      .def_static("create_for_fast_lane", [](int rate, int chunk_ms, const ae::VadConfig& vad) {
        return EnginePtr(E::create_for_fast_lane(rate, chunk_ms, vad).release());
      }, py::arg("sample_rate_hz") = 16000, py::arg("chunk_duration_ms") = 10, py::arg("vad_config") = ae::VadConfig{})
      // lifecycle
      .def("initialize", [](E& e) { check(e.initialize()); }, release())
      .def("start", [](E& e) { check(e.start()); }, release())
      .def("shutdown", [](E& e, int timeout_ms) { check(e.shutdown(timeout_ms)); }, py::arg("timeout_ms") = -1, release())
      .def("reset", [](E& e) { check(e.reset()); }, release())
      .def("get_resource_status", &E::get_resource_status, release())
      .def("is_initialized", &E::is_initialized)
      .def("is_running", &E::is_running)
      // configuration
      .def("config", &E::config)
      .def("update_config", [](E& e, const ae::EngineConfig& c) { return unwrap(e.update_config(c)); },
           py::arg("config"), release())
      .def("configure_fast_lane", [](E& e, int max_latency_ms, float vad_threshold, int interrupt_threshold_ms) {
        check(e.configure_fast_lane(max_latency_ms, vad_threshold, interrupt_threshold_ms));
      }, py::arg("max_latency_ms"), py::arg("vad_threshold"), py::arg("interrupt_threshold_ms"), release())
      // clock
      .def("advance", [](E& e, int64_t ms) { check(e.advance(ms)); }, py::arg("duration_ms"), release())
      .def("advance_ticks", [](E& e, int64_t n) { check(e.advance_ticks(n)); }, py::arg("num_ticks"), release())
      .def("wait_until_finished", [](E& e, int timeout_ms) {
        return e.virtual_clock() != nullptr && e.virtual_clock()->wait_until_finished(timeout_ms);
      }, py::arg("timeout_ms"), release())
      .def("now_samples", &E::now_samples)
      .def("now_ms", &E::now_ms)
      .def("period_frames", &E::period_frames)
      .def("sample_rate_hz", &E::sample_rate_hz)
      // devices
      .def("set_capture_device", [](E& e, const std::string& d) { check(e.set_capture_device(d)); },
           py::arg("id_or_name"), release())
      .def("set_playback_device", [](E& e, const std::string& d) { check(e.set_playback_device(d)); },
           py::arg("id_or_name"), release())
      .def("set_duplex_mode", [](E& e, ae::DuplexMode mode) { check(e.set_duplex_mode(mode)); }, py::arg("mode"),
           release())
      .def("start_full_duplex", [](E& e) { return unwrap(e.start_full_duplex()); }, release())
      .def("get_device_streams", &E::get_device_streams, release())
      .def("get_device_stats", &E::get_device_stats, release())
      // capture
      .def("start_capture", [](E& e) { check(e.start_capture()); })
      .def("stop_capture", [](E& e) { check(e.stop_capture()); })
      .def("is_capturing", &E::is_capturing)
      .def("inject_test_audio", [](E& e, const py::buffer& data, const py::object& format) {
        BufferView b(data);
        if (format.is_none() && implied_sample_type(b) == ae::SampleType::kFloat32) {
          // float32 mono at the engine rate goes straight into the capture ring.
          py::gil_scoped_release r;
          check(e.inject_test_audio(std::span<const float>(static_cast<const float*>(b.data()), b.num_bytes() / 4)));
          return;
        }
        const ae::AudioFormat f = format.is_none() ? ae::AudioFormat{e.sample_rate_hz(), 1, ae::SampleType::kPcm16}
                                                   : format.cast<ae::AudioFormat>();
        py::gil_scoped_release r;
        check(e.inject_test_audio(b.data(), b.num_bytes(), f));
      }, py::arg("data"), py::arg("format") = py::none(),
         "Makes `data` the next microphone input. format None: PCM16 (or float32 for float arrays), engine rate, mono.")
      .def("try_read_chunk", [](E& e) -> std::optional<ae::CaptureChunk> {
        ae::CaptureChunk c;
        if (!e.try_read_chunk(c)) return std::nullopt;
        return c;
      }, release())
      .def("read_chunk", [](E& e, int timeout_ms) -> std::optional<ae::CaptureChunk> {
        ae::CaptureChunk c;
        if (!e.read_chunk(c, timeout_ms)) return std::nullopt;
        return c;
      }, py::arg("timeout_ms"), release())
      .def("set_chunk_callback", [](E& e, const py::object& fn) {
        if (fn.is_none()) {
          py::gil_scoped_release r;
          e.set_chunk_callback({});
          return;
        }
        // Called on ae-events: one copy of the chunk's bytes, made with the GIL held, then the Python call.
        auto ref = std::make_shared<PyRef>(fn);
        ae::ChunkCallback cb = [ref](const ae::CaptureChunk& c) {
          if (_Py_IsFinalizing()) return;
          py::gil_scoped_acquire gil;
          try {
            ref->fn(to_bytes(c.data.data(), c.data.size()), c.info);
          } catch (py::error_already_set& err) {
            err.discard_as_unraisable("audioengine chunk callback");
          }
        };
        py::gil_scoped_release r;
        e.set_chunk_callback(std::move(cb));
      }, py::arg("callback"), "callback(data: bytes, info: ChunkInfo) on ae-events; None removes it.")
      // playback
      .def("queue_playback", [](E& e, const py::buffer& data, uint64_t item_id, const py::object& format,
                                ae::PlaybackPriority priority) {
        BufferView b(data);
        const ae::AudioFormat f = playback_format_for(e, b, format);
        py::gil_scoped_release r;
        check(e.queue_playback(b.data(), b.num_bytes(), f, item_id, priority));
      }, py::arg("data"), py::arg("item_id") = 0, py::arg("format") = py::none(),
         py::arg("priority") = ae::PlaybackPriority::kNormal)
      .def("play_audio", [](E& e, const py::buffer& data, uint64_t item_id) {
        BufferView b(data);
        py::gil_scoped_release r;
        check(e.play_audio(b.data(), b.num_bytes(), item_id));
      }, py::arg("data"), py::arg("item_id") = 0)
      .def("play_audio_sync", [](E& e, const py::buffer& data, uint64_t item_id) {
        BufferView b(data);
        py::gil_scoped_release r;
        return e.play_audio_sync(b.data(), b.num_bytes(), item_id);
      }, py::arg("data"), py::arg("item_id") = 0)
      .def("stop_playback", [](E& e) { check(e.stop_playback()); }, release())
      .def("flush_playback_queue", &E::flush_playback_queue, release())
      .def("flush_all_queues", &E::flush_all_queues, release())
      .def("interrupt_playback", [](E& e, ae::InterruptReason reason, int timeout_ms) {
        return unwrap(e.interrupt_playback(reason, timeout_ms));
      }, py::arg("reason") = ae::InterruptReason::kUser, py::arg("timeout_ms") = 1000, release())
      .def("wait_for_interrupt", [](E& e, int timeout_ms) { return unwrap(e.wait_for_interrupt(timeout_ms)); },
           py::arg("timeout_ms"), release(), "The next INTERRUPT not yet returned; EngineTimeoutError after timeout_ms.")
      .def("drain_queues", [](E& e, int timeout_ms) { check(e.drain_queues(timeout_ms)); }, py::arg("timeout_ms"),
           release())
      .def("is_playback_paused", &E::is_playback_paused)
      // conversation and barge-in
      .def("get_conversation_state", &E::get_conversation_state)
      .def("set_turn_taking_mode", [](E& e, ae::TurnTakingMode mode) { check(e.set_turn_taking_mode(mode)); }, py::arg("mode"))
      .def("get_turn_taking_mode", &E::get_turn_taking_mode)
      .def("set_push_to_talk", [](E& e, bool pressed) { check(e.set_push_to_talk(pressed)); }, py::arg("pressed"))
      .def("is_push_to_talk_pressed", &E::is_push_to_talk_pressed)
      .def("wait_for_turn_change", [](E& e, int timeout_ms) { return unwrap(e.wait_for_turn_change(timeout_ms)); },
           py::arg("timeout_ms"), release())
      .def("force_turn_change", [](E& e, ae::ConversationState to, int timeout_ms) {
        return unwrap(e.force_turn_change(to, timeout_ms));
      }, py::arg("to"), py::arg("timeout_ms") = 1000, release())
      .def("get_conversation_metrics", &E::get_conversation_metrics)
      .def("get_interrupt_latency", &E::get_interrupt_latency)
      .def("enable_barge_in_detection", [](E& e, const py::object& arg) {
        if (py::isinstance<py::bool_>(arg)) {
          const bool on = arg.cast<bool>();
          py::gil_scoped_release r;
          check(e.enable_barge_in_detection(on));
          return;
        }
        const auto c = arg.cast<ae::BargeInConfig>();
        py::gil_scoped_release r;
        check(e.enable_barge_in_detection(c));
      }, py::arg("config") = true, "True / False, or a BargeInConfig.")
      .def("set_interrupt_threshold", [](E& e, int min_speech_ms, float probability_threshold) {
        check(e.set_interrupt_threshold(min_speech_ms, probability_threshold));
      }, py::arg("min_speech_ms"), py::arg("probability_threshold") = 0.5f, release())
      .def("is_playing_audio", &E::is_playing_audio)
      .def("get_queue_depths", &E::get_queue_depths, release())
      .def("read_played_audio", [](E& e, size_t max_samples) {
        std::vector<float> out(max_samples);
        size_t n = 0;
        {
          py::gil_scoped_release r;
          n = e.read_played_audio(out.data(), max_samples);
        }
        return to_bytes(out.data(), n * sizeof(float));
      }, py::arg("max_samples"), "Up to max_samples of the memory sink's output as float32 bytes.")
      .def("read_played_audio_into", [](E& e, const py::buffer& out) {
        py::buffer_info info = out.request(true);
        if (info.itemsize != 4 || info.format != py::format_descriptor<float>::format() || info.ndim != 1 ||
            info.strides[0] != 4) {
          throw StatusError{ae::Error::kInvalidArgument,
                            "read_played_audio_into: out must be a writable contiguous float32 buffer (format '" +
                                info.format + "', itemsize " + std::to_string(info.itemsize) + " given)"};
        }
        py::gil_scoped_release r;
        return e.read_played_audio(static_cast<float*>(info.ptr), static_cast<size_t>(info.size));
      }, py::arg("out"), "Fills a float32 buffer from the memory sink without a copy; returns the samples written.")
      .def("played_samples_total", &E::played_samples_total)
      // stream buffers
      .def("create_stream_buffer", [](E& e, const ae::StreamBufferConfig& c) { return unwrap(e.create_stream_buffer(c)); },
           py::arg("config"), release())
      .def("get_stream_buffer", [](E& e, ae::BufferId id) {
        ae::StreamBuffer* b = e.get_stream_buffer(id);
        if (b == nullptr) throw StatusError{ae::Error::kInvalidArgument, "get_stream_buffer: no stream buffer with id " + std::to_string(id)};
        return b;
      }, py::arg("id"), py::return_value_policy::reference, py::keep_alive<0, 1>())
      .def("get_buffer_status", [](const E& e, ae::BufferId id) { return unwrap(e.get_buffer_status(id)); },
           py::arg("id"), release())
      .def("flush_buffers", &E::flush_buffers, release())
      .def("wait_for_buffer_ready", [](E& e, ae::BufferId id, int timeout_ms) { check(e.wait_for_buffer_ready(id, timeout_ms)); },
           py::arg("id"), py::arg("timeout_ms"), release())
      // VAD
      .def("get_vad_state", &E::get_vad_state)
      .def("get_vad_probability", &E::get_vad_probability)
      .def("enable_vad", [](E& e, const ae::VadConfig& c) { check(e.enable_vad(c)); }, py::arg("config"), release())
      .def("disable_vad", &E::disable_vad, release())
      .def("process_vad", [](E& e, const py::buffer& data) {
        BufferView b(data);
        std::vector<float> scratch;
        const auto x = float_samples(b, scratch, "process_vad");
        py::gil_scoped_release r;
        return unwrap(e.process_vad(x));
      }, py::arg("samples"), "Mono samples at the engine rate (float32, or int16 arrays); the frames completed.")
      .def("get_vad_events", &E::get_vad_events, release())
      .def("configure_endpointing", [](E& e, const ae::EndpointConfig& c) { check(e.configure_endpointing(c)); },
           py::arg("config"), release())
      .def("set_endpoint_timeout", [](E& e, int ms) { check(e.set_endpoint_timeout(ms)); }, py::arg("timeout_ms"),
           release())
      .def("force_endpoint", &E::force_endpoint, py::arg("timeout_ms") = 1000, release())
      .def("wait_for_endpoint", [](E& e, int timeout_ms) { return unwrap(e.wait_for_endpoint(timeout_ms)); },
           py::arg("timeout_ms"), release(), "The next live ENDPOINT not yet returned; EngineTimeoutError after timeout_ms.")
      .def("get_endpoint_state", &E::get_endpoint_state, release())
      // events
      .def("subscribe", [](E& e, ae::AudioEventType type, py::object cb, const py::object& filter) {
        auto c = event_callback(std::move(cb));
        auto f = event_filter(filter);
        py::gil_scoped_release r;
        return e.subscribe(type, std::move(c), std::move(f));
      }, py::arg("type"), py::arg("callback"), py::arg("filter") = py::none(),
         "callback(AudioEvent) on ae-events; returns the id (0 before initialize()).")
      .def("subscribe_all", [](E& e, py::object cb, const py::object& filter) {
        auto c = event_callback(std::move(cb));
        auto f = event_filter(filter);
        py::gil_scoped_release r;
        return e.subscribe_all(std::move(c), std::move(f));
      }, py::arg("callback"), py::arg("filter") = py::none())
      .def("unsubscribe", &E::unsubscribe, py::arg("id"), release())
      .def("wait_for_event", &E::wait_for_event, py::arg("type"), py::arg("timeout_ms"),
           py::arg("after_sequence") = std::nullopt, release())
      .def("emit_event", [](E& e, const ae::AudioEvent& ev) { check(e.emit_event(ev)); }, py::arg("event"), release())
      .def("wait_until_dispatched", &E::wait_until_dispatched, py::arg("timeout_ms"), release())
      // processing modes and offline processing (processors themselves are added from C++: a Python callback
      // cannot run on the audio thread)
      .def("set_mode", [](E& e, ae::ProcessingMode mode) { check(e.set_mode(mode)); }, py::arg("mode"))
      .def("get_mode", &E::get_mode)
      .def("get_active_routing", &E::get_active_routing)
      .def("optimize_for_latency", [](E& e) { check(e.optimize_for_latency()); })
      .def("optimize_for_quality", [](E& e) { check(e.optimize_for_quality()); })
      .def("force_fast_lane", [](E& e) { check(e.force_fast_lane()); })
      .def("enable_adaptive_mode", [](E& e, const ae::AdaptiveModeConfig& c) { check(e.enable_adaptive_mode(c)); },
           py::arg("config") = ae::AdaptiveModeConfig{})
      .def("add_echo_processor", [](E& e, const ae::EchoCancellerConfig& c, ae::ProcessingStage stage,
                                    ae::ModeMask modes) {
        py::gil_scoped_release r;
        std::shared_ptr<ae::AudioProcessor> p = unwrap(ae::make_echo_processor(c));
        return unwrap(e.add_processor(std::move(p), stage, modes));
      }, py::arg("config"), py::arg("stage") = ae::ProcessingStage::kCapturePre, py::arg("modes") = ae::kAllModes,
         "Builds the C++ echo processor for `config` and adds it to the engine's chain; returns its id.")
      .def("enable_echo_cancellation", [](E& e, const ae::EchoCancellerConfig& c) {
        check(e.enable_echo_cancellation(c));
      }, py::arg("config") = ae::EchoCancellerConfig{}, release(),
         "Installs (or replaces) the echo processor at the capture-pre stage; config.echo follows.")
      .def("disable_echo_cancellation", [](E& e, int timeout_ms) { check(e.disable_echo_cancellation(timeout_ms)); },
           py::arg("timeout_ms") = 1000, release())
      .def("is_echo_cancellation_enabled", &E::is_echo_cancellation_enabled)
      .def("get_duplex_metrics", [](const E& e) { return unwrap(e.get_duplex_metrics()); },
           "ERLE, delay estimate, double-talk and far-end-active fractions; NotInitializedError when off.")
      .def("remove_processor", [](E& e, ae::ProcessorId id, int timeout_ms) { check(e.remove_processor(id, timeout_ms)); },
           py::arg("id"), py::arg("timeout_ms") = 1000, release())
      .def("set_processor_bypass", [](E& e, ae::ProcessorId id, bool bypass) { check(e.set_processor_bypass(id, bypass)); },
           py::arg("id"), py::arg("bypass"))
      .def("process_audio", [](E& e, const py::buffer& data, const py::object& render) {
        BufferView b(data);
        std::vector<float> scratch;
        const auto x = float_samples(b, scratch, "process_audio");
        std::vector<float> mono(x.begin(), x.end());
        std::vector<float> ref;
        if (!render.is_none()) {
          BufferView rb(render.cast<py::buffer>());
          std::vector<float> rscratch;
          const auto r = float_samples(rb, rscratch, "process_audio");
          ref.assign(r.begin(), r.end());
        }
        {
          py::gil_scoped_release r;
          check(e.process_audio(mono, ref));
        }
        return to_bytes(mono.data(), mono.size() * sizeof(float));
      }, py::arg("samples"), py::arg("render") = py::none(),
         "The capture stages over held mono audio at the engine rate (float32 or int16 arrays); float32 bytes.")
      // metrics
      .def("get_metrics", &E::get_metrics, release())
      .def("export_metrics", &E::export_metrics, release());
}
