"""Endpointing, speech-only delivery and VAD on/off on the live capture path, from Python, exact on the virtual
clock: tone bursts over a quiet background, cut on the 10 ms period grid, so the energy VAD is exact."""

import array
import asyncio
import math

import pytest

import audioengine as ae
from conftest import PERIOD, RATE

T = ae.AudioEventType
CONFIRM = 1120        # min_speech 64 ms in whole periods
TIMEOUT = 12800       # endpoint.silence_timeout_ms 800
PAD = 4800            # vad.prefix_padding_ms 300


def ms(v):
    return v * RATE // 1000


def pattern(*runs_ms):
    """Alternating background / tone runs (ms), starting with background: (samples, [(start, end)] of the tones)."""
    out, bursts, tone, seed = [], [], False, 7
    for run in runs_ms:
        start = len(out)
        for i in range(ms(run)):
            seed = (seed * 1664525 + 1013904223) % (1 << 32)
            noise = ((seed >> 8) / 16777216.0 - 0.5) * 2e-4
            out.append(0.5 * math.sin(2 * math.pi * 440 * (start + i) / RATE) if tone else noise)
        if tone:
            bursts.append((start, len(out)))
        tone = not tone
    return out, bursts


def engine(**changes):
    cfg = ae.EngineConfig.fast_lane()
    cfg.queues.capture_capacity_ms = 60000
    cfg.queues.chunk_queue_capacity_ms = 60000
    for path, value in changes.items():
        obj = cfg
        *parents, leaf = path.split("__")
        for p in parents:
            obj = getattr(obj, p)
        setattr(obj, leaf, value)
    return ae.AudioEngine(cfg, clock_mode="stepped")


@pytest.fixture
async def make_engine():
    """Initialized stepped engines built by engine(**changes), shut down after the test."""
    made = []

    async def make(**changes):
        e = engine(**changes)
        await e.initialize()
        made.append(e)
        return e

    yield make
    for e in made:
        await e.shutdown()


def inject(e, samples):
    e.inject_test_audio(array.array("f", samples))


