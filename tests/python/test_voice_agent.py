"""The example orchestrator end to end against the local stand-in speech API, in real time with no sound card:
speech in, endpoint, the answer played, barge-in, truncate sent with the exact played position."""

import numpy as np

import audioengine as ae
from conftest import PERIOD, RATE
from voice_agent import run_conversation


async def test_voice_agent_full_flow_with_barge_in_and_exact_truncate():
    agent, server, metrics, played = await run_conversation(clock_mode="realtime", barge_in_after_ms=800)
    what = [w for _, w in agent.timeline.entries]
    # Two user turns, each committed at its endpoint before its answer starts.
    assert server.commits == 2
    assert what.count("endpoint: the user's turn is over") == 2
    assert what.index("endpoint: the user's turn is over") < what.index("AI answers (item 1)")
    # The microphone was streamed: whole PCM16 periods, at least both utterances' worth.
    assert server.bytes_received % (2 * PERIOD) == 0 and server.bytes_received > 2 * RATE * 2
    # Barge-in during answer 1, decided by the engine.
    assert len(agent.interrupts) == 1
    intr = agent.interrupts[0]
    assert intr.data.reason == ae.InterruptReason.BARGE_IN and intr.data.item_id == 1
    played_samples = intr.data.played_samples
    assert 0 < played_samples < len(server.answers[1]) // 2
    # The truncate carried exactly the played position.
    assert server.truncations == [(1, played_samples * 1000 / RATE)]
    assert agent.truncates_sent == server.truncations
    # ... which is exactly what reached the sink: answer 1's first played_samples, then silence.
    assert metrics.playback_underruns == 0
    out = np.frombuffer(played, np.float32)
    answer1 = np.frombuffer(server.answers[1], np.int16) / np.float32(32768)
    s1 = agent.started[1]
    # The last 5 ms (barge_in.fade_out_ms, 80 samples) fade to zero instead of a hard cut; they reached the sink.
    fade = 80
    assert np.array_equal(out[s1:s1 + played_samples - fade], answer1[:played_samples - fade])
    gains = np.float32(1) - np.arange(1, fade + 1, dtype=np.float32) / np.float32(fade + 1)
    assert np.allclose(out[s1 + played_samples - fade:s1 + played_samples],
                       answer1[played_samples - fade:played_samples] * gains, rtol=1e-5, atol=0)
    assert not out[s1 + played_samples:s1 + played_samples + PERIOD].any()
    assert intr.t_samples == s1 + played_samples
    # Answer 2 was played to the end, unchanged.
    assert agent.completed == [2]
    answer2 = np.frombuffer(server.answers[2], np.int16) / np.float32(32768)
    s2 = agent.started[2]
    assert np.array_equal(out[s2:s2 + len(answer2)], answer2)
    assert metrics.barge_ins == 1
