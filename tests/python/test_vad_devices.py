"""VAD and endpointing over held audio, Silero, devices and audio files from Python."""

import array
import os

import pytest

import audioengine as ae
from audioengine import _core

from conftest import RATE, PERIOD, SOURCE_DIR, ramp_pcm

LEAD_SAMPLES = RATE // 2  # 500 ms of digital silence before the speech


def silero_model_path() -> str:
    """The model the C++ tests use: $AE_SILERO_MODEL, else the copy scripts/setup.sh puts in the source tree."""
    env = os.environ.get("AE_SILERO_MODEL", "")
    return env or os.path.join(SOURCE_DIR, "third_party_cache", "vad-web", "silero_vad_v5.onnx")


@pytest.fixture
def silero_model(monkeypatch) -> str:
    path = silero_model_path()
    assert os.path.isfile(path), f"Silero model missing at {path}: run scripts/setup.sh"
    # The engine looks the model up through $AE_SILERO_MODEL (else relative to the working directory).
    monkeypatch.setenv("AE_SILERO_MODEL", path)
    return path


@pytest.fixture(scope="module")
def speech():
    return array.array("f", ae.synthesize_speech("Hello there, this is a test of voice activity detection.",
                                                 sample_rate_hz=RATE))


def clip(speech, trail_samples: int) -> array.array:
    return array.array("f", bytes(4 * LEAD_SAMPLES)) + speech + array.array("f", bytes(4 * trail_samples))


def engine():
    return ae.AudioEngine.create_for_fast_lane(sample_rate=RATE, chunk_duration_ms=10, clock_mode="stepped")


def events_of(events, type_):
    return [ev for ev in events if ev.type == type_]


# ---- VAD over held audio ---------------------------------------------------------------------------------------
async def check_segment_inside(e, speech, config, end_slack_samples=PERIOD):
    """end_slack_samples: how late the detector may see the speech end (its latency)."""
    audio = clip(speech, RATE)
    await e.enable_vad(config)
    frames = await e.process_vad(audio)
    assert len(frames) == len(audio) // PERIOD
    assert all(isinstance(f, ae.VadFrame) for f in frames)
    assert [f.start_sample for f in frames[:3]] == [0, PERIOD, 2 * PERIOD]
    assert any(f.state == _core.VadState.SPEAKING for f in frames)
    events = e.get_vad_events()
    starts = events_of(events, ae.AudioEventType.VAD_SPEECH_START)
    ends = events_of(events, ae.AudioEventType.VAD_SPEECH_END)
    assert starts and ends, events
    speech_end = LEAD_SAMPLES + len(speech)
    first, last = starts[0].data.speech_start_sample, ends[-1].data.speech_end_sample
    assert LEAD_SAMPLES <= first < speech_end
    assert first < last <= speech_end + end_slack_samples
    # Drained: a second call has nothing new.
    assert e.get_vad_events() == []
    return frames


async def test_process_vad_finds_the_speech_inside_the_clip(speech):
    await check_segment_inside(engine(), speech, ae.VadConfig())


