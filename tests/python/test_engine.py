"""AudioEngine from asyncio: lifecycle, playback and interruption accounting, capture stream, events, VAD,
metrics, stream buffers, config, errors. Stepped-clock tests assert exactly, in samples."""

import array
import asyncio
import json
import logging
import threading
import time

import numpy as np
import pytest

import audioengine as ae
from conftest import PERIOD, RATE, floats, ramp_pcm

T = ae.AudioEventType


async def test_fast_lane_without_a_device_plays_into_a_memory_sink_in_real_time(caplog):
    caplog.set_level(logging.INFO, logger="audioengine")
    e = ae.AudioEngine.create_for_fast_lane(sample_rate=RATE, chunk_duration_ms=10)
    await e.initialize()
    try:
        status = e.get_resource_status()
        assert status.sink == "memory" and status.clock_mode == "realtime" and status.running
        assert set(status.threads) == {"ae-audio", "ae-events"}
        assert any("memory sink" in r.getMessage() and "real time" in r.getMessage() for r in caplog.records)
        pcm = ramp_pcm(4800)  # 300 ms
        t0 = time.monotonic()
        await e.queue_playback(pcm, item_id=3)
        done = await e.wait_for_event(T.PLAYBACK_COMPLETE, timeout_ms=3000)
        elapsed = time.monotonic() - t0
        assert done is not None and done.data.item_id == 3 and done.data.samples == 4800
        assert elapsed >= 0.27  # paced: 300 ms of audio cannot finish sooner than real time allows
        out = np.frombuffer(e.read_played_audio(RATE * 5), np.float32)
        start = int(np.argmax(out != 0))
        assert np.array_equal(out[start:start + 4800], np.frombuffer(pcm, np.int16) / np.float32(32768))
    finally:
        await e.shutdown()


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "numpy_int16", "numpy_float32", "array"])
async def test_queue_playback_accepts_any_buffer_and_plays_it_exactly(stepped, kind):
    pcm = np.frombuffer(ramp_pcm(1000), np.int16)
    data = {
        "bytes": pcm.tobytes(),
        "bytearray": bytearray(pcm.tobytes()),
        "memoryview": memoryview(pcm.tobytes()),
        "numpy_int16": pcm,
        "numpy_float32": pcm.astype(np.float32) / 32768,
        "array": array.array("h", pcm.tobytes()),
    }[kind]
    await stepped.queue_playback(data, item_id=1)
    await stepped.advance(100)
    out = np.frombuffer(stepped.read_played_audio(10000), np.float32)
    assert len(out) == 1600
    assert np.array_equal(out[:1000], pcm / np.float32(32768))
    assert not out[1000:].any()
    assert stepped.played_samples_total() == 1000


async def test_queue_playback_in_another_format_is_converted(stepped):
    # 8 kHz PCM16 at half the rate: twice as many samples come out at 16 kHz.
    await stepped.queue_playback(np.full(800, 8000, np.int16), item_id=1, format=ae.AudioFormat(8000, 1, ae.SampleType.PCM16))
    await stepped.advance(200)
    assert abs(stepped.played_samples_total() - 1600) <= 16


async def test_interrupt_playback_reports_exactly_what_was_played_and_flushed(stepped):
    await stepped.queue_playback(ramp_pcm(8000), item_id=42)  # 500 ms
    await stepped.advance(130)
    assert stepped.is_playing_audio()
    r = await stepped.interrupt_playback()
    assert r.was_playing and r.item_id == 42
    assert r.played_samples == 13 * PERIOD and r.played_ms == 130.0
    assert r.flushed_samples == 8000 - 13 * PERIOD and r.audio_flushed_ms == 370.0
    assert r.reason == ae.InterruptReason.USER
    assert not stepped.is_playing_audio()
    ev = await stepped.wait_for_event(T.INTERRUPT, timeout_ms=1000)
    assert ev.data.played_samples == 13 * PERIOD and ev.data.played_ms == 130.0
    assert ev.data.item_id == 42 and ev.data.reason == ae.InterruptReason.USER
    # Audio still arriving for the interrupted item is dropped and counted.
    await stepped.queue_playback(ramp_pcm(320), item_id=42)
    await stepped.advance(50)
    assert stepped.played_samples_total() == 13 * PERIOD
    assert stepped.get_metrics()["stale_samples_dropped"] == 320


