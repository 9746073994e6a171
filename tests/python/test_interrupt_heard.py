"""What an interruption says the user heard, from Python: on the virtual clock nothing is pending between the
engine and the listener, so the device-side fields agree exactly with played_samples and at_sample."""

import audioengine as ae
from conftest import PERIOD, ramp_pcm

T = ae.AudioEventType


async def test_interrupt_on_the_virtual_clock_reports_everything_heard_at_the_decision(stepped):
    await stepped.queue_playback(ramp_pcm(8000), item_id=3)
    await stepped.advance(70)
    r = await stepped.interrupt_playback()
    assert r.played_samples == 7 * PERIOD
    assert r.heard_at_decision_samples == r.played_samples
    assert r.heard_at_decision_ms == r.played_ms == 70.0
    assert r.in_device_samples == 0
    assert r.output_silent_at_samples == r.at_sample == 7 * PERIOD
    ev = await stepped.wait_for_event(T.INTERRUPT, timeout_ms=1000)
    assert ev.data.heard_at_decision_samples == 7 * PERIOD and ev.data.heard_at_decision_ms == 70.0
    assert ev.data.in_device_samples == 0
    assert ev.data.output_silent_at_samples == ev.t_samples == 7 * PERIOD
    w = await stepped.wait_for_interrupt(timeout_ms=1000)
    assert w.heard_at_decision_samples == w.played_samples == 7 * PERIOD
    assert w.output_silent_at_samples == w.at_sample


async def test_barge_in_inside_a_tick_counts_the_faded_head_as_heard(mock):
    await mock.queue_playback(ramp_pcm(32000), item_id=4)
    await mock.advance(500)
    await mock.simulate_user_speech("Stop")
    ev = await mock.wait_for_event(T.INTERRUPT, 0)
    assert ev.data.reason == ae.InterruptReason.BARGE_IN
    assert ev.t_samples % PERIOD == 80  # cut inside the decision tick, after the 80-sample fade
    assert ev.data.heard_at_decision_samples == ev.data.played_samples == ev.t_samples
    assert ev.data.in_device_samples == 0
    assert ev.data.output_silent_at_samples == ev.t_samples
