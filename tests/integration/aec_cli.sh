#!/usr/bin/env bash
# The aec command on a call made with independent tools: FAR is espeak-ng speech, MIC is FAR through sox (delay,
# reverberation, attenuation) plus a second voice (the near end) in a stretch of its own, as a room would mix them.
set -euo pipefail

BIN="${AE_BINARY_DIR:?AE_BINARY_DIR must point at the build directory}/bin/audioengine"
NAME=aec_cli
source "${AE_SOURCE_DIR:?AE_SOURCE_DIR must point at the source directory}/tests/support/integration.sh"
[[ -x "$BIN" ]] || fail "no executable at $BIN"
for tool in sox soxi espeak-ng python3; do command -v $tool >/dev/null || fail "$tool is required"; done

expect_exit 0 "$BIN" aec --help
grep -q "usage: audioengine aec" "$TMP/out" || fail "aec --help does not print its usage on stdout"
grep -q "aec" < <("$BIN" --help) || fail "the command list does not name aec"

# FAR: 16 kHz PCM16, peak-normalised. NEAR: another voice, 4.0 s into the call. MIC: the echo (60 ms, a small
# room, 10 dB down) plus NEAR, exactly as long as FAR.
espeak-ng -v en -s 160 -w "$TMP/far_raw.wav" "Thank you for calling. Your order has shipped and should arrive on \
Thursday. If you would like to change the delivery address, please say change address. You can also ask about \
returns, store hours, or speak with an agent at any time. I am happy to help with anything else today."
espeak-ng -v en+f3 -s 170 -w "$TMP/near_raw.wav" "Hello? Can you hear me? Wait a moment please."
sox -R "$TMP/far_raw.wav" -r 16000 -c 1 -b 16 "$TMP/far.wav" norm -6
N=$(soxi -s "$TMP/far.wav")
sox -R "$TMP/far.wav" "$TMP/echo.wav" pad 0.06 0 reverb 30 50 20 gain -n -16 trim 0 "${N}s"
sox -R "$TMP/near_raw.wav" -r 16000 -c 1 -b 16 "$TMP/near.wav" norm -12 pad 4.0 10
sox -R -m "$TMP/echo.wav" "$TMP/near.wav" -b 16 "$TMP/mic.wav" trim 0 "${N}s"
[[ $(soxi -s "$TMP/mic.wav") -eq $N ]] || fail "MIC has $(soxi -s "$TMP/mic.wav") samples, FAR $N"

json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/out" "$1"; }

# The default chain (HPF + AEC + NS + AGC, adaptive suppression), 16 kHz PCM16 in and out.
expect_exit 0 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/out.wav" --json \
  --reference-out "$TMP/ref.wav"
echo "aec_cli: $(cat "$TMP/out")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert set(d) >= {"erle_db","delay_ms","frames","mean_us_per_frame"}' \
  "$TMP/out" || fail "--json is not the expected object: $(cat "$TMP/out")"
erle=$(json_field erle_db)
delay=$(json_field delay_ms)
frames=$(json_field frames)
# Measured 51 dB here (engine_echo_test: 45 dB on the synthetic-room echo scenario through the engine;
# webrtc_echo_test: 47-50 dB on it at high suppression).
python3 -c "import sys; sys.exit(0 if $erle >= 30 else 1)" || fail "ERLE $erle dB < 30 dB"
# The AEC reports the delay of the whole echo path in 4 ms steps: the 60 ms delay plus the reverb's onset.
python3 -c "import sys; sys.exit(0 if 40 <= $delay <= 120 else 1)" || fail "delay estimate $delay ms, expected 40..120"
[[ $frames -eq $(( (N + 159) / 160 )) ]] || fail "frames $frames, expected $(( (N + 159) / 160 ))"
[[ $(soxi -r "$TMP/out.wav") -eq 16000 && $(soxi -s "$TMP/out.wav") -eq $N ]] \
  || fail "OUT is $(soxi -r "$TMP/out.wav") Hz, $(soxi -s "$TMP/out.wav") samples; MIC is 16000 Hz, $N samples"
[[ $(soxi -e "$TMP/out.wav") == "$(soxi -e "$TMP/mic.wav")" && $(soxi -b "$TMP/out.wav") -eq 16 ]] \
  || fail "OUT is $(soxi -e "$TMP/out.wav") $(soxi -b "$TMP/out.wav")-bit, MIC $(soxi -e "$TMP/mic.wav") 16-bit"
# Alignment: the reference each MIC sample was processed with is FAR sample for sample.
peak=$(sox -m -v 1 "$TMP/ref.wav" -v -1 "$TMP/far.wav" -n stat 2>&1 | awk '/Maximum amplitude/ {print $3}')
python3 -c "import sys; sys.exit(0 if float('$peak') == 0.0 else 1)" \
  || fail "the reference differs from FAR (peak difference $peak): MIC sample n was not processed with FAR sample n"
# Measured independently: the echo in the far-end-only second before NEAR starts is gone from OUT, and NEAR's
# stretch keeps its level (within the AGC's gain).
rms() { sox "$1" -n trim "$2" "$3" stat 2>&1 | awk '/RMS +amplitude/ {print $3}'; }
python3 - "$(rms "$TMP/mic.wav" 3 1)" "$(rms "$TMP/out.wav" 3 1)" "$(rms "$TMP/near.wav" 4.2 1)" \
  "$(rms "$TMP/out.wav" 4.2 1)" <<'EOF' || fail "OUT's levels are wrong (see above)"