async def test_endpoint_events_reach_the_capture_iterator_exactly(make_engine):
    e = await make_engine()
    stream = e.start_capture(include_chunks=False)
    x, bursts = pattern(500, 1000, 2000)
    (onset, end), = bursts
    inject(e, x)
    await e.advance_ticks(len(x) // PERIOD)
    await e.wait_until_dispatched()
    seen = []
    while stream.pending():
        ev = await stream.__anext__()
        if ev.type != T.TURN_CHANGED:  # the user's turn begins and ends too
            seen.append(ev)
    types = [ev.type for ev in seen]
    assert types == [T.VAD_SPEECH_START, T.VAD_SPEECH_END, T.ENDPOINT]
    ep = seen[2]
    assert ep.t_samples == end + TIMEOUT
    assert ep.data.reason == ae.EndpointReason.SILENCE
    assert (ep.data.speech_start_sample, ep.data.speech_end_sample) == (onset, end)
    assert seen[0].data.padded_start_sample == onset - PAD
    assert e.get_endpoint_state() == ae.EndpointState.IDLE
    assert e.get_metrics().endpoints == 1


async def test_wait_for_endpoint_returns_each_once_then_times_out(make_engine):
    e = await make_engine()
    x, bursts = pattern(500, 500, 1500, 500, 1500)
    inject(e, x)
    waiter = asyncio.ensure_future(e.wait_for_endpoint(timeout_ms=5000))
    await asyncio.sleep(0)
    await e.advance_ticks(len(x) // PERIOD)
    first = await waiter
    second = await e.wait_for_endpoint(timeout_ms=1000)
    assert first.t_samples == bursts[0][1] + TIMEOUT
    assert second.t_samples == bursts[1][1] + TIMEOUT
    with pytest.raises(ae.EngineTimeoutError):
        await e.wait_for_endpoint(timeout_ms=30)


async def test_set_endpoint_timeout_and_force_endpoint_on_the_live_path(make_engine):
    e = await make_engine()
    x, bursts = pattern(500, 1000, 2000, 1000, 1500)
    (_, end1), (on2, _) = bursts
    inject(e, x)
    await e.advance_ticks((end1 + 4800) // PERIOD)  # the segment's end is decided
    assert e.get_endpoint_state() == ae.EndpointState.TRAILING_SILENCE
    e.set_endpoint_timeout(400)
    assert e.config.endpoint.silence_timeout_ms == 400
    await e.advance_ticks((on2 + ms(300) - e.now_samples()) // PERIOD)
    ep = await e.wait_for_endpoint(timeout_ms=1000)
    assert ep.t_samples == end1 + ms(400)
    assert e.force_endpoint() is True  # mid-speech: ends now, the next utterance opens here
    forced = await e.wait_for_endpoint(timeout_ms=1000)
    assert forced.data.reason == ae.EndpointReason.FORCED
    assert (forced.data.speech_start_sample, forced.data.speech_end_sample) == (on2, on2 + ms(300))
    assert e.get_endpoint_state() == ae.EndpointState.IN_UTTERANCE
    cfg = ae.EndpointConfig()
    cfg.enabled = False
    e.configure_endpointing(cfg)
    assert e.get_endpoint_state() == ae.EndpointState.IDLE
    assert e.force_endpoint() is False
    bad = ae.EndpointConfig()
    bad.adaptive_factor = 9.0
    with pytest.raises(ae.InvalidConfigError, match="adaptive_factor"):
        e.configure_endpointing(bad)


async def test_speech_only_delivery_starts_at_the_padded_onset_bit_exactly(make_engine):
    e = await make_engine(audio__capture_delivery=ae.CaptureDelivery.SPEECH_ONLY, audio__chunk_sample_type=ae.SampleType.FLOAT32)
    x, bursts = pattern(1000, 500, 2000)
    (onset, end), = bursts
    stream = e.start_capture()
    inject(e, x)
    await e.advance_ticks(len(x) // PERIOD)
    await e.wait_until_dispatched()
    chunks = []
    while stream.pending():
        ev = await stream.__anext__()
        if ev.type == T.AUDIO_CHUNK:
            chunks.append(ev)
    assert chunks[0].info.start_sample == onset - PAD
    assert chunks[-1].info.endpoint and chunks[-1].info.start_sample + PERIOD == end + TIMEOUT
    # float32 chunks: the delivered bytes are the injected samples themselves.
    assert b"".join(c.data for c in chunks) == array.array("f", x[onset - PAD:end + TIMEOUT]).tobytes()
    m = e.get_metrics()
    assert m.speech_gated_samples == len(x) - (end + TIMEOUT - (onset - PAD))


async def test_disable_vad_stops_the_live_events_and_enable_vad_restores_them(make_engine):
    e = await make_engine()
    x, bursts = pattern(500, 500, 1500)
    e.disable_vad()
    assert not e.config.vad.enabled
    inject(e, x)
    await e.advance_ticks(len(x) // PERIOD)
    await e.wait_until_dispatched()
    assert e.get_metrics().vad_speech_starts == 0
    await e.enable_vad(ae.VadConfig())
    t0 = e.now_samples()
    inject(e, x)
    await e.advance_ticks(len(x) // PERIOD)
    ep = await e.wait_for_endpoint(timeout_ms=1000)
    assert ep.data.speech_start_sample == t0 + bursts[0][0]
    assert e.get_metrics().vad_speech_starts == 1


async def test_mock_emits_endpoint_after_simulated_speech(mock):
    seg = await mock.simulate_user_speech("Hello AI")
    ep = await mock.wait_for_endpoint(timeout_ms=0)
    end = await mock.wait_for_event(T.VAD_SPEECH_END, 0)
    assert ep.data.speech_end_sample == end.data.speech_end_sample
    assert ep.t_samples == end.data.speech_end_sample + mock.config.endpoint.silence_timeout_ms * RATE // 1000
    assert ep.t_samples <= mock.now_samples()
    assert seg.trailing_silence_samples >= TIMEOUT
