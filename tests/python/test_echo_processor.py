"""EchoProcessor (WebRTC or SpeexDSP AEC + NS + AGC + high-pass filter) used offline from Python."""

import numpy as np
import pytest

import audioengine as ae

RATE = 16000


def _echo_case(delay_ms=40):
    text = "The weather today will be sunny with a light breeze from the west, and warm in the afternoon."
    far = np.frombuffer(ae.synthesize_speech(text, sample_rate_hz=RATE), np.float32).copy()
    far = np.concatenate([far, far])
    far *= 0.1 / np.sqrt(np.mean(far ** 2))
    delay = RATE * delay_ms // 1000
    echo = np.zeros_like(far)
    echo[delay:] = 0.3 * far[:-delay]
    echo[delay + 40:] += 0.1 * far[: -delay - 40]
    return far, echo.astype(np.float32)


def test_config_defaults_and_validation_names_the_field():
    c = ae.EchoCancellerConfig()
    assert c.implementation == ae.EchoImplementation.WEBRTC
    assert c.suppression == ae.EchoSuppression.ADAPTIVE
    c.validate()
    c.agc_target_level_dbfs = 40
    with pytest.raises(ae.InvalidArgumentError, match="agc_target_level_dbfs = 40"):
        c.validate()
    with pytest.raises(ae.InvalidArgumentError, match="agc_target_level_dbfs"):
        ae.EchoProcessor.create(c)


def test_bad_size_is_named():
    p = ae.EchoProcessor.create()
    with pytest.raises(ae.InvalidArgumentError, match="max_frames = 0"):
        p.prepare(RATE, 0)


def test_runs_at_24_khz_behind_resamplers():
    # The rate speech-to-speech APIs stream at: the components run at 16 kHz, the echo is still removed and the
    # reported latency grows by the resamplers' delay.
    rate = 24000
    far16, mic16 = _echo_case()
    far = np.repeat(far16, 3)[::2].copy()  # 16 -> 24 kHz by sample-and-hold: a test signal, not hi-fi
    mic = np.repeat(mic16, 3)[::2].copy()
    cfg = ae.EchoCancellerConfig()
    cfg.agc_enabled = False
    p = ae.EchoProcessor.create(cfg)
    p.prepare(rate, 240)
    assert p.latency_samples() > (112 + 96) * 3 // 2
    out = np.frombuffer(p.process(mic, render=far, echo_delay_ms=40), np.float32)
    assert out.shape == mic.shape
    half = len(mic) // 2
    assert 10 * np.log10(np.sum(mic[half:] ** 2) / np.sum(out[half:] ** 2)) > 30.0


def test_removes_echo_and_reports_metrics():
    far, mic = _echo_case()
    cfg = ae.EchoCancellerConfig()
    cfg.agc_enabled = False
    p = ae.EchoProcessor.create(cfg)
    p.prepare(RATE, 160)
    assert p.name() == "webrtc_apm"
    assert p.latency_samples() == 112 + 96  # AEC block buffering + noise-suppressor overlap at 16 kHz
    out = np.frombuffer(p.process(mic, render=far, echo_delay_ms=40), np.float32)
    assert out.shape == mic.shape
    half = len(mic) // 2
    erle_db = 10 * np.log10(np.sum(mic[half:] ** 2) / np.sum(out[half:] ** 2))
    assert erle_db > 30.0
    m = p.duplex_metrics()
    assert m.frames == len(mic) // 160
    assert m.far_end_active_fraction > 0.5
    assert m.erle_db > 20.0
    # Without the reference the same input passes (nothing to cancel against).
    p.reset()
    assert p.duplex_metrics().frames == 0
    plain = np.frombuffer(p.process(mic), np.float32)
    assert 10 * np.log10(np.sum(mic[half:] ** 2) / np.sum(plain[half:] ** 2)) < 10.0


def test_render_length_must_match():
    p = ae.EchoProcessor.create()
    p.prepare(RATE, 160)
    with pytest.raises(ae.InvalidArgumentError, match="render"):
        p.process(np.zeros(320, np.float32), render=np.zeros(160, np.float32))


def _erle_db(mic, out, begin):
    return 10 * np.log10(np.sum(mic[begin:] ** 2) / np.sum(out[begin:] ** 2))


def test_speex_removes_echo_and_finds_the_delay():
    far, mic = _echo_case(delay_ms=40)
    cfg = ae.EchoCancellerConfig()
    cfg.implementation = "speex"
    assert cfg.implementation == ae.EchoImplementation.SPEEX
    cfg.agc_enabled = False
    p = ae.EchoProcessor.create(cfg)
    p.prepare(RATE, 160)
    assert p.name() == "speex_aec"
    assert p.latency_samples() == 160  # the preprocessor's overlap-add: one 10 ms frame
    out = np.frombuffer(p.process(mic, render=far), np.float32)
    assert out.shape == mic.shape
    # Two-tap echo, no room tail: measured 30.5 dB over the second half (WebRTC: above 30).
    assert _erle_db(mic, out, len(mic) // 2) > 25.0
    m = p.duplex_metrics()
    assert m.frames == len(mic) // 160
    assert 38 <= m.delay_ms <= 42  # the filter's largest tap: the 40 ms path
    assert m.erle_db > 15.0


def test_implementation_by_name_names_the_valid_ones():
    cfg = ae.EchoCancellerConfig()
    cfg.implementation = "WebRTC"
    assert cfg.implementation == ae.EchoImplementation.WEBRTC
    with pytest.raises(ae.InvalidArgumentError, match="implementation = 'aec3'.*'webrtc', 'speex'"):
        cfg.implementation = "aec3"


def test_speex_runs_at_48_khz():
    cfg = ae.EchoCancellerConfig()
    cfg.implementation = ae.EchoImplementation.SPEEX
    p = ae.EchoProcessor.create(cfg)
    p.prepare(48000, 480)
    assert p.latency_samples() == 480
    with pytest.raises(ae.InvalidArgumentError, match="sample_rate_hz = 22050"):
        p.prepare(22050, 441)
