#!/usr/bin/env bash
# audioengine simulate: a user utterance (espeak-ng, padded with 3 s of silence by sox) over a long AI answer on the
# virtual clock. With Silero and the echo canceller on: exactly one interruption, by the user, within 150 ms of
# the true onset, having played no more than the time from the AI's start to the interruption; every JSON line
# parses. With the echo path on (60 ms, gain 0.5) the same, by the user's first words, the barge-in's echo gate
# holding back the runs the echo explains, and with reverberation (rt60 150 and 300 ms); with the barge-in on the
# echo canceller's gentler copy (the default, --vad-copy low), the same with the echo at gain 0.7 and the
# canceller's default suppression (without the copy late). The INTERRUPT carries its confirming run
# (speech_run_samples), the summary the VAD segments the echo gate vetoed. With the echo path on and the
# canceller off, or the canceller on and the echo gate off (the copy off), the echo interrupts the AI before the
# user speaks (a false interruption). Bad usage exits 2, unreadable files 1.
set -euo pipefail

BIN="${AE_BINARY_DIR:?AE_BINARY_DIR must point at the build directory}/bin/audioengine"
SRC="${AE_SOURCE_DIR:?AE_SOURCE_DIR must point at the source directory}"
export AE_SILERO_MODEL="$SRC/third_party_cache/vad-web/silero_vad_v5.onnx"
NAME=simulate_cli
source "$SRC/tests/support/integration.sh"
[[ -x "$BIN" ]] || fail "no executable at $BIN"
[[ -f "$AE_SILERO_MODEL" ]] || fail "$AE_SILERO_MODEL is missing: run scripts/setup.sh"

espeak-ng -v en+f3 -p 70 -s 160 -w "$TMP/user.wav" "Wait, stop. That is not what I asked for, I wanted the blue one."
espeak-ng -v en -w "$TMP/answer.wav" "Tomorrow in Paris it will be mostly sunny in the morning, with clouds building in \
the afternoon and a high of twenty two degrees. There is a small chance of a shower around six in the evening, so \
take an umbrella if you go out for dinner."
sox -R "$TMP/user.wav" -r 16000 "$TMP/mic.wav" pad 3 1
sox -R "$TMP/answer.wav" -r 16000 "$TMP/ai.wav"

expect_exit 0 "$BIN" simulate --help
grep -q "usage: audioengine simulate" "$TMP/out" || fail "--help does not print the usage"
grep -q "false_interruptions" "$TMP/out" || fail "--help does not define false_interruptions"
expect_exit 2 "$BIN" simulate --ai "$TMP/ai.wav"
grep -q -- "--mic" "$TMP/err" || fail "a missing --mic is not named"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --aec maybe
grep -q "on, off" "$TMP/err" || fail "a bad --aec does not list on, off"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --echo-gate maybe
grep -q "auto, on, off" "$TMP/err" || fail "a bad --echo-gate does not list auto, on, off"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --vad nonsense
grep -q "energy, webrtc, silero" "$TMP/err" || fail "a bad --vad does not list the valid ones"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --echo-delay-ms 5
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --echo-gate-fall-db 200
grep -q -- "--echo-gate-fall-db" "$TMP/err" || fail "a bad --echo-gate-fall-db is not named"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --echo-gate-bands 65
grep -q -- "--echo-gate-bands" "$TMP/err" || fail "a bad --echo-gate-bands is not named"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --echo-gate-max-coupling-db 50
grep -q -- "--echo-gate-max-coupling-db" "$TMP/err" || fail "a bad --echo-gate-max-coupling-db is not named"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --aec-suppression strong
grep -q "low, moderate, high, adaptive" "$TMP/err" || fail "a bad --aec-suppression does not list the valid ones"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --vad-copy adaptive
grep -q "off, low, moderate, high" "$TMP/err" || fail "a bad --vad-copy does not list the valid ones"
expect_exit 2 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --bogus 1
expect_exit 1 "$BIN" simulate --mic "$TMP/nonexistent.wav" --ai "$TMP/ai.wav"
grep -q "nonexistent.wav" "$TMP/err" || fail "an unreadable --mic is not named"

