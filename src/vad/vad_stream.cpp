#include "audioengine/vad_stream.hpp"

#include "audioengine/config_issue.hpp"

#include <algorithm>
#include <string>

namespace ae {

Result<std::unique_ptr<VadStream>> VadStream::create(const VadConfig& config, int sample_rate_hz,
                                                     size_t frame_samples) {
  if (auto st = validate_vad_config(config); !st.ok()) return st.error_info();
  if (frame_samples == 0 || frame_samples > static_cast<size_t>(std::max(sample_rate_hz, 0))) {
    return ErrorInfo{Error::kInvalidArgument, "VadStream: frame_samples = " + std::to_string(frame_samples) +
                                                  "; valid: 1..sample_rate_hz (1 s)"};
  }
  auto detector = make_vad(config);
  if (!detector.ok()) return detector.error_info();
  if (auto st = (*detector)->prepare(sample_rate_hz, frame_samples); !st.ok()) return st.error_info();
  std::unique_ptr<VadStream> s(new VadStream());
  s->config_ = config;
  s->sample_rate_hz_ = sample_rate_hz;
  s->frame_samples_ = frame_samples;
  s->detector_ = std::move(detector.value());
  s->segmenter_.configure(config, sample_rate_hz);
  s->pending_.reserve(frame_samples);
  return s;
}

void VadStream::process(std::span<const float> mono) {
  size_t i = 0;
  while (i < mono.size()) {
    const size_t take = std::min(frame_samples_ - pending_.size(), mono.size() - i);
    pending_.insert(pending_.end(), mono.begin() + static_cast<ptrdiff_t>(i),
                    mono.begin() + static_cast<ptrdiff_t>(i + take));
    i += take;
    if (pending_.size() < frame_samples_) break;
    const float p = detector_->process(pending_.data(), frame_samples_);
    const VadDecision d = segmenter_.update(p, position_, frame_samples_);
    const int64_t frame_end = position_ + static_cast<int64_t>(frame_samples_);
    frames_.push_back({position_, p, d.state});
    if (d.speech_started) {
      open_start_ = d.speech_start_sample;
      events_.push_back(make_vad_event(AudioEventType::kVadSpeechStart, frame_end, sample_rate_hz_, p,
                                       d.speech_start_sample, d.speech_end_sample));
    }
    if (d.speech_ended) {
      events_.push_back(make_vad_event(AudioEventType::kVadSpeechEnd, frame_end, sample_rate_hz_, p,
                                       d.speech_start_sample, d.speech_end_sample));
      const int64_t pad = static_cast<int64_t>(config_.prefix_padding_ms) * sample_rate_hz_ / 1000;
      closed_.push_back({d.speech_start_sample, d.speech_end_sample, std::max<int64_t>(0, d.speech_start_sample - pad)});
    }
    if (endpointing_) {
      const EndpointDecision e = endpointer_.update(d, position_, frame_samples_);
      if (e.reason != EndpointReason::kNone) {
        events_.push_back(make_vad_event(AudioEventType::kEndpoint, frame_end, sample_rate_hz_, p,
                                         e.utterance_start_sample, e.utterance_end_sample));
        events_.back().vad.endpoint_reason = e.reason;
      }
    }
    position_ = frame_end;
    pending_.clear();
  }
}

std::vector<AudioEvent> VadStream::take_events() {
  std::vector<AudioEvent> out;
  out.swap(events_);
  return out;
}

std::vector<VadSegment> VadStream::segments() const {
  std::vector<VadSegment> out = closed_;
  if (segmenter_.state() == VadState::kSpeaking) {
    const int64_t onset = open_start_;
    const int64_t pad = static_cast<int64_t>(config_.prefix_padding_ms) * sample_rate_hz_ / 1000;
    out.push_back({onset, -1, std::max<int64_t>(0, onset - pad)});
  }
  return out;
}

void VadStream::reset() {
  detector_->reset();
  segmenter_.reset();
  pending_.clear();
  position_ = 0;
  frames_.clear();
  events_.clear();
  closed_.clear();
  open_start_ = -1;
  endpointer_.reset();
}

Status VadStream::configure_endpointing(const EndpointConfig& config) {
  if (auto st = validate_endpoint_config(config); !st.ok()) return st;
  endpointer_.configure(config, sample_rate_hz_);
  endpointing_ = true;
  return ok_status();
}

void VadStream::set_endpoint_timeout_ms(int timeout_ms) { endpointer_.set_silence_timeout_ms(timeout_ms); }

bool VadStream::force_endpoint() {
  if (!endpointing_) return false;
  const EndpointDecision e = endpointer_.force(position_);
  if (e.reason == EndpointReason::kNone) return false;
  const float p = frames_.empty() ? 0.0f : frames_.back().probability;
  events_.push_back(make_vad_event(AudioEventType::kEndpoint, position_, sample_rate_hz_, p,
                                   e.utterance_start_sample, e.utterance_end_sample));
  events_.back().vad.endpoint_reason = e.reason;
  return true;
}

}  // namespace ae