async def test_process_vad_takes_int16_arrays_and_continues_the_timeline(speech):
    e = engine()
    await e.enable_vad(ae.VadConfig())
    pcm = array.array("h", ae.encode_samples(clip(speech, 0), ae.SampleType.PCM16))
    half = (len(pcm) // 2) + 37  # not a whole frame: the tail waits for the next call
    first = await e.process_vad(pcm[:half])
    second = await e.process_vad(pcm[half:])
    assert len(first) == half // PERIOD
    assert second[0].start_sample == len(first) * PERIOD
    assert len(first) + len(second) == len(pcm) // PERIOD


async def test_process_vad_before_enable_vad_and_after_disable_fails():
    e = engine()
    with pytest.raises(ae.NotInitializedError):
        await e.process_vad(array.array("f", [0.0] * PERIOD))
    with pytest.raises(ae.NotInitializedError):
        e.configure_endpointing(ae.EndpointConfig())
    await e.enable_vad(ae.VadConfig())
    assert len(await e.process_vad(array.array("f", [0.0] * PERIOD))) == 1
    e.disable_vad()
    with pytest.raises(ae.NotInitializedError):
        await e.process_vad(array.array("f", [0.0] * PERIOD))
    assert e.get_vad_events() == []


async def test_process_vad_rejects_samples_of_another_type():
    e = engine()
    await e.enable_vad(ae.VadConfig())
    with pytest.raises(ae.InvalidArgumentError, match="float32"):
        await e.process_vad(array.array("d", [0.0] * PERIOD))
    with pytest.raises(ae.InvalidArgumentError, match="whole number"):
        await e.process_vad(b"\0" * 6)


async def test_enable_vad_names_a_bad_field():
    cfg = ae.VadConfig()
    cfg.min_speech_ms = -5
    with pytest.raises(ae.InvalidConfigError, match="min_speech_ms"):
        await engine().enable_vad(cfg)


# ---- endpointing -----------------------------------------------------------------------------------------------
async def test_force_endpoint_ends_the_utterance_in_progress(speech):
    e = engine()
    await e.enable_vad(ae.VadConfig())
    e.configure_endpointing(ae.EndpointConfig())
    assert e.get_endpoint_state() == ae.EndpointState.IDLE
    assert e.force_endpoint() is False  # no utterance yet
    await e.process_vad(clip(speech, 0))  # no trailing silence: the utterance is still open
    assert e.get_endpoint_state() != ae.EndpointState.IDLE
    assert e.force_endpoint() is True
    assert e.get_endpoint_state() == ae.EndpointState.IDLE
    events = e.get_vad_events()
    endpoints = events_of(events, ae.AudioEventType.ENDPOINT)
    assert len(endpoints) == 1
    onset = events_of(events, ae.AudioEventType.VAD_SPEECH_START)[0].data.speech_start_sample
    assert endpoints[0].data.speech_start_sample == onset
    assert onset < endpoints[0].data.speech_end_sample <= LEAD_SAMPLES + len(speech)
    assert e.force_endpoint() is False


async def test_silence_timeout_endpoint_comes_after_the_timeout(speech):
    e = engine()
    await e.enable_vad(ae.VadConfig())
    cfg = ae.EndpointConfig()
    cfg.silence_timeout_ms = 800
    e.configure_endpointing(cfg)
    e.set_endpoint_timeout(300)  # takes over from the config's 800 ms
    await e.process_vad(clip(speech, RATE))
    events = e.get_vad_events()
    endpoints = events_of(events, ae.AudioEventType.ENDPOINT)
    assert len(endpoints) == 1, events
    end = endpoints[0].data.speech_end_sample
    assert end == events_of(events, ae.AudioEventType.VAD_SPEECH_END)[-1].data.speech_end_sample
    timeout = 300 * RATE // 1000
    # Decided at the end of the frame in which the silence reaches the timeout.
    assert end + timeout <= endpoints[0].t_samples < end + timeout + 2 * PERIOD


def test_endpoint_config_validation_names_the_field():
    cfg = ae.EndpointConfig()
    assert (cfg.silence_timeout_ms, cfg.min_utterance_ms, cfg.max_utterance_ms) == (800, 200, 30000)
    cfg.silence_timeout_ms = 50
    with pytest.raises(ae.InvalidConfigError, match="silence_timeout_ms"):
        ae.validate_endpoint_config(cfg)


# ---- Silero ----------------------------------------------------------------------------------------------------
def test_silero_vad_scores_speech_above_silence(silero_model, speech):
    vad = ae.SileroVad.create(silero_model)
    assert ae.SileroVad.default_model_path() == silero_model
    vad.prepare(RATE, 512)
    assert vad.chunk_samples() == 512
    silence_max = max(vad.process(array.array("f", [0.0] * 512)) for _ in range(10))
    vad.reset()
    assert vad.chunks_processed() == 0
    speech_max = max(vad.process(speech[i:i + 512]) for i in range(0, len(speech) - 511, 512))
    assert vad.chunks_processed() == len(speech) // 512
    assert silence_max < 0.1 < 0.5 < speech_max


def test_silero_vad_missing_model_is_an_io_error():
    with pytest.raises(ae.EngineIOError, match="nonexistent"):
        ae.SileroVad.create("/nonexistent/silero_vad_v5.onnx")


async def test_process_vad_with_silero_finds_the_speech(silero_model, speech):
    cfg = ae.VadConfig()
    cfg.algorithm = ae.VadAlgorithm.SILERO
    # Silero scores 512-sample chunks: its values trail the audio by up to one chunk (silero_vad.hpp), and its
    # probability decays over a chunk or two after the last syllable (espeak-ng's clip differs slightly from call
    # to call in one process: it carries state from one text to the next).
    frames = await check_segment_inside(engine(), speech, cfg, end_slack_samples=2 * 512 + PERIOD)
    assert max(f.probability for f in frames) > 0.5


# ---- WebRTC ----------------------------------------------------------------------------------------------------
def test_webrtc_vad_scores_speech_above_silence(speech):
    vad = ae.WebRtcVad.create()
    assert vad.aggressiveness() == ae.VadConfig().webrtc_aggressiveness == 2
    vad.prepare(RATE, 480)
    assert (vad.processing_rate_hz(), vad.sub_frame_samples()) == (RATE, RATE // 100)
    assert max(vad.process(array.array("f", [0.0] * 480)) for _ in range(10)) == 0.0
    vad.reset()
    assert vad.sub_frames_processed() == 0 and not vad.last_decision()
    # 30 ms frames: each value is the share of its three 10 ms sub-frames called speech.
    values = [vad.process(speech[i:i + 480]) for i in range(0, len(speech) - 479, 480)]
    assert vad.sub_frames_processed() == 3 * len(values)
    assert all(min(abs(v - k / 3) for k in range(4)) < 1e-6 for v in values)
    assert sum(values) > 0.5 * len(values)
    # A 5 ms frame completes no sub-frame (the previous decision again), the next completes one.
    vad.reset()
    assert vad.process(speech[:80]) == 0.0 and vad.sub_frames_processed() == 0
    assert vad.process(speech[80:160]) in (0.0, 1.0) and vad.sub_frames_processed() == 1


def test_webrtc_vad_resamples_other_rates_and_names_bad_arguments():
    assert [ae.WebRtcVad.processing_rate_for(r) for r in (11025, 22050, 24000, 44100, 96000)] == [
        8000, 16000, 16000, 48000, 48000]
    vad = ae.WebRtcVad.create(3)
    vad.prepare(44100, 441)
    assert vad.processing_rate_hz() == 48000 and vad.resampler_delay_ms() > 0
    with pytest.raises(ae.InvalidArgumentError, match="sample_rate_hz = 7999"):
        vad.prepare(7999, 160)
    with pytest.raises(ae.InvalidConfigError, match=r"vad.webrtc_aggressiveness.*0\.\.3"):
        ae.WebRtcVad.create(4)
    cfg = ae.VadConfig()
    cfg.webrtc_aggressiveness = -1
    with pytest.raises(ae.InvalidConfigError, match="vad.webrtc_aggressiveness"):
        ae.validate_vad_config(cfg)


async def test_process_vad_with_webrtc_finds_the_speech(speech):
    cfg = ae.VadConfig()
    cfg.algorithm = ae.VadAlgorithm.WEBRTC
    # The library holds its decision for a few frames after speech (its hangover).
    frames = await check_segment_inside(engine(), speech, cfg, end_slack_samples=RATE * 3 // 10)
    assert {f.probability for f in frames} <= {0.0, 1.0}


# ---- devices ---------------------------------------------------------------------------------------------------
def test_host_apis_and_devices_are_lists_of_their_types():
    apis = ae.list_host_apis()
    assert isinstance(apis, list)
    for api in apis:
        assert isinstance(api, ae.HostApiInfo) and isinstance(api.name, str) and api.device_count >= 0
    devices = ae.list_devices()
    assert isinstance(devices, list)
    assert all(isinstance(d, ae.DeviceInfo) for d in devices)
    assert len(devices) == sum(a.device_count for a in apis)


async def test_device_streams_and_stats_before_start_are_closed():
    e = engine()
    streams = e.get_device_streams()
    assert isinstance(streams, ae.DuplexStreams)
    assert not streams.capture.open and not streams.playback.open
    stats = e.get_device_stats()
    assert isinstance(stats, ae.DeviceStats)
    assert (stats.callbacks, stats.running, stats.failed) == (0, False, False)


async def test_start_full_duplex_on_a_missing_device_names_it():
    e = engine()
    e.set_duplex_mode(ae.DuplexMode.FULL)
    e.set_capture_device("no-such-capture-device-42")
    with pytest.raises(ae.AudioEngineError, match="no-such-capture-device-42|device") as info:
        await e.start_full_duplex()
    assert type(info.value) is not ae.AudioEngineError  # the subclass of the error code
    assert not e.is_running()
    await e.shutdown()


async def test_start_full_duplex_on_the_default_devices_or_a_clear_error_without():
    e = engine()
    if ae.has_default_devices():
        # A machine with a sound card: the default devices open and the engine runs on their clock.
        streams = await e.start_full_duplex()
        assert e.is_running() and streams.capture.sample_rate_hz > 0
        await e.shutdown()
        return
    with pytest.raises(ae.AudioEngineError, match="(?i)device") as info:
        await e.start_full_duplex()
    assert type(info.value) is not ae.AudioEngineError
    assert not e.is_running()
    await e.shutdown()


async def test_device_selection_while_running_is_refused(stepped):
    with pytest.raises(ae.AlreadyRunningError):
        stepped.set_capture_device("")
    with pytest.raises(ae.AlreadyRunningError):
        stepped.set_duplex_mode(ae.DuplexMode.CAPTURE_ONLY)
    with pytest.raises(ae.AlreadyRunningError):
        await stepped.start_full_duplex()


# ---- audio files -----------------------------------------------------------------------------------------------
def test_pcm16_wav_round_trip_is_exact(tmp_path):
    path = str(tmp_path / "ramp.wav")
    pcm = ramp_pcm(RATE + 123)
    w = ae.AudioFileWriter.create(path, ae.AudioFormat(RATE, 1, ae.SampleType.PCM16), RATE, 1)
    w.write(pcm[:1000])
    w.write(ae.decode_samples(pcm[1000:], ae.SampleType.PCM16))  # float32 bytes
    w.close()
    w.close()  # idempotent
    assert w.frames_written() == len(pcm)

    whole = ae.AudioFileReader.read_all(path)
    assert array.array("h", ae.encode_samples(whole, ae.SampleType.PCM16)) == pcm

    r = ae.AudioFileReader.open(path)
    info = r.info()
    assert (info.sample_rate_hz, info.channels, info.num_frames) == (RATE, 1, len(pcm))
    assert info.container.lower() == "wav"
    pieces = []
    while chunk := r.read(4000):
        assert len(chunk) <= 4000 * 4
        pieces.append(chunk)
    assert b"".join(pieces) == whole


def test_file_io_errors_name_the_problem(tmp_path):
    with pytest.raises(ae.EngineIOError, match="missing.wav"):
        ae.AudioFileReader.open(str(tmp_path / "missing.wav"))
    with pytest.raises(ae.InvalidArgumentError):
        ae.AudioFileWriter.create(str(tmp_path / "x.mp9"), ae.AudioFormat(RATE, 1, ae.SampleType.PCM16), RATE, 1)
    w = ae.AudioFileWriter.create(str(tmp_path / "st.wav"), ae.AudioFormat(RATE, 2, ae.SampleType.PCM16), RATE, 2)
    with pytest.raises(ae.InvalidArgumentError, match="2 channels"):
        w.write(array.array("f", [0.0] * 3))
    w.close()
