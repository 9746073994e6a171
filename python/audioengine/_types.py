"""Python-side value types: event types (with AUDIO_CHUNK), VAD state, events and metrics."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Optional

from . import _core


class AudioEventType(enum.IntEnum):
    """The engine's event types (same values as the C++ ``ae::AudioEventType``) plus AUDIO_CHUNK, which only the
    capture iterator yields. SPEECH_START / SPEECH_END are aliases of VAD_SPEECH_START / VAD_SPEECH_END."""

    VAD_SPEECH_START = 0
    VAD_SPEECH_END = 1
    ENDPOINT = 2
    INTERRUPT = 3
    PLAYBACK_STARTED = 4
    PLAYBACK_COMPLETE = 5
    QUEUE_DRAINED = 6
    BUFFER_OVERFLOW = 7
    BUFFER_UNDERFLOW = 8
    BUFFER_READY = 9
    STATE_CHANGED = 10
    ERROR = 11
    CUSTOM = 12
    MODE_CHANGED = 13
    TURN_CHANGED = 14
    PLAYBACK_PAUSED = 15
    PLAYBACK_RESUMED = 16
    AUDIO_CHUNK = 100
    SPEECH_START = 0
    SPEECH_END = 1

    def to_core(self) -> "_core.AudioEventType":
        if self is AudioEventType.AUDIO_CHUNK:
            raise ValueError("AUDIO_CHUNK is delivered by start_capture(), not by the event bus")
        return _core.AudioEventType(int(self))


class VADState(enum.IntEnum):
    """What get_vad_state() returns (``ae::VadState``)."""

    SILENCE = 0
    SPEAKING = 1


VadState = VADState


class AttrDict(dict):
    """A dict whose keys also read as attributes: ``ev.data["played_ms"] == ev.data.played_ms``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


Metrics = AttrDict


@dataclass(frozen=True)
class AudioEvent:
    """One event as Python sees it.

    type: AudioEventType. data: for AUDIO_CHUNK the chunk's bytes (engine rate, mono, config.audio.chunk_sample_type);
    otherwise an AttrDict with the type's payload (e.g. INTERRUPT: played_samples, played_ms, flushed_samples,
    audio_flushed_ms, item_id, reason, heard_at_decision_samples, heard_at_decision_ms, in_device_samples,
    output_silent_at_samples, speech_run_samples: a barge-in's speech run from its start to t_samples, else -1). sequence: the bus sequence (for chunks: the chunk sequence).
    t_samples / t_ms: position on the engine timeline. info: the ChunkInfo of an AUDIO_CHUNK.
    """

    type: AudioEventType
    data: Any
    sequence: int
    t_samples: int
    sample_rate_hz: int
    info: Optional["_core.ChunkInfo"] = None
    raw: Optional["_core.AudioEvent"] = field(default=None, repr=False, compare=False)

    @property
    def t_ms(self) -> float:
        return 1000.0 * self.t_samples / self.sample_rate_hz if self.sample_rate_hz > 0 else 0.0

    @staticmethod
    def from_core(ev: "_core.AudioEvent") -> "AudioEvent":
        return AudioEvent(
            type=AudioEventType(int(ev.type)),
            data=AttrDict(ev.payload()),
            sequence=ev.sequence,
            t_samples=ev.t_samples,
            sample_rate_hz=ev.sample_rate_hz,
            raw=ev,
        )

    @staticmethod
    def from_chunk(data: bytes, info: "_core.ChunkInfo") -> "AudioEvent":
        return AudioEvent(
            type=AudioEventType.AUDIO_CHUNK,
            data=data,
            sequence=info.sequence,
            t_samples=info.start_sample,
            sample_rate_hz=info.sample_rate_hz,
            info=info,
        )


def _timing_dict(t: "_core.StageTiming") -> AttrDict:
    return AttrDict(count=t.count, mean_ns=t.mean_ns, p50_ns=t.p50_ns, p99_ns=t.p99_ns, max_ns=t.max_ns)


_TIMINGS = ("tick", "capture_stage", "vad_stage", "playback_stage", "output_stage")


def metrics_to_dict(m: "_core.EngineMetrics") -> Metrics:
    """Every field of EngineMetrics; stage timings as nested dicts."""
    out = Metrics()
    for name in dir(m):
        if name.startswith("_"):
            continue
        value = getattr(m, name)
        if callable(value):
            continue
        out[name] = _timing_dict(value) if name in _TIMINGS else value
    return out
