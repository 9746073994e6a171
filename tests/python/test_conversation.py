"""Conversation and barge-in from Python: the same names as C++, awaitables for the waits, exact on the virtual clock.

The user is a 440 Hz tone burst (0.5 amplitude) on the 10 ms period grid after digital silence, so the energy VAD's
onset is the burst's first sample; barge-in defaults: confirmed 960 samples into the onset's 7th period, 80-sample
(5 ms) fade.
"""

import array
import asyncio
import math

import pytest

import audioengine as ae
from conftest import PERIOD, RATE, floats, ramp_pcm

T = ae.AudioEventType
S = ae.ConversationState


def user_burst(quiet_ms, tone_ms, after_ms):
    out = array.array("f", bytes(4 * (RATE * quiet_ms // 1000)))
    n = RATE * tone_ms // 1000
    start = len(out)
    out.extend(0.5 * math.sin(2.0 * math.pi * 440.0 * (start + i) / RATE) for i in range(n))
    out.extend(array.array("f", bytes(4 * (RATE * after_ms // 1000))))
    return out, start


def inject(engine, samples):
    engine.inject_test_audio(samples.tobytes(), ae.AudioFormat(RATE, 1, ae.SampleType.FLOAT32))


def turn_changes(engine):
    return [(ev.t_samples, ev.data["from"], ev.data["to"]) for ev in engine._history if ev.type == T.TURN_CHANGED]


async def test_barge_in_fades_out_and_reports_exact_played_ms(mock):
    await mock.queue_playback(ramp_pcm(32000), item_id=7)
    mic, onset = user_burst(500, 1000, 500)
    inject(mock, mic)
    await mock.advance(2000)
    r = await mock.wait_for_interrupt(1000)
    silent = onset + 960 + 80
    assert r.reason == ae.InterruptReason.BARGE_IN and r.item_id == 7
    assert r.played_samples == silent and r.at_sample == silent and r.was_playing
    assert r.played_ms == pytest.approx(1000.0 * silent / RATE, abs=1e-9)
    assert r.flushed_samples == 32000 - silent
    out = floats(mock.read_played_audio(RATE * 3))
    assert sum(1 for s in out if s != 0.0) == r.played_samples  # what the sink received, faded samples included
    assert all(s == 0.0 for s in out[silent:])
    with pytest.raises(ae.EngineTimeoutError):
        await mock.wait_for_interrupt(0)  # each INTERRUPT once
    lat = mock.get_interrupt_latency()
    assert lat.count == 1 and lat.last_samples == silent - onset
    m = mock.get_conversation_metrics()
    assert (m.interruptions, m.barge_ins, m.false_interruptions) == (1, 1, 0)
    assert turn_changes(mock) == [(PERIOD, S.IDLE, S.AI_SPEAKING), (onset + 1120, S.AI_SPEAKING, S.USER_SPEAKING),
                                  (onset + 16000 + 4800, S.USER_SPEAKING, S.IDLE)]
    assert mock.get_conversation_state() == S.IDLE


async def test_pause_recovery_resumes_after_a_cough():
    cfg = ae.EngineConfig.fast_lane()
    cfg.queues.capture_capacity_ms = 60000
    cfg.sink.memory_capacity_ms = 60000
    cfg.barge_in.recovery = ae.BargeInRecovery.PAUSE
    cfg.barge_in.min_speech_ms = 500
    cfg.barge_in.resume_after_ms = 300
    e = ae.MockAudioEngine(cfg)
    await e.initialize()
    try:
        await e.queue_playback(ramp_pcm(24000), item_id=3)
        await e.advance(500)
        seg = await e.simulate_cough(120, advance=False)
        await e.advance(200)
        assert e.is_playback_paused() and e.is_playing_audio()
        await e.advance(2500)
        assert not e.is_playback_paused()
        paused = [ev for ev in e._history if ev.type == T.PLAYBACK_PAUSED]
        resumed = [ev for ev in e._history if ev.type == T.PLAYBACK_RESUMED]
        assert len(paused) == 1 and paused[0].t_samples == seg.start_sample
        assert len(resumed) == 1 and resumed[0].t_samples == seg.end_sample + 4800
        assert resumed[0].data.samples == paused[0].data.samples == seg.start_sample + 80  # nothing lost
        assert not [ev for ev in e._history if ev.type == T.INTERRUPT]
        done = [ev for ev in e._history if ev.type == T.PLAYBACK_COMPLETE]
        assert len(done) == 1 and done[0].data.samples == 24000
        assert e.get_conversation_metrics().false_interruptions == 1
    finally:
        await e.shutdown()


async def test_push_to_talk_and_wait_for_turn_change(mock):
    with pytest.raises(ae.InvalidArgumentError, match="set_turn_taking_mode"):
        mock.set_push_to_talk(True)
    mock.set_turn_taking_mode(ae.TurnTakingMode.MANUAL)
    assert mock.get_turn_taking_mode() == ae.TurnTakingMode.MANUAL
    waiter = asyncio.create_task(mock.wait_for_turn_change(5000))
    await asyncio.sleep(0)
    mock.set_push_to_talk(True)
    assert mock.is_push_to_talk_pressed()
    await mock.advance(10)
    assert await waiter == S.USER_SPEAKING
    assert mock.get_conversation_state() == S.USER_SPEAKING
    mock.set_push_to_talk(False)
    await mock.advance(10)
    assert mock.get_conversation_state() == S.IDLE
    with pytest.raises(ae.EngineTimeoutError):
        await mock.wait_for_turn_change(0)


async def test_force_turn_change_replace_priority_and_drain(mock):
    await mock.queue_playback(ramp_pcm(16000), item_id=1)
    with pytest.raises(ae.EngineTimeoutError):
        await mock.drain_queues(0)
    await mock.advance(100)
    await mock.queue_playback(ramp_pcm(800, base=3000), item_id=2, priority=ae.PlaybackPriority.REPLACE)
    cut = await mock.wait_for_interrupt(1000)
    assert cut.reason == ae.InterruptReason.FLUSH and cut.item_id == 1 and cut.played_samples == 1600
    await mock.advance(100)
    await mock.drain_queues(0)
    out = floats(mock.read_played_audio(3200))
    assert list(out[1600:2400]) == [v / 32768.0 for v in ramp_pcm(800, base=3000)]
    drained = [ev for ev in mock._history if ev.type == T.QUEUE_DRAINED]
    assert len(drained) == 1 and drained[0].t_samples == 2400
    await mock.queue_playback(ramp_pcm(8000), item_id=3)
    await mock.advance(50)
    assert await mock.force_turn_change(S.USER_SPEAKING) == S.USER_SPEAKING
    user_cut = await mock.wait_for_interrupt(1000)
    assert user_cut.reason == ae.InterruptReason.USER and user_cut.played_samples == 800
    assert await mock.force_turn_change(S.IDLE) == S.IDLE
    m = mock.get_conversation_metrics()
    assert m.interruptions == 1 and m.turn_changes >= 4


async def test_barge_in_settings_are_validated_by_field(mock):
    mock.enable_barge_in_detection(False)
    assert not mock.config.barge_in.enabled
    cfg = ae.BargeInConfig()
    cfg.recovery = ae.BargeInRecovery.DUCK
    cfg.duck_gain = 0.3
    mock.enable_barge_in_detection(cfg)
    assert mock.config.barge_in.recovery == ae.BargeInRecovery.DUCK
    mock.set_interrupt_threshold(200, 0.7)
    assert mock.config.barge_in.min_speech_ms == 200
    with pytest.raises(ae.InvalidConfigError, match=r"barge_in\.probability_threshold"):
        mock.set_interrupt_threshold(200, 1.5)
    bad = ae.BargeInConfig()
    bad.fade_out_ms = 30
    with pytest.raises(ae.InvalidConfigError, match=r"barge_in\.fade_out_ms = 30"):
        mock.enable_barge_in_detection(bad)