# The true onset of the user's speech in mic.wav: the first sample at or above -40 dBFS (0.01).
onset_ms=$(python3 - "$TMP/mic.wav" <<'PY'
import struct, sys, wave
w = wave.open(sys.argv[1]); n = w.getnframes(); x = struct.unpack("<%dh" % n, w.readframes(n))
i = next(k for k, v in enumerate(x) if abs(v) / 32768.0 >= 0.01)
print(1000.0 * i / w.getframerate())
PY
)

check() {  # check FILE ONSET_MS MESSAGE [any]: one interruption by the user within 150 ms, every line JSON; one
           # user turn unless "any"
  python3 - "$1" "$2" "${4:-one}" <<'PY' || fail "$3"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
events = [json.loads(l) for l in lines[:-1]]
summary = json.loads(lines[-1])["summary"]
onset = float(sys.argv[2])
ai_start = next(e["t_ms"] for e in events if e["type"] == "PLAYBACK_STARTED")
interrupts = [e for e in events if e["type"] == "INTERRUPT"]
assert summary["interruptions"] == 1 and len(interrupts) == 1, summary
i = interrupts[0]
assert i["reason"] == "barge_in" and not i["false_interruption"], i
assert 0 < i["played_ms"] <= i["t_ms"] - ai_start + 1e-9, (i, ai_start)
assert i["audio_flushed_ms"] > 0, i
assert abs(i["onset_ms"] - onset) < 1e-3, (i, onset)
assert abs(i["latency_ms"] - (i["t_ms"] - onset)) < 1e-3, i
# The confirming run: at least the barge-in's 64 ms (plus its first period), begun after the AI started (under a
# loud reverberant echo it may begin on the echo, before the user).
assert 1024 <= i["speech_run_samples"] <= (i["t_ms"] - ai_start) * 16, (i, ai_start)
assert summary["vad_echo_vetoed_segments"] >= 0, summary
assert 0 < i["latency_ms"] <= 150, i
assert summary["interrupt_latency_ms"] == [i["latency_ms"]], summary
assert summary["false_interruptions"] == 0, summary
assert sys.argv[3] == "any" or summary["user_turns"] == 1, summary
print("latency %.3f ms" % i["latency_ms"])
PY
}

# Silero, echo canceller on, no echo path: the user's barge-in.
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on --json
for f in $(seq 1 "$(wc -l <"$TMP/out")"); do sed -n "${f}p" "$TMP/out" | python3 -m json.tool >/dev/null || fail "line $f is not JSON"; done
check "$TMP/out" "$onset_ms" "silero + aec: the barge-in check failed"
# The same from the given onset.
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --user-onset-ms "$onset_ms" --json
check "$TMP/out" "$onset_ms" "--user-onset-ms: the barge-in check failed"

# The echo path on and the canceller on: the user's barge-in alone, from the first words, the echo's runs held
# back.
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
  --echo-delay-ms 60 --echo-gain 0.5 --json
check "$TMP/out" "$onset_ms" "echo + aec: the barge-in check failed"
python3 - "$TMP/out" <<'PY' || fail "echo + aec: the echo gate held nothing back"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
summary = json.loads(lines[-1])["summary"]
assert summary["echo_gated_runs"] >= 1, summary
# The residual echo's VAD segment is vetoed: the only VAD segments published are the user's.
assert summary["vad_echo_vetoed_segments"] >= 1, summary
starts = [e for e in map(json.loads, lines[:-1]) if e["type"] == "VAD_SPEECH_START"]
assert all(e["speech_start_ms"] >= 3000 for e in starts), starts
PY
# With reverberation (rt60 150 and 300 ms) the same: the user's first words interrupt within 150 ms (at rt60 300 ms
# the endpointer may split the utterance in two turns: 1 or 2 depending on the dither in mic.wav, which sox -R
# makes the same on every run). An echo far louder than the output (gain 3.3, rt60 150 ms: ~10 dB over it, the
# microphone clipping) still lets the first words through; without the fall of the render envelope's weight past
# the echo delay (--echo-gate-fall-db 0) its first phrase is held back and the barge-in comes with the second,
# more than a second after the first onset.
for rt60 in 0.15 0.3; do
  expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
    --echo-delay-ms 60 --echo-gain 0.5 --echo-rt60 "$rt60" --json
  check "$TMP/out" "$onset_ms" "echo + aec, rt60 $rt60 s: the barge-in check failed" any
done
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
  --echo-delay-ms 60 --echo-gain 3.3 --echo-rt60 0.15 --json
