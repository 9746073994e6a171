"""Processing modes and offline processing from Python (processors themselves are added from C++)."""

import array
import asyncio

import pytest

import audioengine as ae
from conftest import PERIOD

T = ae.AudioEventType
M = ae.ProcessingMode


async def test_modes_switch_at_the_next_tick_and_are_reported(stepped):
    changes = []
    stepped.subscribe(T.MODE_CHANGED, lambda ev: changes.append((ev.data["from"], ev.data["to"])))
    assert stepped.get_mode() == M.QUALITY
    stepped.optimize_for_latency()
    assert stepped.get_mode() == M.FAST_LANE
    assert stepped.get_active_routing() == M.QUALITY  # not before the next tick
    await stepped.advance(10)
    assert stepped.get_active_routing() == M.FAST_LANE
    stepped.optimize_for_quality()
    await stepped.advance(10)
    stepped.force_fast_lane()
    await stepped.advance(10)
    await asyncio.sleep(0.01)
    assert changes == [(M.QUALITY, M.FAST_LANE), (M.FAST_LANE, M.QUALITY), (M.QUALITY, M.FAST_LANE)]
    assert stepped.get_metrics().mode_switches == 3


async def test_adaptive_mode_validates_and_returns_to_quality_when_ticks_are_light(stepped):
    with pytest.raises(ae.InvalidConfigError, match="adaptive.low_load_fraction"):
        stepped.enable_adaptive_mode(ae.AdaptiveModeConfig(high_load_fraction=0.3, low_load_fraction=0.5))
    stepped.force_fast_lane()
    await stepped.advance(10)
    stepped.enable_adaptive_mode(ae.AdaptiveModeConfig(high_load_fraction=0.99, low_load_fraction=0.9,
                                                       ticks_to_fast_lane=1000, ticks_to_quality=3))
    assert stepped.get_mode() == M.ADAPTIVE
    await stepped.advance(30)
    assert stepped.get_active_routing() == M.FAST_LANE
    await stepped.advance(10)
    assert stepped.get_active_routing() == M.QUALITY
    stepped.set_mode(M.QUALITY)
    assert stepped.get_mode() == M.QUALITY


async def test_mock_engine_has_the_mode_api(mock):
    mock.optimize_for_latency()
    await mock.advance(10)
    assert mock.get_active_routing() == M.FAST_LANE


async def test_process_audio_with_no_processor_returns_the_audio_and_checks_the_render_length(stepped):
    x = array.array("f", [0.001 * i for i in range(3 * PERIOD + 7)])
    assert array.array("f", stepped.process_audio(x)) == x
    pcm = array.array("h", [1000, -2000, 3000])
    assert array.array("f", await stepped.process_audio_async(pcm, array.array("f", [0.0] * 3))) == \
        array.array("f", [v / 32768.0 for v in pcm])
    with pytest.raises(ae.InvalidArgumentError, match="render"):
        stepped.process_audio(x, array.array("f", [0.0] * 5))


async def test_process_audio_is_refused_while_ticks_run_by_themselves():
    e = ae.AudioEngine.create_for_fast_lane(clock_mode="free_run", devices="none")
    await e.initialize()
    try:
        with pytest.raises(ae.AlreadyRunningError):
            e.process_audio(array.array("f", [0.0] * PERIOD))
    finally:
        await e.shutdown()


async def test_echo_processor_joins_the_chain_and_leaves_it(stepped):
    pid = stepped.add_echo_processor(ae.EchoCancellerConfig(), ae.ProcessingStage.CAPTURE_PRE, ae.MODE_QUALITY)
    assert pid > 0
    stepped.inject_test_audio(array.array("f", [0.01] * (5 * PERIOD)))
    await stepped.advance(50)
    stepped.set_processor_bypass(pid, True)
    await stepped.advance(10)
    await stepped.remove_processor(pid)
    await stepped.advance(10)
    with pytest.raises(ae.InvalidArgumentError, match="not in the chain"):
        await stepped.remove_processor(pid)
    assert stepped.get_metrics().audio_thread_allocations in (-1, 0)
