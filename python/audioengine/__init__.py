"""audioengine: the real-time audio engine for voice-AI agents, from Python asyncio.

    import audioengine
    engine = audioengine.AudioEngine.create_for_fast_lane(sample_rate=16000, chunk_duration_ms=10)
    await engine.initialize()
    async for ev in engine.start_capture():
        if ev.type == audioengine.AudioEventType.AUDIO_CHUNK:
            send(ev.data)                       # PCM16 bytes of one period
        elif ev.type == audioengine.AudioEventType.VAD_SPEECH_END:
            commit()
    await engine.queue_playback(pcm_bytes)
    r = await engine.interrupt_playback()      # r.played_ms, r.audio_flushed_ms
    await engine.shutdown()

The C++ API is in ``audioengine._core`` under the same names; this package adds the asyncio face: awaitables for
every call that may wait, an async iterator over capture chunks and events, callbacks delivered on the event
loop's thread, and exceptions (``AudioEngineError`` and one subclass per error code).
"""

from __future__ import annotations

from . import _core
from ._errors import (
    AlreadyRunningError,
    AudioEngineError,
    EngineIOError,
    EngineTimeoutError,
    InternalError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidFormatError,
    NotInitializedError,
    NotRunningError,
    QueueFullError,
    ShutdownError,
    UnsupportedError,
)
from ._types import (
    AttrDict,
    AudioEvent,
    AudioEventType,
    VADState,
    VadState,
    Metrics,
)
from .engine import AudioEngine, CaptureStream, CLOCK_MODES, has_default_devices
from .mock import MockAudioEngine, SpeechSegment

# The C++ value types, enums and free functions, as they are.
from ._core import (  # noqa: E402
    AdaptiveModeConfig,
    AudioConfig,
    AudioFileInfo,
    AudioFileReader,
    AudioFileWriter,
    AudioFormat,
    BargeInConfig,
    BargeInRecovery,
    BufferStatus,
    CaptureChunk,
    CaptureDelivery,
    ChunkInfo,
    ClockConfig,
    ClockSource,
    ConfigIssue,
    ConfigUpdate,
    ConversationMetrics,
    ConversationState,
    DeviceConfig,
    DeviceInfo,
    DeviceState,
    DeviceStats,
    DeviceStreamInfo,
    DuplexMode,
    DuplexStreams,
    EndpointConfig,
    EndpointReason,
    EndpointState,
    EngineConfig,
    EngineMetrics,
    Error,
    EventConfig,
    FlushAllResult,
    HostApiInfo,
    InterruptReason,
    InterruptResult,
    LatencyStats,
    MetricsConfig,
    OverflowPolicy,
    PlaybackPriority,
    ProcessingMode,
    ProcessingStage,
    QueueConfig,
    QueueDepths,
    ResamplerKind,
    ResourceStatus,
    SampleType,
    SileroVad,
    SinkConfig,
    SpeechOptions,
    StageTiming,
    StreamBuffer,
    StreamBufferConfig,
    SupportedFormats,
    TurnTakingMode,
    VadAlgorithm,
    VadConfig,
    VadFrame,
    VirtualClockMode,
    WebRtcVad,
    EchoImplementation,
    EchoSuppression,
    EchoGateMode,
    NoiseSuppressionLevel,
    EchoCancellerConfig,
    EchoConfig,
    DuplexMetrics,
    EchoProcessor,
    ALL_MODES,
    MODE_FAST_LANE,
    MODE_QUALITY,
    bytes_per_frame,
    bytes_per_sample,
    decode_samples,
    diff_config,
    encode_samples,
    format_config_issues,
    get_supported_formats,
    list_devices,
    list_host_apis,
    make_custom_event,
    make_event,
    negotiate_format,
    parse_audio_format,
    parse_event_type,
    parse_playback_priority,
    parse_sample_type,
    validate_endpoint_config,
    validate_format,
    validate_vad_config,
)
from ._config import check_config, synthesize_speech, validate_config  # noqa: E402

__version__ = _core.__version__

__all__ = [name for name in dir() if not name.startswith("_")]
