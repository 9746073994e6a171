"""MockAudioEngine: simulated user speech, network delay and scripted actions, exact on the virtual clock."""

import numpy as np
import pytest

import audioengine as ae
from conftest import PERIOD, RATE, ramp_pcm

T = ae.AudioEventType


async def test_simulate_user_speech_places_the_speech_on_the_timeline(mock):
    seg = await mock.simulate_user_speech("Hello AI")
    assert seg.start_sample == 0 and seg.sample_rate_hz == RATE
    assert 0.2 < seg.duration_ms / 1000 < 2.0
    # advance=True ran the clock through the speech and its trailing silence, in whole periods.
    assert mock.now_samples() == -(-(seg.end_sample + seg.trailing_silence_samples) // PERIOD) * PERIOD
    before = mock.now_samples()
    second = await mock.simulate_user_speech("Hello AI")
    assert second.start_sample == before
    assert abs(second.num_samples - seg.num_samples) <= PERIOD  # espeak-ng's output varies by a few samples
    starts = [ev for ev in mock._history if ev.type == T.VAD_SPEECH_START]
    assert len(starts) == 2
    # The same utterance is detected at the same offset from its start both times.
    assert abs((starts[1].data.speech_start_sample - second.start_sample) -
               (starts[0].data.speech_start_sample - seg.start_sample)) <= PERIOD


async def test_network_delay_postpones_playback_by_exactly_the_delay(mock):
    await mock.advance(50)
    mock.simulate_network_delay(200)
    await mock.queue_playback(ramp_pcm(800), item_id=7)
    assert mock.get_queue_depths().playback_samples == 0  # still "on the network"
    await mock.advance(150)
    assert mock.played_samples_total() == 0
    await mock.advance(100)
    started = await mock.wait_for_event(T.PLAYBACK_STARTED, 0)
    assert started.data.item_id == 7
    assert started.t_samples == (50 + 200) * RATE // 1000
    await mock.advance(100)
    assert mock.played_samples_total() == 800
    mock.simulate_network_delay(0)
    await mock.queue_playback(ramp_pcm(160), item_id=8)
    assert mock.get_queue_depths().playback_samples == 160
    with pytest.raises(ae.InvalidArgumentError, match="delay_ms = -1"):
        mock.simulate_network_delay(-1)


async def test_scripted_actions_run_at_their_engine_time(mock):
    seen = []

    async def late_answer():
        seen.append(("answer", mock.now_samples()))
        await mock.queue_playback(np.full(1600, 1000, np.int16), item_id=2)

    mock.script([
        (100, ae.make_custom_event(11, 0.5, "scripted")),
        (250, late_answer),
        (400, T.STATE_CHANGED),
        (900, lambda: seen.append(("vad", mock.get_vad_state()))),
    ])
    assert mock.pending_actions() == 4
    await mock.advance(1000)
    assert mock.pending_actions() == 0
    custom = await mock.wait_for_event(T.CUSTOM, 0)
    assert custom.t_samples == 1600 and custom.data.text == "scripted" and custom.data.code == 11
    state = await mock.wait_for_event(T.STATE_CHANGED, 0)
    assert state.t_samples == 6400
    assert seen == [("answer", 4000), ("vad", ae.VADState.SILENCE)]
    done = await mock.wait_for_event(T.PLAYBACK_COMPLETE, 0)
    assert done.t_samples == 4000 + 1600


async def test_mock_requires_a_virtual_clock():
    with pytest.raises(ValueError, match="clock_mode"):
        ae.MockAudioEngine(clock_mode="realtime")
