"""MockAudioEngine: the real engine on the virtual clock, for orchestrator tests.

Time only moves when the test awaits advance(): everything is exact in samples and runs as fast as the CPU allows.
The user is simulated with speech synthesized by espeak-ng (simulate_user_speech), the speech API's network with a
delay on the audio the orchestrator queues (simulate_network_delay), and anything else with actions scripted at
engine times (schedule / script).
"""

from __future__ import annotations

import array
import heapq
import inspect
import itertools
import math
from dataclasses import dataclass
from typing import Any, Optional

from . import _core
from ._errors import InvalidArgumentError
from .engine import AudioEngine


@dataclass(frozen=True)
class SpeechSegment:
    """Where simulated speech sits on the engine timeline."""

    text: str
    start_sample: int      # first sample of the speech
    num_samples: int       # speech only
    end_sample: int        # start_sample + num_samples
    trailing_silence_samples: int
    sample_rate_hz: int

    @property
    def start_ms(self) -> float:
        return 1000.0 * self.start_sample / self.sample_rate_hz

    @property
    def end_ms(self) -> float:
        return 1000.0 * self.end_sample / self.sample_rate_hz

    @property
    def duration_ms(self) -> float:
        return 1000.0 * self.num_samples / self.sample_rate_hz


class MockAudioEngine(AudioEngine):
    """AudioEngine on the virtual clock ("stepped" by default, or "inline"), with simulated users and network."""

    def __init__(self, config: Optional["_core.EngineConfig"] = None, *, sample_rate: int = 16000,
                 chunk_duration_ms: int = 10, vad_config: Optional["_core.VadConfig"] = None,
                 clock_mode: str = "stepped"):
        if clock_mode not in ("stepped", "inline"):
            raise ValueError(f"clock_mode = {clock_mode!r}: valid 'stepped' or 'inline' (time moves on advance())")
        if config is None:
            config = _core.EngineConfig.fast_lane()
            config.audio.sample_rate_hz = sample_rate
            config.audio.chunk_duration_ms = chunk_duration_ms
            if vad_config is not None:
                config.vad = vad_config
            # Whole utterances are injected at once and the test reads the sink when it likes.
            config.queues.capture_capacity_ms = 60000
            config.sink.memory_capacity_ms = 120000
        super().__init__(config, clock_mode=clock_mode)
        self._network_delay_ms = 0
        self._schedule: list = []  # heap of (at_sample, order, action)
        self._order = itertools.count()

    # ---- simulated user ---------------------------------------------------------------------------------------
    async def simulate_user_speech(self, text: str, *, voice: str = "en", words_per_minute: int = 175,
                                   pitch: int = 50, trailing_silence_ms: Optional[int] = None,
                                   advance: bool = True) -> SpeechSegment:
        """Synthesizes ``text`` (espeak-ng), makes it the next microphone input followed by silence, and (advance)
        runs the clock through both so the VAD's speech start and end, and the ENDPOINT, have happened when it
        returns. trailing_silence_ms defaults to the endpoint's silence timeout (adaptive_max_timeout_ms when the
        timeout is adaptive) + one period when endpoint.enabled, else vad.min_silence_ms + 100 ms."""
        rate = self.sample_rate_hz()
        opts = _core.SpeechOptions()
        opts.voice, opts.words_per_minute, opts.pitch, opts.sample_rate_hz = voice, words_per_minute, pitch, rate
        speech = _core.synthesize_speech(text, opts)
        if trailing_silence_ms is None:
            trailing_silence_ms = self._default_trailing_silence_ms()
        silence_samples = rate * trailing_silence_ms // 1000
        start = self.now_samples() + self.get_queue_depths().capture_samples
        self.inject_test_audio(speech + bytes(4 * silence_samples), _core.AudioFormat(rate, 1, _core.SampleType.FLOAT32))
        n = len(speech) // 4
        seg = SpeechSegment(text, start, n, start + n, silence_samples, rate)
        if advance:
            end = seg.end_sample + silence_samples
            await self.advance_to_sample(end)
        return seg

    async def simulate_cough(self, duration_ms: int = 120, *, amplitude: float = 0.5,
                             trailing_silence_ms: int = 1000, advance: bool = True) -> SpeechSegment:
        """A short non-speech burst (a cough, a "hm") as the next microphone input: a 440 Hz tone of
        ``duration_ms`` followed by silence, for false-interruption tests (barge_in.recovery). Returns where the
        burst sits; (advance) runs the clock through it and the silence."""
        rate = self.sample_rate_hz()
        n = rate * duration_ms // 1000
        silence_samples = rate * trailing_silence_ms // 1000
        burst = array.array("f", (amplitude * math.sin(2.0 * math.pi * 440.0 * i / rate) for i in range(n)))
        burst.extend(array.array("f", bytes(4 * silence_samples)))
        start = self.now_samples() + self.get_queue_depths().capture_samples
        self.inject_test_audio(burst.tobytes(), _core.AudioFormat(rate, 1, _core.SampleType.FLOAT32))
        seg = SpeechSegment("<cough>", start, n, start + n, silence_samples, rate)
        if advance:
            await self.advance_to_sample(seg.end_sample + silence_samples)
        return seg

    def _default_trailing_silence_ms(self) -> int:
        cfg = self.config
        after_speech = cfg.vad.min_silence_ms + 100
        if not cfg.endpoint.enabled:
            return after_speech
        ep = cfg.endpoint
        timeout = max(ep.silence_timeout_ms, ep.adaptive_max_timeout_ms) if ep.adaptive else ep.silence_timeout_ms
        return max(after_speech, timeout + cfg.audio.chunk_duration_ms)

    # ---- simulated network ------------------------------------------------------------------------------------
    def simulate_network_delay(self, delay_ms: int) -> None:
        """From now on, audio given to queue_playback() reaches the engine ``delay_ms`` later on the engine
        timeline (0 turns it off)."""
        if delay_ms < 0:
            raise InvalidArgumentError(f"simulate_network_delay: delay_ms = {delay_ms}; valid: >= 0")
        self._network_delay_ms = delay_ms

    async def queue_playback(self, data, item_id: int = 0, format: Optional["_core.AudioFormat"] = None,
                             priority: "_core.PlaybackPriority" = _core.PlaybackPriority.NORMAL) -> None:
        if self._network_delay_ms == 0:
            await super().queue_playback(data, item_id, format, priority)
            return
        payload = bytes(memoryview(data).cast("B"))
        due = self.now_samples() + self._network_delay_ms * self.sample_rate_hz() // 1000

        async def arrive() -> None:
            await AudioEngine.queue_playback(self, payload, item_id, format, priority)

        self.schedule_at_sample(due, arrive)

    # ---- scripted actions -------------------------------------------------------------------------------------
    def schedule(self, at_ms: float, action: Any) -> None:
        """Runs ``action`` when the timeline reaches ``at_ms`` (rounded up to a period boundary): a callable (sync
        or async), an AudioEventType to emit, or a _core.AudioEvent to emit."""
        self.schedule_at_sample(int(round(at_ms * self.sample_rate_hz() / 1000.0)), action)

    def schedule_at_sample(self, at_sample: int, action: Any) -> None:
        heapq.heappush(self._schedule, (at_sample, next(self._order), action))

    def script(self, steps) -> None:
        """Schedules several actions: an iterable of (at_ms, action)."""
        for at_ms, action in steps:
            self.schedule(at_ms, action)

    def pending_actions(self) -> int:
        return len(self._schedule)

    # ---- the clock --------------------------------------------------------------------------------------------
    async def advance(self, duration_ms: int) -> None:
        """Runs ``duration_ms`` of ticks, stopping at every scripted action's time to run it."""
        await self.advance_to_sample(self.now_samples() + duration_ms * self.sample_rate_hz() // 1000)

    async def advance_to_sample(self, target_sample: int) -> None:
        period = self.period_frames()
        while True:
            due = self._schedule[0][0] if self._schedule else None
            if due is not None and due <= self.now_samples():
                _, _, action = heapq.heappop(self._schedule)
                await self._run_action(action)
                continue
            stop = target_sample if due is None else min(due, target_sample)
            ticks = -(-(stop - self.now_samples()) // period)  # whole periods, rounded up
            if ticks <= 0:
                break
            await AudioEngine.advance_ticks(self, ticks)
        await self.wait_until_dispatched()

    async def _run_action(self, action: Any) -> None:
        if isinstance(action, _core.AudioEvent) or isinstance(action, (_core.AudioEventType, int)):
            self.emit_event(action)
            return
        if callable(action):
            result = action()
            if inspect.isawaitable(result):
                await result
            return
        raise InvalidArgumentError(f"scripted action {action!r}: valid a callable, an AudioEventType or an AudioEvent")


__all__ = ["MockAudioEngine", "SpeechSegment"]
