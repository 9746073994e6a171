#!/usr/bin/env bash
# make_corpus.sh OUTDIR: builds the labelled VAD corpus of docs/vad.md into OUTDIR, the same bytes every time.
#
# Real recordings from Debian packages (scripts/setup.sh installs them): one female voice from
# asterisk-core-sounds-en-wav, several speakers from codec2-examples, the channel-test voice of alsa-utils. A fixed
# list, in a fixed order, each clip resampled to 16 kHz mono, padded to whole 10 ms frames, labelled on its own
# (`vad_eval label`: frames within 35 dB of the clip's loudest frame, see vad_eval.cpp) and scaled so its speech
# frames average -26 dBFS; the clips are separated by silences of 0.25..4 s drawn from a fixed pseudo-random
# sequence. Then the clean sequence is mixed with each noise at each SNR, the noise level set against the -26 dBFS
# of the speech frames (SNR over the speech frames; for the modulated noise its mean power over the file).
#
# Output: clean.wav, <noise>_<snr>db.wav (16 kHz mono 16-bit), labels.txt ("START END" speech intervals in
# samples), manifest.tsv ("file noise snr_db", snr "clean" for the clean file). All sox calls run with -R, so the
# noise, the dither and the files are reproducible.
#
# Environment: VAD_EVAL, the vad_eval executable (default: build/bin/vad_eval of this source tree).
set -euo pipefail

OUT=${1:?usage: make_corpus.sh OUTDIR}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VAD_EVAL=${VAD_EVAL:-$ROOT/build/bin/vad_eval}
[[ -x "$VAD_EVAL" ]] || { echo "make_corpus: no vad_eval at $VAD_EVAL (build the tools, or set VAD_EVAL)" >&2; exit 1; }

AST=/usr/share/asterisk/sounds/en_US_f_Allison
C2=/usr/share/codec2
ALSA=/usr/share/sounds/alsa
RATE=16000
FRAME=160           # 10 ms
LEVEL_DBFS=-26      # active speech level of every clip (ITU-T P.56 practice for speech test material)
SNRS=(20 10 5 0)
# pink: stationary, the spectral tilt of fan and room noise. brown_am: brown noise (traffic, engine rumble) whose
# level swings by 14 dB (amplitude 1 to 0.2) at 0.4 Hz, so the noise floor keeps moving under the speech.
NOISES=(pink brown_am)

# Clips whose floor (10th-percentile 10 ms frame) lies at least 42 dB under their loudest frame (measured: 42.3 dB
# for speech_orig_16k, 47-84 dB for the others), so the 35 dB label rule never labels the recording's own noise.
# Sources interleaved so every noise condition meets every speaker.
CLIPS=(
  "$AST/demo-thanks.wav" "$C2/wav/hts1a.wav" "$AST/vm-tempremoved.wav" "$ALSA/Front_Center.wav"
  "$AST/dir-instr.wav" "$C2/wav/morig.wav" "$AST/vm-toenternumber.wav" "$AST/demo-enterkeywords.wav"
  "$C2/wav/cross.wav" "$AST/conf-waitforleader.wav" "$ALSA/Front_Left.wav" "$AST/vm-tmpexists.wav"
  "$C2/raw/speech_orig_16k.wav" "$AST/vm-tocallback.wav" "$AST/vm-rec-name.wav" "$C2/wav/hts2a.wav"
  "$AST/vm-opts.wav" "$ALSA/Front_Right.wav" "$AST/priv-introsaved.wav" "$C2/wav/big_dog.wav"
  "$AST/vm-rec-unv.wav" "$AST/vm-review.wav" "$ALSA/Rear_Left.wav" "$AST/vm-newuser.wav" "$AST/demo-nomatch.wav"
  "$AST/vm-tempgreeting.wav" "$ALSA/Rear_Right.wav" "$AST/agent-user.wav" "$AST/confbridge-lock-extended.wav"
  "$AST/dir-first.wav" "$AST/agent-incorrect.wav" "$AST/vm-savemessage.wav" "$AST/vm-prev.wav"
  "$AST/vm-sorry.wav" "$AST/vm-review-urgent.wav" "$AST/vm-invalid-password.wav"
)
for c in "${CLIPS[@]}"; do
  [[ -f "$c" ]] || { echo "make_corpus: $c is missing: run scripts/setup.sh" >&2; exit 1; }