async def test_capture_stream_yields_the_injected_audio_chunk_by_chunk(stepped):
    stream = stepped.start_capture()
    assert stepped.is_capturing()
    pcm = ramp_pcm(1600)
    stepped.inject_test_audio(pcm)
    await stepped.advance(100)
    chunks = []
    while len(chunks) < 10:
        ev = await asyncio.wait_for(stream.__anext__(), 2)
        if ev.type == T.AUDIO_CHUNK:
            chunks.append(ev)
    assert [c.info.sequence for c in chunks] == list(range(10))
    assert [c.t_samples for c in chunks] == [i * PERIOD for i in range(10)]
    assert all(isinstance(c.data, bytes) and len(c.data) == 2 * PERIOD for c in chunks)
    assert b"".join(c.data for c in chunks) == pcm.tobytes()
    # Closing the stream hands chunks back to the pull API.
    await stream.aclose()
    stepped.inject_test_audio(pcm[:PERIOD])
    await stepped.advance(10)
    chunk = stepped.try_read_chunk()
    assert chunk is not None and chunk.data == pcm[:PERIOD].tobytes() and chunk.info.start_sample == 10 * PERIOD
    assert (await stepped.read_chunk(10)) is None


async def test_stream_ends_on_stop_capture_and_on_shutdown():
    e = ae.AudioEngine.create_for_fast_lane(clock_mode="stepped")
    await e.initialize()
    s1 = e.start_capture()
    e.stop_capture()
    assert [ev async for ev in s1] == []
    s2 = await e.start_capture()  # awaitable too
    await e.shutdown()
    assert [ev async for ev in s2] == []
    await e.shutdown()  # idempotent
    assert not e.is_initialized()


async def test_subscribers_sync_and_async_run_on_the_loop_thread(mock):
    loop_thread = threading.get_ident()
    sync_calls, async_calls, filtered = [], [], []

    def on_start(ev):
        sync_calls.append((ev.type, threading.get_ident()))

    async def on_start_async(ev):
        await asyncio.sleep(0)
        async_calls.append((ev.data.speech_start_sample, threading.get_ident()))

    sid = mock.subscribe(T.VAD_SPEECH_START, on_start)
    mock.subscribe(T.SPEECH_START, on_start_async)
    mock.subscribe_all(lambda ev: filtered.append(ev.type), filter=lambda ev: ev.type == T.VAD_SPEECH_END)
    seg = await mock.simulate_user_speech("Hello AI")
    await asyncio.sleep(0.01)
    assert sync_calls == [(T.VAD_SPEECH_START, loop_thread)]
    assert len(async_calls) == 1 and async_calls[0][1] == loop_thread
    assert seg.start_sample <= async_calls[0][0] <= seg.start_sample + 800
    assert filtered == [T.VAD_SPEECH_END]
    assert mock.unsubscribe(sid) and not mock.unsubscribe(sid)
    await mock.simulate_user_speech("Again")
    await asyncio.sleep(0.01)
    assert len(sync_calls) == 1 and len(async_calls) == 2


async def test_a_raising_subscriber_does_not_stop_the_others(mock, caplog):
    seen = []
    mock.subscribe(T.CUSTOM, lambda ev: 1 / 0)
    mock.subscribe(T.CUSTOM, lambda ev: seen.append(ev.data.text))
    mock.emit_event(ae.make_custom_event(7, 1.5, "hello"))
    await mock.wait_until_dispatched()
    assert seen == ["hello"]
    assert any("raised" in r.getMessage() for r in caplog.records)


async def test_wait_for_event_history_after_sequence_and_timeout(stepped):
    stepped.emit_event(ae.make_custom_event(1, 0.0, "first"))
    first = await stepped.wait_for_event(T.CUSTOM, timeout_ms=1000)
    assert first.data.text == "first" and first.data.code == 1
    assert (await stepped.wait_for_event(T.CUSTOM, timeout_ms=50, after_sequence=first.sequence)) is None
    waiter = asyncio.ensure_future(stepped.wait_for_event(T.CUSTOM, timeout_ms=2000, after_sequence=first.sequence))
    await asyncio.sleep(0.01)
    stepped.emit_event(ae.make_custom_event(2, 0.0, "second"))
    second = await waiter
    assert second.data.text == "second" and second.sequence > first.sequence


