"""AudioEngine for asyncio: the C++ engine's calls as awaitables, capture as an async iterator, events delivered on
the event loop's thread.

Threads: the engine's own threads (ae-audio, ae-events) never run Python except to hand an event or a chunk to the
loop (``loop.call_soon_threadsafe``); every subscriber, sync or async, runs on the loop's thread. Calls that may
wait (queue_playback with a blocking overflow policy, interrupt_playback while ticks run by themselves, advance,
shutdown...) run in a worker thread with the GIL released, so the loop and other Python threads keep running.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import inspect
import logging
import weakref
from typing import Any, Callable, Optional

from . import _core
from ._config import check_config
from ._errors import EngineTimeoutError, NotInitializedError
from ._types import AttrDict, AudioEvent, AudioEventType, Metrics, VADState, metrics_to_dict

log = logging.getLogger("audioengine")

CLOCK_MODES = {
    "inline": _core.VirtualClockMode.INLINE,
    "stepped": _core.VirtualClockMode.STEPPED,
    "free_run": _core.VirtualClockMode.FREE_RUN,
    "realtime": _core.VirtualClockMode.REALTIME,
}

_HISTORY_SIZE = 256
_END = object()  # sentinel closing a capture stream

# Engines still running when the interpreter exits are shut down first: their threads must not try to take the GIL
# of an interpreter that is going away.
_live_cores: "weakref.WeakSet[_core.AudioEngine]" = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    for core in list(_live_cores):
        try:
            core.shutdown(1000)
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


def has_default_devices() -> bool:
    """True when PortAudio reports at least one capture and one playback device on this machine."""
    try:
        devs = _core.list_devices()
    except Exception:  # noqa: BLE001 - no sound system at all
        return False
    return any(d.max_input_channels > 0 for d in devs) and any(d.max_output_channels > 0 for d in devs)


def _event_type(t: Any) -> "_core.AudioEventType":
    if isinstance(t, _core.AudioEventType):
        return t
    if isinstance(t, str):
        return AudioEventType[t.upper()].to_core()
    return AudioEventType(int(t)).to_core()


class _Subscription:
    __slots__ = ("type", "callback", "filter")

    def __init__(self, type_: Optional[AudioEventType], callback: Callable, filter_: Optional[Callable]):
        self.type = type_
        self.callback = callback
        self.filter = filter_


class CaptureStream:
    """What start_capture() returns: an async iterator over AUDIO_CHUNK events (the processed microphone audio,
    one per period) and the engine's events, in the order ae-events delivered them. It ends when
    stop_capture() or shutdown() is called, or when it is closed (``await stream.aclose()``)."""

    def __init__(self, engine: "AudioEngine", include_chunks: bool, event_types):
        self._engine = engine
        self._queue: asyncio.Queue = asyncio.Queue()
        self.include_chunks = include_chunks
        self.event_types = None if event_types is None else {AudioEventType(int(t)) for t in event_types}
        self.closed = False

    def _offer(self, ev: AudioEvent) -> None:
        if self.closed:
            return
        if ev.type == AudioEventType.AUDIO_CHUNK:
            if not self.include_chunks:
                return
        elif self.event_types is not None and ev.type not in self.event_types:
            return
        self._queue.put_nowait(ev)

    def _end(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(_END)

    def __aiter__(self) -> "CaptureStream":
        return self

    async def __anext__(self) -> AudioEvent:
        item = await self._queue.get()
        if item is _END:
            raise StopAsyncIteration
        return item

    def __await__(self):
        # `await engine.start_capture()` also works and gives the stream.
        if False:  # pragma: no cover - makes this a generator
            yield
        return self

    async def aclose(self) -> None:
        self._end()
        self._engine._stream_closed(self)

    def pending(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize()


class AudioEngine:
    """The engine for asyncio code. Construct with create() / create_for_fast_lane(), then ``await initialize()``.

    clock_mode: "realtime" (default; with no sound device the engine captures injected audio and plays into a
    memory sink, both paced in real time), "stepped" and "inline" (ticks only when advance() is awaited: exact and
    as fast as the CPU allows, for tests), "free_run" (ticks back to back).
    """

    def __init__(self, config: Optional["_core.EngineConfig"] = None, *, clock_mode: str = "realtime"):
        cfg = config if config is not None else _core.EngineConfig.fast_lane()
        if clock_mode not in CLOCK_MODES:
            raise ValueError(f"clock_mode = {clock_mode!r}: valid {sorted(CLOCK_MODES)}")
        cfg.clock.virtual_mode = CLOCK_MODES[clock_mode]
        self.clock_mode = clock_mode
        self._core = _core.AudioEngine.create(cfg)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._subs: dict[int, _Subscription] = {}
        self._next_sub_id = 1
        self._waiters: list = []  # (core type, after_sequence, future)
        self._history: collections.deque = collections.deque(maxlen=_HISTORY_SIZE)
        self._endpoint_sequence = 0  # the last ENDPOINT wait_for_endpoint() returned
        self._interrupt_sequence = 0  # the last INTERRUPT wait_for_interrupt() returned
        self._streams: list[CaptureStream] = []
        self._tasks: set = set()
        self._bridge_id = 0
        self._chunk_bridge = False
        # queue_playback calls run here, one at a time, in call order.
        self._playback_executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._closed = False

    # ---- construction -----------------------------------------------------------------------------------------
    @classmethod
    def create(cls, config: Optional["_core.EngineConfig"] = None, *, clock_mode: str = "realtime", **kwargs):
        return cls(config, clock_mode=clock_mode, **kwargs)

    @classmethod
    def create_for_fast_lane(cls, sample_rate: int = 16000, chunk_duration_ms: int = 10,
                             vad_config: Optional["_core.VadConfig"] = None, *, clock_mode: str = "realtime",
                             devices: str = "auto", **kwargs) -> "AudioEngine":
        """The fast-lane preset (SpeexDSP resampling) at ``sample_rate`` Hz with periods of ``chunk_duration_ms``.

        ``devices="auto"`` (with the default real-time clock) opens the default capture and playback devices when
        the machine has both, and otherwise runs on the virtual clock paced in real time, with injected capture
        and a memory sink; ``devices="none"`` always does the latter, ``devices="default"`` insists on devices
        (initialize() raises when they cannot be opened)."""
        if devices not in ("auto", "none", "default"):
            raise ValueError(f"devices={devices!r}: valid are 'auto', 'none', 'default'")
        cfg = _core.EngineConfig.fast_lane()
        cfg.audio.sample_rate_hz = sample_rate
        cfg.audio.chunk_duration_ms = chunk_duration_ms
        if vad_config is not None:
            cfg.vad = vad_config
        use_devices = devices == "default" or (devices == "auto" and clock_mode == "realtime" and has_default_devices())
        if use_devices:
            cfg.clock.source = _core.ClockSource.DEVICE
        engine = cls(cfg, clock_mode=clock_mode, **kwargs)
        engine._devices_requested = devices
        return engine

    @property
    def core(self) -> "_core.AudioEngine":
        """The C++ engine (audioengine._core.AudioEngine), for calls that need no event loop."""
        return self._core

    # ---- lifecycle --------------------------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Validates the config (InvalidConfigError naming every bad field), allocates, and starts the clock and
        the event dispatcher (C++ initialize() + start()). Idempotent."""
        check_config(self._core.config())
        self._loop = asyncio.get_running_loop()
        self._closed = False
        if not self._core.is_initialized():
            self._endpoint_sequence = 0  # a new event bus numbers from the start
        self._core.initialize()
        self._install_bridge()
        try:
            await self._in_thread(self._core.start)
        except Exception as err:  # noqa: BLE001 - a device that will not open, with devices="auto"
            if self._core.config().clock.source != _core.ClockSource.DEVICE or \
                    getattr(self, "_devices_requested", "none") != "auto":
                raise
            log.warning("audioengine: the default devices could not be opened (%s); running without them", err)
            await self._in_thread(self._core.shutdown, -1)
            cfg = self._core.config()
            cfg.clock.source = _core.ClockSource.VIRTUAL
            self._core.update_config(cfg)
            self._core.initialize()
            self._install_bridge()
            await self._in_thread(self._core.start)
        _live_cores.add(self._core)
        status = self._core.get_resource_status()
        if status.clock == _core.ClockSource.VIRTUAL and self.clock_mode == "realtime":
            log.info("audioengine: no audio device in use: capture comes from inject_test_audio() and playback "
                     "goes to a %s sink, both paced in real time (%d Hz, %d ms periods)", status.sink,
                     self._core.sample_rate_hz(), self._core.config().audio.chunk_duration_ms)

    async def start(self) -> None:
        """Starts the clock and the dispatcher (initializes first if needed). Idempotent."""
        await self.initialize()

    async def shutdown(self, timeout_ms: int = -1) -> None:
        """Ends capture streams, stops the engine's threads and releases its buffers. Idempotent."""
        for s in list(self._streams):
            s._end()
        self._streams.clear()
        self._chunk_bridge = False
        # The event bridge stays subscribed: C++ subscriptions survive shutdown() and initialize().
        await self._in_thread(self._core.shutdown, timeout_ms)
        _live_cores.discard(self._core)
        for _, _, fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()
        if self._playback_executor is not None:
            self._playback_executor.shutdown(wait=False)
            self._playback_executor = None
        self._closed = True

    async def reset(self) -> None:
        await self._in_thread(self._core.reset)

    async def __aenter__(self) -> "AudioEngine":
        await self.initialize()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.shutdown()

    def get_resource_status(self) -> "_core.ResourceStatus":
        return self._core.get_resource_status()

    def is_initialized(self) -> bool:
        return self._core.is_initialized()

    def is_running(self) -> bool:
        return self._core.is_running()

    # ---- configuration ----------------------------------------------------------------------------------------
    @property
    def config(self) -> "_core.EngineConfig":
        """A copy of the engine's config (change it and pass it to update_config)."""
        return self._core.config()

    def update_config(self, config: "_core.EngineConfig") -> "_core.ConfigUpdate":
        check_config(config)
        return self._core.update_config(config)

    def configure_fast_lane(self, max_latency_ms: int, vad_threshold: float, interrupt_threshold_ms: int) -> None:
        self._core.configure_fast_lane(max_latency_ms, vad_threshold, interrupt_threshold_ms)

    # ---- processing modes and offline processing ---------------------------------------------------------------
    # Processors run on the audio thread, where a Python callback cannot run (it would take the GIL): Python adds
    # the engine's own C++ processors (add_echo_processor), arbitrary ones are added from C++ (add_processor).
    def add_echo_processor(self, config: "_core.EchoCancellerConfig",
                           stage: "_core.ProcessingStage" = _core.ProcessingStage.CAPTURE_PRE,
                           modes: int = _core.ALL_MODES) -> int:
        """Adds the echo canceller / NS / AGC processor for ``config`` to the chain; returns its id. ``modes``:
        MODE_FAST_LANE | MODE_QUALITY (the routings it runs in)."""
        return self._core.add_echo_processor(config, stage, modes)

    async def enable_echo_cancellation(self, config: Optional["_core.EchoCancellerConfig"] = None) -> None:
        """Echo cancellation (with the noise suppressor, AGC and high-pass filter ``config`` enables) on the
        capture path, against this tick's playback: the processor is built and prepared here and installed at the
        capture-pre stage; a second call replaces it. Works before and after initialize(); config.echo follows.
        InvalidArgumentError for a bad field, UnsupportedError for an implementation or engine rate the
        processor cannot run (WebRTC: 8000 and 16000 Hz)."""
        await self._in_thread(self._core.enable_echo_cancellation,
                              config if config is not None else _core.EchoCancellerConfig())

    async def disable_echo_cancellation(self, timeout_ms: int = 1000) -> None:
        """Removes the echo processor (a fade-out while ticks run); nothing to do when it is off."""
        await self._in_thread(self._core.disable_echo_cancellation, timeout_ms)

    def is_echo_cancellation_enabled(self) -> bool:
        return self._core.is_echo_cancellation_enabled()

    def get_duplex_metrics(self) -> "_core.DuplexMetrics":
        """The echo processor's measurements: erle_db, delay_ms (-1 before an estimate), double_talk_fraction,
        far_end_active_fraction, frames. NotInitializedError while echo cancellation is off."""
        return self._core.get_duplex_metrics()

    async def remove_processor(self, processor_id: int, timeout_ms: int = 1000) -> None:
        """Fades the processor out and drops it (InvalidArgumentError for an unknown id)."""
        await self._in_thread(self._core.remove_processor, processor_id, timeout_ms)

    def set_processor_bypass(self, processor_id: int, bypass: bool) -> None:
        self._core.set_processor_bypass(processor_id, bypass)

    def set_mode(self, mode: "_core.ProcessingMode") -> None:
        """FAST_LANE, QUALITY or ADAPTIVE; applied at the next tick boundary, with crossfades."""
        self._core.set_mode(mode)

    def get_mode(self) -> "_core.ProcessingMode":
        return self._core.get_mode()

    def get_active_routing(self) -> "_core.ProcessingMode":
        """FAST_LANE or QUALITY: what the audio thread runs now (adaptive mode's current choice)."""
        return self._core.get_active_routing()

    def optimize_for_latency(self) -> None:
        self._core.optimize_for_latency()

    def optimize_for_quality(self) -> None:
        self._core.optimize_for_quality()

    def force_fast_lane(self) -> None:
        """The fast lane with adaptive switching off."""
        self._core.force_fast_lane()

    def enable_adaptive_mode(self, config: Optional["_core.AdaptiveModeConfig"] = None) -> None:
        """Adaptive mode (InvalidConfigError naming a bad field of ``config``)."""
        self._core.enable_adaptive_mode(config if config is not None else _core.AdaptiveModeConfig())

    def process_audio(self, samples, render=None) -> bytes:
        """The capture stages over held mono audio at the engine rate (float32 or int16 array; ``render``, the
        speaker signal of the same instants, as long or None); returns float32 bytes. Between ticks only."""
        return self._core.process_audio(samples, render)

    async def process_audio_async(self, samples, render=None) -> bytes:
        """process_audio off the event loop."""
        return await self._in_thread(self._core.process_audio, samples, render)

    # ---- clock ------------------------------------------------------------------------------------------------
    async def advance(self, duration_ms: int) -> None:
        """stepped / inline clock: runs ``duration_ms`` of ticks, then lets every event they produced reach the
        subscribers before returning."""
        await self._in_thread(self._core.advance, duration_ms)
        await self.wait_until_dispatched()

    async def advance_ticks(self, num_ticks: int) -> None:
        await self._in_thread(self._core.advance_ticks, num_ticks)
        await self.wait_until_dispatched()

    def now_samples(self) -> int:
        return self._core.now_samples()

    def now_ms(self) -> float:
        return self._core.now_ms()

    def period_frames(self) -> int:
        return self._core.period_frames()

    def sample_rate_hz(self) -> int:
        return self._core.sample_rate_hz()

    # ---- devices ----------------------------------------------------------------------------------------------
    def set_capture_device(self, id_or_name: str) -> None:
        """Capture device by id or name ("" = the host API's default) for the next start."""
        self._core.set_capture_device(id_or_name)

    def set_playback_device(self, id_or_name: str) -> None:
        self._core.set_playback_device(id_or_name)

    def set_duplex_mode(self, mode: "_core.DuplexMode") -> None:
        self._core.set_duplex_mode(mode)

    async def start_full_duplex(self) -> "_core.DuplexStreams":
        """Starts the engine on the devices of config.device (device clock) and returns the streams as opened.
        Raises the AudioEngineError subclass of the device layer's error (InvalidArgumentError for a device that
        does not exist, UnsupportedError, EngineIOError)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        streams = await self._in_thread(self._core.start_full_duplex)
        self._closed = False
        self._install_bridge()
        _live_cores.add(self._core)
        return streams

    def get_device_streams(self) -> "_core.DuplexStreams":
        return self._core.get_device_streams()

    def get_device_stats(self) -> "_core.DeviceStats":
        return self._core.get_device_stats()

    # ---- capture ----------------------------------------------------------------------------------------------
    def start_capture(self, *, include_chunks: bool = True, event_types=None) -> CaptureStream:
        """Starts capture and returns an async iterator of AUDIO_CHUNK events (``.data``: bytes) and engine events
        (``event_types`` limits those; None: all). While any stream is open, chunks go to the streams instead of
        try_read_chunk()."""
        self._require_loop("start_capture")
        self._core.start_capture()
        stream = CaptureStream(self, include_chunks, event_types)
        self._streams.append(stream)
        if include_chunks and not self._chunk_bridge:
            self._install_chunk_bridge()
        return stream

    def stop_capture(self) -> None:
        """Stops the chunks and ends every capture stream (ticks, VAD and playback go on)."""
        self._core.stop_capture()
        for s in list(self._streams):
            s._end()
        self._streams.clear()
        self._remove_chunk_bridge()

    def is_capturing(self) -> bool:
        return self._core.is_capturing()

    def inject_test_audio(self, data, format: Optional["_core.AudioFormat"] = None) -> None:
        """Makes ``data`` (any buffer: bytes, bytearray, memoryview, numpy array) the next microphone input, consumed
        one period per tick. format None: PCM16 mono at the engine rate, or float32 for float32 arrays."""
        self._core.inject_test_audio(data, format)

    def try_read_chunk(self) -> Optional["_core.CaptureChunk"]:
        return self._core.try_read_chunk()

    async def read_chunk(self, timeout_ms: int) -> Optional["_core.CaptureChunk"]:
        return await self._in_thread(self._core.read_chunk, timeout_ms)

    def set_chunk_callback(self, callback: Optional[Callable]) -> None:
        """callback(data: bytes, info: ChunkInfo), called on the loop's thread for every chunk (None removes it).
        Replaces the capture streams' delivery; prefer start_capture()."""
        self._require_loop("set_chunk_callback")
        if callback is None:
            self._core.set_chunk_callback(None)
            return
        loop = self._loop

        def bridge(data: bytes, info) -> None:
            try:
                loop.call_soon_threadsafe(callback, data, info)
            except RuntimeError:
                pass  # the loop is closed

        self._core.set_chunk_callback(bridge)

    # ---- playback ---------------------------------------------------------------------------------------------
    async def queue_playback(self, data, item_id: int = 0, format: Optional["_core.AudioFormat"] = None,
                             priority: "_core.PlaybackPriority" = _core.PlaybackPriority.NORMAL) -> None:
        """Queues AI audio (any buffer; default format: the engine rate, mono, config.audio.playback_sample_type,
        or the array's own int16 / float32 type). Calls run in order, off the loop: a full queue with the
        block-producer policy waits without blocking the loop (QueueFullError after queues.block_timeout_ms).
        ``priority=PlaybackPriority.REPLACE`` cuts what plays and what is queued first (INTERRUPT, reason flush)
        and plays this item next: give it an id of its own. ``NEXT`` plays the item right after the one playing,
        ahead of the queue; ``INTERJECT`` holds the playing item (PLAYBACK_PAUSED after a short fade), plays this
        one, then resumes the held item exactly where it stopped (PLAYBACK_RESUMED). Both keep the queued answer
        and its order; later audio for the same item_id stays with the urgent item whatever its priority. An
        interruption while the urgent item plays cuts both (see interrupt_playback)."""
        if self._playback_executor is None:
            self._playback_executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ae-py-playback")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._playback_executor, self._core.queue_playback, data, item_id, format,
                                   priority)

    async def play_audio(self, data, item_id: int = 0) -> None:
        """queue_playback that also resumes output after stop_playback()."""
        await self._in_thread(self._core.play_audio, data, item_id)

    def play_audio_sync(self, data, item_id: int = 0) -> bool:
        """Never waits: True when all of ``data`` was queued, False (nothing queued) otherwise."""
        return self._core.play_audio_sync(data, item_id)

    def stop_playback(self) -> None:
        self._core.stop_playback()

    def flush_playback_queue(self) -> int:
        return self._core.flush_playback_queue()

    def flush_all_queues(self) -> "_core.FlushAllResult":
        return self._core.flush_all_queues()

    async def interrupt_playback(self, reason: "_core.InterruptReason" = _core.InterruptReason.USER,
                                 timeout_ms: int = 1000) -> "_core.InterruptResult":
        """Stops the AI now. The result says exactly what was heard: ``played_ms`` of item ``item_id`` reached
        the sink (on a device they all play out: truncate the item's transcript there), ``audio_flushed_ms`` was
        discarded; ``heard_at_decision_ms`` had reached the DAC when the cut was decided, ``in_device_samples``
        were still on their way, and the speaker goes silent at ``output_silent_at_samples``. During an INTERJECT
        item, ``item_id`` is that item and ``held_item_id`` / ``held_played_ms`` the answer it was holding (cut
        too)."""
        return await self._in_thread(self._core.interrupt_playback, reason, timeout_ms)

    def is_playing_audio(self) -> bool:
        return self._core.is_playing_audio()

    async def wait_for_interrupt(self, timeout_ms: Optional[int] = None) -> AttrDict:
        """The next INTERRUPT not yet returned by this method (those already delivered count: each is returned
        once, in order), with the fields of InterruptResult: item_id, played_samples / played_ms (exact, at the
        sink), flushed_samples / audio_flushed_ms, at_sample, reason, was_playing, heard_at_decision_samples /
        heard_at_decision_ms, in_device_samples, output_silent_at_samples. Raises EngineTimeoutError after
        ``timeout_ms`` (None: no limit)."""
        ev = await self.wait_for_event(AudioEventType.INTERRUPT, timeout_ms, after_sequence=self._interrupt_sequence)
        if ev is None:
            raise EngineTimeoutError(f"wait_for_interrupt: no INTERRUPT within {timeout_ms} ms")
        self._interrupt_sequence = max(self._interrupt_sequence, ev.sequence)
        d = AttrDict(ev.data)
        d["at_sample"] = ev.t_samples
        d["was_playing"] = d.played_samples > 0 or d.flushed_samples > 0
        return d

    async def drain_queues(self, timeout_ms: int = 5000) -> None:
        """Waits until the playback queue is empty and the sink received its last sample; EngineTimeoutError
        otherwise (at once on a clock that moves only on advance())."""
        await self._in_thread(self._core.drain_queues, timeout_ms)

    def is_playback_paused(self) -> bool:
        """A suspected barge-in holds the AI (barge_in.recovery = PAUSE)."""
        return self._core.is_playback_paused()

    # ---- conversation and barge-in ----------------------------------------------------------------------------
    def get_conversation_state(self) -> "_core.ConversationState":
        """IDLE, USER_SPEAKING, AI_SPEAKING or OVERLAP, as of the last tick."""
        return self._core.get_conversation_state()

    def set_turn_taking_mode(self, mode: "_core.TurnTakingMode") -> None:
        """AUTOMATIC (the VAD gives the user's turn) or MANUAL (push-to-talk)."""
        self._core.set_turn_taking_mode(mode)

    def get_turn_taking_mode(self) -> "_core.TurnTakingMode":
        return self._core.get_turn_taking_mode()

    def set_push_to_talk(self, pressed: bool) -> None:
        """MANUAL mode's talk button: pressed over the AI it is a barge-in; released it ends the utterance."""
        self._core.set_push_to_talk(pressed)

    def is_push_to_talk_pressed(self) -> bool:
        return self._core.is_push_to_talk_pressed()

    async def wait_for_turn_change(self, timeout_ms: Optional[int] = None) -> "_core.ConversationState":
        """The new state of the next TURN_CHANGED delivered after the call. Raises EngineTimeoutError after
        ``timeout_ms`` (None: no limit)."""
        after = max((ev.sequence for ev in self._history), default=0)
        ev = await self.wait_for_event(AudioEventType.TURN_CHANGED, timeout_ms, after_sequence=after)
        if ev is None:
            raise EngineTimeoutError(f"wait_for_turn_change: no TURN_CHANGED within {timeout_ms} ms")
        return ev.data.to

    async def force_turn_change(self, to: "_core.ConversationState", timeout_ms: int = 1000) -> "_core.ConversationState":
        """Gives the floor as ``to`` says (see the C++ force_turn_change); returns the state after the change."""
        return await self._in_thread(self._core.force_turn_change, to, timeout_ms)

    def get_conversation_metrics(self) -> "_core.ConversationMetrics":
        """Turns, overlaps, interruptions, false interruptions, response and interrupt latency."""
        return self._core.get_conversation_metrics()

    def get_interrupt_latency(self) -> "_core.LatencyStats":
        """From the onset of the speech that confirmed a barge-in to the first silent output sample."""
        return self._core.get_interrupt_latency()

    def enable_barge_in_detection(self, config: Any = True) -> None:
        """True / False, or a BargeInConfig (thresholds, fade_out_ms, recovery PAUSE / DUCK...)."""
        self._core.enable_barge_in_detection(config)

    def set_interrupt_threshold(self, min_speech_ms: int, probability_threshold: float = 0.5) -> None:
        """Barge-in after ``min_speech_ms`` of speech at VAD probability >= ``probability_threshold``."""
        self._core.set_interrupt_threshold(min_speech_ms, probability_threshold)

    def get_queue_depths(self) -> "_core.QueueDepths":
        return self._core.get_queue_depths()

    def read_played_audio(self, max_samples: int) -> bytes:
        """The memory sink's output (float32 mono at the engine rate, silence included), oldest first."""
        return self._core.read_played_audio(max_samples)

    def read_played_audio_into(self, out) -> int:
        return self._core.read_played_audio_into(out)

    def played_samples_total(self) -> int:
        return self._core.played_samples_total()

    # ---- stream buffers ---------------------------------------------------------------------------------------
    def create_stream_buffer(self, config: "_core.StreamBufferConfig") -> int:
        return self._core.create_stream_buffer(config)

    def get_stream_buffer(self, buffer_id: int) -> "_core.StreamBuffer":
        return self._core.get_stream_buffer(buffer_id)

    def get_buffer_status(self, buffer_id: int) -> "_core.BufferStatus":
        return self._core.get_buffer_status(buffer_id)

    def flush_buffers(self) -> int:
        return self._core.flush_buffers()

    async def wait_for_buffer_ready(self, buffer_id: int, timeout_ms: int) -> None:
        await self._in_thread(self._core.wait_for_buffer_ready, buffer_id, timeout_ms)

    # ---- VAD --------------------------------------------------------------------------------------------------
    def get_vad_state(self) -> VADState:
        return VADState(int(self._core.get_vad_state()))

    def get_vad_probability(self) -> float:
        return self._core.get_vad_probability()

    # enable_vad / disable_vad switch the live capture VAD and the held-audio stream (process_vad) together.
    # Analysis of a long buffer takes CPU time, so process_vad is awaitable and runs off the loop.
    async def enable_vad(self, config: "_core.VadConfig") -> None:
        """Turns the VAD on with ``config``: on the capture path (a new detector, swapped in at the next tick
        boundary) and for process_vad(). Silero loads its model here (EngineIOError when missing)."""
        await self._in_thread(self._core.enable_vad, config)

    def disable_vad(self) -> None:
        """Turns the capture VAD off (no VAD, ENDPOINT or barge-in) and drops the process_vad() stream."""
        self._core.disable_vad()

    async def process_vad(self, samples) -> list:
        """Mono samples at the engine rate (float32 buffer or int16 array), continuing earlier calls' timeline;
        returns the VadFrame records completed by this call."""
        return await self._in_thread(self._core.process_vad, samples)

    def get_vad_events(self) -> list:
        """VAD_SPEECH_START / VAD_SPEECH_END / ENDPOINT decided by process_vad() since the last call, as
        AudioEvent (timed on the process_vad() timeline)."""
        return [AudioEvent.from_core(ev) for ev in self._core.get_vad_events()]

    # Endpointing acts on the capture path once initialized (ENDPOINT events on the bus and in start_capture()'s
    # iterator) and on the process_vad() stream while one is enabled.
    def configure_endpointing(self, config: "_core.EndpointConfig") -> None:
        """Replaces the endpoint config (hot). InvalidConfigError names the field; NotInitializedError before
        initialize() and enable_vad()."""
        self._core.configure_endpointing(config)

    def set_endpoint_timeout(self, timeout_ms: int) -> None:
        """The silence timeout from the next tick on (clamped to 100..10000 ms); the utterance in progress goes
        on under it."""
        self._core.set_endpoint_timeout(timeout_ms)

    def force_endpoint(self, timeout_ms: int = 1000) -> bool:
        """Ends the utterance in progress now with an ENDPOINT (reason FORCED); False when there is none."""
        return self._core.force_endpoint(timeout_ms)

    def get_endpoint_state(self) -> "_core.EndpointState":
        return self._core.get_endpoint_state()

    async def wait_for_endpoint(self, timeout_ms: Optional[int] = None) -> AudioEvent:
        """The next ENDPOINT of the capture path not yet returned by this method (those already delivered count:
        each is returned once, in order). ``ev.data``: reason, speech_start_sample / speech_end_sample (the
        utterance), padded_start_sample. Raises EngineTimeoutError after ``timeout_ms`` (None: no limit)."""
        ev = await self.wait_for_event(AudioEventType.ENDPOINT, timeout_ms, after_sequence=self._endpoint_sequence)
        if ev is None:
            raise EngineTimeoutError(f"wait_for_endpoint: no ENDPOINT within {timeout_ms} ms")
        self._endpoint_sequence = max(self._endpoint_sequence, ev.sequence)
        return ev

    # ---- events -----------------------------------------------------------------------------------------------
    def subscribe(self, type: Any, callback: Callable, filter: Optional[Callable] = None) -> int:
        """callback(event: AudioEvent) for every event of ``type``, on the event loop's thread. A coroutine function
        (or a callback returning an awaitable) runs as a task. ``filter(event) -> bool`` selects events first.
        Returns the subscription id (for unsubscribe). Valid before initialize() too."""
        return self._add_subscription(AudioEventType(int(_event_type(type))), callback, filter)

    def subscribe_all(self, callback: Callable, filter: Optional[Callable] = None) -> int:
        return self._add_subscription(None, callback, filter)

    def unsubscribe(self, subscription_id: int) -> bool:
        return self._subs.pop(subscription_id, None) is not None

    async def wait_for_event(self, type: Any, timeout_ms: Optional[int] = None,
                             after_sequence: Optional[int] = None) -> Optional[AudioEvent]:
        """The first event of ``type`` with a sequence above ``after_sequence`` (any, when None), looking first at
        the events already delivered (the last 256); None after ``timeout_ms`` (None: no limit)."""
        core_type = AudioEventType(int(_event_type(type)))
        for ev in self._history:
            if ev.type == core_type and (after_sequence is None or ev.sequence > after_sequence):
                return ev
        self._require_loop("wait_for_event")
        fut = self._loop.create_future()
        entry = (core_type, after_sequence, fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, None if timeout_ms is None else timeout_ms / 1000.0)
        except asyncio.TimeoutError:
            return None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def emit_event(self, event: Any) -> None:
        """Publishes the orchestrator's own event (a _core.AudioEvent, e.g. make_custom_event(code, value, text),
        or an AudioEventType for an event without data) in order with the engine's."""
        if not isinstance(event, _core.AudioEvent):
            event = _core.make_event(_event_type(event))
        self._core.emit_event(event)

    async def wait_until_dispatched(self, timeout_ms: int = 2000) -> bool:
        """Waits until every event published so far reached the subscribers (sync callbacks have run)."""
        ok = await self._in_thread(self._core.wait_until_dispatched, timeout_ms)
        await self._drain_loop()
        return ok

    # ---- metrics ----------------------------------------------------------------------------------------------
    def get_metrics(self) -> Metrics:
        """Every counter and stage timing as a dict (keys also read as attributes)."""
        return metrics_to_dict(self._core.get_metrics())

    def export_metrics(self) -> str:
        """The metrics as a JSON object."""
        return self._core.export_metrics()

    # ---- internals --------------------------------------------------------------------------------------------
    def _require_loop(self, what: str) -> None:
        if self._loop is None or self._closed:
            raise NotInitializedError(f"{what}: call 'await initialize()' first")

    async def _in_thread(self, fn: Callable, *args):
        # The binding releases the GIL; the default executor keeps the loop free meanwhile.
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def _drain_loop(self) -> None:
        # Lets handles scheduled with call_soon_threadsafe before now run, then the tasks they started.
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, None)
        await fut
        await asyncio.sleep(0)

    def _add_subscription(self, type_, callback, filter_) -> int:
        sub_id = self._next_sub_id
        self._next_sub_id += 1
        self._subs[sub_id] = _Subscription(type_, callback, filter_)
        return sub_id

    def _install_bridge(self) -> None:
        if self._bridge_id:
            return
        loop = self._loop
        ref = weakref.WeakMethod(self._deliver)

        def bridge(ev) -> None:  # ae-events, GIL held: schedule only
            deliver = ref()
            if deliver is None:
                return
            try:
                loop.call_soon_threadsafe(deliver, ev)
            except RuntimeError:
                pass  # the loop is closed

        self._bridge_id = self._core.subscribe_all(bridge)

    def _install_chunk_bridge(self) -> None:
        loop = self._loop
        ref = weakref.WeakMethod(self._deliver_chunk)

        def bridge(data: bytes, info) -> None:  # ae-events, GIL held: schedule only
            deliver = ref()
            if deliver is None:
                return
            try:
                loop.call_soon_threadsafe(deliver, data, info)
            except RuntimeError:
                pass

        self._core.set_chunk_callback(bridge)
        self._chunk_bridge = True

    def _remove_chunk_bridge(self) -> None:
        if self._chunk_bridge:
            self._core.set_chunk_callback(None)
            self._chunk_bridge = False

    def _stream_closed(self, stream: CaptureStream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)
        if not any(s.include_chunks for s in self._streams):
            self._remove_chunk_bridge()

    def _deliver_chunk(self, data: bytes, info) -> None:
        if self._closed:
            return
        ev = AudioEvent.from_chunk(data, info)
        for s in self._streams:
            s._offer(ev)

    def _deliver(self, core_event) -> None:
        # The loop's thread: one engine event to streams, waiters and subscribers.
        if self._closed:
            return
        ev = AudioEvent.from_core(core_event)
        self._history.append(ev)
        for s in self._streams:
            s._offer(ev)
        for entry in list(self._waiters):
            t, after, fut = entry
            if t == ev.type and (after is None or ev.sequence > after) and not fut.done():
                fut.set_result(ev)
                self._waiters.remove(entry)
        for sub in list(self._subs.values()):
            if sub.type is not None and sub.type != ev.type:
                continue
            try:
                if sub.filter is not None and not sub.filter(ev):
                    continue
                result = sub.callback(ev)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._task_done)
            except Exception:  # noqa: BLE001 - one subscriber must not stop the others
                log.exception("audioengine: subscriber for %s raised", ev.type.name)

    def _task_done(self, task: "asyncio.Task") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("audioengine: async subscriber raised", exc_info=task.exception())