import math, sys
mic_echo, out_echo, near, out_near = (float(x) for x in sys.argv[1:])
removed = 20 * math.log10(mic_echo / max(out_echo, 1e-9))
kept = 20 * math.log10(max(out_near, 1e-9) / near)
print(f"aec_cli: echo-only second {removed:.1f} dB down; near-end second {kept:+.1f} dB")
sys.exit(0 if removed >= 25 and -12 <= kept <= 15 else 1)
EOF

# MIC's type decides OUT's: 32-bit float in, 32-bit float out.
sox -R "$TMP/mic.wav" -e floating-point -b 32 "$TMP/mic_f32.wav"
expect_exit 0 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic_f32.wav" --out "$TMP/out_f32.wav"
[[ $(soxi -e "$TMP/out_f32.wav") == *"Floating Point"* && $(soxi -s "$TMP/out_f32.wav") -eq $N ]] \
  || fail "float MIC gave $(soxi -e "$TMP/out_f32.wav") OUT with $(soxi -s "$TMP/out_f32.wav") samples"
grep -q "ERLE" "$TMP/out" || fail "the human summary does not give the ERLE: $(cat "$TMP/out")"

# Rates: FAR at 48 kHz (resampled to MIC's rate), MIC at 48 kHz (the engine runs at 16 kHz, OUT back at 48 kHz).
sox -R "$TMP/far.wav" -r 48000 "$TMP/far48.wav"
expect_exit 0 "$BIN" aec --far "$TMP/far48.wav" --mic "$TMP/mic.wav" --out "$TMP/out_a.wav" --json
python3 -c "import sys; sys.exit(0 if $(json_field erle_db) >= 25 else 1)" || fail "FAR at 48 kHz: $(cat "$TMP/out")"
sox -R "$TMP/mic.wav" -r 48000 "$TMP/mic48.wav"
N48=$(soxi -s "$TMP/mic48.wav")
expect_exit 0 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic48.wav" --out "$TMP/out48.wav" --json
python3 -c "import sys; sys.exit(0 if $(json_field erle_db) >= 25 else 1)" || fail "MIC at 48 kHz: $(cat "$TMP/out")"
[[ $(soxi -r "$TMP/out48.wav") -eq 48000 && $(soxi -s "$TMP/out48.wav") -eq $N48 ]] \
  || fail "48 kHz MIC gave $(soxi -r "$TMP/out48.wav") Hz, $(soxi -s "$TMP/out48.wav") samples (want $N48)"

# Options reach the canceller: without NS, AGC and HPF, and with high suppression, it still cancels.
expect_exit 0 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/out_b.wav" --json \
  --ns off --agc off --hpf off --suppression high --stream-delay-ms 60
python3 -c "import sys; sys.exit(0 if $(json_field erle_db) >= 30 else 1)" || fail "bare AEC: $(cat "$TMP/out")"
cmp -s "$TMP/out.wav" "$TMP/out_b.wav" && fail "the options changed nothing in OUT"

# speex: the second implementation, weaker on ERLE (about 25 dB on the echo scenario against WebRTC's 47-50).
"$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/out_s.wav" --impl speex --json >"$TMP/out" \
  || fail "--impl speex failed"
[[ $(soxi -s "$TMP/out_s.wav") -eq $N ]] || fail "speex OUT has $(soxi -s "$TMP/out_s.wav") samples"
python3 -c "import sys; sys.exit(0 if $(json_field erle_db) >= 15 else 1)" || fail "speex AEC: $(cat "$TMP/out")"

# Bad input exits 1 and says what is wrong; bad usage exits 2.
sox -R "$TMP/far.wav" "$TMP/far_short.wav" trim 0 1.0
expect_exit 1 "$BIN" aec --far "$TMP/far_short.wav" --mic "$TMP/mic.wav" --out "$TMP/x.wav"
grep -q "differ in length" "$TMP/err" || fail "length mismatch not reported: $(cat "$TMP/err")"
expect_exit 1 "$BIN" aec --far "$TMP/nope.wav" --mic "$TMP/mic.wav" --out "$TMP/x.wav"
grep -q "nope.wav" "$TMP/err" || fail "missing FAR not named: $(cat "$TMP/err")"
echo "not audio" >"$TMP/junk.wav"
expect_exit 1 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/junk.wav" --out "$TMP/x.wav"
expect_exit 1 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/no/such/dir/x.wav"
expect_exit 2 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav"
grep -q -- "--out" "$TMP/err" || fail "missing --out not named: $(cat "$TMP/err")"
expect_exit 2 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/x.wav" --impl nlms
grep -q "webrtc, speex" "$TMP/err" || fail "bad --impl does not list the valid ones: $(cat "$TMP/err")"
expect_exit 2 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/x.wav" --ns loud
expect_exit 2 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/x.wav" --stream-delay-ms 900
expect_exit 2 "$BIN" aec --far "$TMP/far.wav" --mic "$TMP/mic.wav" --out "$TMP/x.wav" --bogus 1
grep -q -- "--bogus" "$TMP/err" || fail "unknown option not named: $(cat "$TMP/err")"
echo "aec_cli: all checks passed"