async def test_vad_state_follows_the_simulated_user(mock):
    assert mock.get_vad_state() == ae.VADState.SILENCE
    seg = await mock.simulate_user_speech("Hello AI, what is the weather like today", advance=False)
    await mock.advance(int(seg.end_ms / 2))
    assert mock.get_vad_state() == ae.VADState.SPEAKING
    assert mock.get_vad_probability() > 0
    await mock.advance(int(seg.end_ms / 2) + 600)
    assert mock.get_vad_state() == ae.VADState.SILENCE
    start = await mock.wait_for_event(T.VAD_SPEECH_START, 0)
    end = await mock.wait_for_event(T.VAD_SPEECH_END, 0)
    assert seg.start_sample <= start.data.speech_start_sample <= seg.start_sample + 800
    assert seg.end_sample - 3200 <= end.data.speech_end_sample <= seg.end_sample + PERIOD
    # The end is decided after min_silence_ms of silence.
    assert end.t_samples - end.data.speech_end_sample >= mock.config.vad.min_silence_ms * RATE // 1000


async def test_barge_in_interrupts_in_the_tick_speech_is_confirmed(mock):
    answer = np.frombuffer(ae.synthesize_speech("I am a long answer that goes on and on for a while"), np.float32)
    await mock.queue_playback(answer, item_id=5)
    await mock.advance(500)
    assert mock.is_playing_audio()
    await mock.simulate_user_speech("Stop")
    ev = await mock.wait_for_event(T.INTERRUPT, 0)
    start = await mock.wait_for_event(T.VAD_SPEECH_START, 0)
    assert ev.data.reason == ae.InterruptReason.BARGE_IN and ev.data.item_id == 5
    # Same tick: speech is confirmed at the end of the tick whose output the interrupt silences, after the
    # 80-sample (5 ms) fade at its head.
    assert ev.t_samples == start.t_samples - PERIOD + 80
    assert ev.data.played_samples == ev.t_samples  # played from t = 0 without a gap
    assert ev.data.played_samples + ev.data.flushed_samples == len(answer)
    assert not mock.is_playing_audio()
    m = mock.get_metrics()
    assert m.barge_ins == 1 and m.interruptions == 1


async def test_metrics_are_dict_like_and_match_the_json_export(stepped):
    await stepped.queue_playback(ramp_pcm(800), item_id=1)
    await stepped.advance(320)
    m = stepped.get_metrics()
    assert m["ticks"] == 32 and m.ticks == 32
    assert m["played_samples"] == 800 and m["processed_samples"] == 5120
    # Stage timing samples one tick in 16: ticks 0 and 16.
    assert m["tick"]["count"] == 2 and m.tick.p99_ns >= m.tick.p50_ns > 0
    j = json.loads(stepped.export_metrics())
    for key in ("ticks", "played_samples", "processed_samples", "interruptions", "chunks_dropped"):
        assert j[key] == m[key], key


async def test_stream_buffers_count_overflow_and_wait_for_ready(stepped):
    cfg = ae.StreamBufferConfig(name="net", capacity_ms=100, ready_threshold_ms=20,
                                format=ae.AudioFormat(16000, 1, ae.SampleType.PCM16),
                                overflow=ae.OverflowPolicy.DROP_OLDEST)
    bid = stepped.create_stream_buffer(cfg)
    buf = stepped.get_stream_buffer(bid)
    with pytest.raises(ae.EngineTimeoutError, match="not ready"):
        await stepped.wait_for_buffer_ready(bid, 20)
    pcm = np.arange(2000, dtype=np.int16)
    assert buf.write(pcm) == 2000
    await stepped.wait_for_buffer_ready(bid, 100)
    st = stepped.get_buffer_status(bid)
    assert st.buffered_frames == 1600 and st.overflow_frames == 400 and st.ready and st.name == "net"
    assert buf.read(1600) == pcm[400:].tobytes()  # the oldest 400 were displaced
    assert buf.read(10) == b"" and buf.status().underflow_frames == 10
    with pytest.raises(ae.InvalidArgumentError, match="whole number of frames"):
        buf.write(b"\x00\x01\x02")
    with pytest.raises(ae.InvalidArgumentError, match="no stream buffer with id 99"):
        stepped.get_buffer_status(99)


async def test_calls_before_initialize_raise_clear_errors():
    e = ae.AudioEngine.create_for_fast_lane(clock_mode="stepped")
    with pytest.raises(ae.NotInitializedError, match="initialize"):
        await e.queue_playback(b"\x00\x00" * 160)
    with pytest.raises(ae.NotInitializedError, match="initialize"):
        await e.interrupt_playback()
    with pytest.raises(ae.NotInitializedError):
        e.start_capture()
    with pytest.raises(ae.NotRunningError, match="start"):
        await e.advance(10)


