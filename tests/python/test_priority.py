"""Playback priorities from Python: NEXT and INTERJECT keep the queued answer, the interjection is spliced in
exactly, an interrupt during it reports both items, PLAYBACK_COMPLETE carries its play-out position, and the
names parse. The mock engine runs the virtual clock at 16 kHz with 10 ms periods; the barge-in fade is 80 samples."""

import pytest

import audioengine as ae
from conftest import floats, ramp_pcm

T = ae.AudioEventType
P = ae.PlaybackPriority
FADE = 80


def playback_events(engine):
    keep = (T.PLAYBACK_STARTED, T.PLAYBACK_COMPLETE, T.PLAYBACK_PAUSED, T.PLAYBACK_RESUMED, T.QUEUE_DRAINED)
    return [(ev.type, ev.t_samples, ev.data["item_id"], ev.data["samples"]) for ev in engine._history
            if ev.type in keep]


async def test_next_plays_after_the_item_now_playing_ahead_of_the_queue(mock):
    await mock.queue_playback(ramp_pcm(1000), item_id=1)
    await mock.queue_playback(ramp_pcm(800, base=5000), item_id=2)
    await mock.advance(20)
    await mock.queue_playback(ramp_pcm(500, base=-3000), item_id=9, priority=P.NEXT)
    await mock.advance(200)
    out = floats(mock.read_played_audio(3200))
    expected = [v / 32768.0 for v in list(ramp_pcm(1000)) + list(ramp_pcm(500, base=-3000)) + list(ramp_pcm(800, base=5000))]
    assert list(out[:2300]) == expected
    assert set(out[2300:]) == {0.0}
    assert playback_events(mock) == [
        (T.PLAYBACK_STARTED, 0, 1, 0), (T.PLAYBACK_COMPLETE, 1000, 1, 1000),
        (T.PLAYBACK_STARTED, 1000, 9, 0), (T.PLAYBACK_COMPLETE, 1500, 9, 500),
        (T.PLAYBACK_STARTED, 1500, 2, 0), (T.PLAYBACK_COMPLETE, 2300, 2, 800),
        (T.QUEUE_DRAINED, 2300, 2, 2300)]
    # The virtual clock has nothing between the sink and the listener: play-out is delivery.
    for ev in mock._history:
        if ev.type == T.PLAYBACK_COMPLETE:
            assert ev.data["played_out_at_samples"] == ev.t_samples
            assert ev.data["played_out_at_ms"] == ev.t_samples / 16.0


async def test_interject_holds_the_answer_and_resumes_it_exactly(mock):
    answer = ramp_pcm(3200)
    chime = ramp_pcm(500, base=-3000)
    await mock.queue_playback(answer, item_id=1)
    await mock.advance(30)
    await mock.queue_playback(chime, item_id=9, priority=P.INTERJECT)
    await mock.advance(300)
    out = floats(mock.read_played_audio(4800))
    held_at = 480 + FADE
    # Spliced: the answer up to the fade, the chime, then the answer from its very next sample.
    assert list(out[:480]) == [v / 32768.0 for v in answer[:480]]
    assert all(0 < out[480 + k] < answer[480 + k] / 32768.0 for k in range(FADE))
    assert list(out[held_at:held_at + 500]) == [v / 32768.0 for v in chime]
    resumed = held_at + 500
    assert all(0 < out[resumed + k] < answer[held_at + k] / 32768.0 for k in range(FADE))
    assert list(out[resumed + FADE:resumed + 3200 - held_at]) == [v / 32768.0 for v in answer[held_at + FADE:]]
    assert playback_events(mock) == [
        (T.PLAYBACK_STARTED, 0, 1, 0), (T.PLAYBACK_PAUSED, held_at, 1, held_at),
        (T.PLAYBACK_STARTED, held_at, 9, 0), (T.PLAYBACK_COMPLETE, resumed, 9, 500),
        (T.PLAYBACK_RESUMED, resumed, 1, held_at), (T.PLAYBACK_COMPLETE, 3700, 1, 3200),
        (T.QUEUE_DRAINED, 3700, 1, 3700)]


async def test_interrupt_during_an_interjection_reports_both_items(mock):
    await mock.queue_playback(ramp_pcm(3200), item_id=1)
    await mock.advance(30)
    await mock.queue_playback(ramp_pcm(1600, base=-3000), item_id=9, priority=P.INTERJECT)
    await mock.advance(20)
    cut = await mock.interrupt_playback()
    assert cut.item_id == 9 and cut.played_samples == 240 and cut.played_ms == 15.0
    assert cut.held_item_id == 1 and cut.held_played_samples == 560 and cut.held_played_ms == 35.0
    assert cut.flushed_samples == (1600 - 240) + (3200 - 560)
    # Both items are stale now.
    await mock.queue_playback(ramp_pcm(320), item_id=1)
    await mock.queue_playback(ramp_pcm(320), item_id=9)
    assert mock.get_metrics().stale_samples_dropped == 640


async def test_priority_names_and_validation(mock):
    for p in (P.NORMAL, P.REPLACE, P.NEXT, P.INTERJECT):
        assert ae.parse_playback_priority(p.name.lower()) == p
    assert ae.parse_playback_priority("Interject") == P.INTERJECT
    with pytest.raises(ae.InvalidArgumentError, match="urgent.*normal, replace, next, interject"):
        ae.parse_playback_priority("urgent")
