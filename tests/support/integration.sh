# Helpers for the integration scripts (tests/integration/*.sh), sourced after setting NAME:
#   fail MESSAGE        prints "NAME: FAIL: MESSAGE" on stderr and exits 1
#   expect_exit CODE CMD...  runs CMD with stdout in $TMP/out and stderr in $TMP/err, fails unless it exits CODE
# Sourcing creates $TMP, a fresh directory $TMPDIR/ae-test-XXXXXX removed when the script exits (scripts/test.sh
# fails a run that leaves one behind).
fail() { echo "${NAME:?}: FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ae-test-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
expect_exit() {
  local want=$1; shift
  local rc=0
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [[ $rc -eq $want ]] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$TMP/err")"
}
