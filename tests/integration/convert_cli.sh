#!/usr/bin/env bash
# The convert and formats commands against sox, the independent peer.
set -euo pipefail

BIN="${AE_BINARY_DIR:?AE_BINARY_DIR must point at the build directory}/bin/audioengine"
SPEECH=/usr/share/sounds/alsa/Front_Center.wav
NAME=convert_cli
source "${AE_SOURCE_DIR:?AE_SOURCE_DIR must point at the source directory}/tests/support/integration.sh"
[[ -x "$BIN" ]] || fail "no executable at $BIN"
command -v sox >/dev/null || fail "sox is required"
[[ -f "$SPEECH" ]] || fail "$SPEECH is missing (Debian package alsa-utils)"

# --help on stdout with exit 0, for both commands.
for cmd in formats convert; do
  expect_exit 0 "$BIN" "$cmd" --help
  grep -q "usage: audioengine $cmd" "$TMP/out" || fail "$cmd --help does not print its usage on stdout"
done

# formats lists our sample types and the WAV file type, as text and JSON.
expect_exit 0 "$BIN" formats
grep -q "ulaw" "$TMP/out" || fail "formats does not list ulaw"
expect_exit 0 "$BIN" formats --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "alaw" in d["sample_types"]; assert d["max_channels"]>=2; assert any(f["extension"]=="wav" for f in d["file_types"])' "$TMP/out" \
  || fail "formats --json is not the expected JSON: $(cat "$TMP/out")"
expect_exit 2 "$BIN" formats --nonsense

# Bad usage exits 2, with a message naming the problem; I/O failure exits 1.
expect_exit 2 "$BIN" convert "$SPEECH"
expect_exit 2 "$BIN" convert "$SPEECH" "$TMP/x.wav"
grep -q -- "--to" "$TMP/err" || fail "missing --to is not named: $(cat "$TMP/err")"
expect_exit 2 "$BIN" convert "$SPEECH" "$TMP/x.wav" --to pcm16:123
grep -q "sample_rate_hz 123" "$TMP/err" || fail "bad rate is not named: $(cat "$TMP/err")"
expect_exit 2 "$BIN" convert "$SPEECH" "$TMP/x.wav" --to mp3
expect_exit 2 "$BIN" convert "$SPEECH" "$TMP/x.wav" --to f32 --bogus 1
grep -q -- "--bogus" "$TMP/err" || fail "unknown option is not named: $(cat "$TMP/err")"
expect_exit 2 "$BIN" convert "$SPEECH" "$TMP/x.wav" --to f32 --resampler fast
expect_exit 1 "$BIN" convert "$TMP/does-not-exist.wav" "$TMP/x.wav" --to f32
expect_exit 1 "$BIN" convert "$SPEECH" "$TMP/no/such/dir/x.wav" --to f32

# G.711 at the same rate: byte-identical to sox without dither (plain sox dithers before G.711, at random).
for law in ulaw alaw; do
  case $law in ulaw) enc=mu-law ;; alaw) enc=a-law ;; esac
  expect_exit 0 "$BIN" convert "$SPEECH" "$TMP/ours_$law.raw" --to "$law:48000:1"
  sox -D "$SPEECH" -t raw -e "$enc" -b 8 "$TMP/sox_$law.raw"
  cmp "$TMP/ours_$law.raw" "$TMP/sox_$law.raw" || fail "$law raw bytes differ from sox -D"
  expect_exit 0 "$BIN" convert "$SPEECH" "$TMP/ours_$law.wav" --to "$law:48000"
  sox -D "$SPEECH" -t wav -e "$enc" -b 8 "$TMP/sox_$law.wav"
  cmp <(sox "$TMP/ours_$law.wav" -t raw -e "$enc" -) <(sox "$TMP/sox_$law.wav" -t raw -e "$enc" -) \
    || fail "$law WAV samples differ from sox -D"
  [[ $(soxi -e "$TMP/ours_$law.wav") == *"$([[ $law == ulaw ]] && echo u-law || echo A-law)"* ]] \
    || fail "$law WAV has encoding $(soxi -e "$TMP/ours_$law.wav")"
done

# Resampled conversions (to 8 kHz G.711 and to 16 kHz PCM): expected length and rate, and time-aligned with
# sox's own (zero-phase) resampling of the same file.
in_frames=$(soxi -s "$SPEECH")
for spec in "ulaw:8000:1 8000" "pcm16:16000:1 16000" "pcm16:22050:2 22050"; do
  read -r fmt rate <<<"$spec"
  for kind in soxr speex; do
    out="$TMP/res_${kind}_${rate}.wav"
    expect_exit 0 "$BIN" convert "$SPEECH" "$out" --to "$fmt" --resampler "$kind" --json
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["resampler"]==sys.argv[2] and d["resampler_delay_ms"]>=0 and d["output"]["format"]==sys.argv[3]' \
      "$TMP/out" "$kind" "$fmt" || fail "convert --json output is wrong: $(cat "$TMP/out")"
    [[ $(soxi -r "$out") -eq $rate ]] || fail "$out has rate $(soxi -r "$out"), expected $rate"
    want=$(( (in_frames * rate + 24000) / 48000 ))
    got=$(soxi -s "$out")
    (( got >= want - 1 && got <= want + 1 )) || fail "$out has $got frames, expected $want (+-1)"
    if [[ $fmt == pcm16* ]]; then
      sox "$SPEECH" -r "$rate" -c "${fmt##*:}" "$TMP/ref.wav"
      diff_rms=$(sox -m -v 1 "$out" -v -1 "$TMP/ref.wav" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')
      # Speech RMS is ~0.07. Aligned, the difference is ~0.00002 (soxr) or ~0.005 (speex q3's gentler filter);
      # one sample of misalignment at 16 kHz leaves ~0.02.
      python3 -c "import sys; sys.exit(0 if float('$diff_rms') < 0.01 else 1)" \
        || fail "$out ($kind) is not time-aligned with sox's resampling: difference RMS $diff_rms"
    fi
  done
done
echo "convert_cli: all checks passed"
