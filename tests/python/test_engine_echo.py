"""Echo cancellation through the engine from Python: enable_echo_cancellation, disable_echo_cancellation,
get_duplex_metrics, config.echo, the echo metrics and the
VAD's copy of the capture (EchoCancellerConfig.vad_copy)."""

import json
import os

import numpy as np
import pytest

import audioengine as ae
from conftest import SOURCE_DIR

RATE = 16000
PERIOD = 160
F32 = ae.AudioFormat(RATE, 1, ae.SampleType.FLOAT32)


def _config(**echo):
    c = ae.EngineConfig.fast_lane()
    c.audio.sample_rate_hz = RATE
    c.audio.chunk_duration_ms = 10
    c.vad.enabled = False
    c.barge_in.enabled = False  # the echo must not interrupt the playback it comes from
    c.queues.capture_capacity_ms = 20000
    for name, value in echo.items():
        setattr(c.echo, name, value)
    return c


def _far_and_mic():
    text = "The weather today will be sunny with a light breeze from the west, and warm in the afternoon."
    far = np.frombuffer(ae.synthesize_speech(text, sample_rate_hz=RATE), np.float32).copy()
    far = np.concatenate([far, far])
    far = far[: len(far) // PERIOD * PERIOD]
    far *= 0.1 / np.sqrt(np.mean(far ** 2))
    delay = RATE * 40 // 1000
    mic = np.zeros_like(far)
    mic[delay:] = 0.3 * far[:-delay]
    return far, mic.astype(np.float32)


async def _run_echo(engine, far, mic):
    engine.inject_test_audio(mic.tobytes(), F32)
    await engine.queue_playback(far.tobytes(), format=F32)
    await engine.advance_ticks(len(mic) // PERIOD)


async def test_enable_measures_and_disable_removes():
    e = ae.AudioEngine(_config(), clock_mode="stepped")
    await e.initialize()
    try:
        assert not e.is_echo_cancellation_enabled()
        with pytest.raises(ae.NotInitializedError, match="enable_echo_cancellation"):
            e.get_duplex_metrics()
        assert "echo" not in json.loads(e.export_metrics())

        await e.enable_echo_cancellation(ae.EchoCancellerConfig(agc_enabled=False))
        assert e.is_echo_cancellation_enabled()
        assert e.config.echo.enabled and not e.config.echo.canceller.agc_enabled
        far, mic = _far_and_mic()
        await _run_echo(e, far, mic)
        m = e.get_duplex_metrics()
        assert m.frames == len(mic) // PERIOD
        assert m.erle_db > 20.0
        assert m.far_end_active_fraction > 0.5
        assert m.delay_ms >= 0
        metrics = e.get_metrics()
        assert metrics["echo_cancellation"] and metrics["echo_frames"] == m.frames
        assert json.loads(e.export_metrics())["echo"]["frames"] == m.frames

        await e.disable_echo_cancellation()
        assert not e.is_echo_cancellation_enabled()
        assert not e.config.echo.enabled
        with pytest.raises(ae.NotInitializedError):
            e.get_duplex_metrics()
    finally:
        await e.shutdown()


async def test_bad_config_and_unsupported_implementation_change_nothing():
    e = ae.AudioEngine(_config(), clock_mode="stepped")
    await e.initialize()
    try:
        with pytest.raises(ae.InvalidArgumentError, match="stream_delay_ms = 900"):
            await e.enable_echo_cancellation(ae.EchoCancellerConfig(stream_delay_ms=900))
        assert not e.is_echo_cancellation_enabled()
        await e.enable_echo_cancellation()
        await e.enable_echo_cancellation(ae.EchoCancellerConfig(implementation=ae.EchoImplementation.SPEEX))
        assert e.config.echo.canceller.implementation == ae.EchoImplementation.SPEEX
        assert e.is_echo_cancellation_enabled()
    finally:
        await e.shutdown()


async def test_config_echo_creates_it_at_initialize_and_is_validated_by_field():
    bad = _config(enabled=True)
    bad.echo.canceller.agc_target_level_dbfs = 40
    issues = ae.validate_config(bad)
    assert [i.field for i in issues] == ["echo.canceller.agc_target_level_dbfs"]
    with pytest.raises(ae.InvalidConfigError, match="echo.canceller.agc_target_level_dbfs = 40"):
        await ae.AudioEngine(bad, clock_mode="stepped").initialize()

    e = ae.AudioEngine(_config(enabled=True), clock_mode="stepped")
    await e.initialize()
    try:
        assert e.is_echo_cancellation_enabled()
        await e.advance_ticks(5)
        assert e.get_duplex_metrics().frames == 5
    finally:
        await e.shutdown()


async def test_mock_engine_cancels_the_echo_of_its_own_playback():
    mock = ae.MockAudioEngine(_config(), clock_mode="inline")
    await mock.enable_echo_cancellation()  # before initialize(): installed for it
    await mock.initialize()
    try:
        far, mic = _far_and_mic()
        await _run_echo(mock, far, mic)
        assert mock.get_duplex_metrics().frames == len(mic) // PERIOD
        assert mock.get_duplex_metrics().erle_db > 20.0
    finally:
        await mock.shutdown()


async def _echo_only_energy(**barge_in):
    """The AI's answer with its echo in the microphone (40 ms, -10 dB), no canceller, the energy VAD, the barge-in
    settings as given: returns the metrics and the JSON export after it played and 1 s of silence after it
    (the segments going on have ended)."""
    c = _config()
    c.vad.enabled = True
    c.vad.algorithm = ae.VadAlgorithm.ENERGY
    for name, value in barge_in.items():
        setattr(c.barge_in, name, value)
    e = ae.AudioEngine(c, clock_mode="stepped")
    await e.initialize()
    try:
        far, mic = _far_and_mic()
        await _run_echo(e, far, mic)
        await e.advance_ticks(RATE // PERIOD)
        return e.get_metrics(), json.loads(e.export_metrics())
    finally:
        await e.shutdown()


async def _echo_only_barge_in(gate, bands=0):
    """The echo-only run with barge-in on, its gate as given in `bands` frequency bands: the metrics."""
    metrics, _ = await _echo_only_energy(enabled=True, echo_gate=gate, echo_gate_bands=bands)
    return metrics


async def test_echo_gate_holds_back_the_echo_and_counts_it():
    assert ae.BargeInConfig().echo_gate == ae.EchoGateMode.AUTO
    cfg = ae.BargeInConfig(echo_gate=ae.EchoGateMode.ON, echo_gate_margin_db=8.0, echo_gate_tail_ms=250,
                           echo_gate_min_near_end_ms=30)
    assert (cfg.echo_gate_margin_db, cfg.echo_gate_tail_ms, cfg.echo_gate_min_near_end_ms) == (8.0, 250, 30)
    # Without the gate the echo alone interrupts the AI; with it (forced on: no canceller here) the runs the echo
    # explains are held back and counted.
    off = await _echo_only_barge_in(ae.EchoGateMode.OFF)
    assert off["interruptions"] >= 1 and off["barge_in_echo_gated_runs"] == 0
    on = await _echo_only_barge_in(ae.EchoGateMode.ON)
    assert on["interruptions"] == 0 and on["barge_in_echo_gated_runs"] >= 1


async def test_vad_echo_gate_vetoes_the_segments_of_the_echo_and_counts_them():
    assert ae.BargeInConfig().vad_echo_gate == ae.EchoGateMode.AUTO
    assert ae.BargeInConfig(vad_echo_gate=ae.EchoGateMode.OFF).vad_echo_gate == ae.EchoGateMode.OFF
    # Barge-in off. No canceller here, so auto leaves the VAD as it is: the echo's segments reach the application.
    auto, _ = await _echo_only_energy(vad_echo_gate=ae.EchoGateMode.AUTO)
    off, _ = await _echo_only_energy(vad_echo_gate=ae.EchoGateMode.OFF)
    assert off["vad_speech_starts"] >= 1 and off["vad_echo_vetoed_segments"] == 0
    assert auto["vad_speech_starts"] == off["vad_speech_starts"] and auto["vad_echo_vetoed_segments"] == 0
    # Forced on, the gate holds every one of them back: none is published, each is counted.
    on, exported = await _echo_only_energy(vad_echo_gate=ae.EchoGateMode.ON)
    assert on["vad_speech_starts"] == 0 and on["endpoints"] == 0
    assert on["vad_echo_vetoed_segments"] >= 1
    assert exported["vad_echo_vetoed_segments"] == on["vad_echo_vetoed_segments"]


async def test_echo_gate_envelope_fall_and_bands():
    d = ae.BargeInConfig()
    assert (d.echo_gate_tail_fall_db, d.echo_gate_max_coupling_db, d.echo_gate_bands, d.echo_gate_min_bands) == (
        60.0, 40.0, 0, 3)
    cfg = ae.BargeInConfig(echo_gate_tail_fall_db=30.0, echo_gate_max_coupling_db=0.0, echo_gate_bands=16,
                           echo_gate_min_bands=4)
    assert (cfg.echo_gate_tail_fall_db, cfg.echo_gate_max_coupling_db, cfg.echo_gate_bands,
            cfg.echo_gate_min_bands) == (30.0, 0.0, 16, 4)
    # Decided in 32 bands, the gate still holds back the echo the whole-band one holds back.
    on = await _echo_only_barge_in(ae.EchoGateMode.ON, bands=32)
    assert on["interruptions"] == 0 and on["barge_in_echo_gated_runs"] >= 1


async def test_echo_gate_band_settings_are_validated_by_field():
    c = _config()
    c.barge_in.echo_gate_tail_fall_db = 150.0
    c.barge_in.echo_gate_max_coupling_db = -30.0
    c.barge_in.echo_gate_bands = 65
    assert [i.field for i in ae.validate_config(c)] == [
        "barge_in.echo_gate_tail_fall_db", "barge_in.echo_gate_max_coupling_db", "barge_in.echo_gate_bands"]
    c = _config()
    c.barge_in.echo_gate_bands = 8
    c.barge_in.echo_gate_min_bands = 9
    with pytest.raises(ae.InvalidConfigError, match=r"barge_in\.echo_gate_min_bands = 9"):
        await ae.AudioEngine(c, clock_mode="stepped").initialize()


async def test_echo_gate_settings_are_validated_by_field():
    c = _config()
    c.barge_in.echo_gate_tail_ms = 5
    assert [i.field for i in ae.validate_config(c)] == ["barge_in.echo_gate_tail_ms"]
    with pytest.raises(ae.InvalidConfigError, match=r"barge_in\.echo_gate_tail_ms = 5"):
        await ae.AudioEngine(c, clock_mode="stepped").initialize()


async def test_vad_copy_settings_are_validated_by_field():
    d = ae.EchoCancellerConfig()
    assert (d.vad_copy, d.vad_copy_suppression) == (True, ae.EchoSuppression.LOW)
    bad = _config(enabled=True)
    bad.echo.canceller.vad_copy = True
    bad.echo.canceller.vad_copy_suppression = ae.EchoSuppression.ADAPTIVE
    assert [i.field for i in ae.validate_config(bad)] == ["echo.canceller.vad_copy_suppression"]
    e = ae.AudioEngine(_config(), clock_mode="stepped")
    await e.initialize()
    try:
        with pytest.raises(ae.InvalidArgumentError, match=r"vad_copy_suppression = 3 \(valid: 0 kLow, 1 kModerate, 2 kHigh\)"):
            await e.enable_echo_cancellation(ae.EchoCancellerConfig(
                vad_copy=True, vad_copy_suppression=ae.EchoSuppression.ADAPTIVE))
        assert not e.is_echo_cancellation_enabled()
    finally:
        await e.shutdown()


async def _user_over_the_echo(vad_copy, monkeypatch):
    """The AI's answer with its echo in the microphone (60 ms, gain 0.7) and a user 6 dB under the answer from 3 s
    on, Silero, the canceller at its default suppression, told the delay: the first INTERRUPT's distance from the
    user's onset in ms (None without one), the interruptions counted and the confirming speech run's start in
    samples from the onset (None without an interruption)."""
    monkeypatch.setenv("AE_SILERO_MODEL", os.path.join(SOURCE_DIR, "third_party_cache", "vad-web", "silero_vad_v5.onnx"))
    c = _config()
    c.vad.enabled = True
    c.vad.algorithm = ae.VadAlgorithm.SILERO
    c.barge_in.enabled = True
    text = ("Tomorrow in Paris it will be mostly sunny in the morning, with clouds building in the afternoon and a "
            "high of twenty two degrees.")
    far = np.frombuffer(ae.synthesize_speech(text, sample_rate_hz=RATE), np.float32).copy()
    far = far[: len(far) // PERIOD * PERIOD] * np.float32(0.1 / np.sqrt(np.mean(far ** 2)))
    user = np.frombuffer(ae.synthesize_speech("Wait, stop. That is not what I asked for.", voice="en+f3",
                                              sample_rate_hz=RATE), np.float32)
    user = user * np.float32(0.05 / np.sqrt(np.mean(user ** 2)))
    delay = RATE * 60 // 1000
    mic = np.zeros_like(far)
    mic[delay:] = 0.7 * far[:-delay]
    at = 3 * RATE
    mic[at:at + len(user)] += user[: len(mic) - at]
    onset = at + int(np.argmax(np.abs(user) >= 0.01))
    e = ae.AudioEngine(c, clock_mode="stepped")
    await e.initialize()
    try:
        await e.enable_echo_cancellation(ae.EchoCancellerConfig(stream_delay_ms=60, delay_agnostic=False,
                                                                vad_copy=vad_copy))
        await _run_echo(e, far, mic.astype(np.float32))
        ev = await e.wait_for_event(ae.AudioEventType.INTERRUPT, timeout_ms=0)
        latency_ms = None if ev is None else (ev.t_samples - onset) * 1000.0 / RATE
        run_from_onset = None if ev is None else ev.t_samples - ev.data.speech_run_samples - onset
        return latency_ms, e.get_metrics()["interruptions"], run_from_onset
    finally:
        await e.shutdown()


async def test_vad_copy_lets_silero_hear_the_user_the_suppressor_hides(monkeypatch):
    # The default suppression hides the user's speech from Silero (measured: no interruption at all); on the copy
    # the user interrupts once, shortly after the onset. The INTERRUPT says where the barge-in's own detector (on
    # the copy) heard the confirming run begin: in the period of the onset or after it, before the cut.
    off_ms, off_count, _ = await _user_over_the_echo(False, monkeypatch)
    on_ms, on_count, run_from_onset = await _user_over_the_echo(True, monkeypatch)
    assert on_count == 1 and 0 < on_ms < 300, (on_ms, on_count)
    assert -PERIOD < run_from_onset < on_ms * RATE / 1000.0, (run_from_onset, on_ms)
    assert off_ms is None or off_ms > on_ms, (off_ms, on_ms)


async def test_barge_in_detector_only_while_the_canceller_writes_its_copy():
    c = _config()
    c.vad.enabled = True
    c.vad.algorithm = ae.VadAlgorithm.ENERGY
    e = ae.AudioEngine(c, clock_mode="stepped")
    await e.initialize()
    try:
        assert e.get_resource_status().vad_detectors == 1
        await e.enable_echo_cancellation(ae.EchoCancellerConfig(vad_copy=True))
        assert e.get_resource_status().vad_detectors == 2
        await e.advance_ticks(3)
        await e.enable_echo_cancellation(ae.EchoCancellerConfig(vad_copy=False))
        assert e.get_resource_status().vad_detectors == 1
        await e.enable_echo_cancellation(ae.EchoCancellerConfig(vad_copy=True))
        await e.disable_echo_cancellation()
        assert e.get_resource_status().vad_detectors == 1
    finally:
        await e.shutdown()
