#!/usr/bin/env python3
"""A complete voice interaction from Python: speech in, endpoint, the AI's answer played, barge-in, truncate.

    PYTHONPATH=build/python python3 examples/python/voice_agent.py

`SpeechApiStandIn` is a small local WebSocket server (loopback only) standing in for a speech-to-speech API: the
agent streams the microphone chunks to it (`input_audio_buffer.append`), commits each user turn at the endpoint
(`input_audio_buffer.commit`), and plays the answer it streams back (`response.audio.delta`, synthesized with
espeak-ng). When the user talks over the answer, the engine interrupts playback in the same tick and the agent
tells the server how much of the answer was heard (`conversation.item.truncate` with `audio_end_ms`, the exact
played position), as a real speech API needs to cut its transcript.

With no sound card the engine captures injected audio and plays into a memory sink, both paced in real time:
`SimulatedUser` injects the user's utterances and barges in during the first answer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
from dataclasses import dataclass, field

import websockets

import audioengine as ae

log = logging.getLogger("voice_agent")
T = ae.AudioEventType


# ---- the stand-in speech API ----------------------------------------------------------------------------------
@dataclass
class ServerRecord:
    bytes_received: int = 0
    commits: int = 0
    answers: dict = field(default_factory=dict)       # item id -> PCM16 bytes sent
    truncations: list = field(default_factory=list)   # (item id, audio_end_ms)


class SpeechApiStandIn:
    """Answers each committed utterance with synthesized PCM16 audio in chunks of `chunk_ms`."""

    def __init__(self, answers: list[str], sample_rate: int = 16000, chunk_ms: int = 100):
        self.answers = answers
        self.sample_rate = sample_rate
        self.chunk_bytes = 2 * sample_rate * chunk_ms // 1000
        self.record = ServerRecord()
        self._server = None
        self.url = ""

    async def start(self) -> str:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws, path=None) -> None:
        truncated: set = set()
        async for raw in ws:
            msg = json.loads(raw)
            kind = msg["type"]
            if kind == "input_audio_buffer.append":
                self.record.bytes_received += len(base64.b64decode(msg["audio"]))
            elif kind == "input_audio_buffer.commit":
                self.record.commits += 1
                item_id = self.record.commits
                text = self.answers[(item_id - 1) % len(self.answers)]
                pcm = ae.encode_samples(ae.synthesize_speech(text, sample_rate_hz=self.sample_rate),
                                        ae.SampleType.PCM16)
                self.record.answers[item_id] = pcm
                await ws.send(json.dumps({"type": "response.created", "item_id": item_id}))
                for off in range(0, len(pcm), self.chunk_bytes):
                    if item_id in truncated:
                        break
                    await ws.send(json.dumps({"type": "response.audio.delta", "item_id": item_id,
                                              "delta": base64.b64encode(pcm[off:off + self.chunk_bytes]).decode()}))
                    await asyncio.sleep(0)
                await ws.send(json.dumps({"type": "response.audio.done", "item_id": item_id}))
            elif kind == "conversation.item.truncate":
                truncated.add(msg["item_id"])
                self.record.truncations.append((msg["item_id"], msg["audio_end_ms"]))
                await ws.send(json.dumps({"type": "conversation.item.truncated", "item_id": msg["item_id"],
                                          "audio_end_ms": msg["audio_end_ms"]}))


# ---- the orchestrator ---------------------------------------------------------------------------------------------
@dataclass
class Timeline:
    entries: list = field(default_factory=list)  # (engine t_ms, what)

    def add(self, t_ms: float, what: str) -> None:
        self.entries.append((t_ms, what))
        log.info("%8.0f ms  %s", t_ms, what)


class VoiceAgent:
    """Streams the microphone to the speech API, commits at the endpoint, plays the answers, truncates on barge-in."""

    def __init__(self, engine: ae.AudioEngine, url: str, turns: int):
        self.engine = engine
        self.url = url
        self.turns = turns
        self.timeline = Timeline()
        self.interrupts: list = []        # INTERRUPT events
        self.completed: list = []         # item ids played to the end
        self.started: dict = {}           # item id -> engine timeline sample of its first played sample
        self.truncates_sent: list = []    # (item id, audio_end_ms)
        self._user_speaking = False
        self._done = asyncio.Event()

    async def run(self) -> None:
        engine = self.engine
        engine.subscribe(T.VAD_SPEECH_START, lambda ev: self.timeline.add(ev.t_ms, "VAD: speech started"))
        engine.subscribe(T.PLAYBACK_STARTED, self._on_started)
        engine.subscribe(T.PLAYBACK_COMPLETE, self._on_complete)
        async with websockets.connect(self.url, max_size=None) as ws:
            receiver = asyncio.create_task(self._receive(ws))
            capture = engine.start_capture()
            done = asyncio.create_task(self._done.wait())
            try:
                while not self._done.is_set():
                    nxt = asyncio.ensure_future(capture.__anext__())
                    finished, _ = await asyncio.wait({nxt, done}, return_when=asyncio.FIRST_COMPLETED)
                    if nxt not in finished:
                        nxt.cancel()
                        break
                    await self._on_capture_event(ws, nxt.result())
            finally:
                await capture.aclose()
                receiver.cancel()
                done.cancel()

    async def _on_capture_event(self, ws, ev: ae.AudioEvent) -> None:
        if ev.type == T.AUDIO_CHUNK:
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(ev.data).decode()}))
        elif ev.type == T.VAD_SPEECH_START:
            self._user_speaking = True
        elif ev.type in (T.VAD_SPEECH_END, T.ENDPOINT) and self._user_speaking:
            # The end of the user's turn: VAD_SPEECH_END comes after vad.min_silence_ms of silence.
            self._user_speaking = False
            self.timeline.add(ev.t_ms, "endpoint: the user's turn is over")
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        elif ev.type == T.INTERRUPT and ev.data.item_id != 0:
            # Barge-in (or interrupt_playback()): tell the API exactly how much of its answer was heard.
            self.interrupts.append(ev)
            self.timeline.add(ev.t_ms, f"INTERRUPT ({ev.data.reason.name.lower()}): item {ev.data.item_id} stopped "
                                       f"after {ev.data.played_ms:.0f} ms, {ev.data.audio_flushed_ms:.0f} ms flushed")
            self.truncates_sent.append((ev.data.item_id, ev.data.played_ms))
            await ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": ev.data.item_id,
                                      "content_index": 0, "audio_end_ms": ev.data.played_ms}))

    async def _receive(self, ws) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "response.audio.delta":
                await self.engine.queue_playback(base64.b64decode(msg["delta"]), item_id=msg["item_id"])

    def _on_started(self, ev: ae.AudioEvent) -> None:
        self.started[ev.data.item_id] = ev.t_samples
        self.timeline.add(ev.t_ms, f"AI answers (item {ev.data.item_id})")

    def _on_complete(self, ev: ae.AudioEvent) -> None:
        self.completed.append(ev.data.item_id)
        self.timeline.add(ev.t_ms, f"AI finished item {ev.data.item_id}")
        if len(self.completed) + len(self.interrupts) >= self.turns:
            self._done.set()


class SimulatedUser:
    """Says the first utterance at once, and talks over the first answer `barge_in_after_ms` after it starts."""

    def __init__(self, engine: ae.AudioEngine, utterances: list[str], barge_in_after_ms: int):
        self.engine = engine
        self.utterances = list(utterances)
        self.barge_in_after_ms = barge_in_after_ms
        rate = engine.sample_rate_hz()
        self._speech = [ae.synthesize_speech(u, sample_rate_hz=rate) for u in self.utterances]
        self._format = ae.AudioFormat(rate, 1, ae.SampleType.FLOAT32)

    def start(self) -> None:
        self.engine.inject_test_audio(self._speech[0], self._format)
        if len(self._speech) > 1:
            self.engine.subscribe(T.PLAYBACK_STARTED, self._on_answer)

    async def _on_answer(self, ev: ae.AudioEvent) -> None:
        if ev.data.item_id != 1:
            return
        await asyncio.sleep(self.barge_in_after_ms / 1000)
        self.engine.inject_test_audio(self._speech[1], self._format)


async def run_conversation(clock_mode: str = "realtime", barge_in_after_ms: int = 800):
    """The whole flow; returns (agent, server record, engine metrics, the sink's output as float32 bytes)."""
    server = SpeechApiStandIn(answers=[
        "The weather in Paris tomorrow will be sunny with a light breeze and twenty two degrees in the afternoon.",
        "Of course. A table for two at eight.",
    ])
    url = await server.start()
    config = ae.EngineConfig.fast_lane()
    config.queues.capture_capacity_ms = 20000
    config.sink.memory_capacity_ms = 60000
    engine = ae.AudioEngine.create(config, clock_mode=clock_mode)
    await engine.initialize()
    try:
        agent = VoiceAgent(engine, url, turns=2)
        user = SimulatedUser(engine, ["What is the weather like in Paris tomorrow?",
                                      "Can you book a table for two at eight tonight?"], barge_in_after_ms)
        user.start()
        await asyncio.wait_for(agent.run(), timeout=60)
        played = engine.read_played_audio(config.sink.memory_capacity_ms * 16)
        metrics = engine.get_metrics()
    finally:
        await engine.shutdown()
        await server.stop()
    return agent, server.record, metrics, played


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--barge-in-after-ms", type=int, default=800)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    agent, record, metrics, _ = asyncio.run(run_conversation(barge_in_after_ms=args.barge_in_after_ms))
    print(f"server: {record.commits} turns committed, {record.bytes_received} bytes of microphone audio, "
          f"truncations {record.truncations}")
    print(f"engine: {metrics.barge_ins} barge-in(s), {metrics.played_samples} samples played")


if __name__ == "__main__":
    main()
