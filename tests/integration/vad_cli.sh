#!/usr/bin/env bash
# audioengine vad FILE: JSON lines per frame, then the segments; Silero, WebRTC and energy on the committed clips,
# where the native Silero frames must agree with the ONNX Runtime golden probabilities of the same file.
set -euo pipefail

BIN="${AE_BINARY_DIR:?AE_BINARY_DIR must point at the build directory}/bin/audioengine"
SRC="${AE_SOURCE_DIR:?AE_SOURCE_DIR must point at the source directory}"
DATA="$SRC/tests/data/silero"
MODEL="$SRC/third_party_cache/vad-web/silero_vad_v5.onnx"
NAME=vad_cli
source "$SRC/tests/support/integration.sh"
[[ -x "$BIN" ]] || fail "no executable at $BIN"
[[ -f "$MODEL" ]] || fail "$MODEL is missing: run scripts/setup.sh"

expect_exit 0 "$BIN" vad --help
grep -q "usage: audioengine vad" "$TMP/out" || fail "vad --help does not print its usage"
expect_exit 2 "$BIN" vad "$DATA/speech_16k.wav" --algo nonsense
grep -q "energy, webrtc, silero" "$TMP/err" || fail "a bad --algo does not list the valid ones"
expect_exit 2 "$BIN" vad "$DATA/speech_16k.wav" --algo webrtc --aggressiveness 4
grep -q "0, 3" "$TMP/err" || fail "a bad --aggressiveness does not give the valid range"
expect_exit 2 "$BIN" vad "$DATA/speech_16k.wav" --algo webrtc --aggressiveness 1.5
grep -q "0..3" "$TMP/err" || fail "a fractional --aggressiveness does not give the valid range"
expect_exit 1 "$BIN" vad "$DATA/speech_16k.wav" --algo silero --model /nonexistent.onnx
grep -q "setup.sh" "$TMP/err" || fail "a missing model does not point at scripts/setup.sh"

# Silero, 20 ms frames (320 samples at 16 kHz): every frame line parses; the probability of a frame is the golden
# probability of the latest 512-sample chunk that ended within it or before; one segment inside the clip's speech.
for clip in speech_16k:16000 speech_8k:8000; do
  name=${clip%%:*}; rate=${clip##*:}
  expect_exit 0 "$BIN" vad "$DATA/$name.wav" --algo silero --model "$MODEL" --frame-ms 20 --json
  python3 - "$TMP/out" "$DATA/$name.golden.txt" "$rate" <<'PY' || fail "$name: JSON output check failed"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
golden = [float(l) for l in open(sys.argv[2]) if l.strip() and not l.startswith('#')]
rate = int(sys.argv[3]); chunk = 512 if rate == 16000 else 256; frame = rate // 50
frames = [json.loads(l) for l in lines[:-1]]
segments = json.loads(lines[-1])["segments"]
assert len(frames) > 100, len(frames)
for i, f in enumerate(frames):
    assert abs(f["t_ms"] - i * 20) < 1e-6, f
    done = ((i + 1) * frame) // chunk
    want = golden[done - 1] if done else 0.0
    assert abs(f["p"] - want) <= 1e-4, (i, f, want)
    assert isinstance(f["speech"], bool)
assert len(segments) == 1, segments
start, end = segments[0]
assert 400 <= start <= 800 and 3000 <= end <= 3800, segments  # the sentence spans ~0.5 s .. ~3.7 s
# The state turns to speaking at the confirming frame (after the onset) and back to silence once min_silence
# (300 ms) has passed after the segment's end.
speaking = [f["t_ms"] for f in frames if f["speech"]]
assert speaking[0] >= start and end <= speaking[-1] + 20 <= end + 300 + 20, (speaking[0], speaking[-1], segments)
PY
done

# WebRTC: at 16 kHz (the library's rate) and at 44.1 kHz (made by sox, resampled inside the detector), 10 and 30 ms
# frames: p is the share of the frame's 10 ms pieces called speech (k/3 for 30 ms), the segments lie inside the
# sentence (~0.5 s .. ~3.7 s) from mode 2 up (mode 0 also takes the clip's quiet lead-in for speech);
# --aggressiveness 3 calls no more 10 ms frames speech than 0 does.
sox "$DATA/speech_16k.wav" -r 44100 "$TMP/speech_44k.wav"
# Silero at 44.1 kHz: resampled to the model's 16 kHz inside the detector; the speech is found.
expect_exit 0 "$BIN" vad "$TMP/speech_44k.wav" --algo silero --model "$MODEL" --json
grep -q '"segments":\[\[' "$TMP/out" || fail "silero at 44.1 kHz found no speech: $(tail -1 "$TMP/out")"
for run in speech_16k.wav:10:2 speech_16k.wav:30:2 speech_44k.wav:10:2 speech_16k.wav:10:0 speech_16k.wav:10:3; do
  IFS=: read -r file ms aggr <<<"$run"
  dir="$DATA"; [[ $file == speech_44k.wav ]] && dir="$TMP"
  expect_exit 0 "$BIN" vad "$dir/$file" --algo webrtc --frame-ms "$ms" --aggressiveness "$aggr" --json
  cp "$TMP/out" "$TMP/webrtc_${file%.wav}_${ms}_${aggr}.jsonl"
  python3 - "$TMP/out" "$ms" "$aggr" <<'PY' || fail "webrtc $run: JSON output check failed"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
ms, aggressiveness = int(sys.argv[2]), int(sys.argv[3])
frames = [json.loads(l) for l in lines[:-1]]
segments = json.loads(lines[-1])["segments"]
assert len(frames) > 4000 // ms, len(frames)
steps = ms // 10
for i, f in enumerate(frames):
    assert abs(f["t_ms"] - i * ms) < 1e-6, f
    assert any(abs(f["p"] - k / steps) < 1e-6 for k in range(steps + 1)), f
assert sum(f["p"] for f in frames) * ms / 10 >= 40, "fewer than 40 voiced 10 ms pieces"
assert len(segments) >= 1, segments
assert aggressiveness < 2 or all(400 <= s <= e <= 3800 for s, e in segments), segments
PY
done
python3 - "$TMP"/webrtc_speech_16k_10_0.jsonl "$TMP"/webrtc_speech_16k_10_3.jsonl <<'PY' || fail "webrtc: mode 3 is not more restrictive than mode 0"
import json, sys
voiced = [sum(json.loads(l)["p"] for l in open(p).read().splitlines()[:-1]) for p in sys.argv[1:]]
assert voiced[1] <= voiced[0], voiced
PY
expect_exit 0 "$BIN" vad "$DATA/silence_16k.wav" --algo webrtc --json
[[ "$(tail -n 1 "$TMP/out")" == '{"segments":[]}' ]] || fail "webrtc: silence has segments: $(tail -n 1 "$TMP/out")"
grep -q '"speech":true' "$TMP/out" && fail "webrtc: silence has speaking frames"

# Energy on digital silence: frames all silent, no segment.
expect_exit 0 "$BIN" vad "$DATA/silence_16k.wav" --json
[[ "$(tail -n 1 "$TMP/out")" == '{"segments":[]}' ]] || fail "silence has segments: $(tail -n 1 "$TMP/out")"
grep -q '"speech":true' "$TMP/out" && fail "silence has speaking frames"
echo "vad_cli: ok"