done

mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
F32=(-r $RATE -c 1 -e floating-point -b 32)

# Gap lengths: 250..4000 ms in 10 ms steps from a fixed linear congruential sequence (the C library's constants).
seed=2026
next_gap_samples() {
  seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
  echo $(( (250 + ((seed >> 8) % 376) * 10) * RATE / 1000 ))
}

parts=()
offset=0
: >"$OUT/labels.txt"
echo "# speech intervals of clean.wav: START END in samples at $RATE Hz (END exclusive)" >>"$OUT/labels.txt"
for i in "${!CLIPS[@]}"; do
  gap=$(next_gap_samples)
  sox -R -r $RATE -c 1 -n "${F32[@]}" "$TMP/gap$i.wav" trim 0 "${gap}s"
  parts+=("$TMP/gap$i.wav")
  offset=$((offset + gap))

  sox -R "${CLIPS[$i]}" "${F32[@]}" "$TMP/raw$i.wav"
  n=$(soxi -s "$TMP/raw$i.wav")
  pad=$(( (FRAME - n % FRAME) % FRAME ))
  "$VAD_EVAL" label "$TMP/raw$i.wav" >"$TMP/label$i.txt"
  level=$(awk 'NR == 1 && $1 == "active_level_dbfs" { print $2 }' "$TMP/label$i.txt")
  [[ -n "$level" && $(wc -l <"$TMP/label$i.txt") -gt 1 ]] || {
    echo "make_corpus: vad_eval label found no speech in ${CLIPS[$i]}" >&2; exit 1; }
  gain=$(awk -v l="$level" -v t=$LEVEL_DBFS 'BEGIN { printf "%.4f", t - l }')
  sox -R "$TMP/raw$i.wav" "$TMP/clip$i.wav" vol "${gain}dB" pad 0 "${pad}s"
  parts+=("$TMP/clip$i.wav")
  awk -v o=$offset 'NR > 1 { print $1 + o, $2 + o }' "$TMP/label$i.txt" >>"$OUT/labels.txt"
  offset=$((offset + n + pad))
done
gap=$(next_gap_samples)
sox -R -r $RATE -c 1 -n "${F32[@]}" "$TMP/gap_end.wav" trim 0 "${gap}s"
parts+=("$TMP/gap_end.wav")
total=$((offset + gap))

sox -R "${parts[@]}" "${F32[@]}" "$TMP/clean.wav"
sox -R "$TMP/clean.wav" -b 16 -e signed-integer "$OUT/clean.wav"
echo -e "clean.wav\tclean\tclean" >"$OUT/manifest.tsv"

for noise in "${NOISES[@]}"; do
  case $noise in
    pink) sox -R -r $RATE -c 1 -n "${F32[@]}" "$TMP/$noise.wav" synth "${total}s" pinknoise ;;
    brown_am) sox -R -r $RATE -c 1 -n "${F32[@]}" "$TMP/$noise.wav" synth "${total}s" brownnoise tremolo 0.4 80 ;;
  esac
  rms=$(sox "$TMP/$noise.wav" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')
  for snr in "${SNRS[@]}"; do
    v=$(awk -v r="$rms" -v t=$LEVEL_DBFS -v s="$snr" 'BEGIN { printf "%.6f", 10 ^ ((t - s - r) / 20) }')
    sox -R -m -v 1 "$TMP/clean.wav" -v "$v" "$TMP/$noise.wav" -b 16 -e signed-integer "$OUT/${noise}_${snr}db.wav"
    echo -e "${noise}_${snr}db.wav\t$noise\t$snr" >>"$OUT/manifest.tsv"
  done
done
