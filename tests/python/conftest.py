"""Shared fixtures. The package must import: a broken build fails every test instead of skipping them."""

import array
import os
import sys

import pytest

import audioengine as ae

RATE = 16000
PERIOD = 160  # 10 ms at 16 kHz

SOURCE_DIR = os.environ.get("AE_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SOURCE_DIR, "examples", "python"))


def ramp_pcm(n, base=1000):
    """PCM16 values that survive int16 -> float -> int16 exactly, distinct per sample."""
    return array.array("h", [base + (i % 2000) for i in range(n)])


def floats(data: bytes):
    return array.array("f", data)


@pytest.fixture
async def stepped():
    e = ae.AudioEngine.create_for_fast_lane(sample_rate=RATE, chunk_duration_ms=10, clock_mode="stepped")
    await e.initialize()
    yield e
    await e.shutdown()


@pytest.fixture
async def mock():
    e = ae.MockAudioEngine()
    await e.initialize()
    yield e
    await e.shutdown()