async def test_initialize_rejects_an_invalid_config_naming_every_field():
    e = ae.AudioEngine.create_for_fast_lane(sample_rate=7, chunk_duration_ms=10, clock_mode="stepped")
    with pytest.raises(ae.InvalidConfigError) as err:
        await e.initialize()
    assert "audio.sample_rate_hz = 7" in str(err.value) and "8000..48000" in str(err.value)
    assert [i.field for i in err.value.issues] == ["audio.sample_rate_hz"]
    with pytest.raises(ValueError, match="clock_mode"):
        ae.AudioEngine.create_for_fast_lane(clock_mode="warp")


async def test_update_config_and_configure_fast_lane(stepped):
    c = stepped.config
    c.vad.min_silence_ms = 700
    c.audio.sample_rate_hz = 24000
    upd = stepped.update_config(c)
    assert "vad.min_silence_ms" in upd.applied and "audio.sample_rate_hz" in upd.needs_restart
    assert stepped.config.vad.min_silence_ms == 700 and stepped.config.audio.sample_rate_hz == RATE
    c.vad.min_speech_ms = -1
    with pytest.raises(ae.InvalidConfigError, match=r"vad.min_speech_ms = -1"):
        stepped.update_config(c)
    with pytest.raises(ae.InvalidArgumentError, match=r"max_latency_ms = 5; valid: 10..1000"):
        stepped.configure_fast_lane(5, 0.5, 100)
    stepped.configure_fast_lane(100, 0.6, 120)
    assert stepped.config.vad.min_speech_ms == 120


async def test_playback_controls_flush_stop_and_depths(stepped):
    await stepped.queue_playback(ramp_pcm(3200), item_id=1)
    d = stepped.get_queue_depths()
    assert d.playback_samples == 3200 and d.playback_ms == 200.0
    assert stepped.flush_playback_queue() == 3200 * 2  # bytes in PCM16
    assert stepped.get_queue_depths().playback_samples == 0
    assert stepped.play_audio_sync(ramp_pcm(160), 2)
    stepped.stop_playback()
    await stepped.advance(20)
    assert stepped.played_samples_total() == 0
    await stepped.play_audio(ramp_pcm(160), 3)
    await stepped.advance(20)
    assert stepped.played_samples_total() == 160
    out = np.zeros(8000, np.float32)
    n = stepped.read_played_audio_into(out)
    assert n == 640 and out[:n].any()
    r = stepped.flush_all_queues()
    assert r.playback_bytes == 0


async def test_the_gil_is_released_while_the_engine_runs():
    e = ae.AudioEngine.create_for_fast_lane(sample_rate=RATE, chunk_duration_ms=10)  # realtime clock
    await e.initialize()
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = count[0]
        chunks = 0
        async for ev in e.start_capture():
            if ev.type == T.AUDIO_CHUNK:
                chunks += 1
                if chunks == 30:
                    break
        during_capture = count[0] - before
        # A blocking engine call from the main thread: the other thread must go on meanwhile.
        before = count[0]
        assert e.core.wait_for_event(ae._core.AudioEventType.ENDPOINT, 300) is None
        during_blocking_call = count[0] - before
    finally:
        stop.set()
        t.join()
        await e.shutdown()
    assert chunks == 30
    assert during_capture > 1000
    assert during_blocking_call > 1000


async def test_devices_auto_falls_back_to_the_paced_virtual_clock_without_a_sound_card():
    # This machine's device list decides what "auto" must do; either way the engine runs and says which.
    engine = ae.AudioEngine.create_for_fast_lane(sample_rate=16000, chunk_duration_ms=10)
    await engine.initialize()
    try:
        status = engine.get_resource_status()
        if not ae.has_default_devices():
            assert status.clock == ae.ClockSource.VIRTUAL
            assert status.sink == "memory" and status.clock_mode == "realtime"
        else:
            assert status.clock in (ae.ClockSource.DEVICE, ae.ClockSource.VIRTUAL)
    finally:
        await engine.shutdown()
    with pytest.raises(ValueError, match="devices='bogus'"):
        ae.AudioEngine.create_for_fast_lane(devices="bogus")


async def test_restart_keeps_one_delivery_per_event(stepped):
    seen = []
    stepped.subscribe(ae.AudioEventType.PLAYBACK_STARTED, lambda ev: seen.append(ev))
    for item in (1, 2):
        await stepped.initialize()
        await stepped.queue_playback(ramp_pcm(160), item_id=item)
        await stepped.advance(20)
        await asyncio.sleep(0.05)
        await stepped.shutdown()
    assert len(seen) == 2