check "$TMP/out" "$onset_ms" "echo gain 3.3 + aec, rt60 0.15 s: the barge-in check failed" any
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
  --echo-delay-ms 60 --echo-gain 3.3 --echo-rt60 0.15 --echo-gate-fall-db 0 --json
python3 - "$TMP/out" "$onset_ms" <<'PY' || fail "echo + aec, rt60 0.15 s, no envelope fall: the first phrase was not held back"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
interrupts = [e for e in map(json.loads, lines[:-1]) if e["type"] == "INTERRUPT"]
assert len(interrupts) == 1 and not interrupts[0]["false_interruption"], interrupts
assert interrupts[0]["t_ms"] - float(sys.argv[2]) > 1000, interrupts
PY
# A louder echo (gain 0.7) under reverberation: the canceller removes little, and the user's first syllables are
# learnt as echo unless the coupling is capped at 0 dB (--echo-gate-max-coupling-db 0; the default has no cap).
# At rt60 300 ms the barge-in's detector on the copy (the default) hears the user 30 ms later than the VAD on the
# processed capture (164.875 against 134.875 ms, docs/conversation.md): the run takes the higher probability.
for args in "--echo-rt60 0.15" "--echo-rt60 0.3"; do
  # shellcheck disable=SC2086
  expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
    --echo-delay-ms 60 --echo-gain 0.7 $args --echo-gate-max-coupling-db 0 --json
  check "$TMP/out" "$onset_ms" "echo gain 0.7 + aec, $args, coupling capped: the barge-in check failed" any
done
# The barge-in's detector on the canceller's gentler copy (the default, --vad-copy low: at the gentlest
# suppression, before noise suppression and gain; the VAD's events, the delivered audio and the echo gate keep the
# processed capture). Without it (--vad-copy off) these miss the target: the echo at gain 0.7 (164.875 ms: noise
# suppression and gain on the residual delay Silero), the canceller's own default suppression at gain 0.5 and 0.7
# (194.875 / 354.875 ms: it removes the user's first 50 to 70 ms in double talk).
for args in "--echo-gain 0.7" "--echo-gain 0.7 --echo-rt60 0.3" "--echo-gain 0.5 --aec-suppression adaptive" \
  "--echo-gain 0.7 --aec-suppression adaptive"; do
  # shellcheck disable=SC2086
  expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
    --echo-delay-ms 60 $args --json
  check "$TMP/out" "$onset_ms" "echo + aec ($args), the barge-in on the copy: the barge-in check failed"
done
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
  --echo-delay-ms 60 --echo-gain 0.7 --vad-copy off --json
python3 - "$TMP/out" <<'PY' || fail "echo gain 0.7 + aec, no copy: the barge-in was not late"
import json, sys
interrupts = [e for e in map(json.loads, open(sys.argv[1]).read().splitlines()[:-1]) if e["type"] == "INTERRUPT"]
assert len(interrupts) == 1 and interrupts[0]["latency_ms"] > 150, interrupts
PY

false_first() {  # false_first FILE MESSAGE: the AI's echo interrupts it before the user speaks
  python3 - "$1" <<'PY' || fail "$2"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
summary = json.loads(lines[-1])["summary"]
first = next(json.loads(l) for l in lines[:-1] if json.loads(l)["type"] == "INTERRUPT")
assert first["false_interruption"] and first["onset_ms"] is None and first["t_ms"] < 3000, first
assert summary["false_interruptions"] >= 1 and summary["echo_gated_runs"] == 0, summary
PY
}
# The echo path on, the canceller off (and with it the gate, in auto): the AI's echo interrupts it.
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --echo-delay-ms 60 --echo-gain 0.5 \
  --aec off --json
false_first "$TMP/out" "echo without the canceller: no false interruption"
# The canceller on, the gate off, the barge-in on the processed capture: its residual echo interrupts the AI.
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500 --vad silero --aec on \
  --echo-gate off --vad-copy off --echo-delay-ms 60 --echo-gain 0.5 --json
false_first "$TMP/out" "echo with the canceller, gate off: no false interruption"

# Human output names the interruption and its latency.
expect_exit 0 "$BIN" simulate --mic "$TMP/mic.wav" --ai "$TMP/ai.wav" --ai-at 500
grep -q "after the user's onset" "$TMP/out" || fail "the human output does not give the latency"
echo "$NAME: ok"
