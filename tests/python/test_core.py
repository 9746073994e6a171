"""The C++ API's Python face: names, enums, config and validation, errors, formats, speech synthesis."""

import array
import json

import numpy as np
import pytest

import audioengine as ae
from audioengine import _core


def test_event_type_names_and_values_match_cpp():
    for t in _core.AudioEventType.__members__.values():
        py = ae.AudioEventType(int(t))
        assert py.name == _core.event_type_name(t)  # "VAD_SPEECH_START"... the C++ to_string
        assert _core.parse_event_type(py.name.lower()) == t
    assert ae.AudioEventType.SPEECH_START is ae.AudioEventType.VAD_SPEECH_START
    assert ae.AudioEventType.SPEECH_END is ae.AudioEventType.VAD_SPEECH_END
    assert ae.AudioEventType.AUDIO_CHUNK not in [ae.AudioEventType(int(t)) for t in _core.AudioEventType.__members__.values()]
    assert ae.VADState.SPEAKING == int(_core.VadState.SPEAKING)
    assert ae.VADState.SILENCE == int(_core.VadState.SILENCE)


def test_every_error_code_has_its_exception_class():
    for code in _core.Error.__members__.values():
        if code == _core.Error.OK:
            continue
        name = _core.error_name(code)
        exc = ae._errors.make_error(name, "msg")
        assert isinstance(exc, ae.AudioEngineError)
        assert type(exc) is not ae.AudioEngineError, name
        assert exc.code == name
    assert issubclass(ae.InvalidConfigError, ValueError)
    assert issubclass(ae.EngineTimeoutError, TimeoutError)


def test_presets_validate_and_differ():
    for preset in (ae.EngineConfig.fast_lane(), ae.EngineConfig.quality(), ae.EngineConfig.telephony(),
                   ae.EngineConfig.wideband(), ae.EngineConfig()):
        assert ae.validate_config(preset) == []
        ae.check_config(preset)
    assert ae.EngineConfig.fast_lane().audio.chunk_duration_ms == 10
    assert ae.EngineConfig.telephony().audio.sample_rate_hz == 8000
    assert ae.EngineConfig.telephony().audio.chunk_sample_type == ae.SampleType.MULAW
    assert ae.EngineConfig.quality().audio.resampler == ae.ResamplerKind.SOXR


def test_invalid_config_raises_naming_field_value_and_range():
    c = ae.EngineConfig.fast_lane()
    c.audio.sample_rate_hz = 7
    c.queues.playback_capacity_ms = -5
    issues = ae.validate_config(c)
    assert [i.field for i in issues] == ["audio.sample_rate_hz", "queues.playback_capacity_ms"]
    with pytest.raises(ae.InvalidConfigError) as err:
        ae.check_config(c)
    msg = str(err.value)
    assert "audio.sample_rate_hz = 7" in msg and "8000..48000" in msg
    assert "queues.playback_capacity_ms = -5" in msg
    assert len(err.value.issues) == 2
    c = ae.EngineConfig.fast_lane()
    c.queues.urgent_capacity_ms = 0
    assert [i.field for i in ae.validate_config(c)] == ["queues.urgent_capacity_ms"]


def test_config_structs_take_keywords_and_reject_unknown_fields():
    v = ae.VadConfig(min_silence_ms=500, activation_threshold=0.6)
    assert v.min_silence_ms == 500 and v.activation_threshold == pytest.approx(0.6)
    assert v.min_speech_ms == 64  # the C++ default is kept
    with pytest.raises(TypeError, match="min_silense_ms"):
        ae.VadConfig(min_silense_ms=500)
    bad = ae.VadConfig(activation_threshold=1.5)
    with pytest.raises(ae.InvalidConfigError, match="vad.activation_threshold"):
        ae.validate_vad_config(bad)


def test_diff_config_splits_hot_and_cold_fields():
    a = ae.EngineConfig.fast_lane()
    b = ae.EngineConfig.fast_lane()
    b.vad.min_silence_ms = 700
    b.audio.sample_rate_hz = 24000
    d = ae.diff_config(a, b)
    assert "vad.min_silence_ms" in d.applied
    assert "audio.sample_rate_hz" in d.needs_restart


def test_formats_parse_negotiate_and_reject_with_named_field():
    f = ae.parse_audio_format("ulaw:8000:1")
    assert (f.sample_rate_hz, f.channels, f.sample_type) == (8000, 1, ae.SampleType.MULAW)
    assert str(f) == "ulaw:8000:1"
    assert ae.bytes_per_frame(ae.AudioFormat(16000, 2, ae.SampleType.PCM16)) == 4
    with pytest.raises(ae.InvalidFormatError, match="sample_rate_hz"):
        ae.validate_format(ae.AudioFormat(100, 1, ae.SampleType.PCM16))
    chosen = ae.negotiate_format(ae.AudioFormat(16000, 1, ae.SampleType.PCM16),
                                 [ae.AudioFormat(8000, 1, ae.SampleType.PCM16), ae.AudioFormat(48000, 2, ae.SampleType.FLOAT32)])
    assert chosen == ae.AudioFormat(48000, 2, ae.SampleType.FLOAT32)  # rate above wanted beats rate below
    with pytest.raises(ae.InvalidFormatError):
        ae.parse_sample_type("mp3")


def test_encode_decode_round_trip_pcm16_and_ulaw():
    pcm = array.array("h", [-32768, -1000, 0, 1000, 32767])
    f32 = ae.decode_samples(pcm, ae.SampleType.PCM16)
    assert list(array.array("f", f32)) == [v / 32768.0 for v in pcm]
    assert ae.encode_samples(f32, ae.SampleType.PCM16) == pcm.tobytes()
    # G.711 against the single-sample reference: 0 encodes to 0xFF in mu-law.
    assert ae.encode_samples(array.array("f", [0.0]), ae.SampleType.MULAW) == b"\xff"


def test_synthesize_speech_is_speech_at_the_requested_rate():
    a = np.frombuffer(ae.synthesize_speech("Hello AI", sample_rate_hz=16000), np.float32)
    b = np.frombuffer(ae.synthesize_speech("Hello AI", sample_rate_hz=8000), np.float32)
    assert 0.3 < len(a) / 16000 < 3.0
    assert abs(len(a) / 2 - len(b)) < 400  # same duration at half the rate
    assert np.sqrt(np.mean(a ** 2)) > 0.01
    with pytest.raises(ae.InvalidArgumentError, match="text"):
        ae.synthesize_speech("")


def test_metrics_json_of_a_fresh_engine():
    e = _core.AudioEngine.create(ae.EngineConfig.fast_lane())
    m = json.loads(e.export_metrics())
    assert m["ticks"] == 0 and m["tick_budget_ms"] == 10
